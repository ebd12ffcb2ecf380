/* A write just past a mapped block: without a guard page after it, it lands
 * in whatever is mapped next (here the mapping of the block allocated just
 * before, which mmap puts right above it: its offset word). With one, the
 * write faults where it is made. */
#include "attack.h"

#include <malloc.h>

int main(void)
{
    under_mymalloc();
    char *a = malloc(200000), *b = malloc(200000);
    (void)a;
    char *end = b + malloc_usable_size(b);
    say(end);
    WORD(end, 0) = 0x4141414141414141;
    SUCCEEDED("a write past the mapped block %p landed at %p", (void *)b, (void *)end);
}

/* Writes 8 bytes past the usable end of a 40,000-byte block, over the
 * header of the next block; then frees it. (Blocks of 32 KiB and less live
 * in pages, without headers between them: there an overflow lands in the
 * next block, and only check=1's redzones see it.) */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
    char *p = malloc(40000), *q = malloc(40000);
    printf("%p\n", (void *)p);
    fflush(stdout);
    memset(p, 'A', malloc_usable_size(p) + 8);
    free(p);
    free(q);
    return 0;
}

/* Writes 8 bytes past the usable end of a 24-byte block, over the header of
 * the next block; then frees it. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
    char *p = malloc(24), *q = malloc(24);
    printf("%p\n", (void *)p);
    fflush(stdout);
    memset(p, 'A', malloc_usable_size(p) + 8);
    free(p);
    free(q);
    return 0;
}

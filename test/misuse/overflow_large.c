/* Overruns a 50,000-byte block by 16 bytes; then frees the next block,
 * whose header the overrun destroyed. (Blocks of 32 KiB and less live in
 * pages, without headers: see overflow_small.) */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
    char *p = malloc(50000), *q = malloc(50000);
    printf("%p\n", (void *)q);
    fflush(stdout);
    memset(p, 0, malloc_usable_size(p) + 16);
    free(q);
    free(p);
    return 0;
}

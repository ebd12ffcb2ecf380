/* Frees a block, writes over all of it (the free-list link included), and
 * frees it again: the page's own record, which no write can reach, still
 * says it is free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *p = malloc(40), *guard = malloc(40);
    printf("%p\n", (void *)p);
    fflush(stdout);
    free(p);
    memset(p, 0x41, 40);
    free(p);
    free(guard);
    return 0;
}

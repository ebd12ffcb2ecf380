/* Frees a pointer into the middle of a block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
    char *p = malloc(200);
    memset(p, 'x', 200);
    printf("%p\n", (void *)(p + 64));
    fflush(stdout);
    free(p + 64);
    return 0;
}

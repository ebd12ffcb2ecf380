/* Resizes through a pointer into the middle of a block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
    char *p = malloc(200);
    memset(p, 'y', 200);
    printf("%p\n", (void *)(p + 64));
    fflush(stdout);
    p = realloc(p + 64, 10);
    return 0;
}

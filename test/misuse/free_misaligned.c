/* Frees a pointer one byte past the start of a block. */
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    char *p = malloc(100);
    printf("%p\n", (void *)(p + 1));
    fflush(stdout);
    free(p + 1);
    return 0;
}

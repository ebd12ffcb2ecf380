/* Resizes a block that was already freed. */
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    char *p = malloc(40), *guard = malloc(40);
    printf("%p\n", (void *)p);
    fflush(stdout);
    free(p);
    p = realloc(p, 80);
    free(guard);
    return 0;
}

/* Frees the same block twice in a row. */
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    char *p = malloc(40), *guard = malloc(40);
    printf("%p\n", (void *)p);
    fflush(stdout);
    free(p);
    free(p);
    free(guard);
    return 0;
}

/* Asks for the usable size of a freed block. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    char *p = malloc(40), *guard = malloc(40);
    printf("%p\n", (void *)p);
    fflush(stdout);
    free(p);
    printf("%zu\n", malloc_usable_size(p));
    free(guard);
    return 0;
}

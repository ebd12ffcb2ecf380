/* Frees a block, does other work with the heap, then frees it again. */
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    char *p = malloc(40), *guard = malloc(40);
    printf("%p\n", (void *)p);
    fflush(stdout);
    free(p);
    for (int i = 0; i < 100; i++)
        free(malloc(100 + (size_t)i * 10));
    free(p);
    free(guard);
    return 0;
}

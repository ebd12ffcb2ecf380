/* Frees a big (mapped) block twice. */
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    char *p = malloc(1 << 20);
    printf("%p\n", (void *)p);
    fflush(stdout);
    free(p);
    free(p);
    return 0;
}

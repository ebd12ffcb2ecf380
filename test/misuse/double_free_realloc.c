/* realloc moved the block (and freed the old one); the program frees the
 * old pointer anyway. */
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    char *p = malloc(40), *guard = malloc(40);
    char *q = realloc(p, 5000);
    if (q == p)
        return 1;
    printf("%p\n", (void *)p);
    fflush(stdout);
    free(p);
    free(q);
    free(guard);
    return 0;
}

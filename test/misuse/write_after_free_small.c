/* Writes into a small freed block, over the link its page keeps there,
 * then allocates again: malloc finds the link wrong before it follows it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *p = malloc(40), *guard = malloc(40);
    printf("%p\n", (void *)p);
    fflush(stdout);
    free(p);
    memset(p, 0x41, 8);
    char *q = malloc(40);
    free(q);
    free(guard);
    return 0;
}

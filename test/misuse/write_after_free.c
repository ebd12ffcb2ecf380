/* Writes into a freed block, over the free-list links the allocator keeps
 * there, then allocates again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
    char *p = malloc(40000), *guard = malloc(100);   /* too big for a thread cache */
    printf("%p\n", (void *)p);
    fflush(stdout);
    free(p);
    memset(p, 0x41, 16);
    char *q = malloc(40000);
    free(q);
    free(guard);
    return 0;
}

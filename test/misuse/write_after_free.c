/* Writes into a freed block, over the free-list links the allocator keeps
 * there, then allocates again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
    char *p = malloc(3000), *guard = malloc(100);
    printf("%p\n", (void *)p);
    fflush(stdout);
    free(p);
    memset(p, 0x41, 16);
    char *q = malloc(3000);
    free(q);
    free(guard);
    return 0;
}

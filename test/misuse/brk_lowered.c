/* Lowers the program break into the heap behind the allocator's back, then
 * asks for more memory. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(void)
{
    char *p = malloc(100);
    char *end = sbrk(0);
    printf("%p\n", (void *)(end - 16384));
    fflush(stdout);
    if (brk(end - 16384) != 0)
        return 1;
    p = malloc(120000);
    return p != NULL;
}

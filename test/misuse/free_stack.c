/* Frees an array on the stack. */
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    _Alignas(16) char buf[64];
    printf("%p\n", (void *)(buf + 16));
    fflush(stdout);
    free(buf + 16);
    return 0;
}

/* Frees a static array. */
#include <stdio.h>
#include <stdlib.h>
static _Alignas(16) char buf[64];
int main(void)
{
    printf("%p\n", (void *)(buf + 16));
    fflush(stdout);
    free(buf + 16);
    return 0;
}

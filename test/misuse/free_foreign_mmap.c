/* Frees memory the program mapped itself. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
int main(void)
{
    char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("%p\n", (void *)(m + 16));
    fflush(stdout);
    free(m + 16);
    return 0;
}

/* Writes over the 8 bytes before a freed block, its header in the chain,
 * then allocates the same size: malloc finds the header wrong before it
 * hands the block out again, from a bin of the chain (40000 bytes) or,
 * under a debugging option (leaks=1), from the thread's cache (40 or 3000
 * bytes). The size is the argument. (Small blocks in the pages, when no
 * option is on, have no header: the 8 bytes are the end of the block
 * before, the program's own.) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 40;
    char *p = malloc(n), *guard = malloc(n);
    printf("%p\n", (void *)p);
    fflush(stdout);
    free(p);
    ((uint64_t *)p)[-1] = 0x4141414141414141;
    char *q = malloc(n);
    free(q);
    free(guard);
    return 0;
}

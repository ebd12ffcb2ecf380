/* smash: prints the first byte of a fresh block (check=1 fills new blocks
 * with a pattern); with an argument, writes 100 bytes into a 40-byte block,
 * over the header of the live block after it, and goes on allocating
 * without ever freeing either: only a walk of the whole heap can see it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    unsigned char *fresh = malloc(32);
    printf("fresh=%02x\n", fresh[0]);
    fflush(stdout);
    if (argc > 1) {
        char *p = malloc(40), *q = malloc(40);
        memset(p, 'A', 100);
        (void)q;
    }
    for (int i = 0; i < 3000; i++)
        free(malloc(16 + (size_t)i % 64));
    return 0;
}

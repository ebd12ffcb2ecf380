/* A block parked in a thread cache (run with leaks=1: the caches serve the
 * toolkit's paths) is known as cached only by the mark in its first word.
 * A write after free over that word, then a second free, puts the block in
 * the cache twice; two mallocs then return the same block. The size asked
 * for is the argument (40: a small class; 3000: a larger one). */
#include "attack.h"

int main(int argc, char **argv)
{
    under_mymalloc();
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 40;
    char *p = malloc(n), *keep = malloc(n);
    (void)keep;
    say(p);
    free(p);
    WORD(p, 0) = 0;
    free(p);
    char *a = malloc(n), *b = malloc(n);
    if (a == b)
        SUCCEEDED("malloc returned %p twice", (void *)a);
    printf("two blocks: %p %p\n", (void *)a, (void *)b);
    return 0;
}

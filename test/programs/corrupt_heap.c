/* corrupt_heap: an overflow writes zeros over the header of the block
 * after it (a chunk of size 0, as a stack overflowing into the heap
 * leaves), and the program exits without freeing either: every walk of
 * the heap at exit (leaks, stats, the heap map) must stop there and say
 * where, never loop or crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *a = malloc(100), *b = malloc(100);
    memset(a, 0, 100 + 32);       /* past a's end: b's header is zeros */
    printf("b=%p\n", (void *)b);
    return 0;
}

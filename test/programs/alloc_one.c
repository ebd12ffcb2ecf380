/* Allocates one block of argv[1] bytes and tells whether it got a mapping
 * of its own (mallinfo2's hblks), so tests can see which options took
 * effect in a real process. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000;
    size_t before = mallinfo2().hblks;
    void *p = malloc(n);
    printf("mapped=%zu\n", mallinfo2().hblks - before);
    free(p);
    return p == NULL;
}

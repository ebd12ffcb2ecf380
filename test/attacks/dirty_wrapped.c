/* Bookkeeping kept in a free chunk's body, written over: a free chunk of 8
 * KiB or more keeps there the count of its bytes that may be resident.
 * After a write after free sets it to 2^62, malloc_trim releases the chunk
 * and counts 2^62 bytes given back (and the heap's count of resident free
 * bytes wraps). The library must not believe more than the chunk holds:
 * this program exits 0 when the count stays within the heap. */
#include "attack.h"

#include <malloc.h>

int main(void)
{
    under_mymalloc();
    char *p = malloc(100000), *g = malloc(40000);
    (void)g;
    struct mymalloc_heap_info h;
    heap_info(&h);
    size_t before = h.released_bytes;
    free(p);
    WORD(p, 16) = UINT64_C(1) << 62;   /* the dirty count, after the two links */
    malloc_trim(0);
    heap_info(&h);
    size_t released = h.released_bytes - before;
    if (released > h.heap_bytes + (1u << 20))
        SUCCEEDED("%zu bytes counted as given back, from a heap of %zu", released, h.heap_bytes);
    printf("released %zu bytes of a heap of %zu\n", released, h.heap_bytes);
    return 0;
}

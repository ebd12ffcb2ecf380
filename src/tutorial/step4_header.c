/* step4_header.c -- Step 4: a header in front of each block.
 *
 * Over step 3: each block remembers its size. header_malloc(size) takes
 * sizeof(size_t) + size bytes from the break, writes the size in the first
 * sizeof(size_t) bytes (the header), and returns the address just after it:
 *
 *     block start            returned address
 *     v                      v
 *     +----------------------+--------------------------+
 *     | header: size         | size bytes for the caller|
 *     +----------------------+--------------------------+
 *     |<- sizeof(size_t) --->|
 *
 * Given a pointer it returned, ((size_t *)p)[-1] is the block's size: the
 * first thing free and realloc need. Blocks are still back to back, now with
 * a header between each; there is still no free (nothing marks a block
 * unused, nothing looks for unused blocks) and no alignment. Step 5 adds
 * that flag and the search.
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

void *header_malloc(size_t size)
{
    if (size > INTPTR_MAX - sizeof(size_t))   /* the sum must fit sbrk's signed argument */
        return NULL;
    size_t *block = sbrk((intptr_t)(sizeof(size_t) + size));
    if (block == (void *)-1)
        return NULL;
    block[0] = size;      /* the header */
    return block + 1;     /* the caller's bytes start after it */
}

/* What the header is for: from a pointer alone, the size of its block. */
size_t block_size(void *p)
{
    return ((size_t *)p)[-1];
}

static char out_buf[4096];   /* so printf never calls malloc (see step2_fault.c) */

int main(void)
{
    setvbuf(stdout, out_buf, _IOLBF, sizeof out_buf);
    static const size_t sizes[] = { 1, 10, 100, 1000 };
    enum { N = sizeof sizes / sizeof sizes[0] };
    char *blocks[N];

    printf("sizeof(size_t) is %zu\n", sizeof(size_t));
    printf("Starting break is %p\n", sbrk(0));
    for (int i = 0; i < N; i++) {
        blocks[i] = header_malloc(sizes[i]);
        if (!blocks[i]) {
            perror("header_malloc");
            return 1;
        }
        size_t *header = (size_t *)blocks[i] - 1;
        printf("header_malloc(%zu) = %p, header at %p holds %zu\n", sizes[i], (void *)blocks[i],
               (void *)header, block_size(blocks[i]));
    }
    printf("Break is %p\n", sbrk(0));

    /* Each header sits right after the previous block's bytes. */
    for (int i = 1; i < N; i++)
        printf("block %d - block %d = %td bytes = %zu (size of block %d) + %zu (header)\n", i,
               i - 1, blocks[i] - blocks[i - 1], block_size(blocks[i - 1]), i - 1,
               sizeof(size_t));
    return 0;
}

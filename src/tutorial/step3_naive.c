/* step3_naive.c -- Step 3: the naive malloc.
 *
 * Over step 2: a function. naive_malloc(size) moves the break by size bytes
 * and returns the old break: the start of `size` fresh bytes.
 *
 * The blocks it returns are contiguous, back to back in address order, and
 * not one byte is wasted between them. But that is all it can do:
 *   - no free: nothing records where a block starts or how long it is, so
 *     there is no way to give a block back or hand it out again;
 *   - no realloc, for the same reason: the old size is not known;
 *   - no alignment: after malloc(1), the next block starts at an odd
 *     address.
 * Step 4 starts to fix the first two by writing the size down.
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

void *naive_malloc(size_t size)
{
    /* sbrk takes a signed number: a huge size would turn negative and
     * shrink the heap instead of growing it. */
    if (size > INTPTR_MAX)
        return NULL;
    void *block = sbrk((intptr_t)size);
    if (block == (void *)-1)     /* sbrk's way of saying "no memory" */
        return NULL;
    return block;
}

static char out_buf[4096];   /* so printf never calls malloc (see step2_fault.c) */

int main(void)
{
    setvbuf(stdout, out_buf, _IOLBF, sizeof out_buf);
    static const size_t sizes[] = { 1, 10, 100, 1000, 5 };
    enum { N = sizeof sizes / sizeof sizes[0] };
    char *blocks[N];

    printf("Starting break is %p\n", sbrk(0));
    for (int i = 0; i < N; i++) {
        blocks[i] = naive_malloc(sizes[i]);
        if (!blocks[i]) {
            perror("naive_malloc");
            return 1;
        }
        printf("naive_malloc(%zu) = %p\n", sizes[i], (void *)blocks[i]);
    }
    printf("Break is %p\n", sbrk(0));

    /* Each block starts where the previous one ends. */
    for (int i = 1; i < N; i++)
        printf("block %d - block %d = %td bytes = the size of block %d\n", i, i - 1,
               blocks[i] - blocks[i - 1], i - 1);

    /* The memory is real: write into a block and read it back. */
    snprintf(blocks[1], sizes[1], "hello");
    printf("block 1 holds \"%s\"\n", blocks[1]);
    return 0;
}

/* step5_demo.c -- Step 5 at work: the break moves by pages, not by
 * requests, and the heap is a chain of chunks.
 *
 * Linked with step5_pages.c, whose malloc replaces glibc's for the whole
 * program. The demo allocates a few blocks, printing the break after each,
 * then walks the chain from the heap start and lists every chunk.
 */
#include "step5_pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* stdout gets a buffer of its own, so that printing never calls malloc and
 * the chain holds only the demo's blocks. */
static char out_buf[4096];

int main(void)
{
    setvbuf(stdout, out_buf, _IOLBF, sizeof out_buf);
    static const size_t sizes[] = { 5, 100, 1000, 2000, 3000, 10000, 7 };
    enum { N = sizeof sizes / sizeof sizes[0] };

    printf("Page size is %ld\n", sysconf(_SC_PAGESIZE));
    char *brk = sbrk(0);
    printf("Starting break is %p\n", (void *)brk);
    for (int i = 0; i < N; i++) {
        void *p = malloc(sizes[i]);
        if (!p) {
            perror("malloc");
            return 1;
        }
        char *now = sbrk(0);
        printf("malloc(%zu) = %p, break %p (moved %td bytes)\n", sizes[i], p, (void *)now,
               now - brk);
        brk = now;
    }

    printf("The chain, from the heap start:\n");
    for (struct chunk *c = chain_first(); (void *)c < chain_end(); c = next_chunk(c))
        printf("chunk %p: header %zu bytes, data %p, size %zu, %s\n", (void *)c,
               sizeof(struct chunk), (void *)(c + 1), c->size, c->used ? "used" : "free");
    printf("Chain ends at %p\n", chain_end());
    return 0;
}

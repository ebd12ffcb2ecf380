/* step6_demo.c -- Step 6 at work: aligned addresses, a freed chunk reused,
 * realloc keeping the data, calloc zeroing a reused chunk, and NULL with
 * ENOMEM when a request cannot be met.
 *
 * Linked with step6_align.c, whose malloc replaces glibc's for the whole
 * program. "step6_demo double-free" frees a block twice instead, to show
 * the check in free.
 */
#include "step6_align.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char out_buf[4096];   /* so printing never calls malloc (see step5_demo.c) */

static void *show(const char *call, void *p)
{
    printf("%s = %p, address %% 16 = %d\n", call, p, (int)((uintptr_t)p % 16));
    return p;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, out_buf, _IOLBF, sizeof out_buf);
    if (argc > 1 && strcmp(argv[1], "double-free") == 0) {
        void *p = show("malloc(40)", malloc(40));
        free(p);
        printf("free(%p)\n", p);
        fflush(stdout);
        free(p);   /* stops the program */
        return 1;
    }

    show("malloc(1)", malloc(1));
    char *b = show("malloc(24)", malloc(24));
    char *c = show("malloc(100)", malloc(100));
    show("malloc(5000)", malloc(5000));

    free(b);
    printf("free(%p)\n", (void *)b);
    show("malloc(20)", malloc(20));   /* the first free chunk that fits: b's */

    memset(c, 'x', 100);
    free(c);
    printf("free(%p)\n", (void *)c);

    char *s = show("malloc(6)", malloc(6));
    strcpy(s, "hello");
    char call[64];
    snprintf(call, sizeof call, "realloc(%p, 200)", (void *)s);
    char *r = show(call, realloc(s, 200));   /* too big for its chunk: moves */
    printf("the block holds \"%s\"\n", r);

    unsigned char *z = show("calloc(4, 8)", calloc(4, 8));   /* reuses part of c's chunk */
    int zeros = 0;
    for (int i = 0; i < 32; i++)
        zeros += z[i] == 0;
    printf("%d of its 32 bytes are zero\n", zeros);

    /* volatile: the compiler would warn about a request it can see is
     * impossible, and making one is the point here. */
    volatile size_t huge = SIZE_MAX;
    errno = 0;
    void *none = malloc(huge);
    printf("malloc(SIZE_MAX) = %p, errno = %s\n", none, strerror(errno));
    errno = 0;
    none = calloc(huge / 2, 3);
    printf("calloc(SIZE_MAX / 2, 3) = %p, errno = %s\n", none, strerror(errno));

    printf("The chain, from the heap start:\n");
    for (struct chunk *ch = chain_first(); (void *)ch < chain_end(); ch = next_chunk(ch))
        printf("chunk %p: header %zu bytes, data %p, size %zu, %s\n", (void *)ch,
               sizeof(struct chunk), (void *)(ch + 1), ch->size, ch->used ? "used" : "free");
    printf("Chain ends at %p\n", chain_end());
    return 0;
}

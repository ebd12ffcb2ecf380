/* A library whose constructor allocates 600,000 blocks of 24 bytes. A
 * library the program links runs its constructors before a preloaded
 * library's (ls's libselinux, gdb's gnutls do so), so these blocks are
 * made before libmymalloc.so's constructor starts its debugging options:
 * they carry no record. Their last 16 bytes look like one, with a tag of each value
 * in turn: about nine of them match the tag a record of theirs would have.
 * early_free_all frees them. The constructor also frees a block it made,
 * as libselinux's does. */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N 600000
static void *block[N];

__attribute__((constructor)) static void early(void)
{
    free(malloc(100));
    for (size_t i = 0; i < N; i++) {
        char *p = malloc(24);
        if (!p)
            abort();
        size_t u = malloc_usable_size(p);
        memset(p, 0, u);
        uint64_t word = (uint64_t)(i & 0xffff) << 48;   /* 0 bytes asked for, tag i */
        memcpy(p + u - 16, &word, sizeof word);
        block[i] = p;
    }
}

int early_free_all(void)
{
    for (size_t i = 0; i < N; i++)
        free(block[i]);
    return N;
}

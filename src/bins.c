/* bins.c -- free chunks indexed by size.
 *
 * Sizes below 1 KiB have a bin each (16-byte steps: bins 2..63). Above,
 * every power of two is cut into 8 bins, so a bin's sizes are within 12.5%
 * of each other (bins 64..367). Each bin is a doubly linked list, and a
 * bitmap says which bins are non-empty, so finding the smallest bin that
 * can serve a request is a few bit scans, whatever the number of free
 * chunks. */
#include "mm.h"

#define NWORDS ((MM_NBINS + 63) / 64)

static mm_chunk *bin[MM_NBINS];
static uint64_t map[NWORDS];

unsigned mm_bin_index(size_t size)
{
    if (size < 1024)
        return (unsigned)(size >> 4);
    unsigned e = 63u - (unsigned)__builtin_clzll(size);       /* 10..47 */
    return 64u + (e - 10u) * 8u + (unsigned)((size >> (e - 3u)) & 7u);
}

void mm_bin_insert(mm_chunk *c)
{
    unsigned i = mm_bin_index(mm_size(c));
    c->bk = NULL;
    c->fd = bin[i];
    if (c->fd)
        c->fd->bk = c;
    bin[i] = c;
    map[i / 64] |= UINT64_C(1) << (i % 64);
}

void mm_bin_remove(mm_chunk *c, const char *fn)
{
    unsigned i = mm_bin_index(mm_size(c));
    mm_chunk *fd = c->fd, *bk = c->bk;
    /* A write after free can break the links: follow them only when both
     * neighbours point back at c. */
    if ((fd && fd->bk != c) || (bk ? bk->fd != c : bin[i] != c))
        mm_die(fn, "heap corrupted: bad free-list links in the free block at %p (a write after free?)",
               mm_mem(c));
    if (fd)
        fd->bk = bk;
    if (bk)
        bk->fd = fd;
    else if (!(bin[i] = fd))
        map[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

/* The first non-empty bin at or after i, or MM_NBINS. */
static unsigned next_marked(unsigned i)
{
    unsigned w = i / 64;
    if (w >= NWORDS)
        return MM_NBINS;
    uint64_t bits = map[w] & (~UINT64_C(0) << (i % 64));
    while (!bits) {
        if (++w == NWORDS)
            return MM_NBINS;
        bits = map[w];
    }
    return w * 64 + (unsigned)__builtin_ctzll(bits);
}

mm_chunk *mm_bin_take(size_t nb, const char *fn)
{
    unsigned i = mm_bin_index(nb);
    mm_chunk *c = bin[i];
    if (c && i >= 64) {
        /* A large bin mixes sizes: look at a few of its chunks for a fit
         * before moving up to a bin where every chunk fits. */
        for (int n = 0; c && mm_size(c) < nb; n++)
            c = n < 8 ? c->fd : NULL;
    }
    if (!c) {
        i = next_marked(i + 1);
        if (i == MM_NBINS)
            return NULL;
        c = bin[i];
    }
    mm_bin_remove(c, fn);
    return c;
}

mm_chunk *mm_bin_first(unsigned i)
{
    return bin[i];
}

bool mm_bin_marked(unsigned i)
{
    return map[i / 64] >> (i % 64) & 1;
}

/* bins.c -- free chunks indexed by size.
 *
 * Sizes below 1 KiB have a bin each (16-byte steps: bins 2..63). Above,
 * every power of two is cut into 8 bins, so a bin's sizes are within 12.5%
 * of each other (bins 64..367). Each bin is a doubly linked list, and a
 * bitmap says which bins are non-empty, so finding the smallest bin that
 * can serve a request is a few bit scans, whatever the number of free
 * chunks.
 *
 * The links live inside freed blocks, where a program that writes after
 * free can read and write them. So they are stored mangled (xor-ed with a
 * keyed mix of the address of the chunk that holds them, with keys used
 * for nothing else: a link read, even a NULL one, shows one value of the
 * mix, not its keys), and every link is checked before it is followed: it
 * must decode to a free chunk of the heap that links back. A pointer the
 * program wrote there decodes to garbage and is reported, instead of
 * becoming a write to an address of its choosing. */
#include "heap.h"

#define NWORDS ((MM_NBINS + 63) / 64)

static mm_chunk *bin[MM_NBINS];
static uint64_t map[NWORDS];

MM_HOT unsigned mm_bin_index(size_t size)
{
    if (size < 1024)
        return (unsigned)(size >> 4);
    unsigned e = 63u - (unsigned)__builtin_clzll(size);       /* 10..47 */
    return 64u + (e - 10u) * 8u + (unsigned)((size >> (e - 3u)) & 7u);
}

/* Encoding and decoding are the same xor. */
static inline mm_chunk *mangle(const mm_chunk *holder, const mm_chunk *p)
{
    return (mm_chunk *)((uintptr_t)p ^ mm_keyed((uintptr_t)holder, mm_ro.link_key));
}

mm_chunk *mm_bin_fd(const mm_chunk *c) { return mangle(c, c->fd); }
mm_chunk *mm_bin_bk(const mm_chunk *c) { return mangle(c, c->bk); }

/* x may be read: NULL, or an aligned address inside the heap (the newest
 * segment, checked first, or another). Whether it is the free chunk it
 * should be is then checked by its link back, which only the allocator can
 * have written (mangled with the secret). */
static inline bool linkable(const mm_chunk *x)
{
    if (!x)
        return true;
    if ((uintptr_t)x % MM_ALIGN)
        return false;
    return ((uintptr_t)x >= mm_ro.lo && (uintptr_t)x < mm_ro.hi) || mm_segment_of(x);
}

MM_NORETURN static void corrupt(const mm_chunk *c, const char *fn)
{
    mm_die(fn, "heap corrupted: bad free-list links in the free block %p (a write after free?)",
           mm_mem(c));
}

MM_HOT void mm_bin_insert(mm_chunk *c)
{
    unsigned i = mm_bin_index(mm_csize(c));
    mm_chunk *head = bin[i];
    c->bk = mangle(c, NULL);
    c->fd = mangle(c, head);
    if (head)
        head->bk = mangle(head, c);
    bin[i] = c;
    map[i / 64] |= UINT64_C(1) << (i % 64);
}

MM_HOT void mm_bin_remove(mm_chunk *c, const char *fn)
{
    if (!mm_chead_ok(c))
        mm_bad_header(c, fn);
    unsigned i = mm_bin_index(mm_csize(c));
    mm_chunk *fd = mm_bin_fd(c), *bk = mm_bin_bk(c);
    if (!linkable(fd) || !linkable(bk) || (fd && mm_bin_bk(fd) != c) ||
        (bk ? mm_bin_fd(bk) != c : bin[i] != c))
        corrupt(c, fn);
    if (fd)
        fd->bk = mangle(fd, bk);
    if (bk)
        bk->fd = mangle(bk, fd);
    else if (!(bin[i] = fd))
        map[i / 64] &= ~(UINT64_C(1) << (i % 64));
    /* c is handed out, merged or resized: its links must not be left for
     * the program to read */
    c->fd = c->bk = NULL;
}

mm_chunk *mm_bin_next(const mm_chunk *c, const char *fn)
{
    mm_chunk *fd = mm_bin_fd(c);
    if (!linkable(fd) || (fd && mm_bin_bk(fd) != c))
        corrupt(c, fn);
    return fd;
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

/* The smallest chunk of at least nb bytes among the first LOOK of c's
 * list, or NULL. */
#define LOOK 16

static mm_chunk *best_of(mm_chunk *c, size_t nb, const char *fn)
{
    mm_chunk *best = NULL;
    for (int n = 0; c && n < LOOK; n++, c = mm_bin_next(c, fn))
        if (mm_csize(c) >= nb && (!best || mm_csize(c) < mm_csize(best)))
            best = c;
    return best;
}

/* Best fit, nearly: the smallest chunk of nb bytes or more in nb's bin,
 * else in the next non-empty bin. Below 1 KiB a bin holds one size, and
 * the first chunk is the one. Above, a bin's sizes differ by up to 12.5%,
 * and the smallest of the first few is taken: a block carved from the
 * smallest hole that fits leaves the larger holes whole for the larger
 * requests (a growing string that moves needs one a little larger than
 * the hole it leaves). */
MM_HOT static mm_chunk *find(size_t nb, const char *fn)
{
    unsigned i = mm_bin_index(nb);
    mm_chunk *c = bin[i];
    if (c && i >= 64)
        c = best_of(c, nb, fn);
    if (!c) {
        i = next_marked(i + 1);
        if (i == MM_NBINS)
            return NULL;
        c = i >= 64 ? best_of(bin[i], 0, fn) : bin[i];
    }
    return c;
}

MM_HOT mm_chunk *mm_bin_take(size_t nb, const char *fn)
{
    mm_chunk *c = find(nb, fn);
    if (c)
        mm_bin_remove(c, fn);           /* (which checks its header first) */
    return c;
}

MM_HOT bool mm_bin_fits(size_t nb, const char *fn)
{
    return find(nb, fn) != NULL;
}

MM_HOT mm_chunk *mm_bin_first(unsigned i)
{
    return bin[i];
}

bool mm_bin_marked(unsigned i)
{
    return map[i / 64] >> (i % 64) & 1;
}

/* cache.h -- per-thread caches of small free chunks, in front of the heap,
 * for the debugging toolkit's paths (with no option on, the pages serve
 * small blocks and no cache is made). Above heap/ and base/.
 *
 * A cached chunk stays INUSE for the heap, so the heap never merges it. It
 * is marked as cached in its first word (chunk.h), not in its header: the
 * chunk is the cache's while it is there, but its header is not (another
 * thread, holding the lock, rewrites it when the chunk before it changes
 * state, and the cache works without the lock). The mark is a keyed mix of
 * the address, so a program's data does not look like it, and reading it
 * tells nothing of the keys; the checker counts marked chunks, a second
 * free of one is seen, and a chunk whose mark is gone when it leaves the
 * cache (a write after free, or a second free after one) is reported. Each size class
 * is a stack of pointers inside the cache itself, so nothing the program
 * writes into a freed block can corrupt the cache. */
#ifndef MM_CACHE_H
#define MM_CACHE_H

#include "../heap/heap.h"

/* Chunks below 2 KiB have a class every 16 bytes (class = size / 16). From
 * 2 KiB to 32 KiB, sizes are rounded up to 8 classes per power of two (at
 * most 12.5% more). */
#define MM_TC_SMALL 2032u
#define MM_TC_MAX   32768u
#define MM_TC_NCLS  (MM_TC_SMALL / 16 + 1 + 4 * 8 + 1)
#define MM_TC_CLASS_BYTES 32768u              /* what a small class holds, 16 to 64 blocks */
#define MM_TC_MID_BYTES (32u << 10)           /* what a larger class holds, 1 to 8 blocks */
/* The size bits of a chunk too big for the lockless checks of the
 * toolkit's free (one mask test). */
#define MM_TC_TOO_BIG (MM_SIZE & ~(uint64_t)2047)

/* The class of a cached chunk size (a multiple of 16 up to MM_TC_SMALL, or
 * one of the rounded sizes up to MM_TC_MAX). */
static inline unsigned mm_tc_class(size_t size)
{
    if (size <= MM_TC_SMALL)
        return (unsigned)(size >> 4);
    unsigned e = 63u - (unsigned)__builtin_clzll(size);            /* 11..15 */
    return MM_TC_SMALL / 16 + 1 + (e - 11) * 8 + (unsigned)((size >> (e - 3)) & 7);
}

size_t mm_tc_class_size(unsigned i);

/* nb rounded up to its class size, for the sizes the caches take. */
static inline size_t mm_tc_round(size_t nb)
{
    if (nb <= MM_TC_SMALL || nb > MM_TC_MAX)
        return nb;
    unsigned e = 63u - (unsigned)__builtin_clzll(nb);
    size_t step = (size_t)1 << (e - 3);
    return (nb + step - 1) & ~(step - 1);
}
/* limit moves between 4 (1 for the larger classes) and max: up when the
 * class runs empty (the thread allocates more than it frees there), down
 * when it overflows (it frees more than it allocates). */
struct mm_tc_class { mm_chunk **stack; uint16_t count, limit, max; };
struct mm_tcache {
    struct mm_tc_class cls[MM_TC_NCLS];
    struct mm_tcache *next, *prev;            /* every cache, under the lock */
    size_t map_len;
};
enum { MM_TC_NONE, MM_TC_ON, MM_TC_OFF };
/* A debugging option keeps records in the chain's blocks: the pages are
 * off, and the calls below use the caches. Set at start; while it is
 * false, no cache is made. */
extern bool mm_cache_fast_off;
void mm_cache_init(void);
/* These two need no lock, and make no cache: a thread gets one in the
 * locked paths (refill and free). locked: the caller holds the lock
 * (a hit is counted). */
/* A cached chunk, or NULL; its header and mark checked (a block written
 * after free is reported, naming fn). */
mm_chunk *mm_cache_take(size_t nb, bool locked, const char *fn);
bool mm_cache_put(mm_chunk *c, size_t size);            /* false: no cache, or full */
/* The rest with the lock held. */
mm_chunk *mm_cache_refill(size_t nb, const char *fn);  /* NULL: no cache, or no memory */
bool mm_cache_free(mm_chunk *c, const char *fn);        /* false: no cache to take it */
void mm_cache_flush(void);                               /* empties this thread's cache */
struct mm_tcache *mm_cache_own(void);                    /* this thread's, claimed or not */
/* Counted on the locked paths only: hits are those of the debug paths
 * that take cached blocks with the lock; the lockless ones count nothing. */
struct mm_cache_counts { uint64_t hits, refills, flushes; };
void mm_cache_counts(struct mm_cache_counts *k);
void mm_cache_after_fork_child(void);

/* A cached chunk whose mark is gone: the program wrote into the block
 * after it freed it, or freed it again after such a write (it is then in
 * the cache twice, and the first time it was handed out took its mark). */
MM_NORETURN void mm_cache_written(const mm_chunk *c, const char *fn);

/* A chunk's header lies where the program can write: it is checked before
 * the chunk is handed out (read once: the lock holder may rewrite PINUSE
 * meanwhile), then its mark. */
static inline mm_chunk *mm_cache_pop(struct mm_tcache *tc, size_t nb, const char *fn)
{
    struct mm_tc_class *k = &tc->cls[mm_tc_class(nb)];
    if (MM_UNLIKELY(!k->count))
        return NULL;
    mm_chunk *c = k->stack[--k->count];
    uint64_t h = __atomic_load_n(&c->head, __ATOMIC_RELAXED), want = mm_tc_round(nb) | MM_INUSE;
    if (MM_UNLIKELY(h >> 32 != mm_tag(c, h & MM_BODY) || (h & MM_BODY & ~(uint64_t)MM_PINUSE) != want))
        mm_bad_header(c, fn);
    uint64_t *mark = (uint64_t *)mm_mem(c);
    if (MM_UNLIKELY(*mark != mm_cache_mark(c)))
        mm_cache_written(c, fn);
    *mark = 0;
    return c;
}

static inline bool mm_cache_push(struct mm_tcache *tc, mm_chunk *c, size_t size)
{
    struct mm_tc_class *k = &tc->cls[mm_tc_class(size)];
    if (MM_UNLIKELY(k->count >= k->limit))
        return false;
    k->stack[k->count++] = c;
    *(uint64_t *)mm_mem(c) = mm_cache_mark(c);
    return true;
}

#endif

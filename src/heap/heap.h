/* heap.h -- the chunk chain and its segments, the bins of free chunks, the
 * blocks with a mapping of their own, and the one description of what a
 * chunk holds. Above base/ only; everything here runs with the lock held
 * unless it says otherwise.
 *
 *   chunk.h    every layout a user pointer can sit in, drawn once
 *   heap.c     segments, top, splitting, merging, growing, trimming,
 *              purging; the walk of a segment
 *   bins.c     free chunks by size class, with a bitmap of non-empty bins
 *   big.c      blocks that get a mapping of their own
 *   summary.c  what the heap holds, by state (stats, mallinfo2)
 */
#ifndef MM_HEAP_H
#define MM_HEAP_H

#include "chunk.h"

/* ---- heap.c: the chunk chain, its segments, top, trimming. */
enum { MM_SEG_BRK = 1, MM_SEG_MMAP = 2 };
typedef struct mm_segment {
    char *base;                 /* first chunk */
    char *end;                  /* one past the fencepost */
    struct mm_segment *next;    /* older segment */
    size_t map_len;             /* MM_SEG_MMAP: length of the mapping */
    int kind;
} mm_segment;
#define MM_SEG_HDR mm_align_up(sizeof(mm_segment), MM_ALIGN)

struct mm_heap {
    mm_segment *active;         /* the segment that holds top */
    mm_chunk *top;              /* NULL until the first segment exists */
    size_t top_dirty;           /* bytes of top that may be resident */
    size_t free_bytes;          /* in binned free chunks */
    size_t free_dirty;          /* of those, bytes that may be resident */
    size_t used_peak;           /* the most in use since the last purge */
    bool purging;
    uint64_t last_purge_ms, last_trim_ms;
    uint64_t decay_pass, decay_ms;  /* free chunks unused a whole pass go back */
    size_t seg_bytes;           /* total size of all segments */
    size_t foreign_brk;         /* times someone else moved the break */
    size_t released;            /* bytes given back with madvise or sbrk */
    /* The thresholds (options mmap_threshold, trim_threshold, top_pad, or
     * mallopt). Unless fixed, the first two follow the program as glibc's
     * do (big.c). */
    size_t mmap_threshold, trim_threshold, top_pad;
    bool thresholds_fixed;
};
extern struct mm_heap mm_heap;
#define MM_MMAP_THRESHOLD_MAX (32u << 20)

mm_chunk *mm_heap_alloc(size_t nb, const char *fn);
void mm_heap_free(mm_chunk *c, const char *fn);
/* The same for a chunk mm_lookup has just vouched for (its header and the
 * next one checked). */
void mm_heap_free_looked_up(mm_chunk *c, const char *fn);
bool mm_heap_resize(mm_chunk *c, size_t nb, const char *fn);
mm_chunk *mm_heap_memalign(size_t nb, size_t align, const char *fn);
/* A chunk of nb bytes that itself (its header) starts on a multiple of
 * align: a page (pages/) whose header and first blocks share a 4 KiB page
 * of memory. */
mm_chunk *mm_heap_memalign_chunk(size_t nb, size_t align, const char *fn);
size_t mm_heap_trim(size_t pad);
/* Gives free memory back if the program has given back much of what it
 * used (the same rule free applies, at most once a second): called now and
 * then from the allocation path, so that memory goes back even when no
 * free reaches the heap any more. */
void mm_heap_decay(void);
mm_segment *mm_segment_of(const void *p);
static inline mm_chunk *mm_fence(const mm_segment *s) { return (mm_chunk *)(s->end - MM_HDR); }
/* The thresholds from the options (at start, and when they change). */
void mm_heap_use_options(void);
/* Called before the heap gives free memory back, with the lock held: the
 * layer above empties what it keeps of the calling thread's (its cache
 * scatters chunks over the heap, cutting free runs into pieces too small
 * to release). Set once, at start. */
extern void (*mm_heap_purge_hook)(void);
/* The walk of a segment, for readers of the whole heap:
 *     for (c = mm_walk(s, NULL, &bad); c; c = mm_walk(s, c, &bad))
 * visits each chunk from the first to the fencepost. A chunk whose header
 * is not one this allocator wrote, or whose size leaves the segment, ends
 * the walk there and is left in *bad (NULL when the walk was whole). */
mm_chunk *mm_walk(const mm_segment *s, const mm_chunk *c, mm_chunk **bad);
/* Says that a walk by `who` stopped at the corrupt chunk bad. */
void mm_walk_broken(const char *who, const mm_chunk *bad);

/* ---- What a chunk holds: one description, for every reader of the heap
 * (the checker, the summary, the heap map, the leak report). A chunk in
 * use is the program's (LIVE), parked in a thread cache (CACHED), or freed
 * and held back by check=1 (QUARANTINED); a free chunk is in a bin (FREE)
 * or the top. A mapped chunk is LIVE or QUARANTINED. */
enum mm_state { MM_ST_LIVE, MM_ST_CACHED, MM_ST_QUARANTINED, MM_ST_FREE, MM_ST_TOP, MM_NSTATES };
static inline enum mm_state mm_state_of(const mm_chunk *c)
{
    if (!mm_inuse(c))
        return c == mm_heap.top ? MM_ST_TOP : MM_ST_FREE;
    if (c->head & MM_QUARANTINED)
        return MM_ST_QUARANTINED;
    return !(c->head & MM_MMAPPED) && mm_is_cached(c) ? MM_ST_CACHED : MM_ST_LIVE;
}

/* ---- bins.c: free chunks by size class, with a bitmap of non-empty bins. */
#define MM_NBINS 368
unsigned mm_bin_index(size_t size);
void mm_bin_insert(mm_chunk *c);
void mm_bin_remove(mm_chunk *c, const char *fn);   /* c's header checked by the caller */
mm_chunk *mm_bin_take(size_t nb, const char *fn);   /* a chunk of at least nb, or NULL */
bool mm_bin_fits(size_t nb, const char *fn);         /* mm_bin_take(nb) would give one */
mm_chunk *mm_bin_first(unsigned i);
mm_chunk *mm_bin_next(const mm_chunk *c, const char *fn);   /* checked; reports corruption */
mm_chunk *mm_bin_fd(const mm_chunk *c), *mm_bin_bk(const mm_chunk *c);   /* decoded, unchecked */
bool mm_bin_marked(unsigned i);            /* the bitmap's bit for bin i */

/* ---- big.c: blocks that get their own mapping. */
/* zero: the block must be zero (calloc): never a kept mapping. */
void *mm_big_alloc(size_t n, size_t align, bool zero);   /* no lock needed */
void mm_big_free(mm_chunk *c);
/* The kept mappings: those unused a second unmapped (decay), or all (trim);
 * their bytes and count. */
void mm_big_decay(void);
void mm_big_trim(void);
size_t mm_big_kept(size_t *count);
void *mm_big_realloc(mm_chunk *c, size_t n);         /* NULL: not moved */
bool mm_big_owns(const void *p);
bool mm_big_recently_freed(const void *p);
size_t mm_big_bytes(void);
void mm_big_each(void (*fn)(mm_chunk *c, void *arg), void *arg);   /* every mapped chunk */

/* ---- summary.c: what the heap holds, by state, from one walk. */
struct mm_summary {
    size_t live_blocks, live_bytes;     /* in-use chunks, usable bytes */
    size_t cached_blocks, cached_bytes; /* parked in thread caches */
    size_t quarantined_blocks, quarantined_bytes;   /* freed, held back by check=1 */
    size_t corrupt;                     /* segments whose walk stopped at a corrupt chunk */
    size_t free_chunks, free_bytes, largest_free;
    size_t top_bytes, heap_bytes, segments;
    size_t mapped_blocks, mapped_bytes;
    size_t released_bytes, foreign_brk;
};
void mm_summarize(struct mm_summary *s);

#endif

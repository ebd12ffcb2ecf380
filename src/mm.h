/* mm.h -- the allocator's internal interface.
 *
 * Every internal name shared between files starts with mm_ (types, functions,
 * globals) or MM_ (macros). Declarations are grouped by the file that defines
 * them. Nothing here is exported: the library is built with
 * -fvisibility=hidden and only api.c marks names MM_EXPORT.
 *
 * The chunk
 * ---------
 * The heap is a chain of chunks laid end to end inside segments. A chunk
 * starts with a 16-byte header; the user pointer follows it, so a 16-aligned
 * chunk gives a 16-aligned block.
 *
 *     chunk c                                       next chunk
 *     v                                             v
 *     +-----------+-----------+----------- ... -----+-----------+-----------+
 *     | prev_size | head      | user data           | prev_size | head      |
 *     +-----------+-----------+----------- ... -----+-----------+-----------+
 *                             ^ user pointer = c + 16
 *                             |<---- usable size = size - 8 --------------->|
 *
 *     head, one 64-bit word:
 *       bits 63..48  tag: a hash of the word, the chunk address and a
 *                    per-process secret; a header written by anything but
 *                    this allocator (an overflow, a forged or stale pointer)
 *                    fails the check with probability 1 - 2^-16
 *       bits 47..4   size of the whole chunk, a multiple of 16
 *       bit 3        QUARANTINED  freed, held back by check=1 (debug.c)
 *       bit 2        MMAPPED  the chunk is its own mapping, outside the chain
 *       bit 1        PINUSE   the previous chunk is in use
 *       bit 0        INUSE    this chunk is in use
 *
 * While c is in use its data runs over the next chunk's prev_size word (the
 * next chunk only needs it while c is free), so the overhead is 8 bytes.
 * When c is free that word is its footer: it holds c's size, so the next
 * chunk can find c and merge with it in O(1). A free chunk also keeps the two
 * links of its bin list where the user data was:
 *
 *     +-----------+-----------+-----------+-----------+---- ... ---+-----------+
 *     | prev_size | head      | fd        | bk        | dirty (*)  | c's size  |
 *     +-----------+-----------+-----------+-----------+---- ... ---+-----------+
 *     (*) only in free chunks of MM_RELEASE_MIN bytes or more
 *
 * Invariants (mm_check_locked, through mymalloc_check_heap, verifies them):
 *   - the chunks of a segment tile it exactly, from its first chunk to its
 *     fencepost (a 16-byte header with size 0 and INUSE set);
 *   - no two neighbouring chunks are free (they would have merged);
 *   - PINUSE matches the previous chunk; a free chunk's footer is its size;
 *   - every free chunk but top is in exactly one bin, the bin of its size,
 *     and the bin bitmap says which bins are non-empty;
 *   - top is the last chunk of the active segment, free and in no bin.
 */
#ifndef MM_H
#define MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MM_LIKELY(x)   __builtin_expect(!!(x), 1)
#define MM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MM_EXPORT      __attribute__((visibility("default")))
#define MM_NORETURN    __attribute__((noreturn))
#define MM_PRINTF(f, a) __attribute__((format(printf, f, a)))

#define MM_ALIGN       16u             /* alignof(max_align_t) */
#define MM_HDR         16u             /* prev_size + head */
#define MM_MIN_CHUNK   32u             /* header + two links */
#define MM_RELEASE_MIN (8u << 10)      /* free chunks this big track "dirty" */
/* Requests above this fail with ENOMEM: it leaves room for the header, the
 * alignment padding and page rounding without any sum overflowing. */
#define MM_MAX_REQUEST ((size_t)PTRDIFF_MAX - (16u << 20))

/* flag bits of head */
#define MM_INUSE    1u
#define MM_PINUSE   2u
#define MM_MMAPPED  4u
#define MM_QUARANTINED 8u
#define MM_FLAGS    15u
#define MM_BODY     ((UINT64_C(1) << 48) - 1)  /* size and flags, no tag */
#define MM_SIZE     (MM_BODY & ~(uint64_t)MM_FLAGS)

typedef struct mm_chunk {
    size_t prev_size;          /* footer of the previous chunk when it is free */
    size_t head;               /* tag | size | flags */
    struct mm_chunk *fd, *bk;  /* bin links, free chunks only, mangled (bins.c) */
    size_t dirty;              /* free chunks >= MM_RELEASE_MIN: bytes maybe resident */
} mm_chunk;

static inline size_t mm_align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }
static inline bool mm_is_pow2(size_t a) { return a && !(a & (a - 1)); }

/* The chunk size for a request of n bytes (n <= MM_MAX_REQUEST). */
static inline size_t mm_request_size(size_t n)
{
    size_t s = mm_align_up(n + 8, MM_ALIGN);
    return s < MM_MIN_CHUNK ? MM_MIN_CHUNK : s;
}

static inline mm_chunk *mm_chunk_at(const void *c, size_t off) { return (mm_chunk *)((char *)c + off); }
static inline void *mm_mem(const mm_chunk *c) { return (char *)c + MM_HDR; }
static inline mm_chunk *mm_chunk_of_mem(const void *p) { return (mm_chunk *)((char *)p - MM_HDR); }
static inline size_t mm_size(const mm_chunk *c) { return c->head & MM_SIZE; }
static inline mm_chunk *mm_next(const mm_chunk *c) { return mm_chunk_at(c, mm_size(c)); }
static inline bool mm_inuse(const mm_chunk *c) { return c->head & MM_INUSE; }
/* A heap chunk's data runs over the next chunk's prev_size; a mapped one has
 * no next chunk. */
static inline size_t mm_usable(const mm_chunk *c)
{
    return mm_size(c) - ((c->head & MM_MMAPPED) ? MM_HDR : 8);
}

/* ---- os.c: the only file that calls sbrk, mmap, munmap, mremap, madvise,
 * sysconf. Every function preserves errno and reports failure by its
 * return value. */
extern size_t mm_page;                       /* the page size */
void mm_os_init(void);
static inline size_t mm_page_round(size_t n) { return mm_align_up(n, mm_page); }
/* Moves the break by n bytes; returns the old break, or NULL on failure. */
void *mm_os_sbrk(intptr_t n);
void *mm_os_brk_now(void);                   /* the current break */
void *mm_os_map(size_t n);                   /* fresh zeroed pages, or NULL */
void mm_os_unmap(void *p, size_t n);
/* Resizes a mapping, moving it if needed; NULL on failure (old one intact). */
void *mm_os_remap(void *p, size_t old_n, size_t new_n);
/* The same for the allocator's own records, tables and caches: listed, so
 * that a scan of the process's memory can leave them out. Lock held. */
struct mm_range { uintptr_t lo, hi; };
void *mm_os_map_own(size_t n);
void mm_os_unmap_own(void *p, size_t n);
void *mm_os_remap_own(void *p, size_t old_n, size_t new_n);
size_t mm_os_own(const struct mm_range **ranges);   /* the list, unordered */
/* Gives back the whole pages inside [p, p + n); returns the bytes released. */
size_t mm_os_release(void *p, size_t n);
uint64_t mm_os_random(void);                 /* per-process random bits */
enum { MM_OS_SBRK, MM_OS_MMAP, MM_OS_MUNMAP, MM_OS_MREMAP, MM_OS_MADVISE, MM_OS_NCALLS };
extern unsigned long mm_os_calls[MM_OS_NCALLS];   /* system calls made, for stats */
void mm_os_faults_reset(void);               /* the fail_* options changed */
uint64_t mm_os_coarse_ms(void);              /* a cheap monotonic clock, in ms */
int mm_os_pid(void);                         /* getpid(), cached */
void mm_os_after_fork(void);                 /* in the child of fork */
bool mm_os_forked(void);                     /* this process is a child of fork */
/* Fault injection for re-entry (fail_signal): called where the heap is
 * half-way through a change, lock held; raises the signal now and then. */
void mm_os_signal_point_slow(void);     /* see mm_os_signal_point, below the options */

/* ---- lock.c: one lock for all shared state. It records its owner, so a
 * thread that comes back in while holding it is told so instead of
 * deadlocking. */
bool mm_lock(void);           /* false: this thread already holds the lock */
void mm_unlock(void);
int mm_self_tid(void);        /* this thread's id, cached */
/* fork: the handlers of init.c call these. prepare takes the lock (and,
 * in a threaded process, glibc's stdio list lock first: its order);
 * child makes this thread the owner, calls reset (lock held) and lets go. */
void mm_lock_fork_prepare(void);
void mm_lock_fork_parent(void);
void mm_lock_fork_child(void (*reset)(void));

/* ---- reserve.c: calls that re-enter the allocator while their thread holds
 * the lock (a signal handler, say) are served from a small static reserve,
 * and their frees of heap blocks are deferred until the lock is released. */
void *mm_reserve_alloc(size_t n, size_t align, const char *fn);
bool mm_reserve_owns(const void *p);
void mm_reserve_free(void *p, const char *fn);
size_t mm_reserve_usable(const void *p);
void mm_defer_free(void *p);
void mm_drain_deferred(void);   /* lock held */
extern void *_Atomic mm_deferred;
extern _Atomic size_t mm_reentered;   /* calls served this way */

/* ---- heap.c: the chunk chain, its segments, top, trimming. Lock held. */
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
    uint64_t last_purge_ms;
    size_t seg_bytes;           /* total size of all segments */
    size_t foreign_brk;         /* times someone else moved the break */
    size_t released;            /* bytes given back with madvise or sbrk */
};
extern struct mm_heap mm_heap;
/* Read on every fast-path call, written once (the secret) or rarely (a new
 * segment): a cache line of their own, away from what the lock holder
 * writes all the time. */
struct mm_ro {
    uint64_t secret;            /* per process, mixed into every header */
    uint64_t mark_key;          /* the same, for the marks of cached blocks */
    mm_segment *segs;           /* every segment, newest first */
    /* the newest segment's bounds, for the fast path of free: no segment
     * yet is lo > hi, so every pointer fails */
    uintptr_t lo, hi;
} __attribute__((aligned(64)));
extern struct mm_ro mm_ro;

mm_chunk *mm_heap_alloc(size_t nb, const char *fn);
void mm_heap_free(mm_chunk *c, const char *fn);
bool mm_heap_resize(mm_chunk *c, size_t nb, const char *fn);
mm_chunk *mm_heap_memalign(size_t nb, size_t align, const char *fn);
size_t mm_heap_trim(size_t pad);
mm_segment *mm_segment_of(const void *p);
static inline mm_chunk *mm_fence(const mm_segment *s) { return (mm_chunk *)(s->end - MM_HDR); }
/* The walk of a segment, for readers of the whole heap:
 *     for (c = mm_walk(s, NULL, &bad); c; c = mm_walk(s, c, &bad))
 * visits each chunk from the first to the fencepost. A chunk whose header
 * is not one this allocator wrote, or whose size leaves the segment, ends
 * the walk there and is left in *bad (NULL when the walk was whole). */
mm_chunk *mm_walk(const mm_segment *s, const mm_chunk *c, mm_chunk **bad);
/* Says that a walk by `who` stopped at the corrupt chunk bad. */
void mm_walk_broken(const char *who, const mm_chunk *bad);

/* The tag makes a header this allocator did not write detectable. */
static inline uint64_t mm_tag(const void *c, uint64_t body)
{
    return (((uintptr_t)c ^ body) * mm_ro.secret) >> 48;
}
static inline void mm_set_head(mm_chunk *c, uint64_t body)
{
    c->head = body | mm_tag(c, body) << 48;
}
static inline bool mm_head_ok(const mm_chunk *c)
{
    return c->head >> 48 == mm_tag(c, c->head & MM_BODY);
}

/* ---- cache.c: per-thread caches of small free blocks.
 * A cached block stays INUSE for the heap, so the heap never merges it.
 * It is marked as cached in its first word, not in its header: the block
 * is the cache's while it is there, but its header is not (another thread,
 * holding the lock, rewrites it when the chunk before it changes state, and
 * the cache works without the lock). The mark mixes in the secret and the
 * address, so a program's data does not look like it; the checker counts
 * marked blocks, and a second free of one is seen. Each size class is a
 * stack of pointers inside the cache itself, so nothing the program writes
 * into a freed block can corrupt the cache. */
/* Chunks below 2 KiB have a class every 16 bytes (class = size / 16), and
 * the fast paths serve them. From 2 KiB to 32 KiB, sizes are rounded up to
 * 8 classes per power of two (at most 12.5% more), served by the slow
 * paths, still without the lock. */
#define MM_TC_SMALL 2032u
#define MM_TC_MAX   32768u
#define MM_TC_NCLS  (MM_TC_SMALL / 16 + 1 + 4 * 8 + 1)
#define MM_TC_CLASS_BYTES 32768u              /* what a small class holds, 16 to 64 blocks */
#define MM_TC_MID_BYTES (32u << 10)           /* what a larger class holds, 1 to 8 blocks */
/* The size bits of a chunk too big for the fast paths (one mask test). */
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

size_t mm_tc_class_size(unsigned i);   /* cache.c */

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
/* leaks=1 alone: the last stacks this thread recorded, by hash, with their
 * ids in sites.c, so that a repeated stack is found without the lock. */
#define MM_MEMO_SLOTS 64
#define MM_MEMO_DEPTH 16          /* stack_depth's default: deeper stacks take the lock */
struct mm_site_memo {
    uint32_t hash, id, depth;
    uintptr_t pc[MM_MEMO_DEPTH];
};
struct mm_tcache {
    struct mm_tc_class cls[MM_TC_NCLS];
    struct mm_site_memo memo[MM_MEMO_SLOTS];
    struct mm_tcache *next, *prev;            /* every cache, under the lock */
    size_t map_len;
};
enum { MM_TC_NONE, MM_TC_ON, MM_TC_OFF };
/* This thread's cache; NULL while a call is working on it, so a signal
 * handler that comes in then goes the locked way. */
extern __thread struct mm_tcache *mm_tc __attribute__((tls_model("initial-exec")));
extern __thread int mm_tc_state __attribute__((tls_model("initial-exec")));
void mm_cache_init(void);
/* The rest with the lock held. */
/* These two need no lock, and make no cache: a thread gets one in the
 * locked paths (refill and free). */
mm_chunk *mm_cache_take(size_t nb);                     /* a cached chunk, or NULL */
bool mm_cache_put(mm_chunk *c, size_t size);            /* false: no cache, or full */
mm_chunk *mm_cache_refill(size_t nb, const char *fn);  /* NULL: no cache, or no memory */
/* The id of a stack in this thread's memo, or 0; and a stack to remember.
 * No lock. */
uint32_t mm_cache_site_find(const uintptr_t *pcs, int depth, uint32_t hash);
void mm_cache_site_keep(const uintptr_t *pcs, int depth, uint32_t hash, uint32_t id);
bool mm_cache_free(mm_chunk *c, const char *fn);        /* false: no cache to take it */
void mm_cache_flush(void);                               /* empties this thread's cache */
struct mm_tcache *mm_cache_own(void);                    /* this thread's, claimed or not */
/* Counted on the locked paths only: hits are those of the debug paths,
 * which take cached blocks with the lock; the fast paths count nothing. */
struct mm_cache_counts { uint64_t hits, refills, flushes; };
void mm_cache_counts(struct mm_cache_counts *k);
void mm_cache_after_fork_child(void);

static inline uint64_t mm_cache_mark(const mm_chunk *c)
{
    return (uintptr_t)c ^ mm_ro.mark_key;
}
static inline bool mm_is_cached(const mm_chunk *c)
{
    return *(const uint64_t *)mm_mem(c) == mm_cache_mark(c);
}

static inline mm_chunk *mm_cache_pop(struct mm_tcache *tc, size_t nb)
{
    struct mm_tc_class *k = &tc->cls[mm_tc_class(nb)];
    if (MM_UNLIKELY(!k->count))
        return NULL;
    mm_chunk *c = k->stack[--k->count];
    *(uint64_t *)mm_mem(c) = 0;
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
void mm_bin_remove(mm_chunk *c, const char *fn);
mm_chunk *mm_bin_take(size_t nb, const char *fn);   /* a chunk of at least nb, or NULL */
bool mm_bin_fits(size_t nb, const char *fn);         /* mm_bin_take(nb) would give one */
mm_chunk *mm_bin_first(unsigned i);
mm_chunk *mm_bin_next(const mm_chunk *c, const char *fn);   /* checked; reports corruption */
mm_chunk *mm_bin_fd(const mm_chunk *c), *mm_bin_bk(const mm_chunk *c);   /* decoded, unchecked */
bool mm_bin_marked(unsigned i);            /* the bitmap's bit for bin i */

/* ---- big.c: blocks that get their own mapping. */
void *mm_big_alloc(size_t n, size_t align);         /* no lock needed */
void mm_big_free(mm_chunk *c);                       /* lock held */
void *mm_big_realloc(mm_chunk *c, size_t n);         /* lock held; NULL: not moved */
bool mm_big_owns(const void *p);                     /* lock held */
bool mm_big_recently_freed(const void *p);           /* lock held */
size_t mm_big_bytes(void);
/* visits every mapped chunk, lock held */
void mm_big_each(void (*fn)(mm_chunk *c, void *arg), void *arg);

/* ---- pset.c: a set of addresses in mmapped memory (never calls malloc). */
typedef struct {
    uintptr_t *slot;
    size_t cap, count;
    bool borrowed;      /* slot is the caller's zeroed buffer, not a mapping */
} mm_pset;
bool mm_pset_add(mm_pset *s, uintptr_t key);    /* false: out of memory */
bool mm_pset_has(const mm_pset *s, uintptr_t key);
bool mm_pset_del(mm_pset *s, uintptr_t key);
void mm_pset_clear(mm_pset *s);                 /* frees the table */
void mm_pset_each(const mm_pset *s, void (*fn)(uintptr_t key, void *arg), void *arg);

/* ---- check.c: pointer validation, diagnostics, the heap checker. */
/* Returns the in-use chunk behind user pointer p, or reports the problem
 * naming fn and aborts. Lock held. */
mm_chunk *mm_validate(const void *p, const char *fn);
/* Prints "mymalloc: fn(): <message>" and aborts. */
MM_NORETURN void mm_die(const char *fn, const char *fmt, ...) MM_PRINTF(2, 3);
MM_NORETURN void mm_die_quietly(void);   /* after a report printed already */
int mm_check_locked(void);

/* ---- out.c: formatted output through write(2), never stdio. */
#include <stdarg.h>
/* A small vsnprintf: %s %c %d %i %u %x %p %% with l/z/ll, width, '-', '0' and
 * a precision for %s (%.*s).
 * Always NUL-terminates; returns the length written. */
size_t mm_vfmt(char *buf, size_t cap, const char *fmt, va_list ap);
size_t mm_fmt(char *buf, size_t cap, const char *fmt, ...) MM_PRINTF(3, 4);
void mm_print(const char *fmt, ...) MM_PRINTF(1, 2);   /* to the log, stderr by default */
void mm_write(const char *s, size_t n);
void mm_vline(const char *prefix, const char *fmt, va_list ap);   /* prefix, message, newline */
void mm_out_configure(void);     /* after the options: the log, or a copy of stderr */
void mm_out_after_fork(void);
/* Opens a path template (%p: the process id) for writing, created if need
 * be, close-on-exec; -1 with errno on failure. */
int mm_path_open(const char *tmpl, int flags);
int mm_path_writable(const char *tmpl);   /* 0, or the errno that open gave */
int mm_path_readable(const char *path);   /* the same, for reading */
bool mm_path_per_process(const char *tmpl);   /* it has a %p */
/* A byte count with a unit (512 B, 1.5 KiB, 3.0 MiB) in buf; returns buf. */
const char *mm_bytes(char buf[24], size_t n);
const char *mm_thousands(char buf[32], size_t n);   /* 5120 -> "5,120" */

/* ---- options.c: MYMALLOC_OPTIONS, read from environ.
 * The one list of options: name, kind, default, lowest, highest, the words
 * a CHOICE takes, help. The struct, the parser, the defaults and the help
 * table (help=1, from which the README's table is made) all come from it.
 * Kinds: SIZE (bytes, K/M/G), NUM, BOOL, CHOICE (one of the words, stored
 * as its index), PATH (a file to write; %p becomes the process id), INPUT
 * (a file to read). A relative path is made absolute when the options are
 * read, so that a process that changes directory writes where it started. */
#define MM_OPTIONS(X)                                                                          \
    X(mmap_threshold, SIZE, 128u << 10, 4096, 1u << 30, 0,                                     \
      "Blocks of this many bytes or more get a mapping of their own, unmapped by free. As in " \
      "glibc, unless set, it rises to the size of a mapped block that is freed (up to 32M)")  \
    X(trim_threshold, SIZE, 256u << 10, 4096, SIZE_MAX / 2, 0,                                 \
      "The break is lowered once this much lies free at the top of the heap; unless set, it " \
      "rises to twice mmap_threshold with it")                                                 \
    X(top_pad, SIZE, 64u << 10, 0, 1u << 30, 0,                                                \
      "Bytes added to each growth of the heap, and kept at its top when it shrinks")           \
    X(stats, CHOICE, 0, 0, 2, "0|1|json",                                                      \
      "At exit, a report of calls, bytes, the heap and the system calls: 1 for a table, json " \
      "for one JSON object")                                                                   \
    X(leaks, BOOL, 0, 0, 1, 0,                                                                  \
      "At exit, every block still live, grouped by the call stack that allocated it")          \
    X(leak_exitcode, NUM, 23, 0, 255, 0,                                                        \
      "The exit status when leaks=1 finds blocks lost, in the process that was started, if it " \
      "would have exited with 0 (0: leave the status alone)")                                  \
    X(leak_reachable, BOOL, 1, 0, 1, 0,                                                         \
      "List the blocks still reachable at exit by site too (0: only count them)")              \
    X(leak_suppressions, INPUT, 0, 0, 0, 0,                                                     \
      "A file of leaks not to report: a function or module name a line (leak:NAME as in "      \
      "LeakSanitizer; * matches anything), matched against each frame of a lost block's stack") \
    X(children, BOOL, 1, 0, 1, 0,                                                               \
      "Processes the program starts (fork, exec) are checked and report too; 0: only the "     \
      "program itself (valgrind's --trace-children=no)")                                       \
    X(stack_depth, NUM, 16, 1, 64, 0, "Frames recorded per allocation, for leaks and check")   \
    X(check, NUM, 0, 0, 2, 0,                                                                   \
      "1: redzones after blocks, freed blocks poisoned and quarantined, checked at free; 2: "  \
      "also the whole heap every check_every calls")                                           \
    X(check_every, NUM, 1000, 1, UINT32_MAX, 0, "With check=2, calls between heap checks")     \
    X(quarantine, SIZE, 16u << 20, 0, SIZE_MAX / 2, 0,                                          \
      "With check=1, bytes of freed blocks held back before reuse")                            \
    X(trace, PATH, 0, 0, 0, 0, "Record every call (function, sizes, pointers, thread, time) to this file") \
    X(heapmap, PATH, 0, 0, 0, 0, "At exit, write an SVG picture of the heap to this file")     \
    X(heapmap_signal, BOOL, 0, 0, 1, 0, "Also write the heap map on each SIGUSR2")             \
    X(log, PATH, 0, 0, 0, 0, "Where reports and warnings go instead of stderr")                \
    X(help, BOOL, 0, 0, 1, 0, "At start, print this table of options to stderr")               \
    X(fail_sbrk, NUM, 0, 0, UINT32_MAX, 0,                                                      \
      "Fault injection: the N-th call to sbrk from now fails (0: none)")                       \
    X(fail_mmap, NUM, 0, 0, UINT32_MAX, 0, "The same for mmap and mremap")                      \
    X(fail_madvise, NUM, 0, 0, UINT32_MAX, 0, "The same for madvise")                           \
    X(fail_rate, NUM, 0, 0, 100, 0,                                                             \
      "Each sbrk, mmap, mremap and madvise call fails with this probability, in percent")      \
    X(fail_seed, NUM, 1, 0, UINT32_MAX, 0, "The seed of fail_rate's choices")                   \
    X(fail_signal, NUM, 0, 0, 64, 0,                                                            \
      "Fault injection: raise this signal inside the allocator, in the middle of a change to "  \
      "the heap and with its lock held, every fail_signal_every times (0: none)")               \
    X(fail_signal_every, NUM, 64, 1, UINT32_MAX, 0, "How often fail_signal is raised")

#define MM_PATH_MAX 256
#define MM_OPT_TYPE_SIZE(n)   size_t n;
#define MM_OPT_TYPE_NUM(n)    size_t n;
#define MM_OPT_TYPE_BOOL(n)   size_t n;
#define MM_OPT_TYPE_CHOICE(n) size_t n;
#define MM_OPT_TYPE_PATH(n)   char n[MM_PATH_MAX];
#define MM_OPT_TYPE_INPUT(n)  char n[MM_PATH_MAX];
struct mm_options {
#define MM_OPTION_FIELD(name, kind, def, lo, hi, words, help) MM_OPT_TYPE_##kind(name)
    MM_OPTIONS(MM_OPTION_FIELD)
#undef MM_OPTION_FIELD
};
extern struct mm_options mm_opt;
static inline void mm_os_signal_point(void)
{
    if (MM_UNLIKELY(mm_opt.fail_signal))
        mm_os_signal_point_slow();
}
/* mmap_threshold, trim_threshold or top_pad was set (option or mallopt):
 * the thresholds no longer follow the program (big.c). */
extern bool mm_thresholds_set;
#define MM_MMAP_THRESHOLD_MAX (32u << 20)
void mm_options_load(void);
/* This is the process that was started, not one it ran (init.c). */
extern bool mm_root;
void mm_options_after_fork(void);
/* MYMALLOC_OPTIONS as read, with every relative path made absolute, in
 * buf; NULL when it has none (or does not fit). For the children. */
const char *mm_options_absolute(char *buf, size_t cap);
/* Applies a MYMALLOC_OPTIONS string; returns the number of bad pieces.
 * Lock held. */
int mm_options_apply(const char *s);

/* ---- init.c: the process's life: the first call, the options applied,
 * the fork handlers, the reports at exit. */
extern _Atomic bool mm_ready;
void mm_init(void);

/* ---- alloc.c: the allocation API under internal names. */
/* n bytes aligned to align (a power of two, 16 or more), from the thread
 * cache, the heap or a mapping of their own; NULL with ENOMEM. Lock not
 * held. Every allocation comes down to this. */
void *mm_alloc_plain(size_t n, size_t align, const char *fn);
/* Its parts, for debug.c, which keeps the lock across an allocation: the
 * chunk size for n, whether that needs a mapping of its own (mm_alloc_big,
 * lock not held), and the allocation from a cache or the heap (lock held). */
size_t mm_plain_size(size_t n, size_t align);
bool mm_plain_is_big(size_t nb, size_t align);
void *mm_alloc_big(size_t n, size_t align, const char *fn);
mm_chunk *mm_alloc_locked(size_t nb, size_t align, const char *fn);
/* Frees a validated chunk the usual way (cache, heap or unmap). Lock held. */
void mm_free_plain(mm_chunk *c, const char *fn);
void mm_set_enomem(void);
void *mm_malloc(size_t n);
void mm_free(void *p);
void *mm_calloc(size_t n, size_t m);
void *mm_realloc(void *p, size_t n);
void *mm_memalign(size_t align, size_t n);
size_t mm_usable_size(const void *p);
int mm_trim(size_t pad);

/* ---- debug.c: the paths while stats, leaks, check or trace is on. */
/* Built with -DMYMALLOC_TOOLKIT=OFF, the toolkit is compiled out (the
 * reference for what it costs when it is off). */
#ifdef MM_NO_TOOLKIT
#define mm_debug false
#define mm_debug_light false
#else
extern bool mm_debug;
/* leaks=1 or check=1, without stats or trace (nothing to count): malloc
 * takes blocks from the thread caches without the lock; free does too
 * with leaks=1 alone (with check=1 it goes to the quarantine). */
extern bool mm_debug_light;
#endif
#define MM_PAT_NEW   0xbe   /* check=1: a new block (reading it uninitialised shows) */
#define MM_PAT_RED   0xfa   /* the redzone after a block */
#define MM_PAT_FREED 0xdd   /* a freed block in the quarantine */
void *mm_debug_alloc(size_t n, size_t align, int call);
void mm_debug_free(void *p, int call);
void *mm_debug_realloc(void *p, size_t n);
size_t mm_debug_usable(const void *p);
void mm_debug_flush_quarantine(const char *fn);     /* lock held */
/* At exit, check=1: the blocks still in the quarantine checked, each error
 * reported without stopping; returns how many were found. Lock held. */
size_t mm_debug_check_at_exit(void);
/* A live block's size as asked for, the site that allocated it and the
 * process that did (0, 0 when it has no record). Lock held. */
void mm_debug_block_info(const mm_chunk *c, size_t *asked, uint32_t *site, int *pid);


/* ---- leaks.c: leaks=1, the report at exit. True when blocks were lost
 * (and not suppressed). Lock not held. */
bool mm_leaks_report(void);

/* ---- roots.c: the ranges of memory the leak scan reads for pointers:
 * every private writable mapping, less the heap, the mapped blocks, the
 * allocator's own mappings and data, and this thread's stack below sp.
 * Sorted; 0 when /proc/self/maps cannot be read. Lock held. */
size_t mm_roots(const struct mm_range **ranges, uintptr_t sp);
/* Before mm_roots, once, without the lock (it asks the C library where a
 * thread's descriptor keeps its id, to tell the stacks of exited threads). */
void mm_roots_prepare(void);

/* ---- suppress.c: leak_suppressions=FILE. */
bool mm_suppressions_any(void);      /* the file names at least one pattern */
bool mm_suppressed(uint32_t site);   /* a frame of the site matches one */

/* ---- heapmap.c: heapmap=PATH. */
void mm_heapmap_write(void);      /* lock held */
void mm_heapmap_init(void);       /* installs the SIGUSR2 handler if asked */

/* ---- sites.c: call stacks, each stored once; an id names one. Lock held. */
uint32_t mm_site_intern(const uintptr_t *pcs, int depth);   /* 0: none, or no memory */
uint32_t mm_site_hash(const uintptr_t *pcs, int depth);     /* no lock needed */
int mm_site_frames(uint32_t id, const uintptr_t **pcs);
void mm_site_print(uint32_t id, const char *indent);        /* one symbolised frame a line */
size_t mm_site_limit(void);                                 /* every id is below this */
void mm_frames_print(const uintptr_t *pcs, int depth, const char *indent);

/* ---- stats.c: what stats=1 counts (in debug modes, lock held), and its
 * report at exit. */
enum { MM_CALL_MALLOC, MM_CALL_CALLOC, MM_CALL_REALLOC, MM_CALL_MEMALIGN, MM_CALL_FREE,
       MM_CALL_USABLE, MM_NCALLS };
void mm_count_alloc(int call, size_t asked, bool ok);
void mm_count_free(size_t asked);
void mm_count_call(int call);
void mm_count_live(size_t usable, int blocks);     /* blocks: +1 or -1 */
void mm_stats_report(void);

/* ---- trace.c: trace=PATH, every call recorded. Lock held. */
void mm_trace(int call, const void *ptr, size_t size, size_t align, const void *result);
void mm_trace_flush(void);
void mm_trace_after_fork(void);

/* ---- report.c: heap summaries (stats=1, malloc_stats, mallinfo2). */
struct mm_summary {
    size_t live_blocks, live_bytes;     /* in-use chunks, usable bytes */
    size_t cached_blocks, cached_bytes; /* parked in thread caches */
    size_t quarantined_blocks, quarantined_bytes;   /* freed, held back by check=1 */
    size_t corrupt;                     /* segments whose walk stopped at a corrupt chunk */
    size_t free_chunks, free_bytes, largest_free;
    size_t top_bytes, heap_bytes, segments;
    size_t mapped_blocks, mapped_bytes;
    size_t released_bytes, foreign_brk, reentered;
};
void mm_summarize(struct mm_summary *s);   /* lock held */

/* ---- stack.c: the calling thread's call stack, without allocating.
 * Frames are unwound by the compilers' call frame information (.eh_frame),
 * so code without frame pointers (libmymalloc's own, most distributions'
 * programs) unwinds as well as code with them. Each step is checked: every
 * read lies between the stack pointer and the top of this thread's stack,
 * each frame starts above the one before, each return address lies in the
 * code of a loaded object. What cannot be unwound for sure (code without
 * unwind tables, JIT code, another stack after a signal) ends the stack
 * there: a stack may be short, its frames are never made up. No
 * allocation, no lock (objects are found with _dl_find_object, glibc 2.35,
 * not dl_iterate_phdr); async-signal-safe. */
/* Once, at start, outside the lock. (Capture works without it.) */
void mm_stack_init(void);
/* Fills pcs with up to max return addresses of the calling thread,
 * innermost first, skipping libmymalloc's own frames: pcs[0] is the return
 * address of the program's call to malloc (free, ...), always exact. Across
 * a signal handler the stack goes on with the interrupted pc (an exact pc,
 * not a return address). Returns the count. Cost at depth 8: about 10 ns
 * for a stack this thread captured last time (it is replayed, checked word
 * by word), 60 ns for a new one; the first capture on a thread also asks
 * /proc/self/maps where its stack ends (one ioctl, ~10 us). */
int mm_stack_capture(uintptr_t *pcs, int max);
/* The top (the end, exclusive) of the calling thread's current stack:
 * everything from the stack pointer up to it is mapped and readable.
 * 0 when it cannot be known (no /proc, on a thread other than main). */
uintptr_t mm_stack_top(void);

/* ---- symbols.c: names for code addresses, for reports. Symbols come from
 * the module's ELF file on disk (.symtab, else the debug file its build
 * id names, else .dynsym), mapped read-only and cached. It opens files,
 * so it has no place on an allocation path, but it never allocates. */
/* Writes "function+0x1c (module+0x11c9)" for a return address pc (as
 * mm_stack_capture gives): the function holding pc - 1, the call itself
 * (which ends its function when the callee never returns), the offset of
 * pc in it, the module's file name and the offset of pc in the module
 * that addr2line -e wants (pc minus the load bias). "(module+0x11c9)"
 * when no function symbol covers it, "(unknown)" when pc is in no loaded
 * module. Always NUL-terminates; returns the length. */
size_t mm_symbolize(uintptr_t pc, char *buf, size_t cap);
/* The path of the loaded module that holds address pc (the program's own
 * file for the program), and *offset = pc minus its load bias; NULL when
 * pc is in none. The string lives as long as the module is loaded. (The
 * reports use mm_symbolize; test_stack checks frames' modules with this.) */
const char *mm_module_of(uintptr_t pc, uintptr_t *offset);

#endif

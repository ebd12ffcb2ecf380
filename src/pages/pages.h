/* pages.h -- per-thread heaps of pages that hold blocks of one size each.
 * Above heap/ and base/.
 *
 * A page is one chunk of the chain (heap/), 64 KiB or more, carved with
 * its header on a 4 KiB boundary, so that the header and the first blocks
 * share one page of memory (a page with a few blocks in use costs one
 * page of memory, not two). Its blocks have no header: block i of a page
 * of class size s starts at start + i * s, start being the chunk plus the
 * largest power of two that divides s (at least 16, at most 4 KiB), so
 * that every block is aligned to it. What the allocator knows of a page
 * lives out of the program's reach, in the page's record (records are
 * mapped apart, never in the heap):
 *
 *     page map (4 KiB granules)         record
 *     p >> 12 ---------------------->   free list head, blocks out, size,
 *                                        owner, remote list, one bit per
 *                                        block: allocated or not
 *     chunk header   start
 *     v (4 KiB)      v
 *     +------+-------+--------+--------+--------+-- ... --+--------+----+
 *     | prev | head  | block 0| block 1| block 2|         | block k|    |
 *     +------+-------+--------+--------+--------+-- ... --+--------+----+
 *     (s = 64: 48 bytes unused before block 0)                   next chunk's
 *                                                                header ---^
 *
 * A free block of the owner's list holds, in its first word, the address
 * of the next free block mixed with its own address and the process's
 * secret; malloc checks that what it finds there is a free block of the
 * page before it trusts it, so a write after free is seen when the block
 * comes out again.
 *
 * The owner allocates and frees without a lock and without an atomic
 * instruction; another thread's free is pushed on the page's remote list
 * (one compare-and-swap), which the owner takes back when its own list
 * runs dry. The lock is taken only to get a page from the chain, give one
 * back, or adopt one that an exited thread left. */
#ifndef MM_PAGES_H
#define MM_PAGES_H

#include "../heap/heap.h"

/* The size classes: every 16 bytes up to 128, then eight a power of two
 * (a block is at most 12.5% bigger than what was asked, beyond 128 bytes),
 * up to MM_PG_MAX. */
#define MM_PG_MAX   32768u
#define MM_PG_NCLS  72u
#define MM_PG_GRAIN 12u                 /* the page map's granule: 4 KiB */
#define MM_PG_MAXBLOCKS 4096u           /* 64 KiB of 16-byte blocks */
/* Other threads' frees into a page wait on MM_PG_LANES lists, a freeing
 * thread taking them in turn: the owner takes them back walking the lists
 * side by side, so that the loads of their links, cache misses on blocks
 * another core wrote last, overlap instead of waiting on each other. */
#define MM_PG_LANES 4u

extern const uint8_t mm_pg_small_class[65];   /* (n + 15) / 16 -> class, n <= 1024 */
MM_HOT static inline unsigned mm_pg_class(size_t n)
{
    if (MM_LIKELY(n <= 1024))
        return mm_pg_small_class[(n + 15) >> 4];
    unsigned e = 63u - (unsigned)__builtin_clzll(n - 1);       /* n in (2^e, 2^(e+1)] */
    return 8 + (e - 7) * 8 + (unsigned)((n - 1 - ((size_t)1 << e)) >> (e - 3));
}
size_t mm_pg_class_size(unsigned cls);

struct mm_theap;
/* Where a page is: its heap's cur, avail, full or empty pages, or left. */
enum { MM_PG_NONE, MM_PG_CUR, MM_PG_AVAIL, MM_PG_FULL, MM_PG_EMPTY, MM_PG_LEFT };
struct mm_page {
    /* What every path reads, the owner's and other threads' frees alike,
     * and the owner rarely writes: one cache line */
    uintptr_t start;                /* block 0 */
    uint64_t key;                   /* mixed into the links of this page's free blocks */
    struct mm_theap *owner;         /* NULL: left by a thread that ended, or not a page */
    uint64_t dinv;                  /* the inverse of size >> shift (odd) modulo 2^64 */
    uint32_t cap;                   /* blocks it holds */
    uint32_t size;                  /* block size */
    uint8_t shift;                  /* the largest power of two that divides size */
    uint8_t cls, where, rebuild;
    /* What the owner writes at each malloc and free, from a line of its
     * own, so that another thread's free, which reads the line above, does
     * not take it from the owner's cache. The bits follow on that line:
     * a page of 384 blocks or fewer (blocks of 176 bytes or more, in a
     * page of 64 KiB) keeps them all there. */
    uintptr_t free __attribute__((aligned(64)));   /* first block of the free list, 0: none */
    uint32_t used;                  /* blocks out (remote frees not yet taken back count) */
    uint32_t free_i;                /* the index of that first block */
    uint64_t bits[MM_PG_MAXBLOCKS / 64];   /* 1: block i is allocated */
    /* other threads' frees, on a line of their own too */
    uintptr_t remote[MM_PG_LANES] __attribute__((aligned(64)));   /* (atomic; first word: next, mixed) */
    struct mm_page *all_next, *all_prev;   /* every page, under the lock */
    struct mm_rslab *slab;          /* the mapping the record lives in */
    mm_chunk *chunk;                /* the page's chunk in the chain */
    size_t bytes;                   /* the page's chunk size */
    /* the slow paths' */
    uint64_t laid_out;              /* times the record was laid out (its key's draw) */
    uint32_t fresh;                 /* blocks carved so far */
    struct mm_page *next, *prev;    /* in its owner's list, or the list of left pages */
    uint64_t empty_ms;              /* when it last ran empty */
} __attribute__((aligned(64)));

/* The page map: 4 KiB granule -> the record of the page that covers it. */
extern struct mm_page **mm_pmap[1u << 15];
static inline struct mm_page *mm_page_of(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    struct mm_page **l2 = mm_pmap[(a >> 32) & 0x7fff];
    return l2 ? l2[(a >> MM_PG_GRAIN) & 0xfffff] : NULL;
}

/* The mix of a free block's link with its address and its page's key
 * (drawn from the secret when the page is laid out). */
static inline uintptr_t mm_pg_mix(const struct mm_page *pg, uintptr_t b)
{
    uint64_t x = (b ^ pg->key) * UINT64_C(0x9fb21c651e98df25);
    return x << 32 | x >> 32;
}

struct mm_theap {
    struct mm_page *cur[MM_PG_NCLS];      /* the page malloc takes from, per class */
    struct mm_page *avail[MM_PG_NCLS];    /* other pages with room */
    struct mm_page *full[MM_PG_NCLS];     /* pages with none (remote frees may come) */
    struct mm_page *empty;                /* empty pages kept for any class */
    unsigned nempty;
    unsigned young;                       /* blocks the chain served while young */
    uint64_t sweep_ms;
    struct mm_theap *next, *prev;         /* every heap, under the lock */
    /* Set by other threads (relaxed atomics) when they free into a full
     * page of the class; on lines of their own, away from what the
     * owner's fast paths read. */
    uint8_t remote_hint[MM_PG_NCLS] __attribute__((aligned(64)));
    /* Held while the owner changes its full lists, or puts a block back
     * into a full page, and while another thread looks through them for
     * a page whose blocks were all freed by others (pages.c, take_full). */
    int full_busy;
};

/* This thread's heap for the fast paths; mm_th_none while a call works
 * on it (a signal handler that comes in then takes the chain's way), and
 * until the thread has a heap. mm_th_none's pages hold no block and it
 * owns none, so that the fast paths need no test of their own to go on
 * to the slow ones. */
extern __thread struct mm_theap *mm_th MM_TLS;
extern struct mm_theap mm_th_none;
/* The pages serve small blocks (set at start, when no debugging option
 * keeps records: those blocks go through the chain). */
extern bool mm_pages_on;
void mm_pages_start(void);

/* The toolkit takes every small block itself (the exact profile alone,
 * set at start): the fast paths leave them all to it (this thread's heap
 * stays mm_th_none for them, so free finds another owner's page and
 * sees mm_pages_held), and it takes and gives them with these, lock not
 * held.
 * take: a block of n's class from this thread's heap; NULL when the
 * chain must serve n (too big, no memory, or a signal handler that came
 * in while its thread takes or gives). give: p, a block of pg, checked
 * and freed (another thread's, or in such a signal handler: onto its
 * remote list). */
extern bool mm_pages_held;
void *mm_pages_take(size_t n);
void mm_pages_give(struct mm_page *pg, void *p, const char *fn);

/* The slow paths. malloc's: the page of n's class ran dry, or this thread
 * has no heap yet (it is made); NULL when the pages cannot serve n now (a
 * signal handler came in while its thread works on its heap, the thread
 * is ending, no memory): the chain serves it. free's: a page of this
 * thread's that ran empty moves to its list; a block of another
 * thread's page goes on its remote list. */
void *mm_pages_malloc_nofast(size_t n);
void mm_pages_moved(struct mm_page *pg);
/* The owner's free of block p of its full page pg: under the heap's
 * full_busy, the page moved to avail (or empty). */
void mm_pages_free_full(struct mm_page *pg, void *p, const char *fn);
/* n bytes aligned to align (a power of two up to 4 KiB) from a class whose
 * size align divides; NULL: not from the pages (the chain serves it). */
void *mm_pages_memalign(size_t n, size_t align);
/* p, a block of another thread's page pg (not while mm_pages_held: the
 * toolkit frees those itself), onto pg's remote list. */
void mm_pages_free_remote(struct mm_page *pg, void *p, const char *fn);
/* Reports and aborts. */
__attribute__((noreturn, cold)) void mm_pages_bad_free(struct mm_page *pg, const void *p, const char *fn);
__attribute__((noreturn, cold)) void mm_pages_bad_link(struct mm_page *pg, uintptr_t b);
__attribute__((noreturn, cold)) void mm_pages_bad_head(struct mm_page *pg, uintptr_t b);

/* The index of block p of page pg, or -1 when p is not a block boundary.
 * With size = d << shift (d odd): off = i * size exactly when off times
 * d's inverse modulo 2^64, turned right by shift, is i; any other off,
 * however big, turns into a number of cap or more. One multiply, no
 * division, and the range check comes with it. */
static inline long mm_pg_index(const struct mm_page *pg, const void *p)
{
    uint64_t x = ((uintptr_t)p - pg->start) * pg->dinv;
    uint64_t i = x >> pg->shift | x << (-pg->shift & 63);
    return MM_LIKELY(i < pg->cap) ? (long)i : -1;
}

/* The bits: one per block, set while it is allocated, found by the
 * block's index (mm_pg_index above, which also says whether a pointer is
 * a block's start at all). Whether block i (an index, or -1) is
 * allocated, read as it is (another thread's page changes meanwhile). */
static inline bool mm_pg_allocated(const struct mm_page *pg, long i)
{
    return i >= 0 && (__atomic_load_n(&pg->bits[i >> 6], __ATOMIC_RELAXED) >> (i & 63) & 1);
}

/* A link decoded from a free block leads to the start of a block of the
 * page, or nowhere (0): a link the program wrote after free, even one
 * forged with the page's key, cannot lead into a live block's middle, and
 * into a live block's start the bits catch it. */
static inline bool mm_pg_link_ok(const struct mm_page *pg, uintptr_t next)
{
    return MM_LIKELY(mm_pg_index(pg, (const void *)next) >= 0) || next == 0;
}

/* The head of pg's free list (there is one), checked as malloc's fast
 * path says below, handed out; its heap claimed. */
static inline __attribute__((always_inline)) void *mm_pg_pop(struct mm_page *pg)
{
    /* (b is a block of the page and free_i its index: whatever sets the
     * head checked it) */
    uintptr_t b = pg->free;
    uint32_t i = pg->free_i;
    uint64_t w = pg->bits[i >> 6];
    if (MM_UNLIKELY(w >> (i & 63) & 1))
        mm_pages_bad_head(pg, b);
    pg->bits[i >> 6] = w | UINT64_C(1) << (i & 63);
    uintptr_t next = *(uint64_t *)b ^ mm_pg_mix(pg, b);
    long ni = mm_pg_index(pg, (const void *)next);
    if (MM_UNLIKELY(ni < 0) && next != 0)
        mm_pages_bad_link(pg, b);
    *(uint64_t *)b = 0;             /* the program gets no link to read */
    pg->free = next;
    pg->free_i = (uint32_t)ni;
    pg->used++;
    return (void *)b;
}

/* The fast paths: inline, no lock, no atomic, no call. NULL / false: the
 * caller goes on to mm_pages_malloc_nofast / the slow path.
 *
 * malloc trusts no link: the link in the block it hands out must decode
 * to a block of the page (or the end of the list), and the block at the
 * head of the list must be free by the bits (test-and-set) before it is
 * handed out. A link is the next block mixed with its holder's address
 * and a key from the secret, so whatever the program wrote there after
 * free decodes to an address far outside the page: the block is named
 * when it is handed out again. (A link forged to decode into the page, to
 * a block in use, is caught at the next malloc.) */
static inline __attribute__((always_inline)) void *mm_pages_malloc(size_t n)
{
    struct mm_theap *th = mm_th;
    unsigned cls;
    if (MM_LIKELY(n <= 1024))
        cls = mm_pg_small_class[(n + 15) >> 4];
    else if (n <= MM_PG_MAX)
        cls = mm_pg_class(n);
    else
        return NULL;
    struct mm_page *pg = th->cur[cls];
    mm_th = &mm_th_none;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    void *r = MM_LIKELY(pg->free != 0) ? mm_pg_pop(pg) : NULL;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    mm_th = th;
    return r;
}

/* The owner's free of block p of page pg, its heap claimed: p checked by
 * its bit (a second free, or no block's start, is reported), then put on
 * the page's free list. Returns the blocks still out. */
static inline __attribute__((always_inline)) uint32_t mm_pg_put(struct mm_page *pg, void *p, const char *fn)
{
    long i = mm_pg_index(pg, p);
    if (MM_UNLIKELY(i < 0))
        mm_pages_bad_free(pg, p, fn);
    uint64_t w = pg->bits[i >> 6];
    if (MM_UNLIKELY(!(w >> (i & 63) & 1)))
        mm_pages_bad_free(pg, p, fn);
    pg->bits[i >> 6] = w & ~(UINT64_C(1) << (i & 63));
    *(uint64_t *)p = pg->free ^ mm_pg_mix(pg, (uintptr_t)p);
    pg->free = (uintptr_t)p;
    pg->free_i = (uint32_t)i;
    return --pg->used;
}

/* true: p was a page block, and is freed. */
static inline __attribute__((always_inline)) bool mm_pages_free(void *p, const char *fn)
{
    struct mm_page *pg = mm_page_of(p);
    if (MM_LIKELY(!pg))
        return false;
    struct mm_theap *th = mm_th;
    if (MM_UNLIKELY(pg->owner != th)) {
        if (MM_UNLIKELY(mm_pages_held))
            return false;       /* the toolkit's: it gives the block back (mm_pages_give) */
        mm_pages_free_remote(pg, p, fn);
        return true;
    }
    mm_th = &mm_th_none;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (MM_UNLIKELY(pg->where == MM_PG_FULL)) {
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        mm_th = th;
        mm_pages_free_full(pg, p, fn);
        return true;
    }
    uint32_t used = mm_pg_put(pg, p, fn);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    mm_th = th;
    /* a page that is not cur and ran empty moves (where first: the
     * branch on used alone mispredicts where a program's frees empty its
     * current page often) */
    if (MM_UNLIKELY(pg->where != MM_PG_CUR) && used == 0)
        mm_pages_moved(pg);
    return true;
}

/* Whether a block of have bytes, realloc'd to n, stays where it is, its
 * room kept: while n fits and is not much smaller. Else a page's block
 * moves to n's class, and a block of the chain gives back its rest. */
static inline bool mm_pg_stays(size_t have, size_t n)
{
    return n <= have && (n > have / 2 || have <= 128);
}

/* The usable size of page block p, checked (fn names the caller in a
 * report); 0 when p is not in a page. */
size_t mm_pages_usable(const void *p, const char *fn);
/* c is a page's chunk: the bytes of its blocks in use in *live (for the
 * heap map; other threads' pages as they are at that moment). */
bool mm_pages_fill(const mm_chunk *c, size_t *live);
/* The heap's summary (mm_summarize), with each page's blocks counted
 * instead of its chunk: allocated ones live, free ones cached. Lock held;
 * other threads' pages are read as they are at that moment. */
void mm_pages_summarize(struct mm_summary *s);
/* Now and then (every MM_TICK allocations): this thread's pages that
 * stayed empty a second go back to the chain (lock not held). */
#define MM_TICK 65536u
void mm_pages_tick(void);
/* Gives back this thread's empty pages (lock held). */
void mm_pages_flush(void);
void mm_pages_after_fork_child(void);
/* The checker's part: this thread's pages and the left ones are sound. */
int mm_pages_check(void (*complain)(const char *what, const void *where));

#endif

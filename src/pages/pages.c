/* pages.c -- the per-thread heaps: pages taken from the chain and given
 * back, the slow paths of malloc and free, other threads' frees, threads
 * that end, fork.
 *
 * Each thread heap keeps, per class, the page malloc takes from (cur),
 * pages with room (avail) and pages without (full). A page that runs
 * empty, and is not cur, goes to the heap's few empty pages, where the
 * next page its class needs is taken from, as it is (laid out for another
 * class, the memory its own class touched would stay resident beside what
 * the other touches), or back to the chain; cur pages that stayed empty,
 * and the empty ones kept, go back to the chain after a second without
 * use, when the thread next takes a slow path. A thread that ends leaves
 * its pages that hold blocks on a list of left pages (per class), from
 * which the next thread that needs a page of that class adopts one, and
 * its empty pages on a list of idle pages (per class), from which the
 * next thread that needs a page of that class takes one as it is: threads
 * that come and go pass their pages on, instead of cutting the chain into
 * pieces and carving it again, and a page's blocks serve their class
 * only, so that only the part of its memory that its class touched is
 * resident. Idle pages go back to the chain after a second without use,
 * and their memory to the system.
 * Remote frees to a full page wait on its remote list until its owner,
 * needing a page, looks there before it takes a new one; a full page
 * whose blocks were all freed by other threads is taken by the next
 * thread that needs a page of its class (its owner may never come back
 * for it). A young thread's first blocks above 1 KiB come from the chain
 * (YOUNG_BLOCKS). */
#include "pages.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>

#define KEEP_EMPTY 16           /* empty pages a heap keeps for reuse by their class */
#define SWEEP_MS 1000           /* empty pages go back after this long */
/* A thread's first YOUNG_BLOCKS blocks above YOUNG_SIZE come from the
 * chain, packed best-fit among everyone's, unless a page of their class
 * that an ended thread left waits: pages of these classes hold a few
 * blocks each, 64 to 128 KiB, and a short-lived thread that took one for
 * every class it touched would hold all of them, mostly empty, for a few
 * blocks (see README, "Against the targets"). */
#define YOUNG_BLOCKS 48
#define YOUNG_SIZE 1024

/* Whether other threads freed blocks into pg that its owner has not taken
 * back (read as they are). */
static inline bool remote_any(const struct mm_page *pg)
{
    uintptr_t any = 0;
    for (unsigned k = 0; k < MM_PG_LANES; k++)
        any |= __atomic_load_n(&pg->remote[k], __ATOMIC_RELAXED);
    return any != 0;
}

/* A page with nothing: cur of every class of a new heap, and of
 * mm_th_none. */
static struct mm_page none = { .where = MM_PG_NONE };
struct mm_theap mm_th_none = { .cur = { [0 ... MM_PG_NCLS - 1] = &none } };
__thread struct mm_theap *mm_th MM_TLS = &mm_th_none;
static __thread struct mm_theap *own MM_TLS;    /* claimed or not */
static __thread bool gone MM_TLS;               /* the thread is ending */
static __thread bool inside MM_TLS;             /* the pages' lists are being changed */
static __thread bool held_busy MM_TLS;          /* mm_pages_held: a take or a give works on own */
bool mm_pages_on, mm_pages_held;
struct mm_page **mm_pmap[1u << 15];

static pthread_key_t key;
static bool key_ok;
/* Under the lock: */
static struct mm_theap *heaps, *spare_heaps;
static struct mm_page *left[MM_PG_NCLS];
static struct mm_page *idle[MM_PG_NCLS]; /* empty, left by threads that ended; newest first */
static struct mm_page *all_pages;       /* every page: the readers' list */

/* Doubly linked lists through the fields next and prev of each node (the
 * pages' lists, the list of every page, the slabs of records). */
#define DL_PUSH(head, x, next, prev) do {                                   \
        (x)->prev = NULL;                                                   \
        (x)->next = (head);                                                 \
        if (head)                                                           \
            (head)->prev = (x);                                             \
        (head) = (x);                                                       \
    } while (0)
#define DL_UNLINK(head, x, next, prev) do {                                 \
        if ((x)->prev)                                                      \
            (x)->prev->next = (x)->next;                                    \
        else                                                                \
            (head) = (x)->next;                                             \
        if ((x)->next)                                                      \
            (x)->next->prev = (x)->prev;                                    \
    } while (0)

/* This thread's heap, claimed (mm_th set to mm_th_none, so that a signal
 * handler that comes in takes the chain's way), or NULL when a call of
 * its own is working on it, or it has none. */
MM_HOT static inline struct mm_theap *claim(void)
{
    struct mm_theap *th = mm_th;
    if (th == &mm_th_none)
        return NULL;
    mm_th = &mm_th_none;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return th;
}

static inline void unclaim(struct mm_theap *th)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    mm_th = th;
}

/* The same for the slow paths that mm_pages_held leaves: with it, the
 * fast paths never have this thread's heap (own), and held_busy says that
 * a call of its own works on it. */
static inline struct mm_theap *claim_own(void)
{
    if (!mm_pages_held)
        return claim();
    if (!own || held_busy)
        return NULL;
    held_busy = true;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return own;
}

static inline void unclaim_own(struct mm_theap *th)
{
    if (!mm_pages_held) {
        unclaim(th);
        return;
    }
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    held_busy = false;
}

/* th's full lists, and the blocks of its full pages, against a thread
 * that looks through them for a page to take (take_full). Held for a few
 * instructions by the owner, never while it takes the lock; an owner that
 * waits long for it (the looking thread was preempted) lets others run. */
static void full_lock(struct mm_theap *th)
{
    for (unsigned spins = 0; __atomic_exchange_n(&th->full_busy, 1, __ATOMIC_ACQUIRE);)
        while (__atomic_load_n(&th->full_busy, __ATOMIC_RELAXED))
            if (++spins % 64)
                __builtin_ia32_pause();
            else
                sched_yield();
}

/* The looking thread's: it never waits for the flag (it holds the lock,
 * which a signal handler that came in on the owner while it held the flag
 * may be waiting for). */
static bool full_trylock(struct mm_theap *th)
{
    return !__atomic_exchange_n(&th->full_busy, 1, __ATOMIC_ACQUIRE);
}

static void full_unlock(struct mm_theap *th)
{
    __atomic_store_n(&th->full_busy, 0, __ATOMIC_RELEASE);
}

/* ---- classes */

size_t mm_pg_class_size(unsigned cls)
{
    if (cls < 8)
        return 16u * (cls + 1);
    unsigned j = cls - 8, e = 7 + j / 8;
    return ((size_t)1 << e) + (size_t)(j % 8 + 1) * ((size_t)1 << (e - 3));
}

MM_QUIET_CONST const uint8_t mm_pg_small_class[65] = {
    0, 0, 1, 2, 3, 4, 5, 6, 7,
    /* 144 .. 256 */ 8, 9, 10, 11, 12, 13, 14, 15,
    /* 272 .. 512: steps of 32 */ 16, 16, 17, 17, 18, 18, 19, 19, 20, 20, 21, 21, 22, 22, 23, 23,
    /* 528 .. 1024: steps of 64 */ 24, 24, 24, 24, 25, 25, 25, 25, 26, 26, 26, 26, 27, 27, 27, 27,
    28, 28, 28, 28, 29, 29, 29, 29, 30, 30, 30, 30, 31, 31, 31, 31,
};

/* A page of class cls: 64 KiB, or room for 8 blocks. */
static size_t page_bytes(unsigned cls)
{
    size_t s = mm_pg_class_size(cls), b = 8 * s < 65536 ? 65536 : 8 * s;
    return mm_align_up(b, 65536);
}

/* ---- the page map and the records (lock held) */

static struct mm_page **map_entry(uintptr_t a)
{
    struct mm_page **l2 = mm_pmap[(a >> 32) & 0x7fff];
    return l2 ? &l2[(a >> MM_PG_GRAIN) & 0xfffff] : NULL;
}

/* The map's own page of entries holding e, given back if all are clear. */
static void map_tidy(struct mm_page **e)
{
    struct mm_page **lo = (struct mm_page **)((uintptr_t)e & ~(uintptr_t)(mm_page - 1));
    for (size_t k = 0; k < mm_page / sizeof *lo; k++)
        if (lo[k])
            return;
    mm_os_release(lo, mm_page);
}

/* The page map's entries for [from, from + bytes) set to pg; when they are
 * cleared, a page of the map whose entries are all clear goes back. */
MM_HOT static bool map_set(uintptr_t from, size_t bytes, struct mm_page *pg)
{
    for (uintptr_t a = from; a < from + bytes; a += (uintptr_t)1 << MM_PG_GRAIN) {
        struct mm_page ***l1 = &mm_pmap[(a >> 32) & 0x7fff];
        if (!*l1) {
            if (!pg)
                continue;
            struct mm_page **l2 = mm_os_map_own(((size_t)1 << 20) * sizeof *l2);
            if (!l2)
                return false;
            __atomic_store_n(l1, l2, __ATOMIC_RELEASE);
        }
        __atomic_store_n(&(*l1)[(a >> MM_PG_GRAIN) & 0xfffff], pg, __ATOMIC_RELEASE);
    }
    if (!pg) {
        struct mm_page **first = map_entry(from), **last = map_entry(from + bytes - 1);
        if (first)
            map_tidy(first);
        if (last && ((uintptr_t)last ^ (uintptr_t)first) >= mm_page)
            map_tidy(last);
    }
    return true;
}

/* Records come from mappings of their own (slabs) of SLAB bytes, carved
 * one at a time as they are needed (a program with a few pages touches a
 * few of the slab's pages, not all of them); a slab whose records are all
 * spare is unmapped, unless it is the last. */
#define SLAB (64u << 10)
struct mm_rslab {
    struct mm_rslab *next, *prev;   /* slabs with spare records */
    struct mm_page *spare;          /* records given back */
    struct mm_page *carved;         /* the first record never handed out */
    unsigned used;
};
static struct mm_rslab *slabs;      /* lock held */

static bool slab_full(const struct mm_rslab *sl)
{
    return !sl->spare && (char *)(sl->carved + 1) > (char *)sl + SLAB;
}

static struct mm_page *record_new(void)
{
    if (!slabs) {
        struct mm_rslab *sl = mm_os_map_own(SLAB);
        if (!sl)
            return NULL;
        sl->carved = (struct mm_page *)mm_align_up((uintptr_t)(sl + 1), 64);
        DL_PUSH(slabs, sl, next, prev);
    }
    struct mm_rslab *sl = slabs;
    struct mm_page *pg = sl->spare;
    if (pg) {
        sl->spare = pg->next;
    } else {
        pg = sl->carved++;
        pg->slab = sl;
    }
    sl->used++;
    if (slab_full(sl))
        DL_UNLINK(slabs, sl, next, prev);
    return pg;
}

MM_HOT static void record_free(struct mm_page *pg)
{
    struct mm_rslab *sl = pg->slab;
    if (slab_full(sl))
        DL_PUSH(slabs, sl, next, prev);     /* full no more */
    pg->next = sl->spare;
    sl->spare = pg;
    if (--sl->used == 0 && (sl->next || sl->prev)) {
        DL_UNLINK(slabs, sl, next, prev);
        mm_os_unmap_own(sl, SLAB);
    }
}

/* Lays out page pg (its chunk, bytes) for class cls, empty. */
MM_HOT static void format(struct mm_page *pg, unsigned cls)
{
    size_t s = mm_pg_class_size(cls);
    pg->free = 0;
    pg->used = 0;
    pg->size = (uint32_t)s;
    pg->shift = (uint8_t)__builtin_ctzll(s);
    uint64_t d = s >> pg->shift, x = d;              /* d * d = 1 modulo 8 */
    for (int i = 0; i < 5; i++)
        x *= 2 - d * x;                              /* each step doubles the bits that are right */
    pg->dinv = x;
    /* a key of its own, which tells nothing of another page's */
    pg->key = mm_keyed((uintptr_t)pg->chunk ^ ++pg->laid_out, mm_ro.page_key);
    /* the chunk starts on a 4 KiB boundary; block 0 as near after its
     * header as keeps every block aligned to the largest power of two
     * that divides s (up to 4 KiB: memalign's classes rely on it) */
    size_t off = s & -s;
    off = off < MM_HDR ? MM_HDR : off > 4096 ? 4096 : off;
    pg->start = (uintptr_t)pg->chunk + off;
    pg->cap = (uint32_t)((pg->bytes - off) / s);
    if (pg->cap > MM_PG_MAXBLOCKS)
        pg->cap = MM_PG_MAXBLOCKS;    /* a bit for each */
    mm_os_signal_point();       /* fail_signal: the record half laid out */
    pg->fresh = 0;
    pg->cls = (uint8_t)cls;
    pg->rebuild = 0;
    for (unsigned k = 0; k < MM_PG_LANES; k++)
        __atomic_store_n(&pg->remote[k], 0, __ATOMIC_RELAXED);
    memset(pg->bits, 0, sizeof pg->bits);
}

/* The page's chunk back to the chain; its record to the spares. */
MM_HOT static void give_back(struct mm_page *pg)
{
    DL_UNLINK(all_pages, pg, all_next, all_prev);
    map_set((uintptr_t)pg->chunk, pg->bytes, NULL);
    pg->owner = NULL;
    pg->where = MM_PG_NONE;
    pg->cap = 0;                 /* a stale pointer finds no block here */
    bool was = inside;
    inside = true;               /* the heap's purge hook must not come back in */
    mm_heap_free(pg->chunk, "free");
    inside = was;
    record_free(pg);
}

/* ---- lists */

static void unlink_page(struct mm_page **list, struct mm_page *pg)
{
    DL_UNLINK(*list, pg, next, prev);
    pg->next = pg->prev = NULL;
}

static void push_page(struct mm_page **list, struct mm_page *pg, int where)
{
    DL_PUSH(*list, pg, next, prev);
    pg->where = (uint8_t)where;
}

static struct mm_page **list_of(struct mm_theap *th, struct mm_page *pg)
{
    switch (pg->where) {
    case MM_PG_AVAIL: return &th->avail[pg->cls];
    case MM_PG_FULL: return &th->full[pg->cls];
    case MM_PG_EMPTY: return &th->empty;
    default: return NULL;
    }
}

/* ---- blocks */

/* b (a block of pg, or 0) at the head of pg's free list, with its index. */
static void set_free(struct mm_page *pg, uintptr_t b)
{
    pg->free = b;
    pg->free_i = (uint32_t)mm_pg_index(pg, (void *)b);
}

/* Other threads' frees back on the owner's list (the owner, or the lock
 * holder for a left page). A remote list's links are mixed as the owner's
 * are, so it is checked block by block (each a block of the page, its bit
 * set, then cleared) but not written again: only its last block is linked
 * to what the owner's list held. */
MM_HOT static void collect(struct mm_page *pg)
{
    if (!remote_any(pg))
        return;                  /* (an exchange would take the line from the freeing threads) */
    uintptr_t head[MM_PG_LANES], r[MM_PG_LANES], last[MM_PG_LANES];
    for (unsigned k = 0; k < MM_PG_LANES; k++) {
        head[k] = __atomic_load_n(&pg->remote[k], __ATOMIC_RELAXED)
                      ? __atomic_exchange_n(&pg->remote[k], 0, __ATOMIC_ACQUIRE) : 0;
        r[k] = head[k];
        last[k] = 0;
    }
    /* the lists side by side: a step of each in turn */
    uint32_t n = 0;
    for (bool more = true; more;) {
        more = false;
        for (unsigned k = 0; k < MM_PG_LANES; k++) {
            uintptr_t b = r[k];
            if (!b)
                continue;
            long i = mm_pg_index(pg, (void *)b);
            if (i < 0 || n == pg->cap)
                mm_pages_bad_link(pg, last[k] ? last[k] : b);
            uint64_t m = UINT64_C(1) << (i & 63);
            if (!(pg->bits[i >> 6] & m))
                mm_pages_bad_free(pg, (void *)b, "free");
            pg->bits[i >> 6] &= ~m;
            n++;
            last[k] = b;
            r[k] = *(uint64_t *)b ^ mm_pg_mix(pg, b);
            more |= r[k] != 0;
        }
    }
    /* joined, in front of the free list */
    uintptr_t next = pg->free;
    for (unsigned k = MM_PG_LANES; k-- > 0;)
        if (head[k]) {
            *(uint64_t *)last[k] = next ^ mm_pg_mix(pg, last[k]);
            next = head[k];
        }
    set_free(pg, next);
    pg->used -= n;
}

/* Blocks never handed out onto the free list: those that start in the
 * 4 KiB page of memory where the first of them starts (their links touch
 * that page only), at least one. */
static void extend(struct mm_page *pg)
{
    uintptr_t first = pg->start + (uintptr_t)pg->fresh * pg->size;
    uint32_t n = (uint32_t)((((first | 4095) + 1 - first) + pg->size - 1) / pg->size);
    if (n > pg->cap - pg->fresh)
        n = pg->cap - pg->fresh;
    uintptr_t next = pg->free;
    for (uint32_t k = pg->fresh + n; k-- > pg->fresh;) {
        uintptr_t b = pg->start + (uintptr_t)k * pg->size;
        *(uint64_t *)b = next ^ mm_pg_mix(pg, b);
        next = b;
    }
    set_free(pg, next);
    pg->fresh += n;
}

/* The free list rebuilt from the bits: for a page whose owner may have
 * been stopped half-way (fork from another thread). */
static void rebuild(struct mm_page *pg)
{
    uint32_t used = 0;
    pg->free = 0;
    for (uint32_t k = pg->fresh; k-- > 0;) {
        uintptr_t b = pg->start + (uintptr_t)k * pg->size;
        if (mm_pg_allocated(pg, mm_pg_index(pg, (void *)b))) {
            used++;
            continue;
        }
        *(uint64_t *)b = pg->free ^ mm_pg_mix(pg, b);
        pg->free = b;
        pg->free_i = k;
    }
    pg->used = used;
    pg->rebuild = 0;
}

/* Blocks of pg allocated by its bits (read as they are: another thread's
 * page changes meanwhile). */
static uint32_t bits_set(const struct mm_page *pg)
{
    uint32_t n = 0, words = (pg->cap + 63) / 64;
    for (unsigned w = 0; w < words; w++)
        n += (uint32_t)__builtin_popcountll(__atomic_load_n(&pg->bits[w], __ATOMIC_RELAXED));
    return n;
}

/* ---- pages from the chain, and back */

static bool has_room(const struct mm_page *pg)
{
    return pg->free || pg->fresh < pg->cap || remote_any(pg);
}

/* An empty page that no thread owns to the idle list of its class (lock
 * held). */
static void idle_put(struct mm_page *pg)
{
    pg->owner = NULL;
    pg->empty_ms = mm_os_coarse_ms();
    push_page(&idle[pg->cls], pg, MM_PG_LEFT);
}

static void tidy_left(bool all);
static void idle_expire(bool all);

/* Whether every block that full page pg has out waits on its remote list,
 * freed by other threads: its owner holds no block of it, and gets none
 * back from it until it refills that class, which a thread that stopped
 * allocating never does. The list is read as it is (links checked; one
 * that leads outside the page, or more blocks than are out, says no: the
 * owner's collect names it). Under the owner's full lock. */
static bool all_freed(const struct mm_page *pg)
{
    uint32_t n = 0;
    if (pg->free)
        return false;
    for (unsigned k = 0; k < MM_PG_LANES; k++) {
        uintptr_t r = __atomic_load_n(&pg->remote[k], __ATOMIC_ACQUIRE);
        while (r && n <= pg->used) {
            if (mm_pg_index(pg, (const void *)r) < 0)
                return false;
            n++;
            r = *(const uint64_t *)r ^ mm_pg_mix(pg, r);
        }
        if (r)
            return false;
    }
    return n && n == pg->used;
}

/* A full page of class cls of another thread's whose blocks were all
 * freed by others, taken over by th with its blocks (lock held: no heap
 * ends meanwhile). A main thread that builds the data its workers free,
 * then only waits for them, would otherwise hold those pages, all free,
 * for as long as it lives. */
static struct mm_page *take_full(struct mm_theap *th, unsigned cls)
{
    for (struct mm_theap *o = heaps; o; o = o->next) {
        if (o == th || !__atomic_load_n(&o->full[cls], __ATOMIC_RELAXED) || !full_trylock(o))
            continue;
        struct mm_page *pg = o->full[cls];
        while (pg && !all_freed(pg))
            pg = pg->next;
        if (pg) {
            unlink_page(&o->full[cls], pg);
            __atomic_store_n(&pg->owner, th, __ATOMIC_RELEASE);
        }
        full_unlock(o);
        if (pg) {
            collect(pg);
            return pg;
        }
    }
    return NULL;
}

/* A page of class cls for th: an empty one of th's, one left by an ended
 * thread with room, another thread's that others freed all of, an idle
 * one, or a new one from the chain (not these two for a young thread).
 * NULL: none, no memory, or re-entered. */
static struct mm_page *page_new(struct mm_theap *th, unsigned cls, bool young)
{
    size_t bytes = page_bytes(cls);
    /* (as it is: its free list holds the blocks its class touched) */
    for (struct mm_page *pg = th->empty; pg; pg = pg->next)
        if (pg->cls == cls) {
            unlink_page(&th->empty, pg);
            th->nempty--;
            mm_os_signal_point();   /* fail_signal: on no list, not yet cur */
            return pg;
        }
    if (!mm_lock())
        return NULL;
    struct mm_page *pg;
    for (pg = left[cls]; pg; pg = pg->next)
        if (has_room(pg))
            break;
    if (pg) {
        unlink_page(&left[cls], pg);
        if (pg->rebuild)
            rebuild(pg);
        collect(pg);
    } else if ((pg = take_full(th, cls)) != NULL || young) {
        /* (a young thread's block comes from the chain if no page waits) */
    } else if ((pg = idle[cls]) != NULL) {
        unlink_page(&idle[cls], pg);
    } else if ((pg = record_new()) != NULL) {
        inside = true;
        mm_chunk *c = mm_heap_memalign_chunk(bytes, (size_t)1 << MM_PG_GRAIN, "malloc");
        inside = false;
        if (c) {
            pg->chunk = c;
            pg->bytes = bytes;
            format(pg, cls);
            if (!map_set((uintptr_t)c, bytes, pg)) {
                map_set((uintptr_t)c, bytes, NULL);
                mm_heap_free(c, "malloc");
                c = NULL;
            } else {
                DL_PUSH(all_pages, pg, all_next, all_prev);
            }
        }
        if (!c) {
            record_free(pg);
            pg = NULL;
        }
    }
    if (pg) {
        pg->next = pg->prev = NULL;
        __atomic_store_n(&pg->owner, th, __ATOMIC_RELEASE);
    }
    /* the idle pages that no thread took for a second go back */
    idle_expire(false);
    mm_unlock();
    return pg;
}

/* th's empty pages and cur pages that stayed empty since before `since`
 * back to the chain (lock held, th claimed). */
MM_HOT static void drop_empty(struct mm_theap *th, uint64_t since)
{
    for (struct mm_page *pg = th->empty, *next; pg; pg = next) {
        next = pg->next;
        if (pg->empty_ms <= since) {
            unlink_page(&th->empty, pg);
            th->nempty--;
            give_back(pg);
        }
    }
    for (unsigned c = 0; c < MM_PG_NCLS; c++) {
        struct mm_page *pg = th->cur[c];
        if (pg != &none && !pg->used && !remote_any(pg) &&
            pg->empty_ms <= since) {
            th->cur[c] = &none;
            give_back(pg);
        }
    }
}

static void sweep(struct mm_theap *th)
{
    uint64_t now = mm_os_coarse_ms();
    if (now - th->sweep_ms < SWEEP_MS)
        return;
    th->sweep_ms = now;
    if (!mm_lock())
        return;
    drop_empty(th, now - SWEEP_MS);
    tidy_left(false);
    mm_unlock();
}

/* ---- the slow paths */

/* th's full pages of class cls that other threads freed blocks into
 * since it last looked (their frees leave a hint) move to avail. */
static void take_hinted(struct mm_theap *th, unsigned cls)
{
    if (!__atomic_load_n(&th->remote_hint[cls], __ATOMIC_RELAXED))
        return;
    __atomic_store_n(&th->remote_hint[cls], 0, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);    /* a free after this leaves the hint again */
    full_lock(th);
    for (struct mm_page *pg = th->full[cls], *next; pg; pg = next) {
        next = pg->next;
        if (remote_any(pg)) {
            unlink_page(&th->full[cls], pg);
            push_page(&th->avail[cls], pg, MM_PG_AVAIL);
        }
    }
    full_unlock(th);
}

/* One of th's other pages of class cls that holds freed blocks (its own
 * or other threads'), off its list; NULL: none among the first few. */
MM_HOT static struct mm_page *take_freed(struct mm_theap *th, unsigned cls)
{
    take_hinted(th, cls);
    unsigned n = 0;
    for (struct mm_page *pg = th->avail[cls]; pg && n < 8; pg = pg->next, n++)
        if (pg->free || remote_any(pg)) {
            unlink_page(&th->avail[cls], pg);
            return pg;
        }
    return NULL;
}

/* A block above BORROW_ABOVE bytes whose class has no free block may
 * take one from the free list of the next BORROW_CLASSES classes' cur
 * pages (a freed block, or one laid out in a page of memory touched
 * already: extend), at most 43% bigger, rather than fresh memory: each
 * class of these sizes holds a few blocks, and would keep resident the
 * most it ever held at once; borrowing shares that headroom among
 * neighbours (`two_threads`: see README, "Against the targets"). */
#define BORROW_ABOVE 1024
#define BORROW_CLASSES 2

/* A free block of one of the classes just above cls whose size align
 * divides (their blocks lie at multiples of it), or NULL. */
static void *borrow(struct mm_theap *th, unsigned cls, size_t align)
{
    if (mm_pg_class_size(cls) <= BORROW_ABOVE)
        return NULL;
    for (unsigned c = cls + 1; c <= cls + BORROW_CLASSES && c < MM_PG_NCLS; c++)
        if (th->cur[c]->free && mm_pg_class_size(c) % align == 0)
            return mm_pg_pop(th->cur[c]);
    return NULL;
}

/* A block of class cls, th claimed: from cur, after taking back its remote
 * frees; else from another page that holds freed blocks; else a free block
 * of a class just above (borrow); else fresh from cur, or from another
 * page with room (one of avail, one of full that got frees since), else a
 * new page (NULL while th is young, YOUNG_BLOCKS: the chain serves it).
 * Freed blocks come before fresh ones, so that the memory the program
 * touched already serves first (a block freed by another thread waits in
 * its page's remote list until the owner comes for it). */
MM_HOT static void *refill(struct mm_theap *th, unsigned cls, size_t align)
{
    struct mm_page *pg = th->cur[cls];
    if (pg->free)
        return mm_pg_pop(pg);
    sweep(th);
    pg = th->cur[cls];                 /* the sweep may have given it back */
    for (;;) {
        struct mm_page *next;
        if (pg != &none) {
            collect(pg);
            if (pg->free)
                return mm_pg_pop(pg);
        }
        next = take_freed(th, cls);
        void *b;
        if (!next && (b = borrow(th, cls, align)) != NULL)
            return b;
        if (pg != &none) {
            if (!next && pg->fresh < pg->cap) {
                extend(pg);
                return mm_pg_pop(pg);
            }
            if (pg->fresh < pg->cap) {
                push_page(&th->avail[cls], pg, MM_PG_AVAIL);
            } else {
                full_lock(th);
                push_page(&th->full[cls], pg, MM_PG_FULL);
                full_unlock(th);
            }
        }
        if (!next && (next = th->avail[cls]) != NULL) {
            unlink_page(&th->avail[cls], next);         /* fresh blocks only */
        } else if (!next) {
            full_lock(th);
            for (next = th->full[cls]; next; next = next->next)
                if (next->free || remote_any(next))
                    break;
            if (next)
                unlink_page(&th->full[cls], next);
            full_unlock(th);
            if (!next) {
                bool young = mm_pg_class_size(cls) > YOUNG_SIZE && th->young < YOUNG_BLOCKS;
                if (!(next = page_new(th, cls, young))) {
                    th->young += young;     /* the chain serves it */
                    th->cur[cls] = &none;
                    return NULL;
                }
            }
        }
        pg = next;
        pg->where = MM_PG_CUR;
        th->cur[cls] = pg;
    }
}

MM_HOT void mm_pages_tick(void)
{
    struct mm_theap *th = claim();
    if (th) {
        sweep(th);
        unclaim(th);
    }
}

/* A page of th's (th claimed), off its list, to avail, or to the empty
 * ones when it ran empty. */
static void place(struct mm_theap *th, struct mm_page *pg)
{
    if (pg->used) {
        push_page(&th->avail[pg->cls], pg, MM_PG_AVAIL);
    } else {
        pg->empty_ms = mm_os_coarse_ms();
        if (th->nempty < KEEP_EMPTY) {
            push_page(&th->empty, pg, MM_PG_EMPTY);
            th->nempty++;
        } else if (mm_lock()) {
            give_back(pg);
            mm_unlock();
        } else {
            push_page(&th->avail[pg->cls], pg, MM_PG_AVAIL);   /* re-entered: later */
        }
    }
}

/* A page of th's (th claimed) that is not cur and ran empty, to its list
 * (never a full one: a full page has every block out). */
static void moved(struct mm_theap *th, struct mm_page *pg)
{
    if (pg->used || pg->where == MM_PG_CUR)
        return;
    unlink_page(list_of(th, pg), pg);
    place(th, pg);
}

/* p, a block of th's page pg (th claimed), freed by th: a page that is not
 * cur moves when it ran empty or was full. A full page takes the block
 * under th's full lock, so that a thread that looks for a page whose
 * every block was freed by others (take_full) never sees it half-way. */
static void put_own(struct mm_theap *th, struct mm_page *pg, void *p, const char *fn)
{
    if (pg->where == MM_PG_FULL) {
        full_lock(th);
        if (__atomic_load_n(&pg->owner, __ATOMIC_RELAXED) != th) {
            /* taken while this waited: then every block it had out was
             * on its remote list, p too, and this is a second free */
            full_unlock(th);
            mm_pages_free_remote(pg, p, fn);
            return;
        }
        mm_pg_put(pg, p, fn);
        unlink_page(&th->full[pg->cls], pg);
        full_unlock(th);
        place(th, pg);
    } else if (mm_pg_put(pg, p, fn) == 0) {
        moved(th, pg);
    }
}

MM_HOT void mm_pages_moved(struct mm_page *pg)
{
    if (pg->owner != mm_th)
        return;                  /* a signal handler's free: the page moves later */
    struct mm_theap *th = claim();
    moved(th, pg);
    unclaim(th);
}

void mm_pages_free_full(struct mm_page *pg, void *p, const char *fn)
{
    struct mm_theap *th = pg->owner == mm_th ? claim() : NULL;
    if (!th) {
        mm_pages_free_remote(pg, p, fn);  /* a signal handler came in: taken back later */
        return;
    }
    put_own(th, pg, p, fn);
    unclaim(th);
}

/* p, a block of pg, freed by a thread other than its owner: onto the
 * page's remote list. */
/* The lane of this thread's next free into another thread's page. */
static __thread unsigned lane MM_TLS;

MM_HOT void mm_pages_free_remote(struct mm_page *pg, void *p, const char *fn)
{
    mm_prefetch_write(p);            /* its first word: read below, then written */
    if (mm_pg_index(pg, p) < 0)
        mm_pages_bad_free(pg, p, fn);
    /* The bit is not read here: the owner writes the bits' cache line at
     * every malloc, and a read from this core would take it away from the
     * owner's each time. A free block is told by its first word instead,
     * which holds a link of the page, where malloc left a block it hands
     * out none (whatever a program writes there decodes to one by a chance
     * of one in 2^52 or less): a block on the owner's free list, or one
     * that waits on a remote list, its bit still set until the owner takes
     * it back. So a second free from another thread is named here, before
     * the owner ever looks. What the first word cannot tell (a free block
     * whose link the program wrote over, a block never handed out) the
     * owner names when it takes the list back: collect checks every bit
     * before any block of the list is handed out again. */
    uintptr_t mix = mm_pg_mix(pg, (uintptr_t)p);
    if (MM_UNLIKELY(mm_pg_link_ok(pg, *(const uint64_t *)p ^ mix)))
        mm_pages_bad_free(pg, p, fn);
    uintptr_t *list = &pg->remote[lane++ % MM_PG_LANES];
    uintptr_t old = __atomic_load_n(list, __ATOMIC_RELAXED);
    do
        *(uint64_t *)p = old ^ mix;
    while (!__atomic_compare_exchange_n(list, &old, (uintptr_t)p, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    /* a full page's owner does not look at it until told (read as they
     * are: the owner changes them without a lock) */
    struct mm_theap *o = __atomic_load_n(&pg->owner, __ATOMIC_RELAXED);
    unsigned cls = pg->cls;
    if (o && __atomic_load_n(&pg->where, __ATOMIC_RELAXED) == MM_PG_FULL &&
        !__atomic_load_n(&o->remote_hint[cls], __ATOMIC_RELAXED))
        __atomic_store_n(&o->remote_hint[cls], 1, __ATOMIC_RELAXED);
}

/* ---- thread heaps */

MM_HOT static void leave_pages(struct mm_page *pg)
{
    while (pg) {
        struct mm_page *next = pg->next;
        if (pg != &none) {
            collect(pg);
            if (!pg->used) {
                idle_put(pg);
            } else {
                pg->owner = NULL;
                push_page(&left[pg->cls], pg, MM_PG_LEFT);
            }
        }
        pg = next;
    }
}

/* Everything th holds to the chain or the left lists (lock held). */
static void abandon(struct mm_theap *th)
{
    for (unsigned c = 0; c < MM_PG_NCLS; c++) {
        struct mm_page *cur = th->cur[c];
        th->cur[c] = &none;
        if (cur != &none) {
            cur->next = NULL;
            leave_pages(cur);
        }
        leave_pages(th->avail[c]);
        leave_pages(th->full[c]);
        th->avail[c] = th->full[c] = NULL;
    }
    leave_pages(th->empty);
    th->empty = NULL;
    th->nempty = 0;
    DL_UNLINK(heaps, th, next, prev);
    th->next = spare_heaps;
    spare_heaps = th;
}

MM_HOT static void thread_end(void *arg)
{
    struct mm_theap *th = arg;
    mm_th = &mm_th_none;
    own = NULL;
    gone = true;
    if (!mm_lock())
        return;
    abandon(th);
    /* the pages left before, which other threads' frees may have emptied
     * since: idle now, not when a thread adopts them; and the idle pages
     * that no thread took for a second go back */
    tidy_left(false);
    mm_unlock();
}

MM_HOT void mm_pages_start(void)
{
    key_ok = pthread_key_create(&key, thread_end) == 0;
    mm_pages_on = key_ok;
}

MM_HOT static struct mm_theap *make_heap(void)
{
    if (!mm_lock())
        return NULL;
    struct mm_theap *th = spare_heaps;
    if (th) {
        spare_heaps = th->next;
    } else if ((th = mm_os_map_own(mm_page_round(sizeof *th))) == NULL) {
        mm_unlock();
        return NULL;
    }
    memset(th, 0, sizeof *th);
    for (unsigned c = 0; c < MM_PG_NCLS; c++)
        th->cur[c] = &none;
    th->sweep_ms = mm_os_coarse_ms();
    DL_PUSH(heaps, th, next, prev);
    mm_unlock();
    own = th;
    pthread_setspecific(key, th);   /* so that thread_end gets it */
    return th;
}

/* n bytes, n a class size that align divides (so that its blocks are
 * aligned to it); borrow keeps to classes align divides too. */
MM_HOT static void *malloc_nofast(size_t n, size_t align)
{
    if (!mm_pages_on || mm_pages_held || n > MM_PG_MAX)
        return NULL;
    struct mm_theap *th = mm_th;
    if (th == &mm_th_none) {
        if (own || gone)
            return NULL;         /* claimed by the call a signal interrupted, or ending */
        if (!(th = make_heap()))
            return NULL;
    }
    mm_th = th;
    th = claim();
    void *r = refill(th, mm_pg_class(n), align);
    unclaim(th);
    return r;
}

MM_HOT void *mm_pages_malloc_nofast(size_t n)
{
    return malloc_nofast(n, MM_ALIGN);
}

MM_HOT void *mm_pages_memalign(size_t n, size_t align)
{
    if (align > ((size_t)1 << MM_PG_GRAIN) || n > MM_PG_MAX || mm_pages_held)
        return NULL;
    /* the smallest class that holds n and is a multiple of align: its
     * blocks lie at multiples of their size from a 4 KiB boundary */
    unsigned cls = mm_pg_class(n < align ? align : n);
    while (cls < MM_PG_NCLS && mm_pg_class_size(cls) % align)
        cls++;
    if (cls == MM_PG_NCLS)
        return NULL;
    size_t size = mm_pg_class_size(cls);
    void *p = mm_pages_malloc(size);
    return p ? p : malloc_nofast(size, align);
}

/* ---- the toolkit's way (mm_pages_held) */

void *mm_pages_take(size_t n)
{
    if (!mm_pages_on || n > MM_PG_MAX || gone || (!own && !make_heap()))
        return NULL;
    struct mm_theap *th = claim_own();
    if (!th)
        return NULL;
    unsigned cls = mm_pg_class(n);
    void *r = refill(th, cls, MM_ALIGN);
    unclaim_own(th);
    return r;
}

void mm_pages_give(struct mm_page *pg, void *p, const char *fn)
{
    struct mm_theap *th = pg->owner == own ? claim_own() : NULL;
    if (!th) {
        mm_pages_free_remote(pg, p, fn);  /* (a signal handler's free on the owner: taken back later) */
        return;
    }
    put_own(th, pg, p, fn);
    unclaim_own(th);
}

/* ---- what the rest of the allocator asks */

bool mm_pages_fill(const mm_chunk *c, size_t *live)
{
    struct mm_page *pg = mm_pages_on ? mm_page_of(mm_mem(c)) : NULL;
    if (!pg || pg->chunk != c)
        return false;
    *live = (size_t)bits_set(pg) * pg->size;
    return true;
}

MM_HOT size_t mm_pages_usable(const void *p, const char *fn)
{
    struct mm_page *pg = mm_page_of(p);
    if (!pg)
        return 0;
    if (!mm_pg_allocated(pg, mm_pg_index(pg, p)))
        mm_pages_bad_free(pg, p, fn);
    return pg->size;
}

static void count_page(const struct mm_page *pg, struct mm_summary *s)
{
    size_t live = bits_set(pg);
    s->live_blocks += live;
    s->live_bytes += live * pg->size;
    s->live_blocks--;                        /* the page's chunk, counted by the walk */
    s->live_bytes -= mm_usable(pg->chunk);
    s->cached_blocks += pg->fresh - live;
    s->cached_bytes += (pg->fresh - live) * pg->size;
}

/* Left pages: their remote frees taken back, the emptied ones idle; then
 * the idle pages that no thread took for a second go back (all of them:
 * every idle page). Lock held: the lock holder stands in for their owner. */
MM_HOT static void tidy_left(bool all)
{
    bool was = inside;
    inside = true;
    for (unsigned c = 0; c < MM_PG_NCLS; c++)
        for (struct mm_page *pg = left[c], *next; pg; pg = next) {
            next = pg->next;
            if (pg->rebuild)
                rebuild(pg);
            collect(pg);
            if (!pg->used) {
                unlink_page(&left[c], pg);
                idle_put(pg);
            }
        }
    inside = was;
    idle_expire(all);
}

/* Idle pages empty for a second (all: every one) back to the chain (lock
 * held). The idle lists are walked at most every SWEEP_MS / 8, unless all,
 * so that threads that end or take pages by the thousand do not each walk
 * every page the others left. */
MM_HOT static void idle_expire(bool all)
{
    static uint64_t walked_ms;
    uint64_t now = mm_os_coarse_ms(), before = all ? UINT64_MAX : now - SWEEP_MS;
    if (!all && now - walked_ms < SWEEP_MS / 8)
        return;
    walked_ms = now;
    bool gave = false;
    for (unsigned c = 0; c < MM_PG_NCLS; c++)
        for (struct mm_page *pg = idle[c], *next; pg; pg = next) {
            next = pg->next;
            if (pg->empty_ms <= before) {
                unlink_page(&idle[c], pg);
                give_back(pg);
                gave = true;
            }
        }
    /* Pages that no thread took for a second: the threads that used them
     * are gone, and their memory goes back to the system now, as
     * malloc_trim would give it (the purge's rule, made for a heap that
     * breathes, may keep megabytes of it). */
    if (gave && !all)
        mm_heap_trim(mm_heap.top_pad);
}

void mm_pages_summarize(struct mm_summary *s)
{
    if (mm_pages_on && !inside)
        tidy_left(false);
    mm_summarize(s);
    for (struct mm_page *pg = all_pages; pg; pg = pg->all_next)
        count_page(pg, s);
}

MM_HOT void mm_pages_flush(void)
{
    if (!mm_pages_on || inside)
        return;
    tidy_left(true);
    /* this thread's empty pages, unless a call of its own is working on them */
    struct mm_theap *th = claim_own();
    if (th) {
        inside = true;
        drop_empty(th, UINT64_MAX);
        inside = false;
        unclaim_own(th);
    }
}

/* The child of fork has one thread: the other heaps are gone, and their
 * lists may have been half-way through a change. Their pages are found in
 * the list of every page instead, and left, to be rebuilt from their bits
 * when adopted (their owners may have been stopped in the middle of a
 * call). Their empty pages are laid out again instead: no block of one is
 * in use. Not given back to the chain here: the heap may be half-way
 * through a change too (a fork from a signal handler). Lock held. */
MM_HOT void mm_pages_after_fork_child(void)
{
    for (unsigned c = 0; c < MM_PG_NCLS; c++)
        left[c] = idle[c] = NULL;
    for (struct mm_page *pg = all_pages; pg; pg = pg->all_next) {
        if (own && pg->owner == own)
            continue;
        pg->owner = NULL;
        if (pg->where == MM_PG_EMPTY)
            format(pg, pg->cls);
        else
            pg->rebuild = 1;
        push_page(&left[pg->cls], pg, MM_PG_LEFT);
    }
    struct mm_theap *th = heaps;
    heaps = own;
    if (own) {
        own->next = own->prev = NULL;
        own->full_busy = 0;
    }
    for (struct mm_theap *next; th; th = next) {
        next = th->next;
        if (th == own)
            continue;
        th->next = spare_heaps;
        spare_heaps = th;
    }
}

/* ---- the checker's part */

static int check_page(const struct mm_page *pg, bool mine, void (*complain)(const char *, const void *))
{
    int bad = 0;
    if (mm_page_of((void *)pg->start) != pg && pg->where != MM_PG_NONE) {
        complain("page not in the page map", (void *)pg->start);
        bad++;
    }
    if (!mm_head_ok(pg->chunk) || !mm_inuse(pg->chunk) || mm_size(pg->chunk) < pg->bytes) {
        complain("page whose chunk is not in use", (void *)pg->start);
        bad++;
    }
    if (!mine || pg->rebuild)
        return bad;
    uint32_t live = bits_set(pg), listed = 0;
    for (uintptr_t b = pg->free; b && listed <= pg->cap; listed++) {
        long i = mm_pg_index(pg, (void *)b);
        if (i < 0 || (uint32_t)i >= pg->fresh || mm_pg_allocated(pg, mm_pg_index(pg, (void *)b))) {
            complain("free list of a page holds a block that is not free", (void *)b);
            return bad + 1;
        }
        b = *(uint64_t *)b ^ mm_pg_mix(pg, b);
    }
    if (live != pg->used || live + listed != pg->fresh) {
        complain("page counts disagree with its bits and free list", (void *)pg->start);
        bad++;
    }
    return bad;
}

/* Every page is in the page map and its chunk in use; this thread's own
 * pages (unless a call of its own is working on them) and the left ones
 * also agree with their bits. Other threads' pages change without the
 * lock: only what does not change is checked. */
int mm_pages_check(void (*complain)(const char *what, const void *where))
{
    int bad = 0;
    bool mine = own && mm_th == own;
    for (struct mm_page *pg = all_pages; pg; pg = pg->all_next)
        bad += check_page(pg, (mine && pg->owner == own) || pg->where == MM_PG_LEFT, complain);
    return bad;
}

/* ---- reports */

void mm_pages_bad_free(struct mm_page *pg, const void *p, const char *fn)
{
    if ((uintptr_t)p % MM_ALIGN)
        mm_die(fn, "invalid pointer %p: not %u-byte aligned, so not from malloc", p, MM_ALIGN);
    long i = mm_pg_index(pg, p);
    if (i < 0)
        mm_die(fn, "invalid pointer %p: not the start of a block (or its header was overwritten)", p);
    if ((uint32_t)i >= pg->fresh)
        mm_die(fn, "invalid pointer %p: a %u-byte block malloc never handed out", p, pg->size);
    mm_die(fn, "%s %p (%u-byte block)", strcmp(fn, "free") == 0 ? "double free of" : "freed pointer", p,
           pg->size);
}

void mm_pages_bad_link(struct mm_page *pg, uintptr_t b)
{
    mm_die("malloc", "the free %u-byte block %p was written after it was freed (use after free, "
                     "or a second free after a write)", pg->size, (void *)b);
}

void mm_pages_bad_head(struct mm_page *pg, uintptr_t b)
{
    mm_die("malloc", "the free list of the %u-byte blocks leads to %p, which is %s (a link in a freed "
                     "block was forged)", pg->size, (void *)b,
           mm_pg_index(pg, (void *)b) < 0 ? "outside their page" : "a block in use");
}

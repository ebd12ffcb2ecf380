/* front.h -- the allocation API under internal names: glibc's semantics,
 * the gate every call goes through, the one lookup of a user pointer, and
 * the plain paths of malloc, free, realloc and memalign. Above pages/,
 * cache/, heap/ and base/; the debugging toolkit (debug/) and api.c build
 * on it.
 *
 *   gate.c     the first call; enter and leave; what a call gets when its
 *              thread is inside the allocator already (a signal handler)
 *   reserve.c  the slots those calls are served from
 *   lookup.c   every pointer handed back checked before it is trusted;
 *              malloc_usable_size, malloc_trim
 *   malloc.c   malloc, calloc, memalign and the block-size arithmetic
 *   free.c     free
 *   realloc.c  realloc: in place, else move
 */
#ifndef MM_FRONT_H
#define MM_FRONT_H

#include "../cache/cache.h"
#include "../pages/pages.h"

/* ---- gate.c ---- */
extern bool mm_ready;            /* read and written with __atomic builtins */
/* The first call, from any thread, sets up what every call needs. */
void mm_front_init(void);
/* Takes the lock; false when this thread holds it already (a signal
 * handler interrupted the allocator): then the caller does not touch the
 * heap, and answers with the mm_reentered_ function of its kind. */
static inline bool mm_enter(void)
{
    if (MM_UNLIKELY(!__atomic_load_n(&mm_ready, __ATOMIC_ACQUIRE)))
        mm_front_init();
    return mm_lock();
}
/* Frees what re-entrant calls deferred, and lets the lock go. */
void mm_leave(void);
/* Called every MM_TICK allocations or so: what has stayed free a while
 * goes back (the pages' empty ones to the chain, the chain's to the
 * system), even when the program only churns blocks it already has. */
void mm_front_tick(void);
/* The answers, one for each kind of call. An allocation comes from the
 * reserve; a free is checked as far as it can be without the heap, and
 * done at the next mm_leave; a realloc moves the block into the reserve;
 * malloc_usable_size reads the header it can check; an administrative
 * call (trim, options, a heap check) is refused: the caller returns its
 * "nothing done". */
void *mm_reentered_alloc(size_t n, size_t align, const char *fn);
void mm_reentered_free(void *p, const char *fn);
void *mm_reentered_realloc(void *p, size_t n);
size_t mm_reentered_usable(const void *p);
/* Sets errno to ENOMEM and returns NULL. */
void *mm_enomem(void);

/* ---- reserve.c ---- */
void *mm_reserve_alloc(size_t n, size_t align, const char *fn);
bool mm_reserve_owns(const void *p);
void mm_reserve_free(void *p, const char *fn);
size_t mm_reserve_usable(const void *p);
void mm_reserve_defer(void *p);       /* a heap block, freed at the next mm_leave */
void *mm_reserve_deferred(void);      /* takes the list of deferred blocks (next: first word) */
extern _Atomic size_t mm_reentered;   /* calls served apart */

/* ---- lookup.c ---- */
/* The in-use chunk behind user pointer p (a heap chunk or a mapped one),
 * or a one-line report naming fn and the problem, and abort. With
 * MM_LOOKUP_QUARANTINED, a chunk check=1 holds in its quarantine is
 * returned too (the toolkit reports it with its stacks). Lock held; p is
 * not the reserve's. */
enum { MM_LOOKUP_QUARANTINED = 1 };
mm_chunk *mm_lookup(const void *p, const char *fn, unsigned flags);
/* Its lockless subset, for the toolkit's free of a chunk of the chain: the
 * size of p's chunk when free may give it to the thread cache without the
 * lock, or 0. p is in the
 * newest segment (usually the only one), aligned, its header intact, in
 * use, not mapped or quarantined, no bit of too_big set in its size (one
 * mask); the next chunk's header lies inside the segment (a stale header's
 * size may reach past its end, where the break may have gone down), is
 * intact and says its previous chunk is in use (an 8-byte overflow onto it
 * is caught here, at free); it is not in a cache already. When any of this
 * fails the locked path runs mm_lookup, which reports. */
static inline size_t mm_cacheable_size(const void *p, uint64_t too_big)
{
    uintptr_t lo = mm_ro.lo, hi = mm_ro.hi;
    if (MM_UNLIKELY((uintptr_t)p % MM_ALIGN || (uintptr_t)p < lo || (uintptr_t)p >= hi))
        return 0;
    mm_chunk *c = mm_chunk_of_mem(p), *next;
    uint64_t h = c->head;
    bool ok = (h & (too_big | MM_INUSE | MM_MMAPPED | MM_QUARANTINED)) == MM_INUSE && mm_chead_ok(c) &&
              (h & MM_SIZE) < hi - (uintptr_t)c && ((next = mm_next(c))->head & MM_PINUSE) &&
              mm_chead_ok(next) && !mm_is_cached(c);
    return ok ? h & MM_SIZE : 0;
}
size_t mm_usable_size(const void *p);
int mm_trim(size_t pad);

/* ---- malloc.c ---- */
/* n bytes asked for, with `extra` bytes of the caller's after them, at an
 * alignment of align, can be a block: false when no size computation
 * could hold them (the caller returns ENOMEM). Every entry checks here. */
static inline bool mm_fits(size_t n, size_t align, size_t extra)
{
    return n <= MM_MAX_REQUEST - extra - (align > MM_ALIGN ? align : 0);
}
/* calloc's n * m, checked; false on overflow. */
static inline bool mm_calloc_size(size_t n, size_t m, size_t *total)
{
    return !__builtin_mul_overflow(n, m, total) && mm_fits(*total, MM_ALIGN, 0);
}
/* memalign's alignment as glibc takes it (rounded up to a power of two);
 * 0 with errno EINVAL or ENOMEM when there is none for n bytes. */
size_t mm_memalign_align(size_t align, size_t n);

/* The fast path: a block from this thread's pages, no lock; NULL when it
 * has none (the caller goes on to the slow path). */
static inline __attribute__((always_inline)) void *mm_malloc_fast(size_t n)
{
    return mm_pages_malloc(n);
}
void *mm_malloc_slow(size_t n);
static inline void *mm_malloc(size_t n)
{
    void *p = mm_malloc_fast(n);
    return MM_LIKELY(p != NULL) ? p : mm_malloc_slow(n);
}
void *mm_calloc(size_t total);                       /* checked by mm_calloc_size */
/* n bytes aligned to align (a power of two, 16 or more), from the thread
 * cache, the heap or a mapping of their own; NULL with ENOMEM. Lock not
 * held. Every allocation comes down to this. */
void *mm_alloc_plain(size_t n, size_t align, const char *fn);
/* The same, never from the pages: a block of the chain or a mapping, which
 * free's fast path leaves to the slow one (the toolkit's sampled blocks). */
void *mm_alloc_chain(size_t n, size_t align, const char *fn);
/* Its parts, for the toolkit, which keeps the lock across an allocation:
 * the chunk size for n, whether that needs a mapping of its own
 * (mm_alloc_big, lock not held), and the allocation from a cache or the
 * heap (lock held). */
size_t mm_plain_size(size_t n, size_t align);
bool mm_plain_is_big(size_t nb, size_t align);
void *mm_alloc_big(size_t n, size_t align, const char *fn);
mm_chunk *mm_alloc_locked(size_t nb, size_t align, const char *fn);

/* ---- free.c ---- */
/* The fast path: a block of a page back to it (its owner's list, or its
 * remote list), no lock; false when p is not in a page (the caller goes on
 * to the slow path). */
static inline __attribute__((always_inline)) bool mm_free_fast(void *p)
{
    return mm_pages_free(p, "free");
}
/* The rest: p is not a page's block (mm_free_fast said so). */
void mm_free_slow(void *p);
static inline void mm_free(void *p)
{
    if (MM_UNLIKELY(!mm_free_fast(p)))
        mm_free_slow(p);
}
/* Frees a chunk mm_lookup returned the usual way (cache, heap or unmap).
 * Lock held. */
void mm_free_plain(mm_chunk *c, const char *fn);

/* ---- realloc.c ---- */
void *mm_realloc(void *p, size_t n);
/* The first part of every realloc, plain or not: the chunk c (lock held)
 * resized in place to hold n bytes and `extra` after them, if the heap
 * can (shrinking, growing into a free neighbour or into top; a mapping
 * with mremap, which may move it: the result says where it is now).
 * NULL: the caller moves it. */
void *mm_resize_in_place(mm_chunk *c, size_t n, size_t extra);
/* The second part: allocate n bytes with alloc, copy the first `keep`
 * bytes of p there, free p with release. NULL (p untouched) when alloc
 * fails. */
void *mm_move(void *p, size_t keep, size_t n, void *(*alloc)(size_t), void (*release)(void *));

#endif

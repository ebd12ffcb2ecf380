/* alloc.c -- the allocation API under internal names: argument checks,
 * errno, overflow, glibc's semantics; the work is done in cache.c, heap.c
 * and big.c.
 *
 * malloc and free first try this thread's cache without the lock. The rest
 * takes the lock through enter(); when enter() says the thread already
 * holds it (a signal handler interrupted the allocator), the call is served
 * from the reserve instead (reserve.c). When a debugging option is on
 * (mm_debug), the caches are not used by the fast paths, and every call
 * goes through debug.c, which adds its records around the plain paths;
 * without stats or trace (mm_debug_light), malloc takes blocks from the
 * caches without the lock, and with leaks=1 alone free goes the plain way,
 * through the slow path's use of the cache. */
#include "mm.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

/* Takes the lock; false when this thread holds it already. */
static inline bool enter(void)
{
    if (MM_UNLIKELY(!atomic_load_explicit(&mm_ready, memory_order_acquire)))
        mm_init();
    return mm_lock();
}

void mm_set_enomem(void)
{
    errno = ENOMEM;
}

static void *enomem(void)
{
    errno = ENOMEM;
    return NULL;
}

/* n bytes aligned to align, big enough for their own mapping; from the heap
 * if mmap fails. Lock not held. */
void *mm_alloc_big(size_t n, size_t align, const char *fn)
{
    void *p = mm_big_alloc(n, align);
    if (p || !mm_lock())
        return p ? p : enomem();
    size_t nb = mm_request_size(n);
    mm_chunk *c = align > MM_ALIGN ? mm_heap_memalign(nb, align, fn) : mm_heap_alloc(nb, fn);
    mm_unlock();
    return c ? mm_mem(c) : enomem();
}

mm_chunk *mm_alloc_locked(size_t nb, size_t align, const char *fn)
{
    if (align > MM_ALIGN)
        return mm_heap_memalign(nb, align, fn);
    mm_chunk *c = NULL;
    if (nb <= MM_TC_MAX && ((c = mm_cache_take(nb)) || (c = mm_cache_refill(nb, fn))))
        return c;
    return mm_heap_alloc(nb, fn);
}

size_t mm_plain_size(size_t n, size_t align)
{
    return align > MM_ALIGN ? mm_request_size(n) : mm_tc_round(mm_request_size(n));
}

bool mm_plain_is_big(size_t nb, size_t align)
{
    return nb + (align > MM_ALIGN ? align : 0) >= mm_opt.mmap_threshold;
}

void *mm_alloc_plain(size_t n, size_t align, const char *fn)
{
    size_t nb = mm_plain_size(n, align);
    if (MM_UNLIKELY(!enter()))
        return mm_reserve_alloc(n, align, fn);
    if (MM_UNLIKELY(mm_plain_is_big(nb, align))) {
        mm_unlock();
        return mm_alloc_big(n, align, fn);
    }
    mm_chunk *c = mm_alloc_locked(nb, align, fn);
    mm_unlock();
    return c ? mm_mem(c) : enomem();
}

void mm_free_plain(mm_chunk *c, const char *fn)
{
    if (c->head & MM_MMAPPED)
        mm_big_free(c);
    else if (!mm_cache_free(c, fn))
        mm_heap_free(c, fn);
}

__attribute__((noinline)) static void *malloc_slow(size_t n)
{
    if (MM_UNLIKELY(n > MM_MAX_REQUEST))
        return enomem();
    if (MM_UNLIKELY(mm_debug))
        return mm_debug_alloc(n, MM_ALIGN, MM_CALL_MALLOC);
    /* Blocks of 2 to 32 KiB: this thread's cache first, without the lock. */
    size_t nb = mm_request_size(n);
    if (nb > MM_TC_SMALL && nb <= MM_TC_MAX) {
        mm_chunk *c = mm_cache_take(mm_tc_round(nb));
        if (c)
            return mm_mem(c);
    }
    return mm_alloc_plain(n, MM_ALIGN, "malloc");
}

/* The fast path: a block from this thread's cache, no lock. mm_tc is set
 * to NULL while the cache is worked on, so a signal handler that comes in
 * meanwhile takes the locked path. */
void *mm_malloc(size_t n)
{
    struct mm_tcache *tc = mm_tc;
    if (MM_LIKELY(tc && n <= MM_TC_SMALL - 8)) {
        mm_tc = NULL;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        mm_chunk *c = mm_cache_pop(tc, mm_request_size(n));
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        mm_tc = tc;
        if (MM_LIKELY(c))
            return mm_mem(c);
    }
    return malloc_slow(n);
}

/* The size of p's chunk when free may give it to the thread cache without
 * the lock, or 0. It checks what mm_validate checks, minus what costs: p
 * is in the newest segment (usually the only one), aligned, its header
 * intact, in use, not mapped or quarantined, and no bit of too_big set in
 * its size (one mask);
 * the next chunk's PINUSE bit is set (one load: an overrun of text or
 * zeros clears it; an authentic header puts the next one inside the
 * segment); the block is not in a cache already. When any of this fails
 * the locked path runs mm_validate, which reports; the next header is
 * checked in full when the heap gets the block back (mm_heap_free). */
static inline size_t cacheable_size(void *p, uint64_t too_big)
{
    if (MM_UNLIKELY((uintptr_t)p % MM_ALIGN || (uintptr_t)p < mm_ro.lo || (uintptr_t)p >= mm_ro.hi))
        return 0;
    mm_chunk *c = mm_chunk_of_mem(p);
    uint64_t h = c->head;
    bool ok = (h & (too_big | MM_INUSE | MM_MMAPPED | MM_QUARANTINED)) == MM_INUSE &&
              mm_head_ok(c) && (mm_next(c)->head & MM_PINUSE) && !mm_is_cached(c);
    return ok ? h & MM_SIZE : 0;
}

__attribute__((noinline)) static void free_slow(void *p)
{
    if (!p)
        return;
    if (MM_UNLIKELY(mm_debug) && (!mm_debug_light || mm_opt.check)) {
        mm_debug_free(p, MM_CALL_FREE);
        return;
    }
    if (MM_UNLIKELY(mm_reserve_owns(p))) {
        mm_reserve_free(p, "free");
        return;
    }
    /* Blocks of 2 to 32 KiB of a cached size, and with leaks=1 alone (no
     * fast path then) every cached size: this thread's cache, without the
     * lock, when it has room. */
    size_t size = cacheable_size(p, 0);
    if (size > (mm_debug_light ? 0 : MM_TC_SMALL) && size <= MM_TC_MAX && mm_tc_round(size) == size &&
        mm_cache_put(mm_chunk_of_mem(p), size))
        return;
    if (MM_UNLIKELY(!enter())) {
        if ((uintptr_t)p % MM_ALIGN)
            mm_die("free", "invalid pointer %p: not %u-byte aligned, so not from malloc", p, MM_ALIGN);
        mm_defer_free(p);        /* checked and freed when the lock is released */
        return;
    }
    mm_free_plain(mm_validate(p, "free"), "free");
    mm_unlock();
}

/* What free checks before trusting p when it does not take the lock: it is
 * in the heap, aligned, its header intact and in use, not parked in a cache
 * already. The locked path runs mm_validate (and reports) when any of these
 * fails; the header after the block is checked in full when the heap gets
 * the block back (mm_heap_free). */
void mm_free(void *p)
{
    struct mm_tcache *tc = mm_tc;
    size_t size;
    if (MM_LIKELY(tc && (size = cacheable_size(p, MM_TC_TOO_BIG)) != 0)) {
        mm_tc = NULL;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        bool done = mm_cache_push(tc, mm_chunk_of_mem(p), size);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        mm_tc = tc;
        if (MM_LIKELY(done))
            return;
    }
    free_slow(p);
}

void *mm_calloc(size_t n, size_t m)
{
    size_t total;
    if (__builtin_mul_overflow(n, m, &total))
        return enomem();
    if (MM_UNLIKELY(mm_debug))
        return total > MM_MAX_REQUEST ? enomem() : mm_debug_alloc(total, MM_ALIGN, MM_CALL_CALLOC);
    void *p = mm_malloc(total);
    /* A fresh mapping is already zero. */
    if (p && (mm_reserve_owns(p) || !(mm_chunk_of_mem(p)->head & MM_MMAPPED)))
        memset(p, 0, total);
    return p;
}

/* realloc from a re-entrant call: a copy in the reserve. */
static void *realloc_reentered(void *p, size_t n)
{
    mm_chunk *c = mm_chunk_of_mem(p);
    if ((uintptr_t)p % MM_ALIGN || !mm_head_ok(c) || !mm_inuse(c))
        mm_die("realloc", "invalid pointer %p", p);
    void *q = mm_reserve_alloc(n, MM_ALIGN, "realloc");
    size_t old = mm_usable(c);
    memcpy(q, p, old < n ? old : n);
    mm_defer_free(p);
    return q;
}

void *mm_realloc(void *p, size_t n)
{
    if (!p)
        return mm_malloc(n);
    if (n == 0) {                /* glibc: free, and return NULL */
        mm_free(p);
        return NULL;
    }
    if (MM_UNLIKELY(mm_debug))
        return mm_debug_realloc(p, n);
    if (MM_UNLIKELY(mm_reserve_owns(p))) {
        void *q = mm_malloc(n);
        if (q) {
            size_t old = mm_reserve_usable(p);
            memcpy(q, p, old < n ? old : n);
            mm_reserve_free(p, "realloc");
        }
        return q;
    }
    if (MM_UNLIKELY(!enter()))
        return realloc_reentered(p, n);
    mm_chunk *c = mm_validate(p, "realloc");
    if (n > MM_MAX_REQUEST) {
        mm_unlock();
        return enomem();         /* the old block stays as it was */
    }
    size_t nb = mm_request_size(n), old = mm_usable(c);
    if (c->head & MM_MMAPPED) {
        /* A mapped block stays mapped, whatever the threshold is now (as in
         * glibc): moving a growing block into the heap would leave a hole
         * behind at each move. */
        void *q = mm_big_realloc(c, n);
        mm_unlock();
        if (q)
            return q;
    } else if (mm_heap_resize(c, nb, "realloc")) {
        mm_unlock();
        return p;
    } else if (nb < mm_opt.mmap_threshold) {
        /* Move within the heap without letting go of the lock. */
        mm_chunk *nc = mm_heap_alloc(nb, "realloc");
        if (nc) {
            memcpy(mm_mem(nc), p, old);
            mm_heap_free(c, "realloc");
        }
        mm_unlock();
        return nc ? mm_mem(nc) : enomem();
    } else {
        mm_unlock();
    }
    void *q = mm_malloc(n);
    if (q) {
        memcpy(q, p, old < n ? old : n);
        mm_free(p);
    }
    return q;
}

void *mm_memalign(size_t align, size_t n)
{
    if (align <= MM_ALIGN)
        return mm_malloc(n);
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    if (!mm_is_pow2(align))      /* glibc rounds it up to a power of two */
        align = (size_t)1 << (64 - __builtin_clzll(align));
    if (align > MM_MAX_REQUEST || n > MM_MAX_REQUEST - align)
        return enomem();
    if (MM_UNLIKELY(mm_debug))
        return mm_debug_alloc(n, align, MM_CALL_MEMALIGN);
    return mm_alloc_plain(n, align, "memalign");
}

size_t mm_usable_size(const void *p)
{
    if (!p)
        return 0;
    if (mm_reserve_owns(p))
        return mm_reserve_usable(p);
    if (MM_UNLIKELY(mm_debug))
        return mm_debug_usable(p);
    if (MM_UNLIKELY(!enter())) {
        const mm_chunk *c = mm_chunk_of_mem(p);
        if ((uintptr_t)p % MM_ALIGN || !mm_head_ok(c) || !mm_inuse(c))
            mm_die("malloc_usable_size", "invalid pointer %p", p);
        return mm_usable(c);
    }
    size_t n = mm_usable(mm_validate(p, "malloc_usable_size"));
    mm_unlock();
    return n;
}

int mm_trim(size_t pad)
{
    if (!enter())
        return 0;
    mm_cache_flush();
    size_t n = mm_heap_trim(pad);
    mm_unlock();
    return n > 0;
}

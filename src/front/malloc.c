/* malloc.c -- malloc, calloc and memalign: the work is done in the pages,
 * the thread caches (with a debugging option on), the heap and big.c.
 *
 * The common malloc takes a block from this thread's pages without the
 * lock (mm_malloc_fast, in front.h). The rest goes through the gate;
 * when the thread is inside the allocator already (a signal handler
 * interrupted it), the call is served from the reserve. */
#include "front.h"

#include <errno.h>
#include <string.h>

/* n bytes aligned to align, big enough for their own mapping; from the heap
 * if mmap fails. Lock not held. */
MM_HOT void *mm_alloc_big(size_t n, size_t align, const char *fn)
{
    void *p = mm_big_alloc(n, align, false);
    if (p)
        return p;
    if (!mm_enter())
        return mm_reentered_alloc(n, align, fn);
    size_t nb = mm_request_size(n);
    mm_chunk *c = align > MM_ALIGN ? mm_heap_memalign(nb, align, fn) : mm_heap_alloc(nb, fn);
    mm_leave();
    return c ? mm_mem(c) : mm_enomem();
}

mm_chunk *mm_alloc_locked(size_t nb, size_t align, const char *fn)
{
    if (align > MM_ALIGN)
        return mm_heap_memalign(nb, align, fn);
    mm_chunk *c = NULL;
    if (nb <= MM_TC_MAX && ((c = mm_cache_take(nb, true, fn)) || (c = mm_cache_refill(nb, fn))))
        return c;
    return mm_heap_alloc(nb, fn);
}

size_t mm_plain_size(size_t n, size_t align)
{
    return align > MM_ALIGN ? mm_request_size(n) : mm_tc_round(mm_request_size(n));
}

bool mm_plain_is_big(size_t nb, size_t align)
{
    return nb + (align > MM_ALIGN ? align : 0) >= mm_heap.mmap_threshold;
}

void *mm_alloc_plain(size_t n, size_t align, const char *fn)
{
    if (align > MM_ALIGN && mm_pages_on) {
        void *p = mm_pages_memalign(n, align);
        if (p)
            return p;
    }
    return mm_alloc_chain(n, align, fn);
}

void *mm_alloc_chain(size_t n, size_t align, const char *fn)
{
    size_t nb = mm_plain_size(n, align);
    if (MM_UNLIKELY(!mm_enter()))
        return mm_reentered_alloc(n, align, fn);
    if (MM_UNLIKELY(mm_plain_is_big(nb, align))) {
        mm_leave();
        return mm_alloc_big(n, align, fn);
    }
    mm_chunk *c = mm_alloc_locked(nb, align, fn);
    mm_leave();
    return c ? mm_mem(c) : mm_enomem();
}

MM_HOT __attribute__((noinline)) void *mm_malloc_slow(size_t n)
{
    /* This thread's first small block (its heap is made), or one while
     * its heap is busy (a signal handler): the chain serves the latter. */
    if (n <= MM_PG_MAX && mm_pages_on) {
        void *p = mm_pages_malloc_nofast(n);
        if (p)
            return p;
    }
    if (MM_UNLIKELY(!mm_fits(n, MM_ALIGN, 0)))
        return mm_enomem();
    /* With a debugging option on, blocks up to 32 KiB: this thread's cache
     * first, without the lock. */
    size_t nb = mm_request_size(n);
    if (mm_cache_fast_off && nb <= MM_TC_MAX) {
        mm_chunk *c = mm_cache_take(mm_tc_round(nb), false, "malloc");
        if (c)
            return mm_mem(c);
    }
    return mm_alloc_plain(n, MM_ALIGN, "malloc");
}

MM_HOT void *mm_calloc(size_t total)
{
    /* A fresh mapping is already zero (a kept one is not taken). */
    if (mm_plain_is_big(mm_request_size(total), MM_ALIGN)) {
        void *p = mm_big_alloc(total, MM_ALIGN, true);
        if (p)
            return p;
    }
    void *p = mm_malloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

size_t mm_memalign_align(size_t align, size_t n)
{
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return 0;
    }
    if (!mm_is_pow2(align))      /* glibc rounds it up to a power of two */
        align = (size_t)1 << (64 - __builtin_clzll(align));
    if (align > MM_MAX_REQUEST || !mm_fits(n, align, 0)) {
        mm_enomem();
        return 0;
    }
    return align;
}

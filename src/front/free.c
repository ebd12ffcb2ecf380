/* free.c -- free: the work is done in the thread caches, the heap and
 * big.c.
 *
 * The common free gives the block to this thread's cache without the lock
 * (mm_free_fast, in front.h), after the lockless checks of
 * mm_cacheable_size. The rest goes through the gate and mm_lookup, which
 * reports any pointer that is not a live block of ours. */
#include "front.h"

void mm_free_plain(mm_chunk *c, const char *fn)
{
    if (c->head & MM_MMAPPED)
        mm_big_free(c);
    else if (!mm_cache_free(c, fn))
        mm_heap_free(c, fn);
}

__attribute__((noinline)) void mm_free_slow(void *p)
{
    if (!p)
        return;
    if (MM_UNLIKELY(mm_reserve_owns(p))) {
        mm_reserve_free(p, "free");
        return;
    }
    /* Blocks of 2 to 32 KiB of a cached size, and with the fast paths off
     * every cached size: this thread's cache, without the lock, when it
     * has room. */
    size_t size = mm_cacheable_size(p, 0);
    if (size > (mm_cache_fast_off ? 0 : MM_TC_SMALL) && size <= MM_TC_MAX && mm_tc_round(size) == size &&
        mm_cache_put(mm_chunk_of_mem(p), size))
        return;
    if (MM_UNLIKELY(!mm_enter())) {
        mm_reentered_free(p, "free");
        return;
    }
    mm_free_plain(mm_lookup(p, "free", 0), "free");
    mm_leave();
}

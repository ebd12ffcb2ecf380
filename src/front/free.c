/* free.c -- free: the work is done in the pages, the thread caches (with
 * a debugging option on), the heap and big.c.
 *
 * The common free gives a block back to its page without the lock
 * (mm_free_fast, in front.h), after the page's own checks. The rest goes
 * through the gate and mm_lookup, which reports any pointer that is not a
 * live block of ours. */
#include "front.h"

void mm_free_plain(mm_chunk *c, const char *fn)
{
    if (c->head & MM_MMAPPED)
        mm_big_free(c);
    else if (!mm_cache_free(c, fn))
        mm_heap_free(c, fn);
}

/* The same, for a chunk mm_lookup has just checked whole. */
static void free_looked_up(mm_chunk *c)
{
    if (c->head & MM_MMAPPED)
        mm_big_free(c);
    else if (!mm_cache_free(c, "free"))
        mm_heap_free_looked_up(c, "free");
}

MM_HOT __attribute__((noinline)) void mm_free_slow(void *p)
{
    if (!p)
        return;
    if (MM_UNLIKELY(mm_reserve_owns(p))) {
        mm_reserve_free(p, "free");
        return;
    }
    /* With a debugging option on, blocks up to 32 KiB of a cached size:
     * this thread's cache, without the lock, when it has room. */
    size_t size = mm_cache_fast_off ? mm_cacheable_size(p, 0) : 0;
    if (size && size <= MM_TC_MAX && mm_tc_round(size) == size && mm_cache_put(mm_chunk_of_mem(p), size))
        return;
    if (MM_UNLIKELY(!mm_enter())) {
        mm_reentered_free(p, "free");
        return;
    }
    free_looked_up(mm_lookup(p, "free", 0));
    mm_leave();
}

/* lookup.c -- trust no pointer.
 *
 * mm_lookup is the one door every pointer passed to free, realloc and
 * malloc_usable_size goes through before the allocator touches it: it must
 * lie in one of its regions (checked from its own records, without reading
 * memory outside them), be aligned, and have an intact header. Anything
 * else is a bug in the program, and the one useful thing to do is to say
 * which, where, and stop before the heap is corrupted. */
#include "front.h"

#include <string.h>

static bool is_free_call(const char *fn) { return strcmp(fn, "free") == 0; }

MM_HOT mm_chunk *mm_lookup(const void *p, const char *fn, unsigned flags)
{
    if ((uintptr_t)p % MM_ALIGN)
        mm_die(fn, "invalid pointer %p: not %u-byte aligned, so not from malloc", p, MM_ALIGN);
    mm_chunk *c = mm_chunk_of_mem(p);
    mm_segment *s = mm_segment_of(p);
    if (s) {
        mm_chunk *fence = mm_fence(s);
        if ((char *)c >= s->base && c < fence && (c->head & MM_BODY) == MM_MERGED && mm_chead_ok(c))
            mm_die(fn, "%s %p (merged with a free neighbour when it was freed)",
                   is_free_call(fn) ? "double free of" : "freed pointer", p);
        if ((char *)c < s->base || c >= fence || !mm_chead_ok(c) || (c->head & MM_MMAPPED) ||
            mm_csize(c) < MM_MIN_CHUNK || mm_csize(c) > (size_t)((char *)fence - (char *)c))
            mm_die(fn, "invalid pointer %p: not the start of a block (or its header was "
                       "overwritten)", p);
        if ((c->head & MM_QUARANTINED) && (flags & MM_LOOKUP_QUARANTINED) && mm_inuse(c))
            return c;
        if (!mm_inuse(c) || (c->head & MM_QUARANTINED) || mm_is_cached(c))   /* free, or parked */
            mm_die(fn, "%s %p (%zu-byte block)", is_free_call(fn) ? "double free of" : "freed pointer",
                   p, mm_csize(c) - 8);
        mm_chunk *next = mm_next(c);
        if (!mm_chead_ok(next) || !(next->head & MM_PINUSE))
            mm_die(fn, "heap overflow: the header after the %zu-byte block %p was overwritten",
                   mm_csize(c) - 8, p);
        return c;
    }
    if (mm_big_owns(p)) {
        if (!mm_head_ok(c) || (c->head & (MM_MMAPPED | MM_INUSE)) != (MM_MMAPPED | MM_INUSE))
            mm_die(fn, "the header of the mapped block %p was overwritten", p);
        if ((c->head & MM_QUARANTINED) && !(flags & MM_LOOKUP_QUARANTINED))
            mm_die(fn, "%s %p (a mapped block)", is_free_call(fn) ? "double free of" : "freed pointer", p);
        return c;
    }
    if (mm_big_recently_freed(p))
        mm_die(fn, "%s %p (a mapped block, already unmapped)",
               is_free_call(fn) ? "double free of" : "freed pointer", p);
    mm_die(fn, "invalid pointer %p: not allocated by mymalloc (stack, static or foreign memory?)", p);
}


size_t mm_usable_size(const void *p)
{
    if (!p)
        return 0;
    size_t n = mm_pages_usable(p, "malloc_usable_size");
    if (n)
        return n;
    if (mm_reserve_owns(p))
        return mm_reserve_usable(p);
    if (MM_UNLIKELY(!mm_enter()))
        return mm_reentered_usable(p);
    n = mm_usable(mm_lookup(p, "malloc_usable_size", 0));
    mm_leave();
    return n;
}

int mm_trim(size_t pad)
{
    if (!mm_enter())
        return 0;                /* an administrative call, refused when re-entered */
    mm_cache_flush();
    mm_pages_flush();
    size_t n = mm_heap_trim(pad);
    mm_leave();
    return n > 0;
}

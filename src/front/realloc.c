/* realloc.c -- realloc: in place when the heap can, else move. The two
 * parts serve the toolkit's realloc too (debug/paths.c), and mm_move the
 * re-entrant one (gate.c): one algorithm, whoever calls it. */
#include "front.h"

#include <string.h>

void *mm_resize_in_place(mm_chunk *c, size_t n, size_t extra)
{
    if (c->head & MM_MMAPPED)
        return mm_big_realloc(c, n + extra);
    return mm_heap_resize(c, mm_request_size(n + extra), "realloc") ? mm_mem(c) : NULL;
}

void *mm_move(void *p, size_t keep, size_t n, void *(*alloc)(size_t), void (*release)(void *))
{
    void *q = alloc(n);
    if (q) {
        memcpy(q, p, keep < n ? keep : n);
        release(p);
    }
    return q;
}

static void *plain_malloc(size_t n) { return mm_malloc(n); }
static void plain_free(void *p) { mm_free(p); }

MM_HOT void *mm_realloc(void *p, size_t n)
{
    if (!p)
        return mm_malloc(n);
    if (n == 0) {                /* glibc: free, and return NULL */
        mm_free(p);
        return NULL;
    }
    size_t have = mm_pages_usable(p, "realloc");
    if (have) {
        /* (the move finds n's class without a search) */
        if (mm_pg_stays(have, n))
            return p;
        if (!mm_fits(n, MM_ALIGN, 0))
            return mm_enomem();
        /* Growing, it takes an eighth more than asked (within the pages'
         * sizes), as a block of the chain does (below): a string that
         * grows a few bytes at a time moves every other class, not at
         * each. */
        size_t want = n;
        if (n > have && n <= MM_PG_MAX)
            want = n + n / 8 < MM_PG_MAX ? n + n / 8 : MM_PG_MAX;
        return mm_move(p, have, want, plain_malloc, plain_free);
    }
    if (MM_UNLIKELY(mm_reserve_owns(p)))
        return mm_move(p, mm_reserve_usable(p), n, plain_malloc, plain_free);
    if (MM_UNLIKELY(!mm_enter()))
        return mm_reentered_realloc(p, n);
    mm_chunk *c = mm_lookup(p, "realloc", 0);
    if (!mm_fits(n, MM_ALIGN, 0)) {
        mm_leave();
        return mm_enomem();      /* the old block stays as it was */
    }
    /* A mapped block stays mapped, whatever the threshold is now (as in
     * glibc): moving a growing block into the heap would leave a hole
     * behind at each move. */
    size_t old = mm_usable(c);
    bool mapped = (c->head & MM_MMAPPED) != 0;
    /* A block of the chain keeps its room as a page's block does: a
     * string that grows by a few bytes at a time then grows in it
     * without a call into the heap. */
    if (!mapped && mm_pg_stays(old, n)) {
        mm_leave();
        return p;
    }
    /* Growing, it takes an eighth more than asked, as the pages' classes
     * are spaced (short of a mapping's size): where the block cannot grow
     * where it is, each step would otherwise copy it whole. */
    size_t extra = !mapped && n > old ? n / 8 : 0;
    if (mm_request_size(n + extra) >= mm_heap.mmap_threshold)
        extra = 0;
    void *q = mm_resize_in_place(c, n, extra);
    if (!q && extra)
        q = mm_resize_in_place(c, n, 0);     /* room enough for n alone where it is */
    size_t nb = mm_request_size(n + extra);
    if (!q && !mapped && nb < mm_heap.mmap_threshold) {
        /* Move within the heap without letting go of the lock. */
        mm_chunk *nc = mm_heap_alloc(nb, "realloc");
        if (!nc) {
            mm_leave();
            return mm_enomem();
        }
        memcpy(mm_mem(nc), p, old);
        mm_heap_free(c, "realloc");
        q = mm_mem(nc);
    }
    mm_leave();
    return q ? q : mm_move(p, old, n, plain_malloc, plain_free);
}

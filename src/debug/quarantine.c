/* quarantine.c -- check=1: a freed block is filled with MM_PAT_FREED and
 * waits here (marked QUARANTINED, still in use for the heap) until
 * `quarantine` bytes of younger blocks have been freed; when it leaves,
 * and at exit, its pattern is checked: a byte that changed was written
 * after free. A ring of the blocks, oldest first, in a mapping of its
 * own. At exit, the redzones of the blocks still live are checked too.
 * Lock held. */
#include "debug.h"

static mm_chunk **ring;
static size_t ring_cap, ring_head, ring_len, ring_bytes;   /* ring_cap: a power of two */

/* A block leaves the quarantine megabytes of frees after it came, long
 * gone from every cache: waiting for each one's header and pattern in turn
 * was most of check=1's time on small blocks. The block AHEAD places on is
 * fetched into the cache while the oldest is checked. */
#define AHEAD 12

static bool ring_push(mm_chunk *c)
{
    if (ring_len == ring_cap) {
        size_t cap = ring_cap ? ring_cap * 2 : 4096;
        mm_chunk **r = mm_os_map_own(cap * sizeof *r);
        if (!r)
            return false;
        for (size_t i = 0; i < ring_len; i++)
            r[i] = ring[(ring_head + i) & (ring_cap - 1)];
        if (ring)
            mm_os_unmap_own(ring, ring_cap * sizeof *ring);
        ring = r;
        ring_cap = cap;
        ring_head = 0;
    }
    ring[(ring_head + ring_len++) & (ring_cap - 1)] = c;
    ring_bytes += mm_size(c);
    return true;
}

/* A block leaves the quarantine: its poison must be intact. */
static void release(mm_chunk *c, const char *fn, const uintptr_t *pcs, int depth)
{
    struct mm_record *m = mm_record_at(c);
    const unsigned char *p = mm_mem(c);
    size_t first, last;
    if (mm_pattern_changed(p, 0, (size_t)((const unsigned char *)m - p), MM_PAT_FREED, &first, &last)) {
        mm_print("mymalloc: ERROR: heap-use-after-free on the %zu-byte block %p: written at offset %zu "
                 "after it was freed\n", mm_record_asked(m), (const void *)p, first);
        mm_error_end(m, true, fn, pcs, depth);
    }
    mm_set_head(c, c->head & MM_BODY & ~(uint64_t)MM_QUARANTINED);
    ring_bytes -= mm_size(c);
    mm_free_plain(c, fn);
}

static void evict(size_t keep, const char *fn, const uintptr_t *pcs, int depth)
{
    while (ring_len && ring_bytes > keep) {
        mm_chunk *c = ring[ring_head];
        if (ring_len > AHEAD) {
            const char *ahead = (const char *)ring[(ring_head + AHEAD) & (ring_cap - 1)];
            __builtin_prefetch(ahead);
            __builtin_prefetch(ahead + 64);
        }
        ring_head = (ring_head + 1) & (ring_cap - 1);
        ring_len--;
        release(c, fn, pcs, depth);
    }
}

bool mm_quarantine_put(mm_chunk *c, const char *fn, const uintptr_t *pcs, int depth)
{
    mm_set_head(c, (c->head & MM_BODY) | MM_QUARANTINED);
    if (!ring_push(c)) {
        mm_set_head(c, c->head & MM_BODY & ~(uint64_t)MM_QUARANTINED);
        return false;
    }
    evict(mm_opt.quarantine, fn, pcs, depth);
    return true;
}

void mm_quarantine_flush(const char *fn)
{
    evict(0, fn, NULL, 0);
}

/* check=1 at exit: the redzones of the blocks still live, which no free
 * looked at. */
static void check_live(mm_chunk *c, void *arg)
{
    (void)arg;
    struct mm_record *m = mm_state_of(c) == MM_ST_LIVE ? mm_record_of(c) : NULL;
    if (m)
        mm_redzone_check(c, m, "exit", NULL, 0);
}

size_t mm_debug_check_at_exit(void)
{
    if (mm_opt.check) {
        evict(0, "exit", NULL, 0);
        for (mm_segment *s = mm_ro.segs; s; s = s->next) {
            mm_chunk *bad;
            for (mm_chunk *c = mm_walk(s, NULL, &bad); c; c = mm_walk(s, c, &bad))
                check_live(c, NULL);
            if (bad)             /* a header written over: by an underflow? */
                mm_underflow_check(mm_mem(bad), "exit", NULL, 0);
        }
        mm_big_each(check_live, NULL);
    }
    if (mm_opt.guard)
        mm_guard_check_live();
    return mm_errors_at_exit();
}

/* checker.c -- mymalloc_check_heap and check=2: the whole heap verified
 * against its invariants (heap/chunk.h states them), every violation
 * printed on a line of its own. */
#include "debug.h"

#include <stdarg.h>
#include <string.h>

static int errors;
static bool quiet;

static void bad(const char *fmt, ...) MM_PRINTF(1, 2);
static void bad(const char *fmt, ...)
{
    errors++;
    if (quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    mm_vline("mymalloc: check: ", fmt, ap);
    va_end(ap);
}

/* Every chunk listed in a bin: free, in the right bin, linked both ways,
 * listed once. Fills `binned` with their addresses. */
static void check_bins(mm_pset *binned)
{
    for (unsigned i = 0; i < MM_NBINS; i++) {
        mm_chunk *prev = NULL;
        for (mm_chunk *c = mm_bin_first(i); c; prev = c, c = mm_bin_fd(c)) {
            if (!mm_segment_of(c) || (uintptr_t)c % MM_ALIGN || !mm_head_ok(c)) {
                bad("bin %u: %p is not a chunk of the heap", i, (void *)c);
                break;
            }
            if (mm_inuse(c))
                bad("bin %u: chunk %p is in use", i, (void *)c);
            if (mm_bin_index(mm_size(c)) != i)
                bad("bin %u: chunk %p of %zu bytes belongs in bin %u", i, (void *)c, mm_size(c),
                    mm_bin_index(mm_size(c)));
            if (mm_bin_bk(c) != prev)
                bad("bin %u: chunk %p links back to %p, not %p", i, (void *)c, (void *)mm_bin_bk(c),
                    (void *)prev);
            if (mm_pset_has(binned, (uintptr_t)c)) {
                bad("bin %u: chunk %p is listed twice", i, (void *)c);
                break;
            }
            if (!mm_pset_add(binned, (uintptr_t)c)) {
                bad("out of memory for the check");
                return;
            }
        }
        if ((mm_bin_first(i) != NULL) != mm_bin_marked(i))
            bad("bitmap marks bin %u as %s", i, mm_bin_marked(i) ? "non-empty" : "empty");
    }
}

/* Walks one segment from its first chunk to its fencepost. Returns the
 * number of binned free chunks seen; sets *top_seen. */
static size_t check_segment(const mm_segment *s, const mm_pset *binned, bool *top_seen, size_t *cached)
{
    mm_chunk *fence = mm_fence(s), *c = (mm_chunk *)s->base;
    bool prev_free = false;
    size_t binned_seen = 0;
    while (c < fence) {
        if (!mm_head_ok(c) || mm_size(c) < MM_MIN_CHUNK || mm_size(c) > (size_t)((char *)fence - (char *)c)) {
            bad("segment %p: bad header at %p; the rest of the segment is not checked", (void *)s,
                (void *)c);
            return binned_seen;
        }
        size_t size = mm_size(c);
        if ((uintptr_t)c % MM_ALIGN || (c->head & MM_MMAPPED))
            bad("chunk %p: misaligned or marked mmapped", (void *)c);
        if ((c->head & MM_QUARANTINED) && !mm_inuse(c))
            bad("chunk %p: free, but marked quarantined", (void *)c);
        *cached += mm_inuse(c) && mm_is_cached(c);
        if (!(c->head & MM_PINUSE) != prev_free)
            bad("chunk %p: PINUSE says the previous chunk is %s", (void *)c,
                prev_free ? "in use, but it is free" : "free, but it is in use");
        if (!mm_inuse(c)) {
            if (prev_free)
                bad("chunk %p and the chunk before it are both free", (void *)c);
            if (c != mm_heap.top && mm_next(c)->prev_size != size)
                bad("free chunk %p: footer says %zu, header %zu", (void *)c, mm_next(c)->prev_size, size);
            if (c == mm_heap.top) {
                *top_seen = true;
                if (s != mm_heap.active || mm_next(c) != fence)
                    bad("top %p is not the last chunk of the active segment", (void *)c);
            } else if (!mm_pset_has(binned, (uintptr_t)c)) {
                bad("free chunk %p (%zu bytes) is in no bin", (void *)c, size);
            } else {
                binned_seen++;
            }
        }
        prev_free = !mm_inuse(c);
        c = mm_next(c);
    }
    if (c != fence)
        bad("segment %p: chunks end at %p, past the fencepost %p", (void *)s, (void *)c, (void *)fence);
    else if (s != mm_heap.active &&     /* (the active one's is not written) */
             (!mm_head_ok(fence) || mm_size(fence) || !mm_inuse(fence) || !(fence->head & MM_PINUSE) != prev_free))
        bad("segment %p: bad fencepost %p", (void *)s, (void *)fence);
    return binned_seen;
}

/* This thread's cache: every entry a cached chunk of its class. Other
 * threads' caches change without the lock; their chunks are still seen by
 * the walk, marked CACHED. */
static size_t check_own_cache(void)
{
    struct mm_tcache *tc = mm_cache_own();
    size_t n = 0;
    if (!tc)
        return 0;
    for (unsigned i = 2; i < MM_TC_NCLS; i++) {
        struct mm_tc_class *k = &tc->cls[i];
        if (k->count > k->max || k->limit > k->max)
            bad("thread cache class %u holds %u blocks, limit %u, more than its most %u", i, k->count,
                k->limit, k->max);
        for (unsigned j = 0; j < k->count && j < k->max; j++) {
            mm_chunk *c = k->stack[j];
            if (!mm_segment_of(c) || !mm_head_ok(c) ||
                (c->head & (MM_INUSE | MM_MMAPPED | MM_QUARANTINED)) != MM_INUSE ||
                !mm_is_cached(c) || mm_size(c) != mm_tc_class_size(i))
                bad("thread cache class %u: %p is not a cached chunk of %zu bytes", i, (void *)c,
                    mm_tc_class_size(i));
            n++;
        }
    }
    return n;
}

static void complain(const char *what, const void *where)
{
    bad("%s: %p", what, where);
}

static void check_big(mm_chunk *c, void *arg)
{
    (void)arg;
    /* (a mapped block freed under check=1 waits in the quarantine, marked so) */
    if (!mm_head_ok(c) || (c->head & MM_FLAGS & ~(uint64_t)MM_QUARANTINED) != (MM_MMAPPED | MM_INUSE) ||
        ((uintptr_t)c - c->prev_size) % mm_page || ((uintptr_t)c + mm_size(c)) % mm_page)
        bad("mapped block %p: bad header", mm_mem(c));
}

int mm_check_locked(bool silent)
{
    quiet = silent;
    /* A buffer of our own, so the check works when mmap does not. */
    static uintptr_t table[8192];
    memset(table, 0, sizeof table);
    errors = 0;
    mm_pset binned = { table, sizeof table / sizeof table[0], 0, true };
    check_bins(&binned);
    size_t seen = 0, cached = 0;
    bool top_seen = false;
    for (mm_segment *s = mm_ro.segs; s; s = s->next)
        seen += check_segment(s, &binned, &top_seen, &cached);
    size_t own = check_own_cache();
    if (cached < own)
        bad("the walk finds %zu cached chunks, fewer than the %zu in this thread's cache", cached, own);
    if (seen != binned.count)
        bad("%zu chunks listed in bins are not free chunks of the heap", binned.count - seen);
    if (mm_heap.top && !top_seen)
        bad("top %p is not in the heap", (void *)mm_heap.top);
    mm_big_each(check_big, NULL);
    mm_pages_check(complain);
    mm_pset_clear(&binned);
    return errors;
}

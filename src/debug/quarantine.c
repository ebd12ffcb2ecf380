/* quarantine.c -- check=1: a freed block is filled with MM_PAT_FREED and
 * waits here (marked QUARANTINED, still in use for the heap) until
 * `quarantine` bytes of younger blocks have been freed; when it leaves,
 * and at exit, its pattern is checked: a byte that changed was written
 * after free. At exit, the redzones of the blocks still live are checked
 * too.
 *
 * Two levels, as the heap has its thread caches: a small block freed by
 * free's lockless path waits first in its thread's batch (no lock: only
 * its thread writes it), and a full batch passes to the shared ring (a
 * ring of the blocks, oldest first, in a mapping of its own) under the
 * lock once; the blocks that leave the ring then are checked and freed by
 * that thread after it has let the lock go. A thread's batch holds at
 * most BATCH blocks and a sixteenth of `quarantine` bytes; the batches of
 * threads that end pass to the ring. The ring's functions: lock held. */
#include "debug.h"

#include <pthread.h>
#include <string.h>

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
    mm_free_plain(c, fn);
}

/* The oldest block out of the ring. */
static mm_chunk *ring_pop(void)
{
    mm_chunk *c = ring[ring_head];
    if (ring_len > AHEAD) {
        const char *ahead = (const char *)ring[(ring_head + AHEAD) & (ring_cap - 1)];
        __builtin_prefetch(ahead);
        __builtin_prefetch(ahead + 64);
    }
    ring_head = (ring_head + 1) & (ring_cap - 1);
    ring_len--;
    ring_bytes -= mm_size(c);
    return c;
}

static void evict(size_t keep, const char *fn, const uintptr_t *pcs, int depth)
{
    while (ring_len && ring_bytes > keep)
        release(ring_pop(), fn, pcs, depth);
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

/* ---- each thread's batch ---- */

/* Only the lock's holder may write a chunk's header (the heap sets and
 * clears PINUSE in the header of a block in use when its neighbour
 * changes), so a block in a batch, or on its way out of the ring to be
 * freed without the lock, is not marked QUARANTINED: its first word holds
 * this mark instead (as a cached block holds the cache's), and its other
 * bytes the pattern. The check at free looks for both. */
static inline uint64_t held_mark(const mm_chunk *c)
{
    return mm_cache_mark(c) ^ UINT64_C(0x9e3779b97f4a7c15);
}

bool mm_quarantine_held(const mm_chunk *c)
{
    return *(const uint64_t *)mm_mem(c) == held_mark(c);
}

bool mm_block_live(const mm_chunk *c)
{
    return mm_state_of(c) == MM_ST_LIVE && !(mm_opt.check && mm_quarantine_held(c));
}

static inline void put_mark(mm_chunk *c, uint64_t word)
{
    *(uint64_t *)mm_mem(c) = word;
}

#define PAT_WORD (UINT64_C(0x0101010101010101) * MM_PAT_FREED)

#define BATCH 256
struct batch {
    int owned;                   /* atomic: its thread, or a holder of the lock, works on it */
    int len;
    size_t bytes;
    mm_chunk *c[BATCH];
    struct batch *next;          /* every batch made, for the check at exit */
    struct batch *next_spare;
};
static struct batch *batches;    /* lock held to add; never removed */
static struct batch *spare;      /* of threads that ended, empty: taken before one is made */
static __thread struct batch *mine MM_TLS;
static __thread bool gone MM_TLS;
static pthread_key_t key;
static bool key_ok;

static bool own(struct batch *b)
{
    return !__atomic_exchange_n(&b->owned, 1, __ATOMIC_ACQUIRE);
}

static void disown(struct batch *b)
{
    __atomic_store_n(&b->owned, 0, __ATOMIC_RELEASE);
}

/* b owned, with the lock held: its thread never waits for the lock while
 * it owns its batch, so this waits only while that thread finishes a
 * free. False for a batch no thread will let go (its thread was in the
 * middle of a free when another forked this process). */
static bool own_locked(struct batch *b)
{
    for (int i = 0; i < 100000; i++) {
        if (own(b))
            return true;
        __builtin_ia32_pause();
    }
    return false;
}

/* A block that changed while held is reported as the ring's blocks are:
 * its pattern back in its first word, it is checked (lock held). */
static void held_changed(mm_chunk *c, uint64_t first_word, const char *fn, const uintptr_t *pcs, int depth)
{
    put_mark(c, first_word);
    release(c, fn, pcs, depth);  /* reports */
}

/* b's blocks to the ring, oldest first (lock held, b owned): each marked
 * QUARANTINED, its mark checked and turned back into the pattern. */
static void pass_on(struct batch *b, const char *fn, const uintptr_t *pcs, int depth)
{
    for (int i = 0; i < b->len; i++) {
        mm_chunk *c = b->c[i];
        uint64_t written = *(const uint64_t *)mm_mem(c) ^ held_mark(c);   /* its bits that changed */
        if (written) {
            held_changed(c, PAT_WORD ^ written, fn, pcs, depth);
            continue;
        }
        put_mark(c, PAT_WORD);
        mm_set_head(c, (c->head & MM_BODY) | MM_QUARANTINED);
        if (!ring_push(c))
            release(c, fn, pcs, depth);
    }
    b->len = 0;
    b->bytes = 0;
}

static void thread_gone(void *arg)
{
    struct batch *b = arg;
    gone = true;
    mine = NULL;
    if (!mm_lock())
        return;
    if (own_locked(b)) {
        pass_on(b, "free", NULL, 0);
        evict(mm_opt.quarantine, "free", NULL, 0);
        disown(b);
        b->next_spare = spare;
        spare = b;
    }
    mm_unlock();
}

void mm_quarantine_init(void)
{
    key_ok = pthread_key_create(&key, thread_gone) == 0;
}

/* This thread's batch, made on its first call; NULL when it has none. */
static struct batch *batch(void)
{
    if (MM_LIKELY(mine != NULL) || gone || !key_ok)
        return mine;
    if (!mm_enter())
        return NULL;
    struct batch *b = spare;
    if (b) {
        spare = b->next_spare;   /* (it never left the list of every batch) */
    } else if ((b = mm_os_map_own(sizeof *b)) != NULL) {
        b->next = batches;
        batches = b;
    }
    mm_leave();
    if (b && pthread_setspecific(key, b) == 0)
        mine = b;
    return mine;
}

/* The blocks that left the ring (marked, QUARANTINED no more), checked
 * past their first word (checked as they left) and freed by the thread
 * that pushed them out, without the lock. A changed pattern is reported
 * with the lock taken (and the program stops). */
static void release_unlocked(mm_chunk *const *out, int n, const char *fn, const uintptr_t *pcs, int depth)
{
    for (int i = 0; i < n; i++) {
        mm_chunk *c = out[i];
        if (i + 2 < n)           /* the block after next, whole: its header was read */
            for (size_t at = 64; at < mm_size(out[i + 2]); at += 64)
                __builtin_prefetch((const char *)out[i + 2] + at);
        const unsigned char *p = mm_mem(c);
        const struct mm_record *m = mm_record_at(c);
        size_t first, last;
        if (mm_pattern_changed(p, 8, (size_t)((const unsigned char *)m - p), MM_PAT_FREED, &first, &last) &&
            mm_enter()) {
            held_changed(c, PAT_WORD, fn, pcs, depth);
            mm_leave();
            continue;
        }
        mm_free(mm_mem(c));
    }
}

bool mm_quarantine_hold(mm_chunk *c, struct mm_record *m, uint32_t free_site, const char *fn,
                        const uintptr_t *pcs, int depth)
{
    struct batch *b = batch();
    if (!b || !own(b))
        return false;
    size_t size = mm_size(c);
    int out = 0;
    mm_chunk *left[BATCH];
    if (b->len == BATCH || b->bytes + size > mm_opt.quarantine / 16) {
        disown(b);               /* never owned while waiting for the lock */
        if (!mm_enter())
            return false;
        if (!own(b)) {
            mm_leave();
            return false;
        }
        pass_on(b, fn, pcs, depth);
        /* the oldest out of the ring, down to `quarantine` bytes: their
         * first words checked now, the rest once the lock is let go */
        while (ring_len && ring_bytes > mm_opt.quarantine) {
            mm_chunk *x = ring_pop();
            if (out == BATCH || *(const uint64_t *)mm_mem(x) != PAT_WORD) {
                release(x, fn, pcs, depth);
                continue;
            }
            mm_set_head(x, x->head & MM_BODY & ~(uint64_t)MM_QUARANTINED);
            put_mark(x, held_mark(x));
            left[out++] = x;
        }
        mm_leave();
    }
    /* Two threads may free the block at once: the one that puts the mark
     * holds it; the other goes the locked way, which reports the second
     * free. The mark first, then the pattern after it. */
    uint64_t *w = (uint64_t *)mm_mem(c), seen = __atomic_load_n(w, __ATOMIC_RELAXED);
    bool won = seen != held_mark(c) &&
               __atomic_compare_exchange_n(w, &seen, held_mark(c), false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
    if (won) {
        unsigned char *p = mm_mem(c);
        memset(p + 8, MM_PAT_FREED, (size_t)((unsigned char *)m - p) - 8);
        m->free_site = free_site;
        b->c[b->len++] = c;
        b->bytes += size;
    }
    disown(b);
    release_unlocked(left, out, fn, pcs, depth);
    return won;
}

/* Every thread's batch to the ring (lock held). */
static void pass_on_every_batch(const char *fn)
{
    for (struct batch *b = batches; b; b = b->next)
        if (own_locked(b)) {
            pass_on(b, fn, NULL, 0);
            disown(b);
        }
}

void mm_quarantine_flush(const char *fn)
{
    pass_on_every_batch(fn);
    evict(0, fn, NULL, 0);
}

/* check=1 at exit: the redzones of the blocks still live, which no free
 * looked at. */
static void check_live(mm_chunk *c, void *arg)
{
    (void)arg;
    struct mm_record *m = mm_block_live(c) ? mm_record_of(c) : NULL;
    if (m)
        mm_redzone_check(c, m, "exit", NULL, 0);
}

size_t mm_debug_check_at_exit(void)
{
    if (mm_opt.check) {
        mm_quarantine_flush("exit");
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

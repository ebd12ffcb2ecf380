/* debug.c -- the allocation paths while a debugging option is on (stats,
 * leaks, check, trace).
 *
 * Off, none of this runs: alloc.c tests mm_debug only on its slow paths,
 * and the fast paths never see a thread cache while it is on. On, every
 * call comes here, and each block carries a record at the end of its
 * usable space, after the bytes asked for and (with check=1) a redzone:
 *
 *     | header | the n bytes asked for | redzone (check=1) | meta |
 *                                                           ^ mem + usable - 16
 *     meta: n and a tag (one word), the ids of the stacks that allocated
 *           and freed the block (sites.c)
 *
 * With check=1, a new block is filled with MM_PAT_NEW, its redzone with
 * MM_PAT_RED, and free checks the redzone; a freed block is filled with
 * MM_PAT_FREED and waits in a quarantine (marked QUARANTINED, still in use
 * for the heap) until `quarantine` bytes of younger blocks have been freed;
 * when it leaves, the pattern is checked. Any difference is reported with
 * the stacks that allocated and freed the block, and the program stops.
 *
 * Without stats or trace there is nothing to count: blocks come from the
 * thread caches without the lock, and the stack ids from a memo of each
 * thread's (alloc_light); with leaks=1 alone they go back to the caches as
 * when quiet, with check=1 to the quarantine, and from there to the
 * caches of the threads that evict them. */
#include "mm.h"

#include <string.h>

#ifndef MM_NO_TOOLKIT
bool mm_debug, mm_debug_light;
#endif

#define META    16u
#define REDZONE 16u

struct meta {
    uint64_t word;          /* n | tag << 48 */
    uint32_t alloc_site;
    union {
        uint32_t pid;       /* live: the process that allocated it (a child of fork
                               does not report its parent's blocks) */
        uint32_t free_site; /* quarantined: the stack that freed it */
    };
};

static struct meta *meta_of(const mm_chunk *c)
{
    return (struct meta *)((char *)mm_mem(c) + mm_usable(c) - META);
}

static uint64_t tag_of(const mm_chunk *c)
{
    return ((((uintptr_t)c >> 4) * mm_ro.secret) >> 48) ^ 0x6d6d;
}

/* The block's record, or NULL for a block without one (one allocated
 * before the options were read, or whose record an overrun destroyed). */
static struct meta *record(const mm_chunk *c)
{
    struct meta *m = meta_of(c);
    return m->word >> 48 == tag_of(c) ? m : NULL;
}

static size_t asked(const struct meta *m) { return m->word & MM_BODY; }

static bool want_stacks(void) { return mm_opt.leaks || mm_opt.check; }

static int capture(uintptr_t *pcs)
{
    return want_stacks() ? mm_stack_capture(pcs, (int)mm_opt.stack_depth) : 0;
}

/* ---- reports ---- */

static size_t exit_errors;      /* found by the check at exit, which goes on */

static bool at_exit(const char *fn) { return !strcmp(fn, "exit"); }

/* The end of a report: the block's stacks, where it was found; then the
 * program stops, unless this is the check at exit (which reports every
 * error it finds, and lets the reports that follow it be printed). */
static void report_end(const struct meta *m, bool freed, const char *fn, const uintptr_t *pcs,
                       int depth)
{
    mm_print("  the block was allocated by:\n");
    mm_site_print(m ? m->alloc_site : 0, "    ");
    if (freed) {
        mm_print("  and freed by:\n");
        mm_site_print(m ? m->free_site : 0, "    ");
    }
    if (at_exit(fn)) {
        mm_print("  found at exit, when the blocks still in the quarantine were checked\n");
        exit_errors++;
        return;
    } else {
        mm_print("  found in %s(), called from:\n", fn);
        if (!depth)
            mm_print("    (no stack recorded)\n");
        mm_frames_print(pcs, depth, "    ");
    }
    mm_die_quietly();
}

/* The first index in [i, to) of p whose byte is not pat, or to. Eight
 * bytes at a time: a quarantine of 16 MiB is read through on its way out. */
static size_t skip_pattern(const unsigned char *p, size_t i, size_t to, unsigned char pat)
{
    const uint64_t word = 0x0101010101010101ull * pat;
    for (; i < to && (uintptr_t)(p + i) % 8; i++)
        if (p[i] != pat)
            return i;
    for (; to - i >= 8; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (v != word)
            break;
    }
    while (i < to && p[i] == pat)
        i++;
    return i;
}

/* The first and last bytes in [from, to) of p that differ from pat, or
 * false if there are none. */
static bool find_change(const unsigned char *p, size_t from, size_t to, unsigned char pat,
                        size_t *first, size_t *last)
{
    size_t i = skip_pattern(p, from, to, pat);
    if (i == to)
        return false;
    *first = i;
    size_t j = to - 1;
    while (p[j] == pat)
        j--;
    *last = j;
    return true;
}

static void check_redzone(const mm_chunk *c, const struct meta *m, const char *fn,
                          const uintptr_t *pcs, int depth)
{
    const unsigned char *p = mm_mem(c);
    size_t n = asked(m), first, last;
    if (!find_change(p, n, (size_t)((const unsigned char *)m - p), MM_PAT_RED, &first, &last))
        return;
    mm_print("mymalloc: %s(): heap-buffer-overflow on the %zu-byte block %p: %zu byte%s written past "
             "its end, from offset %zu\n", fn, n, (void *)p, last - n + 1, last == n ? "" : "s", first);
    report_end(m, false, fn, pcs, depth);
}

void mm_debug_block_info(const mm_chunk *c, size_t *n, uint32_t *site, int *pid)
{
    const struct meta *m = record(c);
    *n = m ? asked(m) : mm_usable(c);
    *site = m ? m->alloc_site : 0;
    *pid = m ? (int)m->pid : 0;
}

/* ---- the quarantine: a ring of freed blocks, oldest first ---- */

static mm_chunk **ring;
static size_t ring_cap, ring_head, ring_len, ring_bytes;

static bool ring_push(mm_chunk *c)
{
    if (ring_len == ring_cap) {
        size_t cap = ring_cap ? ring_cap * 2 : 4096;
        mm_chunk **r = mm_os_map_own(cap * sizeof *r);
        if (!r)
            return false;
        for (size_t i = 0; i < ring_len; i++)
            r[i] = ring[(ring_head + i) % ring_cap];
        if (ring)
            mm_os_unmap_own(ring, ring_cap * sizeof *ring);
        ring = r;
        ring_cap = cap;
        ring_head = 0;
    }
    ring[(ring_head + ring_len++) % ring_cap] = c;
    ring_bytes += mm_size(c);
    return true;
}

/* A block leaves the quarantine: its poison must be intact. */
static void release(mm_chunk *c, const char *fn, const uintptr_t *pcs, int depth)
{
    struct meta *m = meta_of(c);
    const unsigned char *p = mm_mem(c);
    size_t first, last;
    if (find_change(p, 0, (size_t)((const unsigned char *)m - p), MM_PAT_FREED, &first, &last)) {
        mm_print("mymalloc: %s%s write-after-free on the %zu-byte block %p: written at offset %zu "
                 "after it was freed\n", at_exit(fn) ? "at exit:" : fn, at_exit(fn) ? "" : "():",
                 asked(m), (const void *)p, first);
        report_end(m, true, fn, pcs, depth);
    }
    mm_set_head(c, c->head & MM_BODY & ~(uint64_t)MM_QUARANTINED);
    ring_bytes -= mm_size(c);
    mm_free_plain(c, fn);
}

static void evict(size_t keep, const char *fn, const uintptr_t *pcs, int depth)
{
    while (ring_len && ring_bytes > keep) {
        mm_chunk *c = ring[ring_head];
        ring_head = (ring_head + 1) % ring_cap;
        ring_len--;
        release(c, fn, pcs, depth);
    }
}

void mm_debug_flush_quarantine(const char *fn)
{
    evict(0, fn, NULL, 0);
}

size_t mm_debug_check_at_exit(void)
{
    evict(0, "exit", NULL, 0);
    return exit_errors;
}

/* ---- the paths ---- */

/* Every check_every calls with check=2, the whole heap. */
static void maybe_check_heap(const char *fn)
{
    static size_t calls;
    if (mm_opt.check < 2 || ++calls % mm_opt.check_every)
        return;
    int errors = mm_check_locked();
    if (errors)
        mm_die(fn, "check=2: the heap checker found %d error%s (listed above)", errors,
               errors == 1 ? "" : "s");
}

/* The id of the stack, from this thread's memo when the stack was seen
 * before, else from the table, under the lock. */
static uint32_t site_light(const uintptr_t *pcs, int depth)
{
    if (depth <= 0)
        return 0;
    uint32_t hash = mm_site_hash(pcs, depth), id = mm_cache_site_find(pcs, depth, hash);
    if (id || !mm_lock())
        return id;
    id = mm_site_intern(pcs, depth);
    mm_unlock();
    if (id)
        mm_cache_site_keep(pcs, depth, hash, id);
    return id;
}

/* A new block of n bytes asked for, at p: its record, and its patterns
 * with check=1 (zeros for calloc). */
static void set_up(void *p, size_t n, int call, uint32_t site)
{
    mm_chunk *c = mm_chunk_of_mem(p);
    struct meta *m = meta_of(c);
    m->word = n | tag_of(c) << 48;
    m->alloc_site = site;
    m->pid = (uint32_t)mm_os_pid();
    if (mm_opt.check) {
        memset(p, call == MM_CALL_CALLOC ? 0 : MM_PAT_NEW, n);
        memset((char *)p + n, MM_PAT_RED, (size_t)((char *)m - (char *)p) - n);
    } else if (call == MM_CALL_CALLOC) {
        memset(p, 0, n);
    }
}

/* Without stats or trace (mm_debug_light) there is nothing to count, so a
 * block comes from this thread's cache without the lock when it has one,
 * as when quiet, and gets its record and (check=1) its patterns. extra:
 * the bytes of record and redzone after the n asked for. */
static void *alloc_light(size_t n, size_t extra, int call, const char *fn, const uintptr_t *pcs,
                         int depth)
{
    uint32_t site = site_light(pcs, depth);
    size_t nb = mm_plain_size(n + extra, MM_ALIGN);
    void *p;
    if (mm_plain_is_big(nb, MM_ALIGN)) {
        p = mm_alloc_big(n + extra, MM_ALIGN, fn);
    } else {
        mm_chunk *c = nb <= MM_TC_MAX ? mm_cache_take(nb) : NULL;
        if (!c) {
            if (!mm_lock())
                return mm_reserve_alloc(n + extra, MM_ALIGN, fn);
            c = mm_alloc_locked(nb, MM_ALIGN, fn);
            mm_unlock();
        }
        p = c ? mm_mem(c) : NULL;
    }
    if (!p) {
        mm_set_enomem();
        return NULL;
    }
    set_up(p, n, call, site);
    return p;
}

/* old: for realloc, the block being replaced (for the trace). */
static void *alloc(size_t n, size_t align, int call, const void *old)
{
    static const char *const names[MM_NCALLS] = { "malloc", "calloc", "realloc", "memalign", "free",
                                                   "malloc_usable_size" };
    const char *fn = names[call];
    uintptr_t pcs[64];
    int depth = capture(pcs);
    size_t extra = META + (mm_opt.check ? REDZONE : 0);
    bool fits = n <= MM_MAX_REQUEST - extra - align;
    if (mm_debug_light && fits && align <= MM_ALIGN)
        return alloc_light(n, extra, call, fn, pcs, depth);
    if (!mm_lock())
        return fits ? mm_reserve_alloc(n + extra, align, fn) : NULL;   /* re-entrant: no records */
    void *p = NULL;
    if (fits) {
        size_t nb = mm_plain_size(n + extra, align);
        if (mm_plain_is_big(nb, align)) {
            mm_unlock();
            p = mm_alloc_big(n + extra, align, fn);
            mm_lock();
        } else {
            mm_chunk *c = mm_alloc_locked(nb, align, fn);
            p = c ? mm_mem(c) : NULL;
        }
    }
    mm_count_alloc(call, n, p != NULL);
    if (p) {
        set_up(p, n, call, mm_site_intern(pcs, depth));
        mm_count_live(n, 1);
    }
    mm_trace(call, old, n, align, p);
    maybe_check_heap(fn);
    mm_unlock();
    if (!p)
        mm_set_enomem();
    return p;
}

void *mm_debug_alloc(size_t n, size_t align, int call)
{
    return alloc(n, align, call, NULL);
}

/* The block behind p, validated; a second free of a quarantined block is
 * reported with its stacks. */
static mm_chunk *validate(void *p, const char *fn, const uintptr_t *pcs, int depth)
{
    mm_chunk *c = mm_chunk_of_mem(p);
    if ((uintptr_t)p % MM_ALIGN == 0 && (mm_segment_of(p) || mm_big_owns(p)) && mm_head_ok(c) &&
        (c->head & (MM_INUSE | MM_QUARANTINED)) == (MM_INUSE | MM_QUARANTINED) && mm_opt.check) {
        struct meta *m = record(c);
        if (strcmp(fn, "free") == 0)
            mm_print("mymalloc: free(): double free of the %zu-byte block %p\n", m ? asked(m) : 0, p);
        else
            mm_print("mymalloc: %s(): use after free of the %zu-byte block %p\n", fn, m ? asked(m) : 0, p);
        report_end(m, true, fn, pcs, depth);
    }
    return mm_validate(p, fn);
}

/* Frees p with the lock held, for free or for realloc (which counts and
 * traces the whole call itself). */
static void free_locked(void *p, int call, const uintptr_t *pcs, int depth)
{
    const char *fn = call == MM_CALL_FREE ? "free" : "realloc";
    mm_chunk *c = validate(p, fn, pcs, depth);
    struct meta *m = record(c);
    size_t n = m ? asked(m) : mm_usable(c);
    if (m && mm_opt.check)
        check_redzone(c, m, fn, pcs, depth);
    if (call == MM_CALL_FREE) {
        mm_count_free(n);
        mm_trace(MM_CALL_FREE, p, n, 0, NULL);
    }
    mm_count_live(n, -1);
    if (m && mm_opt.check && mm_opt.quarantine) {
        memset(p, MM_PAT_FREED, (size_t)((char *)m - (char *)p));
        m->free_site = mm_site_intern(pcs, depth);
        mm_set_head(c, (c->head & MM_BODY) | MM_QUARANTINED);
        if (ring_push(c)) {
            evict(mm_opt.quarantine, fn, pcs, depth);
            return;
        }
        mm_set_head(c, c->head & MM_BODY & ~(uint64_t)MM_QUARANTINED);
    }
    mm_free_plain(c, fn);
}

void mm_debug_free(void *p, int call)
{
    (void)call;
    uintptr_t pcs[64];
    int depth = mm_opt.check ? capture(pcs) : 0;
    if (mm_reserve_owns(p)) {
        mm_reserve_free(p, "free");
        return;
    }
    if (!mm_lock()) {
        mm_defer_free(p);
        return;
    }
    free_locked(p, MM_CALL_FREE, pcs, depth);
    maybe_check_heap("free");
    mm_unlock();
}

size_t mm_debug_usable(const void *p)
{
    if (!mm_lock())
        return mm_usable(mm_chunk_of_mem(p));
    mm_chunk *c = mm_validate(p, "malloc_usable_size");
    if (c->head & MM_QUARANTINED)
        mm_die("malloc_usable_size", "freed pointer %p", p);
    struct meta *m = record(c);
    size_t n = m ? asked(m) : mm_usable(c);
    mm_count_call(MM_CALL_USABLE);
    mm_unlock();
    return n;
}

/* realloc keeps the block in place when the heap can, as without the
 * debugging options; otherwise it moves it (with check=1, a stale pointer
 * to the old block is then a use after free that can be seen). */
void *mm_debug_realloc(void *p, size_t n)
{
    if (mm_reserve_owns(p)) {
        void *q = alloc(n, MM_ALIGN, MM_CALL_REALLOC, p);
        if (q) {
            size_t old = mm_reserve_usable(p);
            memcpy(q, p, old < n ? old : n);
            mm_reserve_free(p, "realloc");
        }
        return q;
    }
    uintptr_t pcs[64];
    int depth = capture(pcs);
    size_t old;
    if (!mm_lock())
        return NULL;
    mm_chunk *c = validate(p, "realloc", pcs, depth);
    struct meta *m = record(c);
    if (m && mm_opt.check)
        check_redzone(c, m, "realloc", pcs, depth);
    old = m ? asked(m) : mm_usable(c);
    /* In place when the heap can (growing strings would copy forever
     * otherwise); the record moves to the new end. */
    size_t extra = META + (mm_opt.check ? REDZONE : 0);
    if (m && !(c->head & MM_MMAPPED) && n <= MM_MAX_REQUEST - extra &&
        mm_heap_resize(c, mm_request_size(n + extra), "realloc")) {
        m = meta_of(c);
        if (mm_opt.check) {
            if (n > old)
                memset((char *)p + old, MM_PAT_NEW, n - old);
            memset((char *)p + n, MM_PAT_RED, (size_t)((char *)m - (char *)p) - n);
        }
        m->word = n | tag_of(c) << 48;
        m->alloc_site = mm_site_intern(pcs, depth);
        m->pid = (uint32_t)mm_os_pid();
        mm_count_alloc(MM_CALL_REALLOC, n, true);
        mm_count_live(old, -1);
        mm_count_live(n, 1);
        mm_trace(MM_CALL_REALLOC, p, n, 0, p);
        mm_unlock();
        return p;
    }
    mm_unlock();
    void *q = n <= MM_MAX_REQUEST ? alloc(n, MM_ALIGN, MM_CALL_REALLOC, p) : NULL;
    if (!q) {
        mm_set_enomem();
        return NULL;                 /* the old block stays */
    }
    memcpy(q, p, old < n ? old : n);
    if (mm_lock()) {
        free_locked(p, MM_CALL_REALLOC, pcs, depth);
        mm_unlock();
    }
    return q;
}

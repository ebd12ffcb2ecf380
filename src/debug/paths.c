/* paths.c -- malloc, free, realloc and malloc_usable_size while a
 * debugging option is on (stats, leaks, check, trace, profile).
 *
 * Off, none of this runs: api.c branches here only on the slow paths, and
 * the fast paths never see a thread cache while it is on. On, every call
 * comes here; each block carries a record (record.c), its stacks are
 * captured (unwind/) and stored once (sites.c), and the plain paths of
 * front/ do the allocating, through the same gate: a call that comes in
 * while its thread is inside the allocator gets the gate's answer, without
 * a record.
 *
 * With check=1, free checks the redzone and puts the block in the
 * quarantine; a second free or a use of a quarantined block is reported
 * with its stacks. Any difference is reported, and the program stops.
 *
 * Without stats or trace there is nothing to count: blocks come from the
 * thread caches without the lock, and the stack ids from a memo of each
 * thread's (alloc_light); with leaks=1 alone they go back to the caches as
 * when quiet, with check=1 to the quarantine, and from there to the
 * caches of the threads that evict them.
 *
 * With the exact profile alone (mm_debug_held), blocks up to 32 KiB come
 * from the pages, as when quiet, but every call comes here all the same
 * (the pages leave their blocks to the toolkit): the record is the block's
 * last 16 bytes, and the lock is taken only to count the call in the
 * profile. Bigger and aligned blocks go through the chain, as above. */
#include "debug.h"

#include <string.h>

bool mm_debug, mm_debug_records, mm_debug_light, mm_debug_held, mm_debug_started;

MM_HOT bool mm_debug_start(void)
{
    mm_debug_started = true;
    if (mm_opt.stats || mm_opt.leaks || mm_opt.check || mm_opt.trace[0] || !mm_opt.profile[0])
        mm_opt.profile_sample = 0;   /* every block has a record anyway: the profile is exact */
    mm_debug_records = mm_opt.stats || mm_opt.leaks || mm_opt.check || mm_opt.trace[0] || mm_profile_exact();
    mm_debug = mm_debug_records || mm_opt.guard || mm_opt.profile[0];
    if (mm_debug_records)
        mm_record_start();
    mm_debug_light = (mm_opt.leaks || mm_opt.check == 1) && !mm_opt.stats && !mm_opt.trace[0] &&
                     !mm_profile_exact();
    mm_debug_held = mm_profile_exact() && !mm_opt.stats && !mm_opt.leaks && !mm_opt.check && !mm_opt.trace[0] &&
                    !mm_opt.guard;
    return mm_debug;
}

static const char *const names[MM_NCALLS] = { "malloc", "calloc", "realloc", "memalign", "free",
                                               "malloc_usable_size" };

static int capture(uintptr_t *pcs)
{
    return mm_opt.leaks || mm_opt.check || mm_profile_exact() ? mm_stack_capture(pcs, (int)mm_opt.stack_depth)
                                                              : 0;
}

/* The same, with the unwinder's key for a stack it knew whole (0: none). */
static int capture_known(uintptr_t *pcs, uint64_t *key)
{
    *key = 0;
    return mm_opt.leaks || mm_opt.check || mm_profile_exact()
               ? mm_stack_capture_known(pcs, (int)mm_opt.stack_depth, key)
               : 0;
}

/* Every check_every calls with check=2, the whole heap: quietly, and
 * when it is not sound, again with every violation listed. */
static void maybe_check_heap(const char *fn)
{
    static size_t calls;
    if (mm_opt.check < 2 || ++calls % mm_opt.check_every)
        return;
    int errors = mm_check_locked(true);
    if (!errors)
        return;
    mm_print("mymalloc: ERROR: heap-corruption found by check=2 in %s(): %d violation%s of the heap's "
             "invariants:\n", fn, errors, errors == 1 ? "" : "s");
    mm_check_locked(false);
    mm_die_quietly();
}

/* What the heap spends on the block p of n bytes beyond them. */
static size_t overhead(const void *p, size_t n)
{
    return mm_size(mm_chunk_of_mem(p)) - n;
}

/* A new block's record, unless it came from the reserve (a re-entrant
 * call: no records there). */
static void *set_up(void *p, size_t n, int call, int family, uint32_t site)
{
    if (p && !mm_reserve_owns(p))
        mm_record_set(p, n, family, call == MM_CALL_CALLOC, site);
    return p;
}

/* Without stats or trace (mm_debug_light) there is nothing to count, so a
 * block comes from this thread's cache without the lock when it has one,
 * as when quiet, and gets its record and (check=1) its patterns. extra:
 * the bytes of record and redzone after the n asked for. */
static void *alloc_light(size_t n, size_t extra, int call, int family, const char *fn,
                         const uintptr_t *pcs, int depth)
{
    uint32_t site = mm_site_light(pcs, depth);
    size_t nb = mm_plain_size(n + extra, MM_ALIGN);
    void *p;
    if (mm_plain_is_big(nb, MM_ALIGN)) {
        p = mm_alloc_big(n + extra, MM_ALIGN, fn);
    } else {
        mm_chunk *c = nb <= MM_TC_MAX ? mm_cache_take(nb, false, fn) : NULL;
        if (!c) {
            if (!mm_enter())
                return mm_reentered_alloc(n + extra, MM_ALIGN, fn);
            c = mm_alloc_locked(nb, MM_ALIGN, fn);
            mm_leave();
        }
        p = c ? mm_mem(c) : mm_enomem();
    }
    return set_up(p, n, call, family, site);
}

/* profile= alone (mm_debug_held): a small block from this thread's pages,
 * its record in its last bytes; the lock is taken for the profile's count
 * only. NULL: the chain's way (the pages cannot serve it now, or a signal
 * handler came in while its thread holds the lock). */
static void *held_alloc(size_t n, int call, int family, const char *fn, const uintptr_t *pcs, int depth,
                        uint64_t key)
{
    void *p = mm_pages_take(n + MM_RECORD);
    if (!p)
        return NULL;
    struct mm_page *pg = mm_page_of(p);
    if (!mm_enter()) {
        mm_pages_give(pg, p, fn);
        return NULL;
    }
    uint32_t site = mm_site_intern_known(pcs, depth, key);
    mm_record_set_page_block(pg, p, n, family, site);
    mm_count_alloc(call, n, true);
    mm_count_live(site, n, pg->size - n, 1);
    mm_leave();
    if (call == MM_CALL_CALLOC)
        memset(p, 0, n);
    return p;
}

/* old: for realloc, the block being replaced (for the trace). */
static void *alloc(size_t n, size_t align, int call, int family, const void *old)
{
    const char *fn = names[call];
    uintptr_t pcs[64];
    uint64_t key;
    int depth = capture_known(pcs, &key);
    size_t extra = mm_record_extra();
    bool fits = mm_fits(n, align, extra) && n <= MM_RECORD_MAX;
    if (mm_debug_light && fits && align <= MM_ALIGN)
        return alloc_light(n, extra, call, family, fn, pcs, depth);
    void *held;
    if (mm_debug_held && fits && align <= MM_ALIGN && n <= MM_PG_MAX - MM_RECORD &&
        (held = held_alloc(n, call, family, fn, pcs, depth, key)))
        return held;
    if (!mm_enter())
        return fits ? mm_reentered_alloc(n + extra, align, fn) : mm_enomem();
    void *p = NULL;
    if (fits) {
        size_t nb = mm_plain_size(n + extra, align);
        if (mm_plain_is_big(nb, align)) {
            /* a mapping: made without the lock */
            mm_leave();
            p = mm_alloc_big(n + extra, align, fn);
            if (!mm_enter())
                return p;        /* (only a signal handler is refused the lock, and it was not) */
        } else {
            mm_chunk *c = mm_alloc_locked(nb, align, fn);
            p = c ? mm_mem(c) : NULL;
        }
    }
    mm_count_alloc(call, n, p != NULL);
    if (p) {
        uint32_t site = mm_site_intern_known(pcs, depth, key);
        set_up(p, n, call, family, site);
        mm_count_live(site, n, overhead(p, n), 1);
    }
    mm_trace(call, old, n, align, p);
    maybe_check_heap(fn);
    mm_leave();
    return p ? p : mm_enomem();
}

/* Without records: the allocation as when quiet. */
static void *plain_alloc(size_t n, size_t align, int call)
{
    return call == MM_CALL_CALLOC ? mm_calloc(n)
           : align > MM_ALIGN     ? mm_alloc_plain(n, align, "memalign")
                                  : mm_malloc_slow(n);
}

void *mm_debug_alloc_sampled(size_t n, size_t align, int call)
{
    void *p;
    if (mm_pages_on) {           /* the chain's: free's fast path must leave it to the toolkit */
        if ((p = mm_alloc_chain(n, align > MM_ALIGN ? align : MM_ALIGN, names[call])) && call == MM_CALL_CALLOC)
            memset(p, 0, n);
    } else {
        p = plain_alloc(n, align, call);
    }
    if (p)
        mm_sample_note(p, n);
    return p;
}

void *mm_debug_alloc(size_t n, size_t align, int call, int family)
{
    if (!mm_debug_records) {     /* guard alone: the sampled blocks were guarded already */
        if (mm_opt.profile_sample && mm_sample_due(n))
            return mm_debug_alloc_sampled(n, align, call);
        return plain_alloc(n, align, call);
    }
    return alloc(n, align, call, family, NULL);
}

/* A guarded block (guard.c), freed: lock held. */
static bool guarded(const void *p)
{
    return mm_opt.guard && mm_guard_owns(p);
}

/* What frees each family's blocks. */
static const char *const freer[] = { "free", "operator delete", "operator delete[]" };

/* The block behind p, looked up; a write over its header, a second free,
 * or a use, of a block in the quarantine is reported with its stacks. */
static mm_chunk *lookup(void *p, const char *fn, const uintptr_t *pcs, int depth)
{
    mm_underflow_check(p, fn, pcs, depth);
    mm_chunk *c = mm_lookup(p, fn, mm_opt.check ? MM_LOOKUP_QUARANTINED : 0);
    if ((c->head & MM_QUARANTINED) || (mm_opt.check && mm_quarantine_held(c))) {
        struct mm_record *m = mm_record_of(c);
        size_t n = m ? mm_record_asked(m) : 0;
        if (!strncmp(fn, "free", 4) || !strncmp(fn, "operator delete", 15))
            mm_print("mymalloc: ERROR: double-free of the %zu-byte block %p\n", n, p);
        else
            mm_print("mymalloc: ERROR: heap-use-after-free on the %zu-byte block %p: %s() of a freed block\n",
                     n, p, fn);
        mm_error_end(m, true, fn, pcs, depth);
    }
    return c;
}

/* Frees p with the lock held, for free (or operator delete: family,
 * sized) or for realloc (which counts and traces the whole call itself). */
static void free_locked(void *p, int call, const uintptr_t *pcs, int depth, int family, size_t sized)
{
    const char *fn = call == MM_CALL_FREE ? freer[family] : names[call];
    mm_chunk *c = lookup(p, fn, pcs, depth);
    struct mm_record *m = mm_record_of(c);
    mm_family_check(p, m, family, sized, fn);
    size_t n = m ? mm_record_asked(m) : mm_usable(c);
    if (m && mm_opt.check)
        mm_redzone_check(c, m, fn, pcs, depth);
    if (call == MM_CALL_FREE) {
        mm_count_free(n);
        mm_trace(MM_CALL_FREE, p, n, 0, NULL);
    }
    mm_count_live(m ? m->alloc_site : 0, n, mm_size(c) - n, -1);
    if (m && mm_opt.check && mm_opt.quarantine) {
        memset(p, MM_PAT_FREED, (size_t)((char *)m - (char *)p));
        m->free_site = mm_site_intern(pcs, depth);
        if (mm_quarantine_put(c, fn, pcs, depth))
            return;
    }
    mm_free_plain(c, fn);
}

/* Block p of page pg with mm_debug_held, checked as free's inline path
 * checks a page's block (fn names the call in a report): its record (NULL
 * for none) and, in *n, the bytes asked for. */
static struct mm_record *held_block(struct mm_page *pg, const void *p, const char *fn, size_t *n)
{
    if (!mm_pg_allocated(pg, mm_pg_index(pg, p)))
        mm_pages_bad_free(pg, p, fn);
    struct mm_record *m = mm_record_of_page_block(pg, p);
    *n = m ? mm_record_asked(m) : pg->size - MM_RECORD;
    return m;
}

/* The same for a block p of page pg with mm_debug_held (lock not held). A
 * signal handler's free while its thread holds the lock frees the block,
 * but the profile keeps its bytes. */
static void held_free(struct mm_page *pg, void *p, int call, int family, size_t sized)
{
    const char *fn = call == MM_CALL_FREE ? freer[family] : names[call];
    size_t n;
    struct mm_record *m = held_block(pg, p, fn, &n);
    mm_family_check(p, m, family, sized, fn);
    if (mm_enter()) {
        if (call == MM_CALL_FREE)
            mm_count_free(n);
        mm_count_live(m ? m->alloc_site : 0, n, pg->size - n, -1);
        mm_leave();
    }
    mm_pages_give(pg, p, fn);
}

static void guard_free(void *p, int family, size_t sized)
{
    uintptr_t pcs[64];
    int depth = mm_stack_capture(pcs, (int)mm_opt.stack_depth);
    if (!mm_enter())
        return;                  /* a signal handler's free of a guarded block: kept */
    mm_guard_free(p, family, sized, freer[family], pcs, depth);
    mm_leave();
}

/* check=1 alone (nothing to count): a small block that passes every check
 * goes to this thread's batch of the quarantine without the lock. Any
 * check that fails leaves the block to the locked path, which reports. */
static bool free_unlocked(void *p, int family, size_t sized)
{
    if (!mm_cacheable_size(p, MM_TC_TOO_BIG))
        return false;
    mm_chunk *c = mm_chunk_of_mem(p);
    struct mm_record *m = mm_record_of(c);
    if (!m || mm_quarantine_held(c) || mm_record_family(m) != family || (sized && sized != mm_record_asked(m)))
        return false;
    size_t first, last;
    if (mm_pattern_changed(p, mm_record_asked(m), (size_t)((char *)m - (char *)p), MM_PAT_RED, &first, &last))
        return false;
    uintptr_t pcs[64];
    int depth = capture(pcs);
    return mm_quarantine_hold(c, m, mm_site_light(pcs, depth), freer[family], pcs, depth);
}

void mm_debug_free(void *p, int family, size_t sized)
{
    if (!p)
        return;
    struct mm_page *pg;
    if (mm_debug_held && (pg = mm_page_of(p)) != NULL) {
        held_free(pg, p, MM_CALL_FREE, family, sized);
        return;
    }
    if (mm_opt.profile_sample && MM_UNLIKELY(mm_sample_maybe(p)))
        mm_sample_forget(p);     /* then freed as any block is */
    if (guarded(p)) {
        guard_free(p, family, sized);
        return;
    }
    if (!mm_debug_records) {
        mm_free_slow(p);
        return;
    }
    if (mm_debug_light && !mm_opt.check && mm_cacheable_size(p, 0)) {
        /* leaks=1 alone: as when quiet, through the caches, once the
         * record (of a chunk the lockless check vouches for) agrees */
        mm_family_check(p, mm_record_of(mm_chunk_of_mem(p)), family, sized, freer[family]);
        mm_free_slow(p);
        return;
    }
    if (mm_debug_light && mm_opt.check && mm_opt.quarantine && free_unlocked(p, family, sized))
        return;
    uintptr_t pcs[64];
    int depth = mm_opt.check ? capture(pcs) : 0;
    if (mm_reserve_owns(p)) {
        mm_reserve_free(p, "free");
        return;
    }
    if (!mm_enter()) {
        mm_reentered_free(p, "free");
        return;
    }
    free_locked(p, MM_CALL_FREE, pcs, depth, family, sized);
    maybe_check_heap(freer[family]);
    mm_leave();
}

size_t mm_debug_usable(const void *p)
{
    if (!p)
        return 0;
    struct mm_page *pg;
    if (mm_debug_held && (pg = mm_page_of(p)) != NULL) {
        size_t n;
        held_block(pg, p, "malloc_usable_size", &n);
        return n;
    }
    if (mm_pages_on && mm_page_of(p))
        return mm_usable_size(p);    /* guard alone keeps the pages on: theirs */
    if (guarded(p)) {
        if (!mm_enter())
            return 0;            /* (a signal handler's: not looked at) */
        size_t n = mm_guard_size(p);
        mm_leave();
        return n;
    }
    if (!mm_debug_records)
        return mm_usable_size(p);
    if (mm_reserve_owns(p))
        return mm_reserve_usable(p);
    if (!mm_enter())
        return mm_reentered_usable(p);
    mm_chunk *c = mm_lookup(p, "malloc_usable_size", 0);
    struct mm_record *m = mm_record_of(c);
    size_t n = m ? mm_record_asked(m) : mm_usable(c);
    mm_count_call(MM_CALL_USABLE);
    mm_leave();
    return n;
}

static void *realloc_alloc(size_t n) { return alloc(n, MM_ALIGN, MM_CALL_REALLOC, MM_FAMILY_MALLOC, NULL); }
static void reserve_release(void *p) { mm_reserve_free(p, "realloc"); }

/* realloc keeps the block in place when the heap can, as without the
 * debugging options (growing strings would copy forever otherwise), and
 * the record moves to the new end; otherwise it moves the block (with
 * check=1, a stale pointer to the old block is then a use after free that
 * can be seen). */
/* profile_sample without records: realloc is a free of the old block and
 * an allocation of n bytes, for the profile (as tcmalloc counts it); the
 * block itself is resized as when quiet. */
static void *sample_realloc(void *p, size_t n)
{
    bool due = mm_sample_due(n);
    void *q = mm_realloc(p, n);
    if (!q)
        return NULL;                 /* the old block stays, and its sample */
    if (due && mm_pages_on && mm_page_of(q)) {
        /* a sampled block is the chain's (see mm_debug_alloc_sampled) */
        void *c = mm_alloc_chain(n, MM_ALIGN, "realloc");
        if (c) {
            memcpy(c, q, n);
            mm_free(q);
            q = c;
        } else {
            due = false;             /* not sampled: the profile misses n bytes */
        }
    }
    if (mm_sample_maybe(p))
        mm_sample_forget(p);
    if (due)
        mm_sample_note(q, n);
    return q;
}

/* realloc of a block p of page pg with mm_debug_held: it stays as when
 * quiet (its record, in its last bytes, counted in), the record
 * rewritten; else it moves. */
static void *held_realloc(struct mm_page *pg, void *p, size_t n)
{
    size_t old;
    struct mm_record *m = held_block(pg, p, "realloc", &old);
    mm_family_check(p, m, MM_FAMILY_MALLOC, 0, "realloc");
    if (mm_pg_stays(pg->size, n + MM_RECORD)) {
        uintptr_t pcs[64];
        uint64_t key;
        int depth = capture_known(pcs, &key);
        if (mm_enter()) {
            uint32_t site = mm_site_intern_known(pcs, depth, key);
            mm_count_alloc(MM_CALL_REALLOC, n, true);
            mm_count_live(m ? m->alloc_site : 0, old, pg->size - old, -1);
            mm_count_live(site, n, pg->size - n, 1);
            mm_record_set_page_block(pg, p, n, MM_FAMILY_MALLOC, site);
            mm_leave();
            return p;
        }
    }
    if (!mm_fits(n, MM_ALIGN, MM_RECORD))
        return mm_enomem();      /* the old block stays */
    void *q = alloc(n, MM_ALIGN, MM_CALL_REALLOC, MM_FAMILY_MALLOC, p);
    if (!q)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    held_free(pg, p, MM_CALL_REALLOC, MM_FAMILY_MALLOC, 0);
    return q;
}

void *mm_debug_realloc(void *p, size_t n)
{
    struct mm_page *pg;
    if (mm_debug_held && p && n && (pg = mm_page_of(p)) != NULL)
        return held_realloc(pg, p, n);
    if (p && n && mm_opt.profile_sample && !mm_debug_records && !guarded(p))
        return sample_realloc(p, n);
    /* guard alone keeps the pages on: a block of theirs is resized by them */
    if (p && mm_pages_on && mm_page_of(p))
        return mm_realloc(p, n);
    if (!p && !mm_debug_records)
        return mm_debug_alloc(n, MM_ALIGN, MM_CALL_MALLOC, MM_FAMILY_MALLOC);
    if (!p)
        return alloc(n, MM_ALIGN, MM_CALL_MALLOC, MM_FAMILY_MALLOC, NULL);
    if (n == 0) {                /* glibc: free, and return NULL */
        mm_debug_free(p, MM_FAMILY_MALLOC, 0);
        return NULL;
    }
    if (mm_reserve_owns(p))
        return mm_move(p, mm_reserve_usable(p), n, realloc_alloc, reserve_release);
    if (guarded(p)) {
        size_t old = mm_debug_usable(p);
        void *q = mm_debug_records ? alloc(n, MM_ALIGN, MM_CALL_REALLOC, MM_FAMILY_MALLOC, p) : mm_malloc(n);
        if (q) {
            memcpy(q, p, old < n ? old : n);
            guard_free(p, MM_FAMILY_MALLOC, 0);
        }
        return q;
    }
    if (!mm_debug_records)
        return mm_realloc(p, n);
    uintptr_t pcs[64];
    int depth = capture(pcs);
    if (!mm_enter())
        return mm_reentered_realloc(p, n);
    mm_chunk *c = lookup(p, "realloc", pcs, depth);
    struct mm_record *m = mm_record_of(c);
    mm_family_check(p, m, MM_FAMILY_MALLOC, 0, "realloc");
    if (m && mm_opt.check)
        mm_redzone_check(c, m, "realloc", pcs, depth);
    size_t old = m ? mm_record_asked(m) : mm_usable(c), extra = mm_record_extra();
    if (!mm_fits(n, MM_ALIGN, extra)) {
        mm_leave();
        return mm_enomem();      /* the old block stays */
    }
    uint32_t old_site = m ? m->alloc_site : 0;
    size_t old_size = mm_size(c);
    if (m && !(c->head & MM_MMAPPED) && mm_resize_in_place(c, n, extra)) {
        uint32_t site = mm_site_intern(pcs, depth);
        mm_record_resized(p, old, n, site);
        mm_count_alloc(MM_CALL_REALLOC, n, true);
        mm_count_live(old_site, old, old_size - old, -1);
        mm_count_live(site, n, overhead(p, n), 1);
        mm_trace(MM_CALL_REALLOC, p, n, 0, p);
        mm_leave();
        return p;
    }
    mm_leave();
    void *q = alloc(n, MM_ALIGN, MM_CALL_REALLOC, MM_FAMILY_MALLOC, p);
    if (!q)
        return NULL;             /* the old block stays */
    memcpy(q, p, old < n ? old : n);
    if (mm_enter()) {
        free_locked(p, MM_CALL_REALLOC, pcs, depth, MM_FAMILY_MALLOC, 0);
        mm_leave();
    }
    return q;
}

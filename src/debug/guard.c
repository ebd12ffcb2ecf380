/* guard.c -- guard=N: one allocation in N sits against a page that no one
 * may touch, as GWP-ASan's do; a freed one's pages are made inaccessible
 * too while it waits in the quarantine. The first wrong access faults,
 * and the fault handler says what happened, where, and to which block.
 *
 * Guarded blocks live apart from the heap, in regions of slots, one size
 * class of slots a region (1, 2, 4, ..., 256 pages). Each slot's pages lie
 * between two guard pages, which are never made accessible:
 *
 *     | guard | slot 0's pages | guard | slot 1's pages | guard | ...
 *
 * The block lies against the slot's end (guard_side=end: an overflow
 * faults at its first byte past the end, but for the alignment slack,
 * which is checked with a pattern at free) or against its start
 * (guard_side=start: an underflow faults). What a slot holds is recorded
 * out of line, in the region's table, where the program cannot write it.
 *
 * Everything here runs with the lock held, but the fault handler, which
 * only reads: regions are added, never taken away, and each is published
 * whole before it is linked. */
#include "debug.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ucontext.h>
#include <unistd.h>

enum { SLOT_UNUSED, SLOT_LIVE, SLOT_QUARANTINED, SLOT_FREE };
#define NCLASSES 9                 /* slots of 1 to 256 pages */
#define REGION_SLOTS 1024          /* slots a region: the class's address space grows by these */

struct slot {
    uintptr_t mem;                 /* the block (0: none yet) */
    size_t n;                      /* bytes asked for */
    uint32_t alloc_site, free_site;
    uint32_t pid;
    uint8_t state, family;
    struct slot *next;             /* in its class's free list, or the quarantine */
};

struct region {
    uintptr_t base, end;           /* [guard slot guard slot ... guard] */
    size_t stride;                 /* a guard page and the slot's pages */
    unsigned cls;
    size_t used;                   /* slots handed out at least once */
    struct region *next;
    struct slot slot[REGION_SLOTS];
};

static struct region *regions;               /* every region, newest first */
static struct region *current[NCLASSES];     /* where new slots are carved */
static struct slot *free_slots[NCLASSES];
static struct slot *q_head, *q_tail;         /* the quarantine, oldest first */
static size_t q_bytes;
static size_t guarded_total;                 /* blocks guarded since start */
static struct sigaction old_segv, old_bus;

static size_t slot_bytes(unsigned cls) { return mm_page << cls; }

static struct region *region_of_slot(const struct slot *s)
{
    for (struct region *r = __atomic_load_n(&regions, __ATOMIC_ACQUIRE); r; r = r->next)
        if (s >= r->slot && s < r->slot + REGION_SLOTS)
            return r;
    return NULL;
}

static uintptr_t slot_data(const struct region *r, const struct slot *s)
{
    return r->base + (size_t)(s - r->slot) * r->stride + mm_page;
}

static struct region *new_region(unsigned cls)
{
    size_t stride = mm_page + slot_bytes(cls), len = REGION_SLOTS * stride + mm_page;
    void *base = mm_os_reserve(len);
    struct region *r = base ? mm_os_map_own(sizeof *r) : NULL;
    if (!r) {
        if (base)
            mm_os_unmap(base, len);
        return NULL;
    }
    *r = (struct region){ .base = (uintptr_t)base, .end = (uintptr_t)base + len, .stride = stride,
                          .cls = cls, .next = regions };
    __atomic_store_n(&regions, r, __ATOMIC_RELEASE);
    return r;
}

/* A slot of class cls, its pages accessible; NULL without memory. */
static struct slot *take_slot(unsigned cls)
{
    struct slot *s = free_slots[cls];
    struct region *r;
    if (s) {
        free_slots[cls] = s->next;
        r = region_of_slot(s);
    } else {
        r = current[cls];
        if (!r || r->used == REGION_SLOTS) {
            if (!(r = new_region(cls)))
                return NULL;
            current[cls] = r;
        }
        s = &r->slot[r->used++];
    }
    if (!mm_os_protect((void *)slot_data(r, s), slot_bytes(cls), true)) {
        s->state = SLOT_FREE;
        s->next = free_slots[cls];
        free_slots[cls] = s;
        return NULL;
    }
    return s;
}

void *mm_guard_alloc(size_t n, size_t align, int family, bool zero, const uintptr_t *pcs, int depth)
{
    if (align < MM_ALIGN)
        align = MM_ALIGN;
    if (align > mm_page || n > slot_bytes(NCLASSES - 1) - align)
        return NULL;                 /* not guarded: the heap serves it */
    unsigned cls = 0;
    while (slot_bytes(cls) < n + (mm_opt.guard_side ? 0 : align - 1))
        cls++;
    struct slot *s = take_slot(cls);
    if (!s)
        return NULL;
    struct region *r = region_of_slot(s);
    uintptr_t data = slot_data(r, s), end = data + slot_bytes(cls);
    /* against the end; malloc(0) gets a byte there, not the guard page's address */
    uintptr_t mem = mm_opt.guard_side ? data : (end - (n ? n : 1)) & ~(uintptr_t)(align - 1);
    guarded_total++;
    *s = (struct slot){ .mem = mem, .n = n, .alloc_site = mm_site_intern(pcs, depth),
                        .pid = (uint32_t)mm_os_pid(), .state = SLOT_LIVE, .family = (uint8_t)family };
    memset((void *)data, MM_PAT_RED, mem - data);            /* before and after the block: */
    memset((void *)mem, zero ? 0 : mm_opt.check ? MM_PAT_NEW : 0, n);
    memset((void *)(mem + n), MM_PAT_RED, end - mem - n);    /* checked at free, and at exit */
    return (void *)mem;
}

/* The slot's record as the toolkit's reports read it. */
static struct mm_record as_record(const struct slot *s)
{
    struct mm_record m = { .word = s->n | (uint64_t)s->family << 46, .alloc_site = s->alloc_site };
    m.free_site = s->free_site;
    return m;
}

/* The bytes of the slot around the block still hold their pattern, or a
 * report ("exit": and the program goes on). */
static void check_around(struct region *r, struct slot *s, const char *fn, const uintptr_t *pcs, int depth)
{
    uintptr_t data = slot_data(r, s), end = data + slot_bytes(r->cls);
    const unsigned char *p = (const unsigned char *)s->mem;
    size_t first, last;
    struct mm_record m = as_record(s);
    if (mm_pattern_changed(p, s->n, end - s->mem, MM_PAT_RED, &first, &last)) {
        mm_print("mymalloc: ERROR: heap-buffer-overflow on the %zu-byte block %p: %zu byte%s written past "
                 "its end, from offset %zu\n", s->n, (void *)p, last - s->n + 1, last == s->n ? "" : "s", first);
        mm_error_end(&m, false, fn, pcs, depth);
    } else if (mm_pattern_changed((const unsigned char *)data, 0, s->mem - data, MM_PAT_RED, &first, &last)) {
        mm_print("mymalloc: ERROR: heap-buffer-underflow on the %zu-byte block %p: %zu byte%s written before "
                 "its start, from offset -%zu\n", s->n, (void *)p, s->mem - data - first,
                 s->mem - data - first == 1 ? "" : "s", s->mem - data - first);
        mm_error_end(&m, false, fn, pcs, depth);
    }
}

/* ---- sampling ---- */

/* The allocations this thread has left before the next guarded one: the
 * export counts it down (api.c); at 0 it calls mm_guard_sampled. 1 at a
 * thread's start, so that its first allocation sets it. */
__thread uint64_t mm_guard_left MM_TLS = 1;
static __thread uint64_t rng MM_TLS;

/* A gap drawn between 1 and 2N - 1, so that one allocation in N is
 * guarded on average, and no pattern of the program's can dodge it. */
static uint64_t next_gap(void)
{
    if (mm_opt.guard <= 1)
        return 1;
    if (!rng)
        rng = mm_os_random() ^ (uintptr_t)&rng;
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return 1 + rng % (2 * mm_opt.guard - 1);
}

static struct slot *slot_of(uintptr_t a, struct region **rp);

MM_HOT void *mm_guard_sampled(size_t n, size_t align, int family, bool zero)
{
    if (!mm_opt.guard || !mm_debug_started) {
        /* not before MM_TICK more calls (the caller's tick); but before the
         * toolkit starts (the loader's calls, and those of the libraries
         * whose constructors run before this library's: ls's libselinux
         * mallocs and frees there), ask again at the next one, unless the
         * options are read and sample nothing. A block guarded then would
         * be freed on the quiet path, which does not know guarded blocks. */
        bool sampling = mm_debug_started ? mm_sample_pages
                                         : !mm_options_loaded() || mm_opt.guard || mm_opt.profile_sample;
        mm_guard_left = sampling ? 1 : MM_TICK;
        return NULL;
    }
    bool first = rng == 0 && mm_opt.guard > 1;
    mm_guard_left = next_gap();
    if (first)
        return NULL;                 /* a thread's first allocation only draws the gap */
    uintptr_t pcs[64];
    int depth = mm_stack_capture(pcs, (int)mm_opt.stack_depth);
    if (!mm_enter())
        return NULL;
    void *p = mm_guard_alloc(n, align, family, zero, pcs, depth);
    if (p) {
        int call = zero ? MM_CALL_CALLOC : align > MM_ALIGN ? MM_CALL_MEMALIGN : MM_CALL_MALLOC;
        mm_count_alloc(call, n, true);
        struct region *r;
        struct slot *s = slot_of((uintptr_t)p, &r);
        mm_count_live(s ? s->alloc_site : 0, n, s ? slot_bytes(r->cls) - n : 0, 1);
        mm_trace(call, NULL, n, align, p);
    }
    mm_leave();
    return p;
}

/* The slot that holds address a, its region in *rp; NULL when a is in no
 * slot's pages. */
static struct slot *slot_of(uintptr_t a, struct region **rp)
{
    for (struct region *r = __atomic_load_n(&regions, __ATOMIC_ACQUIRE); r; r = r->next) {
        if (a < r->base || a >= r->end)
            continue;
        *rp = r;
        size_t i = (a - r->base) / r->stride;
        return i < REGION_SLOTS && (a - r->base) % r->stride >= mm_page ? &r->slot[i] : NULL;
    }
    *rp = NULL;
    return NULL;
}

void mm_guard_counts(size_t *live, size_t *total)
{
    *live = 0;
    for (struct region *r = regions; r; r = r->next)
        for (size_t i = 0; i < r->used; i++)
            *live += r->slot[i].state == SLOT_LIVE;
    *total = guarded_total;
}

bool mm_guard_owns(const void *p)
{
    for (struct region *r = __atomic_load_n(&regions, __ATOMIC_ACQUIRE); r; r = r->next)
        if ((uintptr_t)p >= r->base && (uintptr_t)p < r->end)
            return true;
    return false;
}


static void quarantine(struct slot *s, struct region *r)
{
    size_t bytes = slot_bytes(r->cls);
    mm_os_protect((void *)slot_data(r, s), bytes, false);
    s->state = SLOT_QUARANTINED;
    s->next = NULL;
    if (q_tail)
        q_tail->next = s;
    else
        q_head = s;
    q_tail = s;
    q_bytes += bytes;
    /* the oldest leave, still inaccessible until taken again, their
     * records too */
    while (q_head && q_bytes > mm_opt.quarantine) {
        struct slot *o = q_head;
        struct region *or = region_of_slot(o);
        q_head = o->next;
        if (!q_head)
            q_tail = NULL;
        q_bytes -= slot_bytes(or->cls);
        o->state = SLOT_FREE;
        o->next = free_slots[or->cls];
        free_slots[or->cls] = o;
    }
}

void mm_guard_free(void *p, int family, size_t sized, const char *fn, const uintptr_t *pcs, int depth)
{
    struct region *r;
    struct slot *s = slot_of((uintptr_t)p, &r);
    if (!s || s->mem != (uintptr_t)p || (s->state != SLOT_LIVE && s->state != SLOT_QUARANTINED))
        mm_die(fn, "invalid pointer %p: not the start of a block (a guarded one)", p);
    struct mm_record m = as_record(s);
    if (s->state == SLOT_QUARANTINED) {
        mm_print("mymalloc: ERROR: double-free of the %zu-byte block %p\n", s->n, p);
        mm_error_end(&m, true, fn, pcs, depth);
    }
    mm_family_check(p, &m, family, sized, fn);
    check_around(r, s, fn, pcs, depth);
    s->free_site = mm_site_intern(pcs, depth);
    mm_count_free(s->n);
    mm_count_live(s->alloc_site, s->n, slot_bytes(r->cls) - s->n, -1);
    mm_trace(MM_CALL_FREE, p, s->n, 0, NULL);
    quarantine(s, r);
}

/* Around each live block, at exit: the writes no free looked at. */
void mm_guard_check_live(void)
{
    for (struct region *r = regions; r; r = r->next)
        for (size_t i = 0; i < r->used; i++)
            if (r->slot[i].state == SLOT_LIVE)
                check_around(r, &r->slot[i], "exit", NULL, 0);
}

size_t mm_guard_size(const void *p)
{
    struct region *r;
    struct slot *s = slot_of((uintptr_t)p, &r);
    if (!s || s->mem != (uintptr_t)p || s->state != SLOT_LIVE)
        mm_die("malloc_usable_size", "invalid pointer %p (a guarded block, freed or not its start)", p);
    return s->n;
}

void mm_guard_each(void (*fn)(uintptr_t start, size_t n, uint32_t site, int pid, void *arg), void *arg)
{
    for (struct region *r = regions; r; r = r->next)
        for (size_t i = 0; i < r->used; i++)
            if (r->slot[i].state == SLOT_LIVE)
                fn(r->slot[i].mem, r->slot[i].n, r->slot[i].alloc_site, (int)r->slot[i].pid, arg);
}

bool mm_guard_each_region(bool (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg)
{
    for (struct region *r = regions; r; r = r->next)
        if (!fn(r->base, r->end, arg))
            return false;
    return true;
}

/* ---- the fault handler ---- */

/* Hands a fault that is not ours to whoever would have had it. */
static void pass_on(int sig, siginfo_t *si, void *ctx)
{
    const struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
    if (old->sa_handler == SIG_DFL || old->sa_handler == SIG_IGN) {
        signal(sig, SIG_DFL);        /* the access runs again, and kills as it would have */
        return;
    }
    if (old->sa_flags & SA_SIGINFO)
        old->sa_sigaction(sig, si, ctx);
    else
        old->sa_handler(sig);
}

/* The live or freed block an access at a concerns, and which way it
 * missed: the slot that holds it, or, in a guard page, the nearer of the
 * blocks on either side. */
static struct slot *concerned(uintptr_t a, struct region *r, bool *in_slot)
{
    size_t i = (a - r->base) / r->stride;
    *in_slot = (a - r->base) % r->stride >= mm_page && i < REGION_SLOTS;
    if (*in_slot)
        return &r->slot[i];
    struct slot *before = i > 0 && i - 1 < r->used ? &r->slot[i - 1] : NULL;
    struct slot *after = i < r->used ? &r->slot[i] : NULL;
    if (before && before->state == SLOT_UNUSED)
        before = NULL;
    if (after && after->state == SLOT_UNUSED)
        after = NULL;
    if (!before || !after)
        return before ? before : after;
    return a - (before->mem + before->n) <= after->mem - a ? before : after;
}

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
    uintptr_t a = (uintptr_t)si->si_addr;
    struct region *r = NULL;
    for (struct region *x = __atomic_load_n(&regions, __ATOMIC_ACQUIRE); x && !r; x = x->next)
        if (a >= x->base && a < x->end)
            r = x;
    bool in_slot;
    struct slot *s = r ? concerned(a, r, &in_slot) : NULL;
    if (!s || s->state == SLOT_UNUSED) {      /* a wild access, not near a block of ours */
        pass_on(sig, si, ctx);
        return;
    }
    const ucontext_t *uc = ctx;
    const char *what = uc->uc_mcontext.gregs[REG_ERR] & 2 ? "a write" : "a read";
    bool freed = s->state != SLOT_LIVE;
    if (freed)
        mm_print("mymalloc: ERROR: heap-use-after-free on the %zu-byte block %p: %s at %p, offset %ld, after "
                 "it was freed\n", s->n, (void *)s->mem, what, (void *)a, (long)(a - s->mem));
    else if (a >= s->mem + s->n)
        mm_print("mymalloc: ERROR: heap-buffer-overflow on the %zu-byte block %p: %s at %p, %zu byte%s past "
                 "its end\n", s->n, (void *)s->mem, what, (void *)a, (size_t)(a - s->mem - s->n),
                 a - s->mem - s->n == 1 ? "" : "s");
    else
        mm_print("mymalloc: ERROR: heap-buffer-underflow on the %zu-byte block %p: %s at %p, %zu byte%s "
                 "before its start\n", s->n, (void *)s->mem, what, (void *)a, (size_t)(s->mem - a),
                 s->mem - a == 1 ? "" : "s");
    uintptr_t pcs[64];
    int depth = mm_stack_capture_context(ctx, pcs, (int)mm_opt.stack_depth);
    mm_print("  the access was made by:\n");
    mm_frames_print(pcs, depth, "    ");
    mm_print("  the block was allocated by:\n");
    mm_site_print(s->alloc_site, "    ");
    if (freed) {
        mm_print("  and freed by:\n");
        mm_site_print(s->free_site, "    ");
    }
    signal(SIGABRT, SIG_DFL);
    abort();
}

void mm_guard_init(void)
{
    if (!mm_opt.guard)
        return;
    struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_ONSTACK };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
}

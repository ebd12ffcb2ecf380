/* api.c -- the exported names, and nothing else.
 *
 * Each export is the fast path of front/ (inline: a thread cache, no lock),
 * then one branch into the toolkit (debug/) when a debugging option is on,
 * then front/'s slow path. The secondary functions are built on the core
 * ones: reallocarray checks overflow and calls realloc, posix_memalign,
 * aligned_alloc, valloc and pvalloc share memalign's path, and C++'s
 * operator new and delete share malloc's and free's. Built with
 * -DMYMALLOC_TOOLKIT=OFF, the branch is not there at all. */
#include "front/front.h"
#include "../include/mymalloc.h"

#ifdef MM_NO_TOOLKIT
#define TOOLKIT false
#else
#include "debug/debug.h"
#define TOOLKIT MM_UNLIKELY(mm_debug)
#endif

#include <errno.h>
#include <malloc.h>
#include <string.h>

#ifdef MM_NO_TOOLKIT
enum { MM_FAMILY_MALLOC, MM_FAMILY_NEW, MM_FAMILY_NEW_ARRAY };
/* Without the toolkit there is no guard countdown: the tick has its own. */
static __thread uint32_t tick_left MM_TLS = MM_TICK;
static __attribute__((noinline, cold)) void *acquire_ticked(size_t n)
{
    tick_left = MM_TICK;
    mm_front_tick();
    return mm_malloc(n);
}
#endif

/* malloc, and operator new before its handler loop. The inline path is
 * the pages'; every other way is a call in tail position, so that the
 * inline path saves no register and sets up no frame. */
MM_HOT static __attribute__((noinline)) void *acquire_rest(size_t n, int family)
{
#ifndef MM_NO_TOOLKIT
    if (TOOLKIT)
        return mm_debug_alloc(n, MM_ALIGN, MM_CALL_MALLOC, family);
#endif
    (void)family;
    return mm_malloc_slow(n);
}

#ifndef MM_NO_TOOLKIT
/* guard=N: one allocation in N, drawn at random, is guarded; without it,
 * the countdown comes to zero every MM_TICK allocations: the tick. */
static __attribute__((noinline, cold)) void *acquire_guarded(size_t n, int family)
{
    if (mm_sample_pages) {
        /* profile_sample: every malloc counts its bytes down; one that is
         * not sampled takes the pages' path, as when quiet */
        static __thread unsigned ticks MM_TLS;
        mm_guard_left = 1;
        if (MM_UNLIKELY(++ticks % MM_TICK == 0))
            mm_front_tick();
        if (MM_UNLIKELY(mm_sample_due(n)))
            return mm_debug_alloc_sampled(n, MM_ALIGN, MM_CALL_MALLOC);
        void *p = mm_malloc_fast(n);
        return p ? p : mm_malloc_slow(n);
    }
    void *g = mm_guard_sampled(n, MM_ALIGN, family, false);
    if (g)
        return g;
    mm_front_tick();
    void *p = mm_malloc_fast(n);
    return p ? p : acquire_rest(n, family);
}
#endif

static inline __attribute__((always_inline)) void *acquire(size_t n, int family)
{
#ifndef MM_NO_TOOLKIT
    if (MM_UNLIKELY(--mm_guard_left == 0))
        return acquire_guarded(n, family);
#else
    if (MM_UNLIKELY(--tick_left == 0))
        return acquire_ticked(n);
#endif
    void *p = mm_malloc_fast(n);
    if (MM_LIKELY(p != NULL))
        return p;
    return acquire_rest(n, family);
}

/* free, and every operator delete: family and sized tell the toolkit who
 * may free the block and how big it is. */
MM_HOT static __attribute__((noinline)) void release_rest(void *p, int family, size_t sized)
{
#ifndef MM_NO_TOOLKIT
    if (TOOLKIT) {
        mm_debug_free(p, family, sized);
        return;
    }
#endif
    (void)family, (void)sized;
    mm_free_slow(p);
}

static inline __attribute__((always_inline)) void release(void *p, int family, size_t sized)
{
    if (MM_LIKELY(mm_free_fast(p)))
        return;
    release_rest(p, family, sized);
}

MM_HOT MM_EXPORT void *malloc(size_t n) { return acquire(n, MM_FAMILY_MALLOC); }
MM_HOT MM_EXPORT void free(void *p) { release(p, MM_FAMILY_MALLOC, 0); }

MM_HOT MM_EXPORT void *calloc(size_t n, size_t m)
{
    size_t total;
    if (!mm_calloc_size(n, m, &total))
        return mm_enomem();
#ifndef MM_NO_TOOLKIT
    if (MM_UNLIKELY(--mm_guard_left == 0)) {
        void *g = mm_guard_sampled(total, MM_ALIGN, MM_FAMILY_MALLOC, true);
        if (g)
            return g;
    }
    if (TOOLKIT)
        return mm_debug_alloc(total, MM_ALIGN, MM_CALL_CALLOC, MM_FAMILY_MALLOC);
#endif
    return mm_calloc(total);
}

MM_HOT MM_EXPORT void *realloc(void *p, size_t n)
{
#ifndef MM_NO_TOOLKIT
    if (TOOLKIT)
        return mm_debug_realloc(p, n);
#endif
    return mm_realloc(p, n);
}

MM_HOT MM_EXPORT void *reallocarray(void *p, size_t n, size_t m)
{
    size_t total;
    if (__builtin_mul_overflow(n, m, &total))
        return mm_enomem();
    return realloc(p, total);
}

/* memalign and the functions built on it. */
MM_HOT static void *aligned(size_t align, size_t n, int family, const char *fn)
{
    if (align <= MM_ALIGN)
        return acquire(n, family);
    if (!(align = mm_memalign_align(align, n)))
        return NULL;
#ifndef MM_NO_TOOLKIT
    if (MM_UNLIKELY(--mm_guard_left == 0)) {
        void *g = mm_guard_sampled(n, align, family, false);
        if (g)
            return g;
    }
    if (TOOLKIT)
        return mm_debug_alloc(n, align, MM_CALL_MEMALIGN, family);
#endif
    return mm_alloc_plain(n, align, fn);
}

MM_HOT MM_EXPORT void *memalign(size_t align, size_t n) { return aligned(align, n, MM_FAMILY_MALLOC, "memalign"); }
MM_HOT MM_EXPORT void *aligned_alloc(size_t align, size_t n) { return aligned(align, n, MM_FAMILY_MALLOC, "aligned_alloc"); }

/* EINVAL for an alignment that is not a power-of-two multiple of
 * sizeof(void *); on failure errno is ENOMEM too, as glibc leaves it. */
MM_HOT MM_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (align % sizeof(void *) || !mm_is_pow2(align))
        return EINVAL;
    int e = errno;
    void *p = aligned(align, n, MM_FAMILY_MALLOC, "posix_memalign");
    if (!p)
        return ENOMEM;
    errno = e;
    *out = p;
    return 0;
}

static size_t page_size(void)
{
    if (!__atomic_load_n(&mm_ready, __ATOMIC_ACQUIRE))
        mm_front_init();
    return mm_page;
}

MM_HOT MM_EXPORT void *valloc(size_t n) { return aligned(page_size(), n, MM_FAMILY_MALLOC, "valloc"); }

MM_HOT MM_EXPORT void *pvalloc(size_t n)
{
    size_t page = page_size();
    if (n > MM_MAX_REQUEST)
        return mm_enomem();
    return aligned(page, mm_align_up(n ? n : 1, page), MM_FAMILY_MALLOC, "pvalloc");
}

MM_HOT MM_EXPORT size_t malloc_usable_size(void *p)
{
#ifndef MM_NO_TOOLKIT
    if (TOOLKIT)
        return mm_debug_usable(p);
#endif
    return mm_usable_size(p);
}

MM_EXPORT int malloc_trim(size_t pad) { return mm_trim(pad); }

/* glibc's answers: 1 for every parameter and value, but M_MXFAST beyond
 * its largest fast bin (160 bytes). The three thresholds are set, within
 * their options' bounds (a negative value is a huge size to glibc: the
 * largest); the rest have nothing to set here (no fast bins, no arenas, no
 * limit on mappings, no perturb bytes: check=1 fills blocks) and are taken
 * as no-ops, as glibc takes a parameter it does not know. */
MM_EXPORT int mallopt(int param, int value)
{
    size_t v = (size_t)(long)value, *field;
    const char *name;
    switch (param) {
    case M_MXFAST: return v <= 160;
    case M_MMAP_THRESHOLD: field = &mm_heap.mmap_threshold; name = "mmap_threshold"; break;
    case M_TRIM_THRESHOLD: field = &mm_heap.trim_threshold; name = "trim_threshold"; break;
    case M_TOP_PAD: field = &mm_heap.top_pad; name = "top_pad"; break;
    default: return 1;
    }
    if (!mm_enter())
        return 0;
    *field = mm_options_clamp(name, v);
    mm_heap.thresholds_fixed = true;
    mm_leave();
    return 1;
}

/* ---- C++: operator new and delete, every form ----
 * Served by the same allocator; with a debugging option on, a block
 * remembers which family made it, and freeing it with another is reported.
 * When there is no memory, operator new calls the program's new-handler
 * and tries again, and without one throws std::bad_alloc, as libstdc++'s
 * does: both through libstdc++ itself, found at load time if the program
 * has it (a C++ program does), without the library depending on it. The
 * nothrow forms return NULL instead of throwing (a new-handler that throws
 * from inside one is not caught: that needs C++). */
typedef void (*new_handler)(void);
extern new_handler _ZSt15get_new_handlerv(void) __attribute__((weak));   /* std::get_new_handler */
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));   /* throws std::bad_alloc */

MM_HOT static void *cxx_new(size_t n, size_t align, int family, bool nothrow)
{
    for (;;) {
        void *p = aligned(align, n, family, family == MM_FAMILY_NEW ? "operator new" : "operator new[]");
        if (MM_LIKELY(p != NULL))
            return p;
        new_handler h = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
        if (h) {
            h();
            continue;
        }
        if (nothrow)
            return NULL;
        if (_ZSt17__throw_bad_allocv)
            _ZSt17__throw_bad_allocv();
        mm_die(family == MM_FAMILY_NEW ? "operator new" : "operator new[]",
               "no memory for %zu bytes, and no C++ runtime to throw std::bad_alloc", n);
    }
}

/* The names are the mangled ones (x86-64: size_t is m, std::align_val_t
 * St11align_val_t, const std::nothrow_t& RKSt9nothrow_t). */
#define NEW(name, args, ...) MM_EXPORT void *name args; MM_HOT void *name args { return __VA_ARGS__; }
#define DELETE(name, args, ...) MM_EXPORT void name args; MM_HOT void name args { __VA_ARGS__; }
struct nothrow;
NEW(_Znwm, (size_t n), cxx_new(n, MM_ALIGN, MM_FAMILY_NEW, false))
NEW(_Znam, (size_t n), cxx_new(n, MM_ALIGN, MM_FAMILY_NEW_ARRAY, false))
NEW(_ZnwmRKSt9nothrow_t, (size_t n, const struct nothrow *t), ((void)t, cxx_new(n, MM_ALIGN, MM_FAMILY_NEW, true)))
NEW(_ZnamRKSt9nothrow_t, (size_t n, const struct nothrow *t), ((void)t, cxx_new(n, MM_ALIGN, MM_FAMILY_NEW_ARRAY, true)))
NEW(_ZnwmSt11align_val_t, (size_t n, size_t a), cxx_new(n, a, MM_FAMILY_NEW, false))
NEW(_ZnamSt11align_val_t, (size_t n, size_t a), cxx_new(n, a, MM_FAMILY_NEW_ARRAY, false))
NEW(_ZnwmSt11align_val_tRKSt9nothrow_t, (size_t n, size_t a, const struct nothrow *t),
    ((void)t, cxx_new(n, a, MM_FAMILY_NEW, true)))
NEW(_ZnamSt11align_val_tRKSt9nothrow_t, (size_t n, size_t a, const struct nothrow *t),
    ((void)t, cxx_new(n, a, MM_FAMILY_NEW_ARRAY, true)))
DELETE(_ZdlPv, (void *p), release(p, MM_FAMILY_NEW, 0))
DELETE(_ZdaPv, (void *p), release(p, MM_FAMILY_NEW_ARRAY, 0))
DELETE(_ZdlPvRKSt9nothrow_t, (void *p, const struct nothrow *t), (void)t; release(p, MM_FAMILY_NEW, 0))
DELETE(_ZdaPvRKSt9nothrow_t, (void *p, const struct nothrow *t), (void)t; release(p, MM_FAMILY_NEW_ARRAY, 0))
DELETE(_ZdlPvm, (void *p, size_t n), release(p, MM_FAMILY_NEW, n))
DELETE(_ZdaPvm, (void *p, size_t n), release(p, MM_FAMILY_NEW_ARRAY, n))
DELETE(_ZdlPvSt11align_val_t, (void *p, size_t a), (void)a; release(p, MM_FAMILY_NEW, 0))
DELETE(_ZdaPvSt11align_val_t, (void *p, size_t a), (void)a; release(p, MM_FAMILY_NEW_ARRAY, 0))
DELETE(_ZdlPvSt11align_val_tRKSt9nothrow_t, (void *p, size_t a, const struct nothrow *t),
       (void)a, (void)t; release(p, MM_FAMILY_NEW, 0))
DELETE(_ZdaPvSt11align_val_tRKSt9nothrow_t, (void *p, size_t a, const struct nothrow *t),
       (void)a, (void)t; release(p, MM_FAMILY_NEW_ARRAY, 0))
DELETE(_ZdlPvmSt11align_val_t, (void *p, size_t n, size_t a), (void)a; release(p, MM_FAMILY_NEW, n))
DELETE(_ZdaPvmSt11align_val_t, (void *p, size_t n, size_t a), (void)a; release(p, MM_FAMILY_NEW_ARRAY, n))

/* The heap's summary, and the calls served apart. */
static struct mm_summary summary(size_t *reentered)
{
    struct mm_summary s = { 0 };
    if (mm_enter()) {
        mm_pages_summarize(&s);
        mm_leave();
    }
    *reentered = __atomic_load_n(&mm_reentered, __ATOMIC_RELAXED);
    return s;
}

MM_EXPORT struct mallinfo2 mallinfo2(void)
{
    size_t reentered;
    struct mm_summary s = summary(&reentered);
    return (struct mallinfo2){
        .arena = s.heap_bytes, .ordblks = s.free_chunks, .hblks = s.mapped_blocks,
        .hblkhd = s.mapped_bytes, .uordblks = s.live_bytes, .fsmblks = s.cached_bytes + s.quarantined_bytes,
        .fordblks = s.free_bytes, .keepcost = s.top_bytes,
    };
}

/* The old interface, with int fields that wrap beyond 2 GiB as glibc's do. */
MM_EXPORT struct mallinfo mallinfo(void)
{
    struct mallinfo2 m = mallinfo2();
    return (struct mallinfo){
        .arena = (int)m.arena, .ordblks = (int)m.ordblks, .hblks = (int)m.hblks,
        .hblkhd = (int)m.hblkhd, .uordblks = (int)m.uordblks, .fordblks = (int)m.fordblks,
        .keepcost = (int)m.keepcost,
    };
}

MM_EXPORT void malloc_stats(void)
{
#ifndef MM_NO_TOOLKIT
    if (!__atomic_load_n(&mm_ready, __ATOMIC_ACQUIRE))
        mm_front_init();
    mm_stats_report();
#else
    size_t reentered;
    struct mm_summary s = summary(&reentered);
    char a[24], b[24], c[24];
    mm_print("mymalloc: heap %s in %zu segments; live %s in %zu blocks; free %s; %zu own mappings "
             "(the library was built without its toolkit: no other statistics)\n",
             mm_bytes(a, s.heap_bytes), s.segments, mm_bytes(b, s.live_bytes), s.live_blocks,
             mm_bytes(c, s.free_bytes), s.mapped_blocks);
#endif
}

/* ---- the library's own API (include/mymalloc.h) ---- */

MM_EXPORT const char *mymalloc_version(void) { return MYMALLOC_VERSION; }

MM_EXPORT void mymalloc_stats_print(void)
{
    malloc_stats();
}

MM_EXPORT int mymalloc_check_heap(void)
{
#ifdef MM_NO_TOOLKIT
    mm_print("mymalloc: check: this library was built without its toolkit (-DMYMALLOC_TOOLKIT=OFF); "
             "not checked\n");
    return -1;
#else
    if (!mm_enter()) {
        mm_print("mymalloc: check: called with the heap lock held (from a signal handler?); "
                 "not checked\n");
        return 0;
    }
    int n = mm_check_locked(false);
    mm_leave();
    return n;
#endif
}

MM_EXPORT int mymalloc_set_options(const char *options)
{
    if (!mm_enter())
        return -1;
    int bad = mm_options_apply(options);
    mm_heap_use_options();
    mm_leave();
    return bad;
}

MM_EXPORT void mymalloc_heap_info(struct mymalloc_heap_info *info)
{
    size_t reentered;
    struct mm_summary s = summary(&reentered);
    *info = (struct mymalloc_heap_info){
        .live_blocks = s.live_blocks, .live_bytes = s.live_bytes,
        .cached_blocks = s.cached_blocks + s.quarantined_blocks,
        .cached_bytes = s.cached_bytes + s.quarantined_bytes, .free_chunks = s.free_chunks,
        .free_bytes = s.free_bytes, .largest_free = s.largest_free, .top_bytes = s.top_bytes,
        .heap_bytes = s.heap_bytes, .segments = s.segments, .mapped_blocks = s.mapped_blocks,
        .mapped_bytes = s.mapped_bytes, .released_bytes = s.released_bytes,
        .foreign_brk = s.foreign_brk, .reentered = reentered,
    };
}

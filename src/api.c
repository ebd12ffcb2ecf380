/* api.c -- the exported names, and nothing else.
 *
 * Each export is the fast path of front/ (inline: a thread cache, no lock),
 * then one branch into the toolkit (debug/) when a debugging option is on,
 * then front/'s slow path. The secondary functions are built on the core
 * ones: reallocarray checks overflow and calls realloc, posix_memalign,
 * aligned_alloc, valloc and pvalloc share memalign's path. Built with
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

MM_EXPORT void *malloc(size_t n)
{
    void *p = mm_malloc_fast(n);
    if (MM_LIKELY(p != NULL))
        return p;
#ifndef MM_NO_TOOLKIT
    if (TOOLKIT)
        return mm_debug_alloc(n, MM_ALIGN, MM_CALL_MALLOC);
#endif
    return mm_malloc_slow(n);
}

MM_EXPORT void free(void *p)
{
    if (MM_LIKELY(mm_free_fast(p)))
        return;
#ifndef MM_NO_TOOLKIT
    if (TOOLKIT) {
        mm_debug_free(p);
        return;
    }
#endif
    mm_free_slow(p);
}

MM_EXPORT void *calloc(size_t n, size_t m)
{
    size_t total;
    if (!mm_calloc_size(n, m, &total))
        return mm_enomem();
#ifndef MM_NO_TOOLKIT
    if (TOOLKIT)
        return mm_debug_alloc(total, MM_ALIGN, MM_CALL_CALLOC);
#endif
    return mm_calloc(total);
}

MM_EXPORT void *realloc(void *p, size_t n)
{
#ifndef MM_NO_TOOLKIT
    if (TOOLKIT)
        return mm_debug_realloc(p, n);
#endif
    return mm_realloc(p, n);
}

MM_EXPORT void *reallocarray(void *p, size_t n, size_t m)
{
    size_t total;
    if (__builtin_mul_overflow(n, m, &total))
        return mm_enomem();
    return realloc(p, total);
}

/* memalign and the functions built on it. */
static void *aligned(size_t align, size_t n, const char *fn)
{
    if (align <= MM_ALIGN)
        return malloc(n);
    if (!(align = mm_memalign_align(align, n)))
        return NULL;
#ifndef MM_NO_TOOLKIT
    if (TOOLKIT)
        return mm_debug_alloc(n, align, MM_CALL_MEMALIGN);
#endif
    return mm_alloc_plain(n, align, fn);
}

MM_EXPORT void *memalign(size_t align, size_t n) { return aligned(align, n, "memalign"); }
MM_EXPORT void *aligned_alloc(size_t align, size_t n) { return aligned(align, n, "aligned_alloc"); }

/* EINVAL for an alignment that is not a power-of-two multiple of
 * sizeof(void *); on failure errno is ENOMEM too, as glibc leaves it. */
MM_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (align % sizeof(void *) || !mm_is_pow2(align))
        return EINVAL;
    int e = errno;
    void *p = aligned(align, n, "posix_memalign");
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

MM_EXPORT void *valloc(size_t n) { return aligned(page_size(), n, "valloc"); }

MM_EXPORT void *pvalloc(size_t n)
{
    size_t page = page_size();
    if (n > MM_MAX_REQUEST)
        return mm_enomem();
    return aligned(page, mm_align_up(n ? n : 1, page), "pvalloc");
}

MM_EXPORT size_t malloc_usable_size(void *p)
{
#ifndef MM_NO_TOOLKIT
    if (TOOLKIT)
        return mm_debug_usable(p);
#endif
    return mm_usable_size(p);
}

MM_EXPORT int malloc_trim(size_t pad) { return mm_trim(pad); }

MM_EXPORT int mallopt(int param, int value)
{
    size_t *field;
    switch (param) {
    case M_MMAP_THRESHOLD: field = &mm_heap.mmap_threshold; break;
    case M_TRIM_THRESHOLD: field = &mm_heap.trim_threshold; break;
    case M_TOP_PAD: field = &mm_heap.top_pad; break;
    case M_ARENA_MAX:
    case M_ARENA_TEST:
        return 1;                /* there are no arenas to limit: done */
    default:
        return 0;                /* not a knob of this allocator */
    }
    if (value < 0 || (param == M_MMAP_THRESHOLD && (value < 4096 || value > (1 << 30))))
        return 0;
    if (!mm_enter())
        return 0;
    *field = (size_t)value;
    mm_heap.thresholds_fixed = true;
    mm_leave();
    return 1;
}

/* The heap's summary, and the calls served apart. */
static struct mm_summary summary(size_t *reentered)
{
    struct mm_summary s = { 0 };
    if (mm_enter()) {
        mm_summarize(&s);
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
    int n = mm_check_locked();
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

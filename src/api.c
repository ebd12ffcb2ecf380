/* api.c -- the exported names, and nothing else.
 *
 * Each forwards to its internal mm_ function. The secondary functions are
 * built on the core ones: reallocarray checks overflow and calls realloc,
 * posix_memalign, aligned_alloc, valloc and pvalloc call memalign. */
#include "mm.h"
#include "../include/mymalloc.h"

#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <string.h>

MM_EXPORT void *malloc(size_t n) { return mm_malloc(n); }
MM_EXPORT void free(void *p) { mm_free(p); }
MM_EXPORT void *calloc(size_t n, size_t m) { return mm_calloc(n, m); }
MM_EXPORT void *realloc(void *p, size_t n) { return mm_realloc(p, n); }
MM_EXPORT void *memalign(size_t align, size_t n) { return mm_memalign(align, n); }
MM_EXPORT void *aligned_alloc(size_t align, size_t n) { return mm_memalign(align, n); }
MM_EXPORT size_t malloc_usable_size(void *p) { return mm_usable_size(p); }
MM_EXPORT int malloc_trim(size_t pad) { return mm_trim(pad); }

MM_EXPORT void *reallocarray(void *p, size_t n, size_t m)
{
    size_t total;
    if (__builtin_mul_overflow(n, m, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return mm_realloc(p, total);
}

MM_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (align % sizeof(void *) || !mm_is_pow2(align))
        return EINVAL;
    int e = errno;
    void *p = mm_memalign(align, n);
    errno = e;
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

static size_t page_size(void)
{
    if (!atomic_load(&mm_ready))
        mm_init();
    return mm_page;
}

MM_EXPORT void *valloc(size_t n) { return mm_memalign(page_size(), n); }

MM_EXPORT void *pvalloc(size_t n)
{
    size_t page = page_size();
    if (n > MM_MAX_REQUEST) {
        errno = ENOMEM;
        return NULL;
    }
    return mm_memalign(page, mm_align_up(n ? n : 1, page));
}

MM_EXPORT int mallopt(int param, int value)
{
    size_t *field;
    switch (param) {
    case M_MMAP_THRESHOLD: field = &mm_opt.mmap_threshold; break;
    case M_TRIM_THRESHOLD: field = &mm_opt.trim_threshold; break;
    case M_TOP_PAD: field = &mm_opt.top_pad; break;
    default: return 0;   /* not a knob of this allocator */
    }
    if (value < 0 || (param == M_MMAP_THRESHOLD && (value < 4096 || value > (1 << 30))))
        return 0;
    if (!mm_lock())
        return 0;
    *field = (size_t)value;
    mm_thresholds_set = true;
    mm_unlock();
    return 1;
}

static struct mm_summary summary(void)
{
    struct mm_summary s = { 0 };
    if (!atomic_load(&mm_ready))
        mm_init();
    if (mm_lock()) {
        mm_summarize(&s);
        mm_unlock();
    }
    return s;
}

MM_EXPORT struct mallinfo2 mallinfo2(void)
{
    struct mm_summary s = summary();
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
    if (!atomic_load(&mm_ready))
        mm_init();
    mm_stats_report();
}

/* ---- the library's own API (include/mymalloc.h) ---- */

MM_EXPORT const char *mymalloc_version(void) { return MYMALLOC_VERSION; }

MM_EXPORT void mymalloc_stats_print(void)
{
    malloc_stats();
}

MM_EXPORT int mymalloc_check_heap(void)
{
    if (!atomic_load(&mm_ready))
        mm_init();
    if (!mm_lock()) {
        mm_print("mymalloc: check: called with the heap lock held (from a signal handler?); "
                 "not checked\n");
        return 0;
    }
    int n = mm_check_locked();
    mm_unlock();
    return n;
}

MM_EXPORT int mymalloc_set_options(const char *options)
{
    if (!atomic_load(&mm_ready))
        mm_init();
    if (!mm_lock())
        return -1;
    int bad = mm_options_apply(options);
    mm_unlock();
    return bad;
}

MM_EXPORT void mymalloc_heap_info(struct mymalloc_heap_info *info)
{
    struct mm_summary s = summary();
    *info = (struct mymalloc_heap_info){
        .live_blocks = s.live_blocks, .live_bytes = s.live_bytes, .cached_blocks = s.cached_blocks + s.quarantined_blocks,
        .cached_bytes = s.cached_bytes + s.quarantined_bytes, .free_chunks = s.free_chunks,
        .free_bytes = s.free_bytes, .largest_free = s.largest_free, .top_bytes = s.top_bytes,
        .heap_bytes = s.heap_bytes, .segments = s.segments, .mapped_blocks = s.mapped_blocks,
        .mapped_bytes = s.mapped_bytes, .released_bytes = s.released_bytes,
        .foreign_brk = s.foreign_brk, .reentered = s.reentered,
    };
}

/* report.c -- summaries of the heap: stats=1 at exit, malloc_stats,
 * mallinfo2 and mymalloc_heap_info all read the same walk. */
#include "mm.h"

#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

extern char *program_invocation_short_name;

static void count_big(mm_chunk *c, void *arg)
{
    struct mm_summary *s = arg;
    s->mapped_blocks++;
    s->live_blocks++;
    s->live_bytes += mm_usable(c);
}

void mm_summarize(struct mm_summary *s)
{
    memset(s, 0, sizeof *s);
    for (mm_segment *g = mm_ro.segs; g; g = g->next) {
        s->segments++;
        s->heap_bytes += (size_t)(g->end - (char *)g);
        mm_chunk *fence = mm_fence(g);
        for (mm_chunk *c = (mm_chunk *)g->base; c < fence && mm_size(c); c = mm_next(c)) {
            if (c->head & MM_CACHED) {
                s->cached_blocks++;
                s->cached_bytes += mm_usable(c);
            } else if (mm_inuse(c)) {
                s->live_blocks++;
                s->live_bytes += mm_usable(c);
            } else {
                s->free_chunks++;
                s->free_bytes += mm_size(c);
                if (mm_size(c) > s->largest_free)
                    s->largest_free = mm_size(c);
            }
        }
    }
    if (mm_heap.top)
        s->top_bytes = mm_size(mm_heap.top);
    mm_big_each(count_big, s);
    s->mapped_bytes = mm_big_bytes();
    s->released_bytes = mm_heap.released;
    s->foreign_brk = mm_heap.foreign_brk;
    s->reentered = atomic_load(&mm_reentered);
}

void mm_report(void)
{
    struct mm_summary s;
    if (!mm_lock())
        return;
    mm_summarize(&s);
    mm_unlock();
    char a[24], b[24], c[24], d[24], e[24], f[24];
    mm_print("mymalloc: %s (pid %d): %zu live blocks (%s), %zu cached (%s), %zu free chunks (%s, "
             "largest %s), heap %s in %zu segment%s, %zu mapped blocks (%s)\n",
             program_invocation_short_name, (int)getpid(), s.live_blocks, mm_bytes(a, s.live_bytes),
             s.cached_blocks, mm_bytes(f, s.cached_bytes), s.free_chunks, mm_bytes(b, s.free_bytes),
             mm_bytes(c, s.largest_free), mm_bytes(d, s.heap_bytes), s.segments,
             s.segments == 1 ? "" : "s", s.mapped_blocks, mm_bytes(e, s.mapped_bytes));
}

__attribute__((destructor)) static void report_at_exit(void)
{
    if (mm_opt.stats && atomic_load(&mm_ready))
        mm_report();
}

/* report.c -- summaries of the heap: stats=1 at exit, malloc_stats,
 * mallinfo2 and mymalloc_heap_info all read the same walk. */
#include "mm.h"

#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

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
            if ((c->head & MM_QUARANTINED) || (mm_inuse(c) && mm_is_cached(c))) {
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

/* At exit, in this order: the heap map drawn, the quarantine checked
 * (check=1), the trace written out, the stats printed; the leak report
 * comes last, since it may end the process with leak_exitcode. */
__attribute__((destructor)) static void at_exit(void)
{
    if (!atomic_load(&mm_ready))
        return;
    if (mm_lock()) {
        mm_heapmap_write();
        if (mm_opt.check)
            mm_debug_flush_quarantine("exit");
        mm_trace_flush();
        mm_unlock();
    }
    if (mm_opt.stats)
        mm_stats_report();
    if (mm_opt.leaks)
        mm_leaks_report();
}

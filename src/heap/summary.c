/* summary.c -- what the heap holds, by state (mm_state_of): stats=1 at
 * exit, malloc_stats, mallinfo2 and mymalloc_heap_info all read the same
 * walk. */
#include "heap.h"

#include <string.h>

/* What a reader of the walk (leaks, heapmap) says when it stops at bad. */
void mm_walk_broken(const char *who, const mm_chunk *bad)
{
    mm_print("mymalloc: %s: the heap is corrupt at %p: a chunk header this allocator did not write "
             "(an overflow from the block before it?); the rest of its segment is skipped\n", who,
             (const void *)bad);
}

static void count_big(mm_chunk *c, void *arg)
{
    struct mm_summary *s = arg;
    s->mapped_blocks++;
    if (mm_state_of(c) == MM_ST_QUARANTINED) {
        s->quarantined_blocks++;
        s->quarantined_bytes += mm_usable(c);
    } else {
        s->live_blocks++;
        s->live_bytes += mm_usable(c);
    }
}

void mm_summarize(struct mm_summary *s)
{
    memset(s, 0, sizeof *s);
    for (mm_segment *g = mm_ro.segs; g; g = g->next) {
        s->segments++;
        s->heap_bytes += (size_t)(g->end - (char *)g);
        mm_chunk *bad;
        for (mm_chunk *c = mm_walk(g, NULL, &bad); c; c = mm_walk(g, c, &bad)) {
            switch (mm_state_of(c)) {
            case MM_ST_LIVE:
                s->live_blocks++;
                s->live_bytes += mm_usable(c);
                break;
            case MM_ST_CACHED:
                s->cached_blocks++;
                s->cached_bytes += mm_usable(c);
                break;
            case MM_ST_QUARANTINED:
                s->quarantined_blocks++;
                s->quarantined_bytes += mm_usable(c);
                break;
            case MM_ST_FREE:
            case MM_ST_TOP:
                s->free_chunks++;
                s->free_bytes += mm_size(c);
                if (mm_size(c) > s->largest_free)
                    s->largest_free = mm_size(c);
                break;
            default:
                break;
            }
        }
        if (bad)
            s->corrupt++;
    }
    if (mm_heap.top)
        s->top_bytes = mm_size(mm_heap.top);
    mm_big_each(count_big, s);
    s->mapped_bytes = mm_big_bytes();
    size_t kept;
    s->cached_bytes += mm_big_kept(&kept);     /* freed mappings kept for reuse */
    s->cached_blocks += kept;
    s->released_bytes = mm_heap.released;
    s->foreign_brk = mm_heap.foreign_brk;
}

/* trace_replay.c -- `mymalloc-trace replay`: the calls of a trace, made
 * again in this process, under whatever malloc it runs with.
 *
 * A table maps each pointer of the trace to the block this process got
 * for it. Every block is touched (its first and last byte written) as a
 * program would. The records are decoded before the clock starts and the
 * table is sized for the trace's peak, so the time measured is the
 * allocator's and the touching's. Threads are replayed in one thread, in
 * the order the records were written; processes one after the other. */
#include "trace_tool.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

struct counts {
    uint64_t done[NCALLS];          /* calls made, by the traced call */
    uint64_t calls;
    uint64_t skip_failed;           /* the traced call returned NULL */
    uint64_t skip_unknown;          /* free of a block from before the trace */
    uint64_t as_malloc;             /* realloc of such a block: a malloc */
    uint64_t failed;                /* this process's call returned NULL */
    uint64_t wall, cpu;             /* ns */
    uint64_t left, left_bytes;      /* blocks never freed by the trace */
};

static uint64_t now(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static inline void touch(void *p, uint64_t size)
{
    if (p && size) {
        volatile char *c = p;
        c[0] = 1;
        c[size - 1] = 1;
    }
}

/* memalign and friends: aligned_alloc when the size is a multiple of the
 * alignment (C11's rule), else posix_memalign. */
static void *aligned(uint8_t log2, uint64_t size)
{
    if (!log2)
        return malloc(size);
    if (log2 >= 48)
        return NULL;                /* beyond any address space: not a real record */
    size_t align = (size_t)1 << log2;
    if (size % align == 0)
        return aligned_alloc(align, size);
    void *p;
    return posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size) ? NULL : p;
}

static void replay(const struct proc *p, size_t peak, struct counts *n)
{
    struct map m;                   /* traced pointer -> this process's pointer */
    map_init(&m, peak + 16);
    uint64_t w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    for (size_t i = 0; i < p->n; i++) {
        const struct rec *r = &p->rec[i];
        uint64_t *mine, old;
        void *q;
        if (rec_is_free(r)) {
            /* realloc(p, 0) too: other allocators return a block for it. */
            if (!r->ptr)
                continue;
            if (!map_del(&m, r->ptr, &old)) {
                n->skip_unknown++;
                continue;
            }
            free((void *)(uintptr_t)old);
        } else if (!r->result) {
            n->skip_failed++;
            continue;
        } else if (r->call == MYMALLOC_TRACE_REALLOC && r->ptr && (mine = map_get(&m, r->ptr))) {
            /* A block for realloc(p, 0) (glibc would free p): ask for 1 byte. */
            q = realloc((void *)(uintptr_t)*mine, r->size ? r->size : 1);
            if (!q) {
                n->failed++;        /* the old block stays */
            } else {
                touch(q, r->size);
                map_del(&m, r->ptr, NULL);
                if (map_put(&m, r->result, (uintptr_t)q, &old))
                    free((void *)(uintptr_t)old);
            }
        } else {
            switch (r->call) {
            case MYMALLOC_TRACE_CALLOC: q = calloc(1, r->size); break;
            case MYMALLOC_TRACE_MEMALIGN: q = aligned(r->align_log2, r->size); break;
            case MYMALLOC_TRACE_REALLOC:
                if (r->ptr)
                    n->as_malloc++; /* a block from before the trace */
                /* fall through */
            default: q = malloc(r->size); break;
            }
            if (!q) {
                n->failed++;
            } else {
                touch(q, r->size);
                /* A pointer handed out twice with no free traced between. */
                if (map_put(&m, r->result, (uintptr_t)q, &old))
                    free((void *)(uintptr_t)old);
            }
        }
        n->done[r->call]++;
        n->calls++;
    }
    n->wall = now(CLOCK_MONOTONIC) - w0;
    n->cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    /* What the program never freed goes now, off the clock. */
    for (size_t i = 0; i < m.cap; i++)
        if (m.key[i])
            free((void *)(uintptr_t)m.val[i]);
    map_free(&m);
}

static void report(const struct proc *p, const struct counts *n, size_t threads)
{
    char a[32], b[32], c[64];
    printf("\nprocess %u: %zu records, %zu thread%s%s\n", p->pid, p->n, threads, threads == 1 ? "" : "s",
           threads > 1 ? " (replayed in one)" : "");
    printf("  %-14s %12" PRIu64 "  (", "calls replayed", n->calls);
    for (int i = 0; i < NCALLS; i++)
        printf("%s%s %" PRIu64, i ? ", " : "", call_name[i], n->done[i]);
    printf(")\n");
    if (n->skip_failed || n->skip_unknown || n->as_malloc) {
        printf("  %-14s %12" PRIu64 "  (%" PRIu64 " failed in the trace, %" PRIu64
               " free%s of blocks from before the trace)\n", "skipped", n->skip_failed + n->skip_unknown,
               n->skip_failed, n->skip_unknown, n->skip_unknown == 1 ? "" : "s");
        if (n->as_malloc)
            printf("  %-14s %12" PRIu64 "  (reallocs of blocks from before the trace)\n", "as malloc",
                   n->as_malloc);
    }
    if (n->failed)
        printf("  %-14s %12" PRIu64 "  (returned NULL here, not in the trace)\n", "failed", n->failed);
    printf("  %-14s %s", "wall time", rjust(c, 12, fmt_ns(a, n->wall)));
    if (n->calls)
        printf("  (%s a call)", fmt_ns(b, n->wall / n->calls));
    printf("\n  %-14s %s\n", "CPU time", rjust(c, 12, fmt_ns(a, n->cpu)));
    printf("  %-14s %12" PRIu64 "  blocks never freed by the program (%s), freed after the timing\n", "left live",
           n->left, fmt_bytes(a, n->left_bytes));
}

int cmd_replay(struct trace *t, const struct proc *only)
{
    char a[32], b[32];
    size_t nproc = only ? 1 : t->nproc;
    const struct proc *procs = only ? only : t->proc;
    const char *pre = getenv("LD_PRELOAD");
    printf("replay of %s: %zu process%s, each in turn, all threads in one\n", t->path, nproc,
           nproc == 1 ? "" : "es");
    if (pre && *pre)
        printf("allocator: LD_PRELOAD=%s\n", pre);
    else
        printf("allocator: the C library's malloc (no LD_PRELOAD)\n");
    struct counts total = { 0 };
    for (size_t i = 0; i < nproc; i++) {
        const struct proc *p = &procs[i];
        /* The peak number of live blocks sizes the table before the clock starts. */
        struct live l;
        live_init(&l, 1024);
        uint64_t peak = 0;
        for (size_t j = 0; j < p->n; j++) {
            live_apply(&l, &p->rec[j]);
            peak = l.count > peak ? l.count : peak;
        }
        struct counts n = { .left = l.count, .left_bytes = l.bytes };
        live_free(&l);
        replay(p, (size_t)peak, &n);
        report(p, &n, proc_threads(p));
        total.calls += n.calls;
        total.wall += n.wall;
        total.cpu += n.cpu;
    }
    if (nproc > 1)
        printf("\nall processes: %" PRIu64 " calls replayed, wall %s, CPU %s\n", total.calls, fmt_ns(a, total.wall),
               fmt_ns(b, total.cpu));
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        printf("max RSS of the replay (with the decoded trace): %s\n", fmt_bytes(a, (uint64_t)ru.ru_maxrss * 1024));
    return 0;
}

/* trace_summary.c -- `mymalloc-trace summary`: what a traced program did
 * with memory, one section per process. */
#include "trace_tool.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST 66                     /* 0, then (2^(k-2), 2^(k-1)] for k = 1..65 */
#define MAX_FAILED 5

struct stats {
    uint64_t calls[NCALLS], failed[NCALLS], bytes[NCALLS];
    uint64_t hist[HIST], asked;     /* sizes asked for by the allocating calls */
    struct map sizes;               /* size + 1 -> calls */
    struct live live;
    uint64_t peak_bytes, peak_bytes_blocks, peak_bytes_ns;
    size_t peak_bytes_at;
    uint64_t peak_blocks, peak_blocks_bytes, peak_blocks_ns;
    size_t peak_blocks_at;
    const struct rec *failures[MAX_FAILED];
    uint64_t nfailed;
    size_t threads;
};

static int bucket(uint64_t size)
{
    return size == 0 ? 0 : size == 1 ? 1 : 1 + (64 - __builtin_clzll(size - 1));
}

static void gather(const struct proc *p, struct stats *s)
{
    memset(s, 0, sizeof *s);
    map_init(&s->sizes, 256);
    live_init(&s->live, 1024);
    s->threads = proc_threads(p);
    for (size_t i = 0; i < p->n; i++) {
        const struct rec *r = &p->rec[i];
        s->calls[r->call]++;
        if (__builtin_add_overflow(s->bytes[r->call], r->size, &s->bytes[r->call]))
            s->bytes[r->call] = UINT64_MAX;     /* absurd failed requests: no wrap */
        if (!rec_is_free(r)) {
            s->hist[bucket(r->size)]++;
            s->asked++;
            uint64_t *c = r->size == UINT64_MAX ? NULL : map_get(&s->sizes, r->size + 1);
            if (c)
                ++*c;
            else if (r->size != UINT64_MAX)         /* its key would be 0: left out */
                map_put(&s->sizes, r->size + 1, 1, NULL);
        }
        if (live_apply(&s->live, r) == FX_FAILED) {
            s->failed[r->call]++;
            if (s->nfailed < MAX_FAILED)
                s->failures[s->nfailed] = r;
            s->nfailed++;
        }
        if (s->live.bytes > s->peak_bytes) {
            s->peak_bytes = s->live.bytes;
            s->peak_bytes_blocks = s->live.count;
            s->peak_bytes_ns = r->ns;
            s->peak_bytes_at = i;
        }
        if (s->live.count > s->peak_blocks) {
            s->peak_blocks = s->live.count;
            s->peak_blocks_bytes = s->live.bytes;
            s->peak_blocks_ns = r->ns;
            s->peak_blocks_at = i;
        }
    }
}

static void drop_stats(struct stats *s)
{
    map_free(&s->sizes);
    live_free(&s->live);
}

struct row {
    uint64_t size, count;
};

/* The most frequent first; then the most bytes; then the smaller size. */
static int by_count(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    uint64_t bx = x->size * x->count, by = y->size * y->count;
    if (bx != by)
        return bx < by ? 1 : -1;
    return x->size < y->size ? -1 : x->size > y->size;
}

static int by_bytes(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    uint64_t bx = x->size * x->count, by = y->size * y->count;
    if (bx != by)
        return bx < by ? 1 : -1;
    return by_count(a, b);
}

/* The (size + 1 -> count) table as rows, sorted. */
static struct row *rows_of(const struct map *m, int (*cmp)(const void *, const void *))
{
    struct row *rows = malloc((m->n + 1) * sizeof *rows);
    if (!rows) {
        fprintf(stderr, PROG ": out of memory\n");
        exit(1);
    }
    size_t n = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->key[i])
            rows[n++] = (struct row){ m->key[i] - 1, m->val[i] };
    qsort(rows, n, sizeof *rows, cmp);
    return rows;
}

static void print_rows(const char *title, const char *what, const struct map *m, int top,
                       int (*cmp)(const void *, const void *))
{
    char a[32], b[32], c[64], d[64];
    struct row *rows = rows_of(m, cmp);
    size_t n = m->n < (size_t)top ? m->n : (size_t)top;
    printf("\n  %-16s %10s %14s\n", title, what, "bytes");
    for (size_t i = 0; i < n; i++) {
        snprintf(a, sizeof a, "%" PRIu64 " B", rows[i].size);
        printf("  %s %10" PRIu64 " %s\n", rjust(c, 16, a), rows[i].count,
               rjust(d, 14, fmt_bytes(b, rows[i].size * rows[i].count)));
    }
    if (m->n > n)
        printf("  (%zu more size%s)\n", m->n - n, m->n - n == 1 ? "" : "s");
    free(rows);
}

static void print_hist(const struct stats *s)
{
    char b[32], c[64];
    int lo = 0, hi = HIST - 1;
    while (lo < HIST && !s->hist[lo])
        lo++;
    while (hi > lo && !s->hist[hi])
        hi--;
    if (lo == HIST)
        return;
    uint64_t most = 0;
    for (int k = lo; k <= hi; k++)
        most = s->hist[k] > most ? s->hist[k] : most;
    printf("\n  %-16s %10s %7s\n", "sizes asked for", "calls", "%");
    for (int k = lo; k <= hi; k++) {
        int run = 0;
        while (!s->hist[k + run])
            run++;
        if (run >= 4) {             /* a long run of empty buckets: one line */
            printf("  %s %10d %6.1f%%\n", rjust(c, 16, "..."), 0, 0.0);
            k += run - 1;
            continue;
        }
        /* The bucket's top, 2^e bytes, exactly: "<= 512 B", "<= 4 KiB". */
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        int e = k - 1;
        if (k == 0)
            snprintf(b, sizeof b, "0 B");
        else if (k == 1)
            snprintf(b, sizeof b, "1 B");
        else
            snprintf(b, sizeof b, "<= %d %s", 1 << (e % 10), units[e / 10]);
        int bar = (int)((s->hist[k] * 40 + most - 1) / most);
        printf("  %s %10" PRIu64 " %6.1f%%%s%.*s\n", rjust(c, 16, b), s->hist[k],
               100.0 * (double)s->hist[k] / (double)s->asked, bar ? "  " : "", bar,
               "########################################");
    }
}

static void print_calls(const struct stats *s)
{
    char a[32], b[64];
    uint64_t calls = 0, failed = 0;
    printf("\n  %-16s %10s %10s %14s\n", "calls", "count", "failed", "bytes");
    for (int c = 0; c < NCALLS; c++) {
        if (c == MYMALLOC_TRACE_FREE)
            printf("  %-16s %10" PRIu64 " %10s %s\n", call_name[c], s->calls[c], "-",
                   rjust(b, 14, fmt_bytes(a, s->bytes[c])));
        else
            printf("  %-16s %10" PRIu64 " %10" PRIu64 " %s\n", call_name[c], s->calls[c], s->failed[c],
                   rjust(b, 14, fmt_bytes(a, s->bytes[c])));
        calls += s->calls[c];
        failed += s->failed[c];
    }
    printf("  %-16s %10" PRIu64 " %10" PRIu64 "\n", "all", calls, failed);
}

static void print_live(const struct proc *p, const struct stats *s)
{
    char a[32], b[64], w[96];
    uint64_t t0 = p->t0;
    printf("\n  %-16s %12s %14s %10s  %s\n", "live memory", "bytes", "exact", "blocks", "when");
    snprintf(w, sizeof w, "%s, record %zu of %zu", fmt_ns(a, s->peak_bytes_ns - t0), s->peak_bytes_at + 1, p->n);
    printf("  %-16s %s %14" PRIu64 " %10" PRIu64 "  %s\n", "peak bytes", rjust(b, 12, fmt_bytes(a, s->peak_bytes)),
           s->peak_bytes, s->peak_bytes_blocks, s->peak_bytes ? w : "-");
    snprintf(w, sizeof w, "%s, record %zu of %zu", fmt_ns(a, s->peak_blocks_ns - t0), s->peak_blocks_at + 1, p->n);
    printf("  %-16s %s %14" PRIu64 " %10" PRIu64 "  %s\n", "peak blocks",
           rjust(b, 12, fmt_bytes(a, s->peak_blocks_bytes)), s->peak_blocks_bytes, s->peak_blocks,
           s->peak_blocks ? w : "-");
    printf("  %-16s %s %14" PRIu64 " %10" PRIu64 "  %s\n", "never freed", rjust(b, 12, fmt_bytes(a, s->live.bytes)),
           s->live.bytes, s->live.count, "live at the end of the trace");
}

static void print_failed(const struct proc *p, const struct stats *s)
{
    char a[32];
    if (!s->nfailed) {
        printf("\n  failed calls: none\n");
        return;
    }
    printf("\n  failed calls: %" PRIu64 "%s\n", s->nfailed, s->nfailed > MAX_FAILED ? ", the first ones:" : "");
    for (uint64_t i = 0; i < s->nfailed && i < MAX_FAILED; i++) {
        const struct rec *r = s->failures[i];
        printf("    %s(%" PRIu64 " bytes", call_name[r->call], r->size);
        if (r->call == MYMALLOC_TRACE_MEMALIGN)
            printf(", alignment %llu", 1ull << r->align_log2);
        printf(") = NULL at %s, record %zu, thread %u\n", fmt_ns(a, r->ns - p->t0),
               (size_t)(r - p->rec) + 1, r->tid);
    }
}

static void print_proc(const struct proc *p, struct stats *s, int top)
{
    char a[32];
    uint64_t span = p->t1 - p->t0;
    printf("\nprocess %u: %zu record%s, %zu thread%s, %s\n", p->pid, p->n, p->n == 1 ? "" : "s", s->threads,
           s->threads == 1 ? "" : "s", fmt_ns(a, span));
    print_calls(s);
    print_live(p, s);
    print_hist(s);
    if (s->sizes.n)
        print_rows("top sizes", "calls", &s->sizes, top, by_count);
    if (s->live.count) {
        struct map leak;
        map_init(&leak, 64);
        for (size_t i = 0; i < s->live.blocks.cap; i++)
            if (s->live.blocks.key[i]) {
                uint64_t *c = map_get(&leak, s->live.blocks.val[i] + 1);
                if (c)
                    ++*c;
                else
                    map_put(&leak, s->live.blocks.val[i] + 1, 1, NULL);
            }
        print_rows("size never freed", "blocks", &leak, top, by_bytes);
        map_free(&leak);
    }
    print_failed(p, s);
    printf("  frees of blocks allocated before the trace began (ignored): %" PRIu64 "\n", s->live.unknown_free);
    if (s->live.unknown_realloc)
        printf("  reallocs of blocks allocated before the trace began: %" PRIu64 "\n", s->live.unknown_realloc);
    if (s->live.reused)
        printf("  blocks handed out again with no free traced in between: %" PRIu64 "\n", s->live.reused);
}

int cmd_summary(struct trace *t, const struct proc *only, int top)
{
    char a[32], b[32], c[64], d[64];
    size_t nproc = only ? 1 : t->nproc;
    const struct proc *procs = only ? only : t->proc;
    struct stats *st = calloc(nproc, sizeof *st);
    if (!st) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    uint64_t first = UINT64_MAX, last = 0, records = 0;
    size_t threads = 0;
    for (size_t i = 0; i < nproc; i++) {
        const struct proc *p = &procs[i];
        gather(p, &st[i]);
        threads += st[i].threads;
        records += p->n;
        if (p->n) {
            first = p->t0 < first ? p->t0 : first;
            last = p->t1 > last ? p->t1 : last;
        }
    }
    printf("trace %s: %zu process%s, %zu thread%s, %" PRIu64 " records in %zu block%s, %s\n", t->path, nproc,
           nproc == 1 ? "" : "es", threads, threads == 1 ? "" : "s", records, t->blocks, t->blocks == 1 ? "" : "s",
           fmt_ns(a, records ? last - first : 0));
    if (only && t->nproc > 1)
        printf("(process %u only, of the %zu in the file)\n", only->pid, t->nproc);
    if (nproc > 1) {
        printf("\n  %-10s %10s %8s %10s %12s %12s\n", "process", "records", "threads", "duration", "peak bytes",
               "never freed");
        for (size_t i = 0; i < nproc; i++) {
            const struct proc *p = &procs[i];
            char e[64];
            printf("  %-10u %10zu %8zu %s %s %s\n", p->pid, p->n, st[i].threads,
                   rjust(c, 10, fmt_ns(a, p->t1 - p->t0)),
                   rjust(d, 12, fmt_bytes(b, st[i].peak_bytes)), rjust(e, 12, fmt_bytes(a, st[i].live.bytes)));
        }
    }
    for (size_t i = 0; i < nproc; i++) {
        print_proc(&procs[i], &st[i], top);
        drop_stats(&st[i]);
    }
    free(st);
    return 0;
}

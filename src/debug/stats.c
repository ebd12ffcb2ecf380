/* stats.c -- what stats=1 counts, and the report it prints.
 *
 * The counters move only in the debug paths (debug.c, with the lock held),
 * so the allocator pays nothing for them when stats is off. The report
 * adds what is always known: the heap (a walk), the system calls (os.c)
 * and the thread caches (cache.c). stats=1 prints a table for people,
 * stats=json one JSON object for programs. */
#include "debug.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

extern char *program_invocation_short_name;

struct counts {
    uint64_t calls[MM_NCALLS], bytes[MM_NCALLS], failed;
    uint64_t live_blocks, live_bytes, peak_blocks, peak_bytes;
    size_t guarded_live, guarded_total;      /* guard=N (guard.c), at the report */
};
static struct counts count;

void mm_count_call(int call)
{
    count.calls[call]++;
}

void mm_count_alloc(int call, size_t asked, bool ok)
{
    count.calls[call]++;
    count.bytes[call] += asked;
    count.failed += !ok;
}

void mm_count_free(size_t asked)
{
    count.calls[MM_CALL_FREE]++;
    count.bytes[MM_CALL_FREE] += asked;
}

void mm_count_live(uint32_t site, size_t asked, size_t overhead, int blocks)
{
    if (mm_profile_exact())
        mm_profile_charge(site, blocks > 0 ? (int64_t)asked : -(int64_t)asked,
                          blocks > 0 ? (int64_t)overhead : -(int64_t)overhead);
    if (blocks > 0) {
        count.live_blocks++;
        count.live_bytes += asked;
        if (count.live_bytes > count.peak_bytes)
            count.peak_bytes = count.live_bytes;
        if (count.live_blocks > count.peak_blocks)
            count.peak_blocks = count.live_blocks;
    } else if (count.live_blocks) {
        count.live_blocks--;
        count.live_bytes -= asked < count.live_bytes ? asked : count.live_bytes;
    }
}

static const char *const call_name[MM_NCALLS] = { "malloc", "calloc", "realloc", "aligned", "free",
                                                  "malloc_usable_size" };
static const char *const os_name[MM_OS_NCALLS] = { "sbrk", "mmap", "munmap", "mremap", "madvise" };

/* The report is built whole and written with one write, so that the
 * reports of processes sharing a stderr (a shell pipeline) do not mix
 * inside a line. */
struct report {
    char text[4096];
    size_t len;
};

static void MM_PRINTF(2, 3) add(struct report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->len += mm_vfmt(r->text + r->len, sizeof r->text - r->len, fmt, ap);
    va_end(ap);
}

static void table(struct report *r, const struct mm_summary *s, const struct mm_cache_counts *k,
                  const struct counts *n)
{
    char a[24], b[24], c[24], d[24];
    add(r, "mymalloc: stats for %s (pid %d)%s\n", program_invocation_short_name, (int)getpid(),
        mm_debug ? "" : " (calls not counted: stats is off)");
    add(r, "  %-20s %12s %14s\n", "calls", "count", "bytes");
    for (int i = 0; i < MM_NCALLS; i++) {
        if (i == MM_CALL_USABLE)
            add(r, "  %-20s %12llu\n", call_name[i], (unsigned long long)n->calls[i]);
        else
            add(r, "  %-20s %12llu %14s\n", call_name[i], (unsigned long long)n->calls[i],
                mm_bytes(a, n->bytes[i]));
    }
    add(r, "  %-20s %12llu\n", "failed (ENOMEM)", (unsigned long long)n->failed);
    add(r, "  %-20s %12llu blocks %14s\n", "live now", (unsigned long long)n->live_blocks,
        mm_bytes(a, n->live_bytes));
    add(r, "  %-20s %12llu blocks %14s\n", "live at peak", (unsigned long long)n->peak_blocks,
        mm_bytes(a, n->peak_bytes));
    add(r, "  %-20s %s in %zu segment%s; free %s in %zu chunk%s, largest %s; top %s\n", "heap",
        mm_bytes(a, s->heap_bytes), s->segments, s->segments == 1 ? "" : "s",
        mm_bytes(b, s->free_bytes), s->free_chunks, s->free_chunks == 1 ? "" : "s",
        mm_bytes(c, s->largest_free), mm_bytes(d, s->top_bytes));
    add(r, "  %-20s %zu blocks, %s\n", "own mappings", s->mapped_blocks, mm_bytes(a, s->mapped_bytes));
    add(r, "  %-20s", "system calls");
    for (int i = 0; i < MM_OS_NCALLS; i++)
        add(r, "%s %s %lu", i ? "," : "", os_name[i], mm_os_calls[i]);
    add(r, "\n  %-20s hits %llu, refills %llu, flushes %llu; %zu blocks (%s) cached now\n",
        "thread caches", (unsigned long long)k->hits, (unsigned long long)k->refills,
        (unsigned long long)k->flushes, s->cached_blocks, mm_bytes(a, s->cached_bytes));
    if (mm_opt.check)
        add(r, "  %-20s %zu freed blocks (%s) held back now\n", "quarantine", s->quarantined_blocks,
            mm_bytes(a, s->quarantined_bytes));
    if (mm_opt.guard)
        add(r, "  %-20s %zu blocks guarded since start, %zu of them live now\n", "guard pages",
            n->guarded_total, n->guarded_live);
    if (s->corrupt)
        add(r, "  %-20s %zu segment%s could not be walked to the end: the heap is corrupt\n", "warning",
            s->corrupt, s->corrupt == 1 ? "" : "s");
}

static void json(struct report *r, const struct mm_summary *s, const struct mm_cache_counts *k,
                  const struct counts *n)
{
    add(r, "{\"program\":\"%s\",\"pid\":%d,\"counted\":%s,\"calls\":{",
        program_invocation_short_name, (int)getpid(), mm_debug ? "true" : "false");
    for (int i = 0; i < MM_NCALLS; i++)
        add(r, "%s\"%s\":%llu", i ? "," : "", call_name[i], (unsigned long long)n->calls[i]);
    add(r, "},\"bytes\":{");
    for (int i = 0; i < MM_NCALLS; i++)
        add(r, "%s\"%s\":%llu", i ? "," : "", call_name[i], (unsigned long long)n->bytes[i]);
    add(r, "},\"failed\":%llu,\"live\":{\"blocks\":%llu,\"bytes\":%llu},\"peak\":{\"blocks\":%llu,"
        "\"bytes\":%llu},", (unsigned long long)n->failed, (unsigned long long)n->live_blocks,
        (unsigned long long)n->live_bytes, (unsigned long long)n->peak_blocks,
        (unsigned long long)n->peak_bytes);
    add(r, "\"heap\":{\"bytes\":%zu,\"segments\":%zu,\"free_bytes\":%zu,\"free_chunks\":%zu,"
        "\"largest_free\":%zu,\"top\":%zu},\"mapped\":{\"blocks\":%zu,\"bytes\":%zu},",
        s->heap_bytes, s->segments, s->free_bytes, s->free_chunks, s->largest_free, s->top_bytes,
        s->mapped_blocks, s->mapped_bytes);
    add(r, "\"syscalls\":{");
    for (int i = 0; i < MM_OS_NCALLS; i++)
        add(r, "%s\"%s\":%lu", i ? "," : "", os_name[i], mm_os_calls[i]);
    add(r, "},\"cache\":{\"hits\":%llu,\"refills\":%llu,\"flushes\":%llu,\"blocks\":%zu,\"bytes\":%zu},",
        (unsigned long long)k->hits, (unsigned long long)k->refills, (unsigned long long)k->flushes,
        s->cached_blocks, s->cached_bytes);
    add(r, "\"quarantine\":{\"blocks\":%zu,\"bytes\":%zu},\"corrupt_segments\":%zu}\n",
        s->quarantined_blocks, s->quarantined_bytes, s->corrupt);
}

void mm_stats_report(void)
{
    struct mm_summary s;
    struct mm_cache_counts k;
    if (!mm_enter())
        return;                  /* an administrative call: refused inside the allocator */
    mm_pages_summarize(&s);
    mm_cache_counts(&k);
    struct counts c = count;
    mm_guard_counts(&c.guarded_live, &c.guarded_total);
    mm_leave();
    /* written after the lock is let go, through write(2), a cancellation
     * point as glibc's stdio is: a thread cancelled there holds no lock */
    struct report r;
    r.len = 0;
    if (mm_opt.stats == 2)
        json(&r, &s, &k, &c);
    else
        table(&r, &s, &k, &c);
    mm_write_point(r.text, r.len);
}

/* leaks.c -- leaks=1: at exit, every block still live, grouped by the call
 * stack that allocated it.
 *
 * Live blocks are told apart the way a conservative garbage collector
 * would: the roots are the writable data of every loaded object (globals,
 * the C library's and the loader's state), the stack of the thread that
 * runs the report from its stack pointer up, and the whole stacks of the
 * other threads that have a cache (they may be running still); a block that a root or a reachable block points into is
 * reachable; the rest are lost: nothing in the program can free them any
 * more. Lost blocks are reported site by site, largest first, and set the
 * exit status to leak_exitcode; reachable ones are summed up.
 *
 * One exception, as leak checkers have: the dynamic loader's per-thread
 * TLS vectors (allocated in _dl_allocate_tls) of threads that have exited
 * are held by glibc's cache of thread stacks, which is no root here; they
 * count as reachable, with what they point to.
 *
 * Nothing here allocates: the tables live in pages of their own. Limits:
 * pointers held only in other threads' registers, or in the stacks of
 * threads that never allocated, or hidden (xor-ed, in files), are not
 * seen, so what they point to counts as lost; stale words in the unused
 * part of another thread's stack may keep a lost block counted as
 * reachable. */
#include "mm.h"

#include <link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char *program_invocation_short_name;

struct block {
    uintptr_t start, end;       /* the block's bytes: [start, end) */
    uint32_t site;
    bool reachable;
};

static struct block *blocks;
static size_t nblocks, cap;

/* Grows an array of pages of its own by doubling; false without memory. */
static bool room(void **p, size_t *have, size_t need, size_t unit)
{
    if (need <= *have)
        return true;
    size_t n = *have ? *have : 4096;
    while (n < need)
        n *= 2;
    void *q = *p ? mm_os_remap(*p, *have * unit, n * unit) : mm_os_map(n * unit);
    if (!q)
        return false;
    *p = q;
    *have = n;
    return true;
}

static void add(mm_chunk *c, void *arg)
{
    bool *ok = arg;
    if (!*ok || !room((void **)&blocks, &cap, nblocks + 1, sizeof *blocks)) {
        *ok = false;
        return;
    }
    size_t n;
    uint32_t site;
    mm_debug_block_info(c, &n, &site);
    uintptr_t start = (uintptr_t)mm_mem(c);
    blocks[nblocks++] = (struct block){ start, start + n, site, false };
}

/* Every live block: in use, not cached or quarantined. */
static bool collect(void)
{
    bool ok = true;
    nblocks = 0;
    for (mm_segment *s = mm_ro.segs; s && ok; s = s->next)
        for (mm_chunk *c = (mm_chunk *)s->base; c < mm_fence(s); c = mm_next(c))
            if (mm_inuse(c) && !(c->head & MM_QUARANTINED) && !mm_is_cached(c))
                add(c, &ok);
    mm_big_each(add, &ok);
    return ok;
}

static void swap(size_t i, size_t j)
{
    struct block t = blocks[i];
    blocks[i] = blocks[j];
    blocks[j] = t;
}

static void sift(size_t j, size_t n)
{
    for (size_t k; (k = 2 * j + 1) < n; j = k) {
        if (k + 1 < n && blocks[k + 1].start > blocks[k].start)
            k++;
        if (blocks[j].start >= blocks[k].start)
            return;
        swap(j, k);
    }
}

/* Heapsort by address: no recursion, no extra memory. */
static void sort_blocks(void)
{
    for (size_t i = nblocks / 2; i-- > 0;)
        sift(i, nblocks);
    for (size_t n = nblocks; n > 1;) {
        swap(0, --n);
        sift(0, n);
    }
}

/* The block holding address v, or NULL. */
static struct block *find(uintptr_t v)
{
    size_t lo = 0, hi = nblocks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v < blocks[mid].start)
            hi = mid;
        else if (v >= blocks[mid].end)
            lo = mid + 1;
        else
            return &blocks[mid];
    }
    return NULL;
}

static size_t *work;
static size_t nwork, work_cap;

/* b is reachable; what it points to will be scanned. */
static void mark(struct block *b)
{
    if (b->reachable)
        return;
    b->reachable = true;
    if (room((void **)&work, &work_cap, nwork + 1, sizeof *work))
        work[nwork++] = (size_t)(b - blocks);
}

static void scan(uintptr_t from, uintptr_t to)
{
    from = (from + 7) & ~(uintptr_t)7;
    for (uintptr_t a = from; a + 8 <= to; a += 8) {
        uintptr_t v = *(const uintptr_t *)a;
        struct block *b = v >= blocks[0].start && v < blocks[nblocks - 1].end ? find(v) : NULL;
        if (b)
            mark(b);
    }
}

/* Scans what the marked blocks point to, and so on. */
static void scan_marked(void)
{
    while (nwork) {
        struct block *b = &blocks[work[--nwork]];
        scan(b->start, b->end);
    }
}

/* ---- roots: writable segments of loaded objects ---- */

enum { MAX_ROOTS = 4096 };
static struct { uintptr_t from, to; } roots[MAX_ROOTS];
static int nroots;

static int add_roots(struct dl_phdr_info *info, size_t size, void *self)
{
    (void)size;
    for (int i = 0; i < info->dlpi_phnum && nroots < MAX_ROOTS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
            continue;
        uintptr_t from = info->dlpi_addr + ph->p_vaddr, to = from + ph->p_memsz;
        if ((uintptr_t)self >= from && (uintptr_t)self < to)
            continue;   /* our own state points at free chunks, not at the program's */
        roots[nroots].from = from;
        roots[nroots++].to = to;
    }
    return 0;
}

/* The stack of this thread, from here to its top. */
static void add_stack_root(void)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0), top = mm_stack_top();
    if (top > sp && nroots < MAX_ROOTS) {
        roots[nroots].from = sp;
        roots[nroots++].to = top;
    }
}

/* ---- what the C library keeps where no root shows it ---- */

static uint8_t *kind_of;            /* site id -> 0 unknown, 1 the program's, 2 the loader's TLS */
static size_t kind_of_cap;

static bool loader_tls(uint32_t site)
{
    if (!site || site >= kind_of_cap)
        return false;
    if (!kind_of[site]) {
        const uintptr_t *pcs;
        int depth = mm_site_frames(site, &pcs);
        kind_of[site] = 1;
        for (int i = 0; i < depth; i++) {
            char name[256];
            mm_symbolize(pcs[i], name, sizeof name);
            if (!strncmp(name, "_dl_allocate_tls+", 17) || !strncmp(name, "allocate_dtv+", 13))
                kind_of[site] = 2;
        }
    }
    return kind_of[site] == 2;
}

/* Marks the loader's TLS blocks reachable, and then what they point to. */
static void keep_loader_tls(void)
{
    size_t sites = mm_site_limit();
    if (!room((void **)&kind_of, &kind_of_cap, sites, 1))
        return;
    memset(kind_of, 0, kind_of_cap);
    for (size_t i = 0; i < nblocks; i++)
        if (!blocks[i].reachable && loader_tls(blocks[i].site))
            mark(&blocks[i]);
    scan_marked();
}

/* The stacks of the other threads that allocate, whole: where their
 * frames are now is not known, and a stale word only keeps a block
 * counted as reachable. A stack found inside the heap (a signal stack
 * the program allocated) is not a root: it would make the whole heap one. */
static void add_thread_roots(void)
{
    static uintptr_t hint[1024];
    size_t n = mm_cache_stacks(hint, sizeof hint / sizeof *hint);
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0), lo, hi;
    for (size_t i = 0; i < n && nroots < MAX_ROOTS; i++) {
        if (mm_segment_of((void *)hint[i]) || mm_big_owns((void *)hint[i]) ||
            !mm_mapping_of(hint[i], &lo, &hi) || (sp >= lo && sp < hi))
            continue;           /* in the heap, gone, or this thread's (scanned from sp) */
        roots[nroots].from = lo;
        roots[nroots++].to = hi;
    }
}

/* ---- the report ---- */

struct group { uint32_t site; size_t blocks, bytes; };
static struct group *groups;
static size_t ngroups, groups_cap;
static uint32_t *group_of;          /* site id -> group index + 1 */
static size_t group_of_cap;

/* Sums the blocks of one kind (reachable or not) by site, largest first. */
static void group(bool reachable, size_t *blocks_out, size_t *bytes_out)
{
    ngroups = *blocks_out = *bytes_out = 0;
    size_t sites = mm_site_limit();
    if (!room((void **)&group_of, &group_of_cap, sites, sizeof *group_of))
        return;
    memset(group_of, 0, sites * sizeof *group_of);
    for (size_t i = 0; i < nblocks; i++) {
        if (blocks[i].reachable != reachable)
            continue;
        uint32_t site = blocks[i].site < sites ? blocks[i].site : 0;
        size_t n = blocks[i].end - blocks[i].start;
        if (!group_of[site]) {
            if (!room((void **)&groups, &groups_cap, ngroups + 1, sizeof *groups))
                continue;
            groups[ngroups] = (struct group){ site, 0, 0 };
            group_of[site] = (uint32_t)++ngroups;
        }
        struct group *g = &groups[group_of[site] - 1];
        g->blocks++;
        g->bytes += n;
        ++*blocks_out;
        *bytes_out += n;
    }
    /* largest first: insertion sort, the sites are few next to the blocks */
    for (size_t i = 1; i < ngroups; i++)
        for (size_t j = i; j > 0 && groups[j].bytes > groups[j - 1].bytes; j--) {
            struct group t = groups[j];
            groups[j] = groups[j - 1];
            groups[j - 1] = t;
        }
}

static void print_groups(size_t most)
{
    char a[32];
    for (size_t g = 0; g < ngroups && g < most; g++) {
        mm_print("  %s bytes in %zu block%s allocated by:\n", mm_thousands(a, groups[g].bytes),
                 groups[g].blocks, groups[g].blocks == 1 ? "" : "s");
        mm_site_print(groups[g].site, "    ");
    }
    if (ngroups > most)
        mm_print("  ... and %zu more sites\n", ngroups - most);
}

void mm_leaks_report(void)
{
    nroots = 0;
    dl_iterate_phdr(add_roots, (void *)&mm_leaks_report);   /* before the lock: it takes the loader's */
    add_stack_root();
    if (!mm_lock())
        return;
    mm_debug_flush_quarantine("exit");
    add_thread_roots();
    if (!collect()) {
        mm_unlock();
        mm_print("mymalloc: leaks: not enough memory to check for leaks\n");
        return;
    }
    size_t lost_blocks = 0, lost_bytes = 0, kept_blocks, kept_bytes;
    if (nblocks) {
        sort_blocks();
        for (int r = 0; r < nroots; r++)
            scan(roots[r].from, roots[r].to);
        scan_marked();
        keep_loader_tls();
    }
    char a[32], b[32];
    group(false, &lost_blocks, &lost_bytes);
    if (lost_blocks) {
        mm_print("mymalloc: leaks of %s (pid %d): %s bytes in %zu block%s lost, from %zu site%s\n",
                 program_invocation_short_name, (int)getpid(), mm_thousands(a, lost_bytes), lost_blocks,
                 lost_blocks == 1 ? "" : "s", ngroups, ngroups == 1 ? "" : "s");
        print_groups(100);
    }
    size_t lost_sites = ngroups;
    group(true, &kept_blocks, &kept_bytes);
    if (kept_blocks) {
        mm_print("mymalloc: still reachable in %s (pid %d): %s bytes in %zu block%s, from %zu site%s "
                 "(pointed to by globals, the stack or other reachable blocks)\n",
                 program_invocation_short_name, (int)getpid(), mm_thousands(a, kept_bytes), kept_blocks,
                 kept_blocks == 1 ? "" : "s", ngroups, ngroups == 1 ? "" : "s");
        print_groups(10);
    }
    mm_print("SUMMARY: %s bytes leaked in %zu block%s from %zu site%s; %s bytes still reachable\n",
             mm_thousands(a, lost_bytes), lost_blocks, lost_blocks == 1 ? "" : "s", lost_sites,
             lost_sites == 1 ? "" : "s", mm_thousands(b, kept_bytes));
    mm_unlock();
    if (lost_blocks && mm_opt.leak_exitcode) {
        fflush(NULL);          /* we are at exit, outside the allocator: stdio is safe */
        _exit((int)mm_opt.leak_exitcode);
    }
}

/* leaks.c -- leaks=1: at exit, every block still live, told apart the way
 * valgrind's memcheck tells them, grouped by the call stack that
 * allocated them.
 *
 * The process's memory is scanned as a conservative garbage collector
 * would, from the roots (roots.c: every writable mapping the program can
 * keep a pointer in). Every aligned word is a possible pointer:
 *   - a block that a root, or a reachable block, points to the start of is
 *     still reachable. So is one pointed to 8 bytes in (the count before a
 *     C++ new[] array, a length before a string: memcheck's "newarray" and
 *     "length64" heuristics) or 24 bytes in, past the length, capacity and
 *     count of an old std::string ("stdstring");
 *   - a block pointed to only inside is possibly lost: the pointer may be
 *     an accident, or all that is left of it;
 *   - the rest are lost. Among them, a block that a lost block points to
 *     is indirectly lost: freeing the blocks that hold it would free it.
 *     The others are lost directly (of a cycle of lost blocks, one is).
 * Lost blocks are reported site by site, largest first, and so are the
 * indirectly and possibly lost ones and (leak_reachable=1) the reachable
 * ones. Sites that leak_suppressions names are left out, with what only
 * they hold, and counted.
 *
 * In the child of a fork, the blocks the parent allocated are the parent's
 * to report: they are roots here, and are not listed.
 *
 * Nothing here allocates: the tables live in mappings of the allocator's
 * own. Limits: pointers held only in registers of other threads, or
 * hidden (xor-ed, compressed, written to files), are not seen, so what
 * they point to counts as lost; stale words (the unused part of other
 * threads' stacks, old data in the program's own mappings) may keep a
 * lost block counted as reachable. */
#include "debug.h"

#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern char *program_invocation_short_name;

enum state { UNREACHED, POSSIBLE, REACHABLE, DIRECT, INDIRECT, SUPPRESSED, OTHER, NSTATE };

struct block {
    uintptr_t start, end;       /* the block's bytes: [start, end) */
    uint32_t site;
    uint32_t leader;            /* INDIRECT, SUPPRESSED: the lost block that holds it */
    uint8_t state;
};

static struct block *blocks;
static size_t nblocks, cap;

static void add(mm_chunk *c, bool *ok)
{
    if (!*ok || !mm_os_room_own((void **)&blocks, &cap, nblocks + 1, sizeof *blocks)) {
        *ok = false;
        return;
    }
    size_t n;
    uint32_t site;
    int pid;
    mm_debug_block_info(c, &n, &site, &pid);
    /* The parent's blocks, in the child of a fork (the ones without a
     * record were made before the options were read: the parent's too). */
    bool mine = pid ? pid == mm_os_pid() : !mm_os_forked();
    uintptr_t start = (uintptr_t)mm_mem(c);
    blocks[nblocks++] = (struct block){ start, start + n, site, 0, mine ? UNREACHED : OTHER };
}

static void add_big(mm_chunk *c, void *arg)
{
    if (mm_block_live(c))
        add(c, arg);
}

static void add_guarded(uintptr_t start, size_t n, uint32_t site, int pid, void *arg)
{
    bool *ok = arg;
    if (!*ok || !mm_os_room_own((void **)&blocks, &cap, nblocks + 1, sizeof *blocks)) {
        *ok = false;
        return;
    }
    bool mine = pid == mm_os_pid();
    blocks[nblocks++] = (struct block){ start, start + n, site, 0, mine ? UNREACHED : OTHER };
}

/* Every live block: in use, not cached or quarantined (nor held). */
static bool collect(void)
{
    bool ok = true;
    nblocks = 0;
    for (mm_segment *s = mm_ro.segs; s && ok; s = s->next) {
        mm_chunk *bad;
        for (mm_chunk *c = mm_walk(s, NULL, &bad); c && ok; c = mm_walk(s, c, &bad))
            if (mm_block_live(c))
                add(c, &ok);
        if (bad)
            mm_walk_broken("leaks", bad);
    }
    mm_big_each(add_big, &ok);
    mm_guard_each(add_guarded, &ok);
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

/* Where the pointers that hold block b end: a block of 0 bytes (malloc(0),
 * LLVM's instructions without operands) is held by a pointer to its start,
 * as in memcheck. Blocks never share a start: each has a chunk. */
static uintptr_t held_end(const struct block *b)
{
    return b->end > b->start ? b->end : b->start + 1;
}

/* The block holding address v, or NULL. */
static struct block *find(uintptr_t v)
{
    if (!nblocks || v < blocks[0].start || v >= held_end(&blocks[nblocks - 1]))
        return NULL;
    /* the last block that starts at or below v (there is one) */
    size_t lo = 0, hi = nblocks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (blocks[mid].start <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    struct block *b = &blocks[lo - 1];
    return v < held_end(b) ? b : NULL;
}

/* ---- marking ---- */

static uint32_t *work;
static size_t nwork, work_cap;

static void push(struct block *b)
{
    if (mm_os_room_own((void **)&work, &work_cap, nwork + 1, sizeof *work))
        work[nwork++] = (uint32_t)(b - blocks);
}

/* A pointer inside a block that counts as one to its start:
 *   - 8 bytes in: the count before a C++ new[] array, a length before a
 *     buffer (memcheck's "newarray" and "length64" heuristics);
 *   - 24 bytes in, past the length, capacity and count of an old
 *     std::string ("stdstring");
 *   - next to a copy of the block's start: a block aligned by hand keeps
 *     what malloc returned beside the aligned pointer it hands out, to
 *     free it by (the dynamic loader's own tables do this). */
static bool heuristic(const struct block *b, uintptr_t v)
{
    size_t off = v - b->start, n = b->end - b->start;
    if (off == 8)
        return true;
    if (off == 24 && n >= 24) {
        const size_t *w = (const size_t *)b->start;
        return w[0] <= w[1] && w[1] <= n - 25;
    }
    if (v % 8 == 0 && ((off >= 8 && *(const uintptr_t *)(v - 8) == b->start) ||
                       (v + 16 <= b->end && *(const uintptr_t *)(v + 8) == b->start)))
        return true;
    return false;
}

/* glibc's dynamic loader keeps each thread's vector of TLS blocks by a
 * pointer 16 bytes in (dtv + 1, in the thread's control block): such a
 * pointer holds the vector as surely as one to its start. Decided once
 * per site: 1 not the loader's, 2 the loader's. */
static uint8_t *kind_of;
static size_t kind_of_cap;

static bool loader_tls(uint32_t site)
{
    if (!site || !mm_os_room_own((void **)&kind_of, &kind_of_cap, mm_site_limit(), 1) || site >= kind_of_cap)
        return false;
    if (!kind_of[site]) {
        const uintptr_t *pcs;
        int depth = mm_site_frames(site, &pcs);
        kind_of[site] = 1;
        for (int i = 0; i < depth && i < 2; i++) {
            char name[256];
            mm_symbolize(pcs[i], name, sizeof name);
            if (!strncmp(name, "allocate_dtv+", 13) || !strncmp(name, "_dl_resize_dtv+", 15))
                kind_of[site] = 2;
        }
    }
    return kind_of[site] == 2;
}

/* The pointer v was found in memory that is reachable (or possibly so). */
static void visit(uintptr_t v, enum state from)
{
    struct block *b = find(v);
    if (!b)
        return;
    bool whole = v == b->start || heuristic(b, v) || (v == b->start + 16 && loader_tls(b->site));
    enum state s = from == REACHABLE && whole ? REACHABLE : POSSIBLE;
    if (b->state == OTHER || b->state >= s)
        return;
    b->state = (uint8_t)s;
    push(b);
}

/* A fault while reading (a mapping that went away or lies past the end of
 * its file) ends the range: reading stops there. */
static sigjmp_buf jump;
static _Atomic int reader;          /* the thread that scans */
static struct sigaction old_segv, old_bus;

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
    (void)si, (void)ctx;
    if (gettid() == reader)
        siglongjmp(jump, 1);
    /* another thread's fault: its own business, as if we were not here */
    sigaction(sig, sig == SIGSEGV ? &old_segv : &old_bus, NULL);
}

/* The resident pages of [lo, hi): an untouched page of a large mapping
 * holds zeros, and reading it would only cost time. */
static void scan_words(uintptr_t lo, uintptr_t hi, enum state from)
{
    for (uintptr_t a = (lo + 7) & ~(uintptr_t)7; a + 8 <= hi; a += 8)
        visit(*(const uintptr_t *)a, from);
}

static void scan(uintptr_t lo, uintptr_t hi, enum state from)
{
    size_t page = mm_page, window = 256 * page;
    if (hi - lo < (64u << 20)) {
        scan_words(lo, hi, from);
        return;
    }
    for (uintptr_t w = lo & ~(page - 1); w < hi; w += window) {
        unsigned char in[256];
        size_t len = hi - w < window ? hi - w : window;
        if (mincore((void *)w, len, in) != 0) {
            scan_words(w < lo ? lo : w, w + len, from);
            continue;
        }
        for (size_t i = 0; i * page < len; i++)
            if (in[i] & 1) {
                uintptr_t a = w + i * page;
                scan_words(a < lo ? lo : a, a + page < hi ? a + page : hi, from);
            }
    }
}

static void scan_guarded(uintptr_t lo, uintptr_t hi, enum state from)
{
    if (sigsetjmp(jump, 1) == 0)
        scan(lo, hi, from);
}

/* Scans what the marked blocks point to, and so on. */
static void flood(void)
{
    while (nwork) {
        struct block *b = &blocks[work[--nwork]];
        scan(b->start, b->end, b->state == REACHABLE ? REACHABLE : POSSIBLE);
    }
}

static bool mark_from_roots(uintptr_t sp)
{
    const struct mm_range *r;
    size_t n = mm_roots(&r, sp);
    if (!n)
        return false;
    struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER };
    sigemptyset(&sa.sa_mask);
    reader = gettid();
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    for (size_t i = 0; i < n; i++)
        scan_guarded(r[i].lo, r[i].hi, REACHABLE);
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    /* the parent's blocks, in the child of a fork, are roots here */
    for (size_t i = 0; i < nblocks; i++)
        if (blocks[i].state == OTHER)
            scan(blocks[i].start, blocks[i].end, REACHABLE);
    flood();
    return true;
}

/* Lost blocks: each one no other lost block points to leads the blocks it
 * points to (indirectly lost), in cliques as memcheck makes them. */
static void lost_cliques(void)
{
    for (size_t i = 0; i < nblocks; i++) {
        if (blocks[i].state != UNREACHED)
            continue;
        blocks[i].state = DIRECT;
        blocks[i].leader = (uint32_t)i;
        push(&blocks[i]);
        while (nwork) {
            struct block *b = &blocks[work[--nwork]];
            for (uintptr_t a = b->start; a + 8 <= b->end; a += 8) {
                struct block *x = find(*(const uintptr_t *)a);
                if (!x || x == &blocks[i] || (x->state != UNREACHED && x->state != DIRECT))
                    continue;
                /* an earlier leader reached from this one joins its clique */
                x->state = INDIRECT;
                x->leader = (uint32_t)i;
                push(x);
            }
        }
    }
}

/* The lost block that a lost block's clique hangs from (leaders that
 * joined a later clique point on to its leader). */
static struct block *leader_of(struct block *b)
{
    while (b->state == INDIRECT)
        b = &blocks[b->leader];
    return b;
}

static void suppress(void)
{
    if (!mm_suppressions_any())
        return;
    for (size_t i = 0; i < nblocks; i++)
        if ((blocks[i].state == DIRECT || blocks[i].state == INDIRECT) && mm_suppressed(blocks[i].site))
            blocks[i].leader = (uint32_t)i, blocks[i].state = SUPPRESSED;
    /* what a suppressed block alone holds goes with it */
    for (size_t i = 0; i < nblocks; i++)
        if (blocks[i].state == INDIRECT && leader_of(&blocks[i])->state == SUPPRESSED)
            blocks[i].state = SUPPRESSED;
}

/* ---- the report ---- */

struct group { uint32_t site; size_t blocks, bytes; };
static struct group *groups;
static size_t ngroups, groups_cap;
static uint32_t *group_of;          /* site id -> group index + 1 */
static size_t group_of_cap;
static struct { size_t blocks, bytes, sites; } total[NSTATE];

/* Sums the blocks in state st by site, largest first. */
static void group(enum state st)
{
    ngroups = 0;
    size_t sites = mm_site_limit();
    if (!mm_os_room_own((void **)&group_of, &group_of_cap, sites, sizeof *group_of))
        return;
    memset(group_of, 0, sites * sizeof *group_of);
    for (size_t i = 0; i < nblocks; i++) {
        if (blocks[i].state != st)
            continue;
        uint32_t site = blocks[i].site < sites ? blocks[i].site : 0;
        if (!group_of[site]) {
            if (!mm_os_room_own((void **)&groups, &groups_cap, ngroups + 1, sizeof *groups))
                continue;
            groups[ngroups] = (struct group){ site, 0, 0 };
            group_of[site] = (uint32_t)++ngroups;
        }
        struct group *g = &groups[group_of[site] - 1];
        g->blocks++;
        g->bytes += blocks[i].end - blocks[i].start;
    }
    /* largest first: insertion sort, the sites are few next to the blocks */
    for (size_t i = 1; i < ngroups; i++)
        for (size_t j = i; j > 0 && groups[j].bytes > groups[j - 1].bytes; j--) {
            struct group t = groups[j];
            groups[j] = groups[j - 1];
            groups[j - 1] = t;
        }
}

static void count(void)
{
    memset(total, 0, sizeof total);
    for (size_t i = 0; i < nblocks; i++) {
        total[blocks[i].state].blocks++;
        total[blocks[i].state].bytes += blocks[i].end - blocks[i].start;
    }
    for (int st = 0; st < NSTATE; st++) {
        group((enum state)st);
        total[st].sites = ngroups;
    }
}

static const char *plural(size_t n) { return n == 1 ? "" : "s"; }

/* One section: its heading, then its sites (the first `most`). */
static void section(enum state st, const char *what, const char *lost, const char *why, size_t most)
{
    if (!total[st].blocks)
        return;
    char a[32], b[32];
    group(st);
    mm_print("mymalloc: %s %s (pid %d): %s bytes in %s block%s%s, from %zu site%s%s\n", what,
             program_invocation_short_name, mm_os_pid(), mm_thousands(a, total[st].bytes),
             mm_thousands(b, total[st].blocks), plural(total[st].blocks), lost, ngroups, plural(ngroups), why);
    for (size_t g = 0; g < ngroups && g < most; g++) {
        mm_print("  %s bytes in %s block%s allocated by:\n", mm_thousands(a, groups[g].bytes),
                 mm_thousands(b, groups[g].blocks), plural(groups[g].blocks));
        mm_site_print(groups[g].site, "    ");
    }
    if (ngroups > most)
        mm_print("  ... and %zu more sites\n", ngroups - most);
}

static void print_report(void)
{
    char a[32], b[32], c[32], d[32], e[32];
    section(DIRECT, "leaks of", " lost", "", 100);
    section(INDIRECT, "indirectly lost in", "", " (pointed to only by lost blocks)", 100);
    section(POSSIBLE, "possibly lost in", "", " (pointed to only inside, not at their start)", 100);
    if (mm_opt.leak_reachable)
        section(REACHABLE, "still reachable in", "",
                " (pointed to by globals, the stack or other reachable blocks)", 10);
    size_t lost = total[DIRECT].bytes + total[INDIRECT].bytes;
    size_t lost_blocks = total[DIRECT].blocks + total[INDIRECT].blocks;
    mm_print("SUMMARY: %s bytes leaked in %s block%s from %zu site%s (%s bytes indirectly); %s bytes "
             "possibly lost; %s bytes still reachable", mm_thousands(a, lost), mm_thousands(e, lost_blocks),
             plural(lost_blocks), total[DIRECT].sites, plural(total[DIRECT].sites),
             mm_thousands(b, total[INDIRECT].bytes), mm_thousands(c, total[POSSIBLE].bytes),
             mm_thousands(d, total[REACHABLE].bytes));
    if (total[SUPPRESSED].blocks)
        mm_print("; %s bytes suppressed", mm_thousands(a, total[SUPPRESSED].bytes));
    mm_print("\n");
}

bool mm_leaks_report(void)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    mm_roots_prepare();
    if (!mm_enter())
        return false;
    mm_quarantine_flush("exit");
    bool ok = collect();
    if (ok && nblocks) {
        sort_blocks();
        ok = mark_from_roots(sp);
    }
    if (!ok) {
        mm_leave();
        mm_print("mymalloc: leaks: cannot check for leaks (no memory for the tables, or no "
                 "/proc/self/maps)\n");
        return false;
    }
    lost_cliques();
    suppress();
    count();
    print_report();
    mm_leave();
    return total[DIRECT].blocks + total[INDIRECT].blocks > 0;
}

/* profile.c -- profile=FILE: which call stacks hold the heap, over time and
 * at its peak, written in the format of valgrind's massif (ms_print and
 * massif-visualizer read it; mymalloc-trace profile prints it).
 *
 * The stacks that allocated the live blocks form a tree, as massif's does:
 * the root is the heap, its children the places that called malloc (the
 * stacks' first frames), each node's children its callers. A malloc or a
 * free changes only its site's tally (sites.c keeps it beside the stack,
 * where the call has just been): the tree is made and added up when a
 * snapshot is taken, in one pass over the sites and one over the nodes (a
 * child is always made after its parent), and only the nodes worth
 * showing are read.
 *
 * A snapshot of the heap as it is adds up only what changed since the one
 * before: each node keeps a running total (live), and the sites whose
 * bytes changed since the last snapshot are listed as they change, so
 * that a snapshot costs the paths of those sites, not of every site that
 * holds bytes (a large program holds thousands, and takes hundreds of
 * snapshots).
 *
 * The peak is exact, at no cost per call: whenever the heap grows past its
 * peak, the epoch moves on, and every site is then, implicitly, at its
 * peak value. A site keeps the value it had at the latest peak the first
 * time it changes after it (its epoch tells whether it has), so the tree
 * at the peak can be made at any time.
 *
 * Snapshots are taken as massif takes them: time is the bytes allocated
 * and freed so far (massif's "B"), one snapshot every `interval` of it, at
 * most MAX_SNAPS; when they are all used, every other one goes and the
 * interval doubles. Each holds its tree, cut as massif cuts it: a node
 * below 1% of the heap at that time is counted with its siblings below
 * it, in one line. The file is written at exit (with the peak and the
 * state at exit) and on SIGUSR2 with profile_signal=1.
 *
 * Everything here runs with the lock held; nothing allocates (the tree
 * and the snapshots live in mappings of their own). */
#include "debug.h"

#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* ---- the tree ---- */

struct node {
    uintptr_t pc;                  /* the frame (0: the root) */
    uint32_t parent, child, sibling;   /* indexes; 0: none (0 is the root) */
};

static struct node *nodes;
static size_t nnodes, nodes_cap;

static struct mm_site_tally no_site;   /* blocks without a stack */
static int64_t heap, extra, peak, peak_extra;
static uint64_t now, peak_time;    /* time: bytes allocated and freed */
static uint32_t epoch;

static bool ready(void)
{
    if (nnodes)
        return true;
    if (!mm_os_room_own((void **)&nodes, &nodes_cap, 1, sizeof *nodes))
        return false;
    nodes[0] = (struct node){ 0 };
    nnodes = 1;
    return true;
}

/* The child of node i for frame pc, made if it is not there; 0 without
 * memory. */
static uint32_t child(uint32_t i, uintptr_t pc)
{
    for (uint32_t c = nodes[i].child; c; c = nodes[c].sibling)
        if (nodes[c].pc == pc)
            return c;
    if (nnodes >= UINT32_MAX || !mm_os_room_own((void **)&nodes, &nodes_cap, nnodes + 1, sizeof *nodes))
        return 0;
    uint32_t c = (uint32_t)nnodes++;
    nodes[c] = (struct node){ .pc = pc, .parent = i, .sibling = nodes[i].child };
    nodes[i].child = c;
    return c;
}

/* The node of a site's whole stack, made the first time (the root when
 * there is no memory: the bytes are then still in the heap's total). */
static uint32_t leaf_of(uint32_t site, struct mm_site_tally *t)
{
    if (t->leaf)
        return t->leaf;
    const uintptr_t *pcs;
    int depth = mm_site_frames(site, &pcs);
    uint32_t n = 0;
    for (int k = 0; k < depth; k++) {
        uint32_t c = child(n, pcs[k]);
        if (!c)
            return n;
        n = c;
    }
    return t->leaf = n;
}

static int64_t at_peak(const struct mm_site_tally *t)
{
    return t->seen == epoch ? t->at_peak : t->bytes;
}

/* ---- the snapshots ---- */

#define MAX_SNAPS 100
#define THRESHOLD 100              /* a node is shown at 1/THRESHOLD of the heap or more */

struct tnode {                     /* a node of a snapshot's cut tree, in preorder */
    uintptr_t pc;                  /* 0 with places: the places below the threshold */
    int64_t bytes;
    uint32_t children, places;
};

struct snap {
    uint64_t time;
    int64_t heap, extra;
    size_t first, count;           /* its tree in tnodes */
    bool peak;
};

static struct snap snaps[MAX_SNAPS];
static size_t nsnaps;
static struct tnode *tnodes;
static size_t ntnodes, tnodes_cap;
static uint64_t interval = 4096, next_snap;
static uint32_t *scratch;          /* children being sorted, a stack of lists */
static size_t scratch_cap;
/* Each node's bytes with those under it, for the snapshot being taken: a
 * node's sum counts only when its mark is this snapshot's, so that adding
 * up costs the paths of the sites that hold bytes, not every node. */
static int64_t *sum;
static uint32_t *mark, marked;
static size_t sum_cap, mark_cap;

/* The running totals (see the top of the file): the sites changed since
 * the last snapshot, listed in this round; `running` cleared when a
 * site's path could not be made or a site listed (no memory): every
 * snapshot is then added up anew, as the peak is. */
static int64_t *live;
static size_t live_cap;
static uint32_t *changed, round_ = 1;
static size_t nchanged, changed_cap;
static int64_t no_site_counted;
static bool running = true;
static bool from_live;             /* cut() reads live, not sum */

static inline int64_t sum_of(uint32_t i)
{
    if (from_live)
        return live[i];
    return mark[i] == marked ? sum[i] : 0;
}

/* Adds v to node i and every node above it. */
static void add_path(uint32_t i, int64_t v)
{
    for (;;) {
        if (mark[i] != marked) {
            mark[i] = marked;
            sum[i] = 0;
        }
        sum[i] += v;
        if (!i)
            return;
        i = nodes[i].parent;
    }
}

/* Every node's total, now or at the peak: the sites' bytes added along
 * their paths to the root. */
static bool add_up(bool peak_values)
{
    if (++marked == 0) {               /* (wrapped: no mark may look current) */
        if (mark)
            memset(mark, 0, mark_cap * sizeof *mark);
        marked = 1;
    }
    for (uint32_t id = mm_site_next(0); id; id = mm_site_next(id)) {
        struct mm_site_tally *t = mm_site_tally(id);
        if (!t->bytes && !at_peak(t))
            continue;
        leaf_of(id, t);
        int64_t v = peak_values ? at_peak(t) : t->bytes;
        if (!v)
            continue;
        if (!mm_os_room_own((void **)&sum, &sum_cap, nnodes, sizeof *sum) ||
            !mm_os_room_own((void **)&mark, &mark_cap, nnodes, sizeof *mark))
            return false;
        add_path(t->leaf, v);
    }
    if (!mm_os_room_own((void **)&sum, &sum_cap, nnodes, sizeof *sum) ||
        !mm_os_room_own((void **)&mark, &mark_cap, nnodes, sizeof *mark))
        return false;
    add_path(0, peak_values ? at_peak(&no_site) : no_site.bytes);
    return true;
}

/* Adds v to node i's running total and every node's above it. */
static void add_live(uint32_t i, int64_t v)
{
    for (;;) {
        live[i] += v;
        if (!i)
            return;
        i = nodes[i].parent;
    }
}

/* The running totals brought up to now, from the sites changed since the
 * last snapshot; false when they cannot be (no memory: they are then
 * given up for good). */
static bool bring_up_to_date(void)
{
    if (!running)
        return false;
    for (size_t k = 0; k < nchanged; k++) {
        struct mm_site_tally *t = mm_site_tally(changed[k]);
        int64_t v = t->bytes - t->counted;
        if (!v)
            continue;
        leaf_of(changed[k], t);
        if (!t->leaf || !mm_os_room_own((void **)&live, &live_cap, nnodes, sizeof *live)) {
            running = false;     /* (a path half made: it may go elsewhere next time) */
            return false;
        }
        add_live(t->leaf, v);
        t->counted = t->bytes;
    }
    nchanged = 0;
    round_++;
    if (!mm_os_room_own((void **)&live, &live_cap, nnodes, sizeof *live)) {
        running = false;
        return false;
    }
    add_live(0, no_site.bytes - no_site_counted);
    no_site_counted = no_site.bytes;
    return true;
}

/* Whether node a comes before node b among their siblings: more bytes,
 * or as many at a lower address (so that the order does not depend on
 * when the nodes were made). */
static bool before(uint32_t a, uint32_t b)
{
    int64_t x = sum_of(a), y = sum_of(b);
    return x > y || (x == y && nodes[a].pc < nodes[b].pc);
}

/* Appends node i's cut tree (i itself already appended at index at), by
 * the totals in sum. `top` is where the scratch stack is free. False
 * without memory. */
static bool cut(uint32_t i, size_t at, int64_t floor, size_t top)
{
    size_t n = 0;
    for (uint32_t c = nodes[i].child; c; c = nodes[c].sibling)
        n++;
    if (!mm_os_room_own((void **)&scratch, &scratch_cap, top + n, sizeof *scratch))
        return false;
    uint32_t *kids = scratch + top;
    size_t k = 0;
    int64_t below = 0;
    uint32_t places = 0;
    for (uint32_t c = nodes[i].child; c; c = nodes[c].sibling) {
        int64_t v = sum_of(c);
        if (v <= 0)
            continue;
        if (v >= floor) {
            kids[k++] = c;
        } else {
            below += v;
            places++;
        }
    }
    for (size_t a = 1; a < k; a++)            /* by bytes, largest first (then by address) */
        for (size_t b = a; b > 0 && before(kids[b], kids[b - 1]); b--) {
            uint32_t t = kids[b];
            kids[b] = kids[b - 1];
            kids[b - 1] = t;
        }
    tnodes[at].children = (uint32_t)k + (places > 0);
    for (size_t a = 0; a < k; a++) {
        if (!mm_os_room_own((void **)&tnodes, &tnodes_cap, ntnodes + 1, sizeof *tnodes))
            return false;
        size_t me = ntnodes++;
        tnodes[me] = (struct tnode){ nodes[kids[a]].pc, sum_of(kids[a]), 0, 0 };
        if (!cut(kids[a], me, floor, top + k))
            return false;
    }
    if (places) {
        if (!mm_os_room_own((void **)&tnodes, &tnodes_cap, ntnodes + 1, sizeof *tnodes))
            return false;
        tnodes[ntnodes++] = (struct tnode){ 0, below, 0, places };
    }
    return true;
}

/* The tree now (or at the peak) into s. */
static bool take(struct snap *s, bool peak_values)
{
    s->peak = peak_values;
    s->time = peak_values ? peak_time : now;
    s->heap = peak_values ? peak : heap;
    s->extra = peak_values ? peak_extra : extra;
    s->first = ntnodes;
    s->count = 0;
    if (s->heap <= 0 || !ready())
        return true;
    from_live = !peak_values && bring_up_to_date();
    if ((!from_live && !add_up(peak_values)) ||
        !mm_os_room_own((void **)&tnodes, &tnodes_cap, ntnodes + 1, sizeof *tnodes))
        return false;
    tnodes[ntnodes++] = (struct tnode){ 0, s->heap, 0, 0 };
    int64_t floor = s->heap / THRESHOLD ? s->heap / THRESHOLD : 1;
    bool ok = cut(0, s->first, floor, 0);
    s->count = ntnodes - s->first;
    return ok;
}

/* Every other snapshot goes (the first stays), their trees packed. */
static void thin(void)
{
    size_t kept = 0, at = 0;
    for (size_t i = 0; i < nsnaps; i += 2) {
        struct snap s = snaps[i];
        memmove(tnodes + at, tnodes + s.first, s.count * sizeof *tnodes);
        s.first = at;
        at += s.count;
        snaps[kept++] = s;
    }
    nsnaps = kept;
    ntnodes = at;
    interval *= 2;
}

static void maybe_snapshot(void)
{
    if (now < next_snap)
        return;
    if (nsnaps == MAX_SNAPS)
        thin();
    size_t mark = ntnodes;
    if (take(&snaps[nsnaps], false))
        nsnaps++;
    else
        ntnodes = mark;          /* no memory: this one is skipped */
    next_snap = now + interval;
}

void mm_profile_charge(uint32_t site, int64_t bytes, int64_t overhead)
{
    struct mm_site_tally *t = mm_site_tally(site);
    if (!t)
        t = &no_site;
    if (t->seen != epoch) {
        t->at_peak = t->bytes;
        t->seen = epoch;
    }
    t->bytes += bytes;
    if (t->changed != round_ && t != &no_site && running) {
        if (mm_os_room_own((void **)&changed, &changed_cap, nchanged + 1, sizeof *changed)) {
            changed[nchanged++] = site;
            t->changed = round_;
        } else {
            running = false;
        }
    }
    heap += bytes;
    extra += overhead;
    now += (uint64_t)(bytes < 0 ? -bytes : bytes);
    if (heap > peak) {
        peak = heap;
        peak_extra = extra;
        peak_time = now;
        epoch++;                 /* every site is at its peak value now */
    }
    maybe_snapshot();
}

/* ---- the file ---- */

static int out_fd;
static char out[1 << 16];
static size_t used;

static void flush(void)
{
    for (size_t done = 0; done < used;) {
        ssize_t w = mm_os_write(out_fd, out + done, used - done);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    used = 0;
}

static void MM_PRINTF(1, 2) emit(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    size_t n = mm_vfmt(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n >= sizeof line)
        n = sizeof line - 1;
    if (used + n > sizeof out)
        flush();
    memcpy(out + used, line, n);
    used += n;
}

/* The command line, its arguments joined by spaces. */
static void emit_cmd(void)
{
    char buf[4096];
    int fd = mm_os_open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC, 0);
    ssize_t n = fd >= 0 ? mm_os_read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        mm_os_close(fd);
    if (n <= 0) {
        emit("cmd: (unknown)\n");
        return;
    }
    while (n > 0 && buf[n - 1] == '\0')
        n--;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0' || buf[i] == '\n')
            buf[i] = ' ';
    buf[n] = '\0';
    emit("cmd: %s\n", buf);
}

static void emit_indent(int d)
{
    char sp[64];
    if (d > (int)sizeof sp - 1)
        d = (int)sizeof sp - 1;
    memset(sp, ' ', (size_t)d);
    sp[d] = '\0';
    emit("%s", sp);
}

/* Passes over the cut tree at index i; returns the index past it. */
static size_t skip_tree(size_t i)
{
    uint32_t k = tnodes[i++].children;
    while (k--)
        i = skip_tree(i);
    return i;
}

/* Writes the cut tree at index i at depth d; returns the index past it. */
static size_t emit_tree(size_t i, int d)
{
    const struct tnode *t = &tnodes[i++];
    emit_indent(d);
    if (d == 0) {
        emit("n%u: %lld (heap allocation functions) malloc/new/new[], --alloc-fns, etc.\n", t->children,
             (long long)t->bytes);
    } else if (!t->pc) {
        emit("n0: %lld in %u place%s, all below massif's threshold (1.00%%)\n", (long long)t->bytes,
             t->places, t->places == 1 ? "" : "s");
        return i;
    } else {
        char name[576];
        mm_frame_name(t->pc, name, sizeof name);
        /* below main, the C library's start code: not shown, as in the reports */
        if (!strncmp(name, "main+", 5)) {
            emit("n0: %lld 0x%lx: %s\n", (long long)t->bytes, (unsigned long)t->pc - 1, name);
            for (uint32_t k = 0; k < t->children; k++)
                i = skip_tree(i);
            return i;
        }
        emit("n%u: %lld 0x%lx: %s\n", t->children, (long long)t->bytes, (unsigned long)t->pc - 1, name);
    }
    for (uint32_t k = 0; k < t->children; k++)
        i = emit_tree(i, d + 1);
    return i;
}

static void emit_snap(size_t number, const struct snap *s)
{
    emit("#-----------\nsnapshot=%zu\n#-----------\n", number);
    emit("time=%llu\nmem_heap_B=%lld\nmem_heap_extra_B=%lld\nmem_stacks_B=0\n", (unsigned long long)s->time,
         (long long)s->heap, (long long)(s->extra > 0 ? s->extra : 0));
    if (!s->count) {
        emit("heap_tree=empty\n");
        return;
    }
    emit("heap_tree=%s\n", s->peak ? "peak" : "detailed");
    emit_tree(s->first, 0);
}

void mm_profile_write(void)
{
    if (!mm_opt.profile[0])
        return;
    size_t mark = ntnodes, n = nsnaps;
    struct snap at_peak_s, at_end;
    bool have_peak = peak > 0 && take(&at_peak_s, true);
    bool have_end = take(&at_end, false);
    out_fd = mm_path_open(mm_opt.profile, O_TRUNC);
    if (out_fd < 0) {
        mm_print("mymalloc: profile: cannot write %s\n", mm_opt.profile);
        ntnodes = mark;
        return;
    }
    used = 0;
    mm_frame_names_forget();
    if (mm_opt.profile_sample)
        emit("desc: mymalloc profile=%s, sampled: one allocation in every %zu bytes on average, each "
             "counted with its weight\n", mm_opt.profile, mm_opt.profile_sample);
    else
        emit("desc: mymalloc profile=%s\n", mm_opt.profile);
    emit_cmd();
    emit("time_unit: B\n");
    size_t number = 0;
    struct snap zero = { 0 };
    emit_snap(number++, &zero);
    bool peak_done = !have_peak;
    for (size_t i = 0; i < n; i++) {
        if (!peak_done && at_peak_s.time <= snaps[i].time) {
            emit_snap(number++, &at_peak_s);
            peak_done = true;
            if (snaps[i].time == at_peak_s.time)
                continue;        /* the same moment: once, as the peak */
        }
        if (snaps[i].heap > 0 || snaps[i].time > 0)
            emit_snap(number++, &snaps[i]);
    }
    if (!peak_done)
        emit_snap(number++, &at_peak_s);
    if (have_end)
        emit_snap(number++, &at_end);
    flush();
    mm_os_close(out_fd);
    ntnodes = mark;              /* the peak's and the end's trees were for this file only */
}

/* roots.c -- where the leak report looks for pointers: every part of the
 * process's memory that the program can keep a pointer in, and none of the
 * allocator's own.
 *
 * That is every private writable mapping that /proc/self/maps lists: the
 * data of every loaded object, every thread's stack and its TLS (static
 * TLS, the loader's vectors of dynamic TLS, pthread_setspecific values,
 * glibc's own per-thread state such as dlerror's), the stacks glibc keeps
 * cached after their threads exit, and whatever the program mapped itself
 * (pymalloc's arenas, a JIT's heap). Left out: the heap's segments and the
 * mapped blocks (a block is scanned only once it is found reachable), the
 * allocator's own mappings (mm_os_map_own) and its own data, the part of
 * the calling thread's stack below the report's frames (stale words there
 * would keep lost blocks looking reachable), shared mappings (files and
 * memory shared with other processes) and devices.
 *
 * Nothing here allocates: the lists live in mappings of the allocator's
 * own. Lock held. */
#include "debug.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

static struct mm_range *maps, *skip, *out;
static size_t maps_cap, skip_cap, out_cap, nmaps, nskip, nout;
static bool *anon;                  /* maps[i] is anonymous: no file, no name */
static size_t anon_cap;

static bool push(struct mm_range **a, size_t *cap, size_t *n, uintptr_t lo, uintptr_t hi)
{
    if (lo >= hi)
        return true;
    if (!mm_os_room_own((void **)a, cap, *n + 1, sizeof **a))
        return false;
    (*a)[(*n)++] = (struct mm_range){ lo, hi };
    return true;
}

/* A private writable mapping that is not a device's ("[vvar]" and
 * "[vsyscall]" are the kernel's). */
static bool take(const struct mm_map *m, void *arg)
{
    bool *ok = arg;
    const char *name = m->name;
    if (!m->read || !m->write || m->shared)
        return true;
    if (name && m->name_len >= 5 && !strncmp(name, "/dev/", 5))
        return true;            /* a device's memory: reading it may do anything */
    if (name && ((m->name_len >= 5 && !strncmp(name, "[vvar", 5)) ||
                 (m->name_len >= 10 && !strncmp(name, "[vsyscall]", 10))))
        return true;
    size_t i = nmaps;
    *ok = push(&maps, &maps_cap, &nmaps, m->lo, m->hi) && mm_os_room_own((void **)&anon, &anon_cap, nmaps, 1);
    if (*ok)
        anon[i] = !name;
    return *ok;
}

static bool read_maps(void)
{
    bool ok = true;
    nmaps = 0;
    return mm_maps_each(take, &ok) && ok && nmaps;
}

static bool skip_range(uintptr_t lo, uintptr_t hi, void *arg)
{
    (void)arg;
    return push(&skip, &skip_cap, &nskip, lo, hi);
}

static void skip_big(mm_chunk *c, void *arg)
{
    bool *ok = arg;
    uintptr_t base = (uintptr_t)c - c->prev_size;
    *ok = *ok && push(&skip, &skip_cap, &nskip, base, base + c->prev_size + mm_size(c));
}

static void sift(size_t j, size_t n)
{
    for (size_t k; (k = 2 * j + 1) < n; j = k) {
        if (k + 1 < n && skip[k + 1].lo > skip[k].lo)
            k++;
        if (skip[j].lo >= skip[k].lo)
            return;
        struct mm_range t = skip[j];
        skip[j] = skip[k];
        skip[k] = t;
    }
}

/* Heapsort by start: no recursion, no extra memory. */
static void sort_skip(void)
{
    for (size_t i = nskip / 2; i-- > 0;)
        sift(i, nskip);
    for (size_t n = nskip; n > 1;) {
        struct mm_range t = skip[0];
        skip[0] = skip[--n];
        skip[n] = t;
        sift(0, n);
    }
}

/* What is left out, sorted by start. */
static bool collect_skip(uintptr_t sp)
{
    nskip = 0;
    bool ok = true;
    for (mm_segment *s = mm_ro.segs; s && ok; s = s->next)
        ok = push(&skip, &skip_cap, &nskip, (uintptr_t)s, (uintptr_t)s->end);
    mm_big_each(skip_big, &ok);
    ok = ok && mm_guard_each_region(skip_range, NULL);   /* guarded blocks: blocks, not roots */
    const struct mm_range *own;
    size_t n = mm_os_own(&own);
    for (size_t i = 0; i < n && ok; i++)
        ok = push(&skip, &skip_cap, &nskip, own[i].lo, own[i].hi);
    /* the library itself: its data holds the heap's pointers, not the
     * program's (its reserve's blocks are not the program's to leak) */
    struct dl_find_object fo;
    if (ok && _dl_find_object((void *)(uintptr_t)&collect_skip, &fo) == 0)
        ok = push(&skip, &skip_cap, &nskip, (uintptr_t)fo.dlfo_map_start, (uintptr_t)fo.dlfo_map_end);
    /* this thread's stack below the report's frames */
    for (size_t i = 0; i < nmaps && ok; i++)
        if (sp >= maps[i].lo && sp < maps[i].hi)
            ok = push(&skip, &skip_cap, &nskip, maps[i].lo, sp);
    if (ok)
        sort_skip();
    return ok;
}

/* ---- the stacks of threads that have exited ----
 * glibc keeps them mapped, for the next thread. Their words are stale: a
 * block a dead thread's stack or TLS still points to is lost (as valgrind
 * and LeakSanitizer say too). What glibc itself holds there stays held:
 * the loader's vector of the thread's TLS blocks, freed when the stack is
 * reused. A thread's descriptor (struct pthread) starts with its TCB, two
 * words that point to the TCB itself (at 0 and 16) around the vector's
 * pointer (at 8); once the thread has exited its tid is 0 (the kernel
 * clears it) or -1 (glibc marks a joined thread so). Where
 * tid lies, glibc tells its debuggers (_thread_db_pthread_tid: its size in
 * bits, a count, its offset). */
static long tid_offset = -1;

void mm_roots_prepare(void)
{
    const uint32_t *d = dlsym(RTLD_DEFAULT, "_thread_db_pthread_tid");
    if (d && d[0] == 32 && d[1] == 1)
        tid_offset = d[2];
}

/* The TCB of a dead thread near the top of the mapping [lo, hi), or 0.
 * Descriptors are aligned to 64 bytes, above the thread's static TLS. */
static uintptr_t dead_tcb(uintptr_t lo, uintptr_t hi)
{
    if (tid_offset < 0 || hi - lo < 2 * mm_page)
        return 0;
    uintptr_t from = hi - lo > (64u << 10) ? hi - (64u << 10) : lo;
    for (uintptr_t x = hi - 64 * ((size_t)tid_offset / 64 + 1); x >= from; x -= 64) {
        const uintptr_t *w = (const uintptr_t *)x;
        if (w[0] == x && w[2] == x && x + (size_t)tid_offset + 4 <= hi)
            return *(const int *)(x + (size_t)tid_offset) <= 0 ? x : 0;
    }
    return 0;
}

/* The first range left out that ends after lo (they do not overlap). */
static size_t first_after(uintptr_t lo)
{
    size_t a = 0, b = nskip;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (skip[m].lo < lo)
            a = m + 1;
        else
            b = m;
    }
    return a > 0 && skip[a - 1].hi > lo ? a - 1 : a;
}

size_t mm_roots(const struct mm_range **ranges, uintptr_t sp)
{
    nout = 0;
    if (!read_maps() || !collect_skip(sp))
        return 0;
    for (size_t i = 0; i < nmaps; i++) {
        uintptr_t cur = maps[i].lo, hi = maps[i].hi, probe = hi - cur > (64u << 10) ? hi - (64u << 10) : cur;
        /* (a thread's descriptor is looked for only where nothing of ours
         * lies: the guarded blocks' regions are not all readable) */
        size_t k = first_after(probe);
        bool ours = k < nskip && skip[k].lo < hi;
        uintptr_t tcb = anon[i] && !ours ? dead_tcb(cur, hi) : 0;
        if (tcb) {
            /* only the word that holds the loader's vector */
            if (!push(&out, &out_cap, &nout, tcb + 8, tcb + 16))
                return 0;
            continue;
        }
        for (size_t k = first_after(cur); k < nskip && skip[k].lo < hi && cur < hi; k++) {
            if (skip[k].hi <= cur)
                continue;
            if (skip[k].lo > cur && !push(&out, &out_cap, &nout, cur, skip[k].lo))
                return 0;
            cur = skip[k].hi;
        }
        if (cur < hi && !push(&out, &out_cap, &nout, cur, hi))
            return 0;
    }
    *ranges = out;
    return nout;
}

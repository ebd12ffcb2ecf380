/* big.c -- blocks of mmap_threshold bytes and more get a mapping each.
 *
 * A mapped chunk has the usual header, with MMAPPED set; its prev_size
 * holds the chunk's offset from the start of the mapping (non-zero when an
 * alignment asked for the block to start further in; always less than a
 * page), its head the mapping's length in pages. The tag covers both
 * words: free unmaps what was mapped, or reports the header, whatever the
 * program wrote there. The set of their user pointers tells free which
 * pointers are ours without touching memory outside our regions; a short
 * ring of recently freed pointers lets a second free of one be called a
 * double free.
 *
 * A freed mapping is kept a while for the next big block that fits it (no
 * mmap, no munmap, no page faults): a few of them, up to KEEP_BYTES, each
 * unmapped after KEEP_MS without use (checked at each big free and at the
 * allocation path's tick), all of them by malloc_trim or when mmap fails.
 * None is kept, or stays kept, that is no longer than the mmap threshold:
 * once a free has raised the threshold to a block's length (see
 * mm_big_free), blocks that size come from the heap, and a kept mapping
 * of it would only sit there, resident, until its time ran out. */
#include "heap.h"

#define RECENT 64
#define KEEP 8
#define KEEP_BYTES (64u << 20)
#define KEEP_MS 1000

static mm_pset live;
static size_t bytes;
static uintptr_t recent[RECENT];
static unsigned recent_next;
static struct { char *base; size_t len; uint64_t ms; } kept[KEEP];   /* lock held */
static size_t kept_bytes;
static unsigned kept_count;

/* The mapping's start and length, from the header (checked by its tag). */
/* Every mapping ends with a page left inaccessible (PROT_NONE: address
 * space, no memory), so that a write past a big block faults where it is
 * made instead of landing in whatever is mapped next. Its own mapping in
 * /proc/self/maps, unreadable: no scan of the process's memory reads it.
 * Lengths below do not count it. */
#define GUARD mm_page

static char *base_of(const mm_chunk *c) { return (char *)c - c->prev_size; }
static size_t len_of(const mm_chunk *c) { return (size_t)((c->head & MM_SIZE) >> 4) * MM_MAP_UNIT; }

/* The header of a mapped chunk at off bytes into a mapping of len bytes. */
static void set_mapped(mm_chunk *c, size_t off, size_t len)
{
    c->prev_size = off;
    mm_set_head(c, (uint64_t)(len / MM_MAP_UNIT) << 4 | MM_MMAPPED | MM_INUSE);
}

/* Unmaps the kept mappings unused since before `since`, and those of
 * `below` bytes or less (lock held). */
static void unkeep_below(uint64_t since, size_t below)
{
    for (unsigned i = 0; i < KEEP; i++)
        if (kept[i].base && (kept[i].ms <= since || kept[i].len <= below)) {
            mm_os_unmap(kept[i].base, kept[i].len + GUARD);
            kept_bytes -= kept[i].len;
            kept_count--;
            kept[i].base = NULL;
        }
}

static void unkeep(uint64_t since)
{
    unkeep_below(since, 0);
}

MM_HOT void mm_big_decay(void)
{
    if (kept_count)
        unkeep(mm_os_coarse_ms() - KEEP_MS);
}

void mm_big_trim(void)
{
    unkeep(UINT64_MAX);
}

size_t mm_big_kept(size_t *count)
{
    *count = kept_count;
    return kept_bytes;
}

/* A kept mapping of len bytes to a quarter more, where a block of n bytes
 * aligned to align fits; NULL if none (lock held). */
static char *take_kept(size_t len, size_t *got)
{
    for (unsigned i = 0; i < KEEP; i++)
        if (kept[i].base && kept[i].len >= len && kept[i].len - len <= len / 4) {
            char *m = kept[i].base;
            *got = kept[i].len;
            kept_bytes -= kept[i].len;
            kept_count--;
            kept[i].base = NULL;
            return m;
        }
    return NULL;
}

MM_HOT void *mm_big_alloc(size_t n, size_t align, bool zero)
{
    if (align < MM_ALIGN)
        align = MM_ALIGN;
    /* Over-map by the alignment, then unmap the pages before and after. */
    size_t len = mm_page_round(n + MM_HDR + (align > MM_ALIGN ? align : 0));
    if (len > MM_MAP_MAX)
        return NULL;               /* more than a header can say */
    char *m = NULL, *lo, *hi;
    size_t got = 0;
    /* A kept mapping is not zero; and the block must start within its
     * first page (the offset is less than a page). */
    if (!zero && align <= mm_page && mm_lock()) {
        m = take_kept(len, &got);
        mm_unlock();
    }
    char *mem;
    mm_chunk *c;
    if (m) {
        /* the whole mapping is the block's */
        mem = (char *)mm_align_up((uintptr_t)m + MM_HDR, align);
        c = mm_chunk_of_mem(mem);
        lo = m;
        hi = m + got;
    } else {
        if (!(m = mm_os_map(len + GUARD))) {
            if (!mm_lock())
                return NULL;
            unkeep(UINT64_MAX);        /* short of memory: the kept ones first */
            mm_unlock();
            if (!(m = mm_os_map(len + GUARD)))
                return NULL;
        }
        mem = (char *)mm_align_up((uintptr_t)m + MM_HDR, align);
        c = mm_chunk_of_mem(mem);
        lo = (char *)((uintptr_t)c & ~(uintptr_t)(mm_page - 1));
        hi = (char *)mm_page_round((uintptr_t)mem + n);
        if (lo > m)
            mm_os_unmap(m, (size_t)(lo - m));
        if (hi < m + len)
            mm_os_unmap(hi + GUARD, (size_t)(m + len - hi));
        mm_os_noaccess(hi, GUARD, true);   /* (without it, the block works all the same) */
    }
    set_mapped(c, (size_t)((char *)c - lo), (size_t)(hi - lo));

    if (!mm_lock()) {                 /* re-entered: cannot record it */
        mm_os_unmap(lo, (size_t)(hi - lo) + GUARD);
        return NULL;
    }
    bool ok = mm_pset_add(&live, (uintptr_t)mem);
    if (ok)
        bytes += (size_t)(hi - lo);
    mm_unlock();
    if (!ok) {
        mm_os_unmap(lo, (size_t)(hi - lo) + GUARD);
        return NULL;
    }
    return mem;
}

MM_HOT void mm_big_free(mm_chunk *c)
{
    uintptr_t mem = (uintptr_t)mm_mem(c);
    /* As glibc does: a program that frees mapped blocks of some size will
     * ask for more of them, so from now on blocks of that size come from
     * the heap (no mmap, munmap and page faults for each), and the heap
     * keeps twice that much at its top. Unless the thresholds were set. */
    size_t len = len_of(c);
    bool raised = false;
    if (!mm_heap.thresholds_fixed && len > mm_heap.mmap_threshold && len <= MM_MMAP_THRESHOLD_MAX) {
        mm_heap.mmap_threshold = len;
        mm_heap.trim_threshold = 2 * len;
        raised = true;
    }
    mm_pset_del(&live, mem);
    recent[recent_next++ % RECENT] = mem;
    bytes -= len;
    uint64_t now = mm_os_coarse_ms();
    /* A mapping no longer than the threshold would never be taken again:
     * the blocks it could hold come from the heap now. */
    if (kept_count)
        unkeep_below(now - KEEP_MS, raised ? mm_heap.mmap_threshold : 0);
    if (len > mm_heap.mmap_threshold && len <= KEEP_BYTES / 4 && kept_bytes + len <= KEEP_BYTES)
        for (unsigned i = 0; i < KEEP; i++)
            if (!kept[i].base) {
                kept[i].base = base_of(c);
                kept[i].len = len;
                kept[i].ms = now;
                kept_bytes += len;
                kept_count++;
                return;
            }
    mm_os_unmap(base_of(c), len + GUARD);
}

MM_HOT void *mm_big_realloc(mm_chunk *c, size_t n)
{
    size_t off = c->prev_size, old_len = len_of(c);
    size_t len = mm_page_round(off + MM_HDR + n);
    if (len == old_len)
        return mm_mem(c);
    if (len > MM_MAP_MAX)
        return NULL;
    /* The guard page joins the mapping again for mremap (which takes one
     * mapping whole), and a new one ends it wherever it is now. */
    char *base = base_of(c);
    mm_os_noaccess(base + old_len, GUARD, false);
    char *m = mm_os_remap(base, old_len + GUARD, len + GUARD);
    if (!m) {
        mm_os_noaccess(base + old_len, GUARD, true);
        return NULL;
    }
    mm_os_noaccess(m + len, GUARD, true);
    mm_chunk *nc = mm_chunk_at(m, off);
    set_mapped(nc, off, len);          /* the tag depends on the address */
    mm_pset_del(&live, (uintptr_t)mm_mem(c));
    recent[recent_next++ % RECENT] = (uintptr_t)mm_mem(c);
    mm_pset_add(&live, (uintptr_t)mm_mem(nc));   /* cannot fail: the set did not grow */
    bytes += len - old_len;
    return mm_mem(nc);
}

MM_HOT bool mm_big_owns(const void *p)
{
    return mm_pset_has(&live, (uintptr_t)p);
}

bool mm_big_recently_freed(const void *p)
{
    for (unsigned i = 0; i < RECENT; i++)
        if (recent[i] == (uintptr_t)p)
            return true;
    return false;
}

size_t mm_big_bytes(void) { return bytes; }

struct each { void (*fn)(mm_chunk *, void *); void *arg; };

static void visit(uintptr_t mem, void *arg)
{
    struct each *e = arg;
    e->fn(mm_chunk_of_mem((void *)mem), e->arg);
}

void mm_big_each(void (*fn)(mm_chunk *c, void *arg), void *arg)
{
    struct each e = { fn, arg };
    mm_pset_each(&live, visit, &e);
}

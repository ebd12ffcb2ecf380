/* heap.c -- the chunk chain: segments, top, splitting, merging, trimming.
 *
 * Memory comes in segments. The first comes from the program break; while
 * the break keeps growing where the active segment ends, that segment just
 * grows. When someone else has moved the break, or sbrk fails (a limit, a
 * mapping right above the heap), a new segment starts (on the break, or
 * mmapped) and the old one keeps its chunks:
 *
 *     segment: | mm_segment | chunk | chunk | ... | top | fencepost |
 *
 * The last chunk of the active segment is top, the free space new chunks
 * are carved from when no bin has one. Top has no footer, and the active
 * segment's fencepost is not written (nothing reads them: no chunk lies
 * after top to merge back into it): each growth of the heap would make the
 * page of memory at its new end resident for 16 bytes. Both are written
 * when the segment stops being the active one. A freed chunk merges with free
 * neighbours at once, so two free chunks are never adjacent. The caller
 * holds the lock for everything in this file. */
#include "heap.h"

#define H mm_heap
#define MMAP_SEGMENT (1u << 20)   /* smallest mmapped segment */
#define TRIM_DEFAULT (256u << 10)  /* trim_threshold until a free raises it */

struct mm_heap mm_heap __attribute__((aligned(64))) = {
    .mmap_threshold = 128u << 10, .trim_threshold = TRIM_DEFAULT, .top_pad = 64u << 10,
};
void (*mm_heap_purge_hook)(void);

MM_HOT void mm_heap_use_options(void)
{
    if (!mm_options_thresholds_set)
        return;                  /* the defaults, as they are, or as they grew */
    H.mmap_threshold = mm_opt.mmap_threshold;
    H.trim_threshold = mm_opt.trim_threshold;
    H.top_pad = mm_opt.top_pad;
    H.thresholds_fixed = true;
}
struct mm_ro mm_ro = { .lo = UINTPTR_MAX, .hi = 0 };

/* The fast path of free knows the newest segment by its bounds. */
static void publish_bounds(const mm_segment *s)
{
    __atomic_store_n(&mm_ro.hi, (uintptr_t)s->end, __ATOMIC_RELEASE);
    __atomic_store_n(&mm_ro.lo, (uintptr_t)s->base, __ATOMIC_RELEASE);
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* Bytes of a free chunk that may still be resident (see MM_RELEASE_MIN).
 * The count lives in the chunk's body, where a write after free can set it
 * to anything: it is believed up to the chunk's size and to the heap's own
 * count of such bytes, so that no count of the heap's wraps. */
static size_t dirty_of(const mm_chunk *c)
{
    size_t size = mm_csize(c);
    if (size < MM_RELEASE_MIN)
        return min_size(size, H.free_dirty);
    return min_size(min_size(c->dirty, size), H.free_dirty);
}

/* Every free chunk goes in and out of its bin through these two, which keep
 * the count of free bytes that may be resident. */
static void bin_put(mm_chunk *c, size_t dirty, uint64_t pass)
{
    dirty = min_size(dirty, mm_csize(c));
    if (mm_csize(c) >= MM_RELEASE_MIN) {
        c->dirty = dirty;
        c->pass = pass;
    } else
        dirty = mm_csize(c);
    H.free_dirty += dirty;
    H.free_bytes += mm_csize(c);
    mm_bin_insert(c);
}

/* Accounts for c leaving its bin; returns its dirty bytes. */
static size_t bin_left(const mm_chunk *c)
{
    size_t dirty = dirty_of(c);
    H.free_dirty -= dirty;
    H.free_bytes -= mm_csize(c);
    return dirty;
}

static size_t bin_del(mm_chunk *c, const char *fn)
{
    mm_bin_remove(c, fn);
    return bin_left(c);
}

static void set_pinuse(mm_chunk *c, bool on)
{
    uint64_t body = c->head & MM_BODY;
    mm_set_chead(c, on ? body | MM_PINUSE : body & ~(uint64_t)MM_PINUSE);
}

/* Makes c, of the given size, the top chunk. Top is free and its previous
 * chunk is always in use (a free one would have merged into it). */
static void set_top(mm_chunk *c, size_t size)
{
    mm_set_chead(c, size | MM_PINUSE);
    H.top = c;
    H.top_dirty = min_size(H.top_dirty, size);
}

/* Top, checked before anything trusts it. Top is where the heap meets the
 * break: the break must still be past the segment's end (the program may
 * have lowered it with sbrk: then top's end, and maybe more, is gone, and
 * writing its header or footer would fault; sbrk(0) reads glibc's copy of
 * the break, no system call). And its header is one this allocator wrote,
 * ending where its segment's fencepost starts: a header the program forged,
 * or an old one of top's written back (a size from before a trim), would
 * have malloc carve memory past the heap's end. */
MM_HOT static mm_chunk *top_checked(const char *fn)
{
    mm_chunk *t = H.top;
    mm_segment *s = H.active;
    if (t && s->kind == MM_SEG_BRK) {
        char *brk = mm_os_brk_now();
        if (brk < s->end)
            mm_die(fn, "someone else moved the program break down into the heap (to %p, below its end "
                       "%p): the blocks there are gone", (void *)brk, (void *)s->end);
    }
    if (t && (!mm_chead_ok(t) || mm_chunk_at(t, mm_csize(t)) != mm_fence(H.active)))
        mm_die(fn, "heap corrupted: the header of the free space at the end of the heap (%p) was "
                   "overwritten (a heap overflow?)", mm_mem(t));
    return t;
}

MM_HOT mm_segment *mm_segment_of(const void *p)
{
    for (mm_segment *s = mm_ro.segs; s; s = s->next)
        if ((const char *)p >= s->base && (const char *)p < s->end)
            return s;
    return NULL;
}

mm_chunk *mm_walk(const mm_segment *s, const mm_chunk *c, mm_chunk **bad)
{
    mm_chunk *n = c ? mm_next(c) : (mm_chunk *)s->base, *fence = mm_fence(s);
    *bad = NULL;
    if (n == fence)
        return NULL;
    /* c's size was checked to fit the segment, so n lies inside it */
    if ((uintptr_t)n % MM_ALIGN || !mm_chead_ok(n) || mm_csize(n) < MM_MIN_CHUNK ||
        mm_csize(n) > (size_t)((char *)fence - (char *)n)) {
        *bad = n;
        return NULL;
    }
    return n;
}

/* The old top becomes an ordinary free chunk when a new segment starts. */
static void retire_top(void)
{
    if (H.top) {
        size_t size = mm_csize(H.top);
        mm_chunk *fence = mm_chunk_at(H.top, size);
        fence->prev_size = size;
        mm_set_chead(fence, MM_INUSE);          /* PINUSE clear: top is free */
        bin_put(H.top, H.top_dirty, H.decay_pass);
    }
    H.top = NULL;
}

MM_HOT static void start_segment(char *mem, size_t len, int kind)
{
    char *lo = (char *)mm_align_up((uintptr_t)mem, MM_ALIGN);
    char *hi = (char *)(((uintptr_t)mem + len) & ~(uintptr_t)(MM_ALIGN - 1));
    mm_segment *s = (mm_segment *)lo;
    s->base = lo + MM_SEG_HDR;
    s->end = hi;
    s->kind = kind;
    s->map_len = kind == MM_SEG_MMAP ? len : 0;
    retire_top();
    s->next = mm_ro.segs;
    __atomic_store_n(&mm_ro.segs, s, __ATOMIC_RELEASE);     /* read without the lock */
    publish_bounds(s);
    H.active = s;
    H.seg_bytes += (size_t)(hi - lo);
    H.top_dirty = 0;                            /* fresh pages are not resident */
    set_top((mm_chunk *)s->base, (size_t)(hi - MM_HDR - s->base));
}

/* Grows the heap so that top can give nb bytes and still be a chunk.
 * False when the system has no more memory. */
MM_HOT static bool grow(size_t nb, const char *fn)
{
    /* Enough for a whole new segment, in case the break is not where the
     * active segment ends. (nb is at most MM_CHAIN_MAX, top_pad 1 GiB:
     * need is well within MM_SEG_MAX.) */
    size_t need = mm_page_round(nb + MM_MIN_CHUNK + MM_SEG_HDR + MM_HDR + MM_ALIGN + H.top_pad), len = need;
    /* A heap that grows keeps growing: an eighth of its size at a time (up
     * to 64 MiB), so that building a large heap takes tens of brk calls,
     * not thousands. What is not used is not resident, and goes back with
     * top. If the bigger step is refused, the smallest is tried. */
    size_t step = mm_page_round(H.seg_bytes / 8);
    if (step > len)
        len = step < (64u << 20) ? step : (64u << 20) > len ? (64u << 20) : len;
    mm_segment *s = H.active;
    char *old = mm_os_sbrk((intptr_t)len);
    if (!old && len > need)
        old = mm_os_sbrk((intptr_t)(len = need));
    if (old && s && s->kind == MM_SEG_BRK && old > (char *)s && old < s->end)
        mm_die(fn, "someone else moved the program break down into the heap (to %p, below its end "
                   "%p): the blocks there are gone", (void *)old, (void *)s->end);
    bool next_to = old && s && s->kind == MM_SEG_BRK && old >= s->end && old < s->end + MM_ALIGN;
    if (next_to && (size_t)(s->end - (char *)s) + len <= MM_SEG_MAX) {
        /* The break continues the active segment: top grows in place (up
         * to MM_SEG_MAX, so that every chunk's size fits its header). */
        char *end = (char *)(((uintptr_t)old + len) & ~(uintptr_t)(MM_ALIGN - 1));
        size_t add = (size_t)(end - s->end);
        s->end = end;
        publish_bounds(s);
        H.seg_bytes += add;
        set_top(H.top, mm_csize(H.top) + add);
        return true;
    }
    if (old) {
        if (s && s->kind == MM_SEG_BRK && !next_to)
            H.foreign_brk++;       /* someone else moved the break: skip their memory */
        start_segment(old, len, MM_SEG_BRK);
        return true;
    }
    /* The break cannot grow (a limit, or a mapping right above it): the heap
     * goes on in mmapped segments; later growths try the break again. */
    if (len < MMAP_SEGMENT)
        len = MMAP_SEGMENT;
    char *m = mm_os_map(len);
    if (!m)
        return false;
    start_segment(m, len, MM_SEG_MMAP);
    return true;
}

/* Gives back the part of top above pad bytes: by lowering the break when
 * top ends at it, otherwise (an mmapped segment, or a break someone else has
 * moved) with madvise. Returns the bytes given back. */
MM_HOT static size_t trim_top(size_t pad, bool force, const char *fn)
{
    mm_chunk *t = top_checked(fn);
    if (!t || mm_csize(t) < pad + MM_MIN_CHUNK + mm_page)
        return 0;
    size_t size = mm_csize(t);
    mm_segment *s = H.active;
    char *brk = s->kind == MM_SEG_BRK ? mm_os_brk_now() : NULL;
    if (brk >= s->end && brk < s->end + MM_ALIGN) {
        size_t cut = (size - pad - MM_MIN_CHUNK) & ~(mm_page - 1);
        /* the fast path of free stops looking there first */
        __atomic_store_n(&mm_ro.hi, (uintptr_t)(s->end - cut), __ATOMIC_RELEASE);
        if (!mm_os_sbrk(-(intptr_t)cut)) {
            publish_bounds(s);
            return 0;
        }
        s->end -= cut;
        H.seg_bytes -= cut;
        H.released += cut;
        set_top(t, size - cut);
        return cut;
    }
    if (!force && H.top_dirty < H.trim_threshold)
        return 0;
    size_t n = mm_os_release((char *)t + MM_MIN_CHUNK + pad, size - MM_MIN_CHUNK - pad);
    H.released += n;
    H.top_dirty = pad + MM_MIN_CHUNK + 2 * mm_page;   /* what stayed: the pad and partial pages */
    return n;
}

/* A top past trim_threshold goes back: at once when the program set the
 * thresholds (mallopt, the options: glibc's rule), else at most once a
 * second, at a free into top or at the tick, so that a program that frees
 * and allocates big blocks in turn does not lower the break and fault the
 * pages in again each time. */
static void trim_decayed(const char *fn)
{
    if (!H.top || mm_csize(H.top) < H.trim_threshold)
        return;
    if (!H.thresholds_fixed) {
        uint64_t now = mm_os_coarse_ms();
        if (H.last_trim_ms && now - H.last_trim_ms < 1000)
            return;
        H.last_trim_ms = now;
    }
    trim_top(H.top_pad, false, fn);
}

/* Releases the pages inside a binned free chunk of MM_RELEASE_MIN bytes or
 * more, keeping its header, links and dirty count; the footer is in the
 * next chunk. */
static size_t release_chunk(mm_chunk *c)
{
    size_t left = 2 * mm_page;     /* the partial pages at both ends stay */
    size_t dirty = dirty_of(c);
    if (dirty <= left ||
        !mm_os_release((char *)c + sizeof(mm_chunk), mm_csize(c) - sizeof(mm_chunk)))
        return 0;
    size_t n = dirty - left;       /* what was resident, as far as we know */
    H.free_dirty -= n;
    H.released += n;
    c->dirty = left;
    return n;
}

/* The free chunks that hold whole pages give them back, largest first,
 * while more than keep bytes of free memory may be resident: those freed
 * in a decay pass before freed_before, max of them at most. */
static void release_free(size_t keep, uint64_t freed_before, unsigned max)
{
    unsigned n = 0;
    for (unsigned i = MM_NBINS; i-- > mm_bin_index(MM_RELEASE_MIN) && H.free_dirty > keep && n < max;)
        for (mm_chunk *c = mm_bin_first(i); c && n < max; c = mm_bin_next(c, "free"))
            if (mm_csize(c) >= MM_RELEASE_MIN && c->pass < freed_before && release_chunk(c))
                n++;
}

/* Decay: a free chunk that stayed in its bin from one pass to the next
 * (a second or more apart) gives its pages back, largest first, at most
 * DECAY_MAX of them a pass: memory the program stopped using goes back
 * even while what it uses stays high (which the purge below waits for),
 * in whole chunks, a few calls a second at most. A chunk keeps the pass
 * it was freed in while it is split (the rest was free all along); a
 * merge, or a write after free into its body, only makes it wait or go
 * early. Passes are made at frees into the bins and at the tick. */
#define DECAY_MS 1000
#define DECAY_MAX 64
static void decay(void)
{
    if (H.free_dirty <= 4 * mm_page)
        return;
    uint64_t now = mm_os_coarse_ms();
    if (now - H.decay_ms < DECAY_MS)
        return;
    H.decay_ms = now;
    H.decay_pass++;
    release_free(0, H.decay_pass - 1, DECAY_MAX);
}

/* Free memory inside the heap that may be resident goes back when the
 * program has given back much of what it used: when what is in use has
 * fallen to a third of its peak since the last purge, or is less than a
 * quarter of the free memory that may be resident (top included); and
 * that free memory is more than a quarter of what is in use (and four
 * times trim_threshold as set, not as big frees raised it);
 * and at most once a second. The free chunks big enough to hold whole pages release
 * them, largest first. A program that frees most of its memory gets it
 * back; one that keeps churning through a heap of the same size does not
 * pay for page faults on memory it is about to use again. Blocks parked in
 * thread caches or pages can leave many free chunks between them, none big
 * enough to be released on its own, which is why this looks at the total.
 * First, the freed mappings kept a second without use are unmapped. */
MM_HOT static void purge(const char *fn)
{
    mm_big_decay();
    decay();
    size_t used = H.seg_bytes - H.free_bytes - (H.top ? mm_csize(H.top) : 0);
    if (used > H.used_peak)
        H.used_peak = used;
    /* top's dirty bytes count too: a free that lands in a bin must not
     * leave the memory above it resident because top was trimmed a moment
     * before the rest of the program's frees reached it */
    size_t limit = used / 4, dirty = H.free_dirty + H.top_dirty;
    /* (a trim_threshold that a free of a big mapping raised keeps that
     * much at top, not four times it in the whole heap: one array of 2 MB
     * freed would let 16 MB stay resident after the program freed all) */
    size_t floor = 4 * (H.thresholds_fixed ? H.trim_threshold : TRIM_DEFAULT);
    if (limit < floor)
        limit = floor;
    if (H.purging || dirty <= limit || (used > H.used_peak / 3 && dirty <= 4 * used))
        return;
    /* At most once a second: a program that drops its data and builds it
     * again at once (many do) must not pay for page faults each time. The
     * check comes again with the next free into the heap. */
    uint64_t now = mm_os_coarse_ms();
    if (H.last_purge_ms && now - H.last_purge_ms < 1000)
        return;
    H.last_purge_ms = now;
    /* This thread's empty pages (or cache) go back first: what it holds is
     * scattered over the heap, cutting the free memory into pieces too
     * small to release; given back, they may join top. */
    H.purging = true;
    if (mm_heap_purge_hook)
        mm_heap_purge_hook();
    H.purging = false;
    release_free(limit / 2, UINT64_MAX, ~0u);
    if (H.top && mm_csize(H.top) >= H.trim_threshold) {
        trim_top(H.top_pad, false, fn);
        H.last_trim_ms = now;
    }
    H.used_peak = used;
}

MM_HOT void mm_heap_decay(void)
{
    trim_decayed("malloc");
    purge("malloc");
}

/* Marks c (free, out of its bin with `dirty` bytes maybe resident, previous
 * chunk in use) in use with nb bytes; the rest, if it can be a chunk, goes
 * back to a bin. */
MM_HOT static void use_free_chunk(mm_chunk *c, size_t nb, size_t dirty)
{
    size_t size = mm_csize(c), rest = size - nb;
    if (rest >= MM_MIN_CHUNK) {
        /* the rest was free all along: it keeps c's pass */
        uint64_t pass = size >= MM_RELEASE_MIN ? c->pass : H.decay_pass;
        mm_chunk *r = mm_chunk_at(c, nb);
        mm_set_chead(r, rest | MM_PINUSE);
        mm_chunk_at(r, rest)->prev_size = rest;
        bin_put(r, dirty, pass);
        size = nb;
    } else {
        set_pinuse(mm_chunk_at(c, size), true);
    }
    mm_set_chead(c, size | MM_INUSE | MM_PINUSE);
}

static mm_chunk *carve_top(size_t nb)
{
    mm_chunk *c = H.top;
    size_t rest = mm_csize(c) - nb;
    mm_set_chead(c, nb | MM_INUSE | MM_PINUSE);
    set_top(mm_chunk_at(c, nb), rest);
    return c;
}

/* The best fit of the bins for nb bytes, split to nb; NULL: none. */
static mm_chunk *from_bins(size_t nb, const char *fn)
{
    mm_chunk *c = mm_bin_take(nb, fn);
    if (c) {
        mm_os_signal_point();      /* c is in no bin and not yet in use */
        use_free_chunk(c, nb, bin_left(c));
    }
    return c;
}

MM_HOT mm_chunk *mm_heap_alloc(size_t nb, const char *fn)
{
    if (nb > MM_CHAIN_MAX)
        return NULL;               /* no chunk of the chain is that big */
    mm_chunk *c = from_bins(nb, fn);
    if (c)
        return c;
    mm_chunk *t = top_checked(fn);
    if ((!t || mm_csize(t) < nb + MM_MIN_CHUNK) && !grow(nb, fn))
        return NULL;
    return carve_top(nb);
}

/* The free neighbour before c, checked before it is trusted. */
static mm_chunk *free_prev(mm_chunk *c, const char *fn)
{
    size_t ps = c->prev_size;
    mm_segment *s = mm_segment_of(c);
    if (!s || ps < MM_MIN_CHUNK || ps % MM_ALIGN || ps > (size_t)((char *)c - s->base))
        mm_die(fn, "heap corrupted: bad footer in the free block before %p (a write after free?)",
               mm_mem(c));
    mm_chunk *p = (mm_chunk *)((char *)c - ps);
    if (!mm_chead_ok(p) || mm_inuse(p) || mm_csize(p) != ps)
        mm_die(fn, "heap corrupted: bad header in the free block before %p (a write after free?)",
               mm_mem(c));
    return p;
}

MM_HOT void mm_heap_free(mm_chunk *c, const char *fn)
{
    /* Neither header is trusted unchecked: pages and cached chunks come
     * back here without a lookup, and the fast paths of free do not all
     * look at the next one. */
    if (!mm_chead_ok(c))
        mm_bad_header(c, fn);
    mm_chunk *next = mm_next(c);
    if (!mm_chead_ok(next) || !(next->head & MM_PINUSE))
        mm_die(fn, "heap overflow: the header after the %zu-byte block %p was overwritten",
               mm_csize(c) - 8, mm_mem(c));
    mm_heap_free_looked_up(c, fn);
}

MM_HOT void mm_heap_free_looked_up(mm_chunk *c, const char *fn)
{
    size_t size = mm_csize(c), dirty = size;
    mm_chunk *next = mm_chunk_at(c, size);
    if (!(c->head & MM_PINUSE)) {
        mm_chunk *p = free_prev(c, fn);
        dirty += bin_del(p, fn);
        size += mm_csize(p);
        mm_set_chead(c, MM_MERGED);     /* c is gone: a second free of it is named */
        c = p;
    }
    if (next == H.top) {
        top_checked(fn);
        H.top_dirty += dirty;
        set_top(c, size + mm_csize(next));
        next->head = 0;                /* the old top's header, inside the new top */
        trim_decayed(fn);
        return;
    }
    /* Purge, not release now: a program that frees a large run often
     * fills it again at once, and would pay the page faults. */
    if (!mm_inuse(next)) {
        dirty += bin_del(next, fn);
        size += mm_csize(next);
        next->head = 0;                /* merged into c */
    }
    mm_os_signal_point();          /* c and its neighbours out of their bins, not merged yet */
    mm_set_chead(c, size | MM_PINUSE);
    next = mm_chunk_at(c, size);
    next->prev_size = size;
    set_pinuse(next, false);
    bin_put(c, dirty, H.decay_pass);
    purge(fn);
}

/* Cuts an in-use chunk down to nb bytes, freeing the tail if it can be a
 * chunk of its own. */
MM_HOT static void shrink_to(mm_chunk *c, size_t nb, const char *fn)
{
    size_t size = mm_csize(c);
    if (size - nb < MM_MIN_CHUNK)
        return;
    mm_set_chead(c, nb | MM_INUSE | (c->head & MM_PINUSE));
    mm_chunk *r = mm_chunk_at(c, nb);
    mm_set_chead(r, (size - nb) | MM_INUSE | MM_PINUSE);
    mm_heap_free(r, fn);
}

MM_HOT bool mm_heap_resize(mm_chunk *c, size_t nb, const char *fn)
{
    size_t size = mm_csize(c);
    if (size >= nb) {
        shrink_to(c, nb, fn);
        return true;
    }
    if (nb > MM_CHAIN_MAX)
        return false;
    mm_chunk *next = mm_chunk_at(c, size);
    if (next == H.top) {
        top_checked(fn);
        /* Grow into top, growing top first if needed, unless a free chunk
         * can take the block (as in glibc): growing the heap while it has
         * room would leave that room unused. A new segment would move top
         * elsewhere: then the block has to move too. */
        if (size + mm_csize(next) < nb + MM_MIN_CHUNK &&
            (mm_bin_fits(nb, fn) || !grow(nb - size, fn) || next != H.top))
            return false;
        size_t rest = size + mm_csize(next) - nb;
        next->head = 0;                /* the old top's header, inside c now */
        mm_set_chead(c, nb | MM_INUSE | (c->head & MM_PINUSE));
        set_top(mm_chunk_at(c, nb), rest);
        return true;
    }
    if (!mm_inuse(next) && size + mm_csize(next) >= nb) {
        bin_del(next, fn);
        size += mm_csize(next);
        next->head = 0;                /* merged into c */
        mm_set_chead(c, size | MM_INUSE | (c->head & MM_PINUSE));
        set_pinuse(mm_chunk_at(c, size), true);
        shrink_to(c, nb, fn);
        return true;
    }
    return false;
}

/* The bytes before the first place in c where a block aligned to align
 * can start (back bytes before that place aligned: 0 for the block, MM_HDR
 * for its header), leaving a chunk of MM_MIN_CHUNK bytes or more before
 * it. */
static size_t lead_of(const mm_chunk *c, size_t align, size_t back)
{
    uintptr_t mem = (uintptr_t)mm_mem(c) - back;
    return mem % align ? mm_align_up(mem + MM_MIN_CHUNK, align) - mem : 0;
}

/* A free chunk of the bins that holds nb bytes at an alignment of align
 * where it lies, taken whole; NULL: none among the first few of the bins
 * that sizes nb to nb + align + MM_MIN_CHUNK fall in. The general path
 * asks for a chunk that big, so a chunk of just the right size in just
 * the right place (a page's, given back) would be passed over, and every
 * new page carved from top. */
static mm_chunk *take_aligned(size_t nb, size_t align, size_t back, const char *fn)
{
    unsigned last = mm_bin_index(nb + align + MM_MIN_CHUNK);
    for (unsigned i = mm_bin_index(nb); i <= last && i < MM_NBINS; i++) {
        unsigned n = 0;
        for (mm_chunk *c = mm_bin_first(i); c && n < 16; c = mm_bin_next(c, fn), n++) {
            if (mm_csize(c) < nb + lead_of(c, align, back))
                continue;
            size_t dirty = bin_del(c, fn);
            mm_os_signal_point();      /* c is in no bin and not yet in use */
            use_free_chunk(c, mm_csize(c), dirty);
            return c;
        }
    }
    return NULL;
}

/* From top, the chunk of the lead before the first aligned place in it
 * and nb bytes there (memalign_back splits the lead off): carved to the
 * byte, so that nothing is written past the block's end (a header there
 * would make a page of memory resident that the block does not use). */
static mm_chunk *top_aligned(size_t nb, size_t align, size_t back, const char *fn)
{
    size_t most = nb + align + MM_MIN_CHUNK;    /* the lead is less than align + MM_MIN_CHUNK */
    mm_chunk *t = top_checked(fn);
    if ((!t || mm_csize(t) < most + MM_MIN_CHUNK) && !grow(most, fn))
        return NULL;
    return carve_top(lead_of(H.top, align, back) + nb);
}

MM_HOT static mm_chunk *memalign_back(size_t nb, size_t align, size_t back, const char *fn)
{
    if (nb > MM_CHAIN_MAX || align > MM_CHAIN_MAX)
        return NULL;
    mm_chunk *c = take_aligned(nb, align, back, fn);
    if (!c)
        c = from_bins(nb + align + MM_MIN_CHUNK, fn);
    if (!c && !(c = top_aligned(nb, align, back, fn)))
        return NULL;
    if (lead_of(c, align, back)) {
        /* Free a leading chunk of at least MM_MIN_CHUNK bytes. */
        size_t lead = lead_of(c, align, back);
        mm_chunk *a = mm_chunk_at(c, lead);
        mm_set_chead(a, (mm_csize(c) - lead) | MM_INUSE | MM_PINUSE);
        mm_set_chead(c, lead | MM_INUSE | (c->head & MM_PINUSE));
        mm_heap_free(c, fn);
        c = a;
    }
    shrink_to(c, nb, fn);
    return c;
}

mm_chunk *mm_heap_memalign(size_t nb, size_t align, const char *fn)
{
    return memalign_back(nb, align, 0, fn);
}

MM_HOT mm_chunk *mm_heap_memalign_chunk(size_t nb, size_t align, const char *fn)
{
    return memalign_back(nb, align, MM_HDR, fn);
}

size_t mm_heap_trim(size_t pad)
{
    mm_big_trim();
    size_t n = trim_top(pad, true, "malloc_trim");
    for (unsigned i = mm_bin_index(MM_RELEASE_MIN); i < MM_NBINS; i++)
        for (mm_chunk *c = mm_bin_first(i); c; c = mm_bin_next(c, "malloc_trim"))
            if (mm_csize(c) >= MM_RELEASE_MIN)
                n += release_chunk(c);
    return n;
}

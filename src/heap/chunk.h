/* chunk.h -- every layout a user pointer can sit in, drawn once.
 *
 * A pointer the allocator hands out lies in one of three places: a chunk of
 * the heap's chain, a chunk that is a mapping of its own, or a slot of the
 * re-entry reserve. The first two share the chunk header; the reserve's
 * slots have a header of their own (front/reserve.c).
 *
 * The heap chunk
 * --------------
 * The heap is a chain of chunks laid end to end inside segments. A chunk
 * starts with a 16-byte header; the user pointer follows it, so a 16-aligned
 * chunk gives a 16-aligned block.
 *
 *     chunk c                                       next chunk
 *     v                                             v
 *     +-----------+-----------+----------- ... -----+-----------+-----------+
 *     | prev_size | head      | user data           | prev_size | head      |
 *     +-----------+-----------+----------- ... -----+-----------+-----------+
 *                             ^ user pointer = c + 16
 *                             |<---- usable size = size - 8 --------------->|
 *
 *     head, one 64-bit word:
 *       bits 63..32  tag: a keyed hash of the chunk's address and of bits
 *                    31..0 (and, for a mapped chunk, of its offset word);
 *                    a header written by anything but this allocator (an
 *                    overflow, a forged, copied or stale header) fails the
 *                    check with probability 1 - 2^-32
 *       bits 31..4   size of the whole chunk, a multiple of 16, below 4 GiB
 *                    (a mapped chunk: its mapping's length in pages)
 *       bit 3        QUARANTINED  freed, held back by check=1 (debug/)
 *       bit 2        MMAPPED  the chunk is its own mapping, outside the chain
 *       bit 1        PINUSE   the previous chunk is in use
 *       bit 0        INUSE    this chunk is in use
 *
 * The tag: the address is mixed first, alone, then meets the rest of the
 * word in a second mix, each a 64 x 64 -> 128-bit multiply folded to 64
 * bits with keys of its own (mm_mix). Nothing linear is left: a header
 * copied from another address, with its size changed by the difference of
 * the addresses, fails as any other does; and the tag's keys are used for
 * nothing else, so what the program can read elsewhere (a link, a mark, a
 * record) tells it nothing of them.
 *
 * While c is in use its data runs over the next chunk's prev_size word (the
 * next chunk only needs it while c is free), so the overhead is 8 bytes.
 * When c is free that word is its footer: it holds c's size, so the next
 * chunk can find c and merge with it in O(1). A free chunk also keeps the two
 * links of its bin list where the user data was:
 *
 *     +-----------+-----------+-----------+-----------+-------------+-- ... --+-----------+
 *     | prev_size | head      | fd        | bk        | dirty, pass |         | c's size  |
 *     +-----------+-----------+-----------+-----------+-------------+-- ... --+-----------+
 *     (dirty and pass only in free chunks of MM_RELEASE_MIN bytes or more:
 *     the bytes that may be resident, and when it was freed)
 *
 * A chunk in use that a thread cache holds (cache/) stays INUSE for the
 * heap, so the heap never merges it; its first word is the cache's mark,
 * a keyed mix of its address (keys of its own):
 *
 *     +-----------+-----------+-----------+----------- ... -----+
 *     | prev_size | head INUSE| mark(c)   | (stale data)        |
 *     +-----------+-----------+-----------+----------- ... -----+
 *
 * The mapped chunk
 * ----------------
 * A block of mmap_threshold bytes or more gets a mapping of its own (big.c).
 * Its prev_size holds the chunk's offset from the start of the mapping
 * (non-zero when an alignment put the block further in; less than a page);
 * its head, the mapping's length in pages (up to 1 TiB). The tag covers
 * both words, so free unmaps exactly what was mapped, whatever the program
 * wrote. A page after the mapping is left inaccessible (PROT_NONE), so
 * that a write past the block faults instead of landing in the next one:
 *
 *     mapping                  c
 *     v                        v
 *     +------ ... ------------+-----------+-----------+--------- ... ------+-------+
 *     | (alignment, unused)   | offset    | head MMAPPED|INUSE| user data | guard |
 *     +------ ... ------------+-----------+-----------+--------- ... ------+-------+
 *                                                     ^ user pointer
 *
 * The debugging record
 * --------------------
 * While a debugging option is on, every block, in the heap or mapped, ends
 * with a record (debug/record.c): the n bytes asked for, with check=1 a
 * redzone, then 16 bytes of record at the end of the usable space:
 *
 *     | header | n bytes asked for | redzone (check=1) | n, tag | sites/pid |
 *
 * When a chunk merges with a free neighbour, the header that no longer
 * starts a chunk is wiped (MM_MERGED for a block that was freed, so that a
 * second free of it is named as one; zero for a free chunk or top):
 * nothing stale inside a chunk passes for a header.
 *
 * Invariants (the checker, debug/checker.c, verifies them):
 *   - the chunks of a segment tile it exactly, from its first chunk to its
 *     fencepost (a 16-byte header with size 0 and INUSE set, written when
 *     the segment stops being the active one);
 *   - no two neighbouring chunks are free (they would have merged);
 *   - PINUSE matches the previous chunk; a free chunk's footer is its size
 *     (top has none);
 *   - every free chunk but top is in exactly one bin, the bin of its size,
 *     and the bin bitmap says which bins are non-empty;
 *   - top is the last chunk of the active segment, free and in no bin.
 */
#ifndef MM_CHUNK_H
#define MM_CHUNK_H

#include "../base/base.h"

#define MM_HDR         16u             /* prev_size + head */
#define MM_MIN_CHUNK   32u             /* header + two links */
#define MM_RELEASE_MIN (8u << 10)      /* free chunks this big track "dirty" */

/* flag bits of head */
#define MM_INUSE    1u
#define MM_PINUSE   2u
#define MM_MMAPPED  4u
#define MM_QUARANTINED 8u
#define MM_FLAGS    15u
#define MM_BODY     UINT64_C(0xffffffff)        /* size and flags, no tag */
#define MM_SIZE     (MM_BODY & ~(uint64_t)MM_FLAGS)
/* The header a chunk leaves behind when it merges into the free chunk
 * before it (size 0, not in use, tagged): a second free of it is named as
 * one. Other merged-away headers are zeroed. */
#define MM_MERGED   UINT64_C(0)
/* A chunk of the chain is below 4 GiB (its size has 28 bits): a segment
 * never grows past MM_SEG_MAX, and the chain takes no request above
 * MM_CHAIN_MAX. A mapping's length, counted in pages, has the same bits:
 * up to MM_MAP_MAX. */
#define MM_SEG_MAX   ((UINT64_C(1) << 32) - (UINT64_C(1) << 20))
#define MM_CHAIN_MAX (UINT64_C(1) << 31)
#define MM_MAP_UNIT  4096u
#define MM_MAP_MAX   ((MM_SIZE >> 4) * MM_MAP_UNIT)

typedef struct mm_chunk {
    size_t prev_size;          /* footer of the previous chunk when it is free */
    size_t head;               /* tag | size | flags */
    struct mm_chunk *fd, *bk;  /* bin links, free chunks only, mangled (bins.c) */
    size_t dirty;              /* free chunks >= MM_RELEASE_MIN: bytes maybe resident */
    uint64_t pass;             /* the same: the decay pass it was freed in (heap.c) */
} mm_chunk;

/* The chunk size for a request of n bytes (n <= MM_MAX_REQUEST). */
static inline size_t mm_request_size(size_t n)
{
    size_t s = mm_align_up(n + 8, MM_ALIGN);
    return s < MM_MIN_CHUNK ? MM_MIN_CHUNK : s;
}

static inline mm_chunk *mm_chunk_at(const void *c, size_t off) { return (mm_chunk *)((char *)c + off); }
static inline void *mm_mem(const mm_chunk *c) { return (char *)c + MM_HDR; }
static inline mm_chunk *mm_chunk_of_mem(const void *p) { return (mm_chunk *)((char *)p - MM_HDR); }
/* The size of a chunk of the chain (no mapped chunk). */
static inline size_t mm_csize(const mm_chunk *c) { return c->head & MM_SIZE; }
/* The size of any chunk: a mapped one runs from c to its mapping's end. */
static inline size_t mm_size(const mm_chunk *c)
{
    uint64_t h = c->head;
    if (MM_UNLIKELY(h & MM_MMAPPED))
        return (size_t)((h & MM_SIZE) >> 4) * MM_MAP_UNIT - c->prev_size;
    return h & MM_SIZE;
}
static inline mm_chunk *mm_next(const mm_chunk *c) { return mm_chunk_at(c, mm_csize(c)); }
static inline bool mm_inuse(const mm_chunk *c) { return c->head & MM_INUSE; }
/* A heap chunk's data runs over the next chunk's prev_size; a mapped one has
 * no next chunk. */
static inline size_t mm_usable(const mm_chunk *c)
{
    return mm_size(c) - ((c->head & MM_MMAPPED) ? MM_HDR : 8);
}

struct mm_segment;
/* Read on every fast-path call, written once (the keys) or rarely (a new
 * segment): cache lines of their own, away from what the lock holder
 * writes all the time. Every key is drawn apart from the others (from the
 * kernel's getrandom), so that one that shows through somewhere the
 * program can read (a free-list link, a mark) says nothing of the rest. */
struct mm_ro {
    uint64_t secret;            /* header tags: the address's key */
    uint64_t tag_key[2];        /* header tags: the two mixes' other keys */
    uint64_t cache_key[2];      /* the marks of cached chunks (cache/) */
    struct mm_segment *segs;    /* every segment, newest first */
    /* the newest segment's bounds, for the fast path of free: no segment
     * yet is lo > hi, so every pointer fails */
    uintptr_t lo, hi;
    uint64_t link_key[2];       /* the free-list links (bins.c) */
    uint64_t record_key[2];     /* the debugging records (debug/record.c) */
    uint64_t page_key[2];       /* each page's own key is drawn from these (pages/) */
} __attribute__((aligned(64)));
extern struct mm_ro mm_ro;

/* A keyed mix that cannot be run backwards: the 128-bit product of two
 * words, its halves folded together. */
static inline uint64_t mm_mix(uint64_t a, uint64_t b)
{
    unsigned __int128 p = (unsigned __int128)a * b;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
}
static inline uint64_t mm_keyed(uint64_t x, const uint64_t key[2])
{
    return mm_mix(x ^ key[0], key[1]);
}

/* The tag makes a header this allocator did not write detectable: the
 * address mixed alone, then with `in`, the body (for a mapped chunk, its
 * offset word above it: less than a page, it fits). */
static inline uint64_t mm_tag_of(const mm_chunk *c, uint64_t in)
{
    uint64_t a = mm_mix((uintptr_t)c ^ mm_ro.secret, mm_ro.tag_key[0]);
    return mm_mix(a, in ^ mm_ro.tag_key[1]) >> 32;
}
static inline uint64_t mm_tag(const mm_chunk *c, uint64_t body)
{
    uint64_t in = body;
    if (MM_UNLIKELY(body & MM_MMAPPED))
        in |= (uint64_t)c->prev_size << 32;
    return mm_tag_of(c, in);
}
static inline void mm_set_head(mm_chunk *c, uint64_t body)
{
    c->head = body | mm_tag(c, body) << 32;
}
static inline bool mm_head_ok(const mm_chunk *c)
{
    return c->head >> 32 == mm_tag(c, c->head & MM_BODY);
}
/* The same for a chunk of the chain (the heap's own paths, where no chunk
 * is mapped: a mapped header there fails, as it must). */
static inline void mm_set_chead(mm_chunk *c, uint64_t body)
{
    c->head = body | mm_tag_of(c, body) << 32;
}
static inline bool mm_chead_ok(const mm_chunk *c)
{
    return c->head >> 32 == mm_tag_of(c, c->head & MM_BODY);
}

/* A header that fails its check before the allocator trusts it: a write
 * before the block's start (or past the end of the block before it). */
MM_NORETURN static inline void mm_bad_header(const mm_chunk *c, const char *fn)
{
    mm_die(fn, "the header before the block %p was overwritten (a write before its start, or past "
               "the end of the block before it)", mm_mem(c));
}

/* The mark of a chunk a thread cache holds. */
static inline uint64_t mm_cache_mark(const mm_chunk *c)
{
    return mm_keyed((uintptr_t)c, mm_ro.cache_key);
}
static inline bool mm_is_cached(const mm_chunk *c)
{
    return *(const uint64_t *)mm_mem(c) == mm_cache_mark(c);
}

#endif

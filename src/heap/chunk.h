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
 *       bits 63..48  tag: a hash of the word, the chunk address and a
 *                    per-process secret; a header written by anything but
 *                    this allocator (an overflow, a forged or stale pointer)
 *                    fails the check with probability 1 - 2^-16
 *       bits 47..4   size of the whole chunk, a multiple of 16
 *       bit 3        QUARANTINED  freed, held back by check=1 (debug/)
 *       bit 2        MMAPPED  the chunk is its own mapping, outside the chain
 *       bit 1        PINUSE   the previous chunk is in use
 *       bit 0        INUSE    this chunk is in use
 *
 * While c is in use its data runs over the next chunk's prev_size word (the
 * next chunk only needs it while c is free), so the overhead is 8 bytes.
 * When c is free that word is its footer: it holds c's size, so the next
 * chunk can find c and merge with it in O(1). A free chunk also keeps the two
 * links of its bin list where the user data was:
 *
 *     +-----------+-----------+-----------+-----------+---- ... ---+-----------+
 *     | prev_size | head      | fd        | bk        | dirty (*)  | c's size  |
 *     +-----------+-----------+-----------+-----------+---- ... ---+-----------+
 *     (*) only in free chunks of MM_RELEASE_MIN bytes or more
 *
 * A chunk in use that a thread cache holds (cache/) stays INUSE for the
 * heap, so the heap never merges it; its first word is the cache's mark,
 * its address mixed with a key of the process's:
 *
 *     +-----------+-----------+-----------+----------- ... -----+
 *     | prev_size | head INUSE| c ^ key   | (stale data)        |
 *     +-----------+-----------+-----------+----------- ... -----+
 *
 * The mapped chunk
 * ----------------
 * A block of mmap_threshold bytes or more gets a mapping of its own (big.c).
 * Its prev_size holds the chunk's offset from the start of the mapping
 * (non-zero when a large alignment put the block further in); its size runs
 * to the end of the mapping, a whole number of pages:
 *
 *     mapping                  c
 *     v                        v
 *     +------ ... ------------+-----------+-----------+--------- ... ------+
 *     | (alignment, unused)   | offset    | head MMAPPED|INUSE| user data |
 *     +------ ... ------------+-----------+-----------+--------- ... ------+
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
 * Invariants (the checker, debug/checker.c, verifies them):
 *   - the chunks of a segment tile it exactly, from its first chunk to its
 *     fencepost (a 16-byte header with size 0 and INUSE set);
 *   - no two neighbouring chunks are free (they would have merged);
 *   - PINUSE matches the previous chunk; a free chunk's footer is its size;
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
#define MM_BODY     ((UINT64_C(1) << 48) - 1)  /* size and flags, no tag */
#define MM_SIZE     (MM_BODY & ~(uint64_t)MM_FLAGS)

typedef struct mm_chunk {
    size_t prev_size;          /* footer of the previous chunk when it is free */
    size_t head;               /* tag | size | flags */
    struct mm_chunk *fd, *bk;  /* bin links, free chunks only, mangled (bins.c) */
    size_t dirty;              /* free chunks >= MM_RELEASE_MIN: bytes maybe resident */
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
static inline size_t mm_size(const mm_chunk *c) { return c->head & MM_SIZE; }
static inline mm_chunk *mm_next(const mm_chunk *c) { return mm_chunk_at(c, mm_size(c)); }
static inline bool mm_inuse(const mm_chunk *c) { return c->head & MM_INUSE; }
/* A heap chunk's data runs over the next chunk's prev_size; a mapped one has
 * no next chunk. */
static inline size_t mm_usable(const mm_chunk *c)
{
    return mm_size(c) - ((c->head & MM_MMAPPED) ? MM_HDR : 8);
}

struct mm_segment;
/* Read on every fast-path call, written once (the secret) or rarely (a new
 * segment): a cache line of their own, away from what the lock holder
 * writes all the time. */
struct mm_ro {
    uint64_t secret;            /* per process, mixed into every header */
    uint64_t mark_key;          /* the same, for the marks of cached chunks */
    struct mm_segment *segs;    /* every segment, newest first */
    /* the newest segment's bounds, for the fast path of free: no segment
     * yet is lo > hi, so every pointer fails */
    uintptr_t lo, hi;
} __attribute__((aligned(64)));
extern struct mm_ro mm_ro;

/* The tag makes a header this allocator did not write detectable. */
static inline uint64_t mm_tag(const void *c, uint64_t body)
{
    return (((uintptr_t)c ^ body) * mm_ro.secret) >> 48;
}
static inline void mm_set_head(mm_chunk *c, uint64_t body)
{
    c->head = body | mm_tag(c, body) << 48;
}
static inline bool mm_head_ok(const mm_chunk *c)
{
    return c->head >> 48 == mm_tag(c, c->head & MM_BODY);
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
    return (uintptr_t)c ^ mm_ro.mark_key;
}
static inline bool mm_is_cached(const mm_chunk *c)
{
    return *(const uint64_t *)mm_mem(c) == mm_cache_mark(c);
}

#endif

/* mymalloc.h -- what libmymalloc.so offers beyond the C library's malloc.
 *
 * The library replaces malloc, free, calloc, realloc, reallocarray,
 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc,
 * malloc_usable_size, malloc_trim, mallopt, mallinfo, mallinfo2 and
 * malloc_stats with glibc's semantics; declare those with <stdlib.h> and
 * <malloc.h> as usual. The functions below are its own. A program that
 * may run without the library can declare them weak and test for NULL. */
#ifndef MYMALLOC_H
#define MYMALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MYMALLOC_VERSION "0.1.0"

/* The library's version, MYMALLOC_VERSION when it was built. */
const char *mymalloc_version(void);

/* Walks every segment of the heap, every free list and every mapped block,
 * and verifies the invariants of the heap. Prints one line per violation to
 * stderr and returns the number of violations: 0 means the heap is sound. */
int mymalloc_check_heap(void);

/* Applies options in the syntax of MYMALLOC_OPTIONS ("name=value:..."),
 * now. Returns the number of pieces that could not be used (each gets a
 * warning on stderr), or -1 when called from inside the allocator. */
int mymalloc_set_options(const char *options);

/* A snapshot of the heap, taken under the lock by walking it. */
struct mymalloc_heap_info {
    size_t live_blocks;      /* blocks handed out and not freed */
    size_t live_bytes;       /* their usable bytes */
    size_t cached_blocks;    /* freed, parked in thread caches for reuse, or
                                held back by check=1's quarantine */
    size_t cached_bytes;
    size_t free_chunks;      /* free chunks inside the heap, top included */
    size_t free_bytes;
    size_t largest_free;     /* the largest free chunk (top included) */
    size_t top_bytes;        /* the free chunk at the end of the heap */
    size_t heap_bytes;       /* the heap's segments, on the break or mmapped */
    size_t segments;
    size_t mapped_blocks;    /* big blocks, each in a mapping of its own */
    size_t mapped_bytes;
    size_t released_bytes;   /* given back to the system since start */
    size_t foreign_brk;      /* times the break had been moved by someone else */
    size_t reentered;        /* calls made while their thread was inside the
                                allocator (signal handlers), served apart */
};
void mymalloc_heap_info(struct mymalloc_heap_info *info);

/* Prints the stats=1 report (MYMALLOC_OPTIONS=stats=1 or stats=json) now,
 * to stderr or the log. Calls are counted only while stats (or another
 * debugging option) is on from the start. */
void mymalloc_stats_print(void);

/* The trace file that trace=PATH writes: a sequence of blocks, each written
 * whole by one process (a file shared by the processes of a fork holds
 * blocks of each), all integers little-endian. A block is a header and
 * `count` records. */
struct mymalloc_trace_block {
    char magic[8];           /* "MMTRACE1" */
    uint32_t pid;
    uint32_t count;
};
enum mymalloc_trace_call {
    MYMALLOC_TRACE_MALLOC, MYMALLOC_TRACE_CALLOC, MYMALLOC_TRACE_REALLOC, MYMALLOC_TRACE_MEMALIGN,
    MYMALLOC_TRACE_FREE
};
struct mymalloc_trace_record {
    uint64_t ns;             /* CLOCK_MONOTONIC, nanoseconds */
    uint64_t ptr;            /* the pointer passed in (free, realloc), else 0 */
    uint64_t result;         /* the pointer returned (0: failed; free: 0) */
    uint64_t size;           /* bytes asked for (calloc: the product); free: the block's size */
    uint32_t tid;            /* the calling thread */
    uint8_t call;            /* enum mymalloc_trace_call */
    uint8_t align_log2;      /* memalign and friends: log2 of the alignment, else 0 */
    uint16_t reserved;
};

#ifdef __cplusplus
}
#endif

#endif

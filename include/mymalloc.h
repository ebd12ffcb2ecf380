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
    size_t cached_blocks;    /* freed, parked in thread caches for reuse */
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

#ifdef __cplusplus
}
#endif

#endif

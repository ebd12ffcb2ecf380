/* step5_pages.h -- Step 5's chunk: what every block of the heap starts with.
 *
 * The heap is now a chain of chunks, one after the other, from the heap
 * start to the break. Each chunk is a header followed by its data; the
 * header says how many bytes of data follow and whether the chunk is used
 * (handed out by malloc) or free:
 *
 *   heap start                                                          break
 *   v                                                                       v
 *   +----------+---------+----------+-------------+-----------+---- ... ----+
 *   | 5 used   | 5 bytes | 100 used | 100 bytes   | 3943 free | 3943 bytes  |
 *   +----------+---------+----------+-------------+-----------+---- ... ----+
 *   ^          ^         ^          ^             ^
 *   header     malloc(5) header     malloc(100)   the reserve:
 *              returned this        returned this the free rest
 *                                                 of the page
 *
 * A chunk's size leads to the next header: next = chunk + header + size.
 * Walking that way from the heap start visits every chunk; the walk stops
 * at the break. The last chunk is always free: it is the reserve, and
 * malloc cuts new blocks from it.
 */
#ifndef STEP5_PAGES_H
#define STEP5_PAGES_H

#include <stdbool.h>
#include <stddef.h>

struct chunk {
    size_t size;   /* bytes of data after this header */
    bool used;     /* true: handed out by malloc; false: free */
};

/* The header after chunk c's data. */
static inline struct chunk *next_chunk(const struct chunk *c)
{
    return (struct chunk *)((char *)(c + 1) + c->size);
}

/* For the demo: the first chunk, and the end of the last one (both NULL
 * before the first malloc). */
struct chunk *chain_first(void);
void *chain_end(void);

#endif

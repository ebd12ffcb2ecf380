/* step6_align.h -- Step 6's chunk: the same header as step 5, now aligned.
 *
 * Every address malloc returns must be a multiple of 16 (alignof(max_align_t)
 * on x86-64), because the caller may store any type there. The header is 16
 * bytes, the heap starts on a multiple of 16, and every chunk's size is
 * rounded up to a multiple of 16: so every header and every block start on a
 * multiple of 16. A request of n bytes takes
 *
 *     header + n + padding to a multiple of 16 + (the next chunk's header)
 *
 *   heap start (% 16 == 0)                                               break
 *   v                                                                        v
 *   +--------+----------------+--------+----------------+--------+--- ... ---+
 *   | 16     | 1 byte asked + | 32     | 24 bytes asked | 4000   |           |
 *   | used   | 15 of padding  | free   | + 8 of padding | free   |           |
 *   +--------+----------------+--------+----------------+--------+--- ... ---+
 *   |<- 16 ->^ % 16 == 0      |<- 16 ->^ % 16 == 0      ^ the reserve
 *            malloc(1)                 a freed block: the next malloc of
 *            returned this             32 bytes or less reuses it
 */
#ifndef STEP6_ALIGN_H
#define STEP6_ALIGN_H

#include <stdbool.h>
#include <stddef.h>

#define ALIGN 16

struct chunk {
    size_t size;   /* bytes of data after this header, a multiple of ALIGN */
    bool used;     /* true: handed out by malloc; false: free */
};                 /* 7 bytes of padding make it 16 bytes long */

_Static_assert(sizeof(struct chunk) == ALIGN, "the header keeps the data aligned");

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

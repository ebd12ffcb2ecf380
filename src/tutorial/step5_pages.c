/* step5_pages.c -- Step 5: a chain of chunks in whole pages.
 *
 * Over step 4:
 *   - the break grows by whole pages (sysconf(_SC_PAGESIZE) bytes), not by
 *     each request: one sbrk serves many small mallocs;
 *   - the header also has a used/free flag (see step5_pages.h);
 *   - a static variable records where the heap starts, and malloc finds
 *     a chunk by walking the headers from there;
 *   - malloc splits a free chunk: the request goes at its start, and a new
 *     header after the request describes the free space left;
 *   - the break moves only when the reserve (the free last chunk) cannot
 *     hold the request plus the header of the next chunk; then it grows by
 *     as many pages as needed, so requests larger than a page work.
 *
 * These functions are named malloc, free, calloc and realloc: linked into a
 * program, or preloaded with LD_PRELOAD, they replace glibc's for every
 * caller, the C library included. free does nothing yet: memory is never
 * reused (step 6 fixes that). realloc is not written yet, nor the aligned
 * functions glibc also exports: they stop the program with a message (at
 * the end of this file). No alignment either: a block starts wherever the
 * previous one ended, even at an odd address. On failure malloc returns
 * NULL without setting errno. Not thread-safe: no lock.
 */
#include "step5_pages.h"

#include <malloc.h>   /* declares the glibc extras we replace too */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER sizeof(struct chunk)

static struct chunk *heap_start;   /* the first chunk; NULL until the first malloc */
static char *heap_end;             /* the end of the last chunk: our break */

struct chunk *chain_first(void) { return heap_start; }
void *chain_end(void) { return heap_end; }

/* Moves the break up by at least `need` bytes, rounded up to whole pages.
 * Returns how many bytes it added, 0 when there is no more memory. */
static size_t more_pages(size_t need)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t bytes = (need + page - 1) / page * page;
    char *old = sbrk((intptr_t)bytes);
    if (old == (void *)-1)
        return 0;
    if (old != heap_end)
        return 0;   /* someone else moved the break: our chain cannot go on there */
    heap_end = old + bytes;
    return bytes;
}

/* The first malloc: the heap starts at the break, with one page, all of it
 * the reserve. */
static bool start_heap(void)
{
    heap_end = sbrk(0);
    size_t bytes = more_pages(HEADER);
    if (!bytes)
        return false;
    heap_start = (struct chunk *)(heap_end - bytes);
    heap_start->size = bytes - HEADER;
    heap_start->used = false;
    return true;
}

/* Cuts free chunk c in two: its first `size` bytes are the caller's, and a
 * new header after them describes the rest, still free. The caller checked
 * that c has room for size + HEADER. */
static void split(struct chunk *c, size_t size)
{
    struct chunk *rest = (struct chunk *)((char *)(c + 1) + size);
    rest->size = c->size - size - HEADER;
    rest->used = false;
    c->size = size;
    c->used = true;
}

void *malloc(size_t size)
{
    if (size > PTRDIFF_MAX / 2)   /* so that no sum below overflows */
        return NULL;
    if (!heap_start && !start_heap())
        return NULL;

    /* Walk the chain for the first free chunk that can hold the request and
     * the header of what is left after it. */
    struct chunk *c = heap_start;
    while (c->used || c->size < size + HEADER) {
        struct chunk *next = next_chunk(c);
        if ((char *)next == heap_end) {
            /* c is the reserve, and too small: grow the heap under it. */
            size_t added = more_pages(size + HEADER - c->size);
            if (!added)
                return NULL;
            c->size += added;
            break;
        }
        c = next;
    }
    split(c, size);
    return c + 1;   /* the caller's bytes start after the header */
}

/* Not yet: a freed chunk is never reused in this step (step 6). */
void free(void *p)
{
    (void)p;
}

void *calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total))
        return NULL;
    void *p = malloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

/* Not in this step: realloc (step 6), aligned allocation (the real
 * allocator), malloc_usable_size (step 6). glibc's versions must never see
 * our pointers, nor we theirs, so a program that calls one stops here,
 * saying which. */
static void say(const char *s)
{
    if (write(STDERR_FILENO, s, strlen(s)) < 0)
        return;   /* no stderr: nothing more to do */
}

_Noreturn static void not_in_this_step(const char *fn)
{
    say("step5: ");
    say(fn);
    say("() is not in this step\n");
    abort();
}

void *realloc(void *p, size_t n) { (void)p, (void)n; not_in_this_step("realloc"); }
void *memalign(size_t a, size_t n) { (void)a, (void)n; not_in_this_step("memalign"); }
void *aligned_alloc(size_t a, size_t n) { (void)a, (void)n; not_in_this_step("aligned_alloc"); }
void *valloc(size_t n) { (void)n; not_in_this_step("valloc"); }
void *pvalloc(size_t n) { (void)n; not_in_this_step("pvalloc"); }
size_t malloc_usable_size(void *p) { (void)p; not_in_this_step("malloc_usable_size"); }

int posix_memalign(void **out, size_t a, size_t n)
{
    (void)out, (void)a, (void)n;
    not_in_this_step("posix_memalign");
}

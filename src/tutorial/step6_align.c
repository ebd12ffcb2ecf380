/* step6_align.c -- Step 6: alignment, free, realloc, and errors.
 *
 * Over step 5:
 *   - alignment: every returned address is a multiple of 16 (see
 *     step6_align.h for how);
 *   - free marks the chunk free, and malloc's walk hands it out again; a
 *     free chunk too small to split is handed out whole;
 *   - realloc: keep the block when it is big enough, else move it;
 *   - errors: when memory runs out or a size overflows, NULL with errno =
 *     ENOMEM, as the C library's callers expect; free and realloc check the
 *     pointer first, and stop the program with a message when it is not one
 *     of ours or is already free;
 *   - the other names glibc exports (malloc_usable_size and the aligned
 *     ones), so that glibc's allocator never sees our blocks, nor ours its.
 *
 * Still not here, and done by the real allocator in src/: merging
 * neighbouring free chunks, finding a fit without walking every chunk,
 * giving memory back to the system, big blocks in their own mappings,
 * alignments above 16, and a lock for threads. With no lock, two threads in
 * malloc at once would corrupt the chain; so the first thread to call owns
 * the heap, and a call from any other thread stops the program.
 *
 * Nothing here calls printf or anything else that may allocate: inside
 * malloc, that would call malloc again. Messages go through write(2).
 */
#include "step6_align.h"

#include <errno.h>
#include <malloc.h>   /* declares the glibc extras we replace too */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER sizeof(struct chunk)

static struct chunk *heap_start;   /* the first chunk; NULL until the first malloc */
static char *heap_end;             /* the end of the last chunk: our break */

struct chunk *chain_first(void) { return heap_start; }
void *chain_end(void) { return heap_end; }

/* ---- errors ---- */

static void say(const char *s)
{
    if (write(STDERR_FILENO, s, strlen(s)) < 0)
        return;   /* no stderr: nothing more to do */
}

/* A bug in the program (or a limit of this step): say which, and stop. */
_Noreturn static void die(const char *fn, const char *problem)
{
    say("step6: ");
    say(fn);
    say("(): ");
    say(problem);
    say("\n");
    abort();
}

static void *no_memory(void)
{
    errno = ENOMEM;
    return NULL;
}

/* No lock (see above): the first thread to call in owns the heap, and any
 * other thread that calls in stops the program before it can do harm.
 * pthread_self() only reads a register: it allocates nothing. */
static pthread_t owner;
static bool owned;

static void check_thread(const char *fn)
{
    if (!owned) {
        owner = pthread_self();
        owned = true;
    } else if (!pthread_equal(owner, pthread_self())) {
        die(fn, "called from a second thread, and this allocator has no lock");
    }
}

/* The header of block p, once p is known to be a block of ours in use:
 * free and realloc must not write through a pointer they have not checked. */
static struct chunk *chunk_of(void *p, const char *fn)
{
    struct chunk *c = (struct chunk *)p - 1;
    if (!heap_start || c < heap_start || (char *)p >= heap_end || (uintptr_t)p % ALIGN)
        die(fn, "invalid pointer: not a block of this allocator");
    if (!c->used)
        die(fn, "the block is free already (a double free?)");
    return c;
}

/* ---- the heap ---- */

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

/* The first malloc: the heap starts at the break, moved up to a multiple
 * of 16 if it is not one, with one page, all of it free. */
static bool start_heap(void)
{
    char *brk = sbrk(0);
    size_t pad = (ALIGN - (uintptr_t)brk % ALIGN) % ALIGN;
    if (pad && sbrk((intptr_t)pad) == (void *)-1)
        return false;
    heap_end = brk + pad;
    size_t bytes = more_pages(HEADER);
    if (!bytes)
        return false;
    heap_start = (struct chunk *)(brk + pad);
    heap_start->size = bytes - HEADER;
    heap_start->used = false;
    return true;
}

/* Hands out the first `size` bytes of free chunk c. When the rest can be a
 * chunk of its own (a header and at least ALIGN bytes), a new header after
 * the block describes it, free; otherwise the block gets the few extra
 * bytes too. */
static void take(struct chunk *c, size_t size)
{
    if (c->size >= size + HEADER + ALIGN) {
        struct chunk *rest = (struct chunk *)((char *)(c + 1) + size);
        rest->size = c->size - size - HEADER;
        rest->used = false;
        c->size = size;
    }
    c->used = true;
}

/* No free chunk fits: move the break up by whole pages, enough for the
 * header, the request and the next header. When the last chunk is free the
 * new pages make it longer; otherwise they are a new free chunk after it. */
static struct chunk *grow(struct chunk *last, size_t size)
{
    size_t have = last->used ? 0 : HEADER + last->size;
    size_t bytes = more_pages(HEADER + size + HEADER - have);
    if (!bytes)
        return NULL;
    if (!last->used) {
        last->size += bytes;
        return last;
    }
    struct chunk *c = (struct chunk *)(heap_end - bytes);   /* where the heap ended */
    c->size = bytes - HEADER;
    c->used = false;
    return c;
}

/* ---- the functions programs call ---- */

void *malloc(size_t size)
{
    check_thread("malloc");
    if (size > PTRDIFF_MAX / 2)   /* so that no sum below overflows */
        return no_memory();
    /* Round up to a multiple of 16. malloc(0) still gets a block of its
     * own, which free accepts. */
    size = size ? (size + ALIGN - 1) / ALIGN * ALIGN : ALIGN;
    if (!heap_start && !start_heap())
        return no_memory();

    /* First fit: walk the chain for the first free chunk big enough. */
    struct chunk *c = heap_start, *last;
    do {
        if (!c->used && c->size >= size) {
            take(c, size);
            return c + 1;
        }
        last = c;
        c = next_chunk(c);
    } while ((char *)c < heap_end);

    c = grow(last, size);
    if (!c)
        return no_memory();
    take(c, size);
    return c + 1;
}

void free(void *p)
{
    if (!p)   /* free(NULL) does nothing */
        return;
    check_thread("free");
    chunk_of(p, "free")->used = false;   /* the next walk can hand it out */
}

void *calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total))
        return no_memory();
    void *p = malloc(total);
    if (p)
        memset(p, 0, total);   /* a reused chunk holds old data */
    return p;
}

void *realloc(void *p, size_t size)
{
    if (!p)
        return malloc(size);
    if (size == 0) {   /* glibc frees the block and returns NULL */
        free(p);
        return NULL;
    }
    check_thread("realloc");
    struct chunk *c = chunk_of(p, "realloc");
    if (size <= c->size)   /* it fits already: keep it */
        return p;
    void *q = malloc(size);
    if (!q)
        return NULL;   /* the old block is still valid */
    memcpy(q, p, c->size);
    c->used = false;
    return q;
}

size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    check_thread("malloc_usable_size");
    return chunk_of(p, "malloc_usable_size")->size;
}

/* Every block is 16-aligned already. A larger alignment needs a chunk cut
 * at the right place, which this step does not do: it stops, saying so,
 * rather than hand the request to glibc's allocator. */
static void *aligned(size_t align, size_t size, const char *fn)
{
    if (align > ALIGN)
        die(fn, "alignments above 16 are not in this step");
    return malloc(size);
}

void *memalign(size_t align, size_t size) { return aligned(align, size, "memalign"); }
void *aligned_alloc(size_t align, size_t size) { return aligned(align, size, "aligned_alloc"); }
void *valloc(size_t size) { return aligned((size_t)sysconf(_SC_PAGESIZE), size, "valloc"); }
void *pvalloc(size_t size) { return aligned((size_t)sysconf(_SC_PAGESIZE), size, "pvalloc"); }

int posix_memalign(void **out, size_t align, size_t size)
{
    if (align % sizeof(void *) || (align & (align - 1)))   /* a power of two times sizeof(void *) */
        return EINVAL;
    void *p = aligned(align, size, "posix_memalign");
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

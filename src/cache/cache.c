/* cache.c -- per-thread caches of small free blocks, for the debugging
 * toolkit's paths (the pages serve small blocks when no option is on).
 *
 * A malloc/free pair of the toolkit's light paths takes no lock: free
 * pushes the block on its thread's stack for its size class, and malloc
 * pops it (mm_cache_put and mm_cache_take). Only when a stack is empty or
 * full does a call take the lock, and then it moves half a stack at once:
 * a refill carves several chunks, a flush frees several.
 *
 * Bounds: a class below 2 KiB holds MM_TC_CLASS_BYTES worth of its blocks,
 * 16 to 64 of them; a larger class MM_TC_MID_BYTES, 1 to 8 (and most
 * threads use a few classes). Smaller stacks would keep less memory out of
 * reach of other threads and sizes, but every miss takes the one lock: with
 * 8 KiB a class, two threads churning blocks of random sizes kept 20% less
 * resident memory and took 2.5 times as long, waiting for each other
 * (test/bench/two_threads). When the heap sees the program give back most
 * of its memory, the calling thread's cache goes back too (the heap's purge
 * hook).
 * When a thread exits, its blocks go back to the heap and its cache (in
 * pages of its own, never in the heap where an overrun could reach it) is
 * kept for the next thread. */
#include "cache.h"

#include <pthread.h>
#include <string.h>

static __thread int mm_tc_state MM_TLS;
bool mm_cache_fast_off;

static __thread struct mm_tcache *own MM_TLS;
static pthread_key_t key;
static struct mm_cache_counts counts;   /* lock held */
static bool key_ok;
static struct mm_tcache *all;     /* every live cache */
static struct mm_tcache *pool;    /* caches of exited threads */

/* The size of the chunks of class i. */
size_t mm_tc_class_size(unsigned i)
{
    if (i <= MM_TC_SMALL / 16)
        return (size_t)i * 16;
    unsigned j = i - (MM_TC_SMALL / 16 + 1), e = 11 + j / 8;
    return ((size_t)1 << e) + (size_t)(j % 8) * ((size_t)1 << (e - 3));
}

static unsigned limit_of(unsigned i)
{
    size_t n = (i <= MM_TC_SMALL / 16 ? MM_TC_CLASS_BYTES : MM_TC_MID_BYTES) / mm_tc_class_size(i);
    unsigned lo = i <= MM_TC_SMALL / 16 ? 4 : 1;
    return n < lo ? lo : n > 64 ? 64 : (unsigned)n;
}

void mm_cache_written(const mm_chunk *c, const char *fn)
{
    mm_die(fn, "the free %zu-byte block %p was written after it was freed (use after free, or a second "
               "free after a write)", mm_usable(c), mm_mem(c));
}

static void empty_class(struct mm_tcache *tc, unsigned i, unsigned keep)
{
    struct mm_tc_class *k = &tc->cls[i];
    if (k->count <= keep)
        return;
    /* The oldest blocks, at the bottom of the stack, go back, each with its
     * mark (a block listed twice finds its mark gone the second time),
     * checked before the heap takes any of them. */
    unsigned n = k->count - keep;
    for (unsigned j = 0; j < n; j++) {
        uint64_t *mark = (uint64_t *)mm_mem(k->stack[j]);
        if (*mark != mm_cache_mark(k->stack[j]))
            mm_cache_written(k->stack[j], "free");
        *mark = 0;
    }
    for (unsigned j = 0; j < n; j++)
        mm_heap_free(k->stack[j], "free");
    memmove(k->stack, k->stack + n, keep * sizeof *k->stack);
    k->count = (uint16_t)keep;
}

static void empty_all(struct mm_tcache *tc)
{
    for (unsigned i = 2; i < MM_TC_NCLS; i++)
        empty_class(tc, i, 0);
}

/* A thread's cache goes back when the thread exits. Later calls from this
 * thread (other destructors) use the lock. */
static void thread_exit(void *arg)
{
    struct mm_tcache *tc = arg;
    own = NULL;
    mm_tc_state = MM_TC_OFF;
    if (!mm_lock())
        return;
    empty_all(tc);
    if (tc->prev)
        tc->prev->next = tc->next;
    else
        all = tc->next;
    if (tc->next)
        tc->next->prev = tc->prev;
    tc->next = pool;
    pool = tc;
    mm_unlock();
}

MM_HOT void mm_cache_init(void)
{
    key_ok = pthread_key_create(&key, thread_exit) == 0;
    mm_heap_purge_hook = mm_cache_flush;
}

static struct mm_tcache *create(void)
{
    struct mm_tcache *tc = pool;
    if (tc) {
        pool = tc->next;
    } else {
        size_t entries = 0;
        for (unsigned i = 2; i < MM_TC_NCLS; i++)
            entries += limit_of(i);
        size_t len = mm_page_round(sizeof *tc + entries * sizeof(mm_chunk *));
        tc = mm_os_map_own(len);
        if (!tc)
            return NULL;
        tc->map_len = len;
        mm_chunk **e = (mm_chunk **)(tc + 1);
        for (unsigned i = 2; i < MM_TC_NCLS; i++) {
            tc->cls[i].stack = e;
            tc->cls[i].max = (uint16_t)limit_of(i);
            tc->cls[i].limit = (uint16_t)(limit_of(i) < 8 ? limit_of(i) : 8);
            e += limit_of(i);
        }
    }
    tc->prev = NULL;
    tc->next = all;
    if (all)
        all->prev = tc;
    all = tc;
    return tc;
}

/* This thread's cache, claimed (no one else on this thread may touch it
 * until release()), or NULL when it has none it can use: the caches are
 * off (no debugging option: the pages serve), a call already works on it
 * (a signal handler came in), the thread is exiting, or there is no memory
 * for one; it is made if need be when the caller holds the lock
 * (may_create). */
static __thread bool busy MM_TLS;

MM_HOT static struct mm_tcache *claim(bool may_create)
{
    if (busy || !mm_cache_fast_off)
        return NULL;
    struct mm_tcache *tc = own;
    if (!tc) {
        /* a new cache needs the lock (the list of caches, the pool) */
        if (!may_create || mm_tc_state != MM_TC_NONE || !key_ok)
            return NULL;             /* the thread is ending, or no key */
        if (!(tc = create()))
            return NULL;             /* no memory now: try again next time */
        mm_tc_state = MM_TC_ON;
        own = tc;
        pthread_setspecific(key, tc);   /* so thread_exit gets it */
    }
    busy = true;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return tc;
}

static void release(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    busy = false;
}

MM_HOT mm_chunk *mm_cache_take(size_t nb, bool locked, const char *fn)
{
    struct mm_tcache *tc = claim(false);
    if (!tc)
        return NULL;
    mm_chunk *c = mm_cache_pop(tc, nb, fn);
    release();
    if (c && locked)
        counts.hits++;
    return c;
}

bool mm_cache_put(mm_chunk *c, size_t size)
{
    struct mm_tcache *tc = claim(false);
    if (!tc)
        return false;
    bool done = mm_cache_push(tc, c, size);
    release();
    return done;
}

MM_HOT mm_chunk *mm_cache_refill(size_t nb, const char *fn)
{
    struct mm_tcache *tc = claim(true);
    if (!tc)
        return NULL;
    /* Carve half a stack at once; push them so that they come back out in
     * the order they were carved (consecutive addresses, as without a cache). */
    mm_chunk *got[64];
    struct mm_tc_class *k = &tc->cls[mm_tc_class(nb)];
    if (k->limit < k->max)      /* slow start: a class that keeps running empty grows */
        k->limit = (uint16_t)(k->limit * 2 < k->max ? k->limit * 2 : k->max);
    unsigned want = k->limit / 2, n = 0;
    if (!want)
        want = 1;
    counts.refills++;
    while (n < want && (got[n] = mm_heap_alloc(nb, fn)) != NULL)
        n++;
    while (n > 1) {
        /* A bin may give a little more than nb, even past the largest class. */
        mm_chunk *c = got[--n];
        if (mm_size(c) != nb || !mm_cache_push(tc, c, nb))
            mm_heap_free(c, fn);
    }
    release();
    return n ? got[0] : NULL;
}

MM_HOT bool mm_cache_free(mm_chunk *c, const char *fn)
{
    (void)fn;
    size_t size = mm_size(c);
    struct mm_tcache *tc = size <= MM_TC_MAX && mm_tc_round(size) == size ? claim(true) : NULL;
    if (!tc)
        return false;
    /* The stack is full: make room. */
    unsigned i = mm_tc_class(size);
    struct mm_tc_class *k = &tc->cls[i];
    if (k->count >= k->limit) {
        counts.flushes++;
        /* a class that keeps overflowing shrinks */
        unsigned lo = k->max < 8 ? k->max : 8, less = k->limit - k->limit / 4u;
        k->limit = (uint16_t)(less > lo ? less : lo);
    }
    empty_class(tc, i, k->limit / 2);
    if (!mm_cache_push(tc, c, size))
        mm_heap_free(c, fn);
    release();
    return true;
}

void mm_cache_flush(void)
{
    struct mm_tcache *tc = mm_tc_state == MM_TC_ON ? claim(false) : NULL;
    if (tc) {
        empty_all(tc);
        release();
    }
}

void mm_cache_counts(struct mm_cache_counts *k)
{
    *k = counts;
}

struct mm_tcache *mm_cache_own(void)
{
    return own;
}

/* The child of fork has one thread: the caches of the others (their blocks
 * stay in use) are forgotten. */
void mm_cache_after_fork_child(void)
{
    all = mm_tc_state == MM_TC_ON ? own : NULL;
    if (own)
        own->next = own->prev = NULL;
}

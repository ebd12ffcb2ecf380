/* Threads that come and go by the thousand: each allocates from pages of
 * its own, passes blocks to threads that live after it through a shared
 * ring, frees blocks that earlier threads allocated, and exits. Its empty
 * pages wait, idle, for later threads that need their class (and go back
 * to the chain after a second without use) and the others are left for
 * later threads to adopt, so nothing leaks and the heap does not grow with
 * the number of threads that have lived. Every round's threads hold their
 * blocks at the same moment (a barrier), so every round reaches the same
 * peak whatever the scheduler does. */
#include "helper.h"

#include <pthread.h>
#include <unistd.h>

enum { ROUNDS = 100, SETTLE = 20, PER_ROUND = 20, RING = 64 };

static void *ring[RING];
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t all_hold;

/* Puts p in the ring and frees what it replaces (another thread's block). */
static void pass(void *p, unsigned where)
{
    pthread_mutex_lock(&ring_lock);
    void *old = ring[where % RING];
    ring[where % RING] = p;
    pthread_mutex_unlock(&ring_lock);
    if (old)
        CHECK(intact(old, 32, 77));
    free(old);
}

static void *life(void *arg)
{
    uintptr_t seed = (uintptr_t)arg;
    void *p[200];
    for (int i = 0; i < 200; i++)
        p[i] = malloc(16 + (seed * 31 + (uintptr_t)i * 7) % 1000);
    pthread_barrier_wait(&all_hold);
    for (int i = 0; i < 200; i++)
        free(p[i]);
    /* leave some blocks in the cache; trade blocks with other threads */
    for (int i = 0; i < 50; i++)
        free(malloc(100));
    for (unsigned i = 0; i < 8; i++) {
        void *q = malloc(32 + (seed + i) % 200);
        fill(q, 32, 77);
        pass(q, (unsigned)seed * 8 + i);
    }
    return malloc(64);      /* handed to the main thread, freed there */
}

static void one_round(int round)
{
    pthread_t t[PER_ROUND];
    for (int i = 0; i < PER_ROUND; i++)
        CHECK(pthread_create(&t[i], NULL, life, (void *)(uintptr_t)(round * PER_ROUND + i)) == 0);
    for (int i = 0; i < PER_ROUND; i++) {
        void *r;
        pthread_join(t[i], &r);
        free(r);
    }
}

int main(void)
{
    require_mymalloc();
    alarm(120);
    CHECK(pthread_barrier_init(&all_hold, NULL, PER_ROUND) == 0);
    /* settle: the first rounds make the heaps the pool will reuse, and
     * leave the pages (a page of a class is adopted by the next thread
     * that needs one of that class) */
    for (int r = 0; r < SETTLE; r++)
        one_round(r);
    struct mymalloc_heap_info a, b;
    mymalloc_heap_info(&a);
    size_t rss0 = rss_bytes();
    for (int r = SETTLE; r < ROUNDS; r++)
        one_round(r);
    mymalloc_heap_info(&b);
    /* 1600 more thread lifetimes: no blocks left behind, no growth */
    printf("live %zu -> %zu, cached %zu -> %zu, heap %zu -> %zu KiB, rss %zu -> %zu KiB\n",
           a.live_blocks, b.live_blocks, a.cached_blocks, b.cached_blocks, a.heap_bytes >> 10,
           b.heap_bytes >> 10, rss0 >> 10, rss_bytes() >> 10);
    CHECK(b.live_blocks <= a.live_blocks + 5);
    /* the heap breathes with the 20 live threads' pages (here each uses up
     * to 32 size classes, a 64 KiB page each), but does not grow with the
     * number of threads that have lived */
    size_t breath = (size_t)PER_ROUND * 32 * (64u << 10);
    CHECK(a.heap_bytes <= breath + (8u << 20));
    CHECK(b.heap_bytes <= breath + (8u << 20));
    CHECK(rss_bytes() <= rss0 + (8u << 20));
    /* the ring's blocks freed: the pages the ended threads left, emptied,
     * are found idle by the heap's summary, which a second later gives them
     * back to the chain; then only the main thread's hold free blocks */
    for (int i = 0; i < RING; i++)
        pass(NULL, (unsigned)i);
    struct mymalloc_heap_info c;
    mymalloc_heap_info(&c);
    usleep(1100 * 1000);
    mymalloc_heap_info(&c);
    printf("after the ring: live %zu, cached %zu\n", c.live_blocks, c.cached_blocks);
    CHECK(c.live_blocks + RING <= a.live_blocks + 5);
    CHECK(c.cached_blocks <= 300);
    CHECK_HEAP();
    puts("ok");
    return 0;
}

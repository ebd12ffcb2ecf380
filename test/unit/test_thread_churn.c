/* Threads that come and go by the thousand: each fills its thread cache,
 * passes blocks to threads that live after it through a shared ring, frees
 * blocks that earlier threads allocated, and exits. Its cache goes back to
 * the heap, so nothing leaks and the heap does not grow with the number of
 * threads that have lived. Every round's threads hold their blocks at the
 * same moment (a barrier), so every round reaches the same peak whatever
 * the scheduler does: the heap after the first rounds has seen it. */
#include "helper.h"

#include <pthread.h>
#include <unistd.h>

enum { ROUNDS = 100, PER_ROUND = 20, RING = 64 };

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
    /* settle: the first rounds create the caches the pool will reuse */
    for (int r = 0; r < 5; r++)
        one_round(r);
    struct mymalloc_heap_info a, b;
    mymalloc_heap_info(&a);
    size_t rss0 = rss_bytes();
    for (int r = 5; r < ROUNDS; r++)
        one_round(r);
    mymalloc_heap_info(&b);
    /* 1900 more thread lifetimes: no blocks left behind, no growth */
    printf("live %zu -> %zu, cached %zu -> %zu, heap %zu -> %zu KiB, rss %zu -> %zu KiB\n",
           a.live_blocks, b.live_blocks, a.cached_blocks, b.cached_blocks, a.heap_bytes >> 10,
           b.heap_bytes >> 10, rss0 >> 10, rss_bytes() >> 10);
    CHECK(b.live_blocks <= a.live_blocks + 5);
    CHECK(b.cached_blocks <= a.cached_blocks + 100);
    /* the heap breathes with the 20 live threads' caches (a few hundred KiB
     * each at most), but does not grow with the number that have lived */
    CHECK(b.heap_bytes <= a.heap_bytes + (4u << 20));
    CHECK(rss_bytes() <= rss0 + (4u << 20));
    for (int i = 0; i < RING; i++)
        pass(NULL, (unsigned)i);
    CHECK_HEAP();
    puts("ok");
    return 0;
}

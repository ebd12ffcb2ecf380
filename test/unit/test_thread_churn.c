/* Threads that come and go by the thousand: each fills its thread cache and
 * exits; the cache goes back to the heap, so nothing leaks and the heap does
 * not grow with the number of threads that have lived. */
#include "helper.h"

#include <pthread.h>
#include <unistd.h>

enum { ROUNDS = 100, PER_ROUND = 20 };

static void *life(void *arg)
{
    uintptr_t seed = (uintptr_t)arg;
    void *p[200];
    for (int i = 0; i < 200; i++)
        p[i] = malloc(16 + (seed * 31 + (uintptr_t)i * 7) % 1000);
    for (int i = 0; i < 200; i++)
        free(p[i]);
    /* leave some blocks in the cache, and free one from another thread's */
    for (int i = 0; i < 50; i++)
        free(malloc(100));
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
    CHECK(b.heap_bytes <= a.heap_bytes + (1u << 20));
    CHECK(rss_bytes() <= rss0 + (4u << 20));
    CHECK_HEAP();
    puts("ok");
    return 0;
}

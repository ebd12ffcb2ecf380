/* Thread caches: what they hold is checked, a refill that gets a chunk a
 * little larger than asked keeps it out of the cache's classes, and blocks
 * of every cached size go in and out across threads. */
#include "helper.h"

#include <pthread.h>

/* Asks for the largest cached size while the only free chunks that fit
 * are 16 bytes larger: a refill must not file them past the last class
 * (it once did, writing through whatever followed the class table; two
 * threads churning in test/bench/two_threads.c showed it). */
static void largest_class(void)
{
    void *p[64];
    for (int i = 0; i < 64; i++)
        p[i] = malloc(1008);
    for (int i = 0; i < 64; i++)
        free(p[i]);
    CHECK_HEAP();
}

/* A thread with a cache of its own, alive while the main thread works:
 * the caches are then linked to each other, as in any threaded program. */
static pthread_mutex_t hold = PTHREAD_MUTEX_INITIALIZER;

static void *bystander(void *arg)
{
    (void)arg;
    free(malloc(100));
    pthread_mutex_lock(&hold);
    pthread_mutex_unlock(&hold);
    return NULL;
}

static void refill_from_a_larger_chunk(void)
{
    for (int round = 0; round < 20; round++) {
        /* free chunks of 1040 bytes, each between two live ones */
        char *guard[9], *hole[8];
        guard[0] = malloc(3000);
        for (int i = 0; i < 8; i++) {
            hole[i] = malloc(1032);
            guard[i + 1] = malloc(3000);
        }
        for (int i = 0; i < 8; i++)
            free(hole[i]);
        pthread_mutex_lock(&hold);
        pthread_t t;
        CHECK(pthread_create(&t, NULL, bystander, NULL) == 0);
        mymalloc_check_heap();        /* a call that lets the bystander start */
        for (int i = 0; i < 100000; i++)
            __asm__ volatile("");
        largest_class();
        pthread_mutex_unlock(&hold);
        pthread_join(t, NULL);
        for (int i = 0; i < 9; i++)
            free(guard[i]);
    }
    CHECK_HEAP();
}

/* Every cached size, allocated on one thread and freed on another. */
enum { N = 4096 };
static void *blocks[N];

static void *free_them(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++) {
        CHECK(intact(blocks[i], 8, (unsigned)i));
        free(blocks[i]);
    }
    CHECK_HEAP();
    return NULL;
}

static void across_threads(void)
{
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < N; i++) {
            blocks[i] = malloc(8 + (size_t)(i % 1009));
            fill(blocks[i], 8, (unsigned)i);
        }
        pthread_t t;
        CHECK(pthread_create(&t, NULL, free_them, NULL) == 0);
        pthread_join(t, NULL);
        CHECK_HEAP();
    }
}

int main(void)
{
    require_mymalloc();
    refill_from_a_larger_chunk();
    across_threads();
    puts("ok");
    return 0;
}

/* Eight threads allocate, hand blocks to each other, and free what others
 * allocated. Contents are checked at every free. */
#include "helper.h"

#include <pthread.h>
#include <unistd.h>

enum { THREADS = 8, OPS = 60000, RING = 512 };

static struct { void *p; size_t n; unsigned seed; } ring[RING];
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long cross_frees;

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *worker(void *arg)
{
    uint64_t s = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
    void *mine[64] = { 0 };
    for (int op = 0; op < OPS; op++) {
        uint64_t r = next(&s);
        size_t n = r % 16 == 0 ? 1 + r % 200000 : 1 + r % 600;
        unsigned seed = (unsigned)(r >> 32);
        void *p = malloc(n);
        CHECK(p);
        fill(p, n < 64 ? n : 64, seed);
        /* Swap it into the shared ring; free whatever was there (likely
         * another thread's block). */
        pthread_mutex_lock(&ring_lock);
        int i = (int)((r >> 20) % RING);
        void *old = ring[i].p;
        size_t on = ring[i].n;
        unsigned os = ring[i].seed;
        ring[i].p = p, ring[i].n = n, ring[i].seed = seed;
        cross_frees += old != NULL;
        pthread_mutex_unlock(&ring_lock);
        if (old) {
            CHECK(intact(old, on < 64 ? on : 64, os));
            free(old);
        }
        int j = (int)((r >> 40) % 64);
        free(mine[j]);
        mine[j] = malloc(r % 100);
        if (r % 3 == 0)
            mine[j] = realloc(mine[j], 1 + r % 3000);
    }
    for (int j = 0; j < 64; j++)
        free(mine[j]);
    return NULL;
}

int main(void)
{
    require_mymalloc();
    alarm(120);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)(i + 1)) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK(cross_frees > THREADS * OPS / 2);
    for (int i = 0; i < RING; i++)
        free(ring[i].p);
    CHECK_HEAP();
    puts("ok");
    return 0;
}

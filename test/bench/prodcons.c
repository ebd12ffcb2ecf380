/* prodcons: a producer thread allocates, a consumer thread frees.
 *
 *   prodcons [SCALE]
 *
 * The producer mallocs blocks of 16 to 511 bytes (one in 16 of 512 bytes
 * to 4 KiB), writes a sequence number at both ends of each and hands them
 * over in batches of 256 through a queue of at most 16 batches (a mutex
 * and two condition variables); the consumer checks each block's number
 * and that they arrive in order, and frees it. Every block is freed by a
 * thread other than the one that allocated it, the pattern of a pipeline.
 * 4 million blocks at SCALE 1, fixed seed. */
#include "bench.h"

#include <pthread.h>

#define BATCH 256
#define QUEUE 16

struct batch {
    void *p[BATCH];
    uint32_t n[BATCH];
};

static struct batch *queue[QUEUE];
static unsigned head, tail;           /* taken at head, put at tail */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;
static long total;

static void put(struct batch *b)
{
    pthread_mutex_lock(&lock);
    while (tail - head == QUEUE)
        pthread_cond_wait(&not_full, &lock);
    queue[tail++ % QUEUE] = b;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&lock);
}

static struct batch *take(void)
{
    pthread_mutex_lock(&lock);
    while (tail == head)
        pthread_cond_wait(&not_empty, &lock);
    struct batch *b = queue[head++ % QUEUE];
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&lock);
    return b;
}

static void *produce(void *arg)
{
    (void)arg;
    uint64_t rng = 4;
    long batches = (total + BATCH - 1) / BATCH;
    uint64_t seq = 0;
    for (long b = 0; b < batches; b++) {
        struct batch *bt = xmalloc(sizeof *bt);
        for (int i = 0; i < BATCH; i++) {
            uint64_t r = rng_next(&rng);
            uint32_t n = (r & 15) ? 16 + (uint32_t)(r >> 8) % 496 : 512 + (uint32_t)(r >> 8) % 3585;
            bt->p[i] = xmalloc(n);
            bt->n[i] = n;
            tag_put(bt->p[i], n, seq++);
        }
        put(bt);
    }
    put(NULL);
    return NULL;
}

int main(int argc, char **argv)
{
    total = bench_n(4000000, bench_scale(argc, argv));
    pthread_t t;
    if (pthread_create(&t, NULL, produce, NULL))
        BENCH_FAIL("prodcons: pthread_create failed");
    uint64_t seq = 0;
    for (struct batch *b; (b = take()) != NULL;) {
        for (int i = 0; i < BATCH; i++) {
            tag_check(b->p[i], b->n[i], seq++, "prodcons");
            free(b->p[i]);
        }
        free(b);
    }
    pthread_join(t, NULL);
    if (seq < (uint64_t)total)
        BENCH_FAIL("prodcons: %llu blocks arrived, expected %ld", (unsigned long long)seq, total);
    printf("prodcons: %llu blocks\n", (unsigned long long)seq);
    return 0;
}

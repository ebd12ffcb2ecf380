/* thread_churn: short-lived threads that come and go, and blocks that
 * outlive the thread that allocated them.
 *
 *   thread_churn [SCALE]
 *
 * The main thread starts 15,000 threads (at SCALE 1) in waves of 2: it
 * starts two, waits for both to exit, and starts the next two, so never
 * more than 2 threads allocate at once (the main thread only waits). Each
 * thread first takes the 48 oldest blocks out of a shared box (a ring of
 * blocks under a mutex, kept at about 512) and frees them: blocks that
 * threads of earlier waves, long exited, allocated. Then it fills a window
 * of 64 blocks of mixed sizes (16 bytes to 1 KiB, one in 16 up to 16 KiB,
 * one in 256 of 64 to 192 KiB) and 300 times frees the block in a random
 * slot and allocates a new one there; at the end it puts 48 of its blocks
 * in the box for a later thread to free, frees the other 16 and exits.
 * When the last wave has exited, main frees what is left in the box. Each
 * thread has its own fixed seed; every block carries a tag at both ends
 * (naming the thread that allocated it), checked before it is freed.
 * SCALE multiplies the number of threads. */
#include "bench.h"

#include <pthread.h>

#define WAVE 2
#define WINDOW 64
#define STEPS 300
#define HANDOFF 48              /* blocks a thread takes from the box, and leaves */
#define KEEP 512                /* the box's level: a thread takes only above it */
#define BOX 1024                /* the ring's size, above KEEP + WAVE * HANDOFF */

struct block {
    void *p;
    uint32_t n;
    uint64_t tag;
};

static struct block box[BOX];
static unsigned head, tail;     /* taken at head, put at tail */
static pthread_mutex_t box_lock = PTHREAD_MUTEX_INITIALIZER;

struct worker {
    pthread_t t;
    long id;
    long blocks, foreign;
};

static void fill(struct block *b, uint64_t *rng, uint64_t tag)
{
    uint64_t r = rng_next(rng);
    if ((r & 255) == 0)
        b->n = 65536 + (uint32_t)(r >> 16) % 131073;
    else if ((r & 15) == 0)
        b->n = 1025 + (uint32_t)(r >> 16) % 15360;
    else
        b->n = 16 + (uint32_t)(r >> 16) % 1009;
    b->p = xmalloc(b->n);
    tag_put(b->p, b->n, b->tag = tag);
}

static void drop(struct block *b)
{
    tag_check(b->p, b->n, b->tag, "thread_churn");
    free(b->p);
}

static void *work(void *arg)
{
    struct worker *me = arg;
    uint64_t rng = 2000 + (uint64_t)me->id, tag = (uint64_t)(me->id + 1) << 32;
    struct block got[HANDOFF], w[WINDOW];
    int ngot = 0;
    pthread_mutex_lock(&box_lock);
    if (tail - head >= KEEP + HANDOFF)
        for (; ngot < HANDOFF; ngot++)
            got[ngot] = box[head++ % BOX];
    pthread_mutex_unlock(&box_lock);
    for (int i = 0; i < ngot; i++) {
        long owner = (long)(got[i].tag >> 32) - 1;
        if (owner >= me->id - me->id % WAVE)
            BENCH_FAIL("thread_churn: thread %ld took a block of thread %ld, not an earlier wave's",
                       me->id, owner);
        drop(&got[i]);
    }
    me->foreign = ngot;
    for (int i = 0; i < WINDOW; i++)
        fill(&w[i], &rng, ++tag);
    for (int s = 0; s < STEPS; s++) {
        int i = (int)rng_below(&rng, WINDOW);
        drop(&w[i]);
        fill(&w[i], &rng, ++tag);
    }
    pthread_mutex_lock(&box_lock);
    if (tail - head + HANDOFF > BOX)
        BENCH_FAIL("thread_churn: the box is full");
    for (int i = 0; i < HANDOFF; i++)
        box[tail++ % BOX] = w[i];
    pthread_mutex_unlock(&box_lock);
    for (int i = HANDOFF; i < WINDOW; i++)
        drop(&w[i]);
    me->blocks = WINDOW + STEPS;
    return NULL;
}

int main(int argc, char **argv)
{
    long threads = bench_n(15000, bench_scale(argc, argv));
    long blocks = 0, foreign = 0;
    struct worker wk[WAVE];
    for (long first = 0; first < threads; first += WAVE) {
        int n = threads - first < WAVE ? (int)(threads - first) : WAVE;
        for (int k = 0; k < n; k++) {
            wk[k] = (struct worker){.id = first + k};
            if (pthread_create(&wk[k].t, NULL, work, &wk[k]))
                BENCH_FAIL("thread_churn: pthread_create failed");
        }
        for (int k = 0; k < n; k++) {
            pthread_join(wk[k].t, NULL);
            blocks += wk[k].blocks;
            foreign += wk[k].foreign;
        }
    }
    long left = (long)(tail - head);
    while (head != tail)
        drop(&box[head++ % BOX]);
    printf("thread_churn: %ld threads, %ld blocks, %ld freed by a later thread, %ld by main\n",
           threads, blocks, foreign, left);
    return 0;
}

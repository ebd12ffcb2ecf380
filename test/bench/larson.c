/* larson: a server's pattern, in the spirit of the larson benchmark: many
 * threads, and most blocks freed by a thread other than the one that
 * allocated them.
 *
 *   larson [SCALE]
 *
 * 8 threads (more than the cores of most machines it runs on: they take
 * turns) and 24 windows of 1,000 live blocks each (16 bytes to 1 KiB, one
 * in 32 up to 16 KiB; about 18 MiB live in all). A thread holds one window
 * at a time: 1.2 million times (at SCALE 1) it frees the block in a random
 * slot of its window and allocates a new one there, and every 256 steps it
 * hands the window on to the next thread in a ring (thread k to k + 1)
 * through a mailbox, and takes the next window from its own mailbox, waiting
 * if it is empty (2 windows wait in each mailbox at the start). A window
 * goes round all 8 threads, so a block is freed by the thread that allocated
 * it only when its slot is replaced twice while that thread holds it, or
 * when it outlives a trip round the ring: about 15% of the frees. The
 * program counts them and prints the share of frees by another thread.
 * Each thread has its own fixed seed (the scheduler decides when a thread
 * waits, not what it does). Every block carries a tag at both ends that
 * names the thread that allocated it, checked before it is freed; main
 * frees the windows at the end. SCALE multiplies the number of steps. */
#include "bench.h"

#include <pthread.h>

#define THREADS 8
#define SLOTS 1000
#define ROUND 256
#define WAITING 2                         /* windows in each mailbox at the start */
#define WINDOWS ((1 + WAITING) * THREADS)

struct window {
    void *p[SLOTS];
    uint32_t n[SLOTS];
    uint64_t tag[SLOTS];
};

static struct window windows[WINDOWS];

/* The mailboxes: a ring of windows per thread, all under one lock. */
static struct {
    struct window *w[WINDOWS];
    unsigned head, tail;                  /* taken at head, put at tail */
} box[THREADS];
static int done[THREADS];
static pthread_mutex_t box_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t box_put = PTHREAD_COND_INITIALIZER;

/* Each worker's counters, written at every step, on cache lines of their
 * own: two threads' counters in one line would make every allocator's
 * time double in the runs where the stack puts them there. */
struct __attribute__((aligned(128))) worker {
    pthread_t t;
    int id;
    long steps, frees, remote, waits;
};

/* The tag of a block: who allocated it (1 + thread, or THREADS + 1 for
 * main) in the top 16 bits, a count below. */
#define OWNER(tag) ((int)((tag) >> 48) - 1)

static void fill(struct window *w, uint32_t i, uint64_t r, uint64_t tag)
{
    w->n[i] = (r & 31) ? 16 + (uint32_t)(r >> 8) % 1009 : 1025 + (uint32_t)(r >> 8) % 15360;
    w->p[i] = xmalloc(w->n[i]);
    tag_put(w->p[i], w->n[i], w->tag[i] = tag);
}

static void put(int k, struct window *w)   /* with box_lock held */
{
    box[k].w[box[k].tail++ % WINDOWS] = w;
}

/* Hands w (if any) to the next thread and takes a window from the own
 * mailbox; once the thread before has finished, and the mailbox is empty,
 * from any mailbox, so that the last threads never wait for ever. */
static struct window *pass(struct worker *me, struct window *w)
{
    pthread_mutex_lock(&box_lock);
    if (w) {
        put((me->id + 1) % THREADS, w);
        pthread_cond_broadcast(&box_put);
    }
    int from = me->id;
    for (;;) {
        if (box[from].head != box[from].tail)
            break;
        if (done[(me->id + THREADS - 1) % THREADS]) {
            for (from = 0; from < THREADS && box[from].head == box[from].tail; from++)
                ;
            if (from < THREADS)
                break;
            from = me->id;
        }
        me->waits++;
        pthread_cond_wait(&box_put, &box_lock);
    }
    struct window *got = box[from].w[box[from].head++ % WINDOWS];
    pthread_mutex_unlock(&box_lock);
    return got;
}

static void *work(void *arg)
{
    struct worker *me = arg;
    uint64_t rng = 1000 + (uint64_t)me->id, tag = (uint64_t)(me->id + 1) << 48;
    struct window *w = pass(me, NULL);
    for (long s = 0; s < me->steps; s++) {
        uint32_t i = rng_below(&rng, SLOTS);
        tag_check(w->p[i], w->n[i], w->tag[i], "larson");
        if (OWNER(w->tag[i]) != me->id)
            me->remote++;
        me->frees++;
        free(w->p[i]);
        fill(w, i, rng_next(&rng), ++tag);
        if ((s + 1) % ROUND == 0)
            w = pass(me, w);
    }
    pthread_mutex_lock(&box_lock);
    put((me->id + 1) % THREADS, w);
    done[me->id] = 1;
    pthread_cond_broadcast(&box_put);
    pthread_mutex_unlock(&box_lock);
    return NULL;
}

int main(int argc, char **argv)
{
    long steps = bench_n(1200000, bench_scale(argc, argv));
    /* Main fills every window and shares them out among the mailboxes. */
    uint64_t rng = 999, tag = (uint64_t)(THREADS + 1) << 48;
    for (int k = 0; k < WINDOWS; k++) {
        for (uint32_t i = 0; i < SLOTS; i++)
            fill(&windows[k], i, rng_next(&rng), ++tag);
        put(k % THREADS, &windows[k]);
    }
    struct worker wk[THREADS];
    for (int k = 0; k < THREADS; k++) {
        wk[k] = (struct worker){.id = k, .steps = steps};
        if (pthread_create(&wk[k].t, NULL, work, &wk[k]))
            BENCH_FAIL("larson: pthread_create failed");
    }
    long frees = 0, remote = 0, waits = 0;
    for (int k = 0; k < THREADS; k++) {
        pthread_join(wk[k].t, NULL);
        frees += wk[k].frees;
        remote += wk[k].remote;
        waits += wk[k].waits;
    }
    for (int k = 0; k < WINDOWS; k++)
        for (uint32_t i = 0; i < SLOTS; i++) {
            tag_check(windows[k].p[i], windows[k].n[i], windows[k].tag[i], "larson");
            free(windows[k].p[i]);
        }
    printf("larson: %d threads, %ld frees, %.1f%% by another thread, %ld waits for a window\n",
           THREADS, frees, 100.0 * (double)remote / (double)(frees ? frees : 1), waits);
    return 0;
}

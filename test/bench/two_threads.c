/* two_threads: two threads that churn independently.
 *
 *   two_threads [SCALE]
 *
 * Each thread keeps a window of 2,000 live blocks (16 to 1 KiB, one in 32
 * up to 16 KiB) and 12 million times frees the block in a random slot of
 * its window and allocates a new one there; every 64 steps it also mallocs
 * and frees a burst of 1 to 16 small temporaries in LIFO order. The
 * threads share nothing but the allocator, so an allocator that serializes
 * them takes twice as long on two cores. Each thread has its own fixed
 * seed, and checks the tags at both ends of every block before freeing it.
 * SCALE multiplies the number of steps. */
#include "bench.h"

#include <pthread.h>

#define WINDOW 2000

/* Each worker's counters, written at every step, on cache lines of their
 * own: two threads' counters in one line would make every allocator's
 * time double in the runs where the stack puts them there. */
struct __attribute__((aligned(128))) worker {
    pthread_t t;
    uint64_t seed;
    long steps, blocks;
};

static size_t pick_size(uint64_t r)
{
    return (r & 31) ? 16 + (r >> 8) % 1009 : 1025 + (r >> 8) % 15360;
}

static void *churn(void *arg)
{
    struct worker *w = arg;
    uint64_t rng = w->seed, tag = w->seed << 40;
    static __thread void *slot[WINDOW];
    static __thread size_t size[WINDOW];
    static __thread uint64_t stag[WINDOW];
    for (int i = 0; i < WINDOW; i++) {
        size[i] = pick_size(rng_next(&rng));
        slot[i] = xmalloc(size[i]);
        tag_put(slot[i], size[i], stag[i] = ++tag);
    }
    for (long s = 0; s < w->steps; s++) {
        uint64_t r = rng_next(&rng);
        uint32_t i = (uint32_t)(((r >> 32) * WINDOW) >> 32);
        tag_check(slot[i], size[i], stag[i], "two_threads");
        free(slot[i]);
        size[i] = pick_size(rng_next(&rng));
        slot[i] = xmalloc(size[i]);
        tag_put(slot[i], size[i], stag[i] = ++tag);
        if ((s & 63) == 0) {
            void *tmp[16];
            size_t tn[16];
            int k = 1 + (int)(r & 15);
            for (int j = 0; j < k; j++) {
                tn[j] = 16 + ((r >> (4 + j)) & 7) * 16;
                tmp[j] = xmalloc(tn[j]);
                tag_put(tmp[j], tn[j], ++tag);
            }
            for (int j = k - 1; j >= 0; j--) {
                tag_check(tmp[j], tn[j], tag--, "two_threads");
                free(tmp[j]);
            }
            tag += (uint64_t)k;
        }
        w->blocks++;
    }
    for (int i = 0; i < WINDOW; i++) {
        tag_check(slot[i], size[i], stag[i], "two_threads");
        free(slot[i]);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long steps = bench_n(12000000, bench_scale(argc, argv));
    struct worker w[2] = {{.seed = 5, .steps = steps}, {.seed = 6, .steps = steps}};
    for (int i = 0; i < 2; i++)
        if (pthread_create(&w[i].t, NULL, churn, &w[i]))
            BENCH_FAIL("two_threads: pthread_create failed");
    for (int i = 0; i < 2; i++)
        pthread_join(w[i].t, NULL);
    printf("two_threads: %ld + %ld steps\n", w[0].blocks, w[1].blocks);
    return 0;
}

/* peak_threads: a heap that four threads make, and free in part for each
 * other, whose peak and end are known.
 *
 * Each thread allocates, in thread_blocks, 1,000 blocks of 16 to 408
 * bytes (16 + (i % 50) * 8: 212,000 bytes) and 10 of 5,000 (50,000
 * bytes); when all four have (a barrier), the heap is at its peak:
 * 4 * 262,000 = 1,048,000 bytes. Then each thread frees its own blocks of
 * even index but every tenth, and the blocks of odd index and the big ones
 * of the next thread: frees from a thread other than the one that
 * allocated. At exit the blocks of every tenth index stay: 4 * 17,600 =
 * 70,400 bytes. It prints nothing (stdout's buffer would be a block). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define SMALL 1000
#define BIG 10

static void *blocks[THREADS][SMALL + BIG];
static pthread_barrier_t all_made;

__attribute__((noinline)) static void thread_blocks(void **b)
{
    for (int i = 0; i < SMALL; i++)
        memset(b[i] = malloc(16 + (size_t)(i % 50) * 8), 'b', 16);
    for (int i = 0; i < BIG; i++)
        memset(b[SMALL + i] = malloc(5000), 'B', 5000);
}

static void *work(void *arg)
{
    long t = (long)arg;
    thread_blocks(blocks[t]);
    pthread_barrier_wait(&all_made);
    void **next = blocks[(t + 1) % THREADS];
    for (int i = 0; i < SMALL; i++) {
        if (i % 2 && i % 10)
            free(next[i]);
        else if (i % 10)
            free(blocks[t][i]);
    }
    for (int i = 0; i < BIG; i++)
        free(next[SMALL + i]);
    return NULL;
}

int main(void)
{
    pthread_t th[THREADS];
    pthread_barrier_init(&all_made, NULL, THREADS);
    for (long t = 0; t < THREADS; t++)
        if (pthread_create(&th[t], NULL, work, (void *)t))
            return 1;
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    return 0;
}

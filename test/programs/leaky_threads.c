/* leaky_threads: known leaks from two threads, for leaks=1.
 *   Two workers each churn 200,000 blocks of 16 to 1,000 bytes (enough to
 *   fill their thread caches) and hand half of them to the other thread to
 *   free; then each leaks 10 blocks of 100 bytes from lose_in_thread, and
 *   main leaks 3 blocks of 5,000 bytes from lose_in_main after the
 *   workers exit. 17,000 bytes lost in 23 blocks from 2 sites; every block
 *   the churn freed, cached or not, must stay out of the report. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define STEPS 200000
#define RING 64

static void *volatile inbox[2][RING];   /* what each worker hands the other */

__attribute__((noinline)) static void lose_in_thread(void)
{
    for (int i = 0; i < 10; i++)
        memset(malloc(100), 't', 100);
}

__attribute__((noinline)) static void lose_in_main(void)
{
    for (int i = 0; i < 3; i++)
        memset(malloc(5000), 'm', 5000);
}

static void *worker(void *arg)
{
    int me = (int)(long)arg;
    unsigned r = 12345u + (unsigned)me;
    for (int i = 0; i < STEPS; i++) {
        r = r * 1103515245u + 12345u;
        size_t n = 16 + (r >> 8) % 985;
        char *p = malloc(n);
        memset(p, 'c', n);
        if (i & 1) {
            free(p);
        } else {
            /* give it to the other thread's inbox; free what was there */
            void *old = __atomic_exchange_n(&inbox[!me][(r >> 4) % RING], p, __ATOMIC_ACQ_REL);
            free(old);
        }
    }
    lose_in_thread();
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < RING; i++)
            free(inbox[k][i]);
    lose_in_main();
    return 0;
}

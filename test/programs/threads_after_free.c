/* threads_after_free: errors after free where check=1 holds freed blocks
 * first in the freeing thread's own batch of the quarantine, one per
 * argument:
 *   cross_double  a thread frees a 40-byte block; after it has ended,
 *                 another frees it again
 *   racing_double two threads free the same block at about the same time,
 *                 while both free many others
 *   first_word    a thread frees a block, writes its first byte, frees
 *                 more blocks until the write must be seen, and goes on
 *   thread_ends   a thread frees a block, writes at offset 24 and ends;
 *                 main ends later (the write is found at exit)
 *   churn         (no error) four threads free blocks that others
 *                 allocated, with the tags at both ends checked
 * Each error's block comes from make_block and is freed in drop_block.
 * It prints "done" if it gets to the end. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *volatile shared;

__attribute__((noinline)) static char *make_block(void) { return malloc(40); }
__attribute__((noinline)) static void drop_block(char *p) { free(p); }

static void run(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    pthread_create(&t, NULL, fn, arg);
    pthread_join(t, NULL);
}

static void *free_shared(void *arg)
{
    (void)arg;
    drop_block(shared);
    return NULL;
}

static void *free_shared_among_others(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        free(malloc(48));
        if (i == 1000)
            drop_block(shared);
    }
    return NULL;
}

static void *write_first(void *arg)
{
    (void)arg;
    char *p = make_block();
    drop_block(p);
    p[0] = 'x';
    for (int i = 0; i < 100000; i++)
        free(malloc(64));
    return NULL;
}

static void *write_and_end(void *arg)
{
    (void)arg;
    char *p = make_block();
    drop_block(p);
    p[24] = 'x';
    return NULL;
}

/* Blocks made by one thread and freed by the next, tags at both ends. */
#define SLOTS 512
static char *slots[SLOTS];
static size_t sizes[SLOTS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

static void *churn(void *arg)
{
    uint64_t r = (uintptr_t)arg * 0x9e3779b97f4a7c15u + 1;
    for (int i = 0; i < 200000; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        size_t n = 16 + r % 600, k = (r >> 20) % SLOTS;
        char *p = malloc(n);
        memset(p, (int)(n & 0xff), n);
        pthread_mutex_lock(&slots_lock);
        char *old = slots[k];
        size_t on = sizes[k];
        slots[k] = p;
        sizes[k] = n;
        pthread_mutex_unlock(&slots_lock);
        if (old) {
            if (old[0] != (char)(on & 0xff) || old[on - 1] != (char)(on & 0xff)) {
                fprintf(stderr, "threads_after_free: a block changed\n");
                abort();
            }
            free(old);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "cross_double")) {
        shared = make_block();
        run(free_shared, NULL);
        run(free_shared, NULL);
    } else if (!strcmp(what, "racing_double")) {
        shared = make_block();
        pthread_t a, b;
        pthread_create(&a, NULL, free_shared_among_others, NULL);
        pthread_create(&b, NULL, free_shared_among_others, NULL);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
    } else if (!strcmp(what, "first_word")) {
        run(write_first, NULL);
    } else if (!strcmp(what, "thread_ends")) {
        run(write_and_end, NULL);
        for (int i = 0; i < 1000; i++)
            free(malloc(32));
    } else if (!strcmp(what, "churn")) {
        pthread_t t[4];
        for (uintptr_t i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, churn, (void *)i);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        for (int k = 0; k < SLOTS; k++)
            free(slots[k]);
    }
    puts("done");
    return 0;
}

/* Eight threads allocate, hand blocks to each other, and free what others
 * allocated. Contents are checked at every free. First, pages that other
 * threads freed all of are taken by a thread that needs them, while their
 * owner waits and while it works. */
#include "helper.h"

#include <pthread.h>
#include <semaphore.h>
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

/* ---- pages that other threads freed all of ----
 *
 * A thread fills pages of one class and then only waits; another frees
 * every block of them. A third thread that needs pages of that class
 * takes those, all free, instead of new ones from the heap: the waiting
 * thread would otherwise hold them for as long as it lives. */
#define HELD 3000               /* 64-byte blocks: about three pages' worth */
static void *held[HELD];
static sem_t filled, done;

static void *filler(void *arg)
{
    (void)arg;
    for (int i = 0; i < HELD; i++)
        CHECK((held[i] = malloc(64)) != NULL);
    sem_post(&filled);
    while (sem_wait(&done) != 0)        /* waits, allocating nothing */
        CHECK(errno == EINTR);
    return NULL;
}

static void *freer(void *arg)
{
    (void)arg;
    for (int i = 0; i < HELD; i++)
        free(held[i]);
    return NULL;
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void *taker(void *arg)
{
    int *reused = arg;
    static void *mine[HELD];
    qsort(held, HELD, sizeof *held, by_address);
    for (int i = 0; i < HELD; i++) {
        CHECK((mine[i] = malloc(64)) != NULL);
        memset(mine[i], 0xab, 64);
        if (bsearch(&mine[i], held, HELD, sizeof *held, by_address))
            ++*reused;
    }
    for (int i = 0; i < HELD; i++)
        free(mine[i]);
    return NULL;
}

static void full_pages_taken(void)
{
    CHECK(sem_init(&filled, 0, 0) == 0);
    CHECK(sem_init(&done, 0, 0) == 0);
    pthread_t f, g, t;
    int reused = 0;
    CHECK(pthread_create(&f, NULL, filler, NULL) == 0);
    while (sem_wait(&filled) != 0)
        CHECK(errno == EINTR);
    CHECK(pthread_create(&g, NULL, freer, NULL) == 0);
    pthread_join(g, NULL);
    CHECK(pthread_create(&t, NULL, taker, &reused) == 0);
    pthread_join(t, NULL);
    /* all but the filler's current page: two pages of 1,000 blocks or so */
    if (reused < HELD / 2)
        FAIL("%d of %d blocks came from the pages that another thread freed all of", reused, HELD);
    sem_post(&done);
    pthread_join(f, NULL);
    CHECK_HEAP();
}

/* ---- pages taken while their owners work ----
 *
 * Four threads each allocate batches of 48-byte blocks (filling pages,
 * one to three pages' worth, so that a thread often needs more pages
 * than its own freed ones), hand every batch to the next thread, free
 * the batch handed to them, and free some of their own blocks
 * themselves: pages of each go full, their blocks freed by another
 * thread while the owner works on its lists, and the threads take each
 * other's pages. Every block's contents are checked when it is freed. */
enum { TAKERS = 4, BATCH = 1500, ROUNDS = 60 };
static struct { void *p[3 * BATCH]; int n; sem_t full, empty; } box[TAKERS];

static void *passer(void *arg)
{
    long me = (long)(intptr_t)arg;
    int to = (int)((me + 1) % TAKERS);
    static __thread void *own_blocks[64];
    for (int round = 0; round < ROUNDS; round++) {
        int n = BATCH * (1 + (int)((round + me) % 3));
        void **batch = malloc((size_t)n * sizeof *batch);
        CHECK(batch);
        for (int i = 0; i < n; i++) {
            CHECK((batch[i] = malloc(48)) != NULL);
            fill(batch[i], 48, (unsigned)(me * 7 + i));
        }
        for (int i = 0; i < 64; i++) {     /* some freed by their owner */
            free(own_blocks[i]);
            CHECK((own_blocks[i] = malloc(48)) != NULL);
        }
        while (sem_wait(&box[to].empty) != 0)
            CHECK(errno == EINTR);
        memcpy(box[to].p, batch, (size_t)n * sizeof *batch);
        box[to].n = n;
        sem_post(&box[to].full);
        free(batch);
        while (sem_wait(&box[me].full) != 0)
            CHECK(errno == EINTR);
        long from = (me + TAKERS - 1) % TAKERS;
        for (int i = 0; i < box[me].n; i++) {
            CHECK(intact(box[me].p[i], 48, (unsigned)(from * 7 + i)));
            free(box[me].p[i]);
        }
        sem_post(&box[me].empty);
    }
    for (int i = 0; i < 64; i++)
        free(own_blocks[i]);
    return NULL;
}

static void pages_taken_at_work(void)
{
    pthread_t t[TAKERS];
    for (int i = 0; i < TAKERS; i++) {
        CHECK(sem_init(&box[i].full, 0, 0) == 0);
        CHECK(sem_init(&box[i].empty, 0, 1) == 0);
    }
    for (long i = 0; i < TAKERS; i++)
        CHECK(pthread_create(&t[i], NULL, passer, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < TAKERS; i++)
        pthread_join(t[i], NULL);
    CHECK_HEAP();
}

int main(void)
{
    require_mymalloc();
    alarm(120);
    full_pages_taken();
    pages_taken_at_work();
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

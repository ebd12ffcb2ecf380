/* A thread cancelled inside malloc_stats, whose write(2) is a cancellation
 * point, must not leave the heap lock held: afterwards this thread and
 * others allocate from the chain (an alignment beyond 4 KiB, blocks past
 * the pages), which needs the lock. A lock left held would make them wait
 * for ever: the alarm turns that into a failure.
 *
 * Twice. The thread cancels itself before the call: the request waits for
 * the first cancellation point, the write. Then stderr is a pipe, full and
 * never read, so the write blocks, and this thread cancels the other one:
 * the cancellation comes at the write whether it is sent before the thread
 * gets there or while it waits. Neither depends on timing. */
#include "helper.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

static pthread_barrier_t ready;

static void *stats_self_cancelled(void *arg)
{
    (void)arg;
    pthread_cancel(pthread_self());
    malloc_stats();
    return NULL;                 /* not reached: cancelled in the write */
}

static void *stats_blocked(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&ready);
    malloc_stats();
    return NULL;                 /* not reached */
}

static void *allocate(void *arg)
{
    (void)arg;
    void *p = memalign(8192, 100), *q = malloc(40000), *r = malloc(1 << 20);
    bool ok = p && q && r;
    free(p);
    free(q);
    free(r);
    return ok ? (void *)1 : NULL;
}

/* The lock is free: the chain serves this thread, without the re-entry
 * reserve, and a new thread. */
static void heap_works(void)
{
    struct mymalloc_heap_info a, b;
    mymalloc_heap_info(&a);
    CHECK(allocate(NULL));
    mymalloc_heap_info(&b);
    CHECK_EQ(b.reentered, a.reentered);
    pthread_t t;
    void *ret;
    CHECK(pthread_create(&t, NULL, allocate, NULL) == 0);
    CHECK(pthread_join(t, &ret) == 0);
    CHECK(ret);
    CHECK_HEAP();
}

/* fd 2 becomes a pipe with no room left; returns the old stderr. */
static int stderr_to_full_pipe(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    CHECK(fcntl(fds[1], F_SETFL, O_NONBLOCK) == 0);
    char buf[4096] = { 0 };
    while (write(fds[1], buf, sizeof buf) > 0)
        ;
    while (write(fds[1], buf, 1) > 0)     /* the last bytes, one at a time */
        ;
    CHECK_EQ(errno, EAGAIN);
    CHECK(fcntl(fds[1], F_SETFL, 0) == 0);
    int saved = dup(2);
    CHECK(saved >= 0);
    fflush(stderr);
    CHECK(dup2(fds[1], 2) == 2);
    close(fds[1]);               /* fds[0] stays open and unread */
    return saved;
}

int main(void)
{
    require_mymalloc();
    alarm(60);
    heap_works();

    pthread_t t;
    void *ret;
    CHECK(pthread_create(&t, NULL, stats_self_cancelled, NULL) == 0);
    CHECK(pthread_join(t, &ret) == 0);
    CHECK(ret == PTHREAD_CANCELED);
    heap_works();

    int saved = stderr_to_full_pipe();
    CHECK(pthread_barrier_init(&ready, NULL, 2) == 0);
    CHECK(pthread_create(&t, NULL, stats_blocked, NULL) == 0);
    pthread_barrier_wait(&ready);
    CHECK(pthread_cancel(t) == 0);
    CHECK(pthread_join(t, &ret) == 0);
    CHECK(dup2(saved, 2) == 2);
    CHECK(ret == PTHREAD_CANCELED);
    heap_works();
    puts("ok");
    return 0;
}

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
 * gets there or while it waits. Neither depends on timing.
 *
 * With trace= on (unit_cancel_trace), malloc and free write the trace
 * file with the lock held: a thread with a cancellation pending makes
 * thousands of calls, and none of them may act on it (malloc is not a
 * cancellation point), so the thread returns and the lock is free. */
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

static void *churn_cancel_pending(void *arg)
{
    (void)arg;
    pthread_cancel(pthread_self());
    for (int i = 0; i < 5000; i++)    /* 10,000 records: the trace is written six times */
        free(malloc(24 + i % 1000));
    return (void *)1;
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

/* The thread blocked in malloc_stats' write is cancelled there. */
static void stats_cancelled_while_blocked(void)
{
    pthread_t t;
    void *ret;
    int saved = stderr_to_full_pipe();
    CHECK(pthread_barrier_init(&ready, NULL, 2) == 0);
    CHECK(pthread_create(&t, NULL, stats_blocked, NULL) == 0);
    pthread_barrier_wait(&ready);
    CHECK(pthread_cancel(t) == 0);
    CHECK(pthread_join(t, &ret) == 0);
    CHECK(dup2(saved, 2) == 2);
    CHECK(ret == PTHREAD_CANCELED);
}

int main(void)
{
    require_mymalloc();
    alarm(60);
    const char *opts = getenv("MYMALLOC_OPTIONS");
    bool trace = opts && strstr(opts, "trace=");
    heap_works();

    pthread_t t;
    void *ret;
    CHECK(pthread_create(&t, NULL, stats_self_cancelled, NULL) == 0);
    CHECK(pthread_join(t, &ret) == 0);
    CHECK(ret == PTHREAD_CANCELED);
    heap_works();

    /* With the toolkit on, reports go to a copy of stderr made at start,
     * not to the full pipe: the blocked write is the quiet library's case,
     * the trace the toolkit's. */
    if (!trace) {
        stats_cancelled_while_blocked();
    } else {
        CHECK(pthread_create(&t, NULL, churn_cancel_pending, NULL) == 0);
        CHECK(pthread_join(t, &ret) == 0);
        CHECK(ret == (void *)1);
    }
    heap_works();
    puts("ok");
    return 0;
}

/* fork while other threads allocate: the child gets a sound heap it can
 * use. Some of the threads also use stdio, whose list lock glibc's fork
 * takes after the fork handlers run: the order of locks must not let that
 * deadlock.
 *
 * First, on purpose: a fork while another thread takes back, without the
 * lock, a page of its own that it had kept empty. */
#include "helper.h"

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- a fork while a page is taken back ----
 *
 * fail_signal raises SIGUSR2 at each of the allocator's fault points; the
 * handler acts at the first one after `armed`, where the thread has taken
 * an empty page of its own off its list (no lock held), and then
 * waits for the main thread to fork and for the child to finish. (Were
 * the lock held there, the fork would wait for it: the handler gives up
 * after a while and the round is run again.) */
#define BIG 4600            /* a 64 KiB page holds 14 of them */
#define SMALL 64

static sem_t want_fork, forked;
static __thread volatile sig_atomic_t armed;
static volatile sig_atomic_t asked, caught;

static void at_point(int sig)
{
    (void)sig;
    if (!armed)
        return;
    armed = 0;
    asked = 1;
    sem_post(&want_fork);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += 3;
    while (sem_timedwait(&forked, &t) != 0)
        if (errno != EINTR)
            return;
    caught = 1;
}

/* Two pages of BIG blocks emptied (a third keeps one block, so that they
 * are not its current page), then BIG blocks until the current page has
 * no room left: the next takes one of the two back, without the lock. */
static void *layer(void *arg)
{
    (void)arg;
    past_young();
    void *big[40], *more[20];
    for (int i = 0; i < 40; i++)
        CHECK((big[i] = malloc(BIG)) != NULL);
    for (int i = 0; i < 39; i++)
        free(big[i]);
    int n = 0;
    armed = 1;
    while (n < 20 && !asked)
        CHECK((more[n++] = malloc(BIG)) != NULL);
    armed = 0;
    while (n > 0)
        free(more[--n]);
    void *s = malloc(SMALL);
    CHECK(s != NULL);
    free(s);
    free(big[39]);
    sem_post(&want_fork);       /* (the main thread waits for one or the other) */
    return NULL;
}

/* The child: blocks of both classes, more than its own pages hold, so
 * that it adopts the other thread's; every byte of each written. */
static int child_uses_both(void)
{
    static void *p[2][300];
    for (int i = 0; i < 300; i++) {
        p[0][i] = malloc(BIG);
        p[1][i] = malloc(SMALL);
        if (!p[0][i] || !p[1][i])
            return 1;
        memset(p[0][i], 1, BIG);
        memset(p[1][i], 2, SMALL);
    }
    for (int i = 0; i < 300; i++) {
        free(p[0][i]);
        free(p[1][i]);
    }
    return mymalloc_check_heap() != 0;
}

static void fork_while_taken_back(void)
{
    struct sigaction sa = { .sa_handler = at_point, .sa_flags = SA_RESTART };
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
    char opts[64];
    snprintf(opts, sizeof opts, "fail_signal=%d:fail_signal_every=1", SIGUSR2);
    for (int round = 0; round < 5 && !caught; round++) {
        CHECK(sem_init(&want_fork, 0, 0) == 0);
        CHECK(sem_init(&forked, 0, 0) == 0);
        CHECK_EQ(mymalloc_set_options(opts), 0);
        pthread_t t;
        asked = 0;
        CHECK(pthread_create(&t, NULL, layer, NULL) == 0);
        while (sem_wait(&want_fork) != 0)
            CHECK(errno == EINTR);
        if (asked) {
            pid_t pid = fork();
            CHECK(pid >= 0);
            if (pid == 0)
                _exit(child_uses_both());
            int status;
            CHECK(waitpid(pid, &status, 0) == pid);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                FAIL("the child of a fork made while a page was taken back failed: status 0x%x", status);
            sem_post(&forked);
        }
        pthread_join(t, NULL);
        CHECK_EQ(mymalloc_set_options("fail_signal=0"), 0);
        sem_destroy(&want_fork);
        sem_destroy(&forked);
    }
    if (!caught)
        FAIL("no fork was made while a page was taken back, in 5 rounds");
}

/* ---- a fork among threads at work ---- */

static atomic_bool stop;

static void *allocator(void *arg)
{
    uint64_t s = (uintptr_t)arg;
    void *keep[128] = { 0 };
    while (!atomic_load(&stop)) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int i = (int)((s >> 33) % 128);
        free(keep[i]);
        keep[i] = malloc((s >> 40) % 5000);
        if (s % 97 == 0) {
            free(keep[i]);
            keep[i] = malloc(200000);
        }
    }
    for (int i = 0; i < 128; i++)
        free(keep[i]);
    return NULL;
}

/* getline holds a FILE lock while it calls malloc; fflush(NULL) holds the
 * stdio list lock while it waits for FILE locks. */
static void *stdio_user(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        FILE *f = fopen("/proc/self/maps", "r");
        char *line = NULL;
        size_t cap = 0;
        while (f && getline(&line, &cap, f) > 0) {
            free(line);
            line = NULL;
            cap = 0;
        }
        free(line);
        if (f)
            fclose(f);
    }
    return NULL;
}

static void *flusher(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop))
        fflush(NULL);
    return NULL;
}

int main(void)
{
    require_mymalloc();
    alarm(240);     /* a deadlock fails the test instead of hanging it */
    fork_while_taken_back();
    pthread_t t[5];
    for (long i = 0; i < 3; i++)
        CHECK(pthread_create(&t[i], NULL, allocator, (void *)(i + 1)) == 0);
    CHECK(pthread_create(&t[3], NULL, stdio_user, NULL) == 0);
    CHECK(pthread_create(&t[4], NULL, flusher, NULL) == 0);

    for (int k = 0; k < 300; k++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            /* The child: one thread, a heap in a consistent state. */
            void *p[100];
            for (int i = 0; i < 100; i++)
                p[i] = malloc((size_t)i * 50);
            for (int i = 0; i < 100; i++)
                free(p[i]);
            char *s = strdup("child");
            free(s);
            _exit(k % 30 == 0 ? mymalloc_check_heap() != 0 : 0);
        }
        int status;
        CHECK(waitpid(pid, &status, 0) == pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            FAIL("child %d failed: status 0x%x", k, status);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 5; i++)
        pthread_join(t[i], NULL);
    CHECK_HEAP();
    puts("ok");
    return 0;
}

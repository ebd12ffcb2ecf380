/* A signal handler that allocates, firing while the program is inside the
 * allocator: no deadlock, no corruption. And fork from such a handler, in a
 * single-threaded process. */
#include "helper.h"

#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t in_handler, handled, forks;
static void *kept[16];
static int fork_mode;

static void handler(int sig)
{
    (void)sig;
    in_handler = 1;
    static unsigned k;
    k++;
    /* allocate, grow, free: some of these land while malloc holds its lock */
    void *p = malloc(16 + k % 300);
    p = realloc(p, 40 + k % 900);
    memset(p, 7, 40 + k % 900);
    free(kept[k % 16]);
    kept[k % 16] = p;
    if (fork_mode && k % 8 == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            void *q = malloc(100);
            free(q);
            _exit(0);
        }
        if (pid > 0)
            forks++;
    }
    handled++;
    in_handler = 0;
}

static void churn(double seconds)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    void *a[256] = { 0 };
    for (unsigned i = 0;; i++) {
        free(a[i % 256]);
        a[i % 256] = malloc(i % 2000);
        if (i % 1024 == 0) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 > seconds)
                break;
            while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
        }
    }
    for (int i = 0; i < 256; i++)
        free(a[i]);
}

int main(void)
{
    require_mymalloc();
    alarm(60);
    struct sigaction sa = { .sa_handler = handler };
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGPROF, &sa, NULL) == 0);
    struct itimerval it = { { 0, 50 }, { 0, 50 } };     /* as often as the kernel allows */
    CHECK(setitimer(ITIMER_PROF, &it, NULL) == 0);

    churn(1.5);
    fork_mode = 1;
    churn(1.5);

    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_PROF, &off, NULL);
    while (wait(NULL) > 0)
        ;
    CHECK(handled > 100);
    CHECK(forks > 10);
    struct mymalloc_heap_info info;
    mymalloc_heap_info(&info);
    if (info.reentered == 0)
        FAIL("no signal landed inside the allocator in %d tries: the test proved nothing", (int)handled);
    for (int i = 0; i < 16; i++)
        free(kept[i]);
    CHECK_HEAP();
    printf("ok: %d signals, %zu inside the allocator, %d forks\n", (int)handled, info.reentered,
           (int)forks);
    return 0;
}

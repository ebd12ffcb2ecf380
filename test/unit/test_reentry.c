/* A signal handler that allocates, firing while the program is inside the
 * allocator: no deadlock, no corruption. And fork from such a handler, in a
 * single-threaded process.
 *
 * The signals do not come by chance: fail_signal makes the allocator raise
 * one in the middle of a change to the heap, with its lock held, every
 * fail_signal_every times. So every count below is a count of work, the
 * same on a fast machine, a slow one or a busy one. */
#include "helper.h"

#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
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
    /* a block of the chain (an alignment beyond 4 KiB comes from there):
     * the heap is what the signal interrupted, so this call finds the lock
     * held and is served apart (small blocks come from this thread's
     * pages, which need no lock) */
    free(memalign(8192, 64 + k % 300));
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

/* Sizes up to 60 KB: the larger ones miss the thread caches and go to the
 * heap under the lock, where the signals are raised. */
static void churn(unsigned rounds)
{
    void *a[256] = { 0 };
    for (unsigned i = 0; i < rounds; i++) {
        free(a[i % 256]);
        a[i % 256] = malloc(i % 7 ? i % 2000 : i % 60000);
        if (i % 1024 == 0)
            while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
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
    char opts[64];
    snprintf(opts, sizeof opts, "fail_signal=%d:fail_signal_every=16", SIGPROF);
    CHECK_EQ(mymalloc_set_options(opts), 0);

    churn(200000);
    int first = handled;
    fork_mode = 1;
    churn(200000);
    CHECK_EQ(mymalloc_set_options("fail_signal=0"), 0);
    while (wait(NULL) > 0)
        ;
    /* the two rounds do the same work: as many signals in each */
    CHECK(first > 100);
    CHECK(handled - first > 100);
    CHECK(forks >= (handled - first) / 8);
    struct mymalloc_heap_info info;
    mymalloc_heap_info(&info);
    /* every handler's call to the chain came in while the lock was held */
    CHECK(info.reentered >= (size_t)handled);
    for (int i = 0; i < 16; i++)
        free(kept[i]);
    CHECK_HEAP();
    printf("ok: %d signals, %zu inside the allocator, %d forks\n", (int)handled, info.reentered,
           (int)forks);
    return 0;
}

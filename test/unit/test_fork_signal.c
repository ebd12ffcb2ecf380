/* fork from a signal handler that came in while the same thread was inside
 * fork, or inside malloc (glibc allows fork in a handler): afterwards every
 * process, the parent and each child, has a working heap with its lock
 * free. A lock left held for good would not deadlock this thread: its calls
 * would be served from the re-entry reserve until it ran out, so the test
 * counts them (mymalloc_heap_info's reentered) and wants none.
 *
 * The nesting does not come by chance. This program's own prepare handler
 * raises SIGUSR1 (before the library's has run), and fail_signal makes the
 * library raise it inside its fork handlers (once prepare has taken the
 * lock; in the parent and in the child before they let it go) and in the
 * middle of changes to the heap. The handler forks at the n-th signal, so
 * each case happens in every run; a bounded loop then draws the cases, the
 * points and the sizes from a fixed seed. The same again with a second
 * thread, where fork also takes glibc's stdio lock: each process must find
 * that lock free too. */
#include "helper.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t nest_at;         /* the handler forks at this signal (0: no) */
static volatile sig_atomic_t seen;            /* signals since nest_at was set */
static volatile sig_atomic_t raise_in_prepare;
static volatile sig_atomic_t window;          /* forks under way on this thread */
static volatile sig_atomic_t nested_child;    /* this process was forked by the handler */
static volatile pid_t nested_pid, nested_parent;
static bool armed, threaded;
static char arm_opts[64];

static void on_usr1(int sig)
{
    (void)sig;
    int e = errno;
    if (nest_at && ++seen == nest_at) {
        nest_at = 0;
        pid_t pid = fork();
        if (pid == 0) {
            nested_child = 1;
            alarm(60);
        } else if (pid > 0) {
            nested_pid = pid;
            nested_parent = getpid();
        }
    }
    /* the lock may be held by the call this interrupted: served apart */
    free(malloc(24 + (size_t)seen));
    errno = e;
}

/* This program's handlers run around the library's: prepare before its
 * prepare, parent and child after its parent and child. */
static void prepare(void)
{
    if (window++)
        return;
    if (armed)
        CHECK_EQ(mymalloc_set_options(arm_opts), 0);
    if (raise_in_prepare) {
        raise_in_prepare = 0;
        raise(SIGUSR1);
    }
}

static void after(void)
{
    if (--window == 0 && armed)
        mymalloc_set_options("fail_signal=0");   /* -1 if the lock was left held */
}

static void after_child(void)
{
    alarm(60);                   /* a child that hangs fails its parent's wait */
    after();
}

static void *flush_all(void *arg)
{
    (void)arg;
    fflush(NULL);                /* takes glibc's stdio list lock */
    return NULL;
}

/* The heap of this process works, with its lock free: the chain's paths
 * (an alignment beyond 4 KiB, blocks past the pages, a mapped block) serve
 * without the reserve, and the heap checker finds nothing. Returns the
 * number of problems. */
static int heap_works(void)
{
    struct mymalloc_heap_info a, b;
    mymalloc_heap_info(&a);
    int bad = 0;
    void *p[6] = { malloc(40), malloc(3000), malloc(40000), memalign(8192, 100), malloc(1 << 20),
                   calloc(1, 70000) };
    for (int i = 0; i < 6; i++) {
        bad += p[i] == NULL;
        if (p[i])
            memset(p[i], i, 40);
    }
    p[2] = realloc(p[2], 90000);
    bad += p[2] == NULL;
    for (int i = 0; i < 6; i++)
        free(p[i]);
    mymalloc_heap_info(&b);
    bad += b.reentered != a.reentered;
    bad += mymalloc_check_heap() != 0;
    if (threaded) {
        /* glibc's stdio list lock is free: this thread takes it, then another */
        pthread_t t;
        fflush(NULL);
        bad += pthread_create(&t, NULL, flush_all, NULL) != 0 || pthread_join(t, NULL) != 0;
    }
    if (bad)
        fprintf(stderr, "pid %d: %d problems (%zu calls served from the reserve)\n", (int)getpid(),
                bad, b.reentered - a.reentered);
    return bad;
}

/* Waits for a child of this process; 1 if it failed. Not ours (a copy of
 * the parent made by the handler sees its parent's pids): 0. */
static int reap(pid_t pid)
{
    int status;
    if (pid <= 0 || waitpid(pid, &status, 0) != pid)
        return 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "pid %d: child %d ended with status 0x%x\n", (int)getpid(), (int)pid, status);
    return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

static int reap_nested(void)
{
    return nested_parent == getpid() ? reap(nested_pid) : 0;
}

/* The end of a process the handler made: it checks its heap, waits for
 * its own children and reports. */
static void finish_nested(pid_t outer)
{
    int bad = mymalloc_set_options("fail_signal=0") != 0;   /* armed in malloc's case */
    bad += heap_works() + reap(outer) + reap_nested();
    _exit(bad ? 1 : 0);
}

enum where { IN_OWN_PREPARE, IN_PREPARE, BEFORE_UNLOCK, IN_MALLOC, NWHERE };
static const char *const where_name[NWHERE] = {
    "this program's prepare handler", "the library's prepare handler",
    "the library's parent and child handlers", "malloc" };

/* One nesting; returns whether the handler forked in this process. */
static bool nest(enum where w, int at, unsigned every, uint64_t seed)
{
    snprintf(arm_opts, sizeof arm_opts, "fail_signal=%d:fail_signal_every=%u", SIGUSR1, every);
    nested_pid = 0;
    nested_parent = 0;
    seen = 0;
    nest_at = at;
    if (w == IN_MALLOC) {
        /* a signal at a change to the heap: the handler forks with the lock
         * held by the call it interrupted, which finishes in both processes */
        void *keep[64] = { 0 };
        CHECK_EQ(mymalloc_set_options(arm_opts), 0);
        for (int i = 0; i < 64 * 4; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            size_t n = seed >> 61 ? (seed >> 33) % 100000 : (seed >> 33) % 600;
            free(keep[i % 64]);
            keep[i % 64] = seed & 1 ? memalign(8192, n) : malloc(n);
            if (nested_child)
                finish_nested(0);
        }
        mymalloc_set_options("fail_signal=0");
        for (int i = 0; i < 64; i++)
            free(keep[i]);
        nest_at = 0;
        if (reap_nested())
            FAIL("fork from a handler in malloc (signal %d): the child failed", at);
        return nested_parent == getpid();
    }
    armed = w != IN_OWN_PREPARE;
    raise_in_prepare = w == IN_OWN_PREPARE;
    pid_t pid = fork();
    armed = false;
    nest_at = 0;
    if (pid < 0)
        FAIL("fork: %s", strerror(errno));
    if (nested_child)
        finish_nested(pid);      /* forked by the handler, before or after the outer fork */
    if (pid == 0)
        _exit(heap_works() + reap_nested() ? 1 : 0);
    int bad = heap_works() + reap(pid) + reap_nested();
    if (bad)
        FAIL("fork from a handler in %s (signal %d): %d problems", where_name[w], at, bad);
    return nested_parent == getpid();
}

static void every_case(int rounds)
{
    /* each case, once: the handler must have forked every time */
    CHECK(nest(IN_OWN_PREPARE, 1, 1, 0));
    CHECK(nest(IN_PREPARE, 1, 1, 0));
    CHECK(nest(BEFORE_UNLOCK, 2, 1, 0));      /* the parent; the child at its own second */
    CHECK(nest(IN_MALLOC, 1, 1, 1));
    /* then drawn, from a fixed seed */
    uint64_t seed = 0x243f6a8885a308d3ull;
    int forked = 0;
    for (int k = 0; k < rounds; k++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        enum where w = (enum where)((seed >> 33) % NWHERE);
        int at = 1 + (int)((seed >> 40) % 3);
        unsigned every = 1 + (unsigned)((seed >> 45) % 5);
        forked += nest(w, w == IN_OWN_PREPARE ? 1 : at, every, seed);
        CHECK_EQ(heap_works(), 0);
    }
    CHECK(forked > rounds / 3);
    printf("%s: %d of %d drawn nestings forked\n", threaded ? "two threads" : "one thread", forked, rounds);
}

static int hold[2];

static void *idle(void *arg)
{
    (void)arg;
    char c;
    (void)!read(hold[0], &c, 1);
    return NULL;
}

/* argument: how many nestings to draw (150) */
int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 150;
    require_mymalloc();
    alarm(240);                  /* a hang fails the test instead of stopping it */
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK(pthread_atfork(prepare, after, after_child) == 0);
    CHECK_EQ(heap_works(), 0);

    every_case(rounds);

    threaded = true;
    pthread_t t;
    CHECK(pipe(hold) == 0);
    CHECK(pthread_create(&t, NULL, idle, NULL) == 0);
    every_case(rounds);
    CHECK(write(hold[1], "", 1) == 1);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_HEAP();
    puts("ok");
    return 0;
}

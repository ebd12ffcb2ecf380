/* fuzz_heap -- libFuzzer target for the allocator core.
 *
 * The core is linked in under its internal names (mm_malloc, mm_free, ...),
 * without the exported malloc: libFuzzer itself allocates with glibc's
 * malloc, whose sbrk calls the core sees as "someone else moved the break".
 *
 * The input is a program: each operation is a few bytes (an opcode, a slot,
 * a size). A shadow record of every live block (its size, alignment and a
 * content pattern) is checked before each free and realloc, and the heap
 * checker runs every 32 operations and at the end of every input. Any
 * difference aborts, which libFuzzer reports as a crash with the input.
 * One operation hands a block to a second thread, which frees it (onto its
 * page's remote list, when it is a block of a page) and allocates the
 * block that replaces it (in a page of its own, which this thread frees
 * into later): the cross-thread paths of the pages. */
#include "../../src/debug/debug.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { SLOTS = 32 };

static struct { unsigned char *p; size_t n, align; unsigned char seed; } slot[SLOTS];

static void bug(const char *what, int i)
{
    fprintf(stderr, "fuzz_heap: %s (slot %d: %p, %zu bytes)\n", what, i, (void *)slot[i].p, slot[i].n);
    abort();
}

/* The pattern covers the first 256 bytes of a block and one byte in every
 * 256 after (the same bytes whatever the block's size, so a resized block
 * can be checked): enough to see any overlap, copy or clobbering. */
static size_t next_k(size_t k, size_t n)
{
    (void)n;
    return k < 255 ? k + 1 : k + 256 - k % 256;
}

static void fill(int i)
{
    for (size_t k = 0; k < slot[i].n; k = next_k(k, slot[i].n))
        slot[i].p[k] = (unsigned char)(slot[i].seed + k * 13);
}

static void verify(int i, size_t upto)
{
    if (!slot[i].p)
        return;
    if ((uintptr_t)slot[i].p % slot[i].align)
        bug("misaligned block", i);
    if (mm_usable_size(slot[i].p) < slot[i].n)
        bug("usable size below the size asked", i);
    for (size_t k = 0; k < slot[i].n && k < upto; k = next_k(k, slot[i].n))
        if (slot[i].p[k] != (unsigned char)(slot[i].seed + k * 13))
            bug("block contents changed", i);
}

static bool wrote_after_free;     /* in this child: the checker may find it */

static void check_heap(void)
{
    if (!mm_lock())
        abort();
    int errors = mm_check_locked(false);
    mm_unlock();
    if (errors && wrote_after_free)
        _exit(3);                   /* caught: the checker named the block */
    if (errors)
        bug("the heap checker found errors", 0);
}

/* Sizes: mostly small, some around 1 KiB (where the classes change step)
 * and the mmap threshold, where the code paths change. */
static size_t size_of(unsigned char a, unsigned char b)
{
    size_t v = (size_t)a << 8 | b;
    switch (a >> 6) {
    case 0: return b;                              /* 0..255 */
    case 1: return 900 + (v & 0x1ff);              /* around the cache limit */
    case 2: return 120000 + (v & 0x3fff) * 2;      /* around 128 KiB */
    default: return v & 0x3fff;                    /* up to 16 KiB */
    }
}

/* The second thread: frees job_free, then mallocs job_n bytes. */
static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_cond = PTHREAD_COND_INITIALIZER;
static void *job_free, *job_got;
static size_t job_n;
static int job_state;             /* 0 idle, 1 asked, 2 done */

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&job_lock);
    for (;;) {
        while (job_state != 1)
            pthread_cond_wait(&job_cond, &job_lock);
        mm_free(job_free);
        job_got = mm_malloc(job_n);
        job_state = 2;
        pthread_cond_broadcast(&job_cond);
    }
    return NULL;
}

static pthread_t worker_thread;
static int started;

static unsigned char *elsewhere(void *free_it, size_t n)
{
    if (!started) {
        if (pthread_create(&worker_thread, NULL, worker, NULL) != 0)
            abort();
        started = 1;
    }
    pthread_mutex_lock(&job_lock);
    job_free = free_it;
    job_n = n;
    job_state = 1;
    pthread_cond_broadcast(&job_cond);
    while (job_state != 2)
        pthread_cond_wait(&job_cond, &job_lock);
    job_state = 0;
    unsigned char *got = job_got;
    pthread_mutex_unlock(&job_lock);
    return got;
}

static void put(int i, unsigned char *p, size_t n, size_t align, unsigned char seed)
{
    slot[i].p = p;
    slot[i].n = n;
    slot[i].align = align;
    slot[i].seed = seed;
    fill(i);
}

static void drop(int i)
{
    verify(i, SIZE_MAX);
    mm_free(slot[i].p);
    slot[i].p = NULL;
    slot[i].n = 0;
}

/* What the library's constructor does when no debugging option is on:
 * small blocks in the pages (init.c is not linked in here). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    mm_front_init();
    if (!mm_pages_on) {
        mm_pages_start();
        mm_heap_purge_hook = mm_pages_flush;
    }
    return 0;
}

enum { WRITE_AFTER_FREE = 255 };

/* Frees slot i's block and writes into one of its words (a, b choose which
 * and what). Blocks of their own mapping are left out: they are unmapped
 * or kept inaccessible, and a write there faults in the program. */
static void write_after_free(int i, unsigned char a, unsigned char b)
{
    unsigned char *p = slot[i].p;
    size_t usable = p ? mm_usable_size(p) : 0;
    if (usable < 8 || usable >= 100000) {
        drop(i);
        return;
    }
    size_t words = usable / 8, k = ((size_t)a << 8 | b) % words;
    uint64_t *w = (uint64_t *)p + k, v;
    void *other = slot[(i + 1 + b) % SLOTS].p;
    drop(i);
    memcpy(&v, w, 8);
    switch (a % 4) {
    case 0: v = 0; break;
    case 1: v ^= UINT64_C(1) << (b % 64); break;
    case 2: v = (uintptr_t)other; break;
    default: v += 16;
    }
    fprintf(stderr, "waf: wrote after free into word %zu of %p\n", k, (void *)p);
    wrote_after_free = true;
    memcpy(w, &v, 8);
}

static void run(const unsigned char *data, size_t len)
{
    static int trace = -1;          /* FUZZ_TRACE=1: print each operation */
    if (trace < 0)
        trace = getenv("FUZZ_TRACE") != NULL;
    for (size_t at = 0; at + 4 <= len; at += 4) {
        unsigned char op = data[at], a = data[at + 2], b = data[at + 3];
        int i = data[at + 1] % SLOTS;
        size_t n = size_of(a, b), align = (size_t)16 << (b % 10), total;
        unsigned char *p;
        if (trace)
            fprintf(stderr, "op %u slot %d n %zu align %zu (slot holds %p, %zu)\n", op % 10, i, n, align,
                    (void *)slot[i].p, slot[i].n);
        if (op == WRITE_AFTER_FREE) {
            write_after_free(i, a, b);
            continue;
        }
        switch (op % 10) {
        case 0: case 1:
            drop(i);
            p = mm_malloc(n);
            if (p)
                put(i, p, n, 16, op);
            break;
        case 2:
            drop(i);
            p = mm_calloc_size(1, n, &total) ? mm_calloc(total) : NULL;
            for (size_t k = 0; p && k < n; k++)
                if (p[k])
                    bug("calloc memory not zero", i);
            if (p)
                put(i, p, n, 16, op);
            break;
        case 3: {
            verify(i, SIZE_MAX);
            size_t old = slot[i].n;
            p = mm_realloc(slot[i].p, n);
            if (n == 0 && slot[i].p) {         /* freed, glibc style */
                slot[i].p = NULL;
                slot[i].n = 0;
                break;
            }
            if (!p)
                break;                          /* the old block stays */
            slot[i].p = p;
            slot[i].n = old < n ? old : n;
            slot[i].align = 16;                 /* realloc keeps contents, not alignment */
            verify(i, SIZE_MAX);
            put(i, p, n, 16, op);
            break;
        }
        case 4:
            drop(i);
            align = mm_memalign_align(align, n);
            p = align ? mm_alloc_plain(n, align, "memalign") : NULL;
            if (p)
                put(i, p, n, align, op);
            break;
        case 5: case 6:
            drop(i);
            break;
        case 7:
            verify(i, SIZE_MAX);
            break;
        case 8:                                 /* freed and replaced by the other thread */
            verify(i, SIZE_MAX);
            p = elsewhere(slot[i].p, n);
            slot[i].p = NULL;
            slot[i].n = 0;
            if (p)
                put(i, p, n, 16, op);
            break;
        default:
            mm_trim(n);
        }
        if ((at / 4) % 32 == 31)
            check_heap();
    }
    for (int i = 0; i < SLOTS; i++)
        drop(i);
    check_heap();
}

/* How the inputs with a write after free ended, printed at exit. */
static unsigned long ended_well, ended_reported, ended_checked;

static void summary(void)
{
    fprintf(stderr, "waf: %lu inputs wrote after free: %lu caught by a report and abort, %lu by the checker, "
            "%lu changed nothing\n", ended_well + ended_reported + ended_checked, ended_reported, ended_checked,
            ended_well);
}

/* An input with a write after free, in a child: it must end well, or by
 * an abort that follows the allocator's report of a write ("mymalloc: "),
 * made after the write ("waf: "), with no other complaint, or by the
 * checker's finding (exit status 3). */
static void run_apart(const unsigned char *data, size_t len)
{
    int out[2];
    if (pipe(out) != 0)
        abort();
    pid_t pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        /* the second thread stayed in the parent, waiting on job_cond:
         * a new one, with a condition of its own */
        started = 0;
        job_state = 0;
        job_cond = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
        job_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
        signal(SIGABRT, SIG_DFL);   /* not libFuzzer's handlers: the parent judges */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        dup2(out[1], 2);
        close(out[0]);
        run(data, len);
        _exit(0);
    }
    close(out[1]);
    static char text[1 << 16];
    size_t got = 0;
    ssize_t r;
    char rest[4096];
    while ((r = got < sizeof text - 1 ? read(out[0], text + got, sizeof text - 1 - got)
                                      : read(out[0], rest, sizeof rest)) > 0)
        if (got < sizeof text - 1)
            got += (size_t)r;
    text[got] = '\0';
    close(out[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        abort();
    static bool registered;
    if (!registered)
        registered = atexit(summary) == 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        ended_well++;
        return;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
        ended_checked++;
        return;
    }
    const char *waf = strstr(text, "waf: "), *report = strstr(text, "mymalloc: ");
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && waf && report > waf &&
        !strstr(text, "fuzz_heap: ") && !strstr(text, "runtime error")) {
        ended_reported++;
        return;
    }
    fprintf(stderr, "fuzz_heap: a write after free ended badly (status %#x); the child said:\n%s", status, text);
    abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t len)
{
    for (size_t at = 0; at + 4 <= len; at += 4)
        if (data[at] == WRITE_AFTER_FREE) {
            run_apart(data, len);
            return 0;
        }
    run(data, len);
    return 0;
}

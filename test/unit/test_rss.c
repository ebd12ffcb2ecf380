/* Memory goes back: after a program frees what it allocated, its resident
 * size falls back near where it started. */
#include "helper.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

enum { N = 100000 };
static char *p[N];

/* The mappings that hold more than 512 KiB resident, to stderr: where a
 * resident size above what the heap says it keeps lies. */
static void show_resident(void)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512], map[512] = "";
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        long kib;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2)
            snprintf(map, sizeof map, "%s", line);
        else if (sscanf(line, "Rss: %ld", &kib) == 1 && kib > 512)
            fprintf(stderr, "  %ld KiB resident in %s", kib, map);
    }
    if (f)
        fclose(f);
}

/* Free memory inside the heap goes back at most once a second, with the
 * next free into the heap: wait, and make one. */
static void settle(size_t base, const char *what)
{
    usleep(1100 * 1000);
    free(malloc(40000));          /* a block of the chain */
    size_t now = rss_bytes();
    struct mymalloc_heap_info h;
    mymalloc_heap_info(&h);
    if (now > base + (6u << 20)) {
        show_resident();
        FAIL("%s: resident size %zu KiB, %zu KiB at the start (heap %zu KiB: %zu KiB free in %zu chunks, "
             "%zu KiB cached, %zu KiB live; %zu KiB given back so far)", what, now >> 10, base >> 10,
             h.heap_bytes >> 10, h.free_bytes >> 10, h.free_chunks, h.cached_bytes >> 10,
             h.live_bytes >> 10, h.released_bytes >> 10);
    }
}

/* A worker thread: 200,000 small blocks, touched, all freed; then it
 * ends, and its pages wait, idle, for another thread. */
static void *worker(void *arg)
{
    (void)arg;
    enum { M = 200000 };
    char **mine = malloc(M * sizeof *mine);
    for (int i = 0; i < M; i++) {
        size_t n = 16 + (size_t)(i % 32) * 8;
        mine[i] = malloc(n);
        memset(mine[i], 1, 16);
    }
    for (int i = 0; i < M; i++)
        free(mine[i]);
    free(mine);
    return NULL;
}

/* The share of the 4 KiB pages inside [p, p + n) that are resident. */
static double resident_share(const char *p, size_t n)
{
    uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, hi = ((uintptr_t)p + n) & ~(uintptr_t)4095;
    static unsigned char v[64];
    size_t pages = (hi - lo) / 4096, in = 0;
    CHECK(pages > 0 && pages <= sizeof v);
    CHECK(mincore((void *)lo, hi - lo, v) == 0);
    for (size_t i = 0; i < pages; i++)
        in += v[i] & 1;
    return (double)in / (double)pages;
}

/* Decay: most of the heap stays in use, so the purge above (which waits
 * for the program to give back much of what it used) never comes; blocks
 * freed and left unused go back all the same, a second or two later,
 * with the next calls. Blocks of 100,000 bytes between live ones of
 * 40,000 (both the chain's: above the pages' 32 KiB, below the mmap
 * threshold). */
static void decay_case(void)
{
    enum { PINS = 256, FREED = 48, SIZE = 100000 };
    static char *pins[PINS], *gone[FREED];
    for (int i = 0; i < PINS; i++) {
        if (i < FREED) {
            gone[i] = malloc(SIZE);
            CHECK(gone[i]);
            memset(gone[i], 1, SIZE);
        }
        pins[i] = malloc(40000);
        CHECK(pins[i]);
        memset(pins[i], 2, 40000);
    }
    for (int i = 0; i < FREED; i++)
        free(gone[i]);
    double before = 0, after = 0;
    for (int i = 0; i < FREED; i++)
        before += resident_share(gone[i], SIZE) / FREED;
    if (before < 0.9)
        FAIL("decay: %.0f%% of the freed blocks' pages resident at once (the purge came?)", before * 100);
    /* a free into the chain's bins a second apart, three times: of pins
     * at the end, between live ones, so that no freed block of the 48
     * merges with it or is taken for it */
    for (int k = 0; k < 3; k++) {
        usleep(1100 * 1000);
        free(pins[PINS - 2 - k]);
        pins[PINS - 2 - k] = NULL;
    }
    for (int i = 0; i < FREED; i++)
        after += resident_share(gone[i], SIZE) / FREED;
    if (after > 0.1)
        FAIL("decay: %.0f%% of the freed blocks' pages still resident 3.3 s later (%.0f%% at once)",
             after * 100, before * 100);
    for (int i = 0; i < PINS; i++)
        free(pins[i]);
}

int main(void)
{
    require_mymalloc();
    size_t base = rss_bytes();

    /* Threads that allocate, free everything and end (first, on a fresh
     * heap): no thread takes their pages for a second, and the next call
     * that needs a page (here of 30,000 bytes, a size no call on the main
     * thread has used, glibc's own for the threads included) gives them
     * back to the system. */
    char *keep = malloc(500);       /* the main thread has a heap of its own */
    pthread_t t[8];
    for (int k = 0; k < 8; k++)
        CHECK(pthread_create(&t[k], NULL, worker, NULL) == 0);
    for (int k = 0; k < 8; k++)
        pthread_join(t[k], NULL);
    CHECK(rss_bytes() > base + (20u << 20));
    usleep(1100 * 1000);
    void *volatile q = malloc(30000);
    free(q);
    size_t after = rss_bytes();
    if (after > base + (6u << 20))
        FAIL("threads ended: resident size %zu KiB, %zu KiB at the start", after >> 10, base >> 10);
    free(keep);

    /* ~200 MB of small and medium blocks, all touched, all freed. */
    for (int i = 0; i < N; i++) {
        size_t n = 16 + (size_t)(rnd() % 4000);
        p[i] = malloc(n);
        memset(p[i], 1, n);
    }
    CHECK(rss_bytes() > base + (100u << 20));
    for (int i = 0; i < N; i++)
        free(p[i]);
    settle(base, "small blocks freed");

    /* The same, but one block stays live at the top of the heap: the free
     * run below it is given back with madvise. */
    for (int i = 0; i < N; i++) {
        size_t n = 16 + (size_t)(rnd() % 4000);
        p[i] = malloc(n);
        memset(p[i], 1, n);
    }
    char *pin = malloc(100);
    for (int i = 0; i < N; i++)
        free(p[i]);
    settle(base, "small blocks freed below a live one");
    free(pin);

    /* Freed in random order, so free runs form and merge in the middle. */
    for (int i = 0; i < N; i++) {
        p[i] = malloc(2000);
        memset(p[i], 1, 2000);
    }
    pin = malloc(100);
    for (int i = 0; i < N; i++) {
        int j = (int)(rnd() % N);
        char *t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    for (int i = 0; i < N; i++)
        free(p[i]);
    settle(base, "blocks freed in random order");
    free(pin);

    /* Big blocks are unmapped (a few kept for reuse, a second at most). */
    for (int i = 0; i < 100; i++) {
        p[i] = malloc(1u << 20);
        memset(p[i], 1, 1u << 20);
    }
    for (int i = 0; i < 100; i++)
        free(p[i]);
    settle(base, "big blocks freed");
    decay_case();
    CHECK_HEAP();
    puts("ok");
    return 0;
}

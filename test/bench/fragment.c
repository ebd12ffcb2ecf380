/* fragment: fill the heap with small blocks, free most of them in a random
 * order, and see how much memory stays resident.
 *
 *   fragment [SCALE]
 *
 * Allocates about 256 MiB (at SCALE 1) of blocks of 16 to 512 bytes, about
 * a million, then frees them in a random order, all but every 64th block
 * allocated: those few (4 MiB) pin pages all over the heap, as the long-
 * lived data of a program that has dropped its caches does. Then it waits
 * 1.5 s in 15 steps, allocating and freeing 1,024 small blocks at each step
 * (an allocator that gives memory back over time, or at its next calls,
 * has the chance to), and prints the process's resident size read from
 * /proc/self/statm, one line on stdout:
 *
 *   rss_end_kib N
 *
 * which scripts/bench shows in a table of its own beside the peak. Last, it
 * frees the blocks it kept. SCALE multiplies the amount allocated; below 1
 * it also shortens the wait (0.03 s at the 0.02 of scripts/bench --quick),
 * above 1 the wait stays 1.5 s. Fixed seed. Every block carries a tag at
 * both ends, checked before it is freed. */
#define _GNU_SOURCE
#include "bench.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define KEEP_EVERY 64
#define WAIT_STEPS 15
#define STEP_BLOCKS 1024

static uint32_t pick_size(uint64_t *rng)
{
    return 16 + rng_below(rng, 497);
}

static uint64_t tag_of(size_t i)
{
    return (uint64_t)i * UINT64_C(0x9e3779b97f4a7c15) + 1;
}

/* The resident size in KiB, from /proc/self/statm (read without malloc). */
static long resident_kib(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY);
    if (fd < 0)
        BENCH_FAIL("fragment: cannot open /proc/self/statm");
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        BENCH_FAIL("fragment: cannot read /proc/self/statm");
    buf[n] = 0;
    char *p = buf, *end;
    strtol(p, &end, 10);                        /* size */
    long pages = strtol(end, &end, 10);         /* resident */
    if (end == buf || pages <= 0)
        BENCH_FAIL("fragment: cannot parse /proc/self/statm: %s", buf);
    return pages * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    size_t target = (size_t)bench_n(256L << 20, scale);

    /* How many blocks make the target: the same sizes as below. */
    uint64_t rng = 8;
    size_t count = 0;
    for (size_t bytes = 0; bytes < target; count++)
        bytes += pick_size(&rng);

    void **p = xmalloc(count * sizeof *p);
    uint16_t *n = xmalloc(count * sizeof *n);
    uint32_t *order = xmalloc(count * sizeof *order);
    rng = 8;
    for (size_t i = 0; i < count; i++) {
        n[i] = (uint16_t)pick_size(&rng);
        p[i] = xmalloc(n[i]);
        tag_put(p[i], n[i], tag_of(i));
        order[i] = (uint32_t)i;
    }
    for (size_t i = count - 1; i > 0; i--) {
        uint32_t j = rng_below(&rng, (uint32_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (size_t k = 0; k < count; k++) {
        size_t i = order[k];
        if (i % KEEP_EVERY == 0)
            continue;
        tag_check(p[i], n[i], tag_of(i), "fragment");
        free(p[i]);
    }
    free(order);
    /* Only the kept blocks stay live: move them to a small array. */
    size_t kept = (count + KEEP_EVERY - 1) / KEEP_EVERY;
    void **kp = xmalloc(kept * sizeof *kp);
    uint16_t *kn = xmalloc(kept * sizeof *kn);
    for (size_t k = 0; k < kept; k++) {
        kp[k] = p[k * KEEP_EVERY];
        kn[k] = n[k * KEEP_EVERY];
    }
    free(p);
    free(n);

    double step = 0.1 * (scale < 1 ? scale : 1);
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(step * 1e9)};
    void *tmp[STEP_BLOCKS];
    uint32_t tn[STEP_BLOCKS];
    for (int s = 0; s < WAIT_STEPS; s++) {
        while (nanosleep(&ts, &ts) != 0)
            ;
        ts.tv_nsec = (long)(step * 1e9);
        for (int i = 0; i < STEP_BLOCKS; i++) {
            tn[i] = pick_size(&rng);
            tmp[i] = xmalloc(tn[i]);
            tag_put(tmp[i], tn[i], tag_of((size_t)i) ^ 1);
        }
        for (int i = 0; i < STEP_BLOCKS; i++) {
            tag_check(tmp[i], tn[i], tag_of((size_t)i) ^ 1, "fragment");
            free(tmp[i]);
        }
    }
    long rss = resident_kib();

    for (size_t k = 0; k < kept; k++) {
        tag_check(kp[k], kn[k], tag_of(k * KEEP_EVERY), "fragment");
        free(kp[k]);
    }
    free(kp);
    free(kn);
    printf("fragment: %zu blocks, %zu kept until the end\n", count, kept);
    printf("rss_end_kib %ld\n", rss);
    return 0;
}

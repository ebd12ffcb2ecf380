/* bench.h -- what the benchmark workloads share: the scale argument, a
 * pseudo-random generator with a fixed seed, and failing loudly.
 *
 * Every workload takes one optional argument, SCALE (default 1): its amount
 * of work is multiplied by it, so `scripts/bench --quick` can run it in a
 * fraction of a second. Its inputs are the same on every run. It checks
 * what it reads back from its blocks and exits with status 1 (after one
 * line on stderr) when anything is wrong, so a broken allocator shows as a
 * failure, never as a time. */
#ifndef BENCH_H
#define BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define BENCH_FAIL(...)                                                                            \
    do {                                                                                           \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        exit(1);                                                                                   \
    } while (0)

static inline double bench_scale(int argc, char **argv)
{
    if (argc < 2)
        return 1.0;
    char *end;
    double s = strtod(argv[1], &end);
    if (*end || !(s > 0 && s <= 1000))
        BENCH_FAIL("%s: bad scale '%s' (a number above 0, such as 0.05 or 2)", argv[0], argv[1]);
    return s;
}

/* n times the scale, at least 1. */
static inline long bench_n(long n, double scale)
{
    double v = (double)n * scale;
    return v < 1 ? 1 : (long)v;
}

/* splitmix64: small, fast, and the same sequence everywhere. */
static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* A number in [0, n), n below 2^32. */
static inline uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((rng_next(s) >> 32) * n) >> 32);
}

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        BENCH_FAIL("malloc(%zu) failed", n);
    if ((uintptr_t)p % 16)
        BENCH_FAIL("malloc(%zu) returned %p, not 16-byte aligned", n, p);
    return p;
}

/* A block of n >= 16 bytes carries its tag in its first and last 8 bytes
 * (the last may be unaligned: n need not be a multiple of 8): two live
 * blocks that overlap at an end overwrite each other's tags. */
typedef uint64_t bench_u64 __attribute__((aligned(1), may_alias));

static inline void tag_put(void *p, size_t n, uint64_t tag)
{
    *(volatile bench_u64 *)p = tag;
    *(volatile bench_u64 *)((char *)p + n - 8) = ~tag;
}

static inline void tag_check(const void *p, size_t n, uint64_t tag, const char *what)
{
    uint64_t a = *(const volatile bench_u64 *)p;
    uint64_t b = *(const volatile bench_u64 *)((const char *)p + n - 8);
    if (a != tag || b != ~tag)
        BENCH_FAIL("%s: the %zu-byte block %p was overwritten (tag %#llx/%#llx, expected %#llx)",
                   what, n, p, (unsigned long long)a, (unsigned long long)~b,
                   (unsigned long long)tag);
}

#endif

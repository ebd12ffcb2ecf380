/* helper.h -- what every C test uses: CHECK macros, and the proof that
 * malloc in this process really is libmymalloc's. */
#ifndef TEST_HELPER_H
#define TEST_HELPER_H
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mymalloc.h"

#define FAIL(...)                                                        \
    do {                                                                 \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                  \
        fprintf(stderr, __VA_ARGS__);                                    \
        fputc('\n', stderr);                                             \
        exit(1);                                                         \
    } while (0)
#define CHECK(c) do { if (!(c)) FAIL("CHECK failed: %s", #c); } while (0)
#define CHECK_EQ(a, b)                                                   \
    do {                                                                 \
        long long a_ = (long long)(a), b_ = (long long)(b);              \
        if (a_ != b_)                                                    \
            FAIL("CHECK_EQ failed: %s == %lld, %s == %lld", #a, a_, #b, b_); \
    } while (0)
#define CHECK_ALIGNED(p, a) CHECK(((uintptr_t)(p) & ((a) - 1)) == 0)
/* The heap checker finds nothing wrong. */
#define CHECK_HEAP() CHECK_EQ(mymalloc_check_heap(), 0)

/* Fails unless the malloc this process calls is the one in libmymalloc.so:
 * a test that would pass with glibc's malloc proves nothing. */
static inline void require_mymalloc(void)
{
    Dl_info info;
    void *m = dlsym(RTLD_DEFAULT, "malloc");
    if (!m || !dladdr(m, &info) || !strstr(info.dli_fname, "libmymalloc"))
        FAIL("malloc is not libmymalloc's (it comes from %s)", m && info.dli_fname ? info.dli_fname : "?");
    if (strcmp(mymalloc_version(), MYMALLOC_VERSION))
        FAIL("library version %s, header %s", mymalloc_version(), MYMALLOC_VERSION);
}

/* A thread's first 48 blocks above 1 KiB come from the chain, not from
 * pages (YOUNG_BLOCKS in src/pages/pages.c): a test of the pages' bigger
 * classes first takes its thread past that, and proves it did (a page
 * block of 5,000 bytes has its class's 5,120; the chain's, 5,000). */
static inline void past_young(void)
{
    for (int i = 0; i < 48; i++)
        free(malloc(2000));
    void *p = malloc(5000);
    if (!p || malloc_usable_size(p) != 5120)
        FAIL("a block of 5000 bytes does not come from a page after 48 of 2000: usable size %zu",
             p ? malloc_usable_size(p) : 0);
    free(p);
}

/* A small deterministic random generator (xorshift64*). */
static inline uint64_t rnd(void)
{
    static uint64_t s = 0x9e3779b97f4a7c15ull;
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545f4914f6cdd1dull;
}

/* Fills a block with bytes derived from a seed, and checks them. */
static inline void fill(void *p, size_t n, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(seed * 31 + i * 7);
}
static inline int intact(const void *p, size_t n, unsigned seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)(seed * 31 + i * 7))
            return 0;
    return 1;
}

/* Resident set size of this process in bytes. */
static inline size_t rss_bytes(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &res) != 2)
        FAIL("cannot read /proc/self/statm");
    fclose(f);
    return (size_t)res * 4096;
}
#endif

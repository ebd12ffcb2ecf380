/* realloc_grow: strings grown by realloc, a few bytes at a time.
 *
 *   realloc_grow [SCALE]
 *
 * Keeps 64 strings under construction. Each step appends 1 to 32 bytes to
 * one of them, chosen at random, with realloc to exactly the new length
 * plus the terminating zero, as naive string building does. A string that
 * reaches its target length (most 64 bytes to 4 KiB, one in 8 up to
 * 64 KiB, one in 64 up to 512 KiB, past the mmap threshold) is checked and
 * freed, and a new one starts in its place. 4 million appends at SCALE 1,
 * fixed seed. The check: every string's bytes hash to what was appended,
 * and it is as long as its length says. */
#include "bench.h"

#include <string.h>

#define STRINGS 64

struct str {
    char *p;
    size_t len, target;
    uint64_t hash;            /* FNV-1a of the bytes appended so far */
};

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * UINT64_C(0x100000001b3);
    return h;
}

static size_t pick_target(uint64_t *rng)
{
    uint32_t k = rng_below(rng, 64);
    if (k == 0)
        return 65536 + rng_below(rng, 458752);
    if (k < 8)
        return 4096 + rng_below(rng, 61440);
    return 64 + rng_below(rng, 4033);
}

static void start(struct str *s, uint64_t *rng)
{
    s->p = NULL;
    s->len = 0;
    s->target = pick_target(rng);
    s->hash = UINT64_C(0xcbf29ce484222325);
}

static void finish(struct str *s)
{
    if (strlen(s->p) != s->len)
        BENCH_FAIL("realloc_grow: a %zu-byte string has length %zu", s->len, strlen(s->p));
    if (fnv(UINT64_C(0xcbf29ce484222325), (unsigned char *)s->p, s->len) != s->hash)
        BENCH_FAIL("realloc_grow: the contents of a %zu-byte string changed", s->len);
    free(s->p);
}

int main(int argc, char **argv)
{
    long steps = bench_n(4000000, bench_scale(argc, argv));
    uint64_t rng = 3;
    struct str strs[STRINGS];
    for (int i = 0; i < STRINGS; i++)
        start(&strs[i], &rng);
    long done = 0;
    size_t bytes = 0;
    for (long i = 0; i < steps; i++) {
        struct str *s = &strs[rng_below(&rng, STRINGS)];
        uint64_t r = rng_next(&rng);
        size_t add = 1 + (r & 31);
        char *p = realloc(s->p, s->len + add + 1);
        if (!p)
            BENCH_FAIL("realloc_grow: realloc(%zu) failed", s->len + add + 1);
        /* Printable bytes, never zero, from the random word. */
        for (size_t j = 0; j < add; j++)
            p[s->len + j] = (char)('a' + (r >> (8 + j % 48)) % 26);
        s->hash = fnv(s->hash, (unsigned char *)p + s->len, add);
        s->len += add;
        p[s->len] = 0;
        s->p = p;
        bytes += add;
        if (s->len >= s->target) {
            finish(s);
            start(s, &rng);
            done++;
        }
    }
    for (int i = 0; i < STRINGS; i++)
        if (strs[i].p)
            finish(&strs[i]);
    printf("realloc_grow: %ld strings finished, %zu bytes appended\n", done, bytes);
    return 0;
}

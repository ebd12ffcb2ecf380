/* random_free: random-order frees over a large live set of mixed sizes.
 *
 *   random_free [SCALE]
 *
 * Fills 100,000 slots with blocks of mixed sizes (60% 16-128 bytes, 30%
 * up to 1 KiB, 9% up to 8 KiB, 1% up to 64 KiB; about 100 MiB live), then
 * 1.5 million times frees the block in a random slot and puts a new block of
 * a random size there, and at the end frees them all in a random order.
 * SCALE multiplies the number of replacements (and, below 1, the live set).
 * Fixed seed. Every block is written whole when it is allocated (a byte
 * pattern; a tag at its start and end, and in its middle from 32 bytes),
 * and its tags are checked before it is freed. */
#include "bench.h"

#include <string.h>

struct slot {
    char *p;
    size_t n;
    uint64_t tag;
};

static size_t pick_size(uint64_t *rng)
{
    uint32_t k = rng_below(rng, 100);
    if (k < 60)
        return 16 + rng_below(rng, 113);
    if (k < 90)
        return 129 + rng_below(rng, 896);
    if (k < 99)
        return 1025 + rng_below(rng, 7168);
    return 8193 + rng_below(rng, 57344);
}

static void fill(struct slot *s, size_t n, uint64_t tag)
{
    s->p = xmalloc(n);
    s->n = n;
    s->tag = tag;
    memset(s->p, (int)(tag & 0xff), n);
    tag_put(s->p, n, tag);
    if (n >= 32)
        memcpy(s->p + n / 2 - 4, &tag, 8);
}

static void drop(struct slot *s)
{
    uint64_t mid = s->tag;
    tag_check(s->p, s->n, s->tag, "random_free");
    if (s->n >= 32)
        memcpy(&mid, s->p + s->n / 2 - 4, 8);
    if (mid != s->tag)
        BENCH_FAIL("random_free: the middle of the %zu-byte block %p was overwritten", s->n, (void *)s->p);
    free(s->p);
    s->p = NULL;
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    long live = bench_n(100000, scale < 1 ? scale : 1);
    long ops = bench_n(1500000, scale);
    uint64_t rng = 2;
    struct slot *slots = xmalloc(sizeof *slots * (size_t)live);
    uint64_t tag = 0;
    for (long i = 0; i < live; i++)
        fill(&slots[i], pick_size(&rng), ++tag);
    for (long i = 0; i < ops; i++) {
        struct slot *s = &slots[rng_below(&rng, (uint32_t)live)];
        drop(s);
        fill(s, pick_size(&rng), ++tag);
    }
    /* Free everything in a random order: a shuffle of the slot numbers. */
    uint32_t *order = xmalloc(sizeof *order * (size_t)live);
    for (long i = 0; i < live; i++)
        order[i] = (uint32_t)i;
    for (long i = live - 1; i > 0; i--) {
        uint32_t j = rng_below(&rng, (uint32_t)i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (long i = 0; i < live; i++)
        drop(&slots[order[i]]);
    free(order);
    free(slots);
    printf("random_free: %ld live, %llu blocks\n", live, (unsigned long long)tag);
    return 0;
}

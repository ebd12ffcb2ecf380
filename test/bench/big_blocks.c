/* big_blocks: big blocks on both sides of the mmap threshold.
 *
 *   big_blocks [SCALE]
 *
 * Keeps 8 live blocks of 64 KiB to 256 KiB (the mmap threshold is 128 KiB
 * in mymalloc; glibc's starts there and rises to the size of a mapped block
 * that is freed), and 40,000 times frees the one in a random slot
 * and allocates a new one of a random size there, as a program that reads
 * files or network messages into buffers does. Every 4 KiB page of a new
 * block is written (its page number and the block's tag), so page faults
 * on fresh memory count, and every page is checked before the block is
 * freed. SCALE multiplies the number of replacements. Fixed seed. */
#include "bench.h"

#define SLOTS 8
#define PAGE 4096

struct slot {
    uint64_t *p;
    size_t n;
    uint64_t tag;
};

static void fill(struct slot *s, size_t n, uint64_t tag)
{
    s->p = xmalloc(n);
    s->n = n;
    s->tag = tag;
    for (size_t off = 0; off + 24 <= n; off += PAGE) {
        s->p[off / 8] = tag;
        s->p[off / 8 + 1] = off;
    }
    tag_put(s->p, n, tag);
}

static void drop(struct slot *s)
{
    tag_check(s->p, s->n, s->tag, "big_blocks");
    for (size_t off = PAGE; off + 24 <= s->n; off += PAGE)
        if (s->p[off / 8] != s->tag || s->p[off / 8 + 1] != off)
            BENCH_FAIL("big_blocks: page %zu of the %zu-byte block %p was overwritten", off / PAGE,
                       s->n, (void *)s->p);
    free(s->p);
}

int main(int argc, char **argv)
{
    long ops = bench_n(40000, bench_scale(argc, argv));
    uint64_t rng = 7, tag = 0;
    struct slot slots[SLOTS];
    for (int i = 0; i < SLOTS; i++)
        fill(&slots[i], 65536 + rng_below(&rng, 196608), ++tag);
    for (long i = 0; i < ops; i++) {
        struct slot *s = &slots[rng_below(&rng, SLOTS)];
        drop(s);
        fill(s, 65536 + rng_below(&rng, 196608), ++tag);
    }
    for (int i = 0; i < SLOTS; i++)
        drop(&slots[i]);
    printf("big_blocks: %llu blocks\n", (unsigned long long)tag);
    return 0;
}

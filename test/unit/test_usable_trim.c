/* malloc_usable_size, malloc_trim, mallopt, mallinfo2. */
#include "helper.h"

#include <limits.h>
#include <malloc.h>

static void usable_size(void)
{
    CHECK_EQ(malloc_usable_size(NULL), 0);
    for (size_t n = 0; n < 300; n++) {
        char *p = malloc(n);
        size_t u = malloc_usable_size(p);
        CHECK(u >= n && u < n + 32);
        memset(p, 1, u);                /* all of it is really usable */
        free(p);
    }
    CHECK_HEAP();
}

static void trim_gives_memory_back(void)
{
    enum { N = 4000 };
    static void *p[N];
    for (int i = 0; i < N; i++)
        p[i] = malloc(1000);
    for (int i = 0; i < N; i++)
        free(p[i]);
    struct mymalloc_heap_info a, b;
    mymalloc_heap_info(&a);
    CHECK(a.top_bytes <= (1u << 20));   /* freeing already lowered the break */
    CHECK_EQ(malloc_trim(0), 1);
    mymalloc_heap_info(&b);
    CHECK(b.heap_bytes < a.heap_bytes || b.released_bytes > a.released_bytes);
    CHECK_HEAP();
}

static void mallopt_moves_the_mmap_threshold(void)
{
    struct mymalloc_heap_info a, b;
    CHECK_EQ(mallopt(M_MMAP_THRESHOLD, 1 << 20), 1);
    mymalloc_heap_info(&a);
    void *p = malloc(500000);
    mymalloc_heap_info(&b);
    CHECK_EQ(b.mapped_blocks, a.mapped_blocks);
    free(p);
    CHECK_EQ(mallopt(M_MMAP_THRESHOLD, 128 * 1024), 1);
    p = malloc(500000);
    mymalloc_heap_info(&b);
    CHECK_EQ(b.mapped_blocks, a.mapped_blocks + 1);
    free(p);
}

/* mallopt answers as glibc 2.36's does: 1 for every parameter and value
 * but M_MXFAST beyond its largest fast bin (160 bytes). The parameters
 * with nothing to set here (the arenas' among them) are no-ops; the
 * thresholds are kept within their options' bounds: 0 is the smallest
 * threshold, a negative value (a huge size to glibc) the largest. */
static void mallopt_answers_as_glibc(void)
{
#define P(x) { x, #x }
    const struct { int param; const char *name; } params[] = {
        P(M_TRIM_THRESHOLD), P(M_TOP_PAD), P(M_MMAP_THRESHOLD), P(M_MMAP_MAX), P(M_CHECK_ACTION),
        P(M_PERTURB), P(M_ARENA_TEST), P(M_ARENA_MAX), { 0, "0" }, { 12345, "12345" } };
#undef P
    const int values[] = { -1, 0, 1, 160, 161, 4096, 1 << 20, 64 << 20, INT_MAX, INT_MIN };
    for (size_t i = 0; i < sizeof params / sizeof *params; i++)
        for (size_t j = 0; j < sizeof values / sizeof *values; j++)
            if (mallopt(params[i].param, values[j]) != 1)
                FAIL("mallopt(%s, %d) is not 1, as glibc's", params[i].name, values[j]);
    CHECK_EQ(mallopt(M_MXFAST, -1), 0);
    CHECK_EQ(mallopt(M_MXFAST, 0), 1);
    CHECK_EQ(mallopt(M_MXFAST, 160), 1);
    CHECK_EQ(mallopt(M_MXFAST, 161), 0);
    CHECK_EQ(mallopt(M_TOP_PAD, 64 << 10), 1);
    CHECK_EQ(mallopt(M_TRIM_THRESHOLD, 256 << 10), 1);

    struct mymalloc_heap_info a, b;
    CHECK_EQ(mallopt(M_MMAP_THRESHOLD, 0), 1);          /* the smallest: 4 KiB */
    mymalloc_heap_info(&a);
    void *p = malloc(40000);
    mymalloc_heap_info(&b);
    CHECK_EQ(b.mapped_blocks, a.mapped_blocks + 1);
    free(p);
    CHECK_EQ(mallopt(M_MMAP_THRESHOLD, -1), 1);         /* the largest: 1 GiB */
    mymalloc_heap_info(&a);
    p = malloc(64u << 20);
    mymalloc_heap_info(&b);
    CHECK_EQ(b.mapped_blocks, a.mapped_blocks);
    free(p);
    CHECK_EQ(mallopt(M_MMAP_THRESHOLD, 128 << 10), 1);
    CHECK_HEAP();
}

static void mallinfo2_counts(void)
{
    struct mallinfo2 a = mallinfo2();
    void *p = malloc(10000), *q = malloc(1u << 20);
    struct mallinfo2 b = mallinfo2();
    CHECK(b.uordblks >= a.uordblks + 10000 + (1u << 20));
    CHECK_EQ(b.hblks, a.hblks + 1);
    CHECK(b.hblkhd >= a.hblkhd + (1u << 20));
    CHECK(b.arena >= b.fordblks);
    free(p);
    free(q);
}

int main(void)
{
    require_mymalloc();
    usable_size();
    trim_gives_memory_back();
    mallopt_moves_the_mmap_threshold();
    mallopt_answers_as_glibc();
    mallinfo2_counts();
    puts("ok");
    return 0;
}

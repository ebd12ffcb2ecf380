/* malloc_usable_size, malloc_trim, mallopt, mallinfo2. */
#include "helper.h"

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
    CHECK_EQ(mallopt(M_MMAP_THRESHOLD, -5), 0);
    CHECK_EQ(mallopt(M_ARENA_MAX, 1), 1);       /* no arenas to limit: accepted, as glibc's */
    CHECK_EQ(mallopt(M_ARENA_TEST, 1), 1);
    CHECK_EQ(mallopt(M_CHECK_ACTION, 1), 0);    /* not a knob here */
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
    mallinfo2_counts();
    puts("ok");
    return 0;
}

/* malloc and free: error cases first, then what every program relies on. */
#include "helper.h"

#include <malloc.h>
#include <stdint.h>

static void impossible_sizes_fail_with_enomem(void)
{
    size_t sizes[] = { SIZE_MAX, SIZE_MAX - 15, (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX,
                       (size_t)PTRDIFF_MAX - 4096, SIZE_MAX / 2 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        errno = 0;
        CHECK(malloc(sizes[i]) == NULL);
        CHECK_EQ(errno, ENOMEM);
    }
    /* Too big for this machine, though not for the arithmetic. */
    errno = 0;
    CHECK(malloc((size_t)1 << 46) == NULL);
    CHECK_EQ(errno, ENOMEM);
    CHECK_HEAP();
}

static void malloc0_is_unique_and_freeable(void)
{
    void *a = malloc(0), *b = malloc(0);
    CHECK(a && b && a != b);
    CHECK(malloc_usable_size(a) < 64);
    free(a);
    free(b);
    free(NULL);
    CHECK_HEAP();
}

static void every_size_is_aligned_and_usable(void)
{
    static void *p[5000];
    for (size_t n = 1; n <= 5000; n++) {
        p[n - 1] = malloc(n);
        CHECK(p[n - 1]);
        CHECK_ALIGNED(p[n - 1], 16);
        CHECK(malloc_usable_size(p[n - 1]) >= n);
        memset(p[n - 1], (int)n, n);
    }
    for (size_t n = 1; n <= 5000; n++) {
        unsigned char *b = p[n - 1];
        CHECK(b[0] == (unsigned char)n && b[n - 1] == (unsigned char)n);
        free(b);
    }
    CHECK_HEAP();
}

static void blocks_do_not_overlap(void)
{
    enum { N = 2000 };
    static unsigned char *p[N];
    static size_t len[N];
    for (int i = 0; i < N; i++) {
        len[i] = 1 + rnd() % 700;
        p[i] = malloc(len[i]);
        fill(p[i], len[i], (unsigned)i);
    }
    for (int i = 0; i < N; i += 3) {
        free(p[i]);
        len[i] = 1 + rnd() % 3000;
        p[i] = malloc(len[i]);
        fill(p[i], len[i], (unsigned)i);
    }
    for (int i = 0; i < N; i++) {
        CHECK(intact(p[i], len[i], (unsigned)i));
        free(p[i]);
    }
    CHECK_HEAP();
}

static void free_preserves_errno(void)
{
    size_t sizes[] = { 24, 4000, 100000, 200000, 5u << 20 };   /* heap, top, mapped */
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = malloc(sizes[i]);
        CHECK(p);
        errno = 1234;
        free(p);
        CHECK_EQ(errno, 1234);
    }
    /* A successful call leaves errno alone too. */
    errno = 4321;
    void *p = malloc(3u << 20);
    CHECK(p && errno == 4321);
    free(p);
}

static size_t mapped_blocks(void)
{
    struct mymalloc_heap_info info;
    mymalloc_heap_info(&info);
    return info.mapped_blocks;
}

/* Runs first: it needs the thresholds as they are at start. */
static void big_blocks_get_their_own_mapping(void)
{
    size_t before = mapped_blocks();
    void *p = malloc(1u << 20);
    CHECK(p);
    memset(p, 1, 1u << 20);
    CHECK_EQ(mapped_blocks(), before + 1);
    CHECK(malloc_usable_size(p) >= 1u << 20);
    free(p);
    CHECK_EQ(mapped_blocks(), before);
    /* Just below the threshold stays in the heap. */
    p = malloc((128u << 10) - 64);
    CHECK_EQ(mapped_blocks(), before);
    free(p);
    /* As in glibc, the threshold rose to the size of the mapped block that
     * was freed: blocks of that size now come from the heap... */
    p = malloc(1u << 20);
    CHECK_EQ(mapped_blocks(), before);
    free(p);
    /* ...bigger ones still get a mapping... */
    p = malloc(8u << 20);
    CHECK_EQ(mapped_blocks(), before + 1);
    free(p);
    /* ...and a threshold the program sets stays where it is put. */
    CHECK_EQ(mallopt(M_MMAP_THRESHOLD, 128 * 1024), 1);
    for (int i = 0; i < 2; i++) {
        p = malloc(1u << 20);
        CHECK_EQ(mapped_blocks(), before + 1);
        free(p);
    }
    CHECK_HEAP();
}

/* Above 1 KiB, a class with no free block takes one of the next two
 * classes' before fresh memory (BORROW_CLASSES in src/pages/pages.c);
 * at 1 KiB and below, never. Run first: no page of these classes yet. */
static void a_free_block_a_class_up_serves_first(void)
{
    past_young();
    void *a = malloc(1200), *keep = malloc(1200);   /* class 1280 */
    CHECK(a && keep);
    CHECK_EQ(malloc_usable_size(a), 1280);
    free(a);
    void *b = malloc(1100);                          /* class 1152: none free */
    CHECK(b == a);
    CHECK_EQ(malloc_usable_size(b), 1280);
    free(keep);                                      /* free in 1280, two classes up */
    void *d = malloc(1000);                          /* class 1024: its own */
    CHECK(d && d != keep);
    CHECK_EQ(malloc_usable_size(d), 1024);
    free(d);
    free(b);
    CHECK_HEAP();
}

int main(void)
{
    require_mymalloc();
    a_free_block_a_class_up_serves_first();
    big_blocks_get_their_own_mapping();
    impossible_sizes_fail_with_enomem();
    malloc0_is_unique_and_freeable();
    every_size_is_aligned_and_usable();
    blocks_do_not_overlap();
    free_preserves_errno();
    puts("ok");
    return 0;
}

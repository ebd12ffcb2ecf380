/* calloc: overflow first, then zeroed memory even when it is reused. */
#include "helper.h"

static void overflowing_products_fail_with_enomem(void)
{
    size_t pairs[][2] = { { SIZE_MAX, 2 }, { 2, SIZE_MAX }, { SIZE_MAX / 2 + 1, 2 },
                          { (size_t)1 << 32, (size_t)1 << 32 }, { SIZE_MAX, SIZE_MAX },
                          { (size_t)PTRDIFF_MAX, 1 } };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        errno = 0;
        CHECK(calloc(pairs[i][0], pairs[i][1]) == NULL);
        CHECK_EQ(errno, ENOMEM);
    }
}

static void zero_sizes_give_unique_pointers(void)
{
    void *a = calloc(0, 10), *b = calloc(10, 0);
    CHECK(a && b && a != b);
    free(a);
    free(b);
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void reused_memory_is_zeroed(void)
{
    enum { N = 3000 };
    static void *p[N];
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            size_t n = 1 + (size_t)(i * 37 % 2000);
            p[i] = malloc(n);
            memset(p[i], 0xAA, malloc_usable_size(p[i]));
        }
        for (int i = 0; i < N; i++)
            free(p[i]);
        for (int i = 0; i < N; i++) {
            size_t n = 1 + (size_t)(i * 37 % 2000);
            p[i] = calloc(1, n);
            CHECK(p[i] && all_zero(p[i], n));
        }
        for (int i = 0; i < N; i++)
            free(p[i]);
    }
    /* A big block, dirtied then freed, then asked for again. */
    size_t big = 3u << 20;
    unsigned char *b = malloc(big);
    memset(b, 0x55, big);
    free(b);
    b = calloc(big, 1);
    CHECK(b && all_zero(b, big));
    free(b);
    CHECK_HEAP();
}

int main(void)
{
    require_mymalloc();
    overflowing_products_fail_with_enomem();
    zero_sizes_give_unique_pointers();
    reused_memory_is_zeroed();
    puts("ok");
    return 0;
}

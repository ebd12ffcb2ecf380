/* posix_memalign, aligned_alloc, memalign, valloc, pvalloc: errors first. */
#include "helper.h"

#include <malloc.h>
#include <unistd.h>

static void posix_memalign_rejects_bad_alignments(void)
{
    size_t bad[] = { 0, 1, 2, 4, 12, 24, 48, 100, 4097, SIZE_MAX };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *p = (void *)0x1234;
        CHECK_EQ(posix_memalign(&p, bad[i], 16), EINVAL);
        CHECK(p == (void *)0x1234);     /* untouched on error */
    }
    void *p = (void *)0x1234;
    errno = 77;
    CHECK_EQ(posix_memalign(&p, 64, SIZE_MAX - 100), ENOMEM);
    CHECK(p == (void *)0x1234);
    CHECK_EQ(errno, ENOMEM);            /* as glibc and musl leave it */
}

static void impossible_sizes_fail_with_enomem(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t sizes[] = { SIZE_MAX, SIZE_MAX - page, SIZE_MAX - 2 * page + 1, (size_t)PTRDIFF_MAX };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        errno = 0;
        CHECK(memalign(64, sizes[i]) == NULL && errno == ENOMEM);
        errno = 0;
        CHECK(aligned_alloc(4096, sizes[i]) == NULL && errno == ENOMEM);
        errno = 0;
        CHECK(valloc(sizes[i]) == NULL && errno == ENOMEM);
        errno = 0;
        CHECK(pvalloc(sizes[i]) == NULL && errno == ENOMEM);
    }
    /* glibc: an alignment above SIZE_MAX / 2 + 1 is EINVAL. */
    errno = 0;
    CHECK(memalign(SIZE_MAX, 16) == NULL && errno == EINVAL);
}

static void every_power_of_two_is_honoured(void)
{
    size_t sizes[] = { 0, 1, 15, 16, 17, 100, 1000, 4096, 5000, 70000, 200000, 1u << 20 };
    for (size_t a = 1; a <= (8u << 20); a *= 2) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t n = sizes[i];
            void *p = NULL, *q, *r;
            CHECK_EQ(posix_memalign(&p, a < sizeof(void *) ? sizeof(void *) : a, n), 0);
            q = aligned_alloc(a, n);
            r = memalign(a, n);
            CHECK(p && q && r);
            CHECK_ALIGNED(p, a);
            CHECK_ALIGNED(q, a);
            CHECK_ALIGNED(r, a);
            CHECK_ALIGNED(p, 16);
            CHECK(malloc_usable_size(p) >= n && malloc_usable_size(q) >= n && malloc_usable_size(r) >= n);
            fill(p, n, 1);
            fill(q, n, 2);
            fill(r, n, 3);
            CHECK(intact(p, n, 1) && intact(q, n, 2));
            /* realloc accepts them and keeps the contents */
            r = realloc(r, n + 100);
            CHECK(r && intact(r, n, 3));
            free(p);
            free(q);
            free(r);
        }
        CHECK_HEAP();
    }
}

static void non_powers_of_two_round_up(void)
{
    /* glibc 2.36: memalign and aligned_alloc round the alignment up. */
    void *p = memalign(48, 10);
    CHECK(p);
    CHECK_ALIGNED(p, 64);
    void *q = aligned_alloc(3000, 10);
    CHECK(q);
    CHECK_ALIGNED(q, 4096);
    free(p);
    free(q);
}

static void valloc_and_pvalloc_are_page_aligned(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t n = 0; n < 3 * page; n += 777) {
        void *v = valloc(n), *pv = pvalloc(n);
        CHECK(v && pv);
        CHECK_ALIGNED(v, page);
        CHECK_ALIGNED(pv, page);
        CHECK(malloc_usable_size(v) >= n);
        CHECK(malloc_usable_size(pv) >= (n + page - 1) / page * page);   /* rounded up */
        free(v);
        free(pv);
    }
    CHECK_HEAP();
}

int main(void)
{
    require_mymalloc();
    posix_memalign_rejects_bad_alignments();
    impossible_sizes_fail_with_enomem();
    every_power_of_two_is_honoured();
    non_powers_of_two_round_up();
    valloc_and_pvalloc_are_page_aligned();
    puts("ok");
    return 0;
}

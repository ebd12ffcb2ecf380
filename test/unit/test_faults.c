/* Fault injection: sbrk, mmap, mremap and madvise fail, on the N-th call
 * or at random. Every call that cannot be served returns NULL with ENOMEM,
 * nothing live is lost or changed, the heap stays sound, and once the
 * failures stop the program allocates as before. */
#include "helper.h"

#include <malloc.h>

enum { SLOTS = 300 };
static struct { char *p; size_t n; unsigned seed; } s[SLOTS];

static void verify_all(void)
{
    for (int i = 0; i < SLOTS; i++)
        if (s[i].p && !intact(s[i].p, s[i].n, s[i].seed))
            FAIL("block %d (%p, %zu bytes) changed", i, (void *)s[i].p, s[i].n);
}

/* One random call; a failure must be clean. Returns 1 if it failed. */
static int step(int k)
{
    int i = (int)(rnd() % SLOTS);
    uint64_t r = rnd(), z = rnd();
    size_t n = z % 8 == 0 ? 100000 + (z >> 8) % 1000000 : (z >> 8) % 3000;
    char *q;
    errno = 0;
    switch (r % 5) {
    case 0:
        free(s[i].p);
        s[i].p = NULL;
        s[i].n = 0;
        return 0;
    case 1:
        q = realloc(s[i].p, n ? n : 1);
        if (!q) {
            CHECK_EQ(errno, ENOMEM);
            return 1;       /* the old block stays: verify_all checks it */
        }
        CHECK(intact(q, s[i].n < n ? s[i].n : n, s[i].seed));
        s[i].p = NULL;
        break;
    case 2:
        q = memalign((size_t)64 << (r >> 40) % 8, n);
        break;
    case 3:
        q = calloc(1, n);
        break;
    default:
        q = malloc(n);
    }
    if (!q) {
        CHECK_EQ(errno, ENOMEM);
        return 1;
    }
    free(s[i].p);
    s[i].p = q;
    s[i].n = n;
    s[i].seed = (unsigned)k;
    fill(q, n, s[i].seed);
    return 0;
}

static void release_all(void)
{
    for (int i = 0; i < SLOTS; i++) {
        free(s[i].p);
        s[i].p = NULL;
        s[i].n = 0;
    }
}

int main(void)
{
    require_mymalloc();
    CHECK_EQ(mymalloc_set_options("fail_rate=nonsense"), 1);   /* warned, default kept */

    /* Random failures of every kind, at several rates. The thresholds are
     * pinned (as a program can with mallopt): big blocks keep mappings of
     * their own, and a freed one is not kept past malloc_trim, so the heap
     * keeps asking the system, and the failures come. */
    CHECK_EQ(mallopt(M_MMAP_THRESHOLD, 128 * 1024), 1);
    int failed = 0;
    for (int rate = 20; rate <= 80; rate += 20) {
        char opts[64];
        snprintf(opts, sizeof opts, "fail_rate=%d:fail_seed=%d", rate, rate * 7);
        CHECK_EQ(mymalloc_set_options(opts), 0);
        for (int k = 0; k < 2000; k++) {
            failed += step(k);
            if (k % 500 == 0)
                verify_all();
            if (k % 50 == 0)
                malloc_trim(0);        /* so the heap must grow again; madvise may fail too */
        }
        verify_all();
        /* the failures stop: the heap is sound and serves again */
        CHECK_EQ(mymalloc_set_options("fail_rate=0"), 0);
        CHECK_HEAP();
        void *big = malloc(8u << 20), *small = malloc(100);
        CHECK(big && small);
        free(big);
        free(small);
    }
    CHECK(failed > 0);       /* some calls found no memory anywhere */

    /* Every system call fails: what the heap has serves, the rest fails. */
    release_all();
    CHECK_EQ(mymalloc_set_options("fail_rate=100"), 0);
    int got = 0;
    for (; got < SLOTS; got++) {
        errno = 0;
        if (!(s[got].p = malloc(1u << 20)))
            break;
        s[got].n = 1u << 20;
        s[got].seed = (unsigned)got;
        fill(s[got].p, s[got].n, s[got].seed);
    }
    CHECK(got < SLOTS && errno == ENOMEM);
    CHECK(malloc(100) != NULL || errno == ENOMEM);
    verify_all();
    CHECK_EQ(mymalloc_set_options("fail_rate=0"), 0);
    CHECK((s[got].p = malloc(1u << 20)) != NULL);
    CHECK_HEAP();

    /* The N-th call of one kind fails, for each N in turn. */
    const char *kinds[] = { "fail_sbrk", "fail_mmap", "fail_madvise" };
    for (int kind = 0; kind < 3; kind++) {
        for (int nth = 1; nth <= 12; nth++) {
            release_all();
            malloc_trim(0);
            char opts[64];
            snprintf(opts, sizeof opts, "%s=%d", kinds[kind], nth);
            CHECK_EQ(mymalloc_set_options(opts), 0);
            for (int k = 0; k < 600; k++)
                step(k);
            verify_all();
            CHECK_HEAP();
        }
        char off[64];
        snprintf(off, sizeof off, "%s=0", kinds[kind]);
        CHECK_EQ(mymalloc_set_options(off), 0);
    }
    release_all();
    CHECK_HEAP();
    printf("ok: %d calls failed cleanly\n", failed);
    return 0;
}

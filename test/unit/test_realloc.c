/* realloc and reallocarray: failures keep the old block; blocks grow and
 * shrink in place when they can; contents survive any sequence. */
#include "helper.h"

static void failures_leave_the_old_block_intact(void)
{
    char *p = malloc(100);
    fill(p, 100, 7);
    size_t sizes[] = { SIZE_MAX, (size_t)PTRDIFF_MAX, (size_t)1 << 46 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        errno = 0;
        CHECK(realloc(p, sizes[i]) == NULL);
        CHECK_EQ(errno, ENOMEM);
        CHECK(intact(p, 100, 7));
    }
    errno = 0;
    CHECK(reallocarray(p, SIZE_MAX / 2, 3) == NULL);
    CHECK_EQ(errno, ENOMEM);
    CHECK(intact(p, 100, 7));
    p = reallocarray(p, 50, 4);
    CHECK(p && intact(p, 100, 7));
    free(p);
    CHECK_HEAP();
}

static void null_and_zero(void)
{
    char *p = realloc(NULL, 33);
    CHECK(p && malloc_usable_size(p) >= 33);
    struct mymalloc_heap_info before, after;
    mymalloc_heap_info(&before);
    errno = 0;
    CHECK(realloc(p, 0) == NULL);      /* glibc: frees p */
    mymalloc_heap_info(&after);
    CHECK_EQ(after.live_blocks, before.live_blocks - 1);
    CHECK_HEAP();
}

static void grows_and_shrinks_in_place(void)
{
    /* A block of a page stays while it shrinks by less than half, and moves
     * to the smaller class, its bytes kept, when it shrinks by more. */
    past_young();
    char *p = malloc(5000);
    fill(p, 5000, 1);
    CHECK(realloc(p, 3000) == p && intact(p, 3000, 1));
    char *small = realloc(p, 17);
    CHECK(small && small != p && intact(small, 17, 1) && malloc_usable_size(small) == 32);
    /* Growing out of its class, it moves with an eighth more room than
     * asked, and grows in that room without moving again; up to the
     * pages' biggest class, where it stays in the pages. */
    char *grown = realloc(small, 200);
    CHECK(grown && intact(grown, 17, 1));
    CHECK(malloc_usable_size(grown) >= 200 + 200 / 8);
    for (size_t n = 200; n <= 200 + 200 / 8; n++)
        CHECK(realloc(grown, n) == grown);
    char *top = realloc(grown, 32000);
    CHECK(top && intact(top, 17, 1) && malloc_usable_size(top) == 32768);
    free(top);
    /* A block of the chain never moves when it shrinks; it keeps its room
     * while it shrinks by less than half (as a page's block does), and
     * gives the rest back when it shrinks by more. */
    p = malloc(60000);
    fill(p, 60000, 1);
    size_t room = malloc_usable_size(p);
    CHECK(realloc(p, 40000) == p && intact(p, 40000, 1));
    CHECK_EQ(malloc_usable_size(p), room);
    CHECK(realloc(p, 17) == p && intact(p, 17, 1));
    CHECK(malloc_usable_size(p) < 40000);

    /* Growing into a free neighbour (blocks too big for the thread caches,
     * which would keep b in use). */
    char *a = malloc(40000), *b = malloc(40000), *c = malloc(40000);
    CHECK(b == a + malloc_usable_size(a) + 8);
    fill(a, 40000, 2);
    free(b);
    CHECK(realloc(a, 79000) == a && intact(a, 40000, 2));

    /* Growing where it cannot (its neighbour in use), a block of the
     * chain moves with an eighth more room than asked, and grows in that
     * room without moving again: a string built a few bytes at a time is
     * not copied whole at each step. */
    char *g = malloc(40000), *pin = malloc(40000);
    fill(g, 40000, 6);
    char *moved = realloc(g, 40100);
    CHECK(moved && moved != g && intact(moved, 40000, 6));
    CHECK(malloc_usable_size(moved) >= 40100 + 40100 / 8);
    char *pin2 = malloc(40000);        /* whatever lies after it now is in use too */
    for (size_t n = 40100; n <= 40100 + 40100 / 8; n += 32)
        CHECK(realloc(moved, n) == moved);
    CHECK(intact(moved, 40000, 6));
    free(moved);
    free(pin);
    free(pin2);

    /* Growing into top, growing the heap as needed. */
    char *t = malloc(50000);
    fill(t, 50000, 3);
    CHECK(realloc(t, 90000) == t && intact(t, 50000, 3));
    CHECK(realloc(t, 400000) == t && intact(t, 50000, 3));
    free(t);
    free(a);
    free(c);
    free(p);
    CHECK_HEAP();
}

static void mapped_blocks_resize(void)
{
    size_t n = 1u << 20;
    char *p = malloc(n);
    fill(p, n, 4);
    p = realloc(p, 3 * n);
    CHECK(p && intact(p, n, 4));
    fill(p, 3 * n, 5);
    p = realloc(p, 200000);
    CHECK(p && intact(p, 200000, 5));
    p = realloc(p, 1000);             /* back into the heap */
    CHECK(p && intact(p, 1000, 5));
    p = realloc(p, 2 * n);            /* and out again */
    CHECK(p && intact(p, 1000, 5));
    free(p);
    CHECK_HEAP();
}

static void contents_survive_random_resizes(void)
{
    enum { SLOTS = 256, OPS = 30000 };
    static char *p[SLOTS];
    static size_t len[SLOTS];
    static unsigned seed[SLOTS];
    for (int op = 0; op < OPS; op++) {
        int i = (int)(rnd() % SLOTS);
        uint64_t r = rnd();
        size_t n = r % 8 == 0 ? 1 + (r >> 8) % 300000 : 1 + (r >> 8) % 2048;
        char *q = realloc(p[i], n);
        CHECK(q);
        CHECK_ALIGNED(q, 16);
        CHECK(malloc_usable_size(q) >= n);
        CHECK(intact(q, len[i] < n ? len[i] : n, seed[i]));
        p[i] = q;
        len[i] = n;
        seed[i] = (unsigned)op;
        fill(q, n, seed[i]);
        if (op % 1000 == 0)
            CHECK_HEAP();
    }
    for (int i = 0; i < SLOTS; i++) {
        CHECK(intact(p[i], len[i], seed[i]));
        free(p[i]);
    }
    CHECK_HEAP();
}

int main(void)
{
    require_mymalloc();
    failures_leave_the_old_block_intact();
    null_and_zero();
    grows_and_shrinks_in_place();
    mapped_blocks_resize();
    contents_survive_random_resizes();
    puts("ok");
    return 0;
}

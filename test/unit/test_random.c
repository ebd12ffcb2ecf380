/* Long random sequences of every call, with a shadow record of each live
 * block (size, alignment, contents), and the heap checker after each step. */
#include "helper.h"

#include <malloc.h>

enum { SLOTS = 400, STEPS = 60000, CHECK_ALL_UNTIL = 3000 };

static struct { char *p; size_t n; unsigned seed; size_t align; } s[SLOTS];

static size_t any_size(void)
{
    uint64_t r = rnd();
    switch (r % 16) {
    case 0: return 0;
    case 1: return (r >> 8) % 400000;           /* up to mapped sizes */
    case 2: case 3: return (r >> 8) % 20000;
    default: return (r >> 8) % 512;
    }
}

static void verify(int i)
{
    if (!s[i].p)
        return;
    CHECK_ALIGNED(s[i].p, s[i].align);
    CHECK(malloc_usable_size(s[i].p) >= s[i].n);
    CHECK(intact(s[i].p, s[i].n, s[i].seed));
}

int main(void)
{
    require_mymalloc();
    for (int step = 0; step < STEPS; step++) {
        int i = (int)(rnd() % SLOTS);
        verify(i);
        size_t n = any_size(), a = 16;
        char *q = NULL;
        switch (rnd() % 8) {
        case 0: case 1:
            free(s[i].p);
            s[i].p = NULL;
            s[i].n = 0;
            continue;
        case 2:
            q = calloc(1, n);
            for (size_t k = 0; q && k < n; k++)
                CHECK(q[k] == 0);
            break;
        case 3: {
            bool had = s[i].p != NULL;
            q = realloc(s[i].p, n);
            if (n == 0 && had) {       /* freed, as glibc does */
                CHECK(q == NULL);
                s[i].p = NULL;
                s[i].n = 0;
                continue;
            }
            CHECK(q && intact(q, s[i].n < n ? s[i].n : n, s[i].seed));
            s[i].p = NULL;
            break;
        }
        case 4:
            a = (size_t)32 << rnd() % 12;       /* 32 .. 64 KiB */
            CHECK_EQ(posix_memalign((void **)&q, a, n), 0);
            break;
        case 5:
            a = (size_t)16 << rnd() % 9;
            q = aligned_alloc(a, n);
            break;
        default:
            q = malloc(n);
        }
        CHECK(q);
        free(s[i].p);
        s[i].p = q;
        s[i].n = n;
        s[i].align = a;
        s[i].seed = (unsigned)step;
        fill(q, n, s[i].seed);
        if (step < CHECK_ALL_UNTIL || step % 200 == 0)
            CHECK_HEAP();
        if (step % 10000 == 0)
            malloc_trim(rnd() % 100000);
    }
    for (int i = 0; i < SLOTS; i++) {
        verify(i);
        free(s[i].p);
    }
    CHECK_HEAP();
    struct mymalloc_heap_info info;
    mymalloc_heap_info(&info);
    CHECK(info.live_blocks < 50);   /* only what stdio and the loader hold */
    puts("ok");
    return 0;
}

/* Someone else moves the break: the heap must notice, never hand out that
 * memory, and carry on. And when the break cannot grow at all (a mapping
 * right above it), the heap continues in mmapped segments. */
#include "helper.h"

#include <sys/mman.h>
#include <unistd.h>

enum { N = 3000 };
static char *p[N];

static void check_no_overlap(const char *lo, const char *hi)
{
    for (int i = 0; i < N; i++)
        if (p[i] && p[i] + malloc_usable_size(p[i]) > lo && p[i] < hi)
            FAIL("block %p overlaps foreign memory [%p, %p)", (void *)p[i], (const void *)lo,
                 (const void *)hi);
}

static void foreign_sbrk_between_allocations(void)
{
    for (int i = 0; i < N / 2; i++)
        p[i] = malloc(100 + (size_t)i % 900);
    /* The program grows the break itself, and uses the memory. */
    size_t len = 3 * 4096 + 123;
    char *mine = sbrk((intptr_t)len);
    CHECK(mine != (void *)-1);
    memset(mine, 0x5A, len);
    /* Enough allocation to need more heap. */
    for (int i = N / 2; i < N; i++)
        p[i] = malloc(1000 + (size_t)i % 3000);
    check_no_overlap(mine, mine + len);
    struct mymalloc_heap_info info;
    mymalloc_heap_info(&info);
    CHECK(info.foreign_brk >= 1);
    CHECK(info.segments >= 2);
    CHECK_HEAP();
    for (int i = 0; i < N; i++) {
        free(p[i]);
        p[i] = NULL;
    }
    malloc_trim(0);
    for (size_t i = 0; i < len; i++)
        CHECK(mine[i] == 0x5A);   /* freeing and trimming left it alone */
    CHECK_HEAP();
}

static void mapping_above_the_break(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *brk = sbrk(0);
    char *wall = (char *)(((uintptr_t)brk + page - 1) & ~(uintptr_t)(page - 1));
    void *m = mmap(wall, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(m == wall);
    CHECK(sbrk(1 << 20) == (void *)-1);       /* the break is stuck */
    struct mymalloc_heap_info before, after;
    mymalloc_heap_info(&before);
    for (int i = 0; i < N; i++) {
        p[i] = malloc(4000);
        CHECK(p[i]);
        fill(p[i], 4000, (unsigned)i);
    }
    mymalloc_heap_info(&after);
    CHECK(after.segments > before.segments);
    check_no_overlap(wall, wall + page);
    for (int i = 0; i < N; i++)
        CHECK(intact(p[i], 4000, (unsigned)i));
    CHECK_HEAP();
    for (int i = 0; i < N; i++)
        free(p[i]);
    munmap(m, page);
    CHECK_HEAP();
}

int main(void)
{
    require_mymalloc();
    foreign_sbrk_between_allocations();
    mapping_above_the_break();
    puts("ok");
    return 0;
}

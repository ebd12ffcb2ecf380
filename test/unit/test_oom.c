/* Out of memory: every allocating call returns NULL with ENOMEM, nothing
 * live is lost, and once memory is available again the program goes on. */
#include "helper.h"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

enum { MAX = 1 << 16 };
static char *blocks[MAX];

static size_t address_space(void)
{
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f && fscanf(f, "%ld", &pages) == 1);
    fclose(f);
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

int main(void)
{
    require_mymalloc();
    char *keep = malloc(3000);
    fill(keep, 3000, 9);
    struct rlimit old;
    CHECK(getrlimit(RLIMIT_AS, &old) == 0);
    struct rlimit low = { address_space() + (48u << 20), old.rlim_max };
    CHECK(setrlimit(RLIMIT_AS, &low) == 0);

    int n = 0;
    errno = 0;
    while (n < MAX && (blocks[n] = malloc(4000)) != NULL) {
        fill(blocks[n], 64, (unsigned)n);
        n++;
    }
    CHECK(n < MAX);                 /* the limit was reached */
    CHECK_EQ(errno, ENOMEM);
    CHECK(n > 1000);                /* after a good deal was handed out */

    /* Every allocating call fails cleanly. */
    errno = 0;
    CHECK(malloc(1u << 20) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(calloc(1000, 1000) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(memalign(4096, 1u << 20) == NULL && errno == ENOMEM);
    void *p = (void *)1;
    CHECK_EQ(posix_memalign(&p, 64, 1u << 20), ENOMEM);
    CHECK(p == (void *)1);
    errno = 0;
    CHECK(realloc(keep, 1u << 20) == NULL && errno == ENOMEM);
    CHECK(intact(keep, 3000, 9));   /* the old block is untouched */

    /* Nothing live was lost. */
    for (int i = 0; i < n; i++)
        CHECK(intact(blocks[i], 64, (unsigned)i));

    /* Memory comes back: the program goes on. */
    CHECK(setrlimit(RLIMIT_AS, &old) == 0);
    CHECK_HEAP();
    char *big = malloc(64u << 20);
    CHECK(big);
    memset(big, 1, 64u << 20);
    keep = realloc(keep, 1u << 20);
    CHECK(keep && intact(keep, 3000, 9));
    for (int i = 0; i < n; i++)
        free(blocks[i]);
    free(big);
    free(keep);
    CHECK_HEAP();
    puts("ok");
    return 0;
}

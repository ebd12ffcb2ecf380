/* Out of memory under a low RLIMIT_AS, then under a low RLIMIT_DATA (which
 * limits both the break and private mappings): every allocating call
 * returns NULL with ENOMEM, nothing live is lost, and once memory is
 * available again the program goes on. */
#include "helper.h"

#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX = 1 << 16 };
static char *blocks[MAX];

/* What the limit counts now, in bytes (VmSize or VmData). */
static size_t in_use(const char *field)
{
    char line[256];
    size_t kib = 0, len = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, len))
            kib = strtoull(line + len + 1, NULL, 10);
    fclose(f);
    CHECK(kib > 0);
    return kib << 10;
}

static void exhaust(int resource, const char *field)
{
    char *keep = malloc(3000);
    fill(keep, 3000, 9);
    struct rlimit old;
    CHECK(getrlimit(resource, &old) == 0);
    struct rlimit low = { in_use(field) + (48u << 20), old.rlim_max };
    CHECK(setrlimit(resource, &low) == 0);

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
    /* posix_memalign returns the error and, as glibc's and musl's, sets
     * errno too: small, page and larger alignments, small and big blocks
     * (bigger than 4000 bytes: malloc rounds 4000 up to its size class, so
     * a free chunk that holds exactly 4000 bytes at some alignment may be
     * left, and memalign rightly takes it) */
    void *p = (void *)1;
    size_t aligns[] = { 8, 64, 4096, 65536 }, sizes[] = { 16000, 1u << 20 };
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 2; j++) {
            errno = 0;
            CHECK_EQ(posix_memalign(&p, aligns[i], sizes[j]), ENOMEM);
            CHECK_EQ(errno, ENOMEM);
        }
    CHECK(p == (void *)1);
    errno = 0;
    CHECK(realloc(keep, 1u << 20) == NULL && errno == ENOMEM);
    CHECK(intact(keep, 3000, 9));   /* the old block is untouched */

    /* Nothing live was lost. */
    for (int i = 0; i < n; i++)
        CHECK(intact(blocks[i], 64, (unsigned)i));

    /* Memory comes back: the program goes on. */
    CHECK(setrlimit(resource, &old) == 0);
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
}

/* Each limit in a child of its own, so they do not meet. */
static void in_child(int resource, const char *field)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        exhaust(resource, field);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        FAIL("the %s run failed (status 0x%x)", field, status);
}

int main(void)
{
    require_mymalloc();
    in_child(RLIMIT_AS, "VmSize:");
    in_child(RLIMIT_DATA, "VmData:");
    puts("ok");
    return 0;
}

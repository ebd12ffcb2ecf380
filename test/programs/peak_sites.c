/* peak_sites: a heap whose peak is known by call site. At the peak:
 *   make_table   300,000 bytes (one block, freed right after)
 *   make_strings 100,000 bytes (100 blocks of 1,000)
 *   make_cache   100,000 bytes (50 blocks of 2,000 left of 100)
 *   grow_buffer   20,000 bytes (one block grown by realloc from 10)
 * 520,000 bytes in all; after it, make_after's 250,000 bytes never bring
 * the heap back so high (470,000). At exit 470,000 bytes are live (and
 * stdout's buffer).
 * With "signal", it raises SIGUSR2 after the peak and renames the profile
 * written then (its path in PEAK_SITES_PROFILE) to PATH.signal; with
 * "fork", a child allocates 400,000 bytes in child_block (its own peak,
 * 620,000 with what it inherited) and exits. With "many", it first makes
 * 20,000 blocks of 1,000 bytes in many_small and 50,000 of 100 in
 * many_tiny, kept to the end (for profile_sample's estimates: the peak is
 * then 25,520,000 bytes). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *keep[256];
static int kept;

__attribute__((noinline)) static void make_strings(void)
{
    for (int i = 0; i < 100; i++)
        memset(keep[kept++] = malloc(1000), 's', 1000);
}

__attribute__((noinline)) static void make_cache(void)
{
    void *c[100];
    for (int i = 0; i < 100; i++)
        memset(c[i] = malloc(2000), 'c', 2000);
    for (int i = 0; i < 100; i += 2)
        free(c[i]);
    for (int i = 1; i < 100; i += 2)
        keep[kept++] = c[i];
}

__attribute__((noinline)) static char *grow_buffer(void)
{
    char *b = malloc(10);
    for (size_t n = 1000; n <= 20000; n += 1000)
        b = realloc(b, n);
    memset(b, 'g', 20000);
    return b;
}

__attribute__((noinline)) static char *make_table(void)
{
    char *t = malloc(300000);
    memset(t, 't', 300000);
    return t;
}

__attribute__((noinline)) static char *make_after(void)
{
    char *a = malloc(250000);
    memset(a, 'a', 250000);
    return a;
}

__attribute__((noinline)) static void *many_small(void) { return malloc(1000); }
__attribute__((noinline)) static void *many_tiny(void) { return malloc(100); }

__attribute__((noinline)) static void child_block(void)
{
    char *volatile p = malloc(400000);
    p[0] = 1;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "many")) {
        for (int i = 0; i < 20000; i++)
            memset(many_small(), 'm', 1000);
        for (int i = 0; i < 50000; i++)
            memset(many_tiny(), 'y', 100);
    }
    make_strings();
    make_cache();
    char *b = grow_buffer();
    char *t = make_table();
    free(t);
    if (!strcmp(mode, "signal")) {
        raise(SIGUSR2);
        const char *path = getenv("PEAK_SITES_PROFILE");
        char to[4096];
        if (path && snprintf(to, sizeof to, "%s.signal", path) < (int)sizeof to)
            rename(path, to);
    }
    if (!strcmp(mode, "fork")) {
        pid_t pid = fork();
        if (pid == 0) {
            child_block();
            exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    char *a = make_after();
    printf("done %d %d %d\n", b[0], a[0], kept);
    return 0;
}

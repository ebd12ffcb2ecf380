/* leaky: known leaks for leaks=1.
 *   make_buffer leaks 2 blocks of 1000 bytes; parse_name leaks 1 block of
 *   300 bytes; keep_global's 64-byte block stays reachable from a global;
 *   tidy's blocks are all freed. 2,300 bytes lost in 3 blocks from 2 sites. */
#include <stdlib.h>
#include <string.h>

static char *global_ref;

__attribute__((noinline)) static char *make_buffer(void)
{
    char *p = malloc(1000);
    memset(p, 'b', 1000);
    return p;
}

__attribute__((noinline)) static void parse_name(const char *s)
{
    char *copy = malloc(300);
    strncpy(copy, s, 299);
    copy[299] = '\0';
}

__attribute__((noinline)) static void keep_global(void)
{
    global_ref = malloc(64);
    memset(global_ref, 'g', 64);
}

__attribute__((noinline)) static void tidy(void)
{
    for (int i = 0; i < 100; i++)
        free(malloc(50 + (size_t)i));
}

int main(void)
{
    char *a = NULL;
    for (int i = 0; i < 2; i++)
        a = make_buffer();    /* the first buffer is lost here */
    a[0] = 'x';
    a = NULL;                 /* and the second here */
    parse_name("mymalloc");
    keep_global();
    tidy();
    return 0;
}

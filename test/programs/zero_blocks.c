/* zero_blocks: blocks of 0 bytes, as LLVM makes for an instruction with no
 * operands, held to the end: malloc(0) by a global, calloc(0, 8) and
 * aligned_alloc(64, 0) by a 16-byte block the global `holder` points to;
 * with "lose", one more malloc(0) whose pointer is dropped. memcheck: held,
 * 16 bytes still reachable in 4 blocks; lost, 0 bytes definitely lost in 1
 * block. */
#include <stdlib.h>
#include <string.h>

static void *held_by_global;
static void **holder;

__attribute__((noinline)) static void lose(void)
{
    void *volatile p = malloc(0);
    (void)p;
}

int main(int argc, char **argv)
{
    held_by_global = malloc(0);
    holder = malloc(2 * sizeof *holder);
    holder[0] = calloc(0, 8);
    holder[1] = aligned_alloc(64, 0);
    if (argc > 1 && !strcmp(argv[1], "lose"))
        lose();
    /* wipe what the calls above left in this stack's unused part */
    volatile char wipe[4096];
    memset((char *)wipe, 0, sizeof wipe);
    return 0;
}

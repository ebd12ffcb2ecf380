/* own_segv: a fault that is not the allocator's business. The program's
 * own SIGSEGV handler catches a write to an address it made inaccessible
 * itself, says so and exits 3; with "plain", it has no handler, and a
 * NULL write kills it. A few blocks are allocated first (with guard=1,
 * they are guarded, and the library's handler is installed). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void handler(int sig)
{
    (void)sig;
    static const char msg[] = "own handler\n";
    write(1, msg, sizeof msg - 1);
    _exit(3);
}

int main(int argc, char **argv)
{
    for (int i = 0; i < 10; i++)
        free(malloc(100));
    char *keep = malloc(100);
    keep[0] = 1;
    if (argc > 1 && !strcmp(argv[1], "plain")) {
        volatile char *null = NULL;
        *null = 1;
        return 0;
    }
    signal(SIGSEGV, handler);
    char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    page[10] = 1;
    puts("not reached");
    return 0;
}

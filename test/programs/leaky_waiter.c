/* leaky_waiter: a thread still running at exit holds a block, for leaks=1.
 *   The worker allocates 700 bytes in hold_in_thread, keeps the only
 *   pointer to it in a local variable, tells main, and waits forever. main
 *   then loses 200 bytes in lose_in_main and returns: at exit the worker's
 *   block is still reachable (its stack is a root), main's is lost.
 *   200 bytes lost in 1 block from 1 site. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ready[2], never[2];

__attribute__((noinline)) static void hold_in_thread(void)
{
    char *volatile held = malloc(700);
    memset(held, 'h', 700);
    char c = 1;
    if (write(ready[1], &c, 1) != 1)
        abort();
    (void)!read(never[0], &c, 1);   /* blocks until the process exits */
    free(held);
}

static void *worker(void *arg)
{
    (void)arg;
    hold_in_thread();
    return NULL;
}

__attribute__((noinline)) static void lose_in_main(void)
{
    memset(malloc(200), 'm', 200);
}

int main(void)
{
    pthread_t t;
    char c;
    if (pipe(ready) || pipe(never) || pthread_create(&t, NULL, worker, NULL) ||
        read(ready[0], &c, 1) != 1)
        return 1;
    lose_in_main();
    return 0;
}

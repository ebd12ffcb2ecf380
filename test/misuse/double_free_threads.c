/* Two threads free the same block, one after the other, while the thread
 * that allocated it (main) waits: the block waits for its owner to take
 * it back, and the second free must not be let through meanwhile. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
static char *p;
static void *drop(void *arg)
{
    (void)arg;
    free(p);
    return NULL;
}
static void in_thread(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, drop, NULL) != 0 || pthread_join(t, NULL) != 0)
        exit(2);
}
int main(void)
{
    p = malloc(40);
    char *guard = malloc(40);
    printf("%p\n", (void *)p);
    fflush(stdout);
    in_thread();
    in_thread();
    free(guard);
    return 0;
}

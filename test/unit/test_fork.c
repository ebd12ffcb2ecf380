/* fork while other threads allocate: the child gets a sound heap it can
 * use. Some of the threads also use stdio, whose list lock glibc's fork
 * takes after the fork handlers run: the order of locks must not let that
 * deadlock. */
#include "helper.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_bool stop;

static void *allocator(void *arg)
{
    uint64_t s = (uintptr_t)arg;
    void *keep[128] = { 0 };
    while (!atomic_load(&stop)) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int i = (int)((s >> 33) % 128);
        free(keep[i]);
        keep[i] = malloc((s >> 40) % 5000);
        if (s % 97 == 0) {
            free(keep[i]);
            keep[i] = malloc(200000);
        }
    }
    for (int i = 0; i < 128; i++)
        free(keep[i]);
    return NULL;
}

/* getline holds a FILE lock while it calls malloc; fflush(NULL) holds the
 * stdio list lock while it waits for FILE locks. */
static void *stdio_user(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        FILE *f = fopen("/proc/self/maps", "r");
        char *line = NULL;
        size_t cap = 0;
        while (f && getline(&line, &cap, f) > 0) {
            free(line);
            line = NULL;
            cap = 0;
        }
        free(line);
        if (f)
            fclose(f);
    }
    return NULL;
}

static void *flusher(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop))
        fflush(NULL);
    return NULL;
}

int main(void)
{
    require_mymalloc();
    alarm(240);     /* a deadlock fails the test instead of hanging it */
    pthread_t t[5];
    for (long i = 0; i < 3; i++)
        CHECK(pthread_create(&t[i], NULL, allocator, (void *)(i + 1)) == 0);
    CHECK(pthread_create(&t[3], NULL, stdio_user, NULL) == 0);
    CHECK(pthread_create(&t[4], NULL, flusher, NULL) == 0);

    for (int k = 0; k < 300; k++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            /* The child: one thread, a heap in a consistent state. */
            void *p[100];
            for (int i = 0; i < 100; i++)
                p[i] = malloc((size_t)i * 50);
            for (int i = 0; i < 100; i++)
                free(p[i]);
            char *s = strdup("child");
            free(s);
            _exit(k % 30 == 0 ? mymalloc_check_heap() != 0 : 0);
        }
        int status;
        CHECK(waitpid(pid, &status, 0) == pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            FAIL("child %d failed: status 0x%x", k, status);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 5; i++)
        pthread_join(t[i], NULL);
    CHECK_HEAP();
    puts("ok");
    return 0;
}

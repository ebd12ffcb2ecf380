/* held: blocks that only look leaky. Each is still held at exit, by a
 * place the leak scan must treat as a root; none may be reported lost or
 * possibly lost (valgrind's memcheck and LeakSanitizer agree):
 *   hold_in_tls        200 bytes held only by a __thread variable;
 *   hold_in_mapping    300 bytes held only by memory the program mapped
 *                      itself (as pymalloc's arenas hold python's blocks);
 *   hold_in_key        400 bytes held only by a pthread_setspecific value
 *                      of a thread still running at exit;
 *   hold_in_big_thread 40,000 bytes held only by the stack of a thread
 *                      whose own allocations are all too big for a cache,
 *                      still running at exit;
 *   hold_array         500 bytes held by a pointer 8 bytes in, past a
 *                      count (as C++ new[] hands out);
 *   hold_aligned       600 bytes aligned by hand, held by the aligned
 *                      pointer, the malloc'ed one kept just before it;
 * and glibc's own: the message of a failed dlopen and dlsym (dlerror's
 * state). The program prints "ready" once every thread holds its block. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static __thread char *tls_ref;
static char **mapped_ref;
static pthread_key_t key;
static uint64_t *array_ref;
static char *aligned_ref;
static pthread_barrier_t ready;

__attribute__((noinline)) static void hold_in_tls(void)
{
    tls_ref = malloc(200);
    memset(tls_ref, 't', 200);
}

__attribute__((noinline)) static void hold_in_mapping(void)
{
    mapped_ref = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mapped_ref[7] = malloc(300);
}

__attribute__((noinline)) static void hold_in_key(void)
{
    pthread_setspecific(key, malloc(400));
}

__attribute__((noinline)) static char *hold_in_big_thread(void)
{
    return malloc(40000);
}

static void *keeper(void *arg)
{
    (void)arg;
    hold_in_key();
    pthread_barrier_wait(&ready);
    for (;;)
        pause();
}

static void *big_keeper(void *arg)
{
    (void)arg;
    char *volatile held = hold_in_big_thread();
    pthread_barrier_wait(&ready);
    for (;;)
        pause();
    return held;
}

__attribute__((noinline)) static void hold_array(void)
{
    uint64_t *raw = malloc(500);
    raw[0] = 61;                  /* the count */
    array_ref = raw + 1;
}

__attribute__((noinline)) static void hold_aligned(void)
{
    char *raw = malloc(600);
    char *aligned = (char *)(((uintptr_t)raw + 8 + 63) & ~(uintptr_t)63);
    ((char **)aligned)[-1] = raw;
    aligned_ref = aligned;
}

int main(void)
{
    hold_in_tls();
    hold_in_mapping();
    hold_array();
    hold_aligned();
    if (dlopen("/nonexistent/libnothing.so", RTLD_NOW) || dlsym(RTLD_DEFAULT, "no_such_symbol_here"))
        return 1;
    pthread_key_create(&key, NULL);
    pthread_barrier_init(&ready, NULL, 3);
    pthread_t t1, t2;
    pthread_create(&t1, NULL, keeper, NULL);
    pthread_create(&t2, NULL, big_keeper, NULL);
    pthread_barrier_wait(&ready);
    puts("ready");
    return 0;
}

/* attack.h -- what every attack program does first, and how it says that
 * an attack worked.
 *
 * Each program in this folder tries one way of taking over or breaking the
 * heap with stray reads and writes of the kind real heap bugs give. First
 * it proves that it runs under mymalloc (the library's own API is there):
 * an attack that "fails" under another malloc proves nothing. Then it
 * prints the pointer the report will name, and attacks. When the attack
 * works, it says so on stdout and exits with status 1; when the library
 * sees it, the library's one-line report and abort() end the program
 * (status 134), which is what test/bats/attacks_chain.bats expects. */
#ifndef ATTACK_H
#define ATTACK_H

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../include/mymalloc.h"

/* stdout gets a buffer of its own, so that printing allocates nothing
 * between the attack's own allocations. */
static char attack_out[4096];

static void under_mymalloc(void)
{
    setvbuf(stdout, attack_out, _IOLBF, sizeof attack_out);
    if (!dlsym(RTLD_DEFAULT, "mymalloc_version")) {
        printf("not running under mymalloc: preload the library\n");
        exit(3);
    }
}

/* The pointer the library's report must name. */
static void say(const void *p)
{
    printf("%p\n", p);
    fflush(stdout);
}

#define SUCCEEDED(...)                          \
    do {                                        \
        printf("ATTACK SUCCEEDED: " __VA_ARGS__); \
        printf("\n");                           \
        fflush(stdout);                         \
        exit(1);                                \
    } while (0)

/* The heap's own summary (mymalloc_heap_info, looked up: the programs are
 * not linked with the library), which walks the chain and stops at a
 * header it does not accept. */
static __attribute__((unused)) void heap_info(struct mymalloc_heap_info *h)
{
    void (*info)(struct mymalloc_heap_info *) =
        (void (*)(struct mymalloc_heap_info *))dlsym(RTLD_DEFAULT, "mymalloc_heap_info");
    info(h);
}

/* The word at p + off bytes. */
#define WORD(p, off) (*(volatile uint64_t *)((char *)(p) + (off)))

#endif

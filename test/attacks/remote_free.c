/* A block freed a second time by another thread, where its first word
 * cannot tell? A thread's free into another thread's page checks that the
 * pointer is a block's start and that the block's first word is no link of
 * the page (a free block holds one), but not the block's bit, which lives
 * on a cache line its owner writes at every malloc. Two ways past the
 * first word:
 *
 *   written  main frees a block, writes over its first word (the link),
 *            and another thread frees the block again
 *   unused   another thread frees a block of main's page that malloc never
 *            handed out
 *
 * Then main mallocs blocks of that size, keeping them all: when two of them
 * are the same block, the attack worked. The library must name the block
 * when main takes the other thread's frees back, before it hands out any
 * of them. */
#include "attack.h"

#include <pthread.h>
#include <string.h>

#define SIZE 768        /* a class nothing else here uses: a fresh page of its own */
#define MALLOCS 500

static char *victim;

static void *drop(void *arg)
{
    (void)arg;
    free(victim);
    return NULL;
}

int main(int argc, char **argv)
{
    under_mymalloc();
    const char *mode = argc > 1 ? argv[1] : "written";
    char *p = malloc(SIZE), *keep = malloc(SIZE);
    if (!strcmp(mode, "written")) {
        victim = p;
        say(victim);
        free(p);
        WORD(p, 0) = 0;
    } else {
        victim = keep + 40 * SIZE;   /* block 41 of the page: laid out later, if ever */
        say(victim);
    }
    pthread_t t;
    if (pthread_create(&t, NULL, drop, NULL) != 0 || pthread_join(t, NULL) != 0)
        return 2;
    static char *got[MALLOCS];
    for (int i = 0; i < MALLOCS; i++) {
        got[i] = malloc(SIZE);
        for (int j = 0; j < i; j++)
            if (got[j] == got[i])
                SUCCEEDED("malloc returned %p twice", (void *)got[i]);
    }
    printf("no block came out twice\n");
    return 0;
}

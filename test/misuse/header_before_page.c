/* Writes over the 8 bytes before the first block of a page, once the block
 * is freed: they are the header of the page's chunk in the chain. Then frees
 * the rest of the page, which goes back to the chain (its thread keeps
 * KEEP empty pages, and this is the one after them): free finds the header
 * wrong before it trusts the size written there. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { KEEP = 16, PAGES = KEEP + 3, N = 100000, SIZE = 40, CLASS = 48 };
static char *b[N];

int main(void)
{
    /* Blocks of one class come out of a page one after the other: a jump
     * starts a new page. Pages 0 to KEEP + 1 below are wholly this
     * program's; page KEEP + 2 is the one malloc takes from. */
    int start[PAGES], pages = 0, n = 0;
    while (n < N && pages < PAGES) {
        b[n] = malloc(SIZE);
        if (n && b[n] != b[n - 1] + CLASS)
            start[pages++] = n;
        n++;
    }
    if (pages < PAGES)
        return 1;
    printf("%p\n", (void *)b[start[KEEP]]);   /* stdout's buffer taken before the frees */
    fflush(stdout);
    for (int pg = 0; pg <= KEEP; pg++) {
        char *first = b[start[pg]];
        free(first);
        if (pg == KEEP)
            ((uint64_t *)first)[-1] = 0x4141414141414141;
        for (int i = start[pg] + 1; i < start[pg + 1]; i++)
            free(b[i]);
    }
    return 0;
}

/* Writes over the 8 bytes before the first block of a page, once the block
 * is freed: they are the header of the page's chunk in the chain. Then frees
 * the rest of the page, which goes back to the chain (its thread keeps four
 * empty pages, and this is the fifth): free finds the header wrong before
 * it trusts the size written there. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 20000, SIZE = 40, CLASS = 48 };
static char *b[N];

int main(void)
{
    /* Blocks of one class come out of a page one after the other: a jump
     * starts a new page. Pages 0 to 5 below are wholly this program's. */
    int start[7], pages = 0, n = 0;
    while (n < N && pages < 7) {
        b[n] = malloc(SIZE);
        if (n && b[n] != b[n - 1] + CLASS)
            start[pages++] = n;
        n++;
    }
    if (pages < 7)
        return 1;
    printf("%p\n", (void *)b[start[4]]);   /* stdout's buffer taken before the frees */
    fflush(stdout);
    for (int pg = 0; pg < 5; pg++) {
        char *first = b[start[pg]];
        free(first);
        if (pg == 4)
            ((uint64_t *)first)[-1] = 0x4141414141414141;
        for (int i = start[pg] + 1; i < start[pg + 1]; i++)
            free(b[i]);
    }
    return 0;
}

/* A header left behind by a merge into top that also trimmed the heap: p2
 * merges with the free p1 and into top, the break goes down (the program
 * set the thresholds, so at once) to between p2's header and its end. A
 * second free of p2 then finds a header that still looks in use, and the
 * header after it lies past the break. (Run with leaks=1: the toolkit's
 * free checks a block without the lock first.) */
#include "attack.h"

#include <malloc.h>

int main(void)
{
    under_mymalloc();
    mallopt(M_TRIM_THRESHOLD, 64 << 10);
    mallopt(M_TOP_PAD, 48 << 10);
    char *p1 = malloc(40000), *p2 = malloc(40000);
    say(p2);
    free(p1);
    free(p2);
    free(p2);
    SUCCEEDED("a second free of a merged block was accepted");
}

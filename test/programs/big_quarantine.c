/* big_quarantine: a correct program. A block of 300,000 bytes (a mapping
 * of its own) is freed, another one is grown by realloc (moved), and then
 * thousands of small blocks come and go: with check=2 the heap checker
 * walks the quarantine that holds the big blocks, and must find nothing. */
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *p = malloc(300000);
    memset(p, 1, 300000);
    free(p);
    char *q = malloc(200000);
    q = realloc(q, 400000);
    memset(q, 2, 400000);
    for (int i = 0; i < 5000; i++)
        free(malloc(32));
    free(q);
    return 0;
}

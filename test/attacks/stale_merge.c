/* A header left behind by a merge (run with leaks=1: blocks of 20,000
 * bytes then go through the thread cache, which keeps one of that size).
 * p2 leaves the cache for the heap next to the free p1 and merges into it;
 * its header stays, intact, inside the merged chunk. That chunk is handed
 * out whole (q), and p2 is freed a second time: its stale header says in
 * use, the header after it says its previous chunk is in use (q is), so it
 * goes into the cache, and the next malloc hands it out from inside q. */
#include "attack.h"

int main(void)
{
    under_mymalloc();
    char *p1 = malloc(20000), *p2 = malloc(20000), *p3 = malloc(20000), *p4 = malloc(20000);
    (void)p4;
    size_t chunk = WORD(p1, -8) & 0xfff0;
    if (p2 != p1 + chunk || p3 != p2 + chunk) {
        printf("p1, p2 and p3 are not neighbours\n");
        return 2;
    }
    say(p2);
    free(p1);                          /* into the cache */
    free(p2);                          /* the cache is full: p1 goes to the heap */
    free(p3);                          /* p2 goes to the heap, and merges into p1's chunk */
    char *q = malloc(2 * chunk - 8 - 16);   /* that chunk, whole (16: leaks=1's record) */
    free(p2);
    char *r = malloc(20000);
    if (q <= r && r < q + 2 * chunk - 24)
        SUCCEEDED("the new block %p lies inside the live block %p", (void *)r, (void *)q);
    printf("no overlap: %p %p\n", (void *)q, (void *)r);
    return 0;
}

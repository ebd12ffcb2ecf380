/* holes: does the cost of malloc depend on how many free chunks there are?
 *
 *   holes N [PAIRS]
 *
 * Leaves N free 48-byte holes in the heap, each between two live blocks so
 * they cannot merge, then times PAIRS malloc(200)/free pairs, a size no
 * hole fits. An allocator that walks its free chunks slows down with N; one
 * with size-class bins does not. Prints nanoseconds per pair. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    long holes = argc > 1 ? atol(argv[1]) : 1000000;
    long pairs = argc > 2 ? atol(argv[2]) : 5000000;
    void **keep = malloc(sizeof(void *) * (size_t)(2 * holes + 1));
    if (!keep)
        return 1;
    for (long i = 0; i < 2 * holes + 1; i++)
        keep[i] = malloc(48);
    for (long i = 1; i < 2 * holes + 1; i += 2)
        free(keep[i]);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < pairs; i++) {
        void *volatile p = malloc(200);
        free(p);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)pairs;
    printf("%ld holes: %.1f ns per malloc/free pair\n", holes, ns);
    return 0;
}

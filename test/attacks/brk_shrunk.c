/* The break lowered by the program itself (sbrk with a negative
 * increment, as old code does), by less than the free space at the heap's
 * end: then, with the argument
 *   malloc  a small block (run with leaks=1, so that it comes from the
 *           chain's top)
 *   free    a block over 32 KiB, next to top, freed into it
 * Either writes a header past the new break. */
#include "attack.h"

#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    under_mymalloc();
    const char *mode = argc > 1 ? argv[1] : "malloc";
    char *p = malloc(!strcmp(mode, "free") ? 40000 : 100);
    char *end = sbrk(0);
    say(end - 16384);
    if (sbrk(-16384) == (void *)-1)
        return 2;
    if (!strcmp(mode, "free"))
        free(p);
    else
        p = malloc(200);
    SUCCEEDED("%s went on with the break below the heap's end", mode);
}

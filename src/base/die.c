/* die.c -- what the allocator does with a bug in the program it serves:
 * one line that names the function, the pointer and the problem, then
 * abort, before the heap is corrupted any further. */
#include "base.h"

#include <stdlib.h>

void mm_die(const char *fn, const char *fmt, ...)
{
    char prefix[64];
    mm_fmt(prefix, sizeof prefix, "mymalloc: %s(): ", fn);
    va_list ap;
    va_start(ap, fmt);
    mm_vline(prefix, fmt, ap);
    va_end(ap);
    /* The lock stays held: a SIGABRT handler that allocates is served from
     * the reserve, away from a heap that may be corrupt. */
    abort();
}

void mm_die_quietly(void)
{
    abort();
}

/* step1_break.c -- Step 1: where the heap starts.
 *
 * A process's memory has a region for the program's code, one for its
 * global variables, and right after them (at a random distance, for
 * security) the heap. The end of the heap is called the program break.
 * The kernel maps memory up to the break, and nothing beyond it.
 *
 * sbrk(n) moves the break by n bytes and returns where it was before, so
 * sbrk(0) moves nothing and just says where the break is. That address is
 * the starting point of every allocator in this walk.
 *
 * Run it twice: the address changes from run to run (address space layout
 * randomization), but it always ends in three zeros: the break starts on a
 * page boundary (pages are 4096 bytes, 0x1000).
 */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    /* Read the break before printing: printf may allocate its buffer with
     * glibc's malloc, which would move the break. */
    void *start = sbrk(0);
    printf("Starting break is %p\n", start);
    return 0;
}

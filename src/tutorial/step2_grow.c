/* step2_grow.c -- Step 2, part 2: moving the break makes memory.
 *
 * Over part 1: we move the break first. sbrk(1) grows the heap by one byte
 * and returns the old break, which is the address of the new byte. Now the
 * store that faulted in step2_fault works.
 *
 * This is already an allocator: "give me n bytes" is sbrk(n). Step 3 wraps
 * it in a function.
 *
 * (The kernel maps whole pages, so the rest of the page after the new byte
 * would not fault either; but only the byte below the break is ours: the
 * next sbrk will hand the following bytes out again.)
 */
#include <stdio.h>
#include <unistd.h>

static char out_buf[4096];   /* so printf never calls malloc (see step2_fault.c) */

int main(void)
{
    setvbuf(stdout, out_buf, _IOLBF, sizeof out_buf);
    printf("Break is %p\n", sbrk(0));

    char *byte = sbrk(1);       /* the old break: our new byte */
    if (byte == (void *)-1) {
        perror("sbrk");
        return 1;
    }
    *byte = 'A';
    printf("Stored '%c' at %p\n", *byte, (void *)byte);
    printf("New break is %p\n", sbrk(0));
    return 0;
}

/* overflow_one: writes one byte past the end of a 40-byte block, in
 * write_past_end, then frees the block in main. */
#include <stdlib.h>

__attribute__((noinline)) static char *write_past_end(void)
{
    char *p = malloc(40);
    p[40] = 'x';
    return p;
}

int main(void)
{
    char *p = write_past_end();
    free(p);
    return 0;
}

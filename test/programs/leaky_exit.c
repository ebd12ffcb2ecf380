/* leaky_exit: prints three lines to stdout (buffered when stdout is a file
 * or a pipe), loses one block of 64 bytes in lose_one, and exits with the
 * status given as its argument (0 without one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void lose_one(void)
{
    memset(malloc(64), 'l', 64);
}

int main(int argc, char **argv)
{
    for (int i = 1; i <= 3; i++)
        printf("line %d\n", i);
    lose_one();
    return argc > 1 ? atoi(argv[1]) : 0;
}

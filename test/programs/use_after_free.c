/* use_after_free: make_block allocates 40 bytes, drop_block frees them,
 * then main writes into the freed block at offset 8; with an argument it
 * then frees many more blocks, pushing that one out of the quarantine.
 * lose_one also loses 77 bytes (for leaks=1 beside check=1). */
#include <stdlib.h>

__attribute__((noinline)) static char *make_block(void)
{
    return malloc(40);
}

__attribute__((noinline)) static void drop_block(char *p)
{
    free(p);
}

__attribute__((noinline)) static void lose_one(void)
{
    char *volatile p = malloc(77);
    p[0] = 'l';
}

int main(int argc, char **argv)
{
    (void)argv;
    lose_one();
    char *p = make_block();
    drop_block(p);
    p[8] = 'x';
    for (int i = 0; argc > 1 && i < 1000; i++)
        free(malloc(100));
    return 0;
}

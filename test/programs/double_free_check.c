/* double_free_check: make_block allocates 40 bytes; drop_block frees them;
 * main frees them again. */
#include <stdlib.h>

__attribute__((noinline)) static char *make_block(void)
{
    return malloc(40);
}

__attribute__((noinline)) static void drop_block(char *p)
{
    free(p);
}

int main(void)
{
    char *p = make_block();
    drop_block(p);
    free(p);
    return 0;
}

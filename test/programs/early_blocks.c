/* Frees the blocks early_lib.c's constructor made before the allocator's
 * own constructor ran, and prints "mymalloc N" when libmymalloc.so is the
 * malloc it runs with (N: the blocks freed). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

int early_free_all(void);

int main(void)
{
    void *ours = dlsym(RTLD_DEFAULT, "mymalloc_version");
    int n = early_free_all();
    printf("%s %d\n", ours ? "mymalloc" : "another", n);
    return 0;
}

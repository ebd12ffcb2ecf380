/* leaky_fork: a parent and the child it forks each lose a block, and each
 * exits with exit() (so each runs its reports):
 *   lose_before_fork  100 bytes, lost by the parent before it forks;
 *   lose_in_child     200 bytes, lost by the child, which exits 0;
 *   lose_in_parent    300 bytes, lost by the parent after the fork.
 * The child's report lists its own 200 bytes only: the 100 are its
 * parent's. The parent prints the child's exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) static void lose(size_t n)
{
    memset(malloc(n), 'x', n);
}

__attribute__((noinline)) static void lose_before_fork(void) { lose(100); }
__attribute__((noinline)) static void lose_in_child(void) { lose(200); }
__attribute__((noinline)) static void lose_in_parent(void) { lose(300); }

int main(void)
{
    lose_before_fork();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        lose_in_child();
        exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child exited with %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    lose_in_parent();
    return 0;
}

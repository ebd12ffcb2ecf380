/* step2_fault.c -- Step 2, part 1: the break is the end.
 *
 * Over step 1: we try to use the memory at the break. The kernel has mapped
 * the process's memory up to the break, not beyond, so the byte at the
 * address sbrk(0) returns does not exist yet: storing into it is a
 * segmentation fault, and the kernel kills the process with SIGSEGV.
 *
 * To show this without crashing, the store happens in a child process (a
 * copy of this one, made by fork). The parent waits for the child and
 * reports how it died. The program exits with status 0 when the store
 * faulted, as it should, and 1 if it somehow did not.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

/* stdout gets a buffer of its own: otherwise the first printf would take
 * one from glibc's malloc, and that malloc moves the break too. In this
 * walk, only the code we are looking at moves the break. */
static char out_buf[4096];

int main(void)
{
    setvbuf(stdout, out_buf, _IOLBF, sizeof out_buf);
    char *brk = sbrk(0);
    printf("Break is %p\n", (void *)brk);

    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        *(volatile char *)brk = 'A';   /* one byte past the end of the heap */
        _exit(0);                       /* not reached: the store faults */
    }

    int status;
    waitpid(child, &status, 0);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) {
        printf("Storing a byte at %p: Segmentation fault (the child was killed by SIGSEGV)\n",
               (void *)brk);
        return 0;
    }
    printf("Storing a byte at %p did not fault\n", (void *)brk);
    return 1;
}

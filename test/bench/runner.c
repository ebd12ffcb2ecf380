/* runner: run one benchmark command and say how long it took, how much
 * memory it used, and whether it worked.
 *
 *   runner [-p LIB] [-t SECONDS] [-o LOG] [NAME=VALUE]... [--] COMMAND [ARG]...
 *
 *   -p LIB      LD_PRELOAD=LIB for the command only (without -p the command
 *               runs with no LD_PRELOAD at all: glibc's malloc)
 *   -t SECONDS  kill the command (its whole process group) after this long
 *               and report a failure; default 600
 *   -o LOG      the command's stdout and stderr go to LOG (default: ours)
 *   NAME=VALUE  more environment for the command, as env(1) takes it
 *
 * Prints one line, tab-separated, and exits 0 when the command exited 0,
 * 1 when it did not, 2 on a usage error:
 *
 *   ok      WALL  MAXRSS
 *   FAILED  WALL  MAXRSS  REASON     (exit N, signal N (NAME), timeout)
 *
 * WALL is seconds from just before fork to just after wait4 returned
 * (CLOCK_MONOTONIC). MAXRSS is the ru_maxrss in KiB that wait4 reports for
 * the command: on Linux, the peak resident size of the command's process
 * and of every descendant it waited for, whichever was largest, not their
 * sum. For a script that runs gcc, that is the largest of bash, gcc, cc1,
 * as and ld; a descendant that was never waited for is not counted. The
 * runner's own 1-2 MiB before exec is a floor under every number. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;
static pid_t child;

/* Time is up: kill the command and everything it started. */
static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
    kill(-child, SIGKILL);
}

static void usage(void)
{
    fprintf(stderr, "usage: runner [-p LIB] [-t SECONDS] [-o LOG] [NAME=VALUE]... [--] COMMAND [ARG]...\n");
    exit(2);
}

static double since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
    const char *preload = NULL, *log = NULL;
    unsigned timeout = 600;
    int opt;
    while ((opt = getopt(argc, argv, "+p:t:o:")) != -1) {
        switch (opt) {
        case 'p': preload = optarg; break;
        case 'o': log = optarg; break;
        case 't': timeout = (unsigned)strtoul(optarg, NULL, 10); break;
        default: usage();
        }
    }
    int first_env = optind;
    while (optind < argc && strchr(argv[optind], '=') && argv[optind][0] != '=')
        optind++;
    int last_env = optind;
    if (optind < argc && strcmp(argv[optind], "--") == 0)
        optind++;
    if (optind >= argc)
        usage();

    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("runner: fork");
        return 2;
    }
    if (pid == 0) {
        setpgid(0, 0);
        if (log) {
            int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
                perror("runner: log");
                _exit(127);
            }
            close(fd);
        }
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        if (preload)
            setenv("LD_PRELOAD", preload, 1);
        else
            unsetenv("LD_PRELOAD");
        for (int i = first_env; i < last_env; i++)
            putenv(argv[i]);
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "runner: cannot run %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);        /* both sides set it, so a kill right away finds the group */
    child = pid;
    if (timeout)
        alarm(timeout);

    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("runner: wait4");
            return 2;
        }
    }
    double wall = since(&t0);
    alarm(0);

    if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        printf("ok\t%.6f\t%ld\n", wall, ru.ru_maxrss);
        return 0;
    }
    char why[96];
    if (timed_out)
        snprintf(why, sizeof why, "timeout after %u s", timeout);
    else if (WIFSIGNALED(status))
        snprintf(why, sizeof why, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(why, sizeof why, "exit %d", WEXITSTATUS(status));
    printf("FAILED\t%.6f\t%ld\t%s\n", wall, ru.ru_maxrss, why);
    return 1;
}

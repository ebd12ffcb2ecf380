/* mymalloc_trace.c -- the command line of mymalloc-trace, the reader of the
 * files that MYMALLOC_OPTIONS=trace=PATH writes (issue 6). */
#include "profile_tool.h"
#include "trace_tool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: " PROG " summary [--pid PID] [--top N] TRACE\n"
    "       " PROG " plot [--pid PID] TRACE OUT.svg\n"
    "       " PROG " replay [--pid PID] TRACE\n"
    "       " PROG " profile [--top N] [--folded | --html=OUT.html] PROFILE\n"
    "       " PROG " -h | --help | --version\n";

static const char help[] =
    "\n"
    "Reads the file that libmymalloc.so writes under MYMALLOC_OPTIONS=trace=PATH:\n"
    "every malloc, calloc, realloc, memalign (and friends) and free, with its time,\n"
    "thread, pointers and size. The format is at the end of mymalloc.h.\n"
    "\n"
    "commands:\n"
    "  summary  calls per function, processes, threads and duration, a histogram\n"
    "           of the sizes asked for (powers of two), the most frequent sizes,\n"
    "           peak live bytes and blocks and when, what was never freed, failed\n"
    "           calls. A file written by several processes (after fork) gets a\n"
    "           table of them, then a section for each, in the order they started.\n"
    "           (A process that calls exec keeps its pid: before and after are one.)\n"
    "  plot     an SVG of live bytes and live blocks over time, two charts, for\n"
    "           one process: the first to start, or --pid. Up to 2000 records\n"
    "           are drawn call by call; more are cut into 2000 slices of time and\n"
    "           each slice is drawn at its highest value, so peaks show.\n"
    "  replay   makes the traced calls again, in this process, under whatever\n"
    "           malloc it runs with, touching the first and last byte of every\n"
    "           block, and prints the wall and CPU time taken:\n"
    "             LD_PRELOAD=/path/to/libmymalloc.so " PROG " replay TRACE\n"
    "           All the threads of a process are replayed in ONE thread, in the\n"
    "           order the records were written. The processes of a file are\n"
    "           replayed one after the other (or only --pid), each timed apart.\n"
    "           Failed calls and frees of blocks allocated before the trace began\n"
    "           are skipped; a realloc of such a block is replayed as a malloc,\n"
    "           realloc(p, 0) as free(p); memalign as aligned_alloc when the size\n"
    "           is a multiple of the alignment, else posix_memalign.\n"
    "  profile  reads the file that MYMALLOC_OPTIONS=profile=PATH writes (or one of\n"
    "           valgrind's massif): the sites that hold the heap at its peak, most\n"
    "           first, each with its stack, innermost frame first (--top of them,\n"
    "           default 10). --folded prints the peak's stacks instead, one a line,\n"
    "           outermost frame first with its bytes (\"main;parse;xmalloc 4096\"),\n"
    "           for flamegraph.pl, speedscope or inferno. --html=OUT.html writes one\n"
    "           page, which needs nothing from the network: the heap over time,\n"
    "           stacked by the top sites, a flame graph of the peak (a click zooms)\n"
    "           and the table of the sites.\n"
    "\n"
    "options:\n"
    "  --pid PID   only the process PID\n"
    "  --top N     summary: how many sizes to list; profile: how many sites (10)\n"
    "  -h, --help  this help\n"
    "  --version   the version (the library's: MYMALLOC_VERSION)\n"
    "\n"
    "exit status: 0 done; 1 an unreadable, bad or truncated trace (the message\n"
    "names the file and the offset) or an SVG that could not be written; 2 bad\n"
    "usage, or a --pid that is not in the file.\n";

static int bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, PROG ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s(" PROG " --help says more)\n", usage);
    return 2;
}

static bool number(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

/* mymalloc-trace profile [--top N] [--folded | --html=OUT] FILE */
static int profile_command(int argc, char **argv)
{
    const char *file = NULL, *html = NULL;
    unsigned long top = 10;
    bool folded = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--folded")) {
            folded = true;
        } else if (!strncmp(a, "--html=", 7) && a[7]) {
            html = a + 7;
        } else if (!strcmp(a, "--top") || !strncmp(a, "--top=", 6)) {
            const char *v = a[5] == '=' ? a + 6 : i + 1 < argc ? argv[++i] : NULL;
            if (!v)
                return bad_usage("%s needs a value", a);
            if (!number(v, 1000000, &top) || !top)
                return bad_usage("bad number for --top: '%s'", v);
        } else if (a[0] == '-' && a[1]) {
            return bad_usage("unknown option '%s' for profile", a);
        } else if (!file) {
            file = a;
        } else {
            return bad_usage("too many arguments, from '%s' on", a);
        }
    }
    if (!file)
        return bad_usage("%s", "profile takes one argument: the profile file");
    if (folded && html)
        return bad_usage("%s", "--folded and --html: one or the other");
    struct profile p;
    if (profile_load(file, &p))
        return 1;
    int rc = folded ? profile_folded(&p) : html ? profile_html(&p, html, top) : profile_table(&p, top);
    profile_free(&p);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, PROG ": error writing the output: %s\n", strerror(errno));
        return 1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "profile"))
        return profile_command(argc - 2, argv + 2);
    const char *cmd = NULL, *args[2] = { 0 }, *pid_arg = NULL, *top_arg = NULL;
    unsigned long pid = 0, top = 10;
    int nargs = 0;
    bool dashdash = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (dashdash || a[0] != '-' || !a[1]) {
            if (!cmd)
                cmd = a;
            else if (nargs < 2)
                args[nargs++] = a;
            else
                return bad_usage("too many arguments, from '%s' on", a);
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("%s%s", usage, help);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf(PROG " %s\n", MYMALLOC_VERSION);
            return 0;
        } else if (!strcmp(a, "--")) {
            dashdash = true;
        } else if (!strcmp(a, "--pid") || !strcmp(a, "--top")) {
            if (i + 1 == argc)
                return bad_usage("%s needs a value", a);
            *(a[2] == 'p' ? &pid_arg : &top_arg) = argv[++i];
        } else if (!strncmp(a, "--pid=", 6)) {
            pid_arg = a + 6;
        } else if (!strncmp(a, "--top=", 6)) {
            top_arg = a + 6;
        } else {
            return bad_usage("unknown option '%s'", a);
        }
    }
    if (pid_arg && !number(pid_arg, UINT32_MAX, &pid))
        return bad_usage("bad process id '%s'", pid_arg);
    if (top_arg && (!number(top_arg, 1000000, &top) || !top))
        return bad_usage("bad number for --top: '%s'", top_arg);
    if (!cmd)
        return bad_usage("%s", "no command");
    int want;
    if (!strcmp(cmd, "summary") || !strcmp(cmd, "replay"))
        want = 1;
    else if (!strcmp(cmd, "plot"))
        want = 2;
    else
        return bad_usage("unknown command '%s'", cmd);
    if (nargs != want)
        return bad_usage(want == 1 ? "%s takes one argument: the trace file"
                                   : "%s takes two arguments: the trace file and the SVG to write",
                         cmd);
    if (strcmp(cmd, "summary") && top_arg)
        return bad_usage("--top is for summary, not %s", cmd);

    struct trace t;
    if (trace_load(args[0], &t))
        return 1;
    const struct proc *only = NULL;
    if (pid_arg && !(only = trace_proc(&t, (uint32_t)pid))) {
        fprintf(stderr, PROG ": %s: no process %lu in the file; it has", args[0], pid);
        for (size_t i = 0; i < t.nproc; i++)
            fprintf(stderr, "%s %u", i ? "," : "", t.proc[i].pid);
        fprintf(stderr, "\n");
        trace_free(&t);
        return 2;
    }
    int rc = !strcmp(cmd, "summary") ? cmd_summary(&t, only, (int)top)
             : !strcmp(cmd, "plot")  ? cmd_plot(&t, only, args[1])
                                     : cmd_replay(&t, only);
    trace_free(&t);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, PROG ": error writing the output: %s\n", strerror(errno));
        return 1;
    }
    return rc;
}

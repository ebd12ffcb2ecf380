/* init.c -- the allocator's part in the life of a process, on top of the
 * house: the options applied, fork, the toolkit started, and the reports
 * at exit.
 *
 * The first call can come from any thread, and from the dynamic loader
 * before any constructor has run (environ may not be set yet): front/'s
 * gate sets up what every call needs, and the constructor here reads the
 * options again once environ is there, and starts what they ask for.
 *
 * The process that was started. The reports belong to every process the
 * library runs in (children=0: to the first only), but the leak exit
 * status belongs to the process the user started: a build must not fail
 * because a compiler it runs keeps a few blocks to the end, and a forked
 * child must not report its parent's blocks. The first process to read
 * the options puts its pid in MYMALLOC_ROOT, which its children inherit:
 * a process whose pid is there (or which finds none) is the one that was
 * started; exec keeps the pid, so a wrapper script that execs its program
 * passes the role on to it. */
#ifdef MM_NO_TOOLKIT
#include "front/front.h"
#else
#include "debug/debug.h"
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* ---- fork ---- */

static void reset_child(void)
{
    mm_os_after_fork();
    mm_options_after_fork();
    mm_cache_after_fork_child();
    mm_pages_after_fork_child();
    mm_log_after_fork();
#ifndef MM_NO_TOOLKIT
    mm_trace_after_fork();
    mm_sample_after_fork();
#endif
}

/* pthread_atfork is a function of libc_nonshared.a, linked into the
 * library after all of its own code, alone in the last 64 KiB of it: the
 * one call at start would map that stretch of code in every program.
 * This is what it does, in the code that is mapped anyway. */
extern int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
                             void *dso);
extern void *__dso_handle;

/* The library's DT_FINI (-Wl,-fini, CMakeLists.txt): the C runtime's
 * _fini, which does nothing here (the destructors are in .fini_array),
 * comes after all of the library's code, and calling it at exit would map
 * that last stretch of code. */
MM_HOT void mm_fini(void)
{
}

MM_HOT static void before_fork(void) { mm_lock_fork_prepare(); }
MM_HOT static void after_fork_parent(void) { mm_lock_fork_parent(); }
MM_HOT static void after_fork_child(void) { mm_lock_fork_child(reset_child); }

#ifndef MM_NO_TOOLKIT
/* ---- at exit ---- */

/* The program's output before the reports, when they share a terminal or
 * a file. Only stdout (stderr has no buffer), and only when no other
 * thread holds it: one blocked in a write must not block the exit. */
static void flush_stdout(void)
{
    if (ftrylockfile(stdout) == 0) {
        fflush_unlocked(stdout);
        funlockfile(stdout);
    }
}

/* Run by exit(), after the program's atexit functions and every library's
 * destructors, before stdio's buffers are written: status is what the
 * program passed to exit or returned from main. In order: the heap map,
 * the profile, the quarantine checked (check=1), the trace written out, the stats, the
 * leaks; then an error the check found ends the process (abort, as any
 * error the check finds), and lost blocks set the exit status of the
 * process that was started, if it was going to exit with 0. (glibc runs
 * the handlers left and writes stdio's buffers when exit is called again
 * from a handler, and exits with the last status.) */
static void at_exit(int status, void *arg)
{
    (void)arg;
    if (!__atomic_load_n(&mm_ready, __ATOMIC_ACQUIRE))
        return;
    bool report = mm_root || mm_opt.children;
    if (report)
        flush_stdout();
    size_t errors = 0;
    if (mm_enter()) {
        if (report && (mm_root || mm_path_per_process(mm_opt.heapmap)))
            mm_heapmap_write();
        if (report && (mm_root || mm_path_per_process(mm_opt.profile)))
            mm_profile_write();
        if (report && (mm_opt.check || mm_opt.guard))
            errors = mm_debug_check_at_exit();
        mm_trace_flush();
        mm_leave();
    }
    if (report && mm_opt.stats)
        mm_stats_report();
    bool lost = report && mm_opt.leaks && mm_leaks_report();
    if (errors)
        abort();
    if (lost && mm_root && status == 0 && mm_opt.leak_exitcode)
        exit((int)mm_opt.leak_exitcode);
}

/* The first process to read the options marks itself (see the top), and
 * hands its children the options with relative paths made absolute, so
 * that they write where it started. Called only when something will
 * report: otherwise the environment stays as the program made it.
 *
 * Not with setenv: a program may define its own (bash does, for its
 * variables), which at this point, before main, would lose what it is
 * given. The entries are written here: the options' string is replaced in
 * place, and environ gets a copy with MYMALLOC_ROOT added, which main()
 * receives as its third argument. The strings and the array are the
 * library's, for the life of the process. */
static void mark_root(void)
{
    static char opts[MM_PATH_MAX * 8], root[32];
    static const char key[] = "MYMALLOC_OPTIONS=";
    if (!mm_root || !environ)
        return;
    size_t n = 0;
    memcpy(opts, key, sizeof key - 1);
    const char *abs = mm_options_absolute(opts + sizeof key - 1, sizeof opts - (sizeof key - 1));
    for (; environ[n]; n++)
        if (abs && !strncmp(environ[n], key, sizeof key - 1))
            environ[n] = opts;
    char **env = mm_os_map((n + 2) * sizeof *env);
    if (!env)
        return;
    memcpy(env, environ, n * sizeof *env);
    mm_fmt(root, sizeof root, "MYMALLOC_ROOT=%d", mm_os_pid());
    env[n] = root;
    env[n + 1] = NULL;
    environ = env;
}

#endif

/* The dynamic loader's first calls may come before environ is set: the
 * options are read again here, where it is, and what they ask for starts. */
MM_HOT __attribute__((constructor)) static void start(void)
{
    if (!__atomic_load_n(&mm_ready, __ATOMIC_ACQUIRE))
        mm_front_init();
    bool toolkit = false;
    if (mm_lock()) {
        mm_options_load();
        mm_heap_use_options();
#ifndef MM_NO_TOOLKIT
        toolkit = mm_debug_start();
        if ((mm_debug_records && !mm_debug_held) || (mm_opt.profile_sample && mm_opt.guard))
            mm_cache_fast_off = true;     /* blocks in the chain, with their records */
        mm_pages_held = mm_debug_held;    /* (the exact profile alone: records in the pages' blocks) */
        mm_sample_pages = mm_opt.profile_sample && !mm_cache_fast_off;
#endif
        mm_unlock();
    }
    /* Without records, small blocks live in the pages from now on. */
    if (!mm_cache_fast_off) {
        mm_pages_start();
        mm_heap_purge_hook = mm_pages_flush;
    }
    /* reports at exit write to a copy of stderr made now: the program may
     * close its own before */
    bool reports = toolkit || mm_opt.heapmap[0];
    mm_log_configure(mm_opt.log, reports);
    __register_atfork(before_fork, after_fork_parent, after_fork_child, &__dso_handle);
#ifndef MM_NO_TOOLKIT
    if (!reports)
        return;                  /* quiet: nothing of the toolkit starts */
    mm_stack_init();
    mm_sites_init();
    mm_quarantine_init();
    mm_guard_init();
    mm_heapmap_init();
    mark_root();
    on_exit(at_exit, NULL);
#endif
}

#!/usr/bin/env bats
# scripts/mymalloc behaves like the program it runs: signals reach the
# program, the program starts with the signals ignored that were ignored
# when mymalloc started (and no others), its status and its death come back;
# the frames of the reports get file:line (one addr2line per module); paths
# are taken from where mymalloc started; programs that cannot load the
# library get a warning.
#
# Helpers, built once (setup_file) in $BATS_FILE_TMPDIR:
#   probe READY MODE   the program under test: writes the signals it started
#                      with ignored and blocked, and its pid, to READY, then
#                      exits (exit), waits to be killed (die) or logs the
#                      signals it gets to READY.log (catch); see probe.c
#   launch ...         starts a command as a shell would, with chosen signals
#                      ignored, optionally in a process group of its own, and
#                      exits 200+N when signal N killed the command
#   onterm.py          runs a command on a terminal of its own and types ^C, ^\

load test_helper

setup_file() {
    local d="$BATS_FILE_TMPDIR"
    cat >"$d/probe.c" <<'C'
/* probe READY MODE: allocates, then writes the signals it started with
 * ignored and blocked, and its pid, to READY (through READY.tmp and a
 * rename: READY appears whole), then by MODE:
 *   exit   returns 0;
 *   die    waits for a signal, every one at its default action;
 *   catch  appends to READY.log the number of each SIGINT, SIGQUIT, SIGTERM,
 *          SIGHUP, SIGUSR1 and SIGUSR2 it gets, one a line, and returns 3
 *          after any of the last four. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int log_fd;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    char b[3];
    int n = 0;
    if (sig >= 10)
        b[n++] = (char)('0' + sig / 10);
    b[n++] = (char)('0' + sig % 10);
    b[n++] = '\n';
    if (write(log_fd, b, (size_t)n) < 0)
        _exit(9);
    stop |= sig != SIGINT && sig != SIGQUIT;
}

int main(int argc, char **argv)
{
    static const int caught[] = { SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };
    char tmp[4096], logp[4096];
    if (argc != 3)
        return 2;
    char *volatile block = malloc(100);
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    snprintf(logp, sizeof logp, "%s.log", argv[1]);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return 2;
    sigset_t blocked, all, old;
    sigprocmask(SIG_BLOCK, NULL, &blocked);
    fprintf(f, "ignored:");
    for (int s = 1; s < 32; s++) {
        struct sigaction sa;
        if (sigaction(s, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
            fprintf(f, " %d", s);
    }
    fprintf(f, "\nblocked:");
    for (int s = 1; s < 32; s++)
        if (sigismember(&blocked, s) == 1)
            fprintf(f, " %d", s);
    fprintf(f, "\npid: %d\n", (int)getpid());
    free(block);
    if (!strcmp(argv[2], "catch")) {
        log_fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, &old);
        for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++) {
            struct sigaction sa = { .sa_handler = on_signal };
            sigemptyset(&sa.sa_mask);
            sigaction(caught[i], &sa, NULL);
        }
    }
    if (fclose(f) != 0 || rename(tmp, argv[1]) != 0)
        return 2;
    if (!strcmp(argv[2], "die"))
        for (;;)
            pause();
    if (!strcmp(argv[2], "catch")) {
        while (!stop)
            sigsuspend(&old);
        return 3;
    }
    return 0;
}
C
    cat >"$d/launch.c" <<'C'
/* launch [-g] [-i SIGNUM]... [-p PIDFILE] PROGRAM [ARGS...]
 * Runs PROGRAM as a shell starts a command in the foreground: every signal
 * at its default action but the -i ones (ignored), none blocked, no core
 * files; with -g in a process group of its own (out of a terminal's
 * foreground). PIDFILE gets its pid (through a rename: it appears whole).
 * The exit status is PROGRAM's, or 200 + N when signal N killed it. A
 * command still running after ten minutes is killed (with its process
 * group, with -g): a test that fails must not hang. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child;
static bool group;

static void on_alarm(int sig)
{
    (void)sig;
    kill(group ? -child : child, SIGKILL);
}

int main(int argc, char **argv)
{
    const char *pidfile = NULL;
    sigset_t ignore, none;
    sigemptyset(&ignore);
    sigemptyset(&none);
    for (int opt; (opt = getopt(argc, argv, "+gi:p:")) != -1;) {
        if (opt == 'g')
            group = true;
        else if (opt == 'i')
            sigaddset(&ignore, atoi(optarg));
        else if (opt == 'p')
            pidfile = optarg;
        else
            return 125;
    }
    if (optind == argc)
        return 125;
    struct rlimit no_core = { 0, 0 };
    setrlimit(RLIMIT_CORE, &no_core);
    signal(SIGCHLD, SIG_DFL);
    pid_t pid = child = fork();
    if (pid < 0)
        return 125;
    if (pid == 0) {
        for (int s = 1; s < 32; s++)
            if (s != SIGKILL && s != SIGSTOP)
                signal(s, sigismember(&ignore, s) == 1 ? SIG_IGN : SIG_DFL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (group)
            setpgid(0, 0);
        execvp(argv[optind], argv + optind);
        perror(argv[optind]);
        _exit(127);
    }
    if (group)
        setpgid(pid, pid);
    /* the terminal's signals are for the command (as system() does) */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    if (pidfile) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", pidfile);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", (int)pid) < 0 || fclose(f) != 0 || rename(tmp, pidfile) != 0)
            return 125;
    }
    signal(SIGALRM, on_alarm);
    alarm(600);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 200 + WTERMSIG(st);
}
C
    cat >"$d/onterm.py" <<'PY'
# onterm.py READY KEY... -- COMMAND...: runs COMMAND on a terminal of its own
# (as its foreground job), waits for the file READY, then for each KEY: ^C or
# ^\ is typed, then READY.log is waited for to have one more line (not for
# "^C." or "^\."); usr1:PIDFILE sends SIGUSR1 to the pid in PIDFILE. Prints
# what the terminal showed, then "status N" (COMMAND's exit status) on a line
# of its own.
import os, pty, select, signal, sys, time

sep = sys.argv.index("--")
ready, keys, command = sys.argv[1], sys.argv[2:sep], sys.argv[sep + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

shown = b""
def pump(seconds):
    global shown
    if select.select([fd], [], [], seconds)[0]:
        try:
            shown += os.read(fd, 4096)
        except OSError:
            pass

def wait_for(test, what):
    deadline = time.monotonic() + 120
    while not test():
        if time.monotonic() > deadline:
            sys.exit("timed out waiting for " + what)
        pump(0.02)

def log_lines():
    try:
        with open(ready + ".log") as f:
            return len(f.read().splitlines())
    except FileNotFoundError:
        return 0

wait_for(lambda: os.path.exists(ready), ready)
for key in keys:
    if key.startswith("usr1:"):
        with open(key[5:]) as f:
            os.kill(int(f.read()), signal.SIGUSR1)
        continue
    n = log_lines()
    os.write(fd, {"^C": b"\x03", "^\\": b"\x1c"}[key.rstrip(".")])
    if not key.endswith("."):
        wait_for(lambda: log_lines() > n, "a signal in " + ready + ".log")
while True:
    if not select.select([fd], [], [], 120)[0]:
        sys.exit("the command did not end")
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    shown += data
_, st = os.waitpid(pid, 0)
shown = shown.decode(errors="replace").replace("\r\n", "\n")
sys.stdout.write(shown if shown.endswith("\n") or not shown else shown + "\n")
print("status %d" % os.waitstatus_to_exitcode(st))
PY
    cc -Wall -O1 -o "$d/probe" "$d/probe.c"
    cc -Wall -O1 -o "$d/launch" "$d/launch.c"
    # an empty library: lets a test see what the runner passes on, with
    # nothing of the real library's in the way
    printf 'int mymalloc_stub;\n' >"$d/stub.c"
    cc -shared -fPIC -o "$d/libstub.so" "$d/stub.c"
}

setup() {
    common_setup
    H="$BATS_FILE_TMPDIR"
    M="$ROOT/scripts/mymalloc"
}

# A test that fails half-way must not leave its programs running: the ones
# started with launch -g are a process group, whose id is in $T/pid.
teardown() {
    if [[ -n ${launched:-} && -s $T/pid ]]; then
        kill -KILL -- "-$(cat "$T/pid")" 2>/dev/null || true
    fi
}

# Waits (at most two minutes) for a file to exist; never a fixed sleep.
wait_for_file() {
    local i
    for ((i = 0; i < 12000; i++)); do
        [[ -e $1 ]] && return 0
        sleep 0.01
    done
    echo "no $1 after two minutes"
    return 1
}

# Waits for the file $1 to have $2 lines.
wait_for_lines() {
    local i
    for ((i = 0; i < 12000; i++)); do
        [[ -e $1 && $(wc -l <"$1") -ge $2 ]] && return 0
        sleep 0.01
    done
    echo "$1 has not $2 lines after two minutes"
    return 1
}

# ---- signals

@test "the program starts with no signal ignored that was not ignored when mymalloc started" {
    run --separate-stderr "$H/launch" "$M" --leaks --options=stats=1 "$H/probe" "$T/ready" exit
    [ "$status" -eq 0 ]
    # the library was there
    [[ $stderr == *"mymalloc: stats for probe (pid "* ]]
    # bash starts background jobs with SIGINT and SIGQUIT ignored: not this one
    [ "$(sed -n 1p "$T/ready")" = "ignored:" ]
    [ "$(sed -n 2p "$T/ready")" = "blocked:" ]
}

@test "signals ignored when mymalloc started are still ignored in the program" {
    run --separate-stderr "$H/launch" -i 1 -i 2 -i 3 -i 15 "$M" --leaks --options=stats=1 "$H/probe" "$T/ready" exit
    [ "$status" -eq 0 ]
    [[ $stderr == *"mymalloc: stats for probe (pid "* ]]
    [ "$(sed -n 1p "$T/ready")" = "ignored: 1 2 3 15" ]
    # the same without --leaks (mymalloc becomes the program)
    rm "$T/ready"
    run --separate-stderr "$H/launch" -i 2 -i 3 "$M" --stats "$H/probe" "$T/ready" exit
    [ "$status" -eq 0 ]
    [[ $stderr == *"mymalloc: stats for probe (pid "* ]]
    [ "$(sed -n 1p "$T/ready")" = "ignored: 2 3" ]
}

@test "Ctrl-C and Ctrl-\\ on the terminal reach the program, once each" {
    # the terminal sends them to mymalloc and the program alike: mymalloc
    # must not pass them on too (the program would get two); then SIGUSR1,
    # which mymalloc passes on, ends the program
    run python3 "$H/onterm.py" "$T/ready" '^C' '^\' "usr1:$T/pid" -- \
        "$H/launch" -p "$T/pid" "$M" --leaks --options=stats=1 "$H/probe" "$T/ready" catch
    [ "${lines[-1]}" = "status 3" ]
    [[ $output == *"mymalloc: stats for probe (pid "* ]]
    [ "$(cat "$T/ready.log")" = $'2\n3\n10' ]
}

@test "a program killed by Ctrl-C or Ctrl-\\ on the terminal: mymalloc dies of the same signal" {
    run python3 "$H/onterm.py" "$T/ready" '^C.' -- "$H/launch" "$M" --leaks "$H/probe" "$T/ready" die
    [ "${lines[-1]}" = "status 202" ]
    rm "$T/ready"
    run python3 "$H/onterm.py" "$T/ready" '^\.' -- "$H/launch" "$M" --leaks "$H/probe" "$T/ready" die
    [ "${lines[-1]}" = "status 203" ]
}

@test "SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 sent to mymalloc are passed on to the program" {
    for sig in 15 1 10 12; do
        rm -f "$T/ready" "$T/ready.log" "$T/pid"
        "$H/launch" -g -p "$T/pid" "$M" --leaks --options=stats=1 "$H/probe" "$T/ready" catch 2>"$T/err" &
        launched=$!
        wait_for_file "$T/ready"
        wait_for_file "$T/pid"
        kill -"$sig" "$(cat "$T/pid")"
        status=0
        wait "$launched" || status=$?
        [ "$status" -eq 3 ]
        [ "$(cat "$T/ready.log")" = "$sig" ]
        grep -q '^mymalloc: stats for probe (pid ' "$T/err"
    done
}

@test "SIGINT sent to mymalloc alone, away from a terminal, is passed on to the program" {
    "$H/launch" -g -p "$T/pid" "$M" --leaks --options=stats=1 "$H/probe" "$T/ready" catch 2>"$T/err" &
    launched=$!
    wait_for_file "$T/ready"
    wait_for_file "$T/pid"
    kill -s INT "$(cat "$T/pid")"
    wait_for_lines "$T/ready.log" 1
    kill -s TERM "$(cat "$T/pid")"
    status=0
    wait "$launched" || status=$?
    [ "$status" -eq 3 ]
    [ "$(cat "$T/ready.log")" = $'2\n15' ]
    grep -q '^mymalloc: stats for probe (pid ' "$T/err"
}

@test "a program killed by a signal mymalloc passed on: mymalloc dies of it too, and the program is gone" {
    "$H/launch" -g -p "$T/pid" "$M" --leaks "$H/probe" "$T/ready" die &
    launched=$!
    wait_for_file "$T/ready"
    wait_for_file "$T/pid"
    kill -s TERM "$(cat "$T/pid")"
    status=0
    wait "$launched" || status=$?
    [ "$status" -eq 215 ]
    probe=$(sed -n 's/^pid: //p' "$T/ready")
    ! kill -0 "$probe" 2>/dev/null
}

@test "a program killed by a signal: mymalloc prints the reports, then dies of the same signal" {
    # sh is the program; leaky, which it starts, writes a report at exit
    run --separate-stderr "$H/launch" "$M" --leaks sh -c "'$BUILD/programs/leaky'; kill -s TERM \$\$"
    [ "$status" -eq 215 ]
    [[ $stderr == *"SUMMARY: 2,300 bytes leaked in 3 blocks from 2 sites"* ]]
    run --separate-stderr "$H/launch" "$M" --check "$BUILD/programs/overflow_one"
    [ "$status" -eq 206 ]
    [[ $stderr == *"heap-buffer-overflow"* ]]
    # and an exit status, even one above 128 that is not a signal's, is the program's
    run --separate-stderr "$H/launch" "$M" --leaks sh -c 'exit 7'
    [ "$status" -eq 7 ]
    run --separate-stderr "$H/launch" "$M" --leaks sh -c 'exit 145'
    [ "$status" -eq 145 ]
}

# ---- symbols

@test "each frame gets the file and line of its call, not of the line after it" {
    run --separate-stderr "$M" --leaks "$BUILD/programs/leaky"
    [ "$status" -eq 23 ]
    src="$ROOT/test/programs/leaky.c"
    alloc=$(grep -n 'malloc(1000)' "$src" | cut -d: -f1)
    call=$(grep -n 'parse_name("mymalloc");' "$src" | cut -d: -f1)
    [[ $stderr == *"#0 make_buffer+0x"*" (leaky+0x"*") at $src:$alloc"$'\n'* ]]
    # the return address is the line after the call: it must not be shown
    [[ $stderr == *"#1 main+0x"*" (leaky+0x"*") at $src:$call"$'\n'* ]]
}

@test "leaks and check set with --options or MYMALLOC_OPTIONS get file and line as --leaks and --check do" {
    run --separate-stderr "$M" --options=leaks=1 "$BUILD/programs/leaky"
    [ "$status" -eq 23 ]
    [[ $stderr == *"#0 make_buffer+0x"*" at $ROOT/test/programs/leaky.c:"* ]]
    MYMALLOC_OPTIONS=check=1 run --separate-stderr "$M" "$BUILD/programs/use_after_free"
    [[ $stderr == *"#0 make_block+0x"*" at $ROOT/test/programs/use_after_free.c:"* ]]
    # the last setting counts: --options=leaks=0 after --leaks turns it off
    run --separate-stderr "$M" --leaks --options=leaks=0 "$BUILD/programs/leaky"
    [ "$status" -eq 0 ]
    [ "$stderr" = "" ]
}

@test "addr2line runs once per module, with all of its addresses" {
    mkdir "$T/bin"
    printf '#!/bin/sh\necho "$*" >>"%s"\nexec "%s" "$@"\n' "$T/addr2line.log" "$(command -v addr2line)" >"$T/bin/addr2line"
    chmod +x "$T/bin/addr2line"
    printf '#include <string>\n#include <vector>\nstd::vector<std::string> *keep;\nint main() { keep = new std::vector<std::string>(3, std::string(50, (char)120)); keep = 0; return 0; }\n' >"$T/cxx.cc"
    c++ -g -O0 -o "$T/cxx" "$T/cxx.cc"
    PATH="$T/bin:$PATH" run --separate-stderr "$M" --leaks "$T/cxx"
    [ "$status" -eq 23 ]
    [[ $stderr == *" (cxx+0x"*") at $T/cxx.cc:4"* ]]
    [[ $stderr == *"(libstdc++.so"* ]]
    # the program and libstdc++: two modules, each once
    [ "$(wc -l <"$T/addr2line.log")" -ge 2 ]
    [ -z "$(sed -n 's/.*-e \([^ ]*\).*/\1/p' "$T/addr2line.log" | sort | uniq -d)" ]
}

@test "C++ names are demangled, and an inlined function shows where it was inlined" {
    cat >"$T/inl.cc" <<'CC'
#include <cstdlib>
namespace app {
__attribute__((noinline)) long *make(int n) { long *p = new long[n]; p[0] = n; return p; }
struct Namer {
    __attribute__((always_inline)) char *name(int n) { return (char *)std::malloc(n); }
};
}
long *volatile kept;
char *volatile named;
int main(int argc, char **)
{
    kept = app::make(argc * 10);
    named = app::Namer().name(argc * 20);
    kept = nullptr;
    named = nullptr;
    return 0;
}
CC
    c++ -g -O2 -o "$T/inl" "$T/inl.cc"
    run --separate-stderr "$M" --leaks "$T/inl"
    [ "$status" -eq 23 ]
    # _ZN3app4makeEi, demangled (#0: operator new[] is the library's own)
    [[ $stderr == *"    #0 app::make(int)+0x"*" (inl+0x"*") at $T/inl.cc:3"$'\n'* ]]
    # name() was inlined into main, at line 13
    [[ $stderr == *"    #0 app::Namer::name(int)+0x"*" (inl+0x"*") at $T/inl.cc:5"$'\n'"        (inlined into main at $T/inl.cc:13)"$'\n'* ]]
}

@test "frames of programs the program starts, and of libraries it opens, get their lines" {
    # leaky, started by sh, found on PATH
    PATH="$BUILD/programs:$PATH" run --separate-stderr "$M" --leaks sh -c 'leaky; true'
    [[ $stderr == *"#0 make_buffer+0x"*" at $ROOT/test/programs/leaky.c:"* ]]
    # a library opened with dlopen, found in LD_LIBRARY_PATH, then through
    # the loader's cache (ldconfig -p, here a stand-in for the real one)
    mkdir "$T/lib" "$T/bin"
    printf '#include <stdlib.h>\nvoid *volatile plug_kept;\nvoid plug_leak(void) { plug_kept = malloc(77); plug_kept = 0; }\n' >"$T/plug.c"
    cc -g -O0 -shared -fPIC -o "$T/lib/libplug.so" "$T/plug.c"
    printf '#include <dlfcn.h>\nint main(int c, char **v) { void *h = dlopen(v[1], RTLD_NOW); if (!h) return 9; ((void (*)(void))dlsym(h, "plug_leak"))(); return 0; }\n' >"$T/host.c"
    cc -g -o "$T/host" "$T/host.c"
    LD_LIBRARY_PATH="$T/lib" run --separate-stderr "$M" --leaks "$T/host" libplug.so
    [ "$status" -eq 23 ]
    [[ $stderr == *"#0 plug_leak+0x"*" (libplug.so+0x"*") at $T/plug.c:3"* ]]
    printf '#!/bin/sh\nprintf "\\tlibplug.so (libc6,x86-64) => %s\\n"\n' "$T/lib/libplug.so" >"$T/bin/ldconfig"
    chmod +x "$T/bin/ldconfig"
    PATH="$T/bin:$PATH" run --separate-stderr "$M" --leaks "$T/host" "$T/lib/libplug.so"
    [ "$status" -eq 23 ]
    [[ $stderr == *"#0 plug_leak+0x"*" (libplug.so+0x"*") at $T/plug.c:3"* ]]
}

@test "a library loaded from where a wrapper script says gets the lines of that file, not of one the system has" {
    # the same library name twice: the one the wrapper's program loads, and
    # another that the loader's cache (a stand-in ldconfig) would give
    mkdir "$T/lib" "$T/other" "$T/bin"
    printf '#include <stdlib.h>\nvoid *volatile plug_kept;\nvoid plug_leak(void) { plug_kept = malloc(77); plug_kept = 0; }\n' >"$T/plug.c"
    printf '#include <stdlib.h>\n\n\n\nvoid *volatile plug_kept;\nvoid plug_leak(void) { plug_kept = malloc(77); plug_kept = 0; }\n' >"$T/other.c"
    cc -g -O0 -shared -fPIC -o "$T/lib/libplug.so" "$T/plug.c"
    cc -g -O0 -shared -fPIC -o "$T/other/libplug.so" "$T/other.c"
    printf '#include <dlfcn.h>\nint main(int c, char **v) { void *h = dlopen(v[1], RTLD_NOW); if (!h) return 9; ((void (*)(void))dlsym(h, "plug_leak"))(); return 0; }\n' >"$T/host.c"
    cc -g -o "$T/host" "$T/host.c"
    printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s libplug.so\n' "$T/lib" "$T/host" >"$T/wrapper"
    chmod +x "$T/wrapper"
    printf '#!/bin/sh\nprintf "\\tlibplug.so (libc6,x86-64) => %s\\n"\n' "$T/other/libplug.so" >"$T/bin/ldconfig"
    chmod +x "$T/bin/ldconfig"
    PATH="$T/bin:$PATH" run --separate-stderr "$M" --leaks "$T/wrapper"
    [ "$status" -eq 23 ]
    [[ $stderr == *"#0 plug_leak+0x"*" (libplug.so+0x"*") at $T/plug.c:3"* ]]
    [[ $stderr != *"other.c"* ]]
    # and the program's own frames, though ldd of a script lists nothing
    [[ $stderr == *"#1 main+0x"*" (host+0x"*") at $T/host.c:2"* ]]
}

# ---- paths and options

@test "relative paths in --log, --heapmap, --trace and --options are taken from where mymalloc started" {
    mkdir -p "$T/a/sub"
    cd "$T/a"
    # sh starts ls in sub/: with relative paths, ls would write there
    run "$M" --log=log.%p --heapmap=map.%p.svg --trace=calls.trace --options=stats=1 sh -c 'cd sub && ls >/dev/null; true'
    [ "$status" -eq 0 ]
    # a log for each process (sh, ls), here; ls's says the library was there
    [ "$(ls "$T"/a/log.* | wc -l)" -eq 2 ]
    ls_log=$(grep -l '^mymalloc: stats for ls (pid ' "$T"/a/log.*)
    [ -n "$ls_log" ]
    [ -s "$T/a/map.${ls_log##*.}.svg" ]
    [ -s "$T/a/calls.trace" ]
    [ -z "$(ls "$T/a/sub")" ]
}

@test "--options, --stats=json, --children and --suppressions reach MYMALLOC_OPTIONS, their files made absolute" {
    : >"$T/t"
    echo stale >"$T/calls.trace"
    MYMALLOC_OPTIONS=stats=0:log=env.log run --separate-stderr "$M" --lib="$H/libstub.so" --stats=json --children=0 \
        --suppressions=supp.txt --trace=calls.trace --options=heapmap=m.svg:log=l:leak_suppressions=s2:leaks=1 \
        printenv MYMALLOC_OPTIONS
    [ "$status" -eq 0 ]
    [ "$output" = "stats=0:log=$T/env.log:stats=json:children=0:leak_suppressions=$T/supp.txt:trace=$T/calls.trace:heapmap=$T/m.svg:log=$T/l:leak_suppressions=$T/s2:leaks=1" ]
    # the trace file of the command line starts empty
    [ ! -s "$T/calls.trace" ]
    run "$M" --stats=1 --children=1 --lib="$H/libstub.so" printenv MYMALLOC_OPTIONS
    [ "$output" = "stats=1:children=1" ]
}

@test "bad values for --stats and --children are refused" {
    run "$M" --stats=xml true
    [ "$status" -eq 2 ]
    [ "$output" = "mymalloc: --stats takes 1 or json, not 'xml'" ]
    run "$M" --children=2 true
    [ "$status" -eq 2 ]
    [ "$output" = "mymalloc: --children takes 0 or 1, not '2'" ]
}

@test "MYMALLOC_ROOT is the library's: mymalloc neither sets nor clears it" {
    for mode in --stats --leaks; do
        MYMALLOC_ROOT=1234 run "$M" "$mode" --lib="$H/libstub.so" printenv MYMALLOC_ROOT
        [ "$status" -eq 0 ]
        [ "$output" = "1234" ]
        run env -u MYMALLOC_ROOT "$M" "$mode" --lib="$H/libstub.so" printenv MYMALLOC_ROOT
        [ "$status" -eq 1 ]
        [ "$output" = "" ]
    done
}

# ---- programs that cannot load the library

@test "a dynamically linked program and a script get no warning" {
    printf '#!/bin/sh\nls "$@"\n' >"$T/script"
    chmod +x "$T/script"
    for prog in ls "$T/script"; do
        run --separate-stderr "$M" --stats "$prog" /
        [ "$status" -eq 0 ]
        [[ $stderr == *"mymalloc: stats for ls (pid "* ]]
        [[ $stderr != *"warning"* ]]
    done
}

@test "a statically linked program, and a script run by one, get a warning and run" {
    printf 'int main(void) { return 5; }\n' >"$T/st.c"
    cc -static -o "$T/st" "$T/st.c"
    run --separate-stderr "$M" --stats "$T/st"
    [ "$status" -eq 5 ]
    [ "$stderr" = "mymalloc: warning: $T/st is statically linked: it cannot load the library and runs without it" ]
    printf '#!%s\n' "$T/st" >"$T/script"
    chmod +x "$T/script"
    run --separate-stderr "$M" --leaks "$T/script"
    [ "$status" -eq 5 ]
    [ "$stderr" = "mymalloc: warning: $T/script is a script whose interpreter $T/st is statically linked: it runs without the library" ]
}

@test "a setuid program gets a warning" {
    ((EUID == 0)) || skip "needs root, to give a program to another user"
    cp "$(command -v id)" "$T/suid"
    chown nobody "$T/suid"
    chmod u+s "$T/suid"
    run --separate-stderr "$M" --stats "$T/suid"
    [ "$status" -eq 0 ]
    [ "${stderr_lines[0]}" = "mymalloc: warning: $T/suid is setuid or setgid: the loader ignores LD_PRELOAD for it, so it runs without the library" ]
}

@test "a shell builtin, or a name that is no program, is refused with status 127" {
    run -127 "$M" cd /
    [ "$output" = "mymalloc: 'cd' is a shell builtin, not a program: there is nothing to run under the library" ]
    run -127 "$M" --leaks no-such-program-here
    [ "$output" = "mymalloc: no-such-program-here: no such program on PATH" ]
    touch "$T/plain"
    run -126 "$M" "$T/plain"
    [ "$output" = "mymalloc: $T/plain: not executable" ]
}

#!/usr/bin/env bats
# leaks=1: at exit, every block still live, grouped by the stack that
# allocated it; lost blocks told apart from reachable ones; the exit status.

load test_helper

setup() { common_setup; }

leaky() { run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="leaks=1${1:+:$1}" "$BUILD/programs/leaky"; }

@test "without the library, the leaky program says nothing and exits 0" {
    run --separate-stderr "$BUILD/programs/leaky"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
}

@test "leaks=1 reports the lost blocks by site, with sizes, counts and function names" {
    leaky
    [ "$status" -eq 23 ]
    [[ ${stderr_lines[0]} =~ ^mymalloc:\ leaks\ of\ leaky\ \(pid\ [0-9]+\):\ 2,300\ bytes\ in\ 3\ blocks\ lost,\ from\ 2\ sites$ ]]
    # the largest site first: make_buffer, called from main
    [ "${stderr_lines[1]}" = "  2,000 bytes in 2 blocks allocated by:" ]
    [[ ${stderr_lines[2]} =~ ^\ \ \ \ #0\ make_buffer\+0x[0-9a-f]+\ \(leaky\+0x[0-9a-f]+\)$ ]]
    [[ ${stderr_lines[3]} =~ ^\ \ \ \ #1\ main\+0x[0-9a-f]+\ \(leaky\+0x[0-9a-f]+\)$ ]]
    [ "${stderr_lines[4]}" = "  300 bytes in 1 block allocated by:" ]
    [[ ${stderr_lines[5]} =~ ^\ \ \ \ #0\ parse_name\+0x ]]
    [[ ${stderr_lines[6]} =~ ^\ \ \ \ #1\ main\+0x ]]
    [ "${stderr_lines[-1]}" = "SUMMARY: 2,300 bytes leaked in 3 blocks from 2 sites (0 bytes indirectly); 0 bytes possibly lost; 64 bytes still reachable" ]
}

@test "a block reachable only from a global is told apart, not counted as lost" {
    leaky
    grep -E '^mymalloc: still reachable in leaky \(pid [0-9]+\): 64 bytes in 1 block, from 1 site' <<<"$stderr"
    grep -A1 '^  64 bytes in 1 block allocated by:' <<<"$stderr" | grep -E '#0 keep_global\+0x'
    # tidy's blocks were all freed: they appear nowhere
    ! grep -q tidy <<<"$stderr"
}

@test "leak_exitcode sets the exit status; 0 leaves it alone" {
    leaky "leak_exitcode=42"
    [ "$status" -eq 42 ]
    leaky "leak_exitcode=0"
    [ "$status" -eq 0 ]
    [[ ${stderr_lines[-1]} == "SUMMARY: 2,300 bytes leaked"* ]]
}

@test "threads: every lost block and nothing else, with leaks=1 alone (no lock) and with other options" {
    # two threads churn 400,000 blocks through their caches and each other's,
    # then lose 10 blocks each; main loses 3 after joining them
    for opts in leaks=1 leaks=1:stats=1 leaks=1:check=1; do
        run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="$opts" "$BUILD/programs/leaky_threads"
        [ "$status" -eq 23 ] || { echo "$opts: status $status"; return 1; }
        mapfile -t rep < <(sed -n '/^mymalloc: leaks of/,$p' <<<"$stderr")
        [[ ${rep[0]} =~ ^mymalloc:\ leaks\ of\ leaky_threads\ \(pid\ [0-9]+\):\ 17,000\ bytes\ in\ 23\ blocks\ lost,\ from\ 2\ sites$ ]] ||
            { echo "$opts: ${rep[0]}"; return 1; }
        [ "${rep[1]}" = "  15,000 bytes in 3 blocks allocated by:" ]
        [[ ${rep[2]} == "    #0 lose_in_main+"* ]]
        [ "${rep[4]}" = "  2,000 bytes in 20 blocks allocated by:" ]
        [[ ${rep[5]} == "    #0 lose_in_thread+"* ]]
        [[ ${rep[6]} == "    #1 worker+"* ]]
        # the loader's TLS vectors of the exited threads are held by glibc's
        # stack cache, not lost
        grep -A2 '^mymalloc: still reachable' <<<"$stderr" | grep -q 'allocate_dtv+\|_dl_allocate_tls+'
        [[ ${rep[-1]} == "SUMMARY: 17,000 bytes leaked in 23 blocks from 2 sites (0 bytes indirectly); 0 bytes possibly lost; "* ]]
    done
}

@test "a block held in the stack of a thread still running at exit is reachable, not lost" {
    for opts in leaks=1 leaks=1:check=1 leaks=1:stats=1; do
        run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="$opts" "$BUILD/programs/leaky_waiter"
        [ "$status" -eq 23 ] || { echo "$opts: status $status"; return 1; }
        mapfile -t rep < <(sed -n '/^mymalloc: leaks of/,$p' <<<"$stderr")
        [[ ${rep[0]} =~ ^mymalloc:\ leaks\ of\ leaky_waiter\ \(pid\ [0-9]+\):\ 200\ bytes\ in\ 1\ block\ lost,\ from\ 1\ site$ ]] ||
            { echo "$opts: ${rep[0]}"; return 1; }
        [[ ${rep[2]} == "    #0 lose_in_main+"* ]]
        grep -A1 '^  700 bytes in 1 block allocated by:' <<<"$stderr" | grep -q '#0 hold_in_thread+'
        [[ ${rep[-1]} == "SUMMARY: 200 bytes leaked in 1 block from 1 site (0 bytes indirectly); 0 bytes possibly lost; "* ]]
    done
}

@test "stack_depth limits the frames recorded" {
    leaky "stack_depth=1"
    [ "${stderr_lines[1]}" = "  2,000 bytes in 2 blocks allocated by:" ]
    [[ ${stderr_lines[2]} == "    #0 make_buffer+"* ]]
    [ "${stderr_lines[3]}" = "  300 bytes in 1 block allocated by:" ]
}

@test "log=PATH sends the report to a file, %p becoming the process id" {
    leaky "log=$T/leaks.%p.txt"
    [ "$status" -eq 23 ]
    [ -z "$stderr" ]
    f=$(ls "$T"/leaks.*.txt)
    [[ $f =~ leaks\.[0-9]+\.txt$ ]]
    grep -q '^SUMMARY: 2,300 bytes leaked in 3 blocks from 2 sites' "$f"
}

@test "scripts/mymalloc --leaks runs a program with leaks=1, adds file:line to frames, passes the exit code" {
    run --separate-stderr "$ROOT/scripts/mymalloc" --leaks "$BUILD/programs/leaky"
    [ "$status" -eq 23 ]
    [[ ${stderr_lines[-1]} == "SUMMARY: 2,300 bytes leaked in 3 blocks from 2 sites"* ]]
    # the program is built with -g: addr2line finds its lines
    [[ ${stderr_lines[2]} =~ ^\ \ \ \ #0\ make_buffer\+0x[0-9a-f]+\ \(leaky\+0x[0-9a-f]+\)\ at\ .*/test/programs/leaky\.c:[0-9]+$ ]]
    # stdin still reaches the program
    run bash -c "printf 'b\na\n' | '$ROOT/scripts/mymalloc' --leaks --options=leak_exitcode=0 sort 2>/dev/null"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "a" ]
    [ "${lines[1]}" = "b" ]
}

# the report really ran
reported() { [[ $stderr == *"SUMMARY: "*" bytes leaked in "* ]]; }

@test "real programs run unchanged with leaks=1 (python3, git, gcc)" {
    real_programs_unchanged leaks=1:leak_exitcode=0 reported
}

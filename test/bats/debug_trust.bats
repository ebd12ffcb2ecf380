#!/usr/bin/env bats
# The debugging modes on real work: no false alarm on a correct program,
# builds and scripts that run as they do without the library, and every
# report at exit printed after the program's own output. Each verdict here
# was held against valgrind's memcheck on the same command (README, "Leak
# verdicts beside memcheck").

load test_helper

setup() { common_setup; }

P="$BUILD/programs"

# Runs "$@" under the library with MYMALLOC_OPTIONS=$opts.
under() { run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="$opts" "$@"; }

# The report's summary line of the process named $1 (the last one).
summary_of() { grep -A1000 "(pid [0-9]*)" <<<"$stderr" | grep '^SUMMARY: ' | tail -1; }

real_python() { python3 -c 'import sys; print(sys.executable)'; }

# ---- check=2: no false alarm ----

@test "check=2 lets a correct program free and resize big blocks (they wait in the quarantine)" {
    opts=check=2 under "$P/big_quarantine"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    opts=check=1:stats=1 under "$P/big_quarantine"
    [ "$status" -eq 0 ]
    grep -Eq '^  quarantine +[0-9]+ freed blocks' <<<"$stderr"
}

@test "check=2 runs git log, sqlite3 and file, which memcheck finds clean, to the end" {
    git init -q repo
    for i in $(seq 1 30); do seq $((i * 1000)) $((i * 1000 + 20000)) >"repo/f$i"; done
    git -C repo add .
    git -C repo -c user.email=t@t -c user.name=t commit -qm files
    opts=check=2 under git -C repo log --stat -p
    [ "$status" -eq 0 ]
    [[ $output == *"f30 | 20001 +"* ]]
    [[ $stderr != *mymalloc* ]]
    q="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<20000) SELECT count(*), length(group_concat(printf('%050d',x))) FROM c;"
    opts=check=2 under sqlite3 :memory: "$q"
    [ "$status" -eq 0 ]
    [ "$output" = "20000|1019999" ]
    [[ $stderr != *mymalloc* ]]
    opts=check=2 under file /usr/bin/[a-c]*
    [ "$status" -eq 0 ]
    [[ $output == *"ELF 64-bit"* ]]
    [[ $stderr != *mymalloc* ]]
}

# ---- leaks=1: what only looks leaky ----

@test "leaks=1: blocks held by TLS, the program's own mappings, thread keys, thread stacks and glibc are reachable" {
    opts=leaks=1 under "$P/held"
    [ "$status" -eq 0 ]
    [ "$output" = "ready" ]
    [[ $stderr != *"leaks of"* ]]
    [[ $stderr != *"possibly lost in"* ]]
    [[ ${stderr_lines[-1]} == "SUMMARY: 0 bytes leaked in 0 blocks from 0 sites (0 bytes indirectly); 0 bytes possibly lost; "* ]]
    # every block the program holds is listed as reachable, by its site
    for f in hold_in_tls hold_in_mapping hold_in_key hold_in_big_thread hold_array hold_aligned; do
        grep -q "#[0-9] $f+0x" <<<"$stderr" || { echo "no reachable block from $f"; return 1; }
    done
}

@test "leaks=1 tells blocks lost directly, indirectly and possibly apart, as memcheck does" {
    opts=leaks=1 under "$P/lost_shapes"
    [ "$status" -eq 23 ]
    mapfile -t rep < <(grep -E '^(mymalloc|SUMMARY|  [0-9])' <<<"$stderr")
    [[ ${rep[0]} =~ ^mymalloc:\ leaks\ of\ lost_shapes\ \(pid\ [0-9]+\):\ 496\ bytes\ in\ 3\ blocks\ lost,\ from\ 3\ sites$ ]]
    [ "${rep[1]}" = "  250 bytes in 1 block allocated by:" ]
    grep -A1 '^  250 bytes in 1 block allocated by:' <<<"$stderr" | grep -q '#0 lose_in_thread+'
    grep -A1 '^  150 bytes in 1 block allocated by:' <<<"$stderr" | grep -q '#0 lose_cycle+'
    grep -A1 '^  96 bytes in 1 block allocated by:' <<<"$stderr" | grep -q '#0 new_node+'
    grep -Eq '^mymalloc: indirectly lost in lost_shapes \(pid [0-9]+\): 342 bytes in 3 blocks, from 3 sites \(pointed to only by lost blocks\)$' <<<"$stderr"
    grep -Eq '^mymalloc: possibly lost in lost_shapes \(pid [0-9]+\): 700 bytes in 1 block, from 1 site \(pointed to only inside, not at their start\)$' <<<"$stderr"
    grep -A1 '^  700 bytes in 1 block allocated by:' <<<"$stderr" | grep -q '#0 keep_inside+'
    [[ ${stderr_lines[-1]} == "SUMMARY: 838 bytes leaked in 6 blocks from 3 sites (342 bytes indirectly); 700 bytes possibly lost; "* ]]
}

@test "leaks=1 (default exit status): python3 with its own allocator, curl and a bash that failed to load a builtin do not leak" {
    opts=leaks=1 under "$(real_python)" -c 'import json; print(len(json.dumps(list(range(1000)))))'
    [ "$status" -eq 0 ]
    [ "$output" = "4890" ]
    [[ $stderr == *"mymalloc: still reachable in python3"* ]]
    [[ ${stderr_lines[-1]} == "SUMMARY: 0 bytes leaked in 0 blocks from 0 sites (0 bytes indirectly); 0 bytes possibly lost; "* ]]
    opts=leaks=1 under curl --version
    [ "$status" -eq 0 ]
    [[ $output == "curl "* ]]
    [[ ${stderr_lines[-1]} == "SUMMARY: 0 bytes leaked in 0 blocks"* ]]
    # dlopen fails: glibc keeps the message for dlerror; the builtin's
    # failure is bash's own status, kept
    opts=leaks=1 under bash -c 'enable -f /nonexistent/builtin.so nothing'
    [ "$status" -eq 1 ]
    [[ $stderr == *"cannot open shared object file"* ]]
    [[ $(summary_of bash) == "SUMMARY: 0 bytes leaked in 0 blocks"* ]]
}

@test "a corrupt heap stops every walk at exit, which says where, instead of looping" {
    # (timeout, a process of its own, is the started one here: the exit
    # status is its child's, and the leak status is not set)
    opts=leaks=1:stats=1:heapmap=$T/map.%p.svg under timeout 60 "$P/corrupt_heap"
    [ "$status" -eq 0 ]
    b=${output#b=}
    # the header 16 bytes before the block b, zeroed by the overflow
    hdr=$(printf '0x%x' $((b - 16)))
    grep -q "^mymalloc: leaks: the heap is corrupt at $hdr: a chunk header this allocator did not write" <<<"$stderr"
    grep -q "^mymalloc: heapmap: the heap is corrupt at $hdr" <<<"$stderr"
    grep -Eq '^  warning +1 segment could not be walked to the end: the heap is corrupt$' <<<"$stderr"
    grep -l '<title>mymalloc heap map of corrupt_heap' "$T"/map.*.svg
}

# ---- builds and scripts ----

@test "leaks=1 (default exit status) lets make build a C and a C++ program; only make's own leaks could set the status" {
    printf 'int main(void) { return 0; }\n' >a.c
    printf '#include <string>\n#include <vector>\nint main() { std::vector<std::string> v{"a", "b"}; return v.size() != 2; }\n' >b.cpp
    printf 'all: a b\na: a.c\n\tgcc -o a a.c\nb: b.cpp\n\tg++ -o b b.cpp\n' >Makefile
    opts=leaks=1 under make
    [ "$status" -eq 0 ]
    [ -x a ]
    [ -x b ]
    ./b
    # the compilers ran under the library and reported (as, ld: lost blocks
    # that memcheck finds too), and their statuses stayed their own
    grep -Eq '^mymalloc: (leaks of|still reachable in) cc1plus \(pid' <<<"$stderr"
    grep -Eq '^mymalloc: leaks of ld \(pid' <<<"$stderr"
}

@test "leaks=1: g++ started directly writes its output, and its own lost blocks (memcheck's too) set its status, with the report" {
    printf 'int main() { return 0; }\n' >c.cpp
    opts=leaks=1 under g++ -o c c.cpp
    [ -x c ]
    grep -Eq '^mymalloc: leaks of g\+\+ \(pid [0-9]+\): [0-9,]+ bytes in [0-9]+ blocks lost' <<<"$stderr"
    [ "$status" -eq 23 ]
}

@test "leaks=1: a wrapper script that finds its program in a subshell and execs it runs it, and the program's status is the run's" {
    cat >shim <<SH
#!/bin/bash
set -e
prog=\$(command -v leaky_exit)
dir=\$(dirname "\$prog")
[ -d "\$dir" ]
exec "\$prog" "\$@"
SH
    chmod +x shim
    PATH="$P:$PATH" opts=leaks=1 under ./shim 7
    [ "$status" -eq 7 ]
    [ "${lines[0]}" = "line 1" ]
    PATH="$P:$PATH" opts=leaks=1 under ./shim
    [ "$status" -eq 23 ]
    grep -Eq '^mymalloc: leaks of leaky_exit \(pid [0-9]+\): 64 bytes in 1 block lost' <<<"$stderr"
}

@test "leaks=1: bash's command substitution works and its status is bash's" {
    opts=leaks=1 under bash -c 'x=$(echo hello); echo "got $x"'
    [ "$status" -eq 0 ]
    [ "$output" = "got hello" ]
}

@test "leaks=1 keeps the program's own exit status, and sets leak_exitcode only where it would have been 0" {
    opts=leaks=1 under "$P/leaky_exit" 5
    [ "$status" -eq 5 ]
    [[ $stderr == *"mymalloc: leaks of leaky_exit"* ]]
    opts=leaks=1 under "$P/leaky_exit" 0
    [ "$status" -eq 23 ]
    opts=leaks=1:leak_exitcode=0 under "$P/leaky_exit" 0
    [ "$status" -eq 0 ]
}

@test "leaks=1: a forked child reports its own lost blocks only, and its status stays its own" {
    opts=leaks=1 under "$P/leaky_fork"
    [ "$status" -eq 23 ]
    [ "$output" = "child exited with 0" ]
    mapfile -t heads < <(grep '^mymalloc: leaks of leaky_fork' <<<"$stderr")
    [ "${#heads[@]}" -eq 2 ]
    # the child reports first (the parent waits for it)
    [[ ${heads[0]} == *": 200 bytes in 1 block lost, from 1 site" ]]
    [[ ${heads[1]} == *": 400 bytes in 2 blocks lost, from 2 sites" ]]
    [ "$(grep -c '#1 lose_before_fork+' <<<"$stderr")" -eq 1 ]
    [ "$(grep -c '#1 lose_in_child+' <<<"$stderr")" -eq 1 ]
}

@test "the program's output comes before the reports at exit" {
    env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=leaks=1:stats=1 "$P/leaky_exit" >out 2>&1 || true
    mapfile -t all <out
    [ "${all[0]}" = "line 1" ]
    [ "${all[2]}" = "line 3" ]
    [[ ${all[3]} == "mymalloc: stats for leaky_exit (pid "* ]]
    grep -q '^mymalloc: leaks of leaky_exit' out
}

@test "check=1 and leaks=1: the check's report at exit, then the leaks', then abort" {
    opts=leaks=1:check=1 under "$P/use_after_free"
    [ "$status" -eq 134 ]
    [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ heap-use-after-free\ on\ the\ 40-byte\ block ]]
    grep -Eq '^mymalloc: leaks of use_after_free \(pid [0-9]+\): 77 bytes in 1 block lost' <<<"$stderr"
    grep -A1 '^  77 bytes in 1 block allocated by:' <<<"$stderr" | grep -q '#0 lose_one+'
}

@test "children=0: only the started program is checked, the programs it runs are not" {
    opts=leaks=1 under bash -c "'$P/leaky_exit' >/dev/null; true"
    [ "$status" -eq 0 ]
    [[ $stderr == *"mymalloc: leaks of leaky_exit"* ]]
    opts=leaks=1:children=0 under bash -c "'$P/leaky_exit' >/dev/null; true"
    [ "$status" -eq 0 ]
    [[ $stderr != *"leaky_exit"* ]]
    [[ $stderr == *"mymalloc: still reachable in bash"* ]]
}

@test "relative paths in the options are where the started program was, for it and its children" {
    mkdir sub
    opts=leaks=1:log=reports.%p under bash -c "cd sub && '$P/leaky_exit' >/dev/null; cd .. && true"
    [ "$status" -eq 0 ]
    [ -z "$(ls sub)" ]
    grep -l '^mymalloc: leaks of leaky_exit' reports.*
    grep -l '^mymalloc: still reachable in bash' reports.*
}

@test "heapmap=FILE without %p is the started program's map, not the last child's" {
    opts=heapmap=map.svg under bash -c "'$P/alloc_one' 100 >/dev/null; true"
    [ "$status" -eq 0 ]
    grep -q '<title>mymalloc heap map of bash (pid' map.svg
    opts=heapmap=map.%p.svg under bash -c "'$P/alloc_one' 100 >/dev/null; true"
    grep -l '<title>mymalloc heap map of alloc_one (pid' map.*.svg
}

# ---- what the report lists ----

@test "leak_suppressions: lost blocks whose stack names a suppressed function or module are counted apart" {
    printf '# known leaks\nleak:make_buffer\n' >supp
    opts=leaks=1:leak_suppressions=supp under "$P/leaky"
    [ "$status" -eq 23 ]
    grep -Eq '^mymalloc: leaks of leaky \(pid [0-9]+\): 300 bytes in 1 block lost, from 1 site$' <<<"$stderr"
    [[ $stderr != *make_buffer* ]]
    [[ ${stderr_lines[-1]} == *"; 2,000 bytes suppressed" ]]
    printf 'leaky\n' >supp
    opts=leaks=1:leak_suppressions=supp under "$P/leaky"
    [ "$status" -eq 0 ]
    [[ ${stderr_lines[-1]} == "SUMMARY: 0 bytes leaked in 0 blocks"*"; 2,300 bytes suppressed" ]]
}

@test "leak_reachable=0 leaves the reachable blocks out of the list, and counts them" {
    opts=leaks=1:leak_reachable=0 under "$P/leaky"
    [ "$status" -eq 23 ]
    [[ $stderr != *"still reachable in"* ]]
    [[ $stderr != *keep_global* ]]
    [[ ${stderr_lines[-1]} == *"; 64 bytes still reachable" ]]
}

@test "the default stack depth reaches the function that leaked a std::vector through libstdc++'s templates" {
    opts=leaks=1 under "$P/leaky_vector"
    [ "$status" -eq 23 ]
    grep -A12 '^mymalloc: indirectly lost in leaky_vector' <<<"$stderr" | grep -q 'fill_and_lose'
    grep -A12 '^mymalloc: leaks of leaky_vector' <<<"$stderr" | grep -q 'fill_and_lose'
}

@test "leaks=1: a block of 0 bytes is held by a pointer to its start, as in memcheck (clang++ exited 23 on a clean compile)" {
    opts=leaks=1 under "$P/zero_blocks"
    [ "$status" -eq 0 ]
    grep -Eq '^mymalloc: still reachable in zero_blocks \(pid [0-9]+\): 16 bytes in 4 blocks, from 4 sites' <<<"$stderr"
    [ "${stderr_lines[-1]}" = "SUMMARY: 0 bytes leaked in 0 blocks from 0 sites (0 bytes indirectly); 0 bytes possibly lost; 16 bytes still reachable" ]
    opts=leaks=1 under "$P/zero_blocks" lose
    [ "$status" -eq 23 ]
    grep -Eq '^mymalloc: leaks of zero_blocks \(pid [0-9]+\): 0 bytes in 1 block lost, from 1 site$' <<<"$stderr"
    grep -A1 '^  0 bytes in 1 block allocated by:' <<<"$stderr" | grep -q '#0 lose+'
    # LLVM gives an instruction without operands (a landing pad's) a block
    # of 0 bytes; its compiler runs in the driver's process, and memcheck
    # finds nothing definitely lost there
    printf '#include <string>\n#include <vector>\nstd::vector<std::string> f(int n) { std::vector<std::string> v; for (int i = 0; i < n; i++) v.push_back(std::to_string(i)); return v; }\nint main(int argc, char **) { return (int)f(argc).size() - 1; }\n' >"$T/z.cpp"
    opts=leaks=1 under clang++ -O1 -c -o "$T/z.o" "$T/z.cpp"
    [ "$status" -eq 0 ]
    [[ $stderr == *"mymalloc: still reachable in clang++"* ]]
    [[ $stderr != *"lost, from"* ]]
}

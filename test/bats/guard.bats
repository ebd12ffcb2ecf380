#!/usr/bin/env bats
# guard=N: blocks against inaccessible pages. A read or a write past a
# guarded block, before it (guard_side=start) or after it was freed faults
# where it happens, and the report names the access, its stack, and the
# block's stacks; writes into the rest of the block's page are found at
# free and at exit. Faults that are not the library's go where they would.

load test_helper

setup() { common_setup; }

P="$BUILD/programs"

guarded() { run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="guard=1${2:+:$2}" "$P/bad_access" "$1"; }

@test "without guard pages, a read past a block or after free goes unseen (the library is loaded: stats=1)" {
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=stats=1 "$P/bad_access" read_freed
    [ "$status" -eq 0 ]
    [ "$output" = "done" ]
    [[ $stderr == *"mymalloc: stats for bad_access"* ]]
    [[ $stderr != *ERROR* ]]
}

@test "guard=1: a read and a write past the end fault where they happen, with the access's stack" {
    for kind in read write; do
        guarded "${kind}_past"
        [ "$status" -eq 134 ]
        [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ heap-buffer-overflow\ on\ the\ 40-byte\ block\ 0x[0-9a-f]+:\ a\ $kind\ at\ 0x[0-9a-f]+,\ 16\ bytes\ past\ its\ end$ ]]
        [ "${stderr_lines[1]}" = "  the access was made by:" ]
        [[ ${stderr_lines[2]} == "    #0 ${kind}_past+"* ]]
        [[ ${stderr_lines[3]} == "    #1 main+"* ]]
        [ "${stderr_lines[4]}" = "  the block was allocated by:" ]
        [[ ${stderr_lines[5]} == "    #0 make_block+"* ]]
        [[ $output != *done* ]]
    done
}

@test "guard=1: a read and a write after free fault, with the stacks that allocated and freed the block" {
    for kind in read write; do
        guarded "${kind}_freed"
        [ "$status" -eq 134 ]
        [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ heap-use-after-free\ on\ the\ 40-byte\ block\ 0x[0-9a-f]+:\ a\ $kind\ at\ 0x[0-9a-f]+,\ offset\ 8,\ after\ it\ was\ freed$ ]]
        [[ ${stderr_lines[2]} == "    #0 ${kind}_freed+"* ]]
        grep -A1 '^  the block was allocated by:' <<<"$stderr" | grep -q '#0 make_block+'
        grep -A1 '^  and freed by:' <<<"$stderr" | grep -q '#0 drop_block+'
    done
}

@test "guard_side=start: a read and a write before the start fault as underflows" {
    # read_before reads the byte before the start, write_before writes the 4
    for access in "read 1 byte" "write 4 bytes"; do
        kind=${access%% *}
        guarded "${kind}_before" guard_side=start
        [ "$status" -eq 134 ]
        [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ heap-buffer-underflow\ on\ the\ 40-byte\ block\ 0x[0-9a-f]+:\ a\ $kind\ at\ 0x[0-9a-f]+,\ ${access#* }\ before\ its\ start$ ]]
        [[ ${stderr_lines[2]} == "    #0 ${kind}_before+"* ]]
    done
}

@test "writes into the rest of a guarded block's page are found at free, or at exit" {
    # 40 bytes end 8 bytes short of the page (16-byte alignment): the slack
    guarded write_slack
    [ "$status" -eq 134 ]
    [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ heap-buffer-overflow\ on\ the\ 40-byte\ block\ 0x[0-9a-f]+:\ 3\ bytes\ written\ past\ its\ end,\ from\ offset\ 40$ ]]
    grep -A1 '^  found in free(), called from:' <<<"$stderr" | grep -q '#0 drop_block+'
    # before a block lying against its page's end: found at exit (the block
    # is never freed), and the program's output is there first
    guarded write_before
    [ "$status" -eq 134 ]
    [ "$output" = "done" ]
    [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ heap-buffer-underflow\ on\ the\ 40-byte\ block\ 0x[0-9a-f]+:\ 4\ bytes\ written\ before\ its\ start,\ from\ offset\ -4$ ]]
    [[ $stderr == *"  found at exit"* ]]
}

@test "guard=1: a double free of a guarded block, with its stacks" {
    guarded double_free
    [ "$status" -eq 134 ]
    [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ double-free\ of\ the\ 40-byte\ block\ 0x[0-9a-f]+$ ]]
    grep -A1 '^  and freed by:' <<<"$stderr" | grep -q '#0 drop_block+'
}

@test "a fault that is not the library's goes to the program's own handler, or kills as it would" {
    run env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=guard=1 "$P/own_segv"
    [ "$status" -eq 3 ]
    [ "$output" = "own handler" ]
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=guard=1 "$P/own_segv" plain
    [ "$status" -eq 139 ]
    [[ $stderr != *mymalloc* ]]
}

@test "guard=1000 guards one allocation in 1000, drawn at random" {
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=guard=1000:stats=1 "$P/cxx_containers" 200000
    [ "$status" -eq 0 ]
    n=$(sed -n 's/^  guard pages *\([0-9]*\) blocks guarded since start.*/\1/p' <<<"$stderr")
    # about 800 of some 800,000 allocations (and far from every one, or none)
    [ "$n" -gt 400 ]
    [ "$n" -lt 1600 ]
}

@test "guarded blocks are in the leak report like any other" {
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=guard=1:leaks=1 "$P/leaky"
    [ "$status" -eq 23 ]
    grep -Eq '^mymalloc: leaks of leaky \(pid [0-9]+\): 2,300 bytes in 3 blocks lost, from 2 sites$' <<<"$stderr"
    grep -q '#0 keep_global+' <<<"$stderr"
}

# the library was there (its stats), and found nothing to report
clean() { [[ $stderr == *"mymalloc: stats for "* ]] && ! grep -q 'ERROR' <<<"$stderr"; }

@test "correct programs run unchanged with every block guarded (python3, git, gcc)" {
    real_programs_unchanged guard=1:stats=1 clean
}

# guard alone keeps the pages on (small blocks not sampled live there): the
# heap map each process draws at exit proves the library ran, and nothing
# else may be said
pages_and_guard() { [ -z "$stderr" ] && compgen -G "$T/g.*.svg" >/dev/null; }

@test "guard alone keeps the pages on: python3 (with its own allocator and with malloc's), git and gcc run unchanged" {
    real_programs_unchanged "guard=50:heapmap=$T/g.%p.svg" pages_and_guard
    # strings grown by realloc, under pymalloc (python's default): blocks
    # of the pages resized through the toolkit's realloc
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="guard=50:heapmap=$T/p.%p.svg" python3 -c '
l = []
for i in range(200000):
    s = str(i) * 3
    l.append(s if i % 3 else s + "x" * 50)
print(len("".join(l)))'
    [ "$status" -eq 0 ]
    [ "$output" = 6600020 ]
    [ -z "$stderr" ]
    compgen -G "$T/p.*.svg" >/dev/null
    # malloc(0) guarded: a byte against the guard page, not the page itself
    # (free of it aborted: "not the start of a block (a guarded one)")
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=guard=1:stats=1 PYTHONMALLOC=malloc python3 -c '
import ctypes
c = ctypes.CDLL(None)
c.malloc.restype = ctypes.c_void_p
c.free.argtypes = [ctypes.c_void_p]
for n in range(0, 40):
    c.free(c.malloc(n))
print("ok")'
    [ "$status" -eq 0 ]
    [ "$output" = ok ]
    [[ $stderr == *"mymalloc: stats for python"* ]]
}

@test "scripts/mymalloc --guard and --guard-side set the options, and the access's line is the faulting one" {
    run --separate-stderr "$ROOT/scripts/mymalloc" --guard "$P/bad_access" read_freed
    [ "$status" -eq 134 ]
    line=$(grep -n 'sink = p\[8\]' "$ROOT/test/programs/bad_access.c" | cut -d: -f1)
    [[ ${stderr_lines[2]} == "    #0 read_freed+0x"*" at $ROOT/test/programs/bad_access.c:$line" ]]
    run --separate-stderr "$ROOT/scripts/mymalloc" --guard=1 --guard-side=start "$P/bad_access" write_before
    [ "$status" -eq 134 ]
    [[ ${stderr_lines[0]} == "mymalloc: ERROR: heap-buffer-underflow on the 40-byte block "* ]]
    run "$ROOT/scripts/mymalloc" --guard=x true
    [ "$status" -eq 2 ]
}

@test "guard=1 guards nothing before the library's constructor: ls (its libselinux mallocs and frees there) and a library's blocks" {
    # the options are read at the first call, but a block guarded then
    # was freed on the quiet path, which knew no guarded block: every run
    # of ls aborted ("free(): invalid pointer ...: not allocated by mymalloc")
    expected=$(ls /)
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=guard=1:stats=1 ls /
    [ "$status" -eq 0 ]
    [ "$output" = "$expected" ]
    [[ $stderr =~ guard\ pages\ +[1-9][0-9]*\ blocks\ guarded\ since\ start ]]
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=guard=1 "$P/early_blocks"
    [ "$status" -eq 0 ]
    [ "$output" = "mymalloc 600000" ]
    [ -z "$stderr" ]
    run --separate-stderr "$ROOT/scripts/mymalloc" --guard ls /
    [ "$status" -eq 0 ]
    [ "$output" = "$expected" ]
    [ -z "$stderr" ]
}

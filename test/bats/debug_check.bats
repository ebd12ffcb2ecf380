#!/usr/bin/env bats
# check=1 and check=2: memory errors caught when they can be seen, reported
# with the block's size and the stacks that allocated and freed it.

load test_helper

setup() { common_setup; }

checked() { run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="check=1${2:+:$2}" "$BUILD/programs/$1" "${@:3}"; }

@test "without check=1 a write after free and a one-byte overflow run to the end; a second free is stopped" {
    # small blocks live in pages, with nothing between them for free to
    # check: the byte past a 40-byte block lands in its 48-byte class
    run --separate-stderr env LD_PRELOAD="$LIB" "$BUILD/programs/overflow_one"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    run --separate-stderr env LD_PRELOAD="$LIB" "$BUILD/programs/use_after_free"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    # the page's record still stops a second free, in one line and without
    # stacks (and this proves the library is loaded)
    run --separate-stderr env LD_PRELOAD="$LIB" "$BUILD/programs/bad_access" double_free
    [ "$status" -eq 134 ]
    [[ $stderr == "mymalloc: free(): double free of 0x"*" (48-byte block)" ]]
}

@test "a one-byte overflow is reported at free, with the offset past the end and both stacks" {
    checked overflow_one
    [ "$status" -eq 134 ]
    [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ heap-buffer-overflow\ on\ the\ 40-byte\ block\ 0x[0-9a-f]+:\ 1\ byte\ written\ past\ its\ end,\ from\ offset\ 40$ ]]
    [ "${stderr_lines[1]}" = "  the block was allocated by:" ]
    [[ ${stderr_lines[2]} =~ ^\ \ \ \ #0\ write_past_end\+0x[0-9a-f]+\ \(overflow_one\+0x[0-9a-f]+\)$ ]]
    [[ ${stderr_lines[3]} =~ ^\ \ \ \ #1\ main\+0x ]]
    [ "${stderr_lines[4]}" = "  found in free(), called from:" ]
    [[ ${stderr_lines[5]} =~ ^\ \ \ \ #0\ main\+0x ]]
}

@test "a write after free is reported with the offset inside the block and where it was freed" {
    checked use_after_free
    [ "$status" -eq 134 ]
    [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ heap-use-after-free\ on\ the\ 40-byte\ block\ 0x[0-9a-f]+:\ written\ at\ offset\ 8\ after\ it\ was\ freed$ ]]
    [[ ${stderr_lines[2]} == "    #0 make_block+"* ]]
    [ "${stderr_lines[4]}" = "  and freed by:" ]
    [[ ${stderr_lines[5]} == "    #0 drop_block+"* ]]
    [[ ${stderr_lines[6]} == "    #1 main+"* ]]
}

@test "a write after free is found when the block leaves the quarantine" {
    checked use_after_free "quarantine=4K" more
    [ "$status" -eq 134 ]
    [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ heap-use-after-free\ on\ the\ 40-byte\ block\ 0x[0-9a-f]+:\ written\ at\ offset\ 8 ]]
    [ "${stderr_lines[7]}" = "  found in free(), called from:" ]
    [[ ${stderr_lines[8]} == "    #0 main+"* ]]
    # with no quarantine the block is reused at once: nothing to see
    checked use_after_free "quarantine=0" more
    [ "$status" -eq 0 ]
}

@test "a write before a block's start is reported as an underflow, at free and at exit" {
    # without check=1 the byte lands in the block before, in its page: no
    # header there to see it
    run --separate-stderr env LD_PRELOAD="$LIB" "$BUILD/programs/bad_access" underflow_free
    [ "$status" -eq 0 ]
    [ "$output" = "done" ]
    checked bad_access "" underflow_free
    [ "$status" -eq 134 ]
    [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ heap-buffer-underflow\ on\ the\ 40-byte\ block\ 0x[0-9a-f]+:\ its\ header,\ in\ the\ 16\ bytes\ before\ its\ start,\ was\ written\ over$ ]]
    [[ ${stderr_lines[2]} == "    #0 make_block+"* ]]
    [ "${stderr_lines[4]}" = "  found in free(), called from:" ]
    [[ ${stderr_lines[5]} == "    #0 drop_block+"* ]]
    [[ ${stderr_lines[6]} == "    #1 underflow_free+"* ]]
    # never freed: the walk at exit finds the header, after the output
    checked bad_access "" write_before
    [ "$status" -eq 134 ]
    [ "$output" = "done" ]
    [[ ${stderr_lines[0]} == "mymalloc: ERROR: heap-buffer-underflow on the 40-byte block 0x"* ]]
    [ "${stderr_lines[4]}" = "  found at exit, when the heap was checked" ]
    # the block before it still reports its own overflow, not an underflow
    checked overflow_one
    [[ ${stderr_lines[0]} == "mymalloc: ERROR: heap-buffer-overflow on the 40-byte block "* ]]
}

@test "freed blocks wait first in their thread's own batch: errors across threads are found, none made up" {
    # a second free from another thread, after the first thread ended
    checked threads_after_free "" cross_double
    [ "$status" -eq 134 ]
    [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ double-free\ of\ the\ 40-byte\ block\ 0x[0-9a-f]+$ ]]
    [ "${stderr_lines[4]}" = "  and freed by:" ]
    [[ ${stderr_lines[6]} == "    #1 free_shared+"* ]]
    # two threads freeing one block amid their own frees: one of them is told
    checked threads_after_free "" racing_double
    [ "$status" -eq 134 ]
    [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ double-free\ of\ the\ 40-byte\ block ]]
    # the first word of a held block carries its mark: a write there is seen
    checked threads_after_free "" first_word
    [ "$status" -eq 134 ]
    [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ heap-use-after-free\ on\ the\ 40-byte\ block\ 0x[0-9a-f]+:\ written\ at\ offset\ 0\ after\ it\ was\ freed$ ]]
    [ "${stderr_lines[6]}" = "  and freed by:" ]
    [[ ${stderr_lines[8]} == "    #1 write_first+"* ]]
    # a thread that ends passes its batch on: checked at exit
    checked threads_after_free "" thread_ends
    [ "$status" -eq 134 ]
    [ "$output" = "done" ]
    [[ ${stderr_lines[0]} == *"written at offset 24 after it was freed" ]]
    [ "${stderr_lines[-1]}" = "  found at exit, when the heap was checked" ]
    # four threads trading blocks: nothing to report, every time
    for i in 1 2 3; do
        checked threads_after_free "" churn
        [ "$status" -eq 0 ]
        [ -z "$stderr" ]
    done
}

@test "a double free is reported with the stacks of the allocation and of both frees" {
    checked double_free_check
    [ "$status" -eq 134 ]
    [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ double-free\ of\ the\ 40-byte\ block\ 0x[0-9a-f]+$ ]]
    [[ ${stderr_lines[2]} == "    #0 make_block+"* ]]
    [[ ${stderr_lines[5]} == "    #0 drop_block+"* ]]
    [ "${stderr_lines[7]}" = "  found in free(), called from:" ]
    [[ ${stderr_lines[8]} == "    #0 main+"* ]]
}

@test "new blocks are filled with a pattern under check=1" {
    checked smash
    [ "$status" -eq 0 ]
    [ "$output" = "fresh=be" ]
}

@test "check=2 walks the whole heap every check_every calls and stops at a smashed header" {
    checked smash "check=2:check_every=100" x
    [ "$status" -eq 134 ]
    [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ heap-corruption\ found\ by\ check=2\ in\ (malloc|free)\(\):\ [0-9]+\ violations?\ of\ the\ heap\'s\ invariants:$ ]]
    [[ $stderr == *"mymalloc: check: segment 0x"*": bad header at 0x"* ]]
    # check=1 alone does not walk the heap: the smashed block is never freed
    checked smash "" x
    [ "$status" -eq 0 ]
}

@test "scripts/mymalloc --check and --check=2 set the options" {
    run --separate-stderr "$ROOT/scripts/mymalloc" --check "$BUILD/programs/overflow_one"
    [ "$status" -eq 134 ]
    [[ ${stderr_lines[0]} == *"heap-buffer-overflow"* ]]
    run --separate-stderr "$ROOT/scripts/mymalloc" --check=2 --options=check_every=100 "$BUILD/programs/smash" x
    [ "$status" -eq 134 ]
    [[ $stderr == *"ERROR: heap-corruption found by check=2"* ]]
}

# the library was there (its stats), and found nothing to report
checked_clean() {
    [[ $stderr == *"mymalloc: stats for "* ]] && ! grep -q 'ERROR' <<<"$stderr"
}

@test "real programs run unchanged with check=1 (python3, git, gcc)" {
    real_programs_unchanged check=1:stats=1 checked_clean
}

@test "blocks made before the library's constructor ran carry no record: check=1 and check=2 free them without a report" {
    # early_lib's constructor runs before the preloaded library's, as ls's
    # libselinux and gdb's gnutls do: 600,000 blocks made before the
    # options were read, whose last bytes pass a record's 16-bit tag for
    # about nine of them. Before this was known, each run named one of
    # them a "heap-buffer-overflow on the 0-byte block" (gdb: 4 runs in 240).
    for opts in check=1 check=2 check=1:leaks=1; do
        run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="$opts" "$BUILD/programs/early_blocks"
        [ "$status" -eq 0 ]
        [ "$output" = "mymalloc 600000" ]
        [[ $stderr != *ERROR* ]]
    done
    run --separate-stderr "$ROOT/scripts/mymalloc" --check "$BUILD/programs/early_blocks"
    [ "$status" -eq 0 ]
    [ "$output" = "mymalloc 600000" ]
    [ -z "$stderr" ]
}

#!/usr/bin/env bats
# The benchmark workloads still work: scripts/bench --quick runs each one
# once, briefly, under glibc's malloc and under the library, and fails when
# any run fails, never on timing.

load test_helper

setup() { common_setup; }

WORKLOADS=(churn_lifo random_free realloc_grow big_blocks fragment python_dicts gcc_big prodcons two_threads
    thread_churn larson)

@test "the library is loaded into a benchmark run, and glibc prints no summary" {
    run "$BUILD/bench/runner" -p "$LIB" -o "$T/lib.err" MYMALLOC_OPTIONS=stats=1 "$BUILD/bench/churn_lifo" 0.01
    [ "$status" -eq 0 ]
    [[ $output == ok* ]]
    assert_loaded churn_lifo "$T/lib.err"
    run "$BUILD/bench/runner" -o "$T/plain.err" MYMALLOC_OPTIONS=stats=1 "$BUILD/bench/churn_lifo" 0.01
    [ "$status" -eq 0 ]
    ! grep -q '^mymalloc:' "$T/plain.err"
}

@test "scripts/bench --quick runs every workload under glibc and the library" {
    run --separate-stderr env MYMALLOC_BUILD_DIR="$BUILD" "$ROOT/scripts/bench" --quick
    echo "$stderr"
    echo "$output"
    [ "$status" -eq 0 ]
    # scripts/bench checked that each workload's own process printed the
    # library's summary before it timed anything.
    [[ $stderr == *"mymalloc is loaded in every workload"* ]]
    [[ $output == *"| workload | threads | glibc | mymalloc |"* ]]
    for w in "${WORKLOADS[@]}"; do
        grep -Eq "^\| $w \| [0-9]+ \| [0-9.]+ s \| [0-9.]+ s \([0-9.]+\) \|$" <<<"$output"
        grep -Eq "^\| $w \| [0-9]+ \| [0-9.]+ MiB \| [0-9.]+ MiB \([0-9.]+\) \|$" <<<"$output"
    done
    # fragment prints its resident size at the end: a third table, with it alone.
    [[ $output == *"Resident size at the end"* ]]
    [ "$(grep -Ec "^\| fragment \| 1 \| [0-9.]+ MiB \| [0-9.]+ MiB \([0-9.]+\) \|$" <<<"$output")" -eq 2 ]
    [ "$(sed -n '/^Resident size at the end/,$p' <<<"$output" | grep -c '^| [a-z_]* | [0-9]')" -eq 1 ]
    ! grep -q FAILED <<<"$output"
}

@test "a run that fails shows as FAILED, never as a number, and scripts/bench exits 1" {
    # The runner: a crash, an exit status, a hang.
    run "$BUILD/bench/runner" sh -c 'kill -SEGV $$'
    [ "$status" -eq 1 ]
    [[ $output == "FAILED"*"signal 11"* ]]
    run "$BUILD/bench/runner" false
    [ "$status" -eq 1 ]
    [[ $output == "FAILED"*"exit 1" ]]
    run "$BUILD/bench/runner" -t 1 sleep 30
    [ "$status" -eq 1 ]
    [[ $output == "FAILED"*"timeout after 1 s" ]]
    # scripts/bench: a workload that refuses its input (scale 0) fails its
    # runs under both allocators.
    run --separate-stderr env MYMALLOC_BUILD_DIR="$BUILD" "$ROOT/scripts/bench" --quick --only churn_lifo --scale 0
    echo "$stderr"
    [ "$status" -eq 1 ]
    grep -Fxq '| churn_lifo | 1 | FAILED | FAILED |' <<<"$output"
    [[ $stderr == *"churn_lifo under mymalloc FAILED (exit 1)"*"bad scale '0'"* ]]
}

@test "scripts/bench --with runs another build of the library as a column of its own" {
    cp "$(readlink -f "$LIB")" "$T/libother.so"
    run --separate-stderr env MYMALLOC_BUILD_DIR="$BUILD" "$ROOT/scripts/bench" --quick --only churn_lifo \
        --with "other=$T/libother.so"
    echo "$stderr"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"| workload | threads | glibc | mymalloc | other |"* ]]
    grep -Eq '^\| churn_lifo \| 1 \| [0-9.]+ s \| [0-9.]+ s \([0-9.]+\) \| [0-9.]+ s \([0-9.]+\) \|$' <<<"$output"
    run env MYMALLOC_BUILD_DIR="$BUILD" "$ROOT/scripts/bench" --quick --with "other=$T/none.so"
    [ "$status" -eq 2 ]
    [[ $output == *"no library at"* ]]
}

@test "scripts/bench --programs runs programs no one here wrote, and fails one whose output changed" {
    run --separate-stderr env MYMALLOC_BUILD_DIR="$BUILD" "$ROOT/scripts/bench" --programs --runs 1 --scale 0.05 \
        --only bash_assoc,awk_words --allocators glibc,mymalloc
    echo "$stderr"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $stderr == *"mymalloc is loaded in every workload"* ]]
    grep -Eq '^\| bash_assoc \| - \| [0-9.]+ s \| [0-9.]+ s \([0-9.]+\) \|$' <<<"$output"
    grep -Eq '^\| awk_words \| - \| [0-9.]+ MiB \| [0-9.]+ MiB \([0-9.]+\) \|$' <<<"$output"
    grep -Eq '^\| geometric mean \| all \| 1.00 \| [0-9.]+ \|$' <<<"$output"
    # the library's summary (stats=1) in what bash prints: not what it printed alone
    run --separate-stderr env MYMALLOC_BUILD_DIR="$BUILD" MYMALLOC_OPTIONS=stats=1 "$ROOT/scripts/bench" --programs \
        --runs 1 --scale 0.05 --only bash_assoc --allocators glibc,mymalloc
    echo "$stderr"
    [ "$status" -eq 1 ]
    grep -Eq '^\| bash_assoc \| - \| [0-9.]+ s \| FAILED \|$' <<<"$output"
    [[ $stderr == *"bash_assoc under mymalloc FAILED (its output differs from what it printed without a preload)"* ]]
}

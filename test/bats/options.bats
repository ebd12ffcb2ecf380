#!/usr/bin/env bats
# MYMALLOC_OPTIONS: values take effect; a bad one gets a warning naming it,
# and the default; the README's table is the library's own list.

load test_helper

setup() { common_setup; }

alloc_one() { run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="$1" "$BUILD/programs/alloc_one" "$2"; }

# glibc knows nothing of MYMALLOC_OPTIONS: an option that changes what the
# program sees proves the library is the one allocating.
@test "mmap_threshold decides which blocks get their own mapping" {
    alloc_one "" 200000
    [ "$status" -eq 0 ]
    [ "$output" = "mapped=1" ]
    [ -z "$stderr" ]
    alloc_one "mmap_threshold=1M" 200000
    [ "$output" = "mapped=0" ]
    [ -z "$stderr" ]
    alloc_one "mmap_threshold=64k" 100000
    [ "$output" = "mapped=1" ]
    [ -z "$stderr" ]
}

@test "a bad value gets a warning and the default" {
    alloc_one "mmap_threshold=lots" 200000
    [ "$output" = "mapped=1" ]
    [ "$stderr" = "mymalloc: MYMALLOC_OPTIONS: bad value 'lots' for mmap_threshold (a size from 4K to 1G, such as 64K or 2M); using the default 128K" ]
    alloc_one "mmap_threshold=100" 200000
    [ "$output" = "mapped=1" ]
    [[ $stderr == *"bad value '100' for mmap_threshold"*"using the default 128K" ]]
    alloc_one "mmap_threshold=99999999999999999999999" 200000
    [[ $stderr == *"bad value '99999999999999999999999'"* ]]
    alloc_one "leaks=maybe" 10
    [ "$stderr" = "mymalloc: MYMALLOC_OPTIONS: bad value 'maybe' for leaks (0 or 1); using the default 0" ]
    alloc_one "stats=xml" 10
    [ "$stderr" = "mymalloc: MYMALLOC_OPTIONS: bad value 'xml' for stats (one of 0|1|json); using the default 0" ]
    alloc_one "check=3" 10
    [ "$stderr" = "mymalloc: MYMALLOC_OPTIONS: bad value '3' for check (a number from 0 to 2); using the default 0" ]
    alloc_one "trim_threshold=" 10
    [[ $stderr == *"bad value '' for trim_threshold"* ]]
}

@test "an unwritable path gets a warning and the default" {
    alloc_one "log=/nonexistent/dir/log.txt:trace=/proc/nope" 10
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "mapped=0" ]
    grep -qxF "mymalloc: MYMALLOC_OPTIONS: cannot write to '/nonexistent/dir/log.txt' for log (No such file or directory); using the default (stderr)" <<<"$stderr"
    grep -qF "mymalloc: MYMALLOC_OPTIONS: cannot write to '/proc/nope' for trace" <<<"$stderr"
}

@test "an unknown option gets a warning and is ignored" {
    alloc_one "colour=blue:mmap_threshold=1M" 200000
    [ "$output" = "mapped=0" ]
    [ "$stderr" = "mymalloc: MYMALLOC_OPTIONS: unknown option 'colour' ignored (MYMALLOC_OPTIONS=help=1 lists them)" ]
}

@test "empty pieces and a bare boolean name are accepted" {
    alloc_one ":stats::" 10
    [ "$status" -eq 0 ]
    [[ $stderr == "mymalloc: stats for alloc_one (pid "* ]]
}

@test "the README's table of options is the library's own list" {
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=help=1 true
    [ "$status" -eq 0 ]
    [ -n "$stderr" ]
    printf '%s\n' "$stderr" >"$T/table"
    while IFS= read -r line; do
        grep -qxF -- "$line" "$ROOT/README.md" || { echo "README lacks: $line"; false; }
    done <"$T/table"
}

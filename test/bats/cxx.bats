#!/usr/bin/env bats
# C++: every form of operator new and delete is the library's; with a
# debugging option on, a block freed by the wrong family is reported, as
# AddressSanitizer's alloc-dealloc-mismatch and memcheck's "Mismatched free"
# report it; operator new behaves as C++ says (new-handler, bad_alloc).

load test_helper

setup() { common_setup; }

P="$BUILD/programs"

@test "the library exports every form of operator new and delete, and C++ programs use them" {
    for sym in _Znwm _Znam _ZnwmRKSt9nothrow_t _ZnamRKSt9nothrow_t _ZnwmSt11align_val_t _ZnamSt11align_val_t \
               _ZnwmSt11align_val_tRKSt9nothrow_t _ZnamSt11align_val_tRKSt9nothrow_t _ZdlPv _ZdaPv \
               _ZdlPvRKSt9nothrow_t _ZdaPvRKSt9nothrow_t _ZdlPvm _ZdaPvm _ZdlPvSt11align_val_t _ZdaPvSt11align_val_t \
               _ZdlPvSt11align_val_tRKSt9nothrow_t _ZdaPvSt11align_val_tRKSt9nothrow_t _ZdlPvmSt11align_val_t \
               _ZdaPvmSt11align_val_t; do
        nm -D --defined-only "$LIB" | grep -qw "$sym" || { echo "not exported: $sym"; return 1; }
    done
    # the library depends on the C library alone: libstdc++ is the program's
    ! readelf -d "$LIB" | grep NEEDED | grep -q 'libstdc++'
    # a new'd block is the library's: leaks=1 knows who made it
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=leaks=1 "$P/cxx_mismatch" new-free
    [[ ${stderr_lines[0]} == "mymalloc: ERROR: alloc-dealloc-mismatch (operator new vs free)"* ]]
}

@test "every mismatch of families is reported with both stacks, under leaks=1, check=1 and stats=1" {
    while IFS='|' read -r mode first fn; do
        for opts in leaks=1 check=1 stats=1; do
            run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="$opts" "$P/cxx_mismatch" "$mode"
            [ "$status" -eq 134 ] || { echo "$mode $opts: status $status"; return 1; }
            [[ ${stderr_lines[0]} == "mymalloc: ERROR: $first on the "*"-byte block 0x"* ]] ||
                { echo "$mode $opts: ${stderr_lines[0]}"; return 1; }
            [ "${stderr_lines[1]}" = "  the block was allocated by:" ]
            # (stats=1 records no stacks: the block's own is not known)
            if [[ $opts != stats=1 ]]; then
                [[ ${stderr_lines[2]} == "    #0 "*"${mode//-/_}"* ]] || { echo "$mode $opts: ${stderr_lines[2]}"; return 1; }
            fi
            grep -A1 -F "  found in $fn(), called from:" <<<"$stderr" | grep -q "#0 .*${mode//-/_}" ||
                { echo "$mode $opts: not found in $fn() of ${mode//-/_}"; return 1; }
            grep -qF "  found in $fn(), called from:" <<<"$stderr" || { echo "$mode $opts: no 'found in $fn()'"; return 1; }
            [[ $output != *done* ]]
        done
    done <<'EOF'
malloc-delete|alloc-dealloc-mismatch (malloc vs operator delete)|operator delete
new-free|alloc-dealloc-mismatch (operator new vs free)|free
newarray-delete|alloc-dealloc-mismatch (operator new[] vs operator delete)|operator delete
new-deletearray|alloc-dealloc-mismatch (operator new vs operator delete[])|operator delete[]
EOF
}

@test "a sized delete that names the wrong size is a new-delete-type-mismatch" {
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=check=1 "$P/cxx_mismatch" sized
    [ "$status" -eq 134 ]
    [[ ${stderr_lines[0]} =~ ^mymalloc:\ ERROR:\ new-delete-type-mismatch:\ operator\ delete\ says\ the\ 40-byte\ block\ 0x[0-9a-f]+\ has\ 8\ bytes$ ]]
    [[ ${stderr_lines[2]} == "    #0 "*sized* ]]
}

@test "each family freed by its own is no error; without an option nothing is checked" {
    for opts in leaks=1 check=1 stats=1; do
        run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="$opts" "$P/cxx_mismatch" ok
        [ "$status" -eq 0 ] || { echo "$opts: $status $stderr"; return 1; }
        [ "$output" = "done" ]
        [[ $stderr != *ERROR* ]]
    done
    # quiet: no record of families, the mistake runs on as under glibc
    run --separate-stderr env LD_PRELOAD="$LIB" "$P/cxx_mismatch" newarray-delete
    [ "$status" -eq 0 ]
    [ "$output" = "done" ]
}

@test "operator new: std::bad_alloc, the new-handler, nothrow and alignment, as under glibc" {
    for m in bad_alloc handler nothrow aligned; do
        expected=$("$P/cxx_new" "$m")
        for opts in "" leaks=1 check=1; do
            run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="$opts" "$P/cxx_new" "$m"
            [ "$status" -eq 0 ] || { echo "$m '$opts': status $status: $stderr"; return 1; }
            [ "$output" = "$expected" ] || { echo "$m '$opts': $output"; return 1; }
        done
    done
    [ "$("$P/cxx_new" handler)" = "handler called 1 time, then allocated" ]
    [ "$("$P/cxx_new" bad_alloc)" = "bad_alloc" ]
}

#!/usr/bin/env bats
# profile=FILE: the heap by call site over time and at its peak, in
# massif's format; read back by ms_print, by mymalloc-trace profile (a
# table, folded stacks, an HTML page), and held against massif itself.

load test_helper

setup() { common_setup; }

TRACE_TOOL() { "$BUILD/mymalloc-trace" "$@"; }

# The sites of a profile's peak, "outermost;...;innermost bytes", sorted.
peak_sites() { TRACE_TOOL profile --folded "$1" | sort; }

@test "the peak is exact by site: each site holds at the peak what the program's code says" {
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="profile=$T/p" "$BUILD/programs/peak_sites"
    [ "$status" -eq 0 ]
    [ "$output" = "done 103 97 150" ]
    # the library was loaded: it wrote the file, which names the program
    [ "$(sed -n 2p "$T/p")" = "cmd: $BUILD/programs/peak_sites" ]
    grep -q '^heap_tree=peak$' "$T/p"
    # 300,000 + 100,000 + 100,000 + 20,000: the table was freed at once,
    # make_after's block came after, and the 10-byte start of the grown
    # buffer does not count twice
    [ "$(grep -A2 '^heap_tree=peak' "$T/p" | sed -n 2p | cut -d' ' -f2)" = "520000" ]
    grep -B5 '^heap_tree=peak' "$T/p" | grep -qx 'mem_heap_B=520000'
    run peak_sites "$T/p"
    [ "${lines[0]}" = "main;grow_buffer 20000" ]
    [ "${lines[1]}" = "main;make_cache 100000" ]
    [ "${lines[2]}" = "main;make_strings 100000" ]
    [ "${lines[3]}" = "main;make_table 300000" ]
    [ "${#lines[@]}" -eq 4 ]
}

@test "the same program under valgrind's massif: the same sites, the same bytes at the peak" {
    command -v valgrind >/dev/null || skip "no valgrind"
    LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="profile=$T/ours" "$BUILD/programs/peak_sites" >/dev/null
    valgrind --tool=massif --time-unit=B --massif-out-file="$T/massif" "$BUILD/programs/peak_sites" >/dev/null 2>&1
    grep -q '^heap_tree=peak$' "$T/massif"
    diff <(peak_sites "$T/ours") <(peak_sites "$T/massif")
}

@test "ms_print reads the profile: the peak, the snapshots and the tree" {
    command -v ms_print >/dev/null || skip "no ms_print (valgrind)"
    LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="profile=$T/p" "$BUILD/programs/peak_sites" >/dev/null
    run ms_print "$T/p"
    [ "$status" -eq 0 ]
    [[ $output == *"Command:            $BUILD/programs/peak_sites"* ]]
    [[ $output == *"(peak)"* ]]
    # the peak's line in the table of snapshots, then its tree
    echo "$output" | grep -Eq '^ +[0-9]+ +[0-9,]+ +[0-9,]+ +520,000 +[0-9,]+ +0$'
    echo "$output" | grep -Eq '[0-9.]+% \(300,000B\) 0x[0-9A-Fa-f]+: make_table'
}

@test "snapshots: time runs forward, at most a hundred and a few, and the last is the heap at exit" {
    LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="profile=$T/p" "$BUILD/programs/peak_sites" >/dev/null
    run grep -c '^snapshot=' "$T/p"
    [ "$output" -ge 10 ]
    [ "$output" -le 103 ]
    grep '^time=' "$T/p" | cut -d= -f2 | sort -nc
    # at exit: make_after, make_cache, make_strings, grow_buffer (and stdout's buffer)
    last=$(grep '^mem_heap_B=' "$T/p" | tail -1 | cut -d= -f2)
    [ "$last" -ge 470000 ]
    [ "$last" -le 474096 ]
}

@test "scripts/mymalloc --profile names each frame's function and line, as massif does" {
    command -v addr2line >/dev/null || skip "no addr2line"
    run "$ROOT/scripts/mymalloc" --profile="$T/p" "$BUILD/programs/peak_sites"
    [ "$status" -eq 0 ]
    [ "$output" = "done 103 97 150" ]
    grep -Eq '^ n1: 300000 0x[0-9a-f]+: make_table \(.*test/programs/peak_sites\.c:[0-9]+\)$' "$T/p"
    # --profile alone: mymalloc-profile.PID where it started
    run "$ROOT/scripts/mymalloc" --profile "$BUILD/programs/peak_sites"
    [ "$status" -eq 0 ]
    run compgen -G "$T/mymalloc-profile.*"
    [ "${#lines[@]}" -eq 1 ]
    [[ ${lines[0]} =~ /mymalloc-profile\.[0-9]+$ ]]
}

@test "%p: a forked child writes a profile of its own, with its own block at its peak" {
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="profile=$T/p.%p" "$BUILD/programs/peak_sites" fork
    [ "$status" -eq 0 ]
    run compgen -G "$T/p.*"
    [ "${#lines[@]}" -eq 2 ]
    child=$(grep -l 'child_block' "$T"/p.*)
    [ -n "$child" ]
    peak_sites "$child" | grep -qx 'main;child_block 400000'
    grep -B5 '^heap_tree=peak' "$child" | grep -qx 'mem_heap_B=620000'
    # the parent's has the child's block nowhere
    parent=$(grep -L 'child_block' "$T"/p.*)
    [ -n "$parent" ]
    [ "$(peak_sites "$parent" | wc -l)" -eq 4 ]
}

@test "threads that free each other's blocks: the peak and the heap at exit are exact" {
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="profile=$T/p" "$BUILD/programs/peak_threads"
    [ "$status" -eq 0 ]
    [ "$(sed -n 2p "$T/p")" = "cmd: $BUILD/programs/peak_threads" ]
    # each of four threads made 212,000 bytes of small blocks and 50,000 of
    # 5,000-byte ones (besides them: what glibc allocates for each thread)
    run bash -c "'$BUILD/mymalloc-trace' profile --folded '$T/p' | grep thread_blocks | sort"
    [ "${lines[0]}" = "clone3;start_thread;work;thread_blocks 200000" ]
    [ "${lines[1]}" = "clone3;start_thread;work;thread_blocks 848000" ]
    [ "${#lines[@]}" -eq 2 ]
    peak=$(grep -B5 '^heap_tree=peak' "$T/p" | sed -n 's/^mem_heap_B=//p')
    others=$((peak - 1048000))
    [ "$others" -ge 0 ]
    [ "$others" -lt 4096 ]
    # at exit, after the frees across threads: every tenth small block
    end=$(grep '^mem_heap_B=' "$T/p" | tail -1 | cut -d= -f2)
    [ "$end" -eq $((70400 + others)) ]
}

@test "the exact profile alone (blocks in the pages) and with stats=1 (blocks in the chain) count the same" {
    # alone, small blocks come from the pages with their records in their
    # last bytes; stats=1 keeps records in the chain's blocks for every
    # block: the bytes by site at the peak, and the heap at exit, agree
    # (not every snapshot between: a realloc that moves a block holds
    # both for a moment, one that grows it in place does not, and the
    # chain grows in place where the pages move to the next class)
    for prog in peak_sites peak_threads; do
        run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="profile=$T/pages" "$BUILD/programs/$prog"
        [ "$status" -eq 0 ]
        run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="profile=$T/chain:stats=1" "$BUILD/programs/$prog"
        [ "$status" -eq 0 ]
        [[ $stderr == *"mymalloc: stats for $prog"* ]]
        diff <(peak_sites "$T/pages") <(peak_sites "$T/chain")
        [ "$(grep '^mem_heap_B=' "$T/pages" | tail -1)" = "$(grep '^mem_heap_B=' "$T/chain" | tail -1)" ]
    done
}

@test "profile_signal=1: SIGUSR2 writes the profile while the program runs" {
    run env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="profile=$T/p:profile_signal=1" PEAK_SITES_PROFILE="$T/p" \
        "$BUILD/programs/peak_sites" signal
    [ "$status" -eq 0 ]
    # written when the signal came: make_after had not run yet
    [ -f "$T/p.signal" ]
    ! grep -q make_after "$T/p.signal"
    [ "$(peak_sites "$T/p.signal" | wc -l)" -eq 4 ]
    # and at exit again, with it
    grep -q make_after "$T/p"
}

@test "mymalloc-trace profile: the sites at the peak, most first, with their stacks" {
    LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="profile=$T/p" "$BUILD/programs/peak_sites" >/dev/null
    run TRACE_TOOL profile --top 2 "$T/p"
    [ "$status" -eq 0 ]
    [[ ${lines[1]} == "peak: 520,000 bytes asked for (and "*" of overhead), at time "*" B, snapshot "*" of "* ]]
    # (frames as the library writes them: the module by its full path, as massif does)
    [[ ${lines[3]} =~ ^\ +300,000\ +57\.69%\ +make_table\+0x[0-9a-f]+\ \($BUILD/programs/peak_sites\+0x[0-9a-f]+\)$ ]]
    [[ ${lines[4]} =~ ^\ +main\+0x ]]
    [[ ${lines[5]} =~ ^\ +100,000\ +19\.23%\ +make_ ]]
    [[ ${lines[7]} =~ ^\ +120,000\ +23\.08%\ +in\ 2\ more\ sites$ ]]
    run TRACE_TOOL profile --top 0 "$T/p"
    [ "$status" -eq 2 ]
    run TRACE_TOOL profile "$T/nothing"
    [ "$status" -eq 1 ]
    [[ $output == "mymalloc-trace: $T/nothing: No such file or directory" ]]
    printf 'desc: x\nsnapshot=0\nheap_tree=detailed\nn1: 5 (heap)\n  n0: 5 0x1: f (a.c:1)\n' >"$T/bad"
    run TRACE_TOOL profile "$T/bad"
    [ "$status" -eq 1 ]
    [[ $output == "mymalloc-trace: $T/bad:5: a node of the tree is not where its parent's count says" ]]
}

@test "mymalloc-trace profile --html: one page a headless browser draws, with no error" {
    browser=$(command -v chromium-headless-shell || command -v chromium || true)
    [ -n "$browser" ] || skip "no chromium (scripts/test installs chromium-headless-shell)"
    LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="profile=$T/p" "$BUILD/programs/peak_sites" >/dev/null
    run TRACE_TOOL profile --html="$T/page.html" "$T/p"
    [ "$status" -eq 0 ]
    # nothing from the network
    ! grep -Eq '(src|href)="?https?:' "$T/page.html"
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
        --dump-dom "file://$T/page.html" >"$T/dom" 2>"$T/console" || { tail "$T/console"; false; }
    # the script ran to its end, and said nothing on the console
    grep -q 'data-ready="1"' "$T/dom"
    ! grep 'CONSOLE' "$T/console"
    # the rendered page: the timeline's bands, the flame graph's frames, the table
    [ "$(grep -o '<polygon class="band"' "$T/dom" | wc -l)" -eq 5 ]
    grep -q '<g class="frame"[^>]*><title>make_table (293.0 KiB, 57.69%)' "$T/dom"
    grep -q '<g class="frame"[^>]*><title>main (' "$T/dom"
    grep -q '<table id="sites">' "$T/dom"
}

@test "real programs run unchanged under profile=FILE: python3 with pymalloc, gcc, sqlite3" {
    py="$(python3 -c 'import sys; print(sys.executable)')"
    printf 'int main(void) { return 0; }\n' >"$T/a.c"
    for cmd in "$py -c print(sum(range(10**5)))" "gcc -c $T/a.c -o $T/a.o" "sqlite3 :memory: select(42)"; do
        expected=$($cmd)
        rm -f "$T/p"
        run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="profile=$T/p.%p" $cmd
        [ "$status" -eq 0 ] || { echo "$cmd: status $status"; false; }
        [ "$output" = "$expected" ] || { echo "$cmd: output differs"; false; }
        [ -z "$stderr" ] || { echo "$cmd: $stderr"; false; }
        # every process wrote its profile (gcc runs cc1 and as), each one
        # with a peak
        for f in "$T"/p.*; do
            grep -q '^heap_tree=peak$' "$f" || { echo "$f: no peak"; false; }
        done
        rm -f "$T"/p.*
    done
}

# "outermost;...;innermost bytes" of the site whose stack ends in $2, in
# profile $1 (0 when none)
site_bytes() { peak_sites "$1" | awk -v f="$2" '{ n = split($1, a, ";"); if (a[n] == f) print $2 }' | grep . || echo 0; }
# $1 within [$2 - $3%, $2 + $3%]
near() { awk -v v="$1" -v t="$2" -v p="$3" 'BEGIN { exit !(v >= t * (1 - p / 100) && v <= t * (1 + p / 100)) }'; }

@test "profile_sample: one allocation in so many bytes, each weighed, estimates every site without bias" {
    # 20,000,000 bytes in 1,000-byte blocks and 5,000,000 in 100-byte
    # blocks, live at the peak: at one sample in 64 KiB on average, some
    # 300 and 76 samples, whose counts vary by 6% and 12% (one standard
    # deviation); the bounds are five of them
    for opts in "profile_seed=1" "profile_seed=7" ""; do
        run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="profile=$T/p:profile_sample=64K${opts:+:$opts}" \
            "$BUILD/programs/peak_sites" many
        [ "$status" -eq 0 ]
        [ -z "$stderr" ]
        grep -q '^desc: .*, sampled: one allocation in every 65536 bytes on average' "$T/p"
        small=$(site_bytes "$T/p" many_small)
        tiny=$(site_bytes "$T/p" many_tiny)
        near "$small" 20000000 29 || { echo "many_small: $small"; false; }
        near "$tiny" 5000000 58 || { echo "many_tiny: $tiny"; false; }
        # a block far larger than the mean gap is all but sure to be sampled
        # (missed with a chance of e^-4.6, 1%: so only with these seeds),
        # with a weight of its size over that chance
        if [[ -n $opts ]]; then
            table=$(site_bytes "$T/p" make_table)
            near "$table" 303000 1 || { echo "make_table: $table"; false; }
        fi
        peak=$(grep -B5 '^heap_tree=peak$' "$T/p" | sed -n 's/^mem_heap_B=//p')
        near "$peak" 25520000 25 || { echo "peak: $peak"; false; }
    done
}

@test "profile_sample: a sampled block freed or grown by realloc leaves its site's count, and the quiet paths stay quiet" {
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="profile=$T/p:profile_sample=4K:profile_seed=3" \
        "$BUILD/programs/peak_sites"
    [ "$status" -eq 0 ]
    [ "$output" = "done 103 97 150" ]
    # the state at exit (the last snapshot): make_table was freed
    last=$(awk '/^snapshot=/ { s = "" } { s = s $0 "\n" } END { printf "%s", s }' "$T/p")
    [[ $last == *make_after* ]]
    [[ $last != *make_table* ]]
    # with leaks=1 (a record on every block anyway) the profile is exact
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="profile=$T/q:profile_sample=4K:leaks=1:leak_exitcode=0:log=$T/log" \
        "$BUILD/programs/peak_sites"
    [ "$status" -eq 0 ]
    ! grep -q 'sampled' "$T/q"
    [ "$(site_bytes "$T/q" make_strings)" = "100000" ]
}

@test "scripts/mymalloc --profile-sample=SIZE samples, and asks for a profile when none was" {
    run "$ROOT/scripts/mymalloc" --profile-sample=4K "$BUILD/programs/peak_sites"
    [ "$status" -eq 0 ]
    [ "$output" = "done 103 97 150" ]
    run compgen -G "$T/mymalloc-profile.*"
    [ "${#lines[@]}" -eq 1 ]
    grep -q '^desc: .*, sampled: one allocation in every 4096 bytes on average' "${lines[0]}"
    run "$ROOT/scripts/mymalloc" --profile-sample=lots true
    [ "$status" -eq 2 ]
    [ "$output" = "mymalloc: --profile-sample takes a size (512K), not 'lots'" ]
}

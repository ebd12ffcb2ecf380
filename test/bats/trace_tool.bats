#!/usr/bin/env bats
# mymalloc-trace (issue 6): summary, plot and replay of the files that
# MYMALLOC_OPTIONS=trace=PATH writes. Most tests read traces written by
# test/programs/make_trace.py, whose calls are known, so the numbers are
# exact; the last one reads a trace the library wrote for a real program.

load test_helper

setup() {
    common_setup
    TOOL="$BUILD/mymalloc-trace"
    [[ -x $TOOL ]] || { echo "no $TOOL: build first" >&2; return 1; }
}

make_trace() { python3 "$ROOT/test/programs/make_trace.py" "$@"; }

# $output has a line matching the extended regex $1.
has() {
    grep -Eq -- "$1" <<<"$output" || { echo "no line matching '$1' in:"; echo "$output"; return 1; }
}

# No line of $output matches $1 (bats does not fail on `! cmd`).
lacks() {
    if grep -Eq -- "$1" <<<"$output"; then echo "a line matches '$1' in:"; echo "$output"; return 1; fi
}

# 3 mallocs of 100 bytes, one of them freed.
three_mallocs() {
    make_trace "$T/a.bin" <<'EOF'
malloc 100 0x1000
malloc 100 0x2000
malloc 100 0x3000
free 0x1000 100
EOF
}

# Every kind of call: calloc, realloc that moves, two memaligns, a failed
# malloc, a free of a block from before the trace, realloc(p, 0).
every_call() {
    make_trace "$T/b.bin" <<'EOF'
malloc 100 0x1000
calloc 48 0x2000
realloc 200 0x3000 0x1000
memalign 4096 0x10000 align=12   # aligned_alloc in the replay
memalign 100 0x20000 align=6     # posix_memalign: 100 is not a multiple of 64
malloc 0x10000000000 0           # 1 TiB: failed
free 0x9990                      # allocated before the trace began
free 0x20000 100
realloc 0 0 0x2000               # glibc: frees, returns NULL
free 0x3000 200
EOF
}

# Two processes, the second with two threads; blocks of each interleaved.
two_processes() {
    make_trace "$T/c.bin" <<'EOF'
malloc 10 0x100 pid=1
malloc 20 0x200 pid=2 tid=2
malloc 30 0x300 pid=2 tid=3
free 0x100 pid=1
EOF
}

@test "--help shows the usage and says that threads are replayed in one thread" {
    run --separate-stderr "$TOOL" --help
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [[ $output == "usage: mymalloc-trace summary [--pid PID] [--top N] TRACE"* ]]
    [[ $output == *"mymalloc-trace plot [--pid PID] TRACE OUT.svg"* ]]
    [[ $output == *"mymalloc-trace replay [--pid PID] TRACE"* ]]
    [[ $output == *"All the threads of a process are replayed in ONE thread"* ]]
    run "$TOOL" replay -h
    [ "$status" -eq 0 ]
    [[ $output == "usage: "* ]]
}

@test "bad usage exits 2 with the usage" {
    three_mallocs
    for args in "" "frob $T/a.bin" "summary" "plot $T/a.bin" "summary $T/a.bin extra" \
                "summary --bogus $T/a.bin" "summary --pid x $T/a.bin" "summary --pid" \
                "replay --top 3 $T/a.bin" "summary --top 0 $T/a.bin"; do
        run --separate-stderr "$TOOL" $args
        [ "$status" -eq 2 ] || { echo "'$args' exited $status"; false; }
        [ -z "$output" ]
        [[ $stderr == "mymalloc-trace: "*"usage: mymalloc-trace summary"* ]] || { echo "'$args': $stderr"; false; }
    done
    run --separate-stderr "$TOOL" summary --pid 7 "$T/a.bin"
    [ "$status" -eq 2 ]
    [ "$stderr" = "mymalloc-trace: $T/a.bin: no process 7 in the file; it has 1000" ]
}

@test "a bad or truncated file exits 1 with one line naming the file and the offset" {
    three_mallocs
    check() {   # file, expected message after "mymalloc-trace: FILE: "
        for cmd in summary replay "plot" ; do
            local out=()
            [[ $cmd == plot ]] && out=("$T/x.svg")
            run --separate-stderr "$TOOL" $cmd "$1" "${out[@]}"
            [ "$status" -eq 1 ] || { echo "$cmd $1 exited $status"; false; }
            [ "$stderr" = "mymalloc-trace: $1: $2" ] || { echo "$cmd: $stderr"; false; }
            [ -z "$output" ]
            [ ! -e "$T/x.svg" ]
        done
    }
    head -c 100 "$T/a.bin" >"$T/short.bin"
    check "$T/short.bin" "offset 0: truncated block: 4 records need 160 bytes, 84 left"
    { cat "$T/a.bin"; head -c 10 "$T/a.bin"; } >"$T/tail.bin"
    check "$T/tail.bin" "offset 176: truncated block header: 10 of 16 bytes"
    { cat "$T/a.bin"; echo "some text, not a trace"; } >"$T/text.bin"
    check "$T/text.bin" 'offset 176: bad magic: not a mymalloc trace block (expected "MMTRACE1")'
    python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[16 + 40 + 36] = 9; open(sys.argv[2], "wb").write(d)' \
        "$T/a.bin" "$T/call.bin"
    check "$T/call.bin" "offset 56: record 1 of the block at offset 0: unknown call 9"
    : >"$T/empty.bin"
    check "$T/empty.bin" "offset 0: empty file: no trace block (a traced program writes at least one)"
    check "$T/missing.bin" "No such file or directory"
}

@test "summary counts the calls, the peak and what was never freed" {
    three_mallocs
    run --separate-stderr "$TOOL" summary "$T/a.bin"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    has "^trace $T/a.bin: 1 process, 1 thread, 4 records in 1 block, 3.00 µs$"
    has "^process 1000: 4 records, 1 thread, 3.00 µs$"
    has "^  malloc +3 +0 +300 B$"
    has "^  calloc +0 +0 +0 B$"
    has "^  free +1 +- +100 B$"
    has "^  all +4 +0$"
    has "^  peak bytes +300 B +300 +3  2.00 µs, record 3 of 4$"
    has "^  peak blocks +300 B +300 +3  2.00 µs, record 3 of 4$"
    has "^  never freed +200 B +200 +2  live at the end of the trace$"
    has "^ +<= 128 B +3 +100.0%  #{40}$"
    has "^ +100 B +3 +300 B$"                   # top sizes
    has "^ +100 B +2 +200 B$"                   # never freed, by size
    has "^  failed calls: none$"
}

@test "summary shows every call, failed calls and frees of blocks from before the trace" {
    every_call
    run --separate-stderr "$TOOL" summary "$T/b.bin"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    has "^  malloc +2 +1 +1.00 TiB$"
    has "^  calloc +1 +0 +48 B$"
    has "^  realloc +2 +0 +200 B$"
    has "^  memalign +2 +0 +4.10 KiB$"
    has "^  free +3 +- +300 B$"
    has "^  all +10 +1$"
    has "^  peak bytes +4.34 KiB +4444 +4  4.00 µs, record 5 of 10$"
    has "^  never freed +4.00 KiB +4096 +1  live at the end of the trace$"
    for bucket in "<= 64 B" "<= 128 B" "<= 256 B" "<= 4 KiB" "<= 1 TiB"; do
        has "^ +$bucket +[12] +"
    done
    has "^ +<= 512 B +0 +0.0%$"
    has "^ +<= 1 KiB +0 +0.0%$"
    has "^ +\.\.\. +0 +0.0%$"          # 8 KiB to 512 GiB
    has "^  failed calls: 1$"
    has "^    malloc\(1099511627776 bytes\) = NULL at 5.00 µs, record 6, thread 1000$"
    has "^  frees of blocks allocated before the trace began \(ignored\): 1$"
    run "$TOOL" summary --top 2 "$T/b.bin"
    has "^  \(3 more sizes\)$"
}

@test "summary of a file written by several processes has a table and a section for each" {
    two_processes
    run --separate-stderr "$TOOL" summary "$T/c.bin"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    has "^trace $T/c.bin: 2 processes, 3 threads, 4 records in 3 blocks, 3.00 µs$"
    has "^  1 +2 +1 +3.00 µs +10 B +0 B$"
    has "^  2 +2 +2 +1.00 µs +50 B +50 B$"
    has "^process 1: 2 records, 1 thread, 3.00 µs$"
    has "^process 2: 2 records, 2 threads, 1.00 µs$"
    run "$TOOL" summary --pid 2 "$T/c.bin"
    [ "$status" -eq 0 ]
    has "^\(process 2 only, of the 2 in the file\)$"
    lacks "^process 1:"
}

@test "replay makes every call and reports the wall and CPU time" {
    three_mallocs
    run --separate-stderr "$TOOL" replay "$T/a.bin"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    has "^allocator: the C library's malloc \(no LD_PRELOAD\)$"
    has "^  calls replayed +4  \(malloc 3, calloc 0, realloc 0, memalign 0, free 1\)$"
    has "^  wall time +[0-9.]+ (ns|µs|ms|s)  \([0-9.]+ (ns|µs|ms) a call\)$"
    has "^  CPU time +[0-9.]+ (ns|µs|ms|s)$"
    has "^  left live +2  blocks never freed by the program \(200 B\), freed after the timing$"
    lacks "skipped"
}

@test "replay skips failed calls and frees of blocks from before the trace" {
    every_call
    run --separate-stderr "$TOOL" replay "$T/b.bin"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    has "^  calls replayed +8  \(malloc 1, calloc 1, realloc 2, memalign 2, free 2\)$"
    has "^  skipped +2  \(1 failed in the trace, 1 free of blocks from before the trace\)$"
    has "^  left live +1  blocks never freed by the program \(4.00 KiB\)"
}

@test "replay takes the processes of a file in turn, each thread in one" {
    two_processes
    run --separate-stderr "$TOOL" replay "$T/c.bin"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    has "^process 1: 2 records, 1 thread$"
    has "^process 2: 2 records, 2 threads \(replayed in one\)$"
    has "^all processes: 4 calls replayed, wall .*, CPU .*$"
    run "$TOOL" replay --pid 2 "$T/c.bin"
    has "^  calls replayed +2  "
    lacks "^process 1:"
}

# The library counts the replay's calls in its stats=1 report: the replay
# really ran under the preloaded allocator.
@test "replay under the library: the library makes the calls" {
    make_trace --ramp 1000 "$T/r.bin"
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=stats=1 "$TOOL" replay "$T/r.bin"
    [ "$status" -eq 0 ]
    has "^allocator: LD_PRELOAD=$LIB$"
    has "^  calls replayed +2000  \(malloc 1000, calloc 0, realloc 0, memalign 0, free 1000\)$"
    printf '%s\n' "$stderr" >"$T/lib.err"
    assert_loaded mymalloc-trace "$T/lib.err"
    # its own calls and the 1000 replayed ones
    n=$(awk '$1 == "malloc" { print $2; exit }' "$T/lib.err")
    ((n >= 1000)) || { cat "$T/lib.err"; false; }
}

@test "plot writes an SVG with a title, axes with units, a legend and the peaks" {
    three_mallocs
    run --separate-stderr "$TOOL" plot "$T/a.bin" "$T/a.svg"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "$output" = "$T/a.svg: live bytes and blocks of process 1000, 4 records, 10 points a line" ]
    python3 - "$T/a.svg" <<'PY'
import sys, xml.etree.ElementTree as E
root = E.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", root.tag
texts = ["".join(t.itertext()) for t in root.iter(ns + "text")]
for want in ["Live memory: a.bin", "live bytes (B)", "live blocks",
             "time since the process's first traced call (µs)", "peak 300 B at 2.00 µs",
             "peak 3 blocks at 2.00 µs", "every call drawn",
             "process 1000: 4 records, 1 thread, 3.00 µs; peak 300 B in 3 blocks"]:
    assert want in texts, (want, texts)
legend = [g for g in root.iter(ns + "g") if g.get("class") == "legend"]
assert legend and {"live bytes", "live blocks", "peak"} <= {t.text for t in legend[0].iter(ns + "text")}
for tick in ["0", "100", "300", "0.0", "1.0", "3.0"]:
    assert tick in texts, (tick, texts)
lines = {p.get("class"): p.get("points").split() for p in root.iter(ns + "polyline")}
assert set(lines) == {"bytes", "blocks"}, lines
PY
}

@test "plot of a million records stays small and keeps the peak" {
    make_trace --ramp 500000 "$T/r.bin"
    run "$TOOL" summary "$T/r.bin"
    has "^  peak bytes +30.5 MiB +32000000 +500000  500 ms, record 500000 of 1000000$"
    run --separate-stderr "$TOOL" plot "$T/r.bin" "$T/r.svg"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    size=$(stat -c %s "$T/r.svg")
    ((size < 400000)) || { echo "r.svg is $size bytes"; false; }
    python3 - "$T/r.svg" <<'PY'
import sys, xml.etree.ElementTree as E
root = E.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
texts = ["".join(t.itertext()) for t in root.iter(ns + "text")]
for want in ["live bytes (MiB)", "live blocks (thousands)", "peak 30.5 MiB at 500 ms",
             "time since the process's first traced call (s)",
             "each point is the highest value in 1/2000 of the time"]:
    assert want in texts, (want, texts)
for line in root.iter(ns + "polyline"):
    points = line.get("points").split()
    assert 100 < len(points) <= 4100, len(points)
    ys = [float(p.split(",")[1]) for p in points]
    # the peak is drawn: the line reaches the peak's marker
    marker = [c for c in root.iter(ns + "circle") if c.get("fill") == line.get("stroke")][0]
    assert abs(min(ys) - float(marker.get("cy"))) < 0.2, (min(ys), marker.get("cy"))
PY
}

@test "a real program traced by the library: summary, plot and replay read it" {
    seq 1 20000 | sed 's/$/ some words to sort/' >"$T/in.txt"
    # glibc's malloc knows nothing of trace=: no file without the library.
    MYMALLOC_OPTIONS=trace="$T/plain.bin" sort -r "$T/in.txt" >"$T/plain.out"
    [ ! -e "$T/plain.bin" ]
    MYMALLOC_OPTIONS=trace="$T/sort.bin" LD_PRELOAD="$LIB" sort -r "$T/in.txt" >"$T/lib.out"
    cmp "$T/plain.out" "$T/lib.out"
    [ "$(head -c 8 "$T/sort.bin")" = MMTRACE1 ]

    run --separate-stderr "$TOOL" summary "$T/sort.bin"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    has "^trace $T/sort.bin: 1 process, [0-9]+ threads?, [0-9]+ records in [0-9]+ blocks?, "
    n=$(awk '$1 == "malloc" { print $2; exit }' <<<"$output")
    ((n > 0)) || { echo "$output"; false; }
    has "^  peak bytes +[0-9.]+ (B|KiB|MiB) +[1-9][0-9]* +[1-9][0-9]*  "

    run --separate-stderr "$TOOL" plot "$T/sort.bin" "$T/sort.svg"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$T/sort.svg"
    grep -q '>Live memory: sort.bin</text>' "$T/sort.svg"

    run --separate-stderr "$TOOL" replay "$T/sort.bin"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    has "^  calls replayed +[1-9][0-9]*  \(malloc $n, "
    run --separate-stderr env LD_PRELOAD="$LIB" "$TOOL" replay "$T/sort.bin"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    has "^  calls replayed +[1-9][0-9]*  \(malloc $n, "
}

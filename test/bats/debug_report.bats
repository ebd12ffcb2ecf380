#!/usr/bin/env bats
# stats=1 and stats=json, trace=PATH, heapmap=PATH: what they write.

load test_helper

setup() {
    common_setup
    PY="$(python3 -c 'import sys; print(sys.executable)')"
}

@test "stats=1 prints a table of calls, bytes, live and peak, heap, system calls and caches" {
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=stats=1 "$BUILD/programs/leaky"
    [ "$status" -eq 0 ]
    [[ ${stderr_lines[0]} =~ ^mymalloc:\ stats\ for\ leaky\ \(pid\ [0-9]+\)$ ]]
    # leaky: 2 x 1000 + 300 + 64 + (50..149 in tidy) bytes in 104 mallocs, 100 frees
    grep -Eq '^  malloc +([0-9]+) +' <<<"$stderr"
    m=$(awk '$1 == "malloc" { print $2 }' <<<"$stderr")
    f=$(awk '$1 == "free" { print $2 }' <<<"$stderr")
    [ "$m" -ge 104 ]
    [ "$f" -ge 100 ]
    for row in calloc realloc aligned malloc_usable_size "failed (ENOMEM)" "live now" "live at peak" heap "own mappings" "system calls" "thread caches"; do
        grep -q "^  $row " <<<"$stderr" || { echo "no row $row"; false; }
    done
    grep -Eq '^  system calls +sbrk [0-9]+, mmap [0-9]+, munmap [0-9]+, mremap [0-9]+, madvise [0-9]+$' <<<"$stderr"
}

@test "stats=json prints one JSON object whose numbers match the trace of the same run" {
    run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="stats=json:trace=$T/t.bin" "$BUILD/programs/leaky"
    [ "$status" -eq 0 ]
    printf '%s\n' "$stderr" >"$T/stats.json"
    python3 - "$T/stats.json" "$T/t.bin" <<'PY'
import json, struct, sys
s = json.load(open(sys.argv[1]))
assert s["program"] == "leaky" and s["counted"], s
d = open(sys.argv[2], "rb").read()
calls, off = {}, 0
while off < len(d):
    magic, pid, n = struct.unpack_from("<8sII", d, off)
    assert magic == b"MMTRACE1" and pid == s["pid"], (magic, pid)
    off += 16
    for _ in range(n):
        ns, ptr, res, size, tid, call, al, _r = struct.unpack_from("<QQQQIBBH", d, off)
        off += 40
        calls[call] = calls.get(call, 0) + 1
names = ["malloc", "calloc", "realloc", "aligned", "free"]
for i, name in enumerate(names):
    assert calls.get(i, 0) == s["calls"][name], (name, calls.get(i, 0), s["calls"][name])
assert s["calls"]["malloc"] >= 104 and s["live"]["blocks"] >= 4
for key in ("heap", "mapped", "syscalls", "cache", "peak", "bytes"):
    assert key in s, key
PY
}

@test "trace=PATH with %p writes one file per process, each a valid trace" {
    run env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="trace=$T/trace.%p.bin" bash -c 'ls / >/dev/null; sort </dev/null'
    [ "$status" -eq 0 ]
    [ "$(ls "$T"/trace.*.bin | wc -l)" -ge 3 ]       # bash, ls, sort
    for f in "$T"/trace.*.bin; do
        [ "$(head -c 8 "$f")" = "MMTRACE1" ]
    done
}

@test "heapmap=PATH writes an SVG with a band per segment, a legend and totals" {
    # drawn on SIGUSR2 while the big block is live (at exit python has freed it)
    run env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="heapmap=$T/map.svg:heapmap_signal=1" PYTHONMALLOC=malloc "$PY" -c '
import os, signal
x = [bytes(300000)]; d = {i: str(i) for i in range(20000)}
os.kill(os.getpid(), signal.SIGUSR2)
os._exit(0)'
    [ "$status" -eq 0 ]
    python3 - "$T/map.svg" <<'PY'
import sys, xml.etree.ElementTree as E
root = E.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
texts = [t.text or "" for t in root.iter(ns + "text")]
assert any(t.startswith("Heap of python") for t in texts), texts[:3]
assert any(t.startswith("segment 1: 0x") and "on the program break" in t for t in texts)
legend = {"live", "cached (free blocks of pages, thread caches)", "quarantined (check=1)", "free", "top (free, at the end)", "own mapping"}
assert legend <= set(texts), legend - set(texts)
assert any(t.startswith("own mappings: ") for t in texts)         # the 300000-byte block
assert "Totals" in texts and any(t.startswith("+") for t in texts)  # totals and the axis
assert len(list(root.iter(ns + "rect"))) > 10
PY
}

@test "heapmap=PATH draws the map at exit; with heapmap_signal=1 also on SIGUSR2, while the program runs" {
    run env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="heapmap=$T/exit.svg" "$BUILD/programs/leaky"
    [ "$status" -eq 0 ]
    [ "$(head -c 4 "$T/exit.svg")" = "<svg" ]
    run env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="heapmap=$T/live.svg:heapmap_signal=1" "$PY" -c "
import os, signal
os.kill(os.getpid(), signal.SIGUSR2)
print(open('$T/live.svg').read(4))"
    [ "$status" -eq 0 ]
    [ "$output" = "<svg" ]
}

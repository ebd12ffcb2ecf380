#!/usr/bin/env python3
"""make_trace.py -- writes a mymalloc trace file (include/mymalloc.h) with
known calls, for test/bats/trace_tool.bats.

    make_trace.py OUT < SPEC       one record a line:
        CALL SIZE RESULT [PTR] [ns=N] [pid=N] [tid=N] [align=LOG2]
      CALL is malloc, calloc, realloc, memalign or free; free takes
      'free PTR [SIZE]'. Numbers may be hex (0x...). Without ns= a record
      comes 1000 ns after the one before. Records of one pid in a row share a
      block; a line 'block' starts a new one. '#' starts a comment.
    make_trace.py --ramp N OUT     one process: N mallocs of 64 bytes, 1 us
      apart, then N frees: the peak, N * 64 bytes, is at record N.
"""
import struct
import sys

CALLS = {"malloc": 0, "calloc": 1, "realloc": 2, "memalign": 3, "free": 4}


def write(out, blocks):
    with open(out, "wb") as f:
        for pid, recs in blocks:
            f.write(struct.pack("<8sII", b"MMTRACE1", pid, len(recs)))
            for r in recs:
                f.write(struct.pack("<QQQQIBBH", *r, 0))


def parse(lines):
    blocks, ns, pid = [], 0, 1000
    for line in lines:
        words = line.split("#")[0].split()
        if not words:
            continue
        if words == ["block"]:
            blocks.append((pid, []))
            continue
        opt = {k: int(v, 0) for k, v in (w.split("=") for w in words if "=" in w)}
        nums = [int(w, 0) for w in words[1:] if "=" not in w]
        call = CALLS[words[0]]
        if call == CALLS["free"]:
            ptr, size, result = nums[0], (nums[1:] or [0])[0], 0
        else:
            size, result, ptr = nums[0], nums[1], (nums[2:] or [0])[0]
        ns = opt.get("ns", ns + 1000)
        pid = opt.get("pid", pid)
        if not blocks or blocks[-1][0] != pid:
            blocks.append((pid, []))
        blocks[-1][1].append((ns, ptr, result, size, opt.get("tid", pid), call, opt.get("align", 0)))
    return blocks


def ramp(n):
    recs = [(1000 * i, 0, 0x10000 + 64 * i, 64, 7, 0, 0) for i in range(n)]
    recs += [(1000 * (n + i), 0x10000 + 64 * i, 0, 64, 7, 4, 0) for i in range(n)]
    return [(4242, recs[i:i + 1600]) for i in range(0, len(recs), 1600)]


if __name__ == "__main__":
    if sys.argv[1] == "--ramp":
        write(sys.argv[3], ramp(int(sys.argv[2])))
    else:
        write(sys.argv[1], parse(sys.stdin))

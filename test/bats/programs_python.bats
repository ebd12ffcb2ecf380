#!/usr/bin/env bats
# python3 with PYTHONMALLOC=malloc, so every object goes through malloc:
# plain, with threads, and starting subprocesses.

load test_helper

setup() {
    common_setup
    PY="$(command -v python3)"
    # pyenv puts a shell script in front of python; run the interpreter itself
    PY="$("$PY" -c 'import sys; print(sys.executable)')"
    export PYTHONMALLOC=malloc
}

@test "the library is loaded into python3 (its own API answers from inside)" {
    run env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=stats=1 "$PY" -c '
import ctypes
lib = ctypes.CDLL(None)
lib.mymalloc_version.restype = ctypes.c_char_p
print(lib.mymalloc_version().decode())
print(lib.mymalloc_check_heap())'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "0.1.0" ]
    [ "${lines[1]}" = "0" ]
    [[ $output == *"mymalloc: stats for python3 (pid "* ]]
}

@test "python3 builds and drops dicts, lists and strings unchanged" {
    cat >"$T/plain.py" <<'PY'
import hashlib
d = {}
for i in range(200000):
    d["k%d" % (i * 7919 % 100003)] = [i, str(i) * (i % 7), {"x": i}]
    if i % 3 == 0:
        d.pop("k%d" % (i // 2), None)
s = "".join(sorted(d))[:100000]
print(len(d), hashlib.sha256(s.encode()).hexdigest())
big = [bytes(i % 256 for _ in range(1000)) for i in range(2000)]
print(sum(len(b) for b in big))
PY
    run_both "$PY" "$T/plain.py"
    assert_loaded 'python3?(\.[0-9]+)?'
    assert_same
    assert_quiet
}

@test "python3 threads allocate and free concurrently unchanged" {
    cat >"$T/threads.py" <<'PY'
import threading, queue
q = queue.Queue(maxsize=1000)
out = []
def producer(n):
    for i in range(n):
        q.put({"id": i, "data": "x" * (i % 300)})
    q.put(None)
def consumer():
    total = 0
    while True:
        item = q.get()
        if item is None:
            break
        total += len(item["data"])
    out.append(total)
ts = [threading.Thread(target=producer, args=(50000,)), threading.Thread(target=consumer)]
ts += [threading.Thread(target=lambda: [list(range(1000)) for _ in range(500)]) for _ in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print(out)
PY
    run_both "$PY" "$T/threads.py"
    assert_loaded 'python3?(\.[0-9]+)?'
    assert_same
    assert_quiet
}

@test "python3 starts subprocesses that inherit the library" {
    cat >"$T/sub.py" <<'PY'
import subprocess, sys
# stdout is captured; stderr (where the summaries go) is inherited
r = subprocess.run([sys.executable, "-c", "print(sum(range(100000)))"], stdout=subprocess.PIPE, text=True)
print(r.stdout.strip(), r.returncode)
r = subprocess.run(["sort"], input="b\na\nc\n", stdout=subprocess.PIPE, text=True)
print(r.stdout.split())
PY
    run_both "$PY" "$T/sub.py"
    assert_same
    # the parent, the child interpreter and sort each printed a summary
    [ "$(grep -cE '^mymalloc: stats for python3?(\.[0-9]+)? \(pid' "$T/lib.err")" -ge 2 ]
    assert_loaded sort
    assert_quiet
}

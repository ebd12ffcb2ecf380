"""python_dicts: python3 building and dropping dicts and strings.

    PYTHONMALLOC=malloc python3 python_dicts.py [SCALE]

scripts/bench runs it with PYTHONMALLOC=malloc, so every object comes from
malloc rather than from python's own small-object allocator. 4 rounds at
SCALE 1; each builds a dict of 99,999 string keys holding small lists,
tuples and formatted strings, deletes a third of it, joins and splits
strings, and drops it all. The inputs are fixed; each round checks its
results against sums computed another way, and the script exits with
status 1 if any differs, so a broken allocator shows as a failure.
"""
import sys


def fail(msg):
    sys.stderr.write("python_dicts: %s\n" % msg)
    sys.exit(1)


def one_round(r, n):
    d = {}
    for i in range(n):
        k = "key-%d-%d" % (r, i * 7919 % n)
        d[k] = [i, str(i) * (1 + i % 5), (i, r)]
    if len(d) != n:
        fail("round %d: %d keys, expected %d" % (r, len(d), n))
    # Delete every key whose number is a multiple of 3.
    for j in range(0, n, 3):
        del d["key-%d-%d" % (r, j)]
    left = n - (n + 2) // 3
    if len(d) != left:
        fail("round %d: %d keys after deleting, expected %d" % (r, len(d), left))
    # The values still hold every i whose key number i*7919 % n is not a
    # multiple of 3; with n a multiple of 3 and 7919 prime to 3, those are
    # exactly the i that are not multiples of 3 themselves.
    total = sum(v[0] for v in d.values())
    want = n * (n - 1) // 2 - 3 * ((n // 3) * (n // 3 - 1) // 2)
    if total != want:
        fail("round %d: values sum to %d, expected %d" % (r, total, want))
    # Strings: join the values' strings, split them back, count the digits.
    s = ",".join(v[1] for v in d.values())
    parts = s.split(",")
    if len(parts) != left or sum(len(p) for p in parts) != sum(len(v[1]) for v in d.values()):
        fail("round %d: join and split do not agree" % r)
    words = {}
    for p in parts:
        words[p[:3]] = words.get(p[:3], 0) + 1
    if sum(words.values()) != left:
        fail("round %d: word counts do not add up" % r)
    return total


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    rounds = max(1, int(4 * scale))
    n = 99999 if scale >= 1 else max(3000, int(99999 * scale)) // 3 * 3
    grand = 0
    for r in range(rounds):
        grand += one_round(r, n)
    print("python_dicts: %d rounds of %d keys, checksum %d" % (rounds, n, grand))


main()

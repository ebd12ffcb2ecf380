#!/usr/bin/env bash
# gcc_big: gcc compiling a large generated file.
#
#   gcc_big.sh [SCALE]
#
# Generates a C file of 150 functions at SCALE 1 (about 5,500 lines of
# arithmetic, branches, switches and loops over locals, from a fixed
# seed) into a temporary directory, compiles and links it with gcc -O1,
# and runs the program, which prints a checksum of every function's
# result. The generator computes the same checksum itself, and the script
# exits with status 1 when they differ (or gcc fails), so a broken
# allocator shows as a failure. Under LD_PRELOAD every process here runs
# with the allocator: bash, awk, gcc, cc1, as, collect2, ld, the program.
set -euo pipefail

scale="${1:-1}"
n=$(awk -v s="$scale" 'BEGIN { n = int(150 * s); print (n < 1 ? 1 : n) }')
dir="$(mktemp -d "${TMPDIR:-/tmp}/gcc_big.XXXXXX")"
trap 'rm -rf "$dir"' EXIT

# Each function runs its argument through a chain of steps; awk works out
# each step's result as it writes it (every value stays below 2^31, so C's
# int and awk's numbers agree).
awk -v n="$n" -v src="$dir/big.c" '
function rnd(m) { seed = (seed * 16807) % 2147483647; return seed % m }
BEGIN {
    seed = 12345; M = 1000003; sum = 0
    print "#include <stdio.h>" > src
    for (f = 0; f < n; f++) {
        printf "int f%d(int x)\n{\n    int a = x, t[8];\n", f > src
        a = f
        for (s = 0; s < 12; s++) {
            k = rnd(16); k = k < 10 ? 0 : k < 14 ? 1 : k < 15 ? 2 : 3; c1 = 2 + rnd(997); c2 = rnd(M)
            if (k == 0) {
                printf "    a = (a * %d + %d) %% %d;\n", c1, c2, M > src
                a = (a * c1 + c2) % M
            } else if (k == 1) {
                c3 = rnd(M); c4 = rnd(c3 + 1)
                printf "    if (a > %d)\n        a = a - %d;\n    else\n        a = a + %d;\n", c3, c4, c1 > src
                if (a > c3) a = a - c4; else a = a + c1
            } else if (k == 2) {
                printf "    switch (a %% 5) {\n" > src
                for (j = 0; j < 5; j++) { d[j] = rnd(1000); printf "    case %d: a = a + %d; break;\n", j, d[j] > src }
                printf "    }\n" > src
                a = a + d[a % 5]
            } else {
                l = 3 + rnd(6)
                printf "    for (int i = 0; i < 8; i++)\n        t[i] = (a + i * %d) %% %d;\n", c1, M > src
                printf "    for (int i = 0; i < %d; i++)\n        a = (a + t[i] * %d) %% %d;\n", l, (c1 % 97) + 1, M > src
                for (i = 0; i < 8; i++) t[i] = (a + i * c1) % M
                for (i = 0; i < l; i++) a = (a + t[i] * ((c1 % 97) + 1)) % M
            }
        }
        printf "    return a %% %d;\n}\n\n", M > src
        sum = (sum + a % M) % 1000000007
    }
    for (f = 0; f < n; f++)
        printf "int f%d(int);\n", f > src
    printf "static int (*const fn[])(int) = {\n" > src
    for (f = 0; f < n; f++)
        printf "    f%d,\n", f > src
    printf "};\n\nint main(void)\n{\n    long sum = 0;\n" > src
    printf "    for (int i = 0; i < %d; i++)\n        sum = (sum + fn[i](i)) %% 1000000007;\n", n > src
    printf "    printf(\"%%ld\\n\", sum);\n    return 0;\n}\n" > src
    printf "%d\n", sum
}' >"$dir/expected"

gcc -O1 -o "$dir/big" "$dir/big.c"
got="$("$dir/big")"
want="$(cat "$dir/expected")"
if [[ $got != "$want" ]]; then
    echo "gcc_big: the compiled program printed '$got', expected '$want'" >&2
    exit 1
fi
echo "gcc_big: $n functions, $(wc -l <"$dir/big.c") lines, checksum $got"

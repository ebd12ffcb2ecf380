#!/usr/bin/env bats
# Everyday command-line programs run unchanged under the library: the same
# output and exit status as without it.

load test_helper

setup() { common_setup; }

@test "the library is loaded into ls, sort, bash and xz" {
    run_both ls -la /usr/lib
    assert_loaded ls
    run_both sort /etc/passwd
    assert_loaded sort
    run_both bash -c 'echo hi'
    assert_loaded bash
    run_both xz -c /etc/passwd
    assert_loaded xz
}

@test "ls lists a large directory unchanged" {
    run_both ls -laR /usr/include
    assert_loaded ls
    assert_same
    assert_quiet
}

@test "sort orders 200000 lines unchanged, in memory and through temporary files" {
    awk 'BEGIN { x = 1; for (i = 0; i < 200000; i++) { x = (x * 1103515245 + 12345) % 2147483648; printf "%d line-%x\n", x % 100000, x } }' >"$T/in.txt"
    run_both sort -k2 "$T/in.txt"
    assert_loaded sort
    assert_same
    run_both sort -n -S 200K -T "$T" "$T/in.txt"
    assert_same
    run_both sort -u --parallel=2 "$T/in.txt"
    assert_same
    assert_quiet
}

@test "bash runs a script with arrays, substitutions and subshells unchanged" {
    cat >"$T/script.sh" <<'SH'
declare -A seen
words=()
for i in $(seq 1 3000); do
    w="word$((i * 7 % 1000))"
    words+=("$w")
    seen[$w]=$(( ${seen[$w]:-0} + 1 ))
done
s="${words[*]}"
echo "${#words[@]} words, ${#seen[@]} distinct, ${#s} chars"
echo "$(echo "${s//word/w}" | tr ' ' '\n' | sort | uniq -c | sort -rn | head -3)"
( for k in "${!seen[@]}"; do echo "$k"; done ) | sort | tail -2
SH
    run_both bash "$T/script.sh"
    assert_loaded bash
    assert_same
    assert_quiet
}

@test "xz compresses and decompresses unchanged" {
    awk 'BEGIN { for (i = 0; i < 300000; i++) print i, i * i % 977, "some text to compress" }' >"$T/data"
    run_both xz -9 -c "$T/data"
    assert_loaded xz
    assert_same
    cp "$T/lib.out" "$T/data.xz"
    run_both xz -d -c "$T/data.xz"
    assert_same
    cmp "$T/lib.out" "$T/data"
    assert_quiet
}

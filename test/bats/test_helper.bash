# test_helper.bash -- loaded by every bats file.
bats_require_minimum_version 1.5.0
ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
BUILD="${MYMALLOC_BUILD_DIR:-$ROOT/build}"
LIB="$BUILD/libmymalloc.so"

common_setup() {
    [[ -f $LIB ]] || { echo "no library at $LIB: build first (scripts/test does)" >&2; return 1; }
    T="$BATS_TEST_TMPDIR"
    cd "$T"
}

# Runs "$@" without the library, with it and stats=1 on (every block in the
# chain, with its record), and with it as it runs by default (small blocks
# in the pages; the only option a heap map drawn at exit by each process,
# $T/quiet.PID.svg, which proves the library ran there and keeps the
# pages on). stdout and stderr of each go to $T/{plain,lib,quiet}.{out,err};
# the statuses to $plain_status, $lib_status and $quiet_status.
run_both() {
    plain_status=0 lib_status=0 quiet_status=0
    "$@" >"$T/plain.out" 2>"$T/plain.err" || plain_status=$?
    LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=stats=1 "$@" >"$T/lib.out" 2>"$T/lib.err" || lib_status=$?
    rm -f "$T"/quiet.*.svg
    LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="heapmap=$T/quiet.%p.svg" "$@" >"$T/quiet.out" 2>"$T/quiet.err" ||
        quiet_status=$?
}

# Both preloaded runs printed the same and ended the same as the plain one,
# and the default one drew its heap map (it was loaded) and said nothing.
assert_same() {
    local run status
    for run in lib quiet; do
        status=$lib_status
        [[ $run == quiet ]] && status=$quiet_status
        if [[ $plain_status != "$status" ]]; then
            echo "exit status $status under the library ($run), $plain_status without"; cat "$T/$run.err"; return 1
        fi
        if ! cmp -s "$T/plain.out" "$T/$run.out"; then
            echo "output differs under the library ($run):"; diff "$T/plain.out" "$T/$run.out" | head -20; return 1
        fi
    done
    if ! compgen -G "$T/quiet.*.svg" >/dev/null; then
        echo "the default run drew no heap map: was the library loaded?"; return 1
    fi
    if grep -q mymalloc "$T/quiet.err"; then
        echo "the library complained in the default run:"; grep mymalloc "$T/quiet.err" | head; return 1
    fi
}

# Proves that the library was loaded and allocating in a process named
# $1 of the preloaded run: the report it prints at exit with stats=1, with
# its calls counted. A run under glibc's malloc prints no such line.
assert_loaded() {
    local file="${2:-$T/lib.err}"
    if ! grep -Eq "^mymalloc: stats for $1 \(pid [0-9]+\)$" "$file" ||
       ! grep -Eq "^  malloc +[1-9][0-9]* " "$file"; then
        echo "no mymalloc report from a process named '$1' in $file:"; head -20 "$file"; return 1
    fi
}

# Nothing but the stats reports on stderr: no diagnostics, no warnings.
assert_quiet() {
    if grep -v -E '^mymalloc: stats for [^ ]+ \(pid [0-9]+\)$' "$T/lib.err" | grep -q 'mymalloc'; then
        echo "the library complained:"; grep mymalloc "$T/lib.err" | head; return 1
    fi
}

# Runs python3, git and gcc under the library with MYMALLOC_OPTIONS=$1 and
# checks each prints what it prints without it and exits 0; then $2 (a
# function) is called with the preloaded run's stderr in $stderr.
real_programs_unchanged() {
    local opts=$1 check=$2 py
    py="$(python3 -c 'import sys; print(sys.executable)')"
    printf 'int main(void) { return 0; }\n' >"$T/a.c"
    for cmd in "$py -c print(sum(range(10**5)))" "git --version" "gcc -c $T/a.c -o $T/a.o"; do
        expected=$($cmd)
        run --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="$opts" PYTHONMALLOC=malloc $cmd
        [ "$status" -eq 0 ] || { echo "$cmd: status $status"; return 1; }
        [ "$output" = "$expected" ] || { echo "$cmd: output differs"; return 1; }
        "$check" || { echo "$cmd: $check failed: $stderr"; return 1; }
    done
}

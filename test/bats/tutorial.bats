#!/usr/bin/env bats
# The teaching path, "From sbrk to malloc" (src/tutorial/): what each step's
# demo prints, checked from the printed values (back-to-back addresses,
# header offsets, page-multiple growth, alignment, reuse), and every claim
# of the README's table of real programs the preloadable steps can and
# cannot run.

load test_helper

setup() {
    common_setup
    TUT="$BUILD/tutorial"
    PAGE="$(getconf PAGESIZE)"
}

# ---- helpers ----

# A hex address as a number.
num() { echo $((16#${1#0x})); }

# demo NAME [ARGS]: runs a demo program; $output, $lines, $status.
demo() {
    run --separate-stderr "$TUT/$1" "${@:2}"
}

# The addresses in the lines of $output that match the extended regex $1,
# whose first group is the address, one per line.
addrs() {
    printf '%s\n' "$output" | sed -nE "s/$1/\\1/p"
}

# preload STEP CMD...: runs CMD with libstepSTEP.so preloaded, the dynamic
# linker writing its symbol bindings to $T/ld.<pid>; $status, $output
# (stdout) and $stderr.
preload() {
    local step=$1
    shift
    rm -f "$T"/ld.*
    run --separate-stderr env LD_DEBUG=bindings LD_DEBUG_OUTPUT="$T/ld" \
        LD_PRELOAD="$TUT/libstep$step.so" "$@"
}

# The tutorial library is the malloc that ran: the dynamic linker bound
# some object's malloc to it, and no object's malloc or free to glibc's.
# (Under glibc's malloc there is no such binding.) Usually libc.so.6 itself
# is bound to it; a non-PIE program that takes malloc's address (Debian's
# python3) gets the binding and passes it on to libc.
assert_tutorial_loaded() {
    local lib="$TUT/libstep$1.so" bindings
    bindings="$(cat "$T"/ld.* 2>/dev/null | grep -E "normal symbol \`(malloc|free)'")"
    if ! grep -F " to $lib [0]: normal symbol \`malloc'" <<<"$bindings" | grep -vqF "binding file $lib "; then
        echo "no malloc was bound to $lib"
        return 1
    fi
    if grep -E 'to [^ ]*/libc\.so\.6 \[0\]: normal symbol' <<<"$bindings"; then
        echo "glibc's malloc or free was bound too"
        return 1
    fi
}

# runs_unchanged STEP CMD...: CMD runs under step STEP's library, which is
# loaded, and prints what it prints and exits as it exits under glibc's.
runs_unchanged() {
    local step=$1
    shift
    local want_status=0
    "$@" >"$T/want.out" 2>"$T/want.err" || want_status=$?
    preload "$step" "$@"
    assert_tutorial_loaded "$step"
    if [[ $status != "$want_status" ]]; then
        echo "$* exited $status under step $step, $want_status under glibc: $stderr"
        return 1
    fi
    if [[ $output != "$(cat "$T/want.out")" || $stderr != "$(cat "$T/want.err")" ]]; then
        echo "$* printed something else under step $step:"
        diff <(cat "$T/want.out" "$T/want.err") <(printf '%s\n%s\n' "$output" "$stderr") | head -20
        return 1
    fi
}

# stops STEP MESSAGE CMD...: CMD, under step STEP's library (loaded), is
# stopped by abort (status 134) with MESSAGE as its whole stderr.
stops() {
    local step=$1 message=$2
    shift 2
    preload "$step" "$@"
    assert_tutorial_loaded "$step"
    if [[ $status != 134 || $stderr != "$message" ]]; then
        echo "$* under step $step: status $status, stderr: $stderr"
        echo "expected status 134 and: $message"
        return 1
    fi
}

real_python() {
    # pyenv puts a shell script in front of python; run the interpreter itself
    "$(command -v python3)" -c 'import sys; print(sys.executable)'
}

# ---- step 1 ----

@test "step 1 prints the starting break, on a page boundary" {
    demo step1_break
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ ${lines[0]} =~ ^Starting\ break\ is\ (0x[0-9a-f]+)$ ]]
    (( $(num "${BASH_REMATCH[1]}") % PAGE == 0 ))
}

# ---- step 2 ----

@test "step 2: storing a byte at the break is a segmentation fault, shown in a child" {
    demo step2_fault
    [ "$status" -eq 0 ]
    [[ ${lines[0]} =~ ^Break\ is\ (0x[0-9a-f]+)$ ]]
    local brk=${BASH_REMATCH[1]}
    [ "${lines[1]}" = "Storing a byte at $brk: Segmentation fault (the child was killed by SIGSEGV)" ]
    [ "${#lines[@]}" -eq 2 ]
}

@test "step 2: after growing the break by one byte, the store works" {
    demo step2_grow
    [ "$status" -eq 0 ]
    [[ ${lines[0]} =~ ^Break\ is\ (0x[0-9a-f]+)$ ]]
    local old=${BASH_REMATCH[1]}
    [ "${lines[1]}" = "Stored 'A' at $old" ]
    [[ ${lines[2]} =~ ^New\ break\ is\ (0x[0-9a-f]+)$ ]]
    (( $(num "${BASH_REMATCH[1]}") == $(num "$old") + 1 ))
}

# ---- step 3 ----

@test "step 3: naive_malloc's blocks are back to back, from the starting break" {
    demo step3_naive
    [ "$status" -eq 0 ]
    [[ ${lines[0]} =~ ^Starting\ break\ is\ (0x[0-9a-f]+)$ ]]
    local expect=$(num "${BASH_REMATCH[1]}") n=0 line
    for line in "${lines[@]}"; do
        [[ $line =~ ^naive_malloc\(([0-9]+)\)\ =\ (0x[0-9a-f]+)$ ]] || continue
        # each block starts exactly where the previous one ended
        (( $(num "${BASH_REMATCH[2]}") == expect ))
        expect=$(( expect + BASH_REMATCH[1] ))
        n=$((n + 1))
    done
    [ "$n" -eq 5 ]
    # and the break is where the last one ends: not a byte wasted
    [[ $output =~ Break\ is\ (0x[0-9a-f]+) ]]
    (( $(num "${BASH_REMATCH[1]}") == expect ))
    [[ $output == *'block 1 holds "hello"'* ]]
}

# ---- step 4 ----

@test "step 4: each block starts sizeof(size_t) after its header, which holds the size" {
    demo step4_header
    [ "$status" -eq 0 ]
    [[ ${lines[0]} =~ ^sizeof\(size_t\)\ is\ ([0-9]+)$ ]]
    local word=${BASH_REMATCH[1]}
    [ "$word" -eq $(( $(getconf LONG_BIT) / 8 )) ]
    [[ ${lines[1]} =~ ^Starting\ break\ is\ (0x[0-9a-f]+)$ ]]
    local expect=$(num "${BASH_REMATCH[1]}") n=0 line
    for line in "${lines[@]}"; do
        [[ $line =~ ^header_malloc\(([0-9]+)\)\ =\ (0x[0-9a-f]+),\ header\ at\ (0x[0-9a-f]+)\ holds\ ([0-9]+)$ ]] || continue
        local size=${BASH_REMATCH[1]} p=$(num "${BASH_REMATCH[2]}") h=$(num "${BASH_REMATCH[3]}")
        (( h == expect ))              # the header follows the previous block
        (( p - h == word ))            # the block follows its header
        [ "${BASH_REMATCH[4]}" = "$size" ]   # the header holds the size
        expect=$(( p + size ))
        n=$((n + 1))
    done
    [ "$n" -eq 4 ]
    [[ $output =~ Break\ is\ (0x[0-9a-f]+) ]]
    (( $(num "${BASH_REMATCH[1]}") == expect ))
}

# ---- step 5 ----

@test "step 5: the break moves by whole pages, not by requests, and big requests work" {
    demo step5_demo
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "Page size is $PAGE" ]
    [[ ${lines[1]} =~ ^Starting\ break\ is\ (0x[0-9a-f]+)$ ]]
    local brk=$(num "${BASH_REMATCH[1]}") requests=0 moves=0 big=0 line
    for line in "${lines[@]}"; do
        [[ $line =~ ^malloc\(([0-9]+)\)\ =\ (0x[0-9a-f]+),\ break\ (0x[0-9a-f]+)\ \(moved\ ([0-9]+)\ bytes\)$ ]] || continue
        local size=${BASH_REMATCH[1]} now=$(num "${BASH_REMATCH[3]}")
        (( now - brk == BASH_REMATCH[4] ))
        (( (now - brk) % PAGE == 0 ))               # whole pages only
        (( now > brk )) && moves=$((moves + 1))
        (( size > PAGE )) && big=$((big + 1))
        (( $(num "${BASH_REMATCH[2]}") + size <= now ))   # the block lies below the break
        brk=$now
        requests=$((requests + 1))
    done
    [ "$requests" -eq 7 ]
    (( moves >= 1 && moves < requests ))   # one move serves several requests
    [ "$big" -eq 1 ]                        # a request larger than a page was served
}

@test "step 5: walking the headers from the heap start visits every block, then the free reserve" {
    demo step5_demo
    [ "$status" -eq 0 ]
    [[ ${lines[1]} =~ ^Starting\ break\ is\ (0x[0-9a-f]+)$ ]]
    local at=$(num "${BASH_REMATCH[1]}") sizes=() states=() line
    for line in "${lines[@]}"; do
        [[ $line =~ ^chunk\ (0x[0-9a-f]+):\ header\ ([0-9]+)\ bytes,\ data\ (0x[0-9a-f]+),\ size\ ([0-9]+),\ (used|free)$ ]] || continue
        local c=$(num "${BASH_REMATCH[1]}") hdr=${BASH_REMATCH[2]}
        (( c == at ))                                        # chunks tile the heap
        (( $(num "${BASH_REMATCH[3]}") == c + hdr ))         # data right after the header
        at=$(( c + hdr + BASH_REMATCH[4] ))                  # size leads to the next header
        sizes+=("${BASH_REMATCH[4]}")
        states+=("${BASH_REMATCH[5]}")
    done
    # the demo's requests, in order, then the reserve
    [ "${sizes[*]:0:7}" = "5 100 1000 2000 3000 10000 7" ]
    [ "${states[*]}" = "used used used used used used used free" ]
    # the chain ends at the break
    [[ ${lines[-1]} =~ ^Chain\ ends\ at\ (0x[0-9a-f]+)$ ]]
    (( at == $(num "${BASH_REMATCH[1]}") ))
    [[ $output =~ malloc\(7\)\ =\ 0x[0-9a-f]+,\ break\ (0x[0-9a-f]+) ]]
    (( at == $(num "${BASH_REMATCH[1]}") ))
}

# ---- step 6 ----

@test "step 6: every address malloc, realloc and calloc return is 16-byte aligned" {
    demo step6_demo
    [ "$status" -eq 0 ]
    local n=0 line
    for line in "${lines[@]}"; do
        [[ $line =~ \ =\ (0x[0-9a-f]+),\ address\ %\ 16\ =\ ([0-9]+)$ ]] || continue
        (( $(num "${BASH_REMATCH[1]}") % 16 == 0 ))   # computed here, not trusted
        [ "${BASH_REMATCH[2]}" = 0 ]
        n=$((n + 1))
    done
    [ "$n" -eq 8 ]
    # every chunk of the chain: header and data on multiples of 16
    n=0
    for line in "${lines[@]}"; do
        [[ $line =~ ^chunk\ (0x[0-9a-f]+):\ header\ 16\ bytes,\ data\ (0x[0-9a-f]+),\ size\ ([0-9]+), ]] || continue
        (( $(num "${BASH_REMATCH[1]}") % 16 == 0 && $(num "${BASH_REMATCH[2]}") % 16 == 0 ))
        (( BASH_REMATCH[3] % 16 == 0 ))
        n=$((n + 1))
    done
    (( n > 3 ))
}

@test "step 6: free marks a chunk free and the next malloc that fits reuses it" {
    demo step6_demo
    [ "$status" -eq 0 ]
    local b=$(addrs '^malloc\(24\) = (0x[0-9a-f]+),.*')
    [ -n "$b" ]
    [ "${lines[4]}" = "free($b)" ]
    [ "$(addrs '^malloc\(20\) = (0x[0-9a-f]+),.*')" = "$b" ]
    # c's chunk, freed, serves the next small requests too
    local c=$(addrs '^malloc\(100\) = (0x[0-9a-f]+),.*')
    [ "$(addrs '^malloc\(6\) = (0x[0-9a-f]+),.*')" = "$c" ]
}

@test "step 6: realloc keeps the contents, calloc zeroes a reused chunk" {
    demo step6_demo
    [ "$status" -eq 0 ]
    [[ $output == *'the block holds "hello"'* ]]
    local c=$(num "$(addrs '^malloc\(100\) = (0x[0-9a-f]+),.*')")
    local z=$(num "$(addrs '^calloc\(4, 8\) = (0x[0-9a-f]+),.*')")
    # the calloc block lies in c's old chunk, which the demo filled with 'x'
    (( z > c && z + 32 <= c + 100 ))
    [[ $output == *"32 of its 32 bytes are zero"* ]]
}

@test "step 6: requests that cannot be met return NULL with errno ENOMEM" {
    demo step6_demo
    [ "$status" -eq 0 ]
    [[ $output == *"malloc(SIZE_MAX) = (nil), errno = Cannot allocate memory"* ]]
    [[ $output == *"calloc(SIZE_MAX / 2, 3) = (nil), errno = Cannot allocate memory"* ]]
}

@test "step 6: a double free stops the program with a message" {
    demo step6_demo double-free
    [ "$status" -eq 134 ]
    local p=$(addrs '^malloc\(40\) = (0x[0-9a-f]+),.*')
    [ "${lines[1]}" = "free($p)" ]
    [ "$stderr" = "step6: free(): the block is free already (a double free?)" ]
}

# ---- the preloadable steps and real programs (the README's table) ----

@test "the tutorial libraries replace glibc's whole malloc family" {
    local step fn defined
    for step in 5 6; do
        defined="$(nm -D --defined-only "$TUT/libstep$step.so")"
        for fn in malloc free calloc realloc posix_memalign memalign aligned_alloc valloc pvalloc \
            malloc_usable_size; do
            grep -qw "T $fn" <<<"$defined" || { echo "libstep$step.so does not define $fn"; return 1; }
        done
    done
}

@test "the proof of loading fails under glibc's malloc" {
    # assert_tutorial_loaded must not pass for a run without the library
    rm -f "$T"/ld.*
    env LD_DEBUG=bindings LD_DEBUG_OUTPUT="$T/ld" ls >/dev/null
    run assert_tutorial_loaded 6
    [ "$status" -eq 1 ]
}

@test "steps 5 and 6 run head and xz -dc (C locale) unchanged" {
    printf 'line %s\n' $(seq 1 2000) >"$T/in.txt"
    xz -c "$T/in.txt" >"$T/in.xz"
    local step
    for step in 5 6; do
        LC_ALL=C runs_unchanged "$step" head -n 3 "$T/in.txt"
        [ "${lines[2]}" = "line 3" ]
        LC_ALL=C runs_unchanged "$step" xz -dc "$T/in.xz"
        [ "${#lines[@]}" -eq 2000 ]
        [ "${lines[1999]}" = "line 2000" ]
    done
}

@test "step 5 stops any program that sets a UTF-8 locale: setlocale calls realloc" {
    [[ -e /usr/share/locale/locale.alias ]] || skip "no locale.alias: setlocale reads nothing with realloc"
    echo hi >"$T/in.txt"
    LC_ALL=C.UTF-8 stops 5 "step5: realloc() is not in this step" head -n 1 "$T/in.txt"
    # the same program in the C locale runs
    LC_ALL=C runs_unchanged 5 head -n 1 "$T/in.txt"
}

@test "step 5 cannot run ls: ls calls realloc" {
    touch "$T/a" "$T/b"
    LC_ALL=C stops 5 "step5: realloc() is not in this step" ls "$T"
}

@test "step 5 cannot run python3: it calls realloc" {
    PYTHONMALLOC=malloc stops 5 "step5: realloc() is not in this step" "$(real_python)" -c 'print(42)'
}

@test "step 5 cannot run sort, bash, perl, git, gcc or xz -k: each calls realloc" {
    printf '3\n1\n2\n' >"$T/in.txt"
    echo 'int main(void) { return 0; }' >"$T/a.c"
    LC_ALL=C stops 5 "step5: realloc() is not in this step" sort "$T/in.txt"
    LC_ALL=C stops 5 "step5: realloc() is not in this step" bash -c 'echo hi'
    LC_ALL=C stops 5 "step5: realloc() is not in this step" perl -e 'print "hi\n"'
    LC_ALL=C stops 5 "step5: realloc() is not in this step" git --version
    LC_ALL=C stops 5 "step5: realloc() is not in this step" gcc -c "$T/a.c" -o "$T/a.o"
    # xz decompresses to stdout under step 5, but writing a file.xz of its
    # own takes a realloc
    LC_ALL=C stops 5 "step5: realloc() is not in this step" xz -k "$T/in.txt"
}

@test "steps 5 and 6 cannot run cat -n or dd: they ask for page-aligned buffers" {
    seq 1 100 >"$T/in.txt"
    LC_ALL=C stops 5 "step5: aligned_alloc() is not in this step" cat -n "$T/in.txt"
    LC_ALL=C stops 5 "step5: aligned_alloc() is not in this step" dd if="$T/in.txt" status=none
    stops 6 "step6: aligned_alloc(): alignments above 16 are not in this step" cat -n "$T/in.txt"
    stops 6 "step6: aligned_alloc(): alignments above 16 are not in this step" dd if="$T/in.txt" status=none
}

@test "step 6 runs ls unchanged, in a UTF-8 locale" {
    mkdir "$T/dir"
    touch "$T/dir/zeta" "$T/dir/alpha" "$T/dir/été"
    mkdir "$T/dir/sub"
    LC_ALL=C.UTF-8 runs_unchanged 6 ls -la --time-style=+ "$T/dir"
    [[ $output == *alpha* && $output == *été* ]]
}

@test "step 6 runs python3 -S (PYTHONMALLOC=malloc) unchanged" {
    # Every object of the interpreter comes from the tutorial's malloc. -S
    # skips the site module, whose start-up alone takes seconds here: every
    # malloc walks the whole chain (see the README).
    PYTHONMALLOC=malloc runs_unchanged 6 "$(real_python)" -S -c '
d = {}
for i in range(2000):
    d["k%d" % i] = [i] * (i % 10) + [str(i)]
s = ",".join(sorted(d))
print(len(d), len(s), sum(len(v) for v in d.values()))'
    [ "$output" = "2000 10889 11000" ]
}

@test "step 6 runs sort, bash, perl, git and gcc unchanged" {
    seq 1 5000 | sort -R --random-source=/dev/zero >"$T/in.txt"
    runs_unchanged 6 sort -n "$T/in.txt"
    [ "${lines[0]}" = 1 ]
    [ "${lines[4999]}" = 5000 ]
    runs_unchanged 6 bash -c 'a=(); for i in {1..500}; do a+=("x$i"); done; s=""; for x in "${a[@]}"; do s+=$x; done; echo ${#a[@]} ${#s} $(echo sub)'
    [ "$output" = "500 1892 sub" ]
    runs_unchanged 6 perl -e 'my %h; $h{$_} = $_ * 2 for 1 .. 10000; my @k = sort { $a <=> $b } keys %h; print scalar(@k), " $h{$k[-1]}\n"'
    [ "$output" = "10000 20000" ]
    git init -q "$T/repo"
    echo hello >"$T/repo/f"
    git -C "$T/repo" add f
    git -C "$T/repo" -c user.name=t -c user.email=t@example.com commit -qm "first commit"
    runs_unchanged 6 git -C "$T/repo" log --format=%s
    [ "$output" = "first commit" ]
    printf '#include <stdio.h>\nint main(void) { puts("built under step 6"); return 0; }\n' >"$T/hello.c"
    preload 6 gcc -O2 -o "$T/hello" "$T/hello.c"
    assert_tutorial_loaded 6
    [ "$status" -eq 0 ]
    run "$T/hello"
    [ "$output" = "built under step 6" ]
}

@test "step 6 cannot run xz -T2: a second thread calls malloc, and there is no lock" {
    seq 1 1000 >"$T/in.txt"
    stops 6 "step6: malloc(): called from a second thread, and this allocator has no lock" \
        xz -T2 -k "$T/in.txt"
    # single-threaded, the same xz runs
    rm -f "$T/in.txt.xz"
    preload 6 xz -T1 -k "$T/in.txt"
    assert_tutorial_loaded 6
    [ "$status" -eq 0 ]
    xz -dc "$T/in.txt.xz" | cmp - "$T/in.txt"
}

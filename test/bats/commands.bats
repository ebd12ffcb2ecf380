#!/usr/bin/env bats
# The commands and the installed package: scripts/mymalloc runs a program
# under the library (test/bats/runner.bats says more); every command has
# --help and --version, and --help starts no work; scripts/test names the
# steps that failed; cmake --install puts the library, the header, a
# pkg-config file, a CMake package, the commands and the man pages in place.

load test_helper

setup() {
    common_setup
    version=$(sed -n 's/^project(mymalloc VERSION \([0-9][0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
}

@test "scripts/mymalloc runs a program under the library and passes its exit status" {
    run "$ROOT/scripts/mymalloc" --stats ls "$ROOT"
    [ "$status" -eq 0 ]
    [[ $output == *"README.md"* ]]
    [[ $output == *"mymalloc: stats for ls (pid "* ]]
    run "$ROOT/scripts/mymalloc" sh -c 'exit 7'
    [ "$status" -eq 7 ]
    run "$ROOT/scripts/mymalloc" -- sh -c 'kill -SEGV $$'
    [ "$status" -eq 139 ]
}

@test "scripts/mymalloc passes options and has help" {
    run "$ROOT/scripts/mymalloc" --options=help=1 true
    [ "$status" -eq 0 ]
    [[ $output == *"| \`mmap_threshold\` | 128K |"* ]]
    run "$ROOT/scripts/mymalloc" -h
    [ "$status" -eq 0 ]
    [[ $output == "usage: mymalloc"* ]]
    run "$ROOT/scripts/mymalloc" --bogus ls
    [ "$status" -eq 2 ]
    [ "$output" = "mymalloc: unknown option '--bogus' (see mymalloc --help)" ]
    run "$ROOT/scripts/mymalloc"
    [ "$status" -eq 2 ]
}

@test "scripts/mymalloc --help and --version build nothing and run nothing" {
    MYMALLOC_BUILD_DIR="$T/none" run "$ROOT/scripts/mymalloc" --leaks --help ls
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "usage: mymalloc [OPTIONS] [--] PROGRAM [ARGS...]" ]
    [ ! -e "$T/none" ]
    MYMALLOC_BUILD_DIR="$T/none" run "$ROOT/scripts/mymalloc" --version
    [ "$status" -eq 0 ]
    [ "$output" = "mymalloc $version" ]
    [ ! -e "$T/none" ]
}

@test "scripts/test --help and --version run no test; an unknown argument is refused" {
    MYMALLOC_BUILD_DIR="$T/none" run "$ROOT/scripts/test" --help
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "usage: scripts/test [-h | --help | --version]" ]
    [ ! -e "$T/none" ]
    MYMALLOC_BUILD_DIR="$T/none" run "$ROOT/scripts/test" --version
    [ "$status" -eq 0 ]
    [ "$output" = "scripts/test (mymalloc) $version" ]
    MYMALLOC_BUILD_DIR="$T/none" run "$ROOT/scripts/test" --quick
    [ "$status" -eq 2 ]
    [ "$output" = "scripts/test: unknown argument '--quick' (see scripts/test --help)" ]
    [ ! -e "$T/none" ]
}

@test "scripts/fuzz --help and --version fuzz nothing; a bad argument is refused" {
    MYMALLOC_FUZZ_BUILD_DIR="$T/none" run "$ROOT/scripts/fuzz" --help
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "usage: scripts/fuzz [SECONDS]" ]
    MYMALLOC_FUZZ_BUILD_DIR="$T/none" run "$ROOT/scripts/fuzz" --version
    [ "$status" -eq 0 ]
    [ "$output" = "scripts/fuzz (mymalloc) $version" ]
    MYMALLOC_FUZZ_BUILD_DIR="$T/none" run "$ROOT/scripts/fuzz" --bogus
    [ "$status" -eq 2 ]
    [ "$output" = "scripts/fuzz: unknown option '--bogus' (see scripts/fuzz --help)" ]
    # 0 would be no time limit at all
    for bad in 0 1m 10s; do
        MYMALLOC_FUZZ_BUILD_DIR="$T/none" run "$ROOT/scripts/fuzz" "$bad"
        [ "$status" -eq 2 ]
        [ "$output" = "scripts/fuzz: '$bad' is not a number of seconds (see scripts/fuzz --help)" ]
    done
    [ ! -e "$T/none" ]
}

@test "scripts/bench --help and --version measure nothing; an unknown option is refused" {
    MYMALLOC_BUILD_DIR="$T/none" run "$ROOT/scripts/bench" --help
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "usage: scripts/bench [OPTIONS]" ]
    MYMALLOC_BUILD_DIR="$T/none" run "$ROOT/scripts/bench" --version
    [ "$status" -eq 0 ]
    [ "$output" = "scripts/bench (mymalloc) $version" ]
    MYMALLOC_BUILD_DIR="$T/none" run "$ROOT/scripts/bench" --bogus
    [ "$status" -eq 2 ]
    [ "$output" = "scripts/bench: unknown option '--bogus' (see scripts/bench --help)" ]
    [ ! -e "$T/none" ]
}

@test "scripts/make-pictures --help and --version leave the pictures alone; an unknown argument is refused" {
    before=$(cat "$ROOT"/scripts/pictures/* | cksum)
    MYMALLOC_BUILD_DIR="$T/none" run "$ROOT/scripts/make-pictures" --help
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "usage: scripts/make-pictures" ]
    MYMALLOC_BUILD_DIR="$T/none" run "$ROOT/scripts/make-pictures" --version
    [ "$status" -eq 0 ]
    [ "$output" = "scripts/make-pictures (mymalloc) $version" ]
    MYMALLOC_BUILD_DIR="$T/none" run "$ROOT/scripts/make-pictures" --bogus
    [ "$status" -eq 2 ]
    [ "$output" = "scripts/make-pictures: unknown argument '--bogus' (see scripts/make-pictures --help)" ]
    [ ! -e "$T/none" ]
    [ "$(cat "$ROOT"/scripts/pictures/* | cksum)" = "$before" ]
}

@test "scripts/compare-leaks, compare-errors, compare-profile and sweep: --help and --version run nothing; an unknown option is refused" {
    for s in compare-leaks compare-errors compare-profile sweep; do
        MYMALLOC_BUILD_DIR="$T/none" run "$ROOT/scripts/$s" --help
        [ "$status" -eq 0 ]
        [[ ${lines[0]} == "$s -- "* ]]
        MYMALLOC_BUILD_DIR="$T/none" run "$ROOT/scripts/$s" --version
        [ "$status" -eq 0 ]
        [ "$output" = "$s $version" ]
        MYMALLOC_BUILD_DIR="$T/none" run "$ROOT/scripts/$s" --bogus
        [ "$status" -eq 2 ]
        [ "$output" = "$s: unknown option '--bogus' (see --help)" ]
        [ ! -e "$T/none" ]
    done
}

@test "scripts/sweep names the programs that get a report or another exit status under an option, and those with lost blocks" {
    mkdir "$T/bin"
    ln -s "$(command -v ls)" "$T/bin/ls"
    ln -s "$BUILD/misuse/double_free" "$T/bin/double_free"
    ln -s "$BUILD/programs/leaky" "$T/bin/leaky"
    run --separate-stderr "$ROOT/scripts/sweep" --options 'guard=1 check=1 leaks=1' "$T/bin"
    [ "$status" -eq 1 ]
    [[ $output == *"/double_free check=1: status 134 (without the library: 134): mymalloc: ERROR: double-free of the 40-byte block 0x"* ]]
    [[ $output == *"/leaky leaks=1: 2,300 bytes in 3 blocks lost, from 2 sites"* ]]
    [[ $output != *"/ls "* ]]
    # without the misuse: only the lost blocks, and status 0
    rm "$T/bin/double_free"
    run --separate-stderr "$ROOT/scripts/sweep" --options 'guard=1 check=1 leaks=1' "$T/bin"
    [ "$status" -eq 0 ]
    [ "$stderr" = "sweep: 2 programs, each under 3 option sets" ]
    [ "${#lines[@]}" -eq 1 ]
    [[ ${lines[0]} == *"/leaky leaks=1: 2,300 bytes in 3 blocks lost, from 2 sites" ]]
}

@test "mymalloc-trace --help, --version, and an unknown option" {
    run "$BUILD/mymalloc-trace" --help
    [ "$status" -eq 0 ]
    [[ $output == *"       mymalloc-trace -h | --help | --version"* ]]
    run "$BUILD/mymalloc-trace" --version
    [ "$status" -eq 0 ]
    [ "$output" = "mymalloc-trace $version" ]
    run "$BUILD/mymalloc-trace" --bogus
    [ "$status" -eq 2 ]
    [ "${lines[0]}" = "mymalloc-trace: unknown option '--bogus'" ]
}

@test "scripts/test names the steps that failed" {
    # stand-ins: cmake and ctest succeed, bats fails, and the fuzz target is
    # not there (the stand-in cmake builds nothing)
    mkdir -p "$T/bin" "$T/b" "$T/b-ubsan" "$T/b-fuzz"
    printf '#!/bin/sh\nexit 0\n' >"$T/bin/cmake"
    printf '#!/bin/sh\nexit 0\n' >"$T/bin/ctest"
    printf '#!/bin/sh\nexit 1\n' >"$T/bin/bats"
    chmod +x "$T"/bin/*
    PATH="$T/bin:$PATH" MYMALLOC_BUILD_DIR="$T/b" MYMALLOC_FUZZ_SECONDS=1 run "$ROOT/scripts/test"
    [ "$status" -eq 1 ]
    [ "${lines[-1]}" = "scripts/test: FAILED: layers, bats files, fuzzing" ]
    # the same with bats passing, the layers' objects there (none, so none
    # calls up) and a fuzz target that finds nothing
    printf '#!/bin/sh\nexit 0\n' >"$T/bin/bats"
    for l in base unwind heap pages cache front debug top; do mkdir -p "$T/b/CMakeFiles/mymalloc_$l.dir"; done
    mkdir "$T/b-fuzz/fuzz"
    printf '#!/bin/sh\nexit 0\n' >"$T/b-fuzz/fuzz/fuzz_heap"
    chmod +x "$T/b-fuzz/fuzz/fuzz_heap"
    PATH="$T/bin:$PATH" MYMALLOC_BUILD_DIR="$T/b" MYMALLOC_FUZZ_SECONDS=1 run "$ROOT/scripts/test"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "scripts/test: all passed" ]
}

@test "scripts/mymalloc builds the library when it is not built yet" {
    MYMALLOC_BUILD_DIR="$T/fresh" run "$ROOT/scripts/mymalloc" --stats true
    [ "$status" -eq 0 ]
    [ -f "$T/fresh/libmymalloc.so" ]
    [[ $output == *"building the library"* ]]
    [[ $output == *"mymalloc: stats for true (pid "* ]]
}

@test "cmake --install puts the library, header, pkg-config file and command in place" {
    cmake --install "$BUILD" --prefix "$T/prefix" >/dev/null
    [ -f "$T/prefix/include/mymalloc.h" ]
    lib=$(find "$T/prefix" -name libmymalloc.so)
    [ -n "$lib" ]
    # the installed command finds the installed library, and knows its version
    run "$T/prefix/bin/mymalloc" --stats ls /
    [ "$status" -eq 0 ]
    [[ $output == *"mymalloc: stats for ls (pid "* ]]
    run "$T/prefix/bin/mymalloc" --version
    [ "$output" = "mymalloc $version" ]
    # a program built with pkg-config links against it
    cat >"$T/v.c" <<'C'
#include <mymalloc.h>
#include <stdio.h>
#include <string.h>
int main(void) { puts(mymalloc_version()); return strcmp(mymalloc_version(), MYMALLOC_VERSION) != 0; }
C
    pc=$(dirname "$(find "$T/prefix" -name mymalloc.pc)")
    cc -o "$T/v" "$T/v.c" $(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs mymalloc)
    run env LD_LIBRARY_PATH="$(dirname "$lib")" "$T/v"
    [ "$status" -eq 0 ]
    [ "$output" = "0.1.0" ]
}

@test "find_package(mymalloc) gives the target mymalloc::mymalloc" {
    cmake --install "$BUILD" --prefix "$T/prefix" >/dev/null
    mkdir "$T/use"
    cat >"$T/use/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(use C)
find_package(mymalloc ${WANT} REQUIRED)
add_executable(v v.c)
target_link_libraries(v PRIVATE mymalloc::mymalloc)
CMAKE
    printf '#include <mymalloc.h>\n#include <stdio.h>\nint main(void) { puts(mymalloc_version()); return 0; }\n' >"$T/use/v.c"
    cmake -S "$T/use" -B "$T/use/build" -DCMAKE_PREFIX_PATH="$T/prefix" -DWANT="$version" >/dev/null
    cmake --build "$T/use/build" >/dev/null
    run "$T/use/build/v"
    [ "$status" -eq 0 ]
    [ "$output" = "$version" ]
    # linked against the installed library
    lib=$(find "$T/prefix" -name libmymalloc.so)
    run ldd "$T/use/build/v"
    [[ $output == *"libmymalloc.so.0 => $(dirname "$lib")/libmymalloc.so.0 "* ]]
    # and a version it is not is refused
    run cmake -S "$T/use" -B "$T/use/build9" -DCMAKE_PREFIX_PATH="$T/prefix" -DWANT=9.0
    [ "$status" -ne 0 ]
    [[ $output == *"requested version \"9.0\""* ]]
    [[ $output == *"mymallocConfig.cmake, version: $version"* ]]
}

@test "the man pages are installed, render without warnings, and mymalloc(7) lists every option" {
    cmake --install "$BUILD" --prefix "$T/prefix" >/dev/null
    for page in man1/mymalloc.1 man1/mymalloc-trace.1 man3/mymalloc.3 man7/mymalloc.7; do
        run --separate-stderr env LC_ALL=C man --warnings -l "$T/prefix/share/man/$page"
        [ "$status" -eq 0 ]
        [ "$stderr" = "" ]
        [[ ${lines[0]} == MYMALLOC* ]]
    done
    # each option the library prints is an entry of mymalloc(7), its default too
    env MYMALLOC_OPTIONS=help=1 LD_PRELOAD="$LIB" true 2>"$T/table" >/dev/null
    sed -n 's/^| `\([a-z_0-9]*\)` | \([^|]*\) |.*/       \1 (default: \2)/p' "$T/table" >"$T/entries"
    [ "$(wc -l <"$T/entries")" -ge 20 ]
    LC_ALL=C MANWIDTH=200 man -l "$T/prefix/share/man/man7/mymalloc.7" >"$T/page"
    while IFS= read -r entry; do
        grep -qxF -- "$entry" "$T/page" || { echo "no entry '$entry' in mymalloc(7)"; return 1; }
    done <"$T/entries"
}

@test "only the allocation API (C's and C++'s) and the mymalloc_ functions are exported" {
    run bash -c "LC_ALL=C nm -D --defined-only '$LIB' | awk '{print \$3}' | LC_ALL=C sort"
    [ "$status" -eq 0 ]
    cxx="_ZdaPv _ZdaPvRKSt9nothrow_t _ZdaPvSt11align_val_t _ZdaPvSt11align_val_tRKSt9nothrow_t _ZdaPvm _ZdaPvmSt11align_val_t _ZdlPv _ZdlPvRKSt9nothrow_t _ZdlPvSt11align_val_t _ZdlPvSt11align_val_tRKSt9nothrow_t _ZdlPvm _ZdlPvmSt11align_val_t _Znam _ZnamRKSt9nothrow_t _ZnamSt11align_val_t _ZnamSt11align_val_tRKSt9nothrow_t _Znwm _ZnwmRKSt9nothrow_t _ZnwmSt11align_val_t _ZnwmSt11align_val_tRKSt9nothrow_t"
    expected="$cxx aligned_alloc calloc free mallinfo mallinfo2 malloc malloc_stats malloc_trim malloc_usable_size mallopt memalign mymalloc_check_heap mymalloc_heap_info mymalloc_set_options mymalloc_stats_print mymalloc_version posix_memalign pvalloc realloc reallocarray valloc"
    [ "$(echo $output)" = "$expected" ]
    # and it needs nothing but glibc: the C library and the dynamic loader
    run bash -c "readelf -d '$LIB' | awk '/NEEDED/ { print \$NF }' | sort | tr '\n' ' '"
    [ "$output" = "[ld-linux-x86-64.so.2] [libc.so.6] " ]
}

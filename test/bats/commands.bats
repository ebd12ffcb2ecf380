#!/usr/bin/env bats
# The two commands and the installed package: scripts/mymalloc runs a
# program under the library; cmake --install puts the library, the header,
# a pkg-config file and the mymalloc command in place.

load test_helper

setup() { common_setup; }

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
    [[ $output == *"unknown option '--bogus'"* ]]
    run "$ROOT/scripts/mymalloc"
    [ "$status" -eq 2 ]
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
    # the installed command finds the installed library
    run "$T/prefix/bin/mymalloc" --stats ls /
    [ "$status" -eq 0 ]
    [[ $output == *"mymalloc: stats for ls (pid "* ]]
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

@test "only the allocation API and the mymalloc_ functions are exported" {
    run bash -c "nm -D --defined-only '$LIB' | awk '{print \$3}' | sort"
    [ "$status" -eq 0 ]
    expected="aligned_alloc calloc free mallinfo mallinfo2 malloc malloc_stats malloc_trim malloc_usable_size mallopt memalign mymalloc_check_heap mymalloc_heap_info mymalloc_set_options mymalloc_stats_print mymalloc_version posix_memalign pvalloc realloc reallocarray valloc"
    [ "$(echo $output)" = "$expected" ]
    # and it needs nothing but glibc: the C library and the dynamic loader
    run bash -c "readelf -d '$LIB' | awk '/NEEDED/ { print \$NF }' | sort | tr '\n' ' '"
    [ "$output" = "[ld-linux-x86-64.so.2] [libc.so.6] " ]
}

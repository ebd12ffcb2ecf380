#!/usr/bin/env bats
# The house: the layers call only down, the toolkit can be left out whole,
# and a quiet process pays nothing for it.

load test_helper

setup() { common_setup; }

@test "no object of a lower layer uses a name that a higher layer defines" {
    run "$ROOT/scripts/check-layers" "$BUILD"
    [ "$status" -eq 0 ]
    [[ $output == "check-layers: every call runs down ("*" objects)" ]]
}

@test "the check finds an arrow that runs up" {
    # a copy of the objects, with one of the heap's made to call the caches
    mkdir -p fake/CMakeFiles
    cp -r "$BUILD"/CMakeFiles/mymalloc_*.dir fake/CMakeFiles/
    printf 'void mm_cache_flush(void);\nvoid up(void) { mm_cache_flush(); }\n' >up.c
    cc -c -o fake/CMakeFiles/mymalloc_heap.dir/up.o up.c
    run "$ROOT/scripts/check-layers" fake
    [ "$status" -eq 1 ]
    [[ $output == *"up.o (heap) uses mm_cache_flush, defined in cache, above it"* ]]
}

@test "built with -DMYMALLOC_TOOLKIT=OFF, the library holds nothing of the toolkit or the unwinder, and says so" {
    cmake -S "$ROOT" -B off -DMYMALLOC_TOOLKIT=OFF -DBUILD_TESTING=OFF >/dev/null
    cmake --build off --target mymalloc -j 2 >/dev/null
    run "$ROOT/scripts/check-layers" --off "$BUILD" off
    [ "$status" -eq 0 ]
    [[ $output == *"the library without the toolkit holds none of it"* ]]
    # it allocates as ever, and a toolkit option gets a warning, not a report
    run --separate-stderr env LD_PRELOAD="$PWD/off/libmymalloc.so" MYMALLOC_OPTIONS=leaks=1 "$BUILD/programs/leaky"
    [ "$status" -eq 0 ]
    [[ $stderr == *"mymalloc: MYMALLOC_OPTIONS: leaks needs the debugging toolkit, and this library was built without it"* ]]
    [[ $stderr != *"SUMMARY"* ]]
    # the exported names are there (the library is loaded and serving)
    nm -D --defined-only off/libmymalloc.so | grep -qw malloc
    run env LD_PRELOAD="$PWD/off/libmymalloc.so" "$BUILD/programs/alloc_one" 200000
    [ "$status" -eq 0 ]
    [ "$output" = "mapped=1" ]
}

@test "a process whose options need no stacks starts no unwinder: /proc/self/maps is not opened" {
    command -v strace >/dev/null || skip "strace is not installed"
    # quiet (help=1 only proves the library is loaded: it prints the options)
    run strace -f -e trace=openat -o quiet.txt env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=help=1 /bin/true
    [ "$status" -eq 0 ]
    [[ $output == *"| \`mmap_threshold\` | 128K |"* ]]
    ! grep -q '/proc/self/maps' quiet.txt
    run strace -f -e trace=openat -o stats.txt env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=stats=1 /bin/true
    [[ $output == *"mymalloc: stats for true (pid"* ]]
    ! grep -q '/proc/self/maps' stats.txt
    # with leaks=1 it is opened: stacks are wanted
    strace -f -e trace=openat -o leaks.txt env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=leaks=1 /bin/true 2>/dev/null
    grep -q '/proc/self/maps' leaks.txt
}

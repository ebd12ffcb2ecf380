#!/usr/bin/env bats
# The compiler and C++ programs: gcc's driver, cc1, as and ld all run under
# the library; a C++ program leans on std::map, std::string and aligned new.

load test_helper

setup() { common_setup; }

@test "the library is loaded into gcc and the programs it starts" {
    echo 'int main(void) { return 0; }' >"$T/a.c"
    run_both gcc -O2 -c "$T/a.c" -o "$T/a.o"
    assert_loaded gcc
    assert_loaded cc1
    assert_loaded as
}

@test "gcc compiles and links a program unchanged" {
    # a file big enough to give the compiler some work
    {
        echo '#include <stdio.h>'
        for i in $(seq 1 300); do
            echo "static int f$i(int x) { int s = 0; for (int i = 0; i < x; i++) s += i * $i % 7; return s; }"
        done
        echo 'int main(void) { long t = 0;'
        for i in $(seq 1 300); do echo "t += f$i($i);"; done
        echo 'printf("%ld\n", t); return 0; }'
    } >"$T/big.c"
    run_both gcc -O2 -o "$T/big" "$T/big.c"
    assert_loaded cc1
    assert_loaded ld
    [ "$plain_status" -eq 0 ]
    [ "$lib_status" -eq 0 ]
    run "$T/big"
    [ "$status" -eq 0 ]
    expected="$output"
    run_both "$T/big"
    assert_same
    [ "$(cat "$T/lib.out")" = "$expected" ]
    assert_quiet
}

@test "a C++ program with std::map, std::string and aligned new runs unchanged" {
    run_both "$BUILD/programs/cxx_containers" 150000
    assert_loaded cxx_containers
    assert_same
    [[ $(cat "$T/lib.out") == *" keys, "* ]]
    assert_quiet
}

#!/usr/bin/env bats
# Attacks on the chain of chunks, the big mappings and the thread caches,
# one small program each (test/attacks/), as stray reads and writes of real
# heap bugs would make them. Each proves first that it runs under the
# library, then prints the pointer the report names; when the attack works
# it says "ATTACK SUCCEEDED" and exits 1. The library must stop each with
# its one-line report and abort() (status 134), or, where the attack is on
# its bookkeeping, keep its counts true.

load test_helper

setup() { common_setup; }

# attack OPTIONS NAME [ARGS]: runs the program under the library with
# MYMALLOC_OPTIONS=OPTIONS and expects the abort; $ptr is what it printed.
attack() {
    local opts=$1
    shift
    run -134 --separate-stderr env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS="$opts" "$BUILD/attacks/$@"
    ptr="${lines[0]}"
    [[ $ptr == 0x* ]]
    [[ $(printf '%s\n' "$stderr" | grep -c .) == 1 ]] || { echo "not one line: $stderr"; false; }
}

TOP_REPORT="was overwritten (a heap overflow?)"

@test "the attack programs refuse to run without the library" {
    run -3 "$BUILD/attacks/secret_read" freed
    [ "$output" = "not running under mymalloc: preload the library" ]
}

@test "the NULL link of a freed block gives no key: top forged with what it shows is reported" {
    attack "" secret_read freed
    [ "$stderr" = "mymalloc: malloc(): heap corrupted: the header of the free space at the end of the heap ($ptr) $TOP_REPORT" ]
}

@test "without getrandom (fail_getrandom=1), the keys come from the fallback and still give nothing away" {
    command -v strace >/dev/null || skip "strace is not installed"
    # the library asks the kernel for its eleven keys (88 bytes), unless the
    # option says the kernel has none
    run strace -f -e trace=getrandom env LD_PRELOAD="$LIB" "$BUILD/attacks/secret_read" freed
    grep -Eq 'getrandom\(.*, 88, GRND_NONBLOCK\) = 88' <<<"$output"
    run strace -f -e trace=getrandom env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=fail_getrandom=1 "$BUILD/attacks/secret_read" freed
    [[ $output != *", 88, GRND_NONBLOCK"* ]]
    attack fail_getrandom=1 secret_read freed
    [ "$stderr" = "mymalloc: malloc(): heap corrupted: the header of the free space at the end of the heap ($ptr) $TOP_REPORT" ]
    attack fail_getrandom=1 secret_read fresh
    [ "$stderr" = "mymalloc: malloc(): heap corrupted: the header of the free space at the end of the heap ($ptr) $TOP_REPORT" ]
}

@test "a block handed out again shows no links: top forged with what it holds is reported" {
    attack "" secret_read fresh
    [ "$stderr" = "mymalloc: malloc(): heap corrupted: the header of the free space at the end of the heap ($ptr) $TOP_REPORT" ]
}

@test "the mark of a cached block gives no key: top forged with it is reported" {
    attack leaks=1:leak_exitcode=0 secret_read cached
    [ "$stderr" = "mymalloc: malloc(): heap corrupted: the header of the free space at the end of the heap ($ptr) $TOP_REPORT" ]
}

@test "top's own header written back after a trim (its size past the heap's end) is reported" {
    attack "" top_stale
    [ "$stderr" = "mymalloc: malloc(): heap corrupted: the header of the free space at the end of the heap ($ptr) $TOP_REPORT" ]
}

@test "a header copied from the chunk at c ^ 64 KiB, its size changed by as much, is refused at c" {
    attack "" header_moved
    [ "$stderr" = "mymalloc: free(): invalid pointer $ptr: not the start of a block (or its header was overwritten)" ]
}

@test "65,536 guesses of a forged header's tag find none the heap accepts" {
    attack "" tag_guessed
    [ "$stderr" = "mymalloc: free(): invalid pointer $ptr: not the start of a block (or its header was overwritten)" ]
}

@test "a mapped block's offset word overwritten: free refuses it instead of unmapping a neighbour" {
    attack "" mapped_offset
    [ "$stderr" = "mymalloc: free(): the header of the mapped block $ptr was overwritten" ]
}

@test "a write just past a mapped block faults on its guard page" {
    run -139 --separate-stderr env LD_PRELOAD="$LIB" "$BUILD/attacks/mapped_past_end"
    [[ ${lines[0]} == 0x* ]]
    [ "${#lines[@]}" -eq 1 ]
}

@test "a cached small block written after free and freed again is reported when malloc hands it out" {
    attack leaks=1:leak_exitcode=0 cached_double_free 40
    [ "$stderr" = "mymalloc: malloc(): the free 56-byte block $ptr was written after it was freed (use after free, or a second free after a write)" ]
}

@test "a cached 3,000-byte block written after free and freed again is reported when malloc hands it out" {
    attack leaks=1:leak_exitcode=0 cached_double_free 3000
    [ "$stderr" = "mymalloc: malloc(): the free 3064-byte block $ptr was written after it was freed (use after free, or a second free after a write)" ]
}

@test "a second free of a block that merged with its free neighbour is a double free" {
    attack leaks=1:leak_exitcode=0 stale_merge
    [ "$stderr" = "mymalloc: free(): double free of $ptr (merged with a free neighbour when it was freed)" ]
}

@test "a second free of a block that merged into a trimmed top is a double free, not a crash" {
    attack leaks=1:leak_exitcode=0 stale_trimmed
    [ "$stderr" = "mymalloc: free(): double free of $ptr (merged with a free neighbour when it was freed)" ]
}

@test "the break lowered by the program is reported by the next malloc from top, not a crash" {
    attack leaks=1:leak_exitcode=0 brk_shrunk malloc
    [[ $stderr == "mymalloc: malloc(): someone else moved the program break down into the heap (to $ptr, below its end 0x"*"): the blocks there are gone" ]]
}

@test "the break lowered by the program is reported by a free into top, not a crash" {
    attack "" brk_shrunk free
    [[ $stderr == "mymalloc: free(): someone else moved the program break down into the heap (to $ptr, below its end 0x"*"): the blocks there are gone" ]]
}

@test "a free chunk's dirty count written over after free is not believed past the chunk" {
    run --separate-stderr env LD_PRELOAD="$LIB" "$BUILD/attacks/dirty_wrapped"
    [ "$status" -eq 0 ]
    [[ $output == "released "*" bytes of a heap of "* ]]
    [ -z "$stderr" ]
}

@test "an 8-byte overflow onto the next header is caught at free (the toolkit's lockless free)" {
    attack leaks=1:leak_exitcode=0 overflow_next
    [ "$stderr" = "mymalloc: free(): heap overflow: the header after the 56-byte block $ptr was overwritten" ]
}

#!/usr/bin/env bats
# Attacks on the pages' free lists (test/attacks/page_link.c): a stray read
# takes a page's key, and a write after free forges a link into the middle
# of a live block. The program proves first that it runs under the
# library; when the attack works it says "ATTACK SUCCEEDED" and exits 1.
# The library must name the forged block when malloc takes it, and abort.

load test_helper

setup() { common_setup; }

# page_attack MODE: expects the one-line report and the abort; $ptr is the
# block the program forged the link of.
page_attack() {
    run -134 --separate-stderr env LD_PRELOAD="$LIB" "$BUILD/attacks/page_link" "$1"
    ptr="${lines[0]}"
    [[ $ptr == 0x* ]]
}

@test "the page attack refuses to run without the library" {
    run -3 "$BUILD/attacks/page_link" fresh
    [ "$output" = "not running under mymalloc: preload the library" ]
}

@test "a block handed out fresh holds no link to read: a link forged with what it held is reported" {
    page_attack fresh
    [ "$stderr" = "mymalloc: malloc(): the free 48-byte block $ptr was written after it was freed (use after free, or a second free after a write)" ]
}

@test "a link forged with the page's key into the middle of a live block is reported" {
    page_attack freed
    [ "$stderr" = "mymalloc: malloc(): the free 48-byte block $ptr was written after it was freed (use after free, or a second free after a write)" ]
}

# Another thread's free reads the block's first word, not its bit (the
# owner's cache line): test/attacks/remote_free.c gets past the first word
# two ways, and the owner must name the block when it takes the other
# thread's frees back, before it hands any of them out again.
remote_attack() {
    run -134 --separate-stderr env LD_PRELOAD="$LIB" "$BUILD/attacks/remote_free" "$1"
    ptr="${lines[0]}"
    [[ $ptr == 0x* ]]
}

@test "a block freed, written over, and freed again by another thread is named before it comes out twice" {
    remote_attack written
    [ "$stderr" = "mymalloc: malloc(): the free 768-byte block $ptr was written after it was freed (use after free, or a second free after a write)" ]
}

@test "another thread's free of a block malloc never handed out is named before the block comes out" {
    remote_attack unused
    [ "$stderr" = "mymalloc: free(): invalid pointer $ptr: a 768-byte block malloc never handed out" ]
}

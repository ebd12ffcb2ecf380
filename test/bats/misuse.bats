#!/usr/bin/env bats
# One tiny program per mistake (test/misuse/). Each prints the pointer it is
# about to misuse, then misuses it: the library must print one line naming
# the function, the pointer and the problem, and abort (status 134).

load test_helper

setup() { common_setup; }

# misuse NAME [ARG...]: runs the program under the library (with
# MYMALLOC_OPTIONS=$opts if set); $ptr is what it printed.
misuse() {
    run -134 --separate-stderr env LD_PRELOAD="$LIB" ${opts:+"MYMALLOC_OPTIONS=$opts"} "$BUILD/misuse/$1" "${@:2}"
    ptr="${lines[0]}"
    [[ $ptr == 0x* ]]
    [[ $(printf '%s\n' "$stderr" | grep -c .) == 1 ]] || { echo "more than one line: $stderr"; false; }
}

@test "the misuse programs run under the library (it answers for them)" {
    run env LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=stats=1 "$BUILD/misuse/double_free"
    [[ $output == *"mymalloc: free(): double free"* ]]
    # and glibc alone does not print our message: the library is what answers
    run "$BUILD/misuse/double_free"
    [[ $output != *"mymalloc:"* ]]
}

@test "a double free is reported with the block's size (malloc(40) is a block of 48 bytes, its class)" {
    misuse double_free
    [ "$stderr" = "mymalloc: free(): double free of $ptr (48-byte block)" ]
}

@test "a double free after other heap work is still caught" {
    misuse double_free_later
    [ "$stderr" = "mymalloc: free(): double free of $ptr (48-byte block)" ]
}

@test "a second free from another thread is caught before the block's owner takes it back" {
    # main allocates the block and waits; one thread frees it, another
    # frees it again: the block waits on its page's remote list, its bit
    # still set, and the second free is named at once
    misuse double_free_threads
    [ "$stderr" = "mymalloc: free(): double free of $ptr (48-byte block)" ]
}

@test "a double free of a big mapped block is caught" {
    misuse double_free_big
    [ "$stderr" = "mymalloc: free(): double free of $ptr (a mapped block, already unmapped)" ]
}

@test "freeing the old pointer after realloc moved it is a double free" {
    misuse double_free_realloc
    [ "$stderr" = "mymalloc: free(): double free of $ptr (48-byte block)" ]
}

@test "freeing a stack array is refused" {
    misuse free_stack
    [ "$stderr" = "mymalloc: free(): invalid pointer $ptr: not allocated by mymalloc (stack, static or foreign memory?)" ]
}

@test "freeing a static array is refused" {
    misuse free_static
    [ "$stderr" = "mymalloc: free(): invalid pointer $ptr: not allocated by mymalloc (stack, static or foreign memory?)" ]
}

@test "freeing a pointer into the middle of a block is refused" {
    misuse free_interior
    [ "$stderr" = "mymalloc: free(): invalid pointer $ptr: not the start of a block (or its header was overwritten)" ]
}

@test "freeing a misaligned pointer is refused" {
    misuse free_misaligned
    [ "$stderr" = "mymalloc: free(): invalid pointer $ptr: not 16-byte aligned, so not from malloc" ]
}

@test "freeing memory the program mapped itself is refused" {
    misuse free_foreign_mmap
    [ "$stderr" = "mymalloc: free(): invalid pointer $ptr: not allocated by mymalloc (stack, static or foreign memory?)" ]
}

@test "realloc of a freed block is caught" {
    misuse realloc_freed
    [ "$stderr" = "mymalloc: realloc(): freed pointer $ptr (48-byte block)" ]
}

@test "realloc through an interior pointer is refused" {
    misuse realloc_interior
    [ "$stderr" = "mymalloc: realloc(): invalid pointer $ptr: not the start of a block (or its header was overwritten)" ]
}

@test "malloc_usable_size of a freed block is caught" {
    misuse usable_size_freed
    [ "$stderr" = "mymalloc: malloc_usable_size(): freed pointer $ptr (48-byte block)" ]
}

@test "an overflow onto the next block's header is caught when the block is freed" {
    misuse overflow_small
    [ "$stderr" = "mymalloc: free(): heap overflow: the header after the 40008-byte block $ptr was overwritten" ]
}

@test "a block whose header an overflow destroyed is refused" {
    misuse overflow_large
    [ "$stderr" = "mymalloc: free(): invalid pointer $ptr: not the start of a block (or its header was overwritten)" ]
}

@test "a break lowered into the heap by someone else is reported" {
    misuse brk_lowered
    [[ $stderr == "mymalloc: malloc(): someone else moved the program break down into the heap (to $ptr, below its end 0x"*"): the blocks there are gone" ]]
}

@test "a write after free over the free-list links is caught before they are followed" {
    misuse write_after_free
    [ "$stderr" = "mymalloc: malloc(): heap corrupted: bad free-list links in the free block $ptr (a write after free?)" ]
}

@test "a second free after a write over the freed block is still a double free" {
    misuse double_free_written
    [ "$stderr" = "mymalloc: free(): double free of $ptr (48-byte block)" ]
}

@test "a write after free over a small block's link is caught when malloc hands the block out again" {
    misuse write_after_free_small
    [ "$stderr" = "mymalloc: malloc(): the free 48-byte block $ptr was written after it was freed (use after free, or a second free after a write)" ]
}

@test "a header overwritten before the first block of a page is caught when the page goes back to the chain" {
    misuse header_before_page
    [ "$stderr" = "mymalloc: free(): the header before the block $ptr was overwritten (a write before its start, or past the end of the block before it)" ]
}

@test "a header overwritten before a freed block of the chain is caught when malloc takes the block again" {
    misuse header_before_freed 40000
    [ "$stderr" = "mymalloc: malloc(): the header before the block $ptr was overwritten (a write before its start, or past the end of the block before it)" ]
}

@test "with leaks=1, a header overwritten before a 40-byte block in the thread cache is caught when malloc hands it out" {
    opts=leaks=1 misuse header_before_freed 40
    [ "$stderr" = "mymalloc: malloc(): the header before the block $ptr was overwritten (a write before its start, or past the end of the block before it)" ]
}

@test "with leaks=1, a header overwritten before a 3000-byte block in the thread cache is caught when malloc hands it out" {
    opts=leaks=1 misuse header_before_freed 3000
    [ "$stderr" = "mymalloc: malloc(): the header before the block $ptr was overwritten (a write before its start, or past the end of the block before it)" ]
}

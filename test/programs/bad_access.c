/* bad_access: one memory error per argument, each in a function named for
 * it, on a block of 40 bytes that make_block allocates (and drop_block
 * frees, for the errors after free):
 *   read_past       reads the byte 16 bytes past the block's end
 *   write_past      writes there
 *   read_slack      reads the byte just past the end (within the 8 bytes
 *                   of alignment slack a 40-byte block has before a page)
 *   write_slack     writes 3 bytes just past the end, and frees the block
 *   read_before     reads the byte before the block's start
 *   write_before    writes the 4 bytes before it (a header's tag there
 *                   holds those 4 bytes one time in 2^32; a byte, in 256)
 *   underflow_free  writes there, and frees the block
 *   read_freed      reads the freed block at offset 8
 *   write_freed     writes there
 *   double_free     frees the block twice
 * With no argument, it uses the block correctly. It prints "done" if it
 * gets to the end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile char sink;

__attribute__((noinline)) static char *make_block(void) { return malloc(40); }
__attribute__((noinline)) static void drop_block(char *p) { free(p); }
__attribute__((noinline)) static void read_past(char *p) { sink = p[40 + 16]; }
__attribute__((noinline)) static void write_past(char *p) { p[40 + 16] = 'x'; }
__attribute__((noinline)) static void read_slack(char *p) { sink = p[40]; }
__attribute__((noinline)) static void write_slack(char *p) { memset(p + 40, 'x', 3); drop_block(p); }
__attribute__((noinline)) static void read_before(char *p) { sink = p[-1]; }
__attribute__((noinline)) static void write_before(char *p) { *(volatile uint32_t *)(p - 4) = 0x78787878; }
__attribute__((noinline)) static void underflow_free(char *p) { write_before(p); drop_block(p); }
__attribute__((noinline)) static void read_freed(char *p) { drop_block(p); sink = p[8]; }
__attribute__((noinline)) static void write_freed(char *p) { drop_block(p); p[8] = 'x'; }
__attribute__((noinline)) static void double_free(char *p) { drop_block(p); drop_block(p); }

int main(int argc, char **argv)
{
    static const struct { const char *name; void (*fn)(char *); } errors[] = {
        { "read_past", read_past }, { "write_past", write_past }, { "read_slack", read_slack },
        { "write_slack", write_slack }, { "read_before", read_before }, { "write_before", write_before },
        { "underflow_free", underflow_free }, { "read_freed", read_freed }, { "write_freed", write_freed },
        { "double_free", double_free },
    };
    char *p = make_block();
    memset(p, 'a', 40);
    int done = 0;
    for (size_t i = 0; argc > 1 && i < sizeof errors / sizeof errors[0]; i++)
        if (!strcmp(argv[1], errors[i].name)) {
            errors[i].fn(p);
            done = 1;
        }
    if (!done)
        drop_block(p);
    puts("done");
    return 0;
}

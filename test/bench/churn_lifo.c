/* churn_lifo: small-object churn in LIFO order, many short-lived blocks.
 *
 *   churn_lifo [SCALE]
 *
 * A stack of blocks of 16 to 511 bytes (7 in 8 of them 16 to 136 bytes)
 * that grows and shrinks at random around a depth of 16, never past 32:
 * each step either mallocs a block and pushes it, or pops the newest and
 * frees it, as a program's nested calls do with their temporaries. The
 * steps are a script of 65,536 made once from a fixed seed (it ends with
 * the stack empty), replayed 1,500 times at SCALE 1: 98 million steps in
 * which the program's own work is small next to the allocator's, for
 * counting instructions. Every block carries a tag at both ends, checked
 * before it is freed. */
#include "bench.h"

#define TARGET 16
#define MAX_DEPTH (2 * TARGET)
#define SCRIPT 65536

static uint16_t script[SCRIPT];   /* a size to malloc and push, or 0: pop and free */

static void make_script(void)
{
    uint64_t rng = 1;
    int depth = 0;
    for (int i = 0; i < SCRIPT; i++) {
        uint64_t r = rng_next(&rng);
        /* Push with probability (2 * TARGET - depth) / (2 * TARGET); pop
         * all that is left at the end (depth and the steps left have the
         * same parity, so the stack ends empty). */
        if (depth > 0 && (depth >= SCRIPT - i || (int)(r & (MAX_DEPTH - 1)) < depth)) {
            script[i] = 0;
            depth--;
        } else {
            script[i] = (uint16_t)((r >> 8) % 8 ? 16 + ((r >> 16) % 16) * 8 : 256 + ((r >> 16) % 256));
            depth++;
        }
    }
}

int main(int argc, char **argv)
{
    long rounds = bench_n(1500, bench_scale(argc, argv));
    make_script();
    void *stack[MAX_DEPTH];
    size_t size[MAX_DEPTH];
    uint64_t tag[MAX_DEPTH], next = 0;
    int depth = 0;
    for (long round = 0; round < rounds; round++) {
        for (int i = 0; i < SCRIPT; i++) {
            size_t n = script[i];
            if (n) {
                void *p = xmalloc(n);
                tag_put(p, n, ++next);
                stack[depth] = p;
                size[depth] = n;
                tag[depth] = next;
                depth++;
            } else {
                depth--;
                tag_check(stack[depth], size[depth], tag[depth], "churn_lifo");
                free(stack[depth]);
            }
        }
    }
    if (depth != 0)
        BENCH_FAIL("churn_lifo: %d blocks left on the stack", depth);
    printf("churn_lifo: %llu blocks\n", (unsigned long long)next);
    return 0;
}

/* stack_lib.c -- for test_stack: stands in for libmymalloc's entry points.
 *
 * It is built into libmmstack_test.so together with the unwinder and the
 * base layer (src/unwind/, src/base/), optimised and without frame
 * pointers, as the library is: the program calls stack_test_malloc the way it calls
 * malloc, a few frames of "allocator" run, and the capture must skip them
 * all and start at the program's call. */
#include "unwind.h"

uintptr_t stack_test_ra;      /* the return address stack_test_malloc saw */

#define KEEP_FRAME() __asm__ volatile("" ::: "memory")   /* no tail call */
#ifdef __clang__
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noipa))   /* noipa: no merging either */
#endif

NOINLINE static int record(uintptr_t *pcs, int max)
{
    int n = mm_stack_capture(pcs, max);
    KEEP_FRAME();
    return n;
}

/* A frame with some weight, like the report paths' buffers. */
NOINLINE static int debug_alloc(uintptr_t *pcs, int max)
{
    volatile char scratch[600];
    scratch[0] = (char)max;
    int n = record(pcs, max);
    KEEP_FRAME();
    return n + (scratch[0] != (char)max);
}

NOINLINE static int alloc(uintptr_t *pcs, int max)
{
    int n = debug_alloc(pcs, max);
    KEEP_FRAME();
    return n;
}

/* The exported entry: it only forwards, as api.c does (a tail call, so
 * it may leave no frame of its own). */
int stack_test_malloc(uintptr_t *pcs, int max)
{
    stack_test_ra = (uintptr_t)__builtin_return_address(0);
    return alloc(pcs, max);
}

/* The same through the capture that also says whether the stack is known
 * whole (mm_stack_capture_known), as the allocation paths use it. */
NOINLINE static int record_known(uintptr_t *pcs, int max, uint64_t *key)
{
    int n = mm_stack_capture_known(pcs, max, key);
    KEEP_FRAME();
    return n;
}

int stack_test_known(uintptr_t *pcs, int max, uint64_t *key)
{
    stack_test_ra = (uintptr_t)__builtin_return_address(0);
    int n = record_known(pcs, max, key);
    KEEP_FRAME();
    return n;
}

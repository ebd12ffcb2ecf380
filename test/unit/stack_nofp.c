/* stack_nofp.c -- for test_stack: calls built without frame pointers
 * (-fomit-frame-pointer), as most distributions build programs, and two
 * hand-written functions:
 *   forge_call  points rbp at a forged frame { 0, a return address into
 *               stack_decoy } while it calls on, with unwind information
 *               that tells the truth: a frame-pointer walk reports the
 *               forged frame, an exact unwind never does;
 *   nocfi_call  has no unwind information at all: the stack must end
 *               right after it, whatever rbp says. */
#include <stdint.h>

int stack_test_malloc(uintptr_t *pcs, int max);

#define KEEP_FRAME() __asm__ volatile("" ::: "memory")
#ifdef __clang__
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noipa))   /* noipa: no merging either */
#endif

NOINLINE int nofp_c(uintptr_t *pcs, int max)
{
    int n = stack_test_malloc(pcs, max);
    KEEP_FRAME();
    return n;
}

/* int forge_call(uintptr_t *pcs, int max): calls nofp_c(pcs, max). */
__asm__(".text\n"
        ".globl forge_call\n"
        ".type forge_call, @function\n"
        "forge_call:\n"
        "  .cfi_startproc\n"
        "  push %rbp\n"
        "  .cfi_def_cfa_offset 16\n"
        "  .cfi_offset %rbp, -16\n"
        "  lea stack_decoy+4(%rip), %rax\n"
        "  push %rax\n"
        "  .cfi_def_cfa_offset 24\n"
        "  push $0\n"
        "  .cfi_def_cfa_offset 32\n"
        "  mov %rsp, %rbp\n"
        "  call nofp_c\n"
        "  add $16, %rsp\n"
        "  .cfi_def_cfa_offset 16\n"
        "  pop %rbp\n"
        "  .cfi_restore %rbp\n"
        "  .cfi_def_cfa_offset 8\n"
        "  ret\n"
        "  .cfi_endproc\n"
        ".size forge_call, .-forge_call\n"
        /* int nocfi_call(uintptr_t *pcs, int max): the same, with an
         * honest frame pointer and no unwind information */
        ".globl nocfi_call\n"
        ".type nocfi_call, @function\n"
        "nocfi_call:\n"
        "  push %rbp\n"
        "  mov %rsp, %rbp\n"
        "  call nofp_c\n"
        "  pop %rbp\n"
        "  ret\n"
        ".size nocfi_call, .-nocfi_call\n");

int forge_call(uintptr_t *pcs, int max);

NOINLINE int nofp_b(uintptr_t *pcs, int max)
{
    int n = forge_call(pcs, max);
    KEEP_FRAME();
    return n;
}

NOINLINE int nofp_a(uintptr_t *pcs, int max)
{
    int n = nofp_b(pcs, max);
    KEEP_FRAME();
    return n;
}

/* k more frames, then the capture. */
NOINLINE int nofp_deep(int k, uintptr_t *pcs, int max)
{
    int n = k ? nofp_deep(k - 1, pcs, max) : stack_test_malloc(pcs, max);
    KEEP_FRAME();
    return n;
}

/* unwind.h -- call stacks without allocating, and names for their frames.
 * A library of its own (built out with -DMYMALLOC_TOOLKIT=OFF), above
 * base/ only.
 *
 *   walk.c     the calling thread's call stack, frame by frame
 *   rules.c    how to go from a frame to its caller: the compilers' call
 *              frame information (.eh_frame), decoded and kept
 *   bounds.c   where this thread's stack lies
 *   symbols.c  names for code addresses, for reports
 */
#ifndef MM_UNWIND_H
#define MM_UNWIND_H

#include "../base/base.h"

/* ---- walk.c: the calling thread's call stack, without allocating.
 * Frames are unwound by the compilers' call frame information (.eh_frame),
 * so code without frame pointers (libmymalloc's own, most distributions'
 * programs) unwinds as well as code with them. Each step is checked: every
 * read lies between the stack pointer and the top of this thread's stack,
 * each frame starts above the one before, each return address lies in the
 * code of a loaded object. What cannot be unwound for sure (code without
 * unwind tables, JIT code, another stack after a signal) ends the stack
 * there: a stack may be short, its frames are never made up. No
 * allocation, no lock (objects are found with _dl_find_object, glibc 2.35,
 * not dl_iterate_phdr); async-signal-safe. */
/* Once, when the toolkit starts, outside the lock: each thread's memos of
 * its last walks (see walk.c) need it. (Capture works without it, walking
 * every stack whole.) */
void mm_stack_init(void);
/* Fills pcs with up to max return addresses of the calling thread,
 * innermost first, skipping libmymalloc's own frames: pcs[0] is the return
 * address of the program's call to malloc (free, ...), always exact. Across
 * a signal handler the stack goes on with the interrupted pc (an exact pc,
 * not a return address). Returns the count. Cost at depth 8 (test_stack
 * bench): about 10 ns for a stack this thread captured last time (it is
 * replayed, checked word by word), 35 ns for two stacks in turn (one found
 * again, one walked); the first capture on a thread also asks
 * /proc/self/maps where its stack ends (one ioctl, ~10 us). */
int mm_stack_capture(uintptr_t *pcs, int max);
/* The same, and *key nonzero when this thread's memo of the place that
 * captures holds the whole stack, where it stops included (walk.c): a
 * stack with the same key (on this thread, with the same max) has the same
 * frames, so what was found for it, its site, can be looked up by the
 * key. 0: not known (the walk ended on something it read, or went past
 * what a memo keeps). */
int mm_stack_capture_known(uintptr_t *pcs, int max, uint64_t *key);
/* The same for the code a signal interrupted, from the handler's third
 * argument (a ucontext_t): pcs[0] is one past the interrupted instruction
 * (so that, like the others, it names its code at pc - 1). */
int mm_stack_capture_context(const void *context, uintptr_t *pcs, int max);

/* ---- bounds.c */
/* The top (the end, exclusive) of the calling thread's current stack:
 * everything from the stack pointer up to it is mapped and readable.
 * 0 when it cannot be known (no /proc, on a thread other than main). */
uintptr_t mm_stack_top(void);
/* The same for the stack that holds sp (this thread's, or its signal
 * stack). Two ranges are kept, so a signal handler on an alternate stack
 * does not evict the usual one: after the first time, two compares. */
extern __thread struct mm_range mm_stack_ranges[2] MM_TLS;
__attribute__((noinline, cold)) uintptr_t mm_stack_top_slow(uintptr_t sp);
static inline uintptr_t mm_stack_top_of(uintptr_t sp)
{
    for (int i = 0; i < 2; i++)
        if (sp >= mm_stack_ranges[i].lo && sp < mm_stack_ranges[i].hi)
            return mm_stack_ranges[i].hi;
    return mm_stack_top_slow(sp);
}

/* ---- rules.c: for the files of this folder. A rule says how to go from
 * a frame to its caller; it is packed in one word (see rules.c). */
enum {
    MM_R_NONE,     /* code, but no rule: the stack ends after this frame */
    MM_R_FRAME,    /* the usual frame */
    MM_R_SIGNAL,   /* the signal trampoline: the interrupted context follows */
    MM_R_END,      /* the outermost frame (its return address is undefined) */
    MM_R_DATA,     /* inside an object, but not in its code: not a frame */
};
/* The rules already decoded, by key: a frame's code address, with
 * MM_RULE_EXACT when it is an exact pc (where a signal came), not a
 * return address (whose call lies at pc - 1). A reader that finds the key
 * twice around the rule, and the rule's copy of the key's low bits
 * matching, has a whole rule. Rules of code that is later unloaded stay
 * until overwritten. */
#define MM_NRULES 65536u
#define MM_RULE_EXACT ((uintptr_t)1 << 63)
struct mm_rule_entry { uintptr_t key; uint64_t val; };   /* __atomic builtins */
extern struct mm_rule_entry mm_rules[MM_NRULES];
/* (the low bits of a return address: the fewest steps from it to its
 * entry, as each step of a walk waits on the one before) */
static inline size_t mm_rule_slot(uintptr_t key) { return key & (MM_NRULES - 1); }
static inline bool mm_rule_holds(uintptr_t key, uintptr_t k1, uint64_t v, uintptr_t k2)
{
    return k1 == key && k2 == key && v >> 54 == (key & 0x3ff);
}
__attribute__((noinline, cold)) uint64_t mm_unwind_rule_slow(uintptr_t key, uintptr_t k);
/* The rule for the frame at pc (exact: not a return address). Lock-free. */
static inline uint64_t mm_unwind_rule(uintptr_t pc, bool exact)
{
    uintptr_t key = pc | (exact ? MM_RULE_EXACT : 0);
    size_t i = mm_rule_slot(pc);
    uintptr_t k = __atomic_load_n(&mm_rules[i].key, __ATOMIC_ACQUIRE);
    uint64_t v = __atomic_load_n(&mm_rules[i].val, __ATOMIC_ACQUIRE);
    if (MM_LIKELY(mm_rule_holds(key, k, v, __atomic_load_n(&mm_rules[i].key, __ATOMIC_RELAXED))))
        return v;
    return mm_unwind_rule_slow(key, k);
}
static inline int mm_rule_kind(uint64_t v) { return (int)(v >> 48) & 7; }
static inline intptr_t mm_rule_cfa_off(uint64_t v) { return (int32_t)v; }
static inline intptr_t mm_rule_rbp_off(uint64_t v) { return (intptr_t)(int8_t)(v >> 32) * 8; }
static inline intptr_t mm_rule_ra_off(uint64_t v) { return (intptr_t)(int8_t)(v >> 40) * 8; }
static inline bool mm_rule_cfa_rbp(uint64_t v) { return v >> 51 & 1; }   /* CFA from rbp */
static inline bool mm_rule_rbp_lost(uint64_t v) { return v >> 52 & 1; }
/* A plain frame, the usual one, whose step needs no check but the top of
 * the stack: the CFA is rsp plus a positive multiple of 8, the return
 * address just below it, rbp kept or saved between rsp and the return
 * address. */
static inline bool mm_rule_plain(uint64_t v) { return v >> 53 & 1; }

/* ---- symbols.c: names for code addresses, for reports. Symbols come from
 * the module's ELF file on disk (.symtab, else the debug file its build
 * id names, else .dynsym), mapped read-only and cached. It opens files,
 * so it has no place on an allocation path, but it never allocates. */
/* Writes "function+0x1c (module+0x11c9)" for a return address pc (as
 * mm_stack_capture gives): the function holding pc - 1, the call itself
 * (which ends its function when the callee never returns), the offset of
 * pc in it, the module's file name and the offset of pc in the module
 * that addr2line -e wants (pc minus the load bias). "(module+0x11c9)"
 * when no function symbol covers it, "(unknown)" when pc is in no loaded
 * module. Always NUL-terminates; returns the length. */
size_t mm_symbolize(uintptr_t pc, char *buf, size_t cap);
/* The same, the module named by its full path when full_path is set
 * (mm_symbolize: when the option module_paths is). */
size_t mm_symbolize_as(uintptr_t pc, char *buf, size_t cap, bool full_path);
/* The path of the loaded module that holds address pc (the program's own
 * file for the program), and *offset = pc minus its load bias; NULL when
 * pc is in none. The string lives as long as the module is loaded. (The
 * reports use mm_symbolize; test_stack checks frames' modules with this.) */
const char *mm_module_of(uintptr_t pc, uintptr_t *offset);

#endif

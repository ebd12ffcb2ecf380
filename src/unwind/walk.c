/* walk.c -- the calling thread's call stack, captured without allocating.
 *
 * Frames are unwound the way the compiler describes them (rules.c), with
 * or without frame pointers. A function that keeps a frame pointer is the
 * case CFA = rbp + 16, so where every function keeps one this is the
 * frame-pointer chain; but it also walks through functions that do not,
 * and it never reads rbp as a frame pointer where it is not one, so it
 * presents no garbage as frames. libmymalloc's own frames, built without
 * frame pointers, are skipped exactly this way.
 *
 * Why it is safe inside malloc, and in a signal handler's malloc:
 *   - objects are found with _dl_find_object (glibc 2.35), which takes no
 *     lock, is async-signal-safe and follows dlopen and dlclose, where
 *     dl_iterate_phdr would take the loader lock that dlopen holds while
 *     it calls malloc;
 *   - the rules are decoded from the objects' .eh_frame in memory and kept
 *     in a static table whose entries carry their own check; nothing is
 *     allocated and nothing is locked;
 *   - every stack read lies between the current stack pointer and the top
 *     of the mapping that holds it (bounds.c), and each frame must start
 *     above the one before;
 *   - whatever this file does not understand ends the stack there: a stack
 *     may come out short, never wrong.
 *
 * Cost: a lookup in the table of rules for each frame (some 6 ns), and
 * for a stack the thread captured last time, much less: the walk is
 * replayed, each word it read checked (see memo).
 */
#include "unwind.h"

#include <link.h>
#include <stddef.h>
#include <sys/ucontext.h>

/* ---- what libmymalloc is: its frames are not the program's ---- */

static uintptr_t self_lo, self_hi;

static void find_self(void)
{
    struct dl_find_object fo;
    if (_dl_find_object((void *)(uintptr_t)&find_self, &fo) == 0) {
        self_lo = (uintptr_t)fo.dlfo_map_start;
        __atomic_store_n(&self_hi, (uintptr_t)fo.dlfo_map_end, __ATOMIC_RELEASE);
    }
}

/* ---- the walk ---- */

struct regs { uintptr_t pc, sp, bp; bool exact; };   /* exact: pc is not a return address */

static inline bool readable(uintptr_t at, uintptr_t lo, uintptr_t hi)
{
    return at >= lo && at <= hi - 8 && !(at & 7);
}

/* Moves r to the caller's frame by rule v; false when that cannot be done
 * for sure. */
static inline bool step(struct regs *r, uint64_t v, uintptr_t lo, uintptr_t hi)
{
    if (MM_UNLIKELY(mm_rule_kind(v) == MM_R_SIGNAL)) {
        /* A signal handler returns into the sigreturn trampoline with rsp
         * at the ucontext the kernel saved: the interrupted registers. */
        uintptr_t g = r->sp + offsetof(ucontext_t, uc_mcontext.gregs);
        if (!readable(g, lo, hi) || !readable(g + 8 * (NGREG - 1), lo, hi))
            return false;
        const uintptr_t *gr = (const uintptr_t *)g;
        uintptr_t sp = gr[REG_RSP];
        if (sp <= r->sp || sp >= hi || (sp & 7))
            return false;                 /* another stack: stop here */
        r->pc = gr[REG_RIP];
        r->sp = sp;
        r->bp = gr[REG_RBP];
        r->exact = true;
        return r->pc != 0;
    }
    bool from_rbp = mm_rule_cfa_rbp(v);
    if (mm_rule_kind(v) != MM_R_FRAME || (from_rbp && mm_rule_rbp_lost(v)))
        return false;
    uintptr_t cfa = (from_rbp ? r->bp : r->sp) + (uintptr_t)mm_rule_cfa_off(v);
    uintptr_t ra_at = cfa + (uintptr_t)mm_rule_ra_off(v), bp_at = cfa + (uintptr_t)mm_rule_rbp_off(v);
    if (cfa <= r->sp || cfa > hi || (cfa & 7) || !readable(ra_at, lo, hi))
        return false;
    if (mm_rule_rbp_off(v)) {
        if (!readable(bp_at, lo, hi))
            return false;
        r->bp = *(const uintptr_t *)bp_at;
    }
    r->pc = *(const uintptr_t *)ra_at;
    r->sp = cfa;
    r->exact = false;
    return r->pc != 0;
}

void mm_stack_init(void)
{
    find_self();
    mm_stack_top_of((uintptr_t)__builtin_frame_address(0));
}

/* The last walks of this thread, to replay. A walk is a function of where
 * it starts (this function's frame and return address, and rbp, which a
 * step needs only if it finds its frame by rbp before rbp was reloaded
 * from the stack) and of the stack words it reads: when the start is the
 * same and every word read last time still holds what it held, the frames
 * are the same. Checking that costs a load and a compare a frame instead
 * of a chain of lookups, and the frames are then copied from the memo.
 * Replay goes as far as the words match, and the walk goes on from there.
 * A memo also keeps where its walk stopped (the outermost frame, or the
 * frame that filled pcs), so a stack seen before needs no lookup at all;
 * such a stack is then "known": its key (see mm_stack_capture_known) is
 * the memo's serial, which changes whenever the memo does. One memo per
 * place in the library that captures (chosen by the return address:
 * malloc's and free's captures alternate, and one memo would miss every
 * time). A capture in a signal handler that interrupted one leaves the
 * memos alone (busy); signal frames are not kept. */
#define MEMO_STEPS 24               /* the library's few frames and stack_depth's default 16 */
#define MEMOS 4
struct memo_step { uintptr_t cfa, ra_at, ra, bp_at, bp; };  /* bp_at 0: rbp not read */
struct memo {
    int n;                        /* steps kept */
    int bp_step;                  /* the first step that used the starting rbp */
    int total;                    /* -1, or: the walk stops at frame n with pcs out[0, total) */
    bool full;                    /* ... because pcs was full (with more frames, it goes on) */
    uint64_t serial;
    uintptr_t fp, pc, bp, hi;
    uint8_t pushed[MEMO_STEPS + 1];   /* before step k, pcs out[0, pushed[k]) were given */
    uintptr_t out[MEMO_STEPS + 1];
    struct memo_step step[MEMO_STEPS];
};
static __thread struct memo memos[MEMOS] MM_TLS;
static __thread int memo_busy MM_TLS;
static __thread uint64_t serials MM_TLS;

static inline struct memo *memo_for(uintptr_t pc)
{
    return &memos[(pc ^ pc >> 4 ^ pc >> 8) % MEMOS];
}

/* Keeps the first n steps of the memo; true when that forgot any. */
static inline bool forget(struct memo *memo, int n)
{
    bool cut = memo->n > n;
    if (cut) {
        memo->n = n;
        memo->total = -1;
    }
    if (memo->bp_step >= memo->n)
        memo->bp_step = MEMO_STEPS;
    return cut;
}

/* One function, as long as it is: the replay and the walk share their
 * registers. Inlined into each of the two entry points below, so that the
 * frame it starts from is the entry point's own. */
static inline __attribute__((always_inline)) int capture(uintptr_t *pcs, int max, uint64_t *key)
{
    if (key)
        *key = 0;
    if (max <= 0)
        return 0;
    if (MM_UNLIKELY(!__atomic_load_n(&self_hi, __ATOMIC_ACQUIRE)))
        find_self();
    /* This function keeps a frame pointer (__builtin_frame_address makes
     * the compiler set one up), so its own frame needs no rule. */
    const uintptr_t *fp = __builtin_frame_address(0);
    uintptr_t lo = (uintptr_t)fp;
    struct regs r = { .pc = fp[1], .sp = lo + 16, .bp = fp[0], .exact = false };
    uintptr_t top = mm_stack_top_of(lo);
    /* Without the top, only libmymalloc's own frames are walked (their
     * rules are exact, and they lie just above this one) up to the
     * program's first frame. */
    uintptr_t hi = top ? top : lo + (64u << 10);
    const uintptr_t own_lo = self_lo, own_hi = self_hi;   /* pcs[] may alias them */
    if (!top)
        max = 1;

    bool keep = !memo_busy, bp_first = true;   /* bp_first: r.bp is still the starting rbp */
    bool changed = false, known = false;
    int replay = 0;                            /* steps that may be replayed */
    struct memo *memo = memo_for(r.pc);
    if (keep) {
        memo_busy = 1;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (memo->fp == lo && memo->pc == r.pc && memo->hi == hi)
            replay = memo->bp == r.bp || memo->bp_step > memo->n ? memo->n : memo->bp_step;
        memo->fp = lo;
        memo->pc = r.pc;
        memo->bp = r.bp;
        memo->hi = hi;
        changed = forget(memo, replay);
    }
    int n = 0, k = 0;
    /* the same frames as last time, and the same steps from them, as long
     * as the words read then still hold the same values */
    for (; k < replay && memo->pushed[k] < max; k++) {
        const struct memo_step *m = &memo->step[k];
        if (*(const uintptr_t *)m->ra_at != m->ra || (m->bp_at && *(const uintptr_t *)m->bp_at != m->bp)) {
            changed |= forget(memo, k);   /* it changed from here on */
            break;
        }
    }
    if (k) {
        const struct memo_step *m = &memo->step[k - 1];
        n = memo->pushed[k];
        /* and it stops where it stopped (pcs full there: unless pcs is larger now) */
        bool stops = k == memo->n && memo->total >= 0 && (!memo->full || max <= memo->total);
        if (stops)
            n = memo->total;
        if (n >= max || stops) {
            n = n < max ? n : max;
            __builtin_memcpy(pcs, memo->out, (size_t)n * sizeof *pcs);
            known = true;
            goto done;
        }
        __builtin_memcpy(pcs, memo->out, (size_t)n * sizeof *pcs);
        r.pc = m->ra;
        r.sp = m->cfa;
        for (int j = 0; j < k; j++)
            if (memo->step[j].bp_at) {
                r.bp = memo->step[j].bp;
                bp_first = false;
            }
    }
    for (; k < 512; k++) {
        uint64_t v = mm_unwind_rule(r.pc - !r.exact);
        bool recorded = keep && k == memo->n && k < MEMO_STEPS;
        if (r.pc < own_lo || r.pc >= own_hi) {
            /* The program's first frame is exact (it comes from our own
             * rules); a later one must also point into code. */
            if (mm_rule_kind(v) == MM_R_DATA && n > 0) {
                if (recorded) {
                    memo->total = n;
                    memo->full = false;
                    changed = known = true;
                }
                break;
            }
            if (recorded)
                memo->out[n] = r.pc;
            pcs[n++] = r.pc;
            if (n == max) {
                if (recorded) {
                    memo->total = n;
                    memo->full = true;
                    changed = known = true;
                }
                break;
            }
        }
        int kind = mm_rule_kind(v);
        if (!step(&r, v, lo, hi)) {
            /* where step() read nothing, the stop is the same every time */
            if (recorded && (kind != MM_R_FRAME && kind != MM_R_SIGNAL)) {
                memo->total = n;
                memo->full = false;
                changed = known = true;
            }
            break;
        }
        if (recorded && kind == MM_R_FRAME) {
            uintptr_t cfa = r.sp;
            memo->step[k] = (struct memo_step){ cfa, cfa + (uintptr_t)mm_rule_ra_off(v), r.pc,
                                               mm_rule_rbp_off(v) ? cfa + (uintptr_t)mm_rule_rbp_off(v) : 0, r.bp };
            memo->n = k + 1;
            memo->pushed[k + 1] = (uint8_t)n;
            memo->total = -1;
            changed = true;
            if (bp_first && mm_rule_cfa_rbp(v) && memo->bp_step > k)
                memo->bp_step = k;
        }
        if (mm_rule_rbp_off(v) || kind == MM_R_SIGNAL)
            bp_first = false;
    }
done:
    if (keep) {
        if (changed)
            memo->serial = ++serials;
        if (known && key)
            *key = memo->serial;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        memo_busy = 0;
    }
    return n;
}

__attribute__((noinline)) int mm_stack_capture(uintptr_t *pcs, int max)
{
    return capture(pcs, max, NULL);
}

__attribute__((noinline)) int mm_stack_capture_known(uintptr_t *pcs, int max, uint64_t *key)
{
    return capture(pcs, max, key);
}

/* The stack of the code a signal interrupted, from its context (the
 * registers the kernel saved): pcs[0] is one past the interrupted
 * instruction, as if it were a return address. Every frame is kept, the library's own too (the fault may be
 * in it). No memo: a fault is rare. */
int mm_stack_capture_context(const void *context, uintptr_t *pcs, int max)
{
    const ucontext_t *uc = context;
    struct regs r = { .pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP],
                      .sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP],
                      .bp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP], .exact = true };
    uintptr_t lo = r.sp, top = mm_stack_top_of(lo), hi = top ? top : lo + (64u << 10);
    int n = 0;
    while (n < max && r.pc) {
        uint64_t v = mm_unwind_rule(r.pc - !r.exact);
        if (mm_rule_kind(v) == MM_R_DATA && n > 0)
            break;                   /* not code: the walk went wrong */
        /* an exact pc is kept as the return address it would be, one
         * past it: every frame then names its code at pc - 1 */
        pcs[n++] = r.pc + r.exact;
        if (!top || !step(&r, v, lo, hi))
            break;
    }
    return n;
}

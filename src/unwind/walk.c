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
#include <pthread.h>
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
    return at - lo <= hi - 8 - lo && !(at & 7);   /* lo <= at <= hi - 8 (hi >= lo + 8: see callers) */
}

/* The same for an address at a multiple of 8 from an aligned one. */
static inline bool readable_aligned(uintptr_t at, uintptr_t lo, uintptr_t hi)
{
    return at - lo <= hi - 8 - lo;
}

/* The step of a plain rule (mm_rule_plain): sp is a multiple of 8 and at
 * least lo, so the CFA is too, and every word read lies between sp and
 * the CFA; only the top needs a check. */
static inline __attribute__((always_inline)) bool plain_step(uintptr_t *pc, uintptr_t *sp, uintptr_t *bp, uint64_t v,
                                                             uintptr_t hi)
{
    uintptr_t cfa = *sp + (uintptr_t)mm_rule_cfa_off(v);
    if (cfa > hi)
        return false;
    if (mm_rule_rbp_off(v))
        *bp = *(const uintptr_t *)(cfa + (uintptr_t)mm_rule_rbp_off(v));
    *pc = *(const uintptr_t *)(cfa - 8);
    *sp = cfa;
    return *pc != 0;
}

/* Moves r to the caller's frame by rule v; false when that cannot be done
 * for sure. */
static inline __attribute__((always_inline)) bool step(struct regs *r, uint64_t v, uintptr_t lo, uintptr_t hi)
{
    if (MM_LIKELY(mm_rule_plain(v))) {
        r->exact = false;
        return plain_step(&r->pc, &r->sp, &r->bp, v, hi);
    }
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
    /* (the offsets are multiples of 8: rules.c packs them so) */
    if (cfa <= r->sp || cfa > hi || (cfa & 7) || !readable_aligned(ra_at, lo, hi))
        return false;
    if (mm_rule_rbp_off(v)) {
        if (!readable_aligned(bp_at, lo, hi))
            return false;
        r->bp = *(const uintptr_t *)bp_at;
    }
    r->pc = *(const uintptr_t *)ra_at;
    r->sp = cfa;
    r->exact = false;
    return r->pc != 0;
}

/* The walk from r on, nothing kept: the program's frames go to pcs[n..max)
 * (r's own pc already did when emitted), at most `frames` steps. Returns
 * the count. A function of its own, so that its few values stay in
 * registers. */
static __attribute__((noinline)) int walk_alone(struct regs *rp, uintptr_t lo, uintptr_t hi, uintptr_t *pcs, int n,
                                                int max, bool emitted, int frames)
{
    uintptr_t pc = rp->pc, sp = rp->sp, bp = rp->bp, back = !rp->exact;
    const uintptr_t own_lo = self_lo, own_len = self_hi - self_lo;
    const uintptr_t *end = pcs + max;
    uintptr_t *out = pcs + n;
    for (; frames > 0; frames--) {
        uint64_t v = mm_unwind_rule(pc, !back);
        bool plain = mm_rule_plain(v);
        if (emitted)
            emitted = false;
        else if (pc - own_lo >= own_len) {
            if (!plain && mm_rule_kind(v) == MM_R_DATA && out > pcs)
                break;
            *out++ = pc;
            if (out == end)
                break;
        }
        if (MM_LIKELY(plain)) {      /* (step()'s first case, its values in registers) */
            back = 1;
            if (!plain_step(&pc, &sp, &bp, v, hi))
                break;
            continue;
        }
        struct regs r = { pc, sp, bp, !back };
        if (!step(&r, v, lo, hi))
            break;
        pc = r.pc, sp = r.sp, bp = r.bp, back = !r.exact;
    }
    return (int)(out - pcs);
}

static void memos_init(void);

void mm_stack_init(void)
{
    memos_init();
    find_self();
    mm_stack_top_of((uintptr_t)__builtin_frame_address(0));
}

/* The last walks of this thread, to replay. A walk is a function of where
 * it starts (this function's frame and return address, and rbp where a
 * step finds its frame by rbp) and of the stack words it reads: from a
 * frame seen before, when every word read then still holds what it held
 * (and rbp is the same where a step uses it), the frames above are the
 * same. Checking that costs a load and a compare a frame instead of a
 * lookup and a step. Replay starts at the innermost frame and goes as far
 * as the words match; the walk goes on from there, and when it comes to a
 * frame of the memo (the same code address at the same place on the
 * stack: the program returned into the stack it had and called again),
 * replay takes over again, so a stack that differs from the last one only
 * in its inner frames costs only those. A memo also keeps where its walk
 * stopped (the outermost frame, or the frame that filled pcs), so a stack
 * seen before needs no lookup at all: it is then "known", and its key
 * (mm_stack_capture_known) is the memo's serial, which changes whenever
 * the memo does. One memo per place in the library that captures (chosen
 * by the return address: malloc's and free's captures alternate). A
 * capture in a signal handler that interrupted one leaves the memos alone
 * (busy); signal frames are not kept. */
#define MEMO_FRAMES 25               /* the library's few frames and stack_depth's default 16 */
#define MEMOS 4
#define COLD 8
#define REKEEP 16
enum {
    F_LOOKED = 1,                    /* its rule was looked up: F_GIVE and F_END are known */
    F_GIVE = 2,                      /* its pc is one of pcs (the program's, not the library's) */
    F_END = 4,                       /* the walk ends here, whatever the stack holds */
    F_BP_IN = 8,                     /* its step found the frame from rbp: bp_in */
    F_DATA = 16,                     /* not code: whether it ends the stack depends on n */
};
struct mframe {
    uintptr_t pc, sp;                /* the frame: its code address, and the stack pointer in it */
    uintptr_t ra_at, bp_at, bp, bp_in;   /* its step: the words read (bp_at 0: none), rbp used */
    unsigned flags;
};
struct memo {
    int n;                           /* frames 0..n kept, and the steps between them */
    int stop, stop_max, nout;        /* the walk stops at frame stop (-1: not known) with pcs out */
    bool bp_used;                    /* a step before stop finds its frame by rbp (F_BP_IN) */
    uint64_t serial;
    uintptr_t fp, hi;
    uintptr_t out[MEMO_FRAMES];
    int cur;                         /* which of f is the memo; the other takes the next walk */
    unsigned cold, tick;             /* see capture(); a count of captures */
    struct mframe f[2][MEMO_FRAMES];
};
/* A thread's memos (12 KiB) are mapped at its first capture and unmapped
 * when it ends: in the thread's static TLS, every thread of every program,
 * quiet or not, would have them zeroed, and so resident, when it starts.
 * A thread that has none (no memory, or ending) captures without them. */
static __thread struct memo *memos MM_TLS;
static __thread int memo_busy MM_TLS;
static __thread bool memo_gone MM_TLS;
static __thread uint64_t serials MM_TLS;
static pthread_key_t memo_key;
static bool memo_key_ok;
static const struct memo no_memo;    /* read, never written: keep is false without memos */

static void memos_gone(void *m)
{
    memo_gone = true;
    memos = NULL;
    mm_os_unmap(m, MEMOS * sizeof(struct memo));
}

static __attribute__((noinline, cold)) void memos_make(void)
{
    if (memo_busy || memo_gone || !memo_key_ok)
        return;
    memo_busy = 1;                   /* a signal handler that comes in now takes none */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    struct memo *m = mm_os_map(MEMOS * sizeof(struct memo));
    if (m && pthread_setspecific(memo_key, m) == 0)
        memos = m;
    else if (m)
        mm_os_unmap(m, MEMOS * sizeof(struct memo));
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    memo_busy = 0;
}

static void memos_init(void)
{
    memo_key_ok = pthread_key_create(&memo_key, memos_gone) == 0;
}

static inline struct memo *memo_for(uintptr_t pc)
{
    return &memos[(pc ^ pc >> 4 ^ pc >> 8) % MEMOS];
}

/* One function, as long as it is: the replay and the walk share their
 * registers. Inlined into each of the two entry points below, so that the
 * frame it starts from is the entry point's own.
 *
 * The frames of this capture go to nf, the memo's other array, from the
 * first that differs from the memo's (at index d); at the end the frames
 * before d are copied there, and nf becomes the memo. The current frame
 * is m; replaying, it is the memo's frame s. */
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
    uintptr_t hi = top ? top : lo + (64u << 10);   /* (>= lo + 16: fp[1] lies below it) */
    const uintptr_t own_lo = self_lo, own_len = self_hi - self_lo;   /* pcs[] may alias them */
    if (!top)
        max = 1;

    if (MM_UNLIKELY(!memos))
        memos_make();
    bool use = !memo_busy && memos;
    struct memo *memo = memos ? memo_for(r.pc) : (struct memo *)&no_memo;
    const struct mframe *old = memo->f[memo->cur];
    int sn = -1;                     /* the memo's last frame; -1: nothing to replay */
    bool keep = false;
    if (use) {
        memo_busy = 1;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (memo->fp == lo && memo->hi == hi && old[0].pc == r.pc)
            sn = memo->n;
        /* Keeping a walk costs stores, and pays when the next capture
         * finds the same stack. cold counts up for each capture that
         * does not, down for each that does: where stacks change more
         * often than they come back, the memo is kept as it is (a stack
         * that comes back still finds it) but for one walk in REKEEP, to
         * follow a program that has moved on. */
        keep = memo->cold < COLD || !(++memo->tick % REKEEP);
    }
    struct mframe *nf = memo->f[memo->cur ^ 1];   /* (written only if keep) */
    int n = 0, m = 0, s = 0, d = keep && sn >= 0 ? MEMO_FRAMES : 0, js = 1;
    int rec = keep ? MEMO_FRAMES - 1 : -1;   /* the last frame that can be kept */
    bool known = false, emitted = false, hit = false;
    if (sn < 0)
        goto walk;
    if (memo->stop >= 0 && memo->stop_max == max) {
        /* the stack of last time, if every word read still holds */
        uintptr_t bp = r.bp;
        int k = 0, j = memo->stop;
        if (!memo->bp_used) {
            /* no step reads rbp: the return addresses are all the walk read */
            while (k < j && *(const uintptr_t *)old[k].ra_at == old[k + 1].pc)
                k++;
        }
        for (; k < j; k++) {
            const struct mframe *f = &old[k];
            if (*(const uintptr_t *)f->ra_at != old[k + 1].pc ||
                (f->bp_at && *(const uintptr_t *)f->bp_at != f->bp) || ((f->flags & F_BP_IN) && bp != f->bp_in))
                break;
            if (f->bp_at)
                bp = f->bp;
        }
        if (k == j) {
            hit = true;
            n = memo->nout;
            __builtin_memcpy(pcs, memo->out, (size_t)n * sizeof *pcs);
            known = true;
            m = j;
            goto done;
        }
    }

replay:
    for (;;) {
        const struct mframe *f = &old[s];
        if (m >= d && m <= rec)
            nf[m] = *f;
        if ((f->flags & (F_LOOKED | F_DATA)) != F_LOOKED)
            goto walk;
        if (f->flags & F_GIVE) {
            pcs[n++] = f->pc;
            if (n == max)
                goto stop;
        }
        if (f->flags & F_END)
            goto stop;
        emitted = true;
        if (s == sn)
            goto walk;
        const struct mframe *g = &old[s + 1];
        if (*(const uintptr_t *)f->ra_at != g->pc || (f->bp_at && *(const uintptr_t *)f->bp_at != f->bp) ||
            ((f->flags & F_BP_IN) && r.bp != f->bp_in))
            goto walk;
        if (f->bp_at)
            r.bp = f->bp;
        r.pc = g->pc;
        r.sp = g->sp;
        s++;
        m++;
        emitted = false;
    }

walk:
    if (!keep) {
        n = walk_alone(&r, lo, hi, pcs, n, max, emitted, 512 - m);
        goto done;
    }
    if (m < d) {
        d = m;
        if (emitted && m <= rec)
            nf[m] = old[s];          /* its step is walked again */
    }
    for (; m < 512; m++) {
        uint64_t v = mm_unwind_rule(r.pc, r.exact);
        int kind = mm_rule_kind(v);
        struct mframe *f = m <= rec ? &nf[m] : NULL;
        if (f && !emitted) {
            f->pc = r.pc;
            f->sp = r.sp;
            f->flags = F_LOOKED | (kind == MM_R_DATA ? F_DATA : 0);
        }
        if (!emitted && r.pc - own_lo >= own_len) {   /* not the library's */
            /* The program's first frame is exact (it comes from our own
             * rules); a later one must also point into code. */
            if (kind == MM_R_DATA && n > 0) {
                if (f)
                    f->flags |= F_END;
                goto stop;
            }
            if (f)
                f->flags |= F_GIVE;
            pcs[n++] = r.pc;
            if (n == max)
                goto stop;
        }
        emitted = false;
        uintptr_t bp_in = r.bp;
        if (!step(&r, v, lo, hi)) {
            /* where step() read nothing, the stop is the same every time */
            if (f && kind != MM_R_FRAME && kind != MM_R_SIGNAL) {
                f->flags |= F_END;
                goto stop;
            }
            break;
        }
        if (!f || kind != MM_R_FRAME) {
            if (f)
                rec = m;             /* what comes after a signal is not kept */
            sn = -1;
            continue;
        }
        uintptr_t cfa = r.sp;
        f->ra_at = cfa + (uintptr_t)mm_rule_ra_off(v);
        f->bp_at = mm_rule_rbp_off(v) ? cfa + (uintptr_t)mm_rule_rbp_off(v) : 0;
        f->bp = r.bp;
        f->bp_in = bp_in;
        f->flags = (f->flags & ~(unsigned)F_BP_IN) | (mm_rule_cfa_rbp(v) ? F_BP_IN : 0);
        /* back on the memo's frames? */
        while (js <= sn && old[js].sp < r.sp)
            js++;
        if (js <= sn && old[js].sp == r.sp && old[js].pc == r.pc) {
            s = js;
            m++;
            goto replay;
        }
    }
    rec = m < rec ? m : rec;
    goto done;

stop:
    /* the walk stops at frame m, and (if it is kept) the same way every
     * time: the stack is known */
    known = m <= rec;
    rec = m < rec ? m : rec;
done:
    if (keep) {
        if (d <= rec) {
            __builtin_memcpy(nf, old, (size_t)d * sizeof nf[0]);   /* the frames that stayed */
            memo->cur ^= 1;
            memo->n = rec;
            memo->fp = lo;
            memo->hi = hi;
            memo->serial = ++serials;
            memo->stop = -1;
        }
        if (known && (memo->stop != m || memo->stop_max != max)) {
            memo->stop = m;
            memo->stop_max = max;
            memo->bp_used = false;
            for (int k = 0; k < m; k++)
                memo->bp_used |= (memo->f[memo->cur][k].flags & F_BP_IN) != 0;
            memo->nout = n;
            __builtin_memcpy(memo->out, pcs, (size_t)n * sizeof *pcs);
        }
    }
    if (use) {
        if (known && key)
            *key = memo->serial;
        if (hit)
            memo->cold -= memo->cold > 0;
        else if (memo->cold < 2 * COLD)
            memo->cold++;
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
    if (hi - lo < 8 || hi < lo)
        top = 0;                     /* (no word to read: the first frame only) */
    while (n < max && r.pc) {
        uint64_t v = mm_unwind_rule(r.pc, r.exact);
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

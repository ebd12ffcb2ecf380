/* Call stacks (src/stack.c) and their names (src/symbols.c).
 *
 * The two files are hidden inside libmymalloc.so, so this test calls them
 * in libmmstack_test.so, where stack_lib.c plays malloc: an exported entry
 * and inner frames, built without frame pointers. Every capture here goes
 * through it, and must start at the program's call of the entry.
 *
 * This file is built with frame pointers, stack_nofp.c without. Run with
 * "bench" as argument, it prints what a capture costs instead. */
#include "helper.h"
#include "../../src/unwind/unwind.h"

#include <execinfo.h>
#include <link.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* libmmstack_test.so (stack_lib.c) */
int stack_test_malloc(uintptr_t *pcs, int max);
int stack_test_known(uintptr_t *pcs, int max, uint64_t *key);
extern uintptr_t stack_test_ra;
/* stack_nofp.c */
int nofp_a(uintptr_t *pcs, int max);
int nocfi_call(uintptr_t *pcs, int max);
int nofp_deep(int k, uintptr_t *pcs, int max);

#define KEEP_FRAME() __asm__ volatile("" ::: "memory")
/* noipa: GCC would also merge functions whose code is the same */
#ifdef __clang__
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noipa))
#endif

/* ---- what the tests look at ---- */

static void dump(const char *what, const uintptr_t *pcs, int n)
{
    fprintf(stderr, "%s: %d frames\n", what, n);
    for (int i = 0; i < n; i++) {
        char name[320];
        mm_symbolize(pcs[i], name, sizeof name);
        fprintf(stderr, "  #%d %#lx %s\n", i, (unsigned long)pcs[i], name);
    }
}

/* Frame i of the stack is in function fns[i] ("fns[i]+0x..."). */
static bool frames_are(const uintptr_t *pcs, int n, const char *const *fns, int k)
{
    if (n < k)
        return false;
    for (int i = 0; i < k; i++) {
        char name[320];
        size_t len = strlen(fns[i]);
        mm_symbolize(pcs[i], name, sizeof name);
        if (strncmp(name, fns[i], len) || name[len] != '+')
            return false;
    }
    return true;
}

#define EXPECT_FRAMES(what, pcs, n, ...)                                             \
    do {                                                                             \
        const char *const fns_[] = { __VA_ARGS__ };                                  \
        if (!frames_are(pcs, n, fns_, (int)(sizeof fns_ / sizeof *fns_))) {          \
            dump(what, pcs, n);                                                      \
            FAIL("%s: the frames are not %s, ...", what, #__VA_ARGS__);              \
        }                                                                            \
    } while (0)

static bool has_frame(const uintptr_t *pcs, int n, const char *fn)
{
    for (int i = 0; i < n; i++)
        if (frames_are(pcs + i, 1, &fn, 1))
            return true;
    return false;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The load bias of the module holding p, from the loader. */
static uintptr_t bias_of(const void *p)
{
    Dl_info info;
    struct link_map *l = NULL;
    CHECK(dladdr1(p, &info, (void **)&l, RTLD_DL_LINKMAP) && l);
    return l->l_addr;
}

/* ---- a chain with frame pointers ---- */

NOINLINE static int fp_c(uintptr_t *pcs, int max)
{
    int n = stack_test_malloc(pcs, max);
    KEEP_FRAME();
    return n;
}

NOINLINE static int fp_b(uintptr_t *pcs, int max)
{
    int n = fp_c(pcs, max);
    KEEP_FRAME();
    return n;
}

NOINLINE static int fp_a(uintptr_t *pcs, int max)
{
    int n = fp_b(pcs, max);
    KEEP_FRAME();
    return n;
}

NOINLINE static void test_fp_chain(void)
{
    uintptr_t pcs[32];
    int n = fp_a(pcs, 32);
    CHECK_EQ(pcs[0], stack_test_ra);        /* the program's own call, exactly */
    EXPECT_FRAMES("fp chain", pcs, n, "fp_c", "fp_b", "fp_a", "test_fp_chain", "main");
    /* and on to the end: _start's return address is undefined */
    EXPECT_FRAMES("fp chain, last frame", pcs + n - 1, 1, "_start");
    CHECK(n <= 10);
}

/* Both unwind exactly, so they agree frame for frame above fp_c
 * (backtrace uses libgcc's unwinder, which reads the same tables). */
NOINLINE static int both_c(uintptr_t *pcs, void **bt, int max, int *nbt)
{
    int n = stack_test_malloc(pcs, max);
    *nbt = backtrace(bt, max);
    KEEP_FRAME();
    return n;
}

NOINLINE static int both_b(uintptr_t *pcs, void **bt, int max, int *nbt)
{
    int n = both_c(pcs, bt, max, nbt);
    KEEP_FRAME();
    return n;
}

NOINLINE static void test_same_as_libgcc(void)
{
    uintptr_t pcs[32];
    void *bt[32];
    int nbt, n = both_b(pcs, bt, 32, &nbt);
    if (n != nbt) {
        dump("ours", pcs, n);
        dump("backtrace", (const uintptr_t *)bt, nbt);
    }
    CHECK_EQ(n, nbt);
    for (int i = 1; i < n; i++)
        CHECK_EQ(pcs[i], (uintptr_t)bt[i]);
}

/* A capture replays the thread's last walk as far as the stack still
 * holds the same words. Here the start is the same every time (same
 * entry, same depth) and only the caller two frames up differs: each
 * capture must see its own. */
NOINLINE static int via_mid(uintptr_t *pcs, int max)
{
    int n = fp_c(pcs, max);
    KEEP_FRAME();
    return n;
}

NOINLINE static int caller_one(uintptr_t *pcs, int max)
{
    int n = via_mid(pcs, max);
    KEEP_FRAME();
    return n;
}

NOINLINE static int caller_two(uintptr_t *pcs, int max)
{
    int n = via_mid(pcs, max);
    KEEP_FRAME();
    return n;
}

NOINLINE static void test_replay(void)
{
    static int (*const callers[2])(uintptr_t *, int) = { caller_one, caller_two };
    static const char *const names[2] = { "caller_one", "caller_two" };
    for (int i = 0; i < 50; i++) {
        uintptr_t pcs[8];
        int k = (i / 3 + i) % 2;
        int n = callers[k](pcs, 8);
        const char *const fns[] = { "fp_c", "via_mid", names[k], "test_replay", "main" };
        if (!frames_are(pcs, n, fns, 5)) {
            dump("replayed", pcs, n);
            FAIL("capture %d: the frames are not fp_c, via_mid, %s, test_replay, main", i, names[k]);
        }
    }
}

/* A stack seen again is known whole (its key nonzero, the same each
 * time). Where stacks keep changing, the unwinder stops keeping its walks
 * (they cost more than they save) but still keeps one now and then: a
 * stack that then comes back again and again is known again. */
NOINLINE static int known_leaf(uintptr_t *pcs, int max, uint64_t *key)
{
    int n = stack_test_known(pcs, max, key);
    KEEP_FRAME();
    return n;
}

NOINLINE static int known_one(uintptr_t *pcs, int max, uint64_t *key)
{
    int n = known_leaf(pcs, max, key);
    KEEP_FRAME();
    return n;
}

NOINLINE static int known_two(uintptr_t *pcs, int max, uint64_t *key)
{
    int n = known_leaf(pcs, max, key);
    KEEP_FRAME();
    return n;
}

/* Captures the same stack (one call site) until it is known whole ten
 * times in a row, the same key each time; false when 100 do not do. */
NOINLINE static bool known_in_a_row(void)
{
    uintptr_t pcs[8];
    uint64_t key = 0;
    int in_row = 0;
    for (int calls = 0; calls < 100 && in_row < 10; calls++) {
        uint64_t last = key;
        int n = known_one(pcs, 8, &key);
        EXPECT_FRAMES("the same stack again", pcs, n, "known_leaf", "known_one", "known_in_a_row");
        in_row = key && key == last ? in_row + 1 : 0;
    }
    KEEP_FRAME();
    return in_row == 10;
}

NOINLINE static void test_known_again(void)
{
    if (!known_in_a_row())
        FAIL("a stack captured 100 times in a row was never known whole 10 times in a row");
    /* two stacks in turn: neither is the one kept last time, and after a
     * few the walks are seldom kept */
    uintptr_t pcs[8];
    uint64_t key, newest = 0;
    int kept = 0;
    for (int i = 0; i < 200; i++) {
        int n = (i & 1 ? known_one : known_two)(pcs, 8, &key);
        if (key > newest) {              /* (a kept walk gets a new key) */
            kept++;
            newest = key;
        }
        EXPECT_FRAMES("stacks in turn", pcs, n, "known_leaf", i & 1 ? "known_one" : "known_two", "test_known_again",
                      "main");
    }
    if (kept > 50)
        FAIL("%d of 200 walks of changing stacks were kept", kept);
    /* and then one stack again and again: known again */
    if (!known_in_a_row())
        FAIL("after stacks in turn, a stack captured 100 times in a row was never known whole 10 times in a row");
}

/* Frames of varying size (a VLA: the frame is found by rbp) can move
 * while the start stays put: vla_frame is 16 bytes deeper under
 * shift_two than under shift_one, and the capture starts at the same
 * place. Under shift_two, the word where vla_frame's return address was
 * last time lies in shift_two's VLA, never written: it still holds the
 * old return address (into shift_one). Only the saved rbp tells the walks
 * apart. */
NOINLINE static int vla_frame(int m, uintptr_t *pcs, int max)
{
    char pad[m * 16];
    __asm__ volatile("" : : "r"(pad) : "memory");
    int n = via_mid(pcs, max);
    KEEP_FRAME();
    return n;
}

NOINLINE static int shift_one(int k, uintptr_t *pcs, int max)
{
    char pad[k * 16];
    __asm__ volatile("" : : "r"(pad) : "memory");
    int n = vla_frame(3 - k, pcs, max);
    KEEP_FRAME();
    return n + 0;
}

NOINLINE static int shift_two(int k, uintptr_t *pcs, int max)
{
    char pad[k * 16];
    __asm__ volatile("" : : "r"(pad) : "memory");
    int n = vla_frame(3 - k, pcs, max);
    KEEP_FRAME();
    return n + 1;
}

NOINLINE static void test_replay_moved_frames(void)
{
    uintptr_t one[8], two[8];
    /* (long enough for the memo to give up keeping walks: see below) */
    for (int i = 0; i < 40; i++) {
        int n1 = shift_one(1, one, 8), n2 = shift_two(2, two, 8) - 1;
        EXPECT_FRAMES("frames moved", one, n1, "fp_c", "via_mid", "vla_frame", "shift_one", "test_replay_moved_frames");
        EXPECT_FRAMES("frames moved", two, n2, "fp_c", "via_mid", "vla_frame", "shift_two", "test_replay_moved_frames");
    }
}

/* ---- without frame pointers, a forged frame, no unwind tables ---- */

NOINLINE static void test_nofp_chain(void)
{
    uintptr_t pcs[32];
    int n = nofp_a(pcs, 32);
    CHECK_EQ(pcs[0], stack_test_ra);
    EXPECT_FRAMES("no frame pointers", pcs, n, "nofp_c", "forge_call", "nofp_b", "nofp_a",
                  "test_nofp_chain", "main");
    if (has_frame(pcs, n, "stack_decoy")) {
        dump("no frame pointers", pcs, n);
        FAIL("the forged frame was taken for a real one");
    }
}

/* Where forge_call's forged frame pretends to return to. */
NOINLINE void stack_decoy(void) { KEEP_FRAME(); }

NOINLINE static void test_no_unwind_tables(void)
{
    uintptr_t pcs[32];
    int n = nocfi_call(pcs, 32);
    /* nofp_c is exact; nocfi_call's return address is read by nofp_c's
     * rule, so it is exact too; past it nothing is known, so nothing */
    if (n != 2)
        dump("no unwind tables", pcs, n);
    CHECK_EQ(n, 2);
    EXPECT_FRAMES("no unwind tables", pcs, n, "nofp_c", "nocfi_call");
}

NOINLINE static void test_depth(void)
{
    uintptr_t pcs[4] = { 0, 0, 0, 0x5a5a };
    CHECK_EQ(fp_a(pcs, 0), 0);
    CHECK_EQ(fp_a(pcs, -1), 0);
    CHECK_EQ(fp_a(pcs, 1), 1);
    EXPECT_FRAMES("depth 1", pcs, 1, "fp_c");
    CHECK_EQ(fp_a(pcs, 3), 3);
    EXPECT_FRAMES("depth 3", pcs, 3, "fp_c", "fp_b", "fp_a");
    CHECK_EQ(pcs[3], 0x5a5a);
    errno = 1234;
    fp_a(pcs, 3);
    CHECK_EQ(errno, 1234);
}

/* ---- names ---- */

/* A call to a function that never returns can be the last instruction of
 * its caller: its return address lies past the caller's end, so the name
 * is looked up at pc - 1. */
static jmp_buf escape;
static uintptr_t nr_pcs[8];
static int nr_n;

NOINLINE __attribute__((noreturn)) static void capture_and_leave(void)
{
    nr_n = stack_test_malloc(nr_pcs, 8);
    longjmp(escape, 1);
}

NOINLINE static void ends_in_call(void) { capture_and_leave(); }

NOINLINE static void test_call_at_end(void)
{
    if (!setjmp(escape))
        ends_in_call();
    EXPECT_FRAMES("a call at the end", nr_pcs, nr_n, "capture_and_leave", "ends_in_call", "test_call_at_end");
}

static int by_value(const void *a, const void *b);
static uintptr_t cmp_pcs[32];
static void *cmp_bt[32];
static int cmp_n, cmp_nbt;

static int by_value(const void *a, const void *b)
{
    if (!cmp_n) {
        cmp_n = stack_test_malloc(cmp_pcs, 32);
        cmp_nbt = backtrace(cmp_bt, 32);
    }
    return *(const int *)a - *(const int *)b;
}

NOINLINE static void sort_some(void)
{
    int v[8] = { 5, 3, 7, 1, 8, 2, 6, 4 };
    qsort(v, 8, sizeof *v, by_value);
    KEEP_FRAME();
}

NOINLINE static void test_symbols(void)
{
    char name[320], want[320];

    /* a static function of this program: .symtab */
    uintptr_t pc = (uintptr_t)&fp_b + 1;
    snprintf(want, sizeof want, "fp_b+0x1 (test_stack+0x%lx)", (unsigned long)(pc - bias_of(&fp_b)));
    mm_symbolize(pc, name, sizeof name);
    if (strcmp(name, want))
        FAIL("mm_symbolize gave \"%s\", not \"%s\"", name, want);

    /* a function of the C library: .dynsym, or the .symtab of its debug
     * file where that is installed (libc6-dbg) */
    pc = (uintptr_t)&qsort + 1;
    snprintf(want, sizeof want, "qsort+0x1 (libc.so.6+0x%lx)", (unsigned long)(pc - bias_of(&qsort)));
    mm_symbolize(pc, name, sizeof name);
    if (strcmp(name, want))
        FAIL("mm_symbolize gave \"%s\", not \"%s\"", name, want);

    /* a stripped library without a debug file: .dynsym only */
    void *gcc_s = dlopen("libgcc_s.so.1", RTLD_NOW);
    void *fn = gcc_s ? dlsym(gcc_s, "_Unwind_Backtrace") : NULL;
    CHECK(fn);
    pc = (uintptr_t)fn + 1;
    snprintf(want, sizeof want, "_Unwind_Backtrace+0x1 (libgcc_s.so.1+0x%lx)", (unsigned long)(pc - bias_of(fn)));
    mm_symbolize(pc, name, sizeof name);
    if (strcmp(name, want))
        FAIL("mm_symbolize gave \"%s\", not \"%s\"", name, want);

    /* no code there */
    static int data;
    int local;
    mm_symbolize(0x10, name, sizeof name);
    CHECK(!strcmp(name, "(unknown)"));
    mm_symbolize((uintptr_t)&local, name, sizeof name);
    CHECK(!strcmp(name, "(unknown)"));
    pc = (uintptr_t)&data;
    snprintf(want, sizeof want, "(test_stack+0x%lx)", (unsigned long)(pc - bias_of(&data)));
    mm_symbolize(pc, name, sizeof name);
    if (strcmp(name, want))
        FAIL("mm_symbolize gave \"%s\", not \"%s\"", name, want);

    /* a short buffer: cut, terminated, the length of what fits */
    CHECK_EQ(mm_symbolize((uintptr_t)&fp_b + 1, name, 6), 5);
    CHECK(!strcmp(name, "fp_b+"));

    uintptr_t off;
    const char *path = mm_module_of((uintptr_t)&fp_b, &off);
    CHECK(path && !strcmp(base_name(path), "test_stack"));
    CHECK_EQ(off, (uintptr_t)&fp_b - bias_of(&fp_b));
    CHECK(!mm_module_of(0x10, &off));

    /* a return address inside the C library (built without frame
     * pointers): qsort calling back into the program */
    sort_some();
    CHECK(cmp_n > 3);
    EXPECT_FRAMES("through qsort", cmp_pcs, cmp_n, "by_value");
    int i = 1;
    for (; i < cmp_n && !frames_are(cmp_pcs + i, 1, (const char *[]){ "sort_some" }, 1); i++) {
        path = mm_module_of(cmp_pcs[i] - 1, &off);
        if (!path || strcmp(base_name(path), "libc.so.6")) {
            dump("through qsort", cmp_pcs, cmp_n);
            FAIL("frame %d is not in the C library", i);
        }
    }
    CHECK(i > 1 && i < cmp_n);
    EXPECT_FRAMES("through qsort", cmp_pcs + i, cmp_n - i, "sort_some", "test_symbols", "main");
    CHECK_EQ(cmp_n, cmp_nbt);
    for (i = 1; i < cmp_n; i++)
        CHECK_EQ(cmp_pcs[i], (uintptr_t)cmp_bt[i]);
}

/* ---- signals ---- */

static uintptr_t sig_pcs[32];
static volatile int sig_n;

static void on_signal(int sig)
{
    (void)sig;
    sig_n = stack_test_malloc(sig_pcs, 32);
}

NOINLINE static void raise_it(void)
{
    raise(SIGUSR1);
    KEEP_FRAME();
}

NOINLINE static void test_signal(void)
{
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    raise_it();
    int n = sig_n;
    EXPECT_FRAMES("in a signal handler", sig_pcs, n, "on_signal");
    /* then the trampoline, the C library's raise, and the program again */
    int i = 1;
    while (i < n && !frames_are(sig_pcs + i, 1, (const char *[]){ "raise_it" }, 1))
        i++;
    if (i == n || !frames_are(sig_pcs + i, n - i, (const char *[]){ "raise_it", "test_signal", "main" }, 3)) {
        dump("in a signal handler", sig_pcs, n);
        FAIL("the stack does not go on through the interrupted code");
    }

    /* on an alternate signal stack: the handler's frames, then the stack
     * ends (the interrupted frames are on another stack); no crash */
    static char alt[64 << 10];
    stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
    CHECK(sigaltstack(&ss, NULL) == 0);
    sa.sa_flags = SA_ONSTACK;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    sig_n = 0;
    raise_it();
    n = sig_n;
    EXPECT_FRAMES("on a signal stack", sig_pcs, n, "on_signal");
    char name[320];
    for (i = 0; i < n; i++)
        CHECK(mm_symbolize(sig_pcs[i], name, sizeof name) && strcmp(name, "(unknown)"));
    ss.ss_flags = SS_DISABLE;
    CHECK(sigaltstack(&ss, NULL) == 0);
    signal(SIGUSR1, SIG_DFL);
}

/* A timer interrupts captures (and the first decoding of rules) all the
 * time, and its handler captures too: both keep getting the same frames. */
static uintptr_t ref_prof[4], ref_main[5];
static volatile int prof_runs, prof_bad;

NOINLINE static int prof_capture(uintptr_t *pcs, int max)
{
    int n = fp_a(pcs, max);
    KEEP_FRAME();
    return n;
}

NOINLINE static int main_capture(uintptr_t *pcs, int max)
{
    int n = nofp_a(pcs, max);
    KEEP_FRAME();
    return n;
}

static void on_prof(int sig)
{
    (void)sig;
    uintptr_t pcs[8];
    int n = prof_capture(pcs, 8);
    prof_runs++;
    if (n < 4 || memcmp(pcs, ref_prof, sizeof ref_prof))
        prof_bad++;
}

NOINLINE static void test_signal_storm(void)
{
    uintptr_t pcs[8];
    CHECK_EQ(prof_capture(ref_prof, 4), 4);
    CHECK_EQ(main_capture(ref_main, 5), 5);
    struct sigaction sa = { .sa_handler = on_prof, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval it = { { 0, 100 }, { 0, 100 } };
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long captures = 0;
    do {
        for (int k = 0; k < 100; k++, captures++) {
            int n = main_capture(pcs, 6);
            if (n != 6 || memcmp(pcs, ref_main, sizeof ref_main)) {
                dump("interrupted", pcs, n);
                FAIL("a capture interrupted by signals changed");
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 300000000L);
    it = (struct itimerval){ 0 };
    setitimer(ITIMER_REAL, &it, NULL);
    signal(SIGALRM, SIG_DFL);
    CHECK(prof_runs > 20);
    CHECK_EQ(prof_bad, 0);
    CHECK(captures > 1000);
}

/* ---- threads ---- */

static void *thread_main(void *arg)
{
    (void)arg;
    uintptr_t pcs[32];
    for (int k = 0; k < 100; k++) {
        int n = fp_a(pcs, 32);
        EXPECT_FRAMES("on a thread", pcs, n, "fp_c", "fp_b", "fp_a", "thread_main");
        n = nofp_a(pcs, 32);
        EXPECT_FRAMES("on a thread", pcs, n, "nofp_c", "forge_call", "nofp_b", "nofp_a", "thread_main");
    }
    return NULL;
}

NOINLINE static void test_threads(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, thread_main, NULL) == 0);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(t[i], NULL) == 0);

    /* a stack the program mapped itself, and a small one */
    size_t size = 256 << 10;
    void *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(stack != MAP_FAILED);
    pthread_attr_t a;
    pthread_attr_init(&a);
    CHECK(pthread_attr_setstack(&a, stack, size) == 0);
    CHECK(pthread_create(&t[0], &a, thread_main, NULL) == 0);
    pthread_attr_destroy(&a);
    pthread_attr_init(&a);
    CHECK(pthread_attr_setstacksize(&a, 64 << 10) == 0);
    CHECK(pthread_create(&t[1], &a, thread_main, NULL) == 0);
    pthread_attr_destroy(&a);
    CHECK(pthread_join(t[0], NULL) == 0);
    CHECK(pthread_join(t[1], NULL) == 0);
    munmap(stack, size);
}

/* ---- cost, by hand: test_stack bench ---- */

typedef int leaf_fn(uintptr_t *pcs, int max);

NOINLINE static int fp_deep(int k, leaf_fn *leaf, uintptr_t *pcs, int max)
{
    int n = k ? fp_deep(k - 1, leaf, pcs, max) : leaf(pcs, max);
    KEEP_FRAME();
    return n;
}

static int bt_leaf(uintptr_t *pcs, int max) { return backtrace((void **)pcs, max); }

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Captures of depth max, 10 or 11 frames below here: the same stack each
 * time (what the memo replays), or two stacks in turn (walked anew). */
enum { FP, NOFP, LIBGCC };
static double run(int chain, bool alternate, int max, int rounds)
{
    uintptr_t pcs[64];
    double t = now();
    for (int i = 0; i < rounds; i++) {
        int k = 10 + (alternate & i);
        int n = chain == FP ? fp_deep(k, stack_test_malloc, pcs, max)
              : chain == NOFP ? nofp_deep(k, pcs, max) : fp_deep(k, bt_leaf, pcs, max);
        if (max > 0 && n != max)
            FAIL("bench: %d frames, not %d", n, max);
    }
    return (now() - t) / rounds;
}

static void *first_capture(void *arg)
{
    double *ns = arg;
    uintptr_t pcs[8];
    double t = now();
    fp_a(pcs, 8);
    ns[0] = now() - t;
    t = now();
    fp_a(pcs, 8);
    ns[1] = now() - t;
    return NULL;
}

/* This machine may be shared: each figure is the best of 30 runs, taken
 * in turn with the others, less the same calls without a capture. */
static void bench(void)
{
    static const struct { const char *what; int chain; bool alternate; } cases[] = {
        { "frame pointers, same stack again", FP, false },
        { "frame pointers, a new stack", FP, true },
        { "no frame pointers, same stack again", NOFP, false },
        { "no frame pointers, a new stack", NOFP, true },
        { "backtrace() (libgcc), for comparison", LIBGCC, true },
    };
    enum { N = sizeof cases / sizeof *cases, ROUNDS = 20000 };
    double best[N][2];
    mm_stack_init();
    for (int c = 0; c < N; c++) {
        run(cases[c].chain, cases[c].alternate, 8, ROUNDS);   /* rules decoded, pages touched */
        best[c][0] = best[c][1] = 1e30;
    }
    for (int round = 0; round < 30; round++)
        for (int c = 0; c < N; c++)
            for (int d = 0; d < 2; d++) {
                double ns = run(cases[c].chain, cases[c].alternate, d ? 8 : 0, cases[c].chain == LIBGCC ? ROUNDS / 10 : ROUNDS);
                if (ns < best[c][d])
                    best[c][d] = ns;
            }
    printf("a capture of 8 frames (and the library's own 3-4 below them):\n");
    for (int c = 0; c < N; c++)
        printf("  %-38s %7.1f ns\n", cases[c].what, best[c][1] - best[c][0]);
    double ns[2][2];
    for (int i = 0; i < 2; i++) {
        pthread_t t;
        pthread_create(&t, NULL, first_capture, ns[i]);
        pthread_join(t, NULL);
    }
    printf("first capture on a thread: %.1f us (the first thread: %.1f us), the next %.2f us\n", ns[1][0] / 1000,
           ns[0][0] / 1000, ns[1][1] / 1000);
}

/* This program's own clock_gettime: an executable's symbol comes before
 * libc's, so every call of it through a PLT in this process lands here,
 * counted, and is made by the kernel. */
static int clock_calls;
int clock_gettime(clockid_t clock, struct timespec *t)
{
    __atomic_fetch_add(&clock_calls, 1, __ATOMIC_RELAXED);
    return (int)syscall(SYS_clock_gettime, clock, t);
}

/* The layer below, linked here with it: its clock agrees with the
 * kernel's, and is read from the vDSO's own symbol table, not through
 * libc's clock_gettime (whose call maps 64 KiB of libc's code). */
static void test_clock(void)
{
    for (int i = 0; i < 100; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC_COARSE, &a);
        int calls = clock_calls;
        uint64_t ms = mm_os_coarse_ms();
        CHECK(clock_calls == calls);
        clock_gettime(CLOCK_MONOTONIC_COARSE, &b);
        uint64_t lo = (uint64_t)a.tv_sec * 1000 + (uint64_t)a.tv_nsec / 1000000;
        uint64_t hi = (uint64_t)b.tv_sec * 1000 + (uint64_t)b.tv_nsec / 1000000;
        CHECK(ms >= lo && ms <= hi);
    }
    CHECK(clock_calls >= 200);   /* (this file's own calls did land here) */
}

int main(int argc, char **argv)
{
    require_mymalloc();
    if (argc > 1 && !strcmp(argv[1], "bench")) {
        bench();
        return 0;
    }
    mm_stack_init();
    test_fp_chain();
    test_same_as_libgcc();
    test_replay();
    test_replay_moved_frames();
    test_known_again();
    test_nofp_chain();
    test_no_unwind_tables();
    test_depth();
    test_symbols();
    test_call_at_end();
    test_signal();
    test_signal_storm();
    test_threads();
    test_clock();
    printf("stack: all tests passed\n");
    return 0;
}

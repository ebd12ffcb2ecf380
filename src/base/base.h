/* base.h -- the floor of the house: what every layer above may use, and
 * nothing here uses anything above it.
 *
 *   os.c       the only system calls for memory (sbrk, mmap, munmap,
 *              mremap, madvise), the page size, random bits, the pid, and
 *              the fault injection of the fail_* options
 *   maps.c     the process's mappings, from /proc/self/maps
 *   lock.c     the one lock, which knows its owner, and its part in fork
 *   fmt.c      a small printf that never allocates, byte counts for people
 *   log.c      where reports go (stderr or log=FILE), through write(2)
 *   die.c      the one-line diagnostic, then abort
 *   pset.c     a set of addresses in pages of its own
 *   options.c  MYMALLOC_OPTIONS: the one table of options
 *
 * Internal names shared between files start with mm_ (MM_ for macros);
 * nothing here is exported (the library is built with -fvisibility=hidden,
 * and only api.c marks names MM_EXPORT). */
#ifndef MM_BASE_H
#define MM_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MM_LIKELY(x)   __builtin_expect(!!(x), 1)
#define MM_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* Fetches the cache line of p to be written: for a line that is read,
 * then written, which a plain read would fetch shared and the write ask
 * for again (x86-64 has the instruction whatever -march says). */
static inline void mm_prefetch_write(const void *p)
{
#if defined(__x86_64__)
    __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p, 1);
#endif
}
#define MM_EXPORT      __attribute__((visibility("default")))
#define MM_NORETURN    __attribute__((noreturn))
#define MM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define MM_TLS         __attribute__((tls_model("initial-exec")))
/* On the quiet allocator's path, the one every program takes: these
 * functions sit together in the library's code (.text.hot), so that a
 * program that uses no option has 64 KiB of the library's code resident,
 * not all 124 (the kernel maps the neighbours of a page of code with it,
 * in aligned runs of 64 KiB). */
#define MM_HOT         __attribute__((hot))
/* Constants that every program reads (the size classes, the names looked
 * for in the environment and the vDSO): kept with the data that the
 * loader writes at start (relocated, then made read-only), whose pages
 * are resident anyway, so that a program that uses no option maps no page
 * of the library's .rodata, which the kernel would map whole (about 40
 * KiB) at the first read of any of it. */
#define MM_QUIET_CONST __attribute__((section(".data.rel.ro.mm_quiet")))

#define MM_ALIGN       16u             /* alignof(max_align_t): every block's alignment */
/* Requests above this fail with ENOMEM: it leaves room for the header, the
 * alignment padding, a debugging record and page rounding without any sum
 * overflowing. */
#define MM_MAX_REQUEST ((size_t)PTRDIFF_MAX - (16u << 20))

static inline size_t mm_align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }
static inline bool mm_is_pow2(size_t a) { return a && !(a & (a - 1)); }

/* ---- os.c: every function preserves errno and reports failure by its
 * return value. */
extern size_t mm_page;                       /* the page size */
void mm_os_init(void);
static inline size_t mm_page_round(size_t n) { return mm_align_up(n, mm_page); }
/* Moves the break by n bytes; returns the old break, or NULL on failure. */
void *mm_os_sbrk(intptr_t n);
void *mm_os_brk_now(void);                   /* the current break */
void *mm_os_map(size_t n);                   /* fresh zeroed pages, or NULL */
void mm_os_unmap(void *p, size_t n);
/* Resizes a mapping, moving it if needed; NULL on failure (old one intact). */
void *mm_os_remap(void *p, size_t old_n, size_t new_n);
/* The same for the allocator's own records, tables and caches: listed, so
 * that a scan of the process's memory can leave them out. Lock held. */
struct mm_range { uintptr_t lo, hi; };
void *mm_os_map_own(size_t n);
void mm_os_unmap_own(void *p, size_t n);
void *mm_os_remap_own(void *p, size_t old_n, size_t new_n);
/* An array *p of *cap elements of `unit` bytes, in a mapping of its own,
 * with room for `need` of them: grown by doubling (from 4096), its contents
 * kept; false without memory (the array is as it was). */
bool mm_os_room_own(void **p, size_t *cap, size_t need, size_t unit);
size_t mm_os_own(const struct mm_range **ranges);   /* the list, unordered */
/* Address space for pages made accessible or not one by one (guard
 * pages): every page inaccessible at first. NULL on failure. */
void *mm_os_reserve(size_t n);
/* Makes the pages [p, p + n) of such a reservation accessible (their
 * contents are not kept: expect zeros or what was there) or inaccessible.
 * False on failure. */
bool mm_os_protect(void *p, size_t n, bool accessible);
/* Makes the pages [p, p + n) of an ordinary mapping inaccessible
 * (PROT_NONE, a mapping of their own in /proc/self/maps) or accessible
 * again; false on failure. */
bool mm_os_noaccess(void *p, size_t n, bool none);
/* Gives back the whole pages inside [p, p + n); returns the bytes released. */
size_t mm_os_release(void *p, size_t n);
uint64_t mm_os_random(void);                 /* per-process random bits */
/* Fills buf with n random bytes from the kernel (getrandom), each call's
 * apart from the others'; where the kernel has none, from AT_RANDOM and
 * a counter. */
void mm_os_random_fill(void *buf, size_t n);
/* The files the allocator reads and writes (reports, trace, profile, heap
 * map, /proc/self/maps, symbols): open(2), read(2), write(2) and close(2)
 * that are never cancellation points, as glibc's own are. A thread
 * cancelled inside one while the allocator holds its lock would leave the
 * lock held for good; malloc is not a cancellation point. Each returns
 * what the system call does, -1 with errno on failure. */
int mm_os_open(const char *path, int flags, int mode);
long mm_os_read(int fd, void *buf, size_t n);
long mm_os_write(int fd, const void *buf, size_t n);
void mm_os_close(int fd);
enum { MM_OS_SBRK, MM_OS_MMAP, MM_OS_MUNMAP, MM_OS_MREMAP, MM_OS_MADVISE, MM_OS_NCALLS };
extern unsigned long mm_os_calls[MM_OS_NCALLS];   /* system calls made, for stats */
void mm_os_faults_reset(void);               /* the fail_* options changed */
uint64_t mm_os_coarse_ms(void);              /* a cheap monotonic clock, in ms */
int mm_os_pid(void);                         /* getpid(), cached */
void mm_os_after_fork(void);                 /* in the child of fork */
bool mm_os_forked(void);                     /* this process is a child of fork */
/* Fault injection for re-entry (fail_signal): called where the heap is
 * half-way through a change, or fork half-way through its handlers, lock
 * held; raises the signal now and then.
 * (The inline test is below the options.) */
void mm_os_signal_point_slow(void);

/* ---- maps.c: the process's mappings, from /proc/self/maps. */
struct mm_map {
    uintptr_t lo, hi;
    bool read, write, shared;
    const char *name;            /* a path, a [name], or NULL; not NUL-terminated */
    size_t name_len;
};
/* Calls fn for each mapping, in address order, until it returns false;
 * false when the list cannot be read. The mapping's name lives for the
 * call only. */
bool mm_maps_each(bool (*fn)(const struct mm_map *m, void *arg), void *arg);

/* ---- lock.c: one lock for all shared state. It records its owner, so a
 * thread that comes back in while holding it is told so instead of
 * deadlocking. */
bool mm_lock(void);           /* false: this thread already holds the lock */
void mm_unlock(void);
int mm_self_tid(void);        /* this thread's id, cached */
/* fork: init.c's handlers call these. prepare takes the lock (and, in a
 * threaded process, glibc's stdio list lock first: its order); child
 * makes this thread the owner, calls reset (lock held) and lets go. */
void mm_lock_fork_prepare(void);
void mm_lock_fork_parent(void);
void mm_lock_fork_child(void (*reset)(void));

/* ---- fmt.c: formatting without stdio. */
/* A small vsnprintf: %s %c %d %i %u %x %p %% with l/z/ll, width, '-', '0' and
 * a precision for %s (%.*s). Always NUL-terminates; returns the length
 * written. */
size_t mm_vfmt(char *buf, size_t cap, const char *fmt, va_list ap);
size_t mm_fmt(char *buf, size_t cap, const char *fmt, ...) MM_PRINTF(3, 4);
/* A byte count with a unit (512 B, 1.5 KiB, 3.0 MiB) in buf; returns buf. */
const char *mm_bytes(char buf[24], size_t n);
const char *mm_thousands(char buf[32], size_t n);   /* 5120 -> "5,120" */

/* ---- log.c: where reports and warnings go, through write(2): never a
 * cancellation point (mm_os_write), but in mm_write_point, for output made
 * with the lock let go where glibc's is one (malloc_stats prints with
 * stdio). */
void mm_write(const char *s, size_t n);
void mm_write_point(const char *s, size_t n);
void mm_print(const char *fmt, ...) MM_PRINTF(1, 2);   /* to the log, stderr by default */
void mm_vline(const char *prefix, const char *fmt, va_list ap);   /* prefix, message, newline */
/* The log: the file at path (a template: %p is the pid), or, with
 * keep_stderr, a copy of stderr made now (reports at exit come after the
 * program may have closed its own); else stderr as it is. */
void mm_log_configure(const char *path, bool keep_stderr);
void mm_log_after_fork(void);      /* a log with %p: the child's own */
/* Opens a path template (%p: the process id) for writing, created if need
 * be, close-on-exec; -1 with errno on failure. */
int mm_path_open(const char *tmpl, int flags);
int mm_path_writable(const char *tmpl);   /* 0, or the errno that open gave */
int mm_path_readable(const char *path);   /* the same, for reading */
bool mm_path_per_process(const char *tmpl);   /* it has a %p */

/* ---- die.c: a bug in the program. */
/* Prints "mymalloc: fn(): <message>" and aborts. */
MM_NORETURN void mm_die(const char *fn, const char *fmt, ...) MM_PRINTF(2, 3);
MM_NORETURN void mm_die_quietly(void);   /* after a report printed already */

/* ---- pset.c: a set of addresses in mmapped memory (never calls malloc). */
typedef struct {
    uintptr_t *slot;
    size_t cap, count;
    bool borrowed;      /* slot is the caller's zeroed buffer, not a mapping */
} mm_pset;
bool mm_pset_add(mm_pset *s, uintptr_t key);    /* false: out of memory */
bool mm_pset_has(const mm_pset *s, uintptr_t key);
bool mm_pset_del(mm_pset *s, uintptr_t key);
void mm_pset_clear(mm_pset *s);                 /* frees the table */
/* For a set no longer added to, read by threads without a lock: the key
 * (even) stays in its slot as key | 1, which no key equals and which keeps
 * the probes that pass it going; has() may run beside it. */
void mm_pset_cross_out(mm_pset *s, uintptr_t key);
void mm_pset_each(const mm_pset *s, void (*fn)(uintptr_t key, void *arg), void *arg);
/* Tables of records keyed by an address in their first word (0: empty),
 * open addressing with linear probing, in mmapped memory: where a key's
 * probe starts, and the table doubled (first_cap entries the first time),
 * its records placed again. False without memory (the table is as it was). */
static inline size_t mm_keyed_slot(uintptr_t key, size_t cap) { return (size_t)(key >> 4) & (cap - 1); }
bool mm_keyed_grow(void **table, size_t *cap, size_t elem, size_t first_cap);

/* ---- options.c: MYMALLOC_OPTIONS, read from environ.
 * The one list of options: name, kind, default, lowest, highest, the words
 * a CHOICE takes, help. The struct, the parser, the defaults and the help
 * table (help=1, from which the README's table is made) all come from it.
 * Kinds: SIZE (bytes, K/M/G), NUM, BOOL, CHOICE (one of the words, stored
 * as its index), PATH (a file to write; %p becomes the process id), INPUT
 * (a file to read). A relative path is made absolute when the options are
 * read, so that a process that changes directory writes where it started.
 * TOOL marks the options of the debugging toolkit. */
#define MM_OPTIONS(X)                                                                          \
    X(mmap_threshold, SIZE, 128u << 10, 4096, 1u << 30, 0, 0,                                  \
      "Blocks of this many bytes or more get a mapping of their own, unmapped by free. As in " \
      "glibc, unless set, it rises to the size of a mapped block that is freed (up to 32M)")  \
    X(trim_threshold, SIZE, 256u << 10, 4096, SIZE_MAX / 2, 0, 0,                              \
      "The break is lowered once this much lies free at the top of the heap; unless set, it " \
      "rises to twice mmap_threshold with it")                                                 \
    X(top_pad, SIZE, 64u << 10, 0, 1u << 30, 0, 0,                                             \
      "Bytes added to each growth of the heap, and kept at its top when it shrinks")           \
    X(stats, CHOICE, 0, 0, 2, "0|1|json", 1,                                                   \
      "At exit, a report of calls, bytes, the heap and the system calls: 1 for a table, json " \
      "for one JSON object")                                                                   \
    X(leaks, BOOL, 0, 0, 1, 0, 1,                                                               \
      "At exit, every block still live, grouped by the call stack that allocated it")          \
    X(leak_exitcode, NUM, 23, 0, 255, 0, 1,                                                     \
      "The exit status when leaks=1 finds blocks lost, in the process that was started, if it " \
      "would have exited with 0 (0: leave the status alone)")                                  \
    X(leak_reachable, BOOL, 1, 0, 1, 0, 1,                                                      \
      "List the blocks still reachable at exit by site too (0: only count them)")              \
    X(leak_suppressions, INPUT, 0, 0, 0, 0, 1,                                                  \
      "A file of leaks not to report: a function or module name a line (leak:NAME as in "      \
      "LeakSanitizer; * matches anything), matched against each frame of a lost block's stack") \
    X(children, BOOL, 1, 0, 1, 0, 1,                                                            \
      "Processes the program starts (fork, exec) are checked and report too; 0: only the "     \
      "program itself (valgrind's --trace-children=no)")                                       \
    X(stack_depth, NUM, 16, 1, 64, 0, 1, "Frames recorded per allocation, for leaks, check and profile") \
    X(check, NUM, 0, 0, 2, 0, 1,                                                                \
      "1: redzones after blocks, freed blocks poisoned and quarantined, checked at free; 2: "  \
      "also the whole heap every check_every calls")                                           \
    X(check_every, NUM, 1000, 1, UINT32_MAX, 0, 1, "With check=2, calls between heap checks")  \
    X(quarantine, SIZE, 16u << 20, 0, SIZE_MAX / 2, 0, 1,                                       \
      "With check=1 or guard, bytes of freed blocks held back before reuse")                   \
    X(guard, NUM, 0, 0, UINT32_MAX, 0, 1,                                                       \
      "One allocation in N (1: every one; 0: none) lies against an inaccessible page, and its "  \
      "pages are made inaccessible while it waits in the quarantine once freed: the first "     \
      "read or write past it or after free is caught where it happens")                        \
    X(guard_side, CHOICE, 0, 0, 1, "end|start", 1,                                              \
      "Which side of a guarded block the page lies on: end for overflows, start for underflows") \
    X(trace, PATH, 0, 0, 0, 0, 1,                                                               \
      "Record every call (function, sizes, pointers, thread, time) to this file")              \
    X(heapmap, PATH, 0, 0, 0, 0, 1, "At exit, write an SVG picture of the heap to this file")  \
    X(heapmap_signal, BOOL, 0, 0, 1, 0, 1, "Also write the heap map on each SIGUSR2")          \
    X(profile, PATH, 0, 0, 0, 0, 1,                                                             \
      "At exit, write the heap by call stack over time and at its peak to this file, in "      \
      "massif's format (%p: the process id)")                                                   \
    X(profile_signal, BOOL, 0, 0, 1, 0, 1, "Also write the profile on each SIGUSR2")           \
    X(profile_sample, SIZE, 0, 0, SIZE_MAX / 2, 0, 1,                                           \
      "With profile: one allocation in every this many bytes on average is sampled and "       \
      "counted with its weight (0: every allocation, exactly)")                               \
    X(profile_seed, NUM, 0, 0, UINT32_MAX, 0, 1, "The seed of profile_sample's draws (0: a random one)") \
    X(log, PATH, 0, 0, 0, 0, 0, "Where reports and warnings go instead of stderr")             \
    X(module_paths, BOOL, 0, 0, 1, 0, 0,                                                        \
      "Frames in reports name their module by its full path, not its file name (for tools "     \
      "that read the reports: scripts/mymalloc sets it)")                                       \
    X(help, BOOL, 0, 0, 1, 0, 0, "At start, print this table of options to stderr")            \
    X(fail_sbrk, NUM, 0, 0, UINT32_MAX, 0, 0,                                                   \
      "Fault injection: the N-th call to sbrk from now fails (0: none)")                       \
    X(fail_mmap, NUM, 0, 0, UINT32_MAX, 0, 0, "The same for mmap and mremap")                   \
    X(fail_madvise, NUM, 0, 0, UINT32_MAX, 0, 0, "The same for madvise")                        \
    X(fail_rate, NUM, 0, 0, 100, 0, 0,                                                          \
      "Each sbrk, mmap, mremap and madvise call fails with this probability, in percent")      \
    X(fail_seed, NUM, 1, 0, UINT32_MAX, 0, 0, "The seed of fail_rate's choices")                \
    X(fail_getrandom, BOOL, 0, 0, 1, 0, 0,                                                      \
      "Fault injection: getrandom is taken as missing, and the keys come from the fallback "    \
      "(SipHash keyed with the process's AT_RANDOM bytes)")                                     \
    X(fail_signal, NUM, 0, 0, 64, 0, 0,                                                         \
      "Fault injection: raise this signal inside the allocator, in the middle of a change to "  \
      "the heap or of a fork (with its lock held) or of a page's layout, every "                \
      "fail_signal_every times (0: none)")                                                      \
    X(fail_signal_every, NUM, 64, 1, UINT32_MAX, 0, 0, "How often fail_signal is raised")

#define MM_PATH_MAX 256
#define MM_OPT_TYPE_SIZE(n)   size_t n;
#define MM_OPT_TYPE_NUM(n)    size_t n;
#define MM_OPT_TYPE_BOOL(n)   size_t n;
#define MM_OPT_TYPE_CHOICE(n) size_t n;
#define MM_OPT_TYPE_PATH(n)   char n[MM_PATH_MAX];
#define MM_OPT_TYPE_INPUT(n)  char n[MM_PATH_MAX];
struct mm_options {
#define MM_OPTION_FIELD(name, kind, def, lo, hi, words, tool, help) MM_OPT_TYPE_##kind(name)
    MM_OPTIONS(MM_OPTION_FIELD)
#undef MM_OPTION_FIELD
};
extern struct mm_options mm_opt;
/* Reads MYMALLOC_OPTIONS from environ, once environ is there (false while
 * it is not: the dynamic loader's first calls). Lock held. */
bool mm_options_load(void);
/* MYMALLOC_OPTIONS was read: mm_opt holds what it asks for. */
bool mm_options_loaded(void);
/* Applies a MYMALLOC_OPTIONS string; returns the number of bad pieces.
 * Lock held. */
int mm_options_apply(const char *s);
/* v brought within the bounds of the option called name (for mallopt). */
size_t mm_options_clamp(const char *name, size_t v);
/* mmap_threshold, trim_threshold or top_pad was set by an option. */
extern bool mm_options_thresholds_set;
/* A library built without the toolkit: its options get a warning. */
extern bool mm_options_no_toolkit;
/* MYMALLOC_OPTIONS as read, with every relative path made absolute, in
 * buf; NULL when it has none (or does not fit). For the children. */
const char *mm_options_absolute(char *buf, size_t cap);
/* This is the process that was started, not one it ran (init.c). */
extern bool mm_root;
void mm_options_after_fork(void);

static inline void mm_os_signal_point(void)
{
    if (MM_UNLIKELY(mm_opt.fail_signal))
        mm_os_signal_point_slow();
}

#endif

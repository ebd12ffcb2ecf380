/* debug.h -- the debugging toolkit: everything a person turns on to
 * investigate (stats, leaks, check, trace, heapmap). A library of its own,
 * above front/ and unwind/; built out entirely with -DMYMALLOC_TOOLKIT=OFF.
 * When no option asks for it, the allocator pays one predictable branch on
 * its slow paths (api.c) and nothing else.
 *
 *   paths.c       malloc, free, realloc, usable size while an option is on
 *   guard.c       guard=N: blocks against inaccessible pages, the fault handler
 *   record.c      the record at the end of every block (chunk.h draws it)
 *   errors.c      the reports of overflows, writes after free, double frees
 *   quarantine.c  freed blocks held back, poisoned, checked on their way out
 *   checker.c     the whole heap against its invariants (check=2, the API)
 *   sites.c       call stacks, each stored once, and each thread's memo
 *   stats.c       what stats=1 counts, and its report
 *   leaks.c       leaks=1: reachable, lost, indirectly and possibly lost
 *   roots.c       where the leak scan looks for pointers
 *   suppress.c    leak_suppressions=FILE
 *   trace.c       trace=FILE: every call recorded
 *   heapmap.c     heapmap=FILE: an SVG picture of the heap
 */
#ifndef MM_DEBUG_H
#define MM_DEBUG_H

#include "../front/front.h"
#include "../unwind/unwind.h"

/* ---- paths.c ---- */
/* A debugging option is on: every call that the fast paths do not serve
 * comes here (api.c). */
extern bool mm_debug;
/* Blocks carry records (stats, leaks, check or trace: all but guard
 * alone); without them, the fast paths stay on and only guarded blocks
 * are the toolkit's. */
extern bool mm_debug_records;
/* profile= alone (exact, no other option that keeps records): small
 * blocks come from the pages, which leave them all to the toolkit
 * (mm_pages_held), each with its record in its last bytes; only the
 * profile's count takes the lock. */
extern bool mm_debug_held;
/* leaks=1 or check=1, without stats or trace (nothing to count): malloc
 * takes blocks from the thread caches without the lock; free does too
 * with leaks=1 alone (with check=1 it goes to the quarantine). */
extern bool mm_debug_light;
/* Decides the above from the options, once, at start (then started is
 * true); true when on. */
bool mm_debug_start(void);
extern bool mm_debug_started;
enum { MM_CALL_MALLOC, MM_CALL_CALLOC, MM_CALL_REALLOC, MM_CALL_MEMALIGN, MM_CALL_FREE,
       MM_CALL_USABLE, MM_NCALLS };
/* Who allocated a block, and who may free it: free and realloc take
 * malloc's blocks, operator delete operator new's, operator delete[]
 * operator new[]'s. */
enum { MM_FAMILY_MALLOC, MM_FAMILY_NEW, MM_FAMILY_NEW_ARRAY };
/* The calls, their arguments checked as front.h's mm_fits, mm_calloc_size
 * and mm_memalign_align do. sized: the size a sized delete names (0 for
 * any other call), which must be the size asked for. */
void *mm_debug_alloc(size_t n, size_t align, int call, int family);
/* profile_sample: an allocation that is to be sampled (mm_sample_due said
 * so), made and noted; with the pages on, from the chain. */
void *mm_debug_alloc_sampled(size_t n, size_t align, int call);
void mm_debug_free(void *p, int family, size_t sized);
void *mm_debug_realloc(void *p, size_t n);
size_t mm_debug_usable(const void *p);

/* ---- guard.c: guard=N, blocks against inaccessible pages. */
/* The allocations this thread has left before a guarded one; the exports
 * count it down and call mm_guard_sampled at 0, which returns a guarded
 * block, or NULL for the usual path. */
extern __thread uint64_t mm_guard_left MM_TLS;
void *mm_guard_sampled(size_t n, size_t align, int family, bool zero);
void mm_guard_init(void);            /* at start: the fault handler */
/* The rest with the lock held. */
void *mm_guard_alloc(size_t n, size_t align, int family, bool zero, const uintptr_t *pcs, int depth);
bool mm_guard_owns(const void *p);   /* lock-free */
void mm_guard_free(void *p, int family, size_t sized, const char *fn, const uintptr_t *pcs, int depth);
size_t mm_guard_size(const void *p);
void mm_guard_check_live(void);      /* at exit: around each live block */
void mm_guard_counts(size_t *live, size_t *total);   /* blocks guarded now, and since start */
void mm_guard_each(void (*fn)(uintptr_t start, size_t n, uint32_t site, int pid, void *arg), void *arg);
/* Calls fn for the address range of each region of guarded blocks, until
 * it returns false (then false). */
bool mm_guard_each_region(bool (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg);

/* ---- record.c: for the files of this folder. The last 16 bytes of a
 * block's usable space: */
struct mm_record {
    uint64_t word;          /* n asked for | family << 46 | tag << 48 */
    uint32_t alloc_site;
    union {
        uint32_t pid;       /* live: the process that allocated it (a child of
                               fork does not report its parent's blocks) */
        uint32_t free_site; /* quarantined: the stack that freed it */
    };
};
#define MM_RECORD  16u
#define MM_REDZONE 16u      /* check=1: at least this much after the bytes asked for */
#define MM_PAT_NEW   0xbe   /* check=1: a new block (reading it uninitialised shows) */
#define MM_PAT_RED   0xfa   /* the redzone after a block */
#define MM_PAT_FREED 0xdd   /* a freed block in the quarantine */
/* Where c's record lies, whether or not it holds one. */
static inline struct mm_record *mm_record_at(const mm_chunk *c)
{
    return (struct mm_record *)((char *)mm_mem(c) + mm_usable(c) - MM_RECORD);
}
/* c's record, or NULL for a block without one (allocated before the
 * options were read, or whose record an overrun destroyed). */
struct mm_record *mm_record_of(const mm_chunk *c);
/* At start (lock held): the blocks in use then are known to hold none. */
void mm_record_start(void);
#define MM_RECORD_MAX ((UINT64_C(1) << 46) - 1)   /* the most a record can say was asked for */
static inline size_t mm_record_asked(const struct mm_record *m) { return m->word & MM_RECORD_MAX; }
static inline int mm_record_family(const struct mm_record *m) { return (int)(m->word >> 46) & 3; }
/* The bytes of record and redzone after n. */
static inline size_t mm_record_extra(void) { return MM_RECORD + (mm_opt.check ? MM_REDZONE : 0); }
/* Writes a new block's record (n bytes asked for, its site) and, with
 * check=1, its patterns (zeros for calloc). */
void mm_record_set(void *p, size_t n, int family, bool zero, uint32_t site);
/* The same for a block p of page pg (mm_debug_held): its record is its
 * last MM_RECORD bytes; NULL when it holds none. No pattern, no redzone
 * (check=1 keeps its blocks in the chain). */
struct mm_record *mm_record_of_page_block(const struct mm_page *pg, const void *p);
void mm_record_set_page_block(const struct mm_page *pg, void *p, size_t n, int family, uint32_t site);
/* The same for a block resized in place from old bytes to n: the record
 * moves to the new end; with check=1 the new bytes get MM_PAT_NEW and the
 * redzone is written again, and the bytes the program has are left. */
void mm_record_resized(void *p, size_t old, size_t n, uint32_t site);
/* The block (record m, NULL for none) was allocated by `family` and is
 * freed by fn, of `expected`; sized: the size a sized delete names (or 0).
 * A mismatch is reported with the block's stack and this one, and the
 * program stops. */
__attribute__((cold)) void mm_family_mismatch(const void *p, const struct mm_record *m, int expected, size_t sized,
                                              const char *fn);
static inline void mm_family_check(const void *p, const struct mm_record *m, int expected, size_t sized,
                                   const char *fn)
{
    if (m && (mm_record_family(m) != expected || (sized && sized != mm_record_asked(m))))
        mm_family_mismatch(p, m, expected, sized, fn);
}
/* The record of the chunk c, whose header cannot be trusted: found by its
 * tag, where a chunk of c's could end before limit. NULL if none is. */
struct mm_record *mm_record_find(const mm_chunk *c, uintptr_t limit);
/* A live block's size as asked for, the site that allocated it and the
 * process that did (0, 0 when it has no record). Lock held. */
void mm_debug_block_info(const mm_chunk *c, size_t *asked, uint32_t *site, int *pid);

/* ---- errors.c: for the files of this folder. */
/* The end of a report: the block's stacks and where it was found; then
 * the program stops, unless fn is "exit" (the check at exit reports every
 * error it finds, and lets the reports that follow it be printed). */
void mm_error_end(const struct mm_record *m, bool freed, const char *fn, const uintptr_t *pcs, int depth);
bool mm_error_at_exit(const char *fn);
/* The first and last bytes in [from, to) of p that differ from pat, or
 * false if there are none. */
bool mm_pattern_changed(const unsigned char *p, size_t from, size_t to, unsigned char pat,
                        size_t *first, size_t *last);
/* check=1: the redzone of c intact, or a report. */
void mm_redzone_check(const mm_chunk *c, const struct mm_record *m, const char *fn,
                      const uintptr_t *pcs, int depth);
/* Records kept: p's header is not one the allocator wrote. When the chunk
 * before it is whole (its record, and with check=1 its redzone, intact)
 * and p's own record can be found, the program wrote before p's start:
 * reported as an underflow, with p's stacks. When the chunk before it
 * overran its redzone, that overflow is reported. Otherwise nothing is
 * said (the lookup's one line will be). Lock held. */
void mm_underflow_check(void *p, const char *fn, const uintptr_t *pcs, int depth);
/* The errors reported at exit so far. */
size_t mm_errors_at_exit(void);

/* ---- quarantine.c ---- */
/* c (with its record m, its pattern written) is held back, marked
 * QUARANTINED; the oldest blocks leave while there are more than
 * `quarantine` bytes. False when there is no room to hold it (the caller
 * frees it). Lock held. */
bool mm_quarantine_put(mm_chunk *c, const char *fn, const uintptr_t *pcs, int depth);
void mm_quarantine_flush(const char *fn);     /* every block out; lock held */
/* Lock not held: c (a small block, its record m, in use and checked) is
 * poisoned, given free_site, and held in this thread's batch; when the
 * batch is full it passes to the shared ring, and the blocks that leave
 * the ring are checked and freed. False, with nothing done, when it cannot
 * be held so, or when another thread's free marked it first (the caller
 * takes the locked path, which reports the second free). */
bool mm_quarantine_hold(mm_chunk *c, struct mm_record *m, uint32_t free_site, const char *fn,
                        const uintptr_t *pcs, int depth);
void mm_quarantine_init(void);                /* at start: the batches' thread key */
/* c is in a thread's batch, or on its way out of the ring (its mark). */
bool mm_quarantine_held(const mm_chunk *c);
/* c holds a block of the program's: in use for the heap, not cached, not
 * in the quarantine or a batch of it. */
bool mm_block_live(const mm_chunk *c);
/* At exit, check=1: the blocks still in the quarantine checked, and the
 * redzones of the live ones (guard: the slack after each guarded block),
 * each error reported without stopping; returns how many were found. Lock
 * held. */
size_t mm_debug_check_at_exit(void);

/* ---- checker.c ---- */
/* Prints one line per violation of the heap's invariants (none when
 * quiet) and returns how many there are. Lock held. */
int mm_check_locked(bool quiet);

/* ---- sites.c: call stacks, each stored once; an id names one. Lock held,
 * but for the hash and the memo. */
uint32_t mm_site_intern(const uintptr_t *pcs, int depth);   /* 0: none, or no memory */
/* The same for a stack the unwinder knew by its key (mm_stack_capture_known;
 * 0: none): a key this thread saw before gives its site without a lookup. */
uint32_t mm_site_intern_known(const uintptr_t *pcs, int depth, uint64_t key);
/* What the profile keeps of each site, in the site itself (one cache line
 * away from its stack): the bytes its live blocks hold, and at the peak. */
struct mm_site_tally {
    int64_t bytes, at_peak;
    int64_t counted;         /* what the tree's running totals hold of its bytes */
    uint32_t seen;           /* the peak's epoch at_peak belongs to */
    uint32_t leaf;           /* its node in the profile's tree, 0: not made yet */
    uint32_t changed;        /* the round it is listed as changed in */
};
struct mm_site_tally *mm_site_tally(uint32_t id);           /* NULL for 0 */
uint32_t mm_site_next(uint32_t id);     /* the site after id (0: the first), 0 after the last */
uint32_t mm_site_hash(const uintptr_t *pcs, int depth);
int mm_site_frames(uint32_t id, const uintptr_t **pcs);
void mm_site_print(uint32_t id, const char *indent);        /* one symbolised frame a line */
size_t mm_site_limit(void);                                 /* every id is below this */
void mm_frames_print(const uintptr_t *pcs, int depth, const char *indent);
/* The id of a stack from this thread's memo of the stacks it recorded
 * last, else from the table, under the lock. */
uint32_t mm_site_light(const uintptr_t *pcs, int depth);
void mm_sites_init(void);             /* at start: the memo's thread key */

/* ---- stats.c: what stats=1 counts (in the paths, lock held), and its
 * report at exit. */
void mm_count_alloc(int call, size_t asked, bool ok);
void mm_count_free(size_t asked);
void mm_count_call(int call);
/* A block allocated (blocks +1) or freed (-1) by the stack `site`: asked
 * bytes, and overhead bytes the heap spends on it beyond them (for the
 * profile); also charged to the profile when profile=FILE is on. */
void mm_count_live(uint32_t site, size_t asked, size_t overhead, int blocks);
void mm_stats_report(void);

/* ---- trace.c: trace=PATH, every call recorded. Lock held. */
void mm_trace(int call, const void *ptr, size_t size, size_t align, const void *result);
void mm_trace_flush(void);
void mm_trace_after_fork(void);

/* ---- profile.c: profile=FILE, the heap by call stack over time and at
 * its peak, in massif's format. Lock held. */
void mm_profile_charge(uint32_t site, int64_t bytes, int64_t overhead);
void mm_profile_write(void);
/* ---- names.c: the profile's frames by name, "fn+0x1c (/path/module+0x11c9)"
 * (as massif: the module by its full path), each found once until forgotten. */
void mm_frame_name(uintptr_t pc, char *buf, size_t cap);
void mm_frame_names_forget(void);
/* Every allocation charged exactly (profile on, profile_sample 0). */
static inline bool mm_profile_exact(void) { return mm_opt.profile[0] && !mm_opt.profile_sample; }

/* ---- sample.c: profile_sample=BYTES. The pages stay on (unless guard is
 * on too: then the thread caches serve the toolkit's paths). malloc's
 * countdown in the exports stays at 1, so every malloc counts its bytes
 * down here, and one that is not sampled takes the pages' inline path;
 * calloc, memalign and realloc count in the toolkit's paths. A sampled
 * block is the chain's, so that free's inline path (the pages') leaves it
 * to the toolkit, which forgets it. */
extern bool mm_sample_pages;    /* profile_sample with the pages on: set at start */
/* n bytes about to be allocated: whether they are to be sampled (this
 * thread's count of bytes passed zero; the next count is drawn). */
bool mm_sample_due(size_t n);
/* The block p of n bytes, sampled: charged to its stack with its weight.
 * Lock not held. */
void mm_sample_note(void *p, size_t n);
/* p may be a sampled block (one load, no lock: true for some others). */
bool mm_sample_maybe(const void *p);
/* p's sample forgotten, its weight taken off the profile; its size asked
 * for, or 0 when p was not sampled. Lock not held. */
size_t mm_sample_forget(const void *p);
void mm_sample_after_fork(void);

/* ---- heapmap.c: heapmap=PATH. */
void mm_heapmap_write(void);      /* lock held */
void mm_heapmap_init(void);       /* the SIGUSR2 handler (heap map, profile), if asked */

/* ---- leaks.c: leaks=1, the report at exit. True when blocks were lost
 * (and not suppressed). Lock not held. */
bool mm_leaks_report(void);

/* ---- roots.c: the ranges of memory the leak scan reads for pointers:
 * every private writable mapping, less the heap, the mapped blocks, the
 * allocator's own mappings and data, and this thread's stack below sp.
 * Sorted; 0 when /proc/self/maps cannot be read. Lock held. */
size_t mm_roots(const struct mm_range **ranges, uintptr_t sp);
/* Before mm_roots, once, without the lock (it asks the C library where a
 * thread's descriptor keeps its id, to tell the stacks of exited threads). */
void mm_roots_prepare(void);

/* ---- suppress.c: leak_suppressions=FILE. */
bool mm_suppressions_any(void);      /* the file names at least one pattern */
bool mm_suppressed(uint32_t site);   /* a frame of the site matches one */

#endif

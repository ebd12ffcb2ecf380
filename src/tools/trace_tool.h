/* trace_tool.h -- what the files of mymalloc-trace share.
 *
 * mymalloc-trace is an ordinary program, not the allocator: it uses malloc
 * and stdio freely. The trace file format is in include/mymalloc.h.
 *
 *   trace_read.c     loading and checking a file; the pointer table; the
 *                    model of live memory; units
 *   trace_summary.c  `summary`
 *   trace_plot.c     `plot`
 *   trace_replay.c   `replay`
 *   mymalloc_trace.c the command line */
#ifndef TRACE_TOOL_H
#define TRACE_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mymalloc.h"

#define PROG "mymalloc-trace"
#define NCALLS 5                    /* enum mymalloc_trace_call */

/* One record, decoded (the file is little-endian whatever the machine). */
struct rec {
    uint64_t ns, ptr, result, size;
    uint32_t tid;
    uint8_t call, align_log2;
};

/* The records of one process, in the order it wrote them. */
struct proc {
    uint32_t pid;
    size_t n, cap;
    struct rec *rec;
    size_t blocks;
    uint64_t t0, t1;                /* the earliest and latest times (0, 0 if no records) */
};

struct trace {
    const char *path;
    size_t records, blocks;
    size_t nproc;                   /* in the order of their first call */
    struct proc *proc;
};

/* ---- trace_read.c ---- */
extern const char *const call_name[NCALLS];

/* Reads and checks the whole file. On a bad file, prints one line naming
 * the file and the offset and returns -1. */
int trace_load(const char *path, struct trace *t);
void trace_free(struct trace *t);
/* The process pid, or NULL. */
struct proc *trace_proc(struct trace *t, uint32_t pid);
size_t proc_threads(const struct proc *p);

/* An open-addressing table from a nonzero 64-bit key to a value. */
struct map {
    uint64_t *key, *val;
    size_t cap, n;
};
void map_init(struct map *m, size_t expect);
void map_free(struct map *m);
uint64_t *map_get(const struct map *m, uint64_t key);
/* Sets key to val; returns false if the key was new, else true and the old value in *old. */
bool map_put(struct map *m, uint64_t key, uint64_t val, uint64_t *old);
bool map_del(struct map *m, uint64_t key, uint64_t *val);

/* Live memory as the trace tells it: every block handed out and not yet
 * freed, with the size asked for. */
enum effect {
    FX_ALLOC,                       /* a new block */
    FX_FREE,                        /* a block went away (free, or realloc to 0) */
    FX_MOVE,                        /* realloc: the old block went, a new one came */
    FX_FAILED,                      /* the call returned NULL; nothing changed */
    FX_NONE,                        /* free(NULL), or a block from before the trace */
};
struct live {
    struct map blocks;              /* pointer -> size */
    uint64_t bytes, count;
    uint64_t unknown_free;          /* free of a block allocated before the trace */
    uint64_t unknown_realloc;       /* realloc of such a block */
    uint64_t reused;                /* a pointer handed out twice with no free between */
};
void live_init(struct live *l, size_t expect);
void live_free(struct live *l);
enum effect live_apply(struct live *l, const struct rec *r);
/* What a record means (shared by the model and the replay). */
bool rec_is_alloc(const struct rec *r);       /* malloc, calloc, memalign, realloc(NULL, n) */
bool rec_is_free(const struct rec *r);        /* free, realloc(p, 0) that returned NULL */

/* Units, for people: "300 B", "1.50 KiB", "12.3 MiB"; "850 ns", "1.23 ms", "2.00 s". */
char *fmt_bytes(char buf[32], uint64_t n);
char *fmt_ns(char buf[32], uint64_t ns);
/* s right-aligned in width columns (counting characters, not bytes). */
char *rjust(char buf[64], int width, const char *s);

/* ---- the commands: each returns the exit status ---- */
int cmd_summary(struct trace *t, const struct proc *only, int top);
int cmd_plot(struct trace *t, const struct proc *only, const char *out);
int cmd_replay(struct trace *t, const struct proc *only);

#endif

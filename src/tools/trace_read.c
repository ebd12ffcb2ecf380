/* trace_read.c -- loading a trace file, the pointer table, the model of
 * live memory, and units. */
#include "trace_tool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const call_name[NCALLS] = { "malloc", "calloc", "realloc", "memalign", "free" };

#define HEAD_SIZE 16                /* struct mymalloc_trace_block on disk */
#define REC_SIZE 40                 /* struct mymalloc_trace_record on disk */
_Static_assert(sizeof(struct mymalloc_trace_block) == HEAD_SIZE, "trace block header layout");
_Static_assert(sizeof(struct mymalloc_trace_record) == REC_SIZE, "trace record layout");

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, PROG ": out of memory\n");
        exit(1);
    }
    return p;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

static int bad(const char *path, uint64_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": %s: offset %llu: ", path, (unsigned long long)off);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return -1;
}

struct proc *trace_proc(struct trace *t, uint32_t pid)
{
    for (size_t i = t->nproc; i-- > 0;)     /* the latest first: blocks come in runs */
        if (t->proc[i].pid == pid)
            return &t->proc[i];
    return NULL;
}

static int by_start(const void *a, const void *b)
{
    const struct proc *x = a, *y = b;
    if (!x->cap || !y->cap)
        return !x->cap - !y->cap;
    if (x->t0 != y->t0)
        return x->t0 < y->t0 ? -1 : 1;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Two passes over the mapped file: the first checks every block and counts
 * each process's records, the second decodes them. */
static int parse(const char *path, const unsigned char *d, size_t size, struct trace *t)
{
    if (size == 0)
        return bad(path, 0, "empty file: no trace block (a traced program writes at least one)");
    for (size_t off = 0; off < size;) {
        if (size - off < HEAD_SIZE)
            return bad(path, off, "truncated block header: %zu of %d bytes", size - off, HEAD_SIZE);
        if (memcmp(d + off, "MMTRACE1", 8) != 0)
            return bad(path, off, "bad magic: not a mymalloc trace block (expected \"MMTRACE1\")");
        uint32_t pid = le32(d + off + 8), count = le32(d + off + 12);
        uint64_t need = (uint64_t)count * REC_SIZE;
        const unsigned char *r = d + off + HEAD_SIZE;
        if (need > size - off - HEAD_SIZE)
            return bad(path, off, "truncated block: %u records need %llu bytes, %zu left", count,
                       (unsigned long long)need, size - off - HEAD_SIZE);
        for (uint32_t i = 0; i < count; i++, r += REC_SIZE) {
            if (r[36] >= NCALLS)
                return bad(path, (uint64_t)(r - d), "record %u of the block at offset %zu: unknown call %u",
                           i, off, r[36]);
            if (r[37] > 63)
                return bad(path, (uint64_t)(r - d), "record %u of the block at offset %zu: bad align_log2 %u",
                           i, off, r[37]);
        }
        struct proc *p = trace_proc(t, pid);
        if (!p) {
            t->proc = xrealloc(t->proc, (t->nproc + 1) * sizeof *t->proc);
            p = &t->proc[t->nproc++];
            *p = (struct proc){ .pid = pid };
        }
        p->cap += count;
        p->blocks++;
        t->records += count;
        t->blocks++;
        off += HEAD_SIZE + need;
    }
    for (size_t i = 0; i < t->nproc; i++)
        t->proc[i].rec = xrealloc(NULL, t->proc[i].cap * sizeof(struct rec));
    size_t dropped = 0;
    for (size_t off = 0; off < size;) {
        /* The pages decoded need not stay in memory beside their copy. */
        if (off - dropped >= (64u << 20)) {
            size_t to = off & ~(size_t)0xFFFFF;
            madvise((void *)(uintptr_t)(d + dropped), to - dropped, MADV_DONTNEED);
            dropped = to;
        }
        struct proc *p = trace_proc(t, le32(d + off + 8));
        uint32_t count = le32(d + off + 12);
        const unsigned char *r = d + off + HEAD_SIZE;
        for (uint32_t i = 0; i < count; i++, r += REC_SIZE)
            p->rec[p->n++] = (struct rec){
                .ns = le64(r), .ptr = le64(r + 8), .result = le64(r + 16), .size = le64(r + 24),
                .tid = le32(r + 32), .call = r[36], .align_log2 = r[37],
            };
        off += HEAD_SIZE + (size_t)count * REC_SIZE;
    }
    for (size_t i = 0; i < t->nproc; i++) {
        struct proc *p = &t->proc[i];
        p->t0 = p->n ? UINT64_MAX : 0;
        for (size_t j = 0; j < p->n; j++) {
            p->t0 = p->rec[j].ns < p->t0 ? p->rec[j].ns : p->t0;
            p->t1 = p->rec[j].ns > p->t1 ? p->rec[j].ns : p->t1;
        }
    }
    /* A process writes its last block when it exits, so children often come
     * first in the file: order the processes by their first call instead. */
    qsort(t->proc, t->nproc, sizeof *t->proc, by_start);
    return 0;
}

int trace_load(const char *path, struct trace *t)
{
    *t = (struct trace){ .path = path };
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, PROG ": %s: not a regular file\n", path);
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    void *d = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (d == MAP_FAILED) {
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (d)
        madvise(d, size, MADV_SEQUENTIAL);
    int rc = parse(path, d, size, t);
    if (d)
        munmap(d, size);
    if (rc)
        trace_free(t);
    return rc;
}

void trace_free(struct trace *t)
{
    for (size_t i = 0; i < t->nproc; i++)
        free(t->proc[i].rec);
    free(t->proc);
    t->proc = NULL;
    t->nproc = 0;
}

size_t proc_threads(const struct proc *p)
{
    struct map tids;
    map_init(&tids, 16);
    for (size_t i = 0; i < p->n; i++)
        map_put(&tids, (uint64_t)p->rec[i].tid + 1, 0, NULL);
    size_t n = tids.n;
    map_free(&tids);
    return n;
}

/* ---- the table: linear probing, Fibonacci hashing (pointers are 16-byte
 * aligned, so their low bits say nothing), deletion by shifting back. ---- */

static size_t slot(const struct map *m, uint64_t key)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (m->cap - 1);
}

void map_init(struct map *m, size_t expect)
{
    size_t cap = 16;
    while (cap < expect * 2)
        cap *= 2;
    m->cap = cap;
    m->n = 0;
    m->key = calloc(cap, sizeof *m->key);
    m->val = xrealloc(NULL, cap * sizeof *m->val);
    if (!m->key) {
        fprintf(stderr, PROG ": out of memory\n");
        exit(1);
    }
}

void map_free(struct map *m)
{
    free(m->key);
    free(m->val);
    m->key = m->val = NULL;
    m->cap = m->n = 0;
}

uint64_t *map_get(const struct map *m, uint64_t key)
{
    for (size_t i = slot(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (m->key[i] == key)
            return &m->val[i];
        if (!m->key[i])
            return NULL;
    }
}

static void grow(struct map *m)
{
    struct map old = *m;
    map_init(m, old.cap);
    for (size_t i = 0; i < old.cap; i++)
        if (old.key[i])
            map_put(m, old.key[i], old.val[i], NULL);
    map_free(&old);
}

bool map_put(struct map *m, uint64_t key, uint64_t val, uint64_t *old)
{
    if ((m->n + 1) * 2 > m->cap)
        grow(m);
    size_t i = slot(m, key);
    for (; m->key[i]; i = (i + 1) & (m->cap - 1))
        if (m->key[i] == key) {
            if (old)
                *old = m->val[i];
            m->val[i] = val;
            return true;
        }
    m->key[i] = key;
    m->val[i] = val;
    m->n++;
    return false;
}

bool map_del(struct map *m, uint64_t key, uint64_t *val)
{
    size_t mask = m->cap - 1, i = slot(m, key);
    for (; m->key[i] != key; i = (i + 1) & mask)
        if (!m->key[i])
            return false;
    if (val)
        *val = m->val[i];
    /* Pull back every following entry that may no longer be reachable. */
    for (size_t j = i;;) {
        j = (j + 1) & mask;
        if (!m->key[j])
            break;
        size_t home = slot(m, m->key[j]);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->key[i] = m->key[j];
            m->val[i] = m->val[j];
            i = j;
        }
    }
    m->key[i] = 0;
    m->n--;
    return true;
}

/* ---- live memory ---- */

bool rec_is_alloc(const struct rec *r)
{
    return r->call == MYMALLOC_TRACE_MALLOC || r->call == MYMALLOC_TRACE_CALLOC ||
           r->call == MYMALLOC_TRACE_MEMALIGN || (r->call == MYMALLOC_TRACE_REALLOC && !r->ptr);
}

/* glibc's realloc(p, 0) frees p and returns NULL. */
bool rec_is_free(const struct rec *r)
{
    return r->call == MYMALLOC_TRACE_FREE ||
           (r->call == MYMALLOC_TRACE_REALLOC && r->ptr && !r->size && !r->result);
}

void live_init(struct live *l, size_t expect)
{
    *l = (struct live){ 0 };
    map_init(&l->blocks, expect);
}

void live_free(struct live *l) { map_free(&l->blocks); }

static void add(struct live *l, const struct rec *r)
{
    uint64_t old;
    if (map_put(&l->blocks, r->result, r->size, &old)) {
        l->reused++;                /* its free was not traced: forget the old one */
        l->bytes -= old;
        l->count--;
    }
    l->bytes += r->size;
    l->count++;
}

static bool drop(struct live *l, uint64_t ptr)
{
    uint64_t size;
    if (!map_del(&l->blocks, ptr, &size))
        return false;
    l->bytes -= size;
    l->count--;
    return true;
}

enum effect live_apply(struct live *l, const struct rec *r)
{
    if (rec_is_free(r)) {
        if (!r->ptr)
            return FX_NONE;
        if (drop(l, r->ptr))
            return FX_FREE;
        l->unknown_free++;
        return FX_NONE;
    }
    if (!r->result)
        return FX_FAILED;
    if (rec_is_alloc(r)) {
        add(l, r);
        return FX_ALLOC;
    }
    if (!drop(l, r->ptr))           /* realloc of a block from before the trace */
        l->unknown_realloc++;
    add(l, r);
    return FX_MOVE;
}

/* ---- units ---- */

/* Three significant figures, or the whole number when it is bigger. */
static void fmt_unit(char buf[32], double v, const char *unit)
{
    snprintf(buf, 32, v < 9.995 ? "%.2f %s" : v < 99.95 ? "%.1f %s" : "%.0f %s", v, unit);
}

char *fmt_bytes(char buf[32], uint64_t n)
{
    static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    if (n < 1024) {
        snprintf(buf, 32, "%llu B", (unsigned long long)n);
        return buf;
    }
    double v = (double)n / 1024;
    int u = 0;
    for (; v >= 1023.5 && u < 5; u++)
        v /= 1024;
    fmt_unit(buf, v, unit[u]);
    return buf;
}

char *fmt_ns(char buf[32], uint64_t ns)
{
    if (ns < 1000)
        snprintf(buf, 32, "%llu ns", (unsigned long long)ns);
    else if (ns < 999500)
        fmt_unit(buf, (double)ns / 1e3, "µs");
    else if (ns < 999500000)
        fmt_unit(buf, (double)ns / 1e6, "ms");
    else
        fmt_unit(buf, (double)ns / 1e9, "s");
    return buf;
}

/* s right-aligned in width columns; µ takes two bytes and one column. */
char *rjust(char buf[64], int width, const char *s)
{
    int cols = 0;
    for (const char *c = s; *c; c++)
        cols += ((unsigned char)*c & 0xC0) != 0x80;
    int pad = width > cols ? width - cols : 0;
    snprintf(buf, 64, "%*s%s", pad, "", s);
    return buf;
}

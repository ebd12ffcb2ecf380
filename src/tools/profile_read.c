/* profile_read.c -- a file in massif's format, as profile=FILE writes it
 * (or valgrind --tool=massif): its header, its snapshots and their trees.
 *
 * A snapshot is a block of lines:
 *     #-----------
 *     snapshot=N
 *     #-----------
 *     time=T
 *     mem_heap_B=H
 *     mem_heap_extra_B=E
 *     mem_stacks_B=S
 *     heap_tree=empty|detailed|peak
 * and, for a detailed or peak one, a tree, one node a line, indented one
 * space a level:
 *     n2: 400000 (heap allocation functions) malloc/new/new[], --alloc-fns, etc.
 *      n1: 300000 0x109170: big (peak.c:3)
 *       n0: 300000 0x109206: main (peak.c:8)
 *      n0: 100000 in 3 places, all below massif's threshold (1.00%)
 * "nK" says how many children follow. */
#include "profile_tool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reader {
    FILE *f;
    const char *path;
    char *line;
    size_t cap;
    size_t lineno;
    bool again;                  /* the current line is read again */
};

static bool next_line(struct reader *r)
{
    if (r->again) {
        r->again = false;
        return true;
    }
    ssize_t n = getline(&r->line, &r->cap, r->f);
    if (n < 0)
        return false;
    while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r'))
        r->line[--n] = '\0';
    r->lineno++;
    return true;
}

static int bad(const struct reader *r, const char *what)
{
    fprintf(stderr, PROG ": %s:%zu: %s\n", r->path, r->lineno, what);
    return -1;
}

static void *grow_array(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap * 2 : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(p, c * size);
    if (!q) {
        perror(PROG);
        exit(1);
    }
    *cap = c;
    return q;
}

static char *dup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        perror(PROG);
        exit(1);
    }
    return d;
}

/* "key=value" with this key: the value, or NULL. */
static const char *value_of(const char *line, const char *key)
{
    size_t n = strlen(key);
    return !strncmp(line, key, n) && line[n] == '=' ? line + n + 1 : NULL;
}

static bool number(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

/* One node at depth `depth` and its children, from the current line. */
static struct pnode *read_node(struct reader *r, int depth, struct pnode *parent, int *err)
{
    const char *s = r->line;
    int spaces = 0;
    while (s[spaces] == ' ')
        spaces++;
    if (spaces != depth) {
        *err = bad(r, "a node of the tree is not where its parent's count says");
        return NULL;
    }
    s += spaces;
    unsigned long kids;
    long long bytes;
    int used = 0;
    if (sscanf(s, "n%lu: %lld %n", &kids, &bytes, &used) != 2 || !used) {
        *err = bad(r, "not a node of a tree (nK: BYTES ...)");
        return NULL;
    }
    struct pnode *n = calloc(1, sizeof *n);
    if (!n) {
        perror(PROG);
        exit(1);
    }
    n->parent = parent;
    n->bytes = bytes;
    const char *rest = s + used;
    unsigned long places;
    if (depth == 0) {
        n->label = dup(rest);
    } else if (sscanf(rest, "in %lu place", &places) == 1) {
        n->places = places;
        n->label = dup(rest);
    } else {
        const char *colon = strstr(rest, ": ");
        if (!strncmp(rest, "0x", 2) && colon) {
            n->addr = strtoull(rest, NULL, 16);
            rest = colon + 2;
        }
        n->label = dup(rest);
    }
    n->kids = kids ? calloc(kids, sizeof *n->kids) : NULL;
    if (kids && !n->kids) {
        perror(PROG);
        exit(1);
    }
    for (unsigned long k = 0; k < kids; k++) {
        if (!next_line(r)) {
            *err = bad(r, "the file ends inside a tree");
            return n;
        }
        n->kids[n->nkids] = read_node(r, depth + 1, n, err);
        if (!n->kids[n->nkids])
            return n;
        n->nkids++;
        if (*err)
            return n;
    }
    return n;
}

static void free_node(struct pnode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        free_node(n->kids[i]);
    free(n->kids);
    free(n->label);
    free(n);
}

int profile_load(const char *path, struct profile *p)
{
    memset(p, 0, sizeof *p);
    p->path = path;
    struct reader r = { .path = path };
    r.f = fopen(path, "r");
    if (!r.f) {
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
        return -1;
    }
    int err = 0;
    size_t cap = 0;
    struct psnap *cur = NULL;
    while (!err && next_line(&r)) {
        const char *l = r.line, *v;
        if ((v = value_of(l, "snapshot")) != NULL) {
            p->snap = grow_array(p->snap, &cap, p->n + 1, sizeof *p->snap);
            cur = &p->snap[p->n++];
            memset(cur, 0, sizeof *cur);
            int64_t num = 0;
            if (!number(v, &num))
                err = bad(&r, "a bad snapshot number");
            cur->number = (size_t)num;
        } else if (!cur && !strncmp(l, "desc: ", 6)) {
            p->desc = dup(l + 6);
        } else if (!cur && !strncmp(l, "cmd: ", 5)) {
            p->cmd = dup(l + 5);
        } else if (!cur && !strncmp(l, "time_unit: ", 11)) {
            p->time_unit = dup(l + 11);
        } else if (cur && (v = value_of(l, "time"))) {
            int64_t t = 0;
            if (!number(v, &t))
                err = bad(&r, "a bad time");
            cur->time = (uint64_t)t;
        } else if (cur && (v = value_of(l, "mem_heap_B"))) {
            if (!number(v, &cur->heap))
                err = bad(&r, "a bad mem_heap_B");
        } else if (cur && (v = value_of(l, "mem_heap_extra_B"))) {
            if (!number(v, &cur->extra))
                err = bad(&r, "a bad mem_heap_extra_B");
        } else if (cur && (v = value_of(l, "heap_tree"))) {
            cur->kind = !strcmp(v, "peak") ? SNAP_PEAK : !strcmp(v, "detailed") ? SNAP_DETAILED : SNAP_EMPTY;
            if (cur->kind != SNAP_EMPTY) {
                if (!next_line(&r)) {
                    err = bad(&r, "the file ends before a tree");
                    break;
                }
                cur->tree = read_node(&r, 0, NULL, &err);
            }
        }
        /* other lines (mem_stacks_B, the separators) say nothing needed */
    }
    if (r.f)
        fclose(r.f);
    free(r.line);
    if (!err && !p->n) {
        fprintf(stderr, PROG ": %s: no snapshot: not a profile (massif's format)\n", path);
        err = -1;
    }
    if (err) {
        profile_free(p);
        return -1;
    }
    return 0;
}

void profile_free(struct profile *p)
{
    for (size_t i = 0; i < p->n; i++)
        free_node(p->snap[i].tree);
    free(p->snap);
    free(p->desc);
    free(p->cmd);
    free(p->time_unit);
    memset(p, 0, sizeof *p);
}

const struct psnap *profile_peak(const struct profile *p)
{
    const struct psnap *best = NULL;
    for (size_t i = 0; i < p->n; i++)
        if (p->snap[i].kind == SNAP_PEAK)
            return &p->snap[i];
    for (size_t i = 0; i < p->n; i++)
        if (p->snap[i].tree && (!best || p->snap[i].heap > best->heap))
            best = &p->snap[i];
    return best;
}

/* "fn (file:line)" -> "fn": the function, without the place in parentheses
 * at the end (a C++ name keeps its own parentheses), nor an offset in it. */
size_t frame_name(const char *label, char *out, size_t cap)
{
    size_t n = strlen(label);
    if (n && label[n - 1] == ')') {
        int depth = 0;
        for (size_t i = n; i-- > 0;) {
            if (label[i] == ')')
                depth++;
            else if (label[i] == '(' && --depth == 0) {
                if (i > 0 && label[i - 1] == ' ')
                    n = i - 1;
                break;
            }
        }
    }
    /* "fn+0x1c", as the library writes a frame the runner did not name */
    size_t k = n;
    while (k > 0 && strchr("0123456789abcdef", label[k - 1]))
        k--;
    if (k >= 3 && k < n && label[k - 1] == 'x' && label[k - 2] == '0' && label[k - 3] == '+')
        n = k - 3;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, label, n);
    out[n] = '\0';
    return n;
}

static void add_site(struct psite **v, size_t *n, size_t *cap, const struct pnode *leaf, int64_t bytes)
{
    *v = grow_array(*v, cap, *n + 1, sizeof **v);
    (*v)[(*n)++] = (struct psite){ leaf, bytes };
}

static void collect(const struct pnode *n, struct psite **v, size_t *count, size_t *cap)
{
    int64_t kids = 0;
    for (size_t i = 0; i < n->nkids; i++) {
        kids += n->kids[i]->bytes;
        collect(n->kids[i], v, count, cap);
    }
    /* a node whose stack ends there (no child), or holds more than its
     * children (stacks that end there and stacks that go on) */
    if (n->parent && n->bytes > kids && n->bytes - kids > 0)
        add_site(v, count, cap, n, n->bytes - kids);
}

static int by_bytes(const void *a, const void *b)
{
    const struct psite *x = a, *y = b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

size_t profile_sites(const struct pnode *root, struct psite **out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    if (root)
        collect(root, out, &n, &cap);
    if (n)
        qsort(*out, n, sizeof **out, by_bytes);
    return n;
}

/* profile_print.c -- `mymalloc-trace profile FILE`: the sites that hold the
 * heap at its peak, most first, each with its stack (what heaptrack_print
 * calls the peak memory consumers); `--folded`: the peak's stacks, one a
 * line, outermost frame first, with their bytes ("main;parse;xmalloc
 * 4096"), for flamegraph.pl, speedscope and inferno. */
#include "profile_tool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1234567 -> "1,234,567" */
static const char *grouped(int64_t v, char *buf, size_t cap)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
    size_t o = 0;
    if (v < 0 && o + 1 < cap)
        buf[o++] = '-';
    for (int i = 0; i < n && o + 2 < cap; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

/* The frames of a site, innermost first: from the root's child down. */
static size_t frames_of(const struct pnode *leaf, const struct pnode **out, size_t cap)
{
    size_t n = 0;
    for (const struct pnode *x = leaf; x && x->parent; x = x->parent)
        n++;
    size_t k = n < cap ? n : cap, i = n;
    for (const struct pnode *x = leaf; x && x->parent; x = x->parent)
        if (--i < k)
            out[i] = x;
    return k;
}

static const char *frame_text(const struct pnode *n, char *buf, size_t cap)
{
    if (n->places)
        snprintf(buf, cap, "(%lu place%s below the threshold)", n->places, n->places == 1 ? "" : "s");
    else
        snprintf(buf, cap, "%s", n->label);
    return buf;
}

int profile_table(const struct profile *p, unsigned long top)
{
    const struct psnap *s = profile_peak(p);
    char a[32], b[32], c[32];
    printf("%s: %s\n", p->path, p->cmd ? p->cmd : "(no command)");
    if (!s) {
        printf("no detailed snapshot: the heap was never in use\n");
        return 0;
    }
    printf("peak: %s bytes asked for (and %s of overhead), at time %s %s, snapshot %zu of %zu\n",
           grouped(s->heap, a, sizeof a), grouped(s->extra, b, sizeof b), grouped((int64_t)s->time, c, sizeof c),
           p->time_unit ? p->time_unit : "", s->number, p->n);
    struct psite *sites;
    size_t n = profile_sites(s->tree, &sites);
    printf("\n%16s  %7s  %s\n", "bytes at peak", "share", "site, innermost frame first");
    int64_t shown = 0;
    size_t i = 0;
    for (; i < n && i < top; i++) {
        const struct pnode *fr[256];
        size_t k = frames_of(sites[i].node, fr, 256);
        char text[1024];
        printf("%16s  %6.2f%%", grouped(sites[i].bytes, a, sizeof a),
               s->heap ? 100.0 * (double)sites[i].bytes / (double)s->heap : 0.0);
        for (size_t j = 0; j < k; j++)
            printf("%s%s\n", j ? "                             " : "  ", frame_text(fr[j], text, sizeof text));
        if (!k)
            printf("  (no stack)\n");
        shown += sites[i].bytes;
    }
    if (i < n)
        printf("%16s  %6.2f%%  in %zu more site%s\n", grouped(s->heap - shown, a, sizeof a),
               s->heap ? 100.0 * (double)(s->heap - shown) / (double)s->heap : 0.0, n - i, n - i == 1 ? "" : "s");
    free(sites);
    return 0;
}

int profile_folded(const struct profile *p)
{
    const struct psnap *s = profile_peak(p);
    if (!s)
        return 0;
    struct psite *sites;
    size_t n = profile_sites(s->tree, &sites);
    for (size_t i = 0; i < n; i++) {
        const struct pnode *fr[256];
        size_t k = frames_of(sites[i].node, fr, 256);
        for (size_t j = k; j-- > 0;) {
            char name[1024];
            if (fr[j]->places)
                snprintf(name, sizeof name, "[%lu place%s below the threshold]", fr[j]->places,
                         fr[j]->places == 1 ? "" : "s");
            else
                frame_name(fr[j]->label, name, sizeof name);
            for (char *x = name; *x; x++)
                if (*x == ';')
                    *x = ',';    /* the separator */
            printf("%s%s", name, j ? ";" : "");
        }
        printf(" %lld\n", (long long)sites[i].bytes);
    }
    free(sites);
    return 0;
}

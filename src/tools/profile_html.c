/* profile_html.c -- `mymalloc-trace profile --html=OUT FILE`: one page that
 * needs nothing from the network, in SVG that any browser draws:
 *   - the heap over time, stacked by the sites that hold most at the peak
 *     (the rest in one band), from every detailed snapshot;
 *   - a flame graph of the peak: the outermost frames at the bottom, each
 *     frame as wide as the bytes of the stacks through it; a click on a
 *     frame zooms on it, a click on the bottom bar zooms back out;
 *   - the table of the sites at the peak, with their stacks.
 * The drawings are in the page as written; the script only zooms, and marks
 * the page (data-ready) once it has run. */
#include "profile_tool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHART_W 960
#define CHART_H 300
#define FRAME_H 17

static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void human(int64_t v, char *buf, size_t cap)
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double d = (double)v;
    int u = 0;
    while ((d >= 1024 || d <= -1024) && u < 4) {
        d /= 1024;
        u++;
    }
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", d, unit[u]);
}

/* The colour of band t of the chart; the last (the rest) is grey. */
static void band_color(size_t t, size_t ntop, char *buf, size_t cap)
{
    if (t == ntop)
        snprintf(buf, cap, "#bbb");
    else
        snprintf(buf, cap, "hsl(%u,60%%,62%%)", (unsigned)(t * 47 % 360));
}

/* A site's key: the labels of its frames from the root's child down, so
 * that the same stack is the same site in every snapshot. */
static char *site_key(const struct pnode *leaf)
{
    size_t len = 1;
    for (const struct pnode *x = leaf; x && x->parent; x = x->parent)
        len += strlen(x->label) + 1;
    char *k = malloc(len);
    if (!k) {
        perror(PROG);
        exit(1);
    }
    k[0] = '\0';
    for (const struct pnode *x = leaf; x && x->parent; x = x->parent) {
        strcat(k, x->label);
        strcat(k, "\x1f");
    }
    return k;
}

/* A site's name in the legend: its innermost frame, and the one that
 * called it ("xmalloc <- parse"). */
static void site_title(const struct pnode *leaf, char *buf, size_t cap)
{
    const struct pnode *in = leaf, *next = NULL;
    while (in->parent && in->parent->parent) {
        next = in;
        in = in->parent;
    }
    char a[512], b[512];
    if (in->places)
        snprintf(a, sizeof a, "(%lu places below the threshold)", in->places);
    else
        frame_name(in->label, a, sizeof a);
    if (!next) {
        snprintf(buf, cap, "%s", a);
        return;
    }
    if (next->places)
        snprintf(b, sizeof b, "(%lu places)", next->places);
    else
        frame_name(next->label, b, sizeof b);
    snprintf(buf, cap, "%s \u2190 %s", a, b);
}

/* ---- the flame graph: a trie of the peak's stacks, outermost first ---- */

#define CHAR_W 6.7               /* a character of the frames' font, in pixels */

/* As much of a name as fits in a frame `width` pixels wide ("..." at the
 * end when cut; nothing when not three characters fit). */
static void put_fitted(FILE *f, const char *name, double width)
{
    int fit = (int)((width - 6) / CHAR_W);
    size_t n = strlen(name);
    if (fit < 3)
        return;
    if (n <= (size_t)fit) {
        put_escaped(f, name);
        return;
    }
    char cut[1024];
    size_t k = (size_t)fit - 2 < sizeof cut - 3 ? (size_t)fit - 2 : sizeof cut - 3;
    memcpy(cut, name, k);
    memcpy(cut + k, "..", 3);
    put_escaped(f, cut);
}

struct fnode {
    char *name;
    int64_t bytes;
    struct fnode *kid, *next;
};

static struct fnode *fchild(struct fnode *n, const char *name)
{
    for (struct fnode *c = n->kid; c; c = c->next)
        if (!strcmp(c->name, name))
            return c;
    struct fnode *c = calloc(1, sizeof *c);
    if (!c || !(c->name = strdup(name))) {
        perror(PROG);
        exit(1);
    }
    c->next = n->kid;
    n->kid = c;
    return c;
}

static void ffree(struct fnode *n)
{
    while (n) {
        struct fnode *next = n->next;
        ffree(n->kid);
        free(n->name);
        free(n);
        n = next;
    }
}

static int fdepth(const struct fnode *n)
{
    int d = 0;
    for (const struct fnode *c = n->kid; c; c = c->next) {
        int k = fdepth(c);
        if (k > d)
            d = k;
    }
    return d + 1;
}

/* Writes node n at x (a fraction of the width), depth d, and its children;
 * the root's total is `all`. */
static void fdraw(FILE *f, const struct fnode *n, double x, int d, int height, int64_t all)
{
    double w = all ? (double)n->bytes / (double)all : 0;
    char h[32];
    human(n->bytes, h, sizeof h);
    double y = (double)(height - d - 1) * FRAME_H;
    unsigned hue = 0;
    for (const char *s = n->name; *s; s++)
        hue = hue * 31 + (unsigned char)*s;
    fprintf(f, "<g class=\"frame\" data-x=\"%.9f\" data-w=\"%.9f\"><title>", x, w);
    put_escaped(f, n->name);
    fprintf(f, " (%s, %.2f%%)</title><rect x=\"%.3f\" y=\"%.1f\" width=\"%.3f\" height=\"%d\" fill=\"hsl(%u,70%%,%u%%)\"/>",
            h, 100 * w, x * CHART_W, y, w * CHART_W, FRAME_H - 1, 10 + hue % 40, 55 + hue % 15);
    fprintf(f, "<text x=\"%.3f\" y=\"%.1f\">", x * CHART_W + 3, y + FRAME_H - 5);
    put_fitted(f, n->name, w * CHART_W);
    fputs("</text></g>\n", f);
    double at = x;
    for (const struct fnode *c = n->kid; c; c = c->next) {
        fdraw(f, c, at, d + 1, height, all);
        at += all ? (double)c->bytes / (double)all : 0;
    }
}

/* Children by bytes, most first, so that the graph reads left to right. */
static void fsort(struct fnode *n)
{
    size_t k = 0;
    for (struct fnode *c = n->kid; c; c = c->next)
        k++;
    if (k > 1) {
        struct fnode **v = malloc(k * sizeof *v);
        if (!v) {
            perror(PROG);
            exit(1);
        }
        size_t i = 0;
        for (struct fnode *c = n->kid; c; c = c->next)
            v[i++] = c;
        for (size_t a = 1; a < k; a++)
            for (size_t b = a; b > 0 && v[b]->bytes > v[b - 1]->bytes; b--) {
                struct fnode *t = v[b];
                v[b] = v[b - 1];
                v[b - 1] = t;
            }
        for (i = 0; i + 1 < k; i++)
            v[i]->next = v[i + 1];
        v[k - 1]->next = NULL;
        n->kid = v[0];
        free(v);
    }
    for (struct fnode *c = n->kid; c; c = c->next)
        fsort(c);
}

static const char style[] =
    "body{font:14px sans-serif;margin:20px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}"
    "svg text{font:11px monospace;pointer-events:none}.frame{cursor:pointer}.frame:hover rect{stroke:#000}"
    "table{border-collapse:collapse}td,th{padding:2px 8px;vertical-align:top;text-align:left}"
    "td.n{text-align:right;white-space:nowrap}tr{border-top:1px solid #ddd}"
    ".stack{font:12px monospace;white-space:pre}.key{display:inline-block;width:10px;height:10px;"
    "margin-right:4px}\n";

/* Zoom: a click on a frame spreads it over the whole width; the frames
 * outside it are hidden, those below it stay full width. */
static const char script[] =
    "(function(){\n"
    "var W=" "%d" ",svg=document.getElementById('flame');\n"
    "if(!svg){document.body.dataset.ready='1';return;}\n"
    "var frames=Array.prototype.slice.call(svg.querySelectorAll('g.frame'));\n"
    "function zoom(x0,w0){frames.forEach(function(g){\n"
    " var x=+g.dataset.x,w=+g.dataset.w,r=g.querySelector('rect'),t=g.querySelector('text');\n"
    " var nx=(x-x0)/w0,nw=w/w0;\n"
    " if(nx+nw<=1e-9||nx>=1-1e-9){g.style.display='none';return;}\n"
    " g.style.display='';var a=Math.max(nx,0),b=Math.min(nx+nw,1);\n"
    " r.setAttribute('x',a*W);r.setAttribute('width',(b-a)*W);t.setAttribute('x',a*W+3);\n"
    " var name=g.querySelector('title').textContent.replace(/ \\([^()]*\\)$/,'');\n"
    " var fit=Math.floor(((b-a)*W-6)/%g);\n"
    " t.textContent=fit<3?'':name.length<=fit?name:name.slice(0,fit-2)+'..';});}\n"
    "frames.forEach(function(g){g.addEventListener('click',function(){\n"
    " zoom(+g.dataset.x,+g.dataset.w||1);});});\n"
    "document.body.dataset.ready='1';\n"
    "})();\n";

int profile_html(const struct profile *p, const char *out_path, unsigned long top)
{
    FILE *f = fopen(out_path, "w");
    if (!f) {
        fprintf(stderr, PROG ": %s: %s\n", out_path, strerror(errno));
        return 1;
    }
    const struct psnap *peak = profile_peak(p);
    struct psite *sites = NULL;
    size_t nsites = peak ? profile_sites(peak->tree, &sites) : 0;
    size_t ntop = nsites < top ? nsites : top;
    char **keys = calloc(ntop + 1, sizeof *keys);
    if (!keys) {
        perror(PROG);
        exit(1);
    }
    for (size_t i = 0; i < ntop; i++)
        keys[i] = site_key(sites[i].node);

    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>mymalloc profile: ", f);
    put_escaped(f, p->cmd ? p->cmd : p->path);
    fprintf(f, "</title>\n<style>%s</style></head>\n<body>\n<h1>Heap profile: ", style);
    put_escaped(f, p->cmd ? p->cmd : "(no command)");
    fputs("</h1>\n<p>", f);
    char a[32], b[32];
    if (peak) {
        human(peak->heap, a, sizeof a);
        human(peak->extra, b, sizeof b);
        fprintf(f, "Peak: <b>%s</b> asked for (and %s of overhead), at time %llu %s (snapshot %zu of %zu).",
                a, b, (unsigned long long)peak->time, p->time_unit ? p->time_unit : "", peak->number, p->n);
    } else {
        fputs("The heap was never in use.", f);
    }
    fputs("</p>\n", f);

    /* ---- the heap over time ---- */
    uint64_t t_max = 1;
    int64_t h_max = 1;
    for (size_t i = 0; i < p->n; i++) {
        if (p->snap[i].time > t_max)
            t_max = p->snap[i].time;
        if (p->snap[i].heap > h_max)
            h_max = p->snap[i].heap;
    }
    /* per snapshot, the bytes of each top site (the last band: the rest) */
    size_t bands = ntop + 1;
    double *v = calloc(p->n * bands, sizeof *v);
    if (!v) {
        perror(PROG);
        exit(1);
    }
    for (size_t i = 0; i < p->n; i++) {
        const struct psnap *s = &p->snap[i];
        double rest = (double)s->heap;
        if (s->tree) {
            struct psite *ss;
            size_t m = profile_sites(s->tree, &ss);
            for (size_t j = 0; j < m; j++) {
                char *k = site_key(ss[j].node);
                for (size_t t = 0; t < ntop; t++)
                    if (!strcmp(k, keys[t])) {
                        v[i * bands + t] += (double)ss[j].bytes;
                        rest -= (double)ss[j].bytes;
                        break;
                    }
                free(k);
            }
            free(ss);
        }
        v[i * bands + ntop] = rest > 0 ? rest : 0;
    }
    human(h_max, a, sizeof a);
    fprintf(f, "<h2>The heap over time</h2>\n<svg id=\"timeline\" width=\"%d\" height=\"%d\" "
               "xmlns=\"http://www.w3.org/2000/svg\">\n", CHART_W + 80, CHART_H + 40);
    fprintf(f, "<text x=\"0\" y=\"12\">%s</text><text x=\"0\" y=\"%d\">0</text>\n", a, CHART_H + 10);
    fprintf(f, "<text x=\"70\" y=\"%d\">time (%s) &#8594; %llu</text>\n", CHART_H + 30,
            p->time_unit ? p->time_unit : "", (unsigned long long)t_max);
    for (size_t band = bands; band-- > 0;) {
        /* the band's top edge left to right, then its bottom edge back */
        char color[32];
        band_color(band, ntop, color, sizeof color);
        fprintf(f, "<polygon class=\"band\" fill=\"%s\" data-site=\"%zu\" points=\"", color, band);
        for (size_t i = 0; i < p->n; i++) {
            double top_v = 0;
            for (size_t t = 0; t <= band; t++)
                top_v += v[i * bands + t];
            fprintf(f, "%.1f,%.1f ", 70 + (double)p->snap[i].time / (double)t_max * CHART_W,
                    CHART_H - top_v / (double)h_max * CHART_H);
        }
        for (size_t i = p->n; i-- > 0;) {
            double bottom_v = 0;
            for (size_t t = 0; t < band; t++)
                bottom_v += v[i * bands + t];
            fprintf(f, "%.1f,%.1f ", 70 + (double)p->snap[i].time / (double)t_max * CHART_W,
                    CHART_H - bottom_v / (double)h_max * CHART_H);
        }
        fputs("\"/>\n", f);
    }
    fputs("</svg>\n<p>", f);
    for (size_t t = 0; t < bands; t++) {
        char name[1100];
        if (t < ntop)
            site_title(sites[t].node, name, sizeof name);
        char color[32];
        band_color(t, ntop, color, sizeof color);
        fprintf(f, "<span class=\"key\" style=\"background:%s\"></span>", color);
        put_escaped(f, t < ntop ? name : "the rest");
        fputs(t + 1 < bands ? " &#160; " : "", f);
    }
    fputs("</p>\n", f);
    free(v);

    /* ---- the flame graph of the peak ---- */
    if (peak && nsites) {
        struct fnode root = { .name = "all" };
        for (size_t i = 0; i < nsites; i++) {
            const struct pnode *fr[256];
            size_t k = 0;
            for (const struct pnode *x = sites[i].node; x && x->parent && k < 256; x = x->parent)
                fr[k++] = x;   /* outermost first */
            struct fnode *n = &root;
            root.bytes += sites[i].bytes;
            for (size_t j = 0; j < k; j++) {
                char name[1024];
                if (fr[j]->places)
                    snprintf(name, sizeof name, "[%lu places below the threshold]", fr[j]->places);
                else
                    frame_name(fr[j]->label, name, sizeof name);
                n = fchild(n, name);
                n->bytes += sites[i].bytes;
            }
        }
        fsort(&root);
        int height = fdepth(&root);
        fprintf(f, "<h2>At the peak: a flame graph</h2>\n<p>Each frame is as wide as the bytes of the stacks "
                   "through it, the outermost at the bottom. A click zooms on a frame; a click on the "
                   "bottom bar zooms out.</p>\n<svg id=\"flame\" width=\"%d\" height=\"%d\" "
                   "xmlns=\"http://www.w3.org/2000/svg\">\n",
                CHART_W, height * FRAME_H);
        fdraw(f, &root, 0, 0, height, root.bytes);
        fputs("</svg>\n", f);
        ffree(root.kid);
    }

    /* ---- the table ---- */
    if (peak) {
        fputs("<h2>The sites at the peak</h2>\n<table id=\"sites\">\n<tr><th>bytes</th><th>share</th>"
              "<th>stack, innermost frame first</th></tr>\n",
              f);
        for (size_t i = 0; i < ntop; i++) {
            human(sites[i].bytes, a, sizeof a);
            fprintf(f, "<tr><td class=\"n\">%s</td><td class=\"n\">%.2f%%</td><td class=\"stack\">", a,
                    peak->heap ? 100.0 * (double)sites[i].bytes / (double)peak->heap : 0.0);
            const struct pnode *fr[256];
            size_t k = 0;
            for (const struct pnode *x = sites[i].node; x && x->parent && k < 256; x = x->parent)
                fr[k++] = x;
            for (size_t j = k; j-- > 0;) {
                if (fr[j]->places)
                    fprintf(f, "(%lu places below the threshold)", fr[j]->places);
                else
                    put_escaped(f, fr[j]->label);
                fputs(j ? "\n" : "", f);
            }
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    fputs("<script>\n", f);
    fprintf(f, script, CHART_W, CHAR_W);
    fputs("</script>\n</body></html>\n", f);
    for (size_t i = 0; i < ntop; i++)
        free(keys[i]);
    free(keys);
    free(sites);
    if (fclose(f) != 0) {
        fprintf(stderr, PROG ": %s: %s\n", out_path, strerror(errno));
        return 1;
    }
    return 0;
}

/* trace_plot.c -- `mymalloc-trace plot`: live bytes and live blocks over
 * time, as two charts in one SVG.
 *
 * A trace of a few thousand calls is drawn exactly, as steps. A longer one
 * is cut into BUCKETS slices of equal time and each slice is drawn at the
 * highest value it reached, so a file of millions of records still makes a
 * small SVG and no peak is lost. */
#include "trace_tool.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 2000
#define EXACT_MAX 2000              /* up to this many records: every step drawn */

#define W 960
#define H 720
#define LEFT 100                    /* the charts' left and right edges */
#define RIGHT (W - 40)
#define CHART_H 220
#define TOP1 120                    /* live bytes */
#define TOP2 420                    /* live blocks */

#define C_BYTES "#1f77b4"
#define C_BLOCKS "#d9600b"

struct pt {
    double x, bytes, blocks;
};

struct series {
    struct pt *p;
    size_t n, cap;
};

static void add_pt(struct series *s, double x, double bytes, double blocks)
{
    /* A flat run needs only its two ends. */
    if (s->n >= 2 && s->p[s->n - 1].bytes == bytes && s->p[s->n - 1].blocks == blocks &&
        s->p[s->n - 2].bytes == bytes && s->p[s->n - 2].blocks == blocks) {
        s->p[s->n - 1].x = x;
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->p = realloc(s->p, s->cap * sizeof *s->p);
        if (!s->p) {
            fprintf(stderr, PROG ": out of memory\n");
            exit(1);
        }
    }
    s->p[s->n++] = (struct pt){ x, bytes, blocks };
}

struct peak {
    uint64_t bytes, blocks;
    double bytes_x, blocks_x;
};

/* x of record i: its time since the process's first, or its index when
 * all records carry the same time. */
static double pos(const struct proc *p, size_t i, bool by_time)
{
    return by_time ? (double)(p->rec[i].ns - p->t0) : (double)i;
}

static void collect(const struct proc *p, bool by_time, double xmax, struct series *s, struct peak *pk)
{
    struct live l;
    live_init(&l, 1024);
    *pk = (struct peak){ 0 };
    add_pt(s, 0, 0, 0);
    bool exact = p->n <= EXACT_MAX;
    size_t cur = 0;                 /* the bucket being filled */
    uint64_t mb = 0, mc = 0;        /* its highest values so far */
    for (size_t i = 0; i < p->n; i++) {
        double x = pos(p, i, by_time);
        uint64_t b0 = l.bytes, c0 = l.count;
        live_apply(&l, &p->rec[i]);
        if (l.bytes > pk->bytes) {
            pk->bytes = l.bytes;
            pk->bytes_x = x;
        }
        if (l.count > pk->blocks) {
            pk->blocks = l.count;
            pk->blocks_x = x;
        }
        if (exact) {
            if (l.bytes != b0 || l.count != c0) {
                add_pt(s, x, (double)b0, (double)c0);
                add_pt(s, x, (double)l.bytes, (double)l.count);
            }
            continue;
        }
        size_t k = (size_t)(x / xmax * BUCKETS);
        k = k < BUCKETS ? k : BUCKETS - 1;
        for (; cur < k; cur++) {
            add_pt(s, xmax * (double)cur / BUCKETS, (double)mb, (double)mc);
            add_pt(s, xmax * (double)(cur + 1) / BUCKETS, (double)mb, (double)mc);
            mb = b0;                /* where the next bucket starts */
            mc = c0;
        }
        mb = l.bytes > mb ? l.bytes : mb;
        mc = l.count > mc ? l.count : mc;
    }
    if (exact) {
        add_pt(s, xmax, (double)l.bytes, (double)l.count);
    } else {
        for (; cur < BUCKETS; cur++) {
            add_pt(s, xmax * (double)cur / BUCKETS, (double)mb, (double)mc);
            add_pt(s, xmax * (double)(cur + 1) / BUCKETS, (double)mb, (double)mc);
            mb = l.bytes;
            mc = l.count;
        }
        add_pt(s, xmax, (double)l.bytes, (double)l.count);     /* where it ends */
    }
    live_free(&l);
}

/* A round step (1, 2 or 5 times a power of ten) giving about 5 ticks up
 * to max; at least min_step. */
static double nice_step(double max, double min_step)
{
    double raw = max / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;
    double step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
    return step < min_step ? min_step : step;
}

static int decimals(double step)
{
    int d = (int)-floor(log10(step) + 1e-9);
    return d > 0 ? d : 0;
}

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, f);
        }
}

struct axis {
    double max;                     /* in raw units: ns, records, bytes, blocks */
    double unit;                    /* raw units per shown unit */
    const char *name;               /* of the shown unit */
};

static struct axis bytes_axis(uint64_t peak)
{
    static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double unit = 1;
    int u = 0;
    while ((double)peak / unit >= 1024 && u < 4) {
        unit *= 1024;
        u++;
    }
    return (struct axis){ (double)peak, unit, names[u] };
}

static struct axis time_axis(double span, bool by_time)
{
    if (!by_time)
        return (struct axis){ span, 1, "record" };
    if (span >= 1e9)
        return (struct axis){ span, 1e9, "s" };
    if (span >= 1e6)
        return (struct axis){ span, 1e6, "ms" };
    if (span >= 1e3)
        return (struct axis){ span, 1e3, "µs" };
    return (struct axis){ span, 1, "ns" };
}

/* One chart: frame, grid, ticks, the series (0: bytes, 1: blocks), its peak. */
static void chart(FILE *f, int top, const struct series *s, int which, const struct axis *xa,
                  const struct axis *ya, const char *ytitle, const char *colour, double peak_x,
                  const char *peak_label)
{
    int bottom = top + CHART_H, width = RIGHT - LEFT;
    /* The y axis: from 0 to a round value at or above the peak. */
    double ymax_u = ya->max / ya->unit * 1.12;      /* room above the peak for its label */
    double ystep = nice_step(ymax_u > 0 ? ymax_u : 1, ya->unit == 1 ? 1 : 0);
    double ytop_u = ceil(ymax_u / ystep - 1e-9) * ystep;
    if (ytop_u <= 0)
        ytop_u = ystep;
    double ytop = ytop_u * ya->unit;
    double xmax = xa->max > 0 ? xa->max : 1;

    fprintf(f, "<g class=\"chart\">\n");
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fbfbfb\" stroke=\"#888\"/>\n", LEFT, top,
            width, CHART_H);
    int yd = decimals(ystep);
    for (int i = 0;; i++) {
        double v = i * ystep;
        if (v > ytop_u + ystep * 1e-6)
            break;
        double y = bottom - v / ytop_u * CHART_H;
        if (i)
            fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e2e2e2\"/>\n", LEFT, y, RIGHT, y);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#888\"/>\n", LEFT - 5, y, LEFT, y);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"12\">%.*f</text>\n", LEFT - 8, y + 4,
                yd, v);
    }
    double xmax_u = xmax / xa->unit;
    double xstep = nice_step(xmax_u, xa->unit == 1 && strcmp(xa->name, "ns") != 0 ? 1 : 0);
    int xd = decimals(xstep);
    for (int i = 0;; i++) {
        double v = i * xstep;
        if (v > xmax_u * (1 + 1e-9))
            break;
        double x = LEFT + v / xmax_u * width;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#888\"/>\n", x, bottom, x, bottom + 5);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\">%.*f</text>\n", x, bottom + 19,
                xd, v);
    }
    fprintf(f, "<text transform=\"translate(%d %d) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">", 36,
            top + CHART_H / 2);
    xml_text(f, ytitle);
    fprintf(f, "</text>\n");

    /* The series: a line, and a light area under it. */
    fprintf(f, "<polygon fill=\"%s\" fill-opacity=\"0.15\" stroke=\"none\" points=\"", colour);
    for (size_t i = 0; i < s->n; i++) {
        double v = which ? s->p[i].blocks : s->p[i].bytes;
        fprintf(f, "%.1f,%.1f ", LEFT + s->p[i].x / xmax * width, bottom - v / ytop * CHART_H);
    }
    fprintf(f, "%d,%d %d,%d\"/>\n", RIGHT, bottom, LEFT, bottom);
    fprintf(f, "<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" stroke-linejoin=\"round\" "
               "points=\"", which ? "blocks" : "bytes", colour);
    for (size_t i = 0; i < s->n; i++) {
        double v = which ? s->p[i].blocks : s->p[i].bytes;
        fprintf(f, "%.1f,%.1f ", LEFT + s->p[i].x / xmax * width, bottom - v / ytop * CHART_H);
    }
    fprintf(f, "\"/>\n");

    if (ya->max > 0) {
        double px = LEFT + peak_x / xmax * width, py = bottom - ya->max / ytop * CHART_H;
        bool left = px > LEFT + width * 0.6;
        double ty = py - 10 < top + 14 ? top + 14 : py - 10;
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" stroke=\"white\"/>\n", px, py, colour);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"12\" fill=\"#333\">",
                px + (left ? -8 : 8), ty, left ? "end" : "start");
        xml_text(f, peak_label);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "</g>\n");
}

static void legend_item(FILE *f, int x, int y, const char *colour, const char *label)
{
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>\n", x, y - 4, x + 24,
            y - 4, colour);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"13\">%s</text>\n", x + 30, y, label);
}

static int write_svg(FILE *f, const struct trace *t, const struct proc *p)
{
    char a[32], b[32], c[32], line[512];
    bool by_time = p->t1 > p->t0;
    double span = by_time ? (double)(p->t1 - p->t0) : p->n ? (double)(p->n - 1) : 0;
    double xmax = span > 0 ? span : 1;
    struct series s = { 0 };
    struct peak pk;
    collect(p, by_time, xmax, &s, &pk);
    /* A little room after the last call, to show what it left. */
    xmax *= 1.03;
    add_pt(&s, xmax, s.p[s.n - 1].bytes, s.p[s.n - 1].blocks);

    const char *base = strrchr(t->path, '/');
    base = base ? base + 1 : t->path;
    size_t threads = proc_threads(p);

    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n", W, H, W, H);
    fprintf(f, "<title>Live memory: ");
    xml_text(f, base);
    fprintf(f, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");

    fprintf(f, "<text x=\"%d\" y=\"32\" text-anchor=\"middle\" font-size=\"18\" font-weight=\"bold\">Live memory: ",
            W / 2);
    xml_text(f, base);
    fprintf(f, "</text>\n");
    snprintf(line, sizeof line, "process %u: %zu records, %zu thread%s, %s; peak %s in %" PRIu64 " blocks", p->pid,
             p->n, threads, threads == 1 ? "" : "s", by_time ? fmt_ns(a, (uint64_t)span) : "no time elapsed",
             fmt_bytes(b, pk.bytes), pk.blocks);
    fprintf(f, "<text x=\"%d\" y=\"54\" text-anchor=\"middle\" font-size=\"13\" fill=\"#444\">", W / 2);
    xml_text(f, line);
    fprintf(f, "</text>\n");
    if (p->n > EXACT_MAX)
        snprintf(line, sizeof line, "each point is the highest value in 1/%d of the time", BUCKETS);
    else
        snprintf(line, sizeof line, "every call drawn");
    if (t->nproc > 1) {
        size_t len = strlen(line);
        snprintf(line + len, sizeof line - len, "; process %zu of %zu in the file (--pid picks another)",
                 (size_t)(p - t->proc) + 1, t->nproc);
    }
    fprintf(f, "<text x=\"%d\" y=\"74\" text-anchor=\"middle\" font-size=\"12\" fill=\"#666\">", W / 2);
    xml_text(f, line);
    fprintf(f, "</text>\n");

    fprintf(f, "<g class=\"legend\">\n");
    legend_item(f, LEFT, 104, C_BYTES, "live bytes");
    legend_item(f, LEFT + 150, 104, C_BLOCKS, "live blocks");
    fprintf(f, "<circle cx=\"%d\" cy=\"100\" r=\"4\" fill=\"#555\"/>\n", LEFT + 312);
    fprintf(f, "<text x=\"%d\" y=\"104\" font-size=\"13\">peak</text>\n</g>\n", LEFT + 322);

    struct axis xa = time_axis(xmax, by_time);
    struct axis ya = bytes_axis(pk.bytes);
    char ytitle[64], label[128];
    snprintf(ytitle, sizeof ytitle, "live bytes (%s)", ya.name);
    snprintf(label, sizeof label, "peak %s at %s", fmt_bytes(a, pk.bytes),
             by_time ? fmt_ns(b, (uint64_t)pk.bytes_x) : (snprintf(c, sizeof c, "record %.0f", pk.bytes_x + 1), c));
    chart(f, TOP1, &s, 0, &xa, &ya, ytitle, C_BYTES, pk.bytes_x, label);
    struct axis yb = { (double)pk.blocks, 1, "" };
    if (pk.blocks >= 100000000)
        yb = (struct axis){ (double)pk.blocks, 1e6, " (millions)" };
    else if (pk.blocks >= 100000)
        yb = (struct axis){ (double)pk.blocks, 1e3, " (thousands)" };
    snprintf(ytitle, sizeof ytitle, "live blocks%s", yb.name);
    snprintf(label, sizeof label, "peak %" PRIu64 " blocks at %s", pk.blocks,
             by_time ? fmt_ns(b, (uint64_t)pk.blocks_x) : (snprintf(c, sizeof c, "record %.0f", pk.blocks_x + 1), c));
    chart(f, TOP2, &s, 1, &xa, &yb, ytitle, C_BLOCKS, pk.blocks_x, label);

    if (by_time)
        snprintf(line, sizeof line, "time since the process's first traced call (%s)", xa.name);
    else
        snprintf(line, sizeof line, "record (all records carry the same time)");
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"13\">", (LEFT + RIGHT) / 2,
            TOP2 + CHART_H + 44);
    xml_text(f, line);
    fprintf(f, "</text>\n</svg>\n");
    size_t points = s.n;
    free(s.p);
    return (int)(points > 0x7fffffff ? 0x7fffffff : points);
}

int cmd_plot(struct trace *t, const struct proc *only, const char *out)
{
    const struct proc *p = only ? only : &t->proc[0];
    FILE *f = fopen(out, "w");
    if (!f) {
        fprintf(stderr, PROG ": %s: %s\n", out, strerror(errno));
        return 1;
    }
    int points = write_svg(f, t, p);
    if (ferror(f) | (fclose(f) != 0)) {
        fprintf(stderr, PROG ": %s: write error: %s\n", out, strerror(errno));
        return 1;
    }
    printf("%s: live bytes and blocks of process %u, %zu records, %d points a line\n", out, p->pid, p->n, points);
    return 0;
}

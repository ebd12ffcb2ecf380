/* heapmap.c -- heapmap=PATH: an SVG picture of the heap, at exit and, with
 * heapmap_signal=1, on each SIGUSR2.
 *
 * Each segment is a band as wide as the picture, its bytes laid out left to
 * right. A pixel column takes the colour of the state that holds most of
 * its bytes (live, cached, quarantined, free, top), so a heap of millions
 * of chunks still makes a picture of a few hundred rectangles; chunks wide
 * enough to see get an outline of their own. The blocks with a mapping of
 * their own are boxes in a last band, widths by size. A legend and the
 * totals come with it. Written with the project's formatter through
 * write(2); the caller holds the lock. */
#include "debug.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

extern char *program_invocation_short_name;

#define WIDTH  1000      /* the picture */
#define LEFT   20
#define COLS   960       /* pixel columns of a band */
#define BAND   36
#define GAP    50      /* room for the axis under a band and the title of the next */

/* The states of mm_state_of, and the mapped blocks' band. */
enum { FREE = MM_ST_FREE, MAPPED = MM_NSTATES, NSTATES };
static const char *const colour[NSTATES] = { "#d9534f", "#f0ad4e", "#8e44ad", "#5cb85c", "#a3d9a5", "#337ab7" };
static const char *const label[NSTATES] = { "live", "cached (free blocks of pages, thread caches)",
                                           "quarantined (check=1)",
                                           "free", "top (free, at the end)", "own mapping" };
static const char *const short_label[NSTATES] = { "live", "cached", "quarantined", "free", "top",
                                                 "own mappings" };

static int fd;
static char out[8192];
static size_t used;

static void emit(const char *fmt, ...) MM_PRINTF(1, 2);
static void emit(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char line[512];
    size_t n = mm_vfmt(line, sizeof line, fmt, ap);
    va_end(ap);
    if (used + n > sizeof out) {
        if (mm_os_write(fd, out, used) < 0)
            used = 0;
        used = 0;
    }
    memcpy(out + used, line, n);
    used += n;
}

static size_t col_bytes[COLS][NSTATES];
static size_t totals[NSTATES], counts[NSTATES];

/* Spreads size bytes of state st, from offset `from` of a segment of len
 * bytes, over the columns they cover. */
static void spread(size_t from, size_t size, int st, size_t len)
{
    for (size_t at = from; at < from + size;) {
        size_t col = (size_t)((unsigned __int128)at * COLS / len);
        size_t col_end = (size_t)(((unsigned __int128)(col + 1) * len + COLS - 1) / COLS);
        size_t take = (col_end < from + size ? col_end : from + size) - at;
        col_bytes[col < COLS ? col : COLS - 1][st] += take ? take : 1;
        at += take ? take : 1;
    }
}

static void band(const mm_segment *s, int y, int index)
{
    size_t len = (size_t)(s->end - s->base);
    char a[24];
    emit("<text x=\"%d\" y=\"%d\">segment %d: %p to %p, %s, %s</text>\n", LEFT, y - 6, index,
         (void *)s->base, (void *)s->end, mm_bytes(a, len),
         s->kind == MM_SEG_BRK ? "on the program break" : "mmapped");
    memset(col_bytes, 0, sizeof col_bytes);
    mm_chunk *bad;
    for (mm_chunk *c = mm_walk(s, NULL, &bad); c; c = mm_walk(s, c, &bad)) {
        int st = (int)mm_state_of(c);
        size_t from = (size_t)((const char *)c - s->base), size = mm_size(c), live;
        if (st == MM_ST_LIVE && mm_pages_fill(c, &live)) {
            /* a page: its blocks in use live, the rest cached, in proportion */
            spread(from, live, MM_ST_LIVE, len);
            spread(from + live, size - live, MM_ST_CACHED, len);
            totals[MM_ST_LIVE] += live;
            totals[MM_ST_CACHED] += size - live;
            counts[MM_ST_LIVE]++;
            counts[MM_ST_CACHED] += live < size;
            continue;
        }
        totals[st] += size;
        counts[st]++;
        spread(from, size, st, len);
    }
    /* runs of columns with the same majority state */
    for (int x = 0; x < COLS;) {
        int best = FREE;
        for (int st = 0; st < NSTATES; st++)
            if (col_bytes[x][st] > col_bytes[x][best])
                best = st;
        int w = 1;
        for (; x + w < COLS; w++) {
            int b2 = FREE;
            for (int st = 0; st < NSTATES; st++)
                if (col_bytes[x + w][st] > col_bytes[x + w][b2])
                    b2 = st;
            if (b2 != best)
                break;
        }
        emit("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", LEFT + x, y, w, BAND,
             colour[best]);
        x += w;
    }
    /* an axis: offsets into the segment */
    for (int t = 0; t <= 4; t++) {
        int x = LEFT + t * COLS / 4;
        emit("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n", x, y + BAND, x,
             y + BAND + 5);
        emit("<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#333\" text-anchor=\"%s\">+%s</text>\n", x,
             y + BAND + 17, t == 0 ? "start" : t == 4 ? "end" : "middle", mm_bytes(a, len / 4 * (size_t)t));
    }
    if (bad)
        mm_walk_broken("heapmap", bad);
    /* the chunks wide enough to see, as boxes */
    for (mm_chunk *c = mm_walk(s, NULL, &bad); c; c = mm_walk(s, c, &bad)) {
        size_t from = (size_t)((const char *)c - s->base);
        int x0 = (int)((unsigned __int128)from * COLS / len);
        int x1 = (int)((unsigned __int128)(from + mm_size(c)) * COLS / len);
        if (x1 - x0 >= 4)
            emit("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#fff\" "
                 "stroke-width=\"1\"><title>%s, %zu bytes at %p</title></rect>\n",
                 LEFT + x0, y, x1 - x0, BAND, label[mm_state_of(c)], mm_size(c), mm_mem(c));
    }
}

struct mapped { int y; size_t total, x; };

static void sum_mapped(mm_chunk *c, void *arg)
{
    struct mapped *m = arg;
    m->total += c->prev_size + mm_size(c);
    totals[MAPPED] += c->prev_size + mm_size(c);
    counts[MAPPED]++;
}

static void box_mapped(mm_chunk *c, void *arg)
{
    struct mapped *m = arg;
    size_t len = c->prev_size + mm_size(c);
    size_t x0 = (size_t)((unsigned __int128)m->x * COLS / m->total);
    size_t x1 = (size_t)((unsigned __int128)(m->x + len) * COLS / m->total);
    m->x += len;
    emit("<rect x=\"%zu\" y=\"%d\" width=\"%zu\" height=\"%d\" fill=\"%s\" stroke=\"#fff\">"
         "<title>own mapping, %zu bytes at %p</title></rect>\n",
         LEFT + x0, m->y, x1 > x0 ? x1 - x0 : 1, BAND, colour[MAPPED], len, mm_mem(c));
}

static void write_map(void)
{
    int segments = 0;
    for (mm_segment *s = mm_ro.segs; s; s = s->next)
        segments++;
    struct mapped m = { 0, 0, 0 };
    memset(totals, 0, sizeof totals);
    memset(counts, 0, sizeof counts);
    mm_big_each(sum_mapped, &m);
    int height = 110 + (segments + (m.total ? 1 : 0)) * (BAND + GAP) + 60;
    used = 0;
    emit("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
         "font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"13\">\n", WIDTH, height, WIDTH, height);
    emit("<title>mymalloc heap map of %s (pid %d)</title>\n", program_invocation_short_name, (int)getpid());
    emit("<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", WIDTH, height);
    emit("<text x=\"%d\" y=\"28\" font-size=\"18\">Heap of %s (pid %d)</text>\n", LEFT,
         program_invocation_short_name, (int)getpid());
    emit("<text x=\"%d\" y=\"48\" fill=\"#555\">Each band is one segment, its addresses from left to "
         "right; a column is coloured by what holds most of its bytes.</text>\n", LEFT);
    /* legend */
    for (int st = 0, x = LEFT; st < NSTATES; st++) {
        emit("<rect x=\"%d\" y=\"62\" width=\"14\" height=\"14\" fill=\"%s\"/><text x=\"%d\" y=\"74\">"
             "%s</text>\n", x, colour[st], x + 18, label[st]);
        x += 26 + 7 * (int)strlen(label[st]);
    }
    int y = 110, i = 0;
    for (mm_segment *s = mm_ro.segs; s; s = s->next, y += BAND + GAP)
        band(s, y, ++i);
    if (m.total) {
        char a[24];
        emit("<text x=\"%d\" y=\"%d\">own mappings: %zu blocks, %s (widths by size)</text>\n", LEFT, y - 6,
             counts[MAPPED], mm_bytes(a, m.total));
        m.y = y;
        mm_big_each(box_mapped, &m);
        y += BAND + GAP;
    }
    /* totals */
    emit("<text x=\"%d\" y=\"%d\" font-weight=\"bold\">Totals</text>\n", LEFT, y - 10);
    for (int st = 0; st < NSTATES; st++) {
        char a[24];
        emit("<text x=\"%d\" y=\"%d\"><tspan fill=\"%s\">&#9632;</tspan> %s: %s in %zu</text>\n",
             LEFT + (st % 3) * 320, y + 10 + (st / 3) * 20, colour[st], short_label[st],
             mm_bytes(a, totals[st]), counts[st]);
    }
    emit("</svg>\n");
    if (used && mm_os_write(fd, out, used) < 0)
        used = 0;
}

void mm_heapmap_write(void)
{
    if (!mm_opt.heapmap[0])
        return;
    fd = mm_path_open(mm_opt.heapmap, O_TRUNC);
    if (fd < 0) {
        mm_print("mymalloc: heapmap: cannot write %s\n", mm_opt.heapmap);
        return;
    }
    write_map();
    mm_os_close(fd);
}

static bool map_on_signal(void) { return mm_opt.heapmap[0] && mm_opt.heapmap_signal; }
static bool profile_on_signal(void) { return mm_opt.profile[0] && mm_opt.profile_signal; }

/* SIGUSR2: the heap map, the profile, or both, as asked. */
static void on_signal(int sig)
{
    (void)sig;
    int e = errno;
    if (mm_enter()) {
        if (map_on_signal())
            mm_heapmap_write();
        if (profile_on_signal())
            mm_profile_write();
        mm_leave();
    } else {
        mm_print("mymalloc: SIGUSR2 came while this thread was inside the allocator; nothing written "
                 "this time\n");
    }
    errno = e;
}

void mm_heapmap_init(void)
{
    if (!map_on_signal() && !profile_on_signal())
        return;
    struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
}

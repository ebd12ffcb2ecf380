/* suppress.c -- leak_suppressions=FILE: leaks the report leaves out.
 *
 * The file has one pattern a line, as LeakSanitizer's suppressions do:
 * `leak:NAME` or just `NAME`; blank lines and lines starting with # are
 * skipped. A lost block is suppressed when any frame of the stack that
 * allocated it has a function or a module (the file name, or its whole
 * path) that the pattern matches: the pattern is found anywhere in the
 * name, `*` matches any run of characters, and `^` or `$` at the pattern's
 * start or end anchor it there. The file is read at exit, with mm_os_read(2)
 * into a buffer of 64 KiB (the rest is ignored, with a warning). */
#include "debug.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define MAX_PATTERNS 1024

static char text[64 << 10];
static const char *pattern[MAX_PATTERNS];
static size_t npatterns;
static bool loaded;

static void load(void)
{
    loaded = true;
    if (!mm_opt.leak_suppressions[0])
        return;
    int fd = mm_os_open(mm_opt.leak_suppressions, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        mm_print("mymalloc: leaks: cannot read the suppressions in %s\n", mm_opt.leak_suppressions);
        return;
    }
    size_t len = 0;
    ssize_t n;
    while (len < sizeof text - 1 && (n = mm_os_read(fd, text + len, sizeof text - 1 - len)) > 0)
        len += (size_t)n;
    if (len == sizeof text - 1 && mm_os_read(fd, &text[len], 1) > 0)
        mm_print("mymalloc: leaks: %s is longer than %zu bytes; the rest is ignored\n",
                 mm_opt.leak_suppressions, sizeof text - 1);
    mm_os_close(fd);
    text[len] = '\0';
    for (char *line = text; *line && npatterns < MAX_PATTERNS;) {
        char *end = strchrnul(line, '\n'), *next = *end ? end + 1 : end;
        *end = '\0';
        while (*line == ' ' || *line == '\t')
            line++;
        for (char *e = end; e > line && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r');)
            *--e = '\0';
        if (!strncmp(line, "leak:", 5))
            line += 5;
        if (*line && *line != '#')
            pattern[npatterns++] = line;
        line = next;
    }
}

/* Does p (up to pend) match s (up to send) from s's start, with * wildcards,
 * to send when `whole`, else anywhere before it? */
static bool glob(const char *p, const char *pend, const char *s, const char *send, bool whole)
{
    while (p < pend && *p != '*') {
        if (s == send || *p != *s)
            return false;
        p++, s++;
    }
    if (p == pend)
        return !whole || s == send;
    for (p++; ; s++) {         /* a star: try every place the rest could start */
        if (glob(p, pend, s, send, whole))
            return true;
        if (s == send)
            return false;
    }
}

static bool matches(const char *pat, const char *name, size_t len)
{
    const char *pend = pat + strlen(pat);
    bool start = *pat == '^', end = pend > pat + start && pend[-1] == '$';
    pat += start;
    pend -= end;
    if (start)
        return glob(pat, pend, name, name + len, end);
    for (size_t i = 0; i <= len; i++)
        if (glob(pat, pend, name + i, name + len, end))
            return true;
    return false;
}

/* Frame text from mm_symbolize: "name+0x1c (module+0x11c9)" or
 * "(module+0x11c9)". */
static bool frame_matches(uintptr_t pc, const char *pat)
{
    char frame[320];
    mm_symbolize(pc, frame, sizeof frame);
    const char *paren = strrchr(frame, '('), *plus = strchr(frame, '+');
    if (plus && paren && plus < paren && matches(pat, frame, (size_t)(plus - frame)))
        return true;
    uintptr_t off;
    const char *path = mm_module_of(pc - 1, &off);
    if (!path)
        return false;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return matches(pat, base, strlen(base)) || matches(pat, path, strlen(path));
}

bool mm_suppressed(uint32_t site)
{
    if (!loaded)
        load();
    const uintptr_t *pcs;
    int depth = mm_site_frames(site, &pcs);
    for (size_t i = 0; i < npatterns; i++)
        for (int f = 0; f < depth; f++)
            if (frame_matches(pcs[f], pattern[i]))
                return true;
    return false;
}

bool mm_suppressions_any(void)
{
    if (!loaded)
        load();
    return npatterns > 0;
}

/* maps.c -- the process's mappings, as /proc/self/maps lists them, read
 * with read(2) into buffers on the stack: no allocation, no stdio, safe on
 * a signal stack (the unwinder asks where a stack lies; the leak report
 * asks which memory the program can keep pointers in). */
#include "base.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static uintptr_t hex(const char **s, const char *end)
{
    uintptr_t v = 0;
    for (; *s < end; (*s)++) {
        char c = **s;
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16;
        if (d == 16)
            break;
        v = v << 4 | d;
    }
    return v;
}

/* "lo-hi rwxp offset dev inode   name": false when the line is not one. */
static bool parse(const char *s, const char *end, struct mm_map *m)
{
    m->lo = hex(&s, end);
    if (s >= end || *s++ != '-')
        return false;
    m->hi = hex(&s, end);
    if (end - s < 5 || *s++ != ' ')
        return false;
    m->read = s[0] == 'r';
    m->write = s[1] == 'w';
    m->shared = s[3] == 's';
    /* the name begins at the first '/' or '[' after the five fields */
    const char *path = memchr(s, '/', (size_t)(end - s)), *br = memchr(s, '[', (size_t)(end - s));
    m->name = path && (!br || path < br) ? path : br;
    m->name_len = m->name ? (size_t)(end - m->name) : 0;
    return true;
}

bool mm_maps_each(bool (*fn)(const struct mm_map *m, void *arg), void *arg)
{
    int fd = mm_os_open("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return false;
    char buf[1024], line[512];       /* the start of a line is what matters */
    size_t len = 0;
    ssize_t n;
    bool go = true;
    while (go && (n = mm_os_read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n && go; i++) {
            if (buf[i] != '\n') {
                if (len < sizeof line)
                    line[len++] = buf[i];
                continue;
            }
            struct mm_map m;
            if (parse(line, line + len, &m))
                go = fn(&m, arg);
            len = 0;
        }
    }
    mm_os_close(fd);
    return true;
}

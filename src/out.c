/* out.c -- formatted output without stdio.
 *
 * printf and friends may allocate (and take stdio locks), so everything the
 * library prints is formatted here into a buffer on the stack and handed to
 * write(2) in one piece, which also keeps lines from different processes
 * whole. */
#include "mm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where reports go: the log file (log=PATH), or stderr. Reports may come
 * at exit, after the program has closed stderr (ls does), so when a report
 * is asked for, stderr is duplicated to a descriptor of our own at start.
 * Before each write we check that it is still the same file: a program that
 * closed it and opened something else under that number must not get our
 * lines in its file. */
static int own_fd = -1;
static dev_t own_dev;
static ino_t own_ino;

static void keep(int fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return;
    own_fd = fd;
    own_dev = st.st_dev;
    own_ino = st.st_ino;
}

void mm_out_configure(void)
{
    int e = errno;
    if (own_fd >= 0)
        close(own_fd);
    own_fd = -1;
    if (mm_opt.log[0])
        keep(mm_path_open(mm_opt.log, O_APPEND));
    else if (mm_debug || mm_opt.heapmap[0])
        keep(fcntl(2, F_DUPFD_CLOEXEC, 100));
    errno = e;
}

void mm_out_after_fork(void)
{
    if (mm_path_per_process(mm_opt.log))
        mm_out_configure();     /* a log of its own for the child */
}

static int out_fd(void)
{
    struct stat st;
    if (own_fd >= 0 && fstat(own_fd, &st) == 0 && st.st_dev == own_dev && st.st_ino == own_ino)
        return own_fd;
    return 2;
}

void mm_write(const char *s, size_t n)
{
    int e = errno, fd = out_fd();
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        s += w;
        n -= (size_t)w;
    }
    errno = e;
}

/* Expands %p in a path template to the process id. */
static bool expand(char *dst, size_t cap, const char *tmpl)
{
    size_t n = 0;
    for (const char *s = tmpl; *s; s++) {
        if (s[0] == '%' && s[1] == 'p') {
            n += mm_fmt(dst + n, cap - n, "%d", (int)getpid());
            s++;
        } else if (n + 1 < cap) {
            dst[n++] = *s;
        }
        if (n + 1 >= cap)
            return false;
    }
    dst[n] = '\0';
    return true;
}

int mm_path_open(const char *tmpl, int flags)
{
    char path[MM_PATH_MAX + 32];
    if (!expand(path, sizeof path, tmpl)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return open(path, flags | O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
}

int mm_path_writable(const char *tmpl)
{
    int e = errno, fd = mm_path_open(tmpl, O_APPEND), r = fd < 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
    errno = e;
    return r;
}

bool mm_path_per_process(const char *tmpl)
{
    return strstr(tmpl, "%p") != NULL;
}

int mm_path_readable(const char *path)
{
    int e = errno, fd = open(path, O_RDONLY | O_CLOEXEC), r = fd < 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
    errno = e;
    return r;
}

struct sink { char *buf; size_t cap, len; };

static void put(struct sink *o, char c)
{
    if (o->len + 1 < o->cap)
        o->buf[o->len] = c;
    o->len++;
}

static void put_padded(struct sink *o, const char *s, size_t n, int width, bool left, char pad)
{
    int fill = width > (int)n ? width - (int)n : 0;
    if (!left)
        while (fill-- > 0)
            put(o, pad);
    while (n--)
        put(o, *s++);
    if (left)
        while (fill-- > 0)
            put(o, ' ');
}

static size_t utoa(char *end, unsigned long long v, unsigned base)
{
    char *p = end;
    do {
        *--p = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    return (size_t)(end - p);
}

size_t mm_vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct sink o = { buf, cap, 0 };
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        bool left = false;
        char pad = ' ';
        int width = 0, lng = 0;
        for (;; fmt++) {
            if (fmt[1] == '-')
                left = true;
            else if (fmt[1] == '0')
                pad = '0';
            else
                break;
        }
        while (fmt[1] >= '0' && fmt[1] <= '9')
            width = width * 10 + (*++fmt - '0');
        size_t prec = SIZE_MAX;        /* %.Ns and %.*s: at most N characters */
        if (fmt[1] == '.') {
            fmt++;
            if (fmt[1] == '*') {
                fmt++;
                int p = va_arg(ap, int);
                prec = p < 0 ? 0 : (size_t)p;
            } else {
                for (prec = 0; fmt[1] >= '0' && fmt[1] <= '9';)
                    prec = prec * 10 + (size_t)(*++fmt - '0');
            }
        }
        while (fmt[1] == 'l' || fmt[1] == 'z') {
            fmt++;
            lng++;
        }
        char num[24], *end = num + sizeof num;
        unsigned long long u;
        switch (*++fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            put_padded(&o, s, strnlen(s, prec), width, left, ' ');
            break;
        }
        case 'c':
            num[0] = (char)va_arg(ap, int);
            put_padded(&o, num, 1, width, left, ' ');
            break;
        case 'd':
        case 'i': {
            long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);
            size_t n = utoa(end, v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v, 10);
            if (v < 0) {
                *(end - n - 1) = '-';
                n++;
            }
            put_padded(&o, end - n, n, width, left, pad);
            break;
        }
        case 'u':
        case 'x':
            u = lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
            {
                size_t n = utoa(end, u, *fmt == 'x' ? 16 : 10);
                put_padded(&o, end - n, n, width, left, pad);
            }
            break;
        case 'p': {
            size_t n = utoa(end, (uintptr_t)va_arg(ap, void *), 16);
            *(end - n - 1) = 'x';
            *(end - n - 2) = '0';
            put_padded(&o, end - n - 2, n + 2, width, left, ' ');
            break;
        }
        case '%':
            put(&o, '%');
            break;
        default:            /* unknown conversion: print it as it is */
            put(&o, '%');
            if (!*fmt)
                goto done;
            put(&o, *fmt);
        }
    }
done:
    if (cap)
        buf[o.len < cap ? o.len : cap - 1] = '\0';
    return o.len < cap ? o.len : (cap ? cap - 1 : 0);
}

size_t mm_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = mm_vfmt(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

void mm_vline(const char *prefix, const char *fmt, va_list ap)
{
    char buf[512];
    size_t n = mm_fmt(buf, sizeof buf - 1, "%s", prefix);
    n += mm_vfmt(buf + n, sizeof buf - 1 - n, fmt, ap);
    buf[n++] = '\n';
    mm_write(buf, n);
}

void mm_print(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    size_t n = mm_vfmt(buf, sizeof buf, fmt, ap);
    va_end(ap);
    mm_write(buf, n);
}

const char *mm_thousands(char buf[32], size_t n)
{
    char digits[24];
    size_t len = mm_fmt(digits, sizeof digits, "%zu", n), o = 0;
    for (size_t i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

const char *mm_bytes(char buf[24], size_t n)
{
    static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    if (n < 1024) {
        mm_fmt(buf, 24, "%zu B", n);
        return buf;
    }
    /* one decimal, rounded: tenths of the unit */
    int u = 0;
    unsigned long long scale = 1;
    while (u < 4 && n >= scale * 1024) {
        scale *= 1024;
        u++;
    }
    unsigned long long tenths = ((unsigned long long)n * 10 + scale / 2) / scale;
    mm_fmt(buf, 24, "%llu.%llu %s", tenths / 10, tenths % 10, unit[u]);
    return buf;
}

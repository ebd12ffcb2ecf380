/* log.c -- where the library's reports and warnings go.
 *
 * Every line is formatted (fmt.c) into a buffer on the stack and handed to
 * write(2) in one piece, which also keeps lines from different processes
 * whole. */
#include "base.h"

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

static char log_path[MM_PATH_MAX];
static bool keep_stderr_copy;

MM_HOT void mm_log_configure(const char *path, bool keep_stderr)
{
    int e = errno;
    if (own_fd >= 0)
        mm_os_close(own_fd);
    own_fd = -1;
    size_t n = strnlen(path, sizeof log_path - 1);
    memcpy(log_path, path, n);
    log_path[n] = '\0';
    keep_stderr_copy = keep_stderr;
    if (log_path[0])
        keep(mm_path_open(log_path, O_APPEND));
    else if (keep_stderr)
        keep(fcntl(2, F_DUPFD_CLOEXEC, 100));
    errno = e;
}

void mm_log_after_fork(void)
{
    if (mm_path_per_process(log_path))
        mm_log_configure(log_path, keep_stderr_copy);     /* a log of its own for the child */
}

static int out_fd(void)
{
    struct stat st;
    if (own_fd >= 0 && fstat(own_fd, &st) == 0 && st.st_dev == own_dev && st.st_ino == own_ino)
        return own_fd;
    return 2;
}

static void write_all(long (*put)(int, const void *, size_t), const char *s, size_t n)
{
    int e = errno, fd = out_fd();
    while (n > 0) {
        long w = put(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        s += w;
        n -= (size_t)w;
    }
    errno = e;
}

void mm_write(const char *s, size_t n)
{
    write_all(mm_os_write, s, n);
}

static long cancellable_write(int fd, const void *s, size_t n)
{
    return write(fd, s, n);
}

void mm_write_point(const char *s, size_t n)
{
    write_all(cancellable_write, s, n);
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
    return mm_os_open(path, flags | O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
}

int mm_path_writable(const char *tmpl)
{
    int e = errno, fd = mm_path_open(tmpl, O_APPEND), r = fd < 0 ? errno : 0;
    if (fd >= 0)
        mm_os_close(fd);
    errno = e;
    return r;
}

bool mm_path_per_process(const char *tmpl)
{
    return strstr(tmpl, "%p") != NULL;
}

int mm_path_readable(const char *path)
{
    int e = errno, fd = mm_os_open(path, O_RDONLY | O_CLOEXEC, 0), r = fd < 0 ? errno : 0;
    if (fd >= 0)
        mm_os_close(fd);
    errno = e;
    return r;
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

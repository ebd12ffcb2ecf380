/* fmt.c -- formatting without stdio: printf and friends may allocate and
 * take stdio's locks, so everything the library prints is formatted here,
 * into a buffer of the caller's. */
#include "base.h"

#include <string.h>

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

/* A conversion's flags, width, precision and length: what follows '%'. */
struct spec { bool left; char pad; int width, lng; size_t prec; };

/* Reads the spec after the '%' at *fmt, leaving *fmt on the conversion
 * character. */
static struct spec parse_spec(const char **fmt, va_list *ap)
{
    struct spec sp = { false, ' ', 0, 0, SIZE_MAX };   /* prec: %.Ns, %.*s: at most N characters */
    const char *f = *fmt;
    for (;; f++) {
        if (f[1] == '-')
            sp.left = true;
        else if (f[1] == '0')
            sp.pad = '0';
        else
            break;
    }
    while (f[1] >= '0' && f[1] <= '9')
        sp.width = sp.width * 10 + (*++f - '0');
    if (f[1] == '.') {
        f++;
        if (f[1] == '*') {
            f++;
            int p = va_arg(*ap, int);
            sp.prec = p < 0 ? 0 : (size_t)p;
        } else {
            for (sp.prec = 0; f[1] >= '0' && f[1] <= '9';)
                sp.prec = sp.prec * 10 + (size_t)(*++f - '0');
        }
    }
    while (f[1] == 'l' || f[1] == 'z') {
        f++;
        sp.lng++;
    }
    *fmt = f + 1;
    return sp;
}

/* One conversion; false for a '%' at the end of the format. */
static bool convert(struct sink *o, char conv, const struct spec *sp, va_list *ap)
{
    char num[24], *end = num + sizeof num;
    size_t n;
    switch (conv) {
    case 's': {
        const char *s = va_arg(*ap, const char *);
        if (!s)
            s = "(null)";
        put_padded(o, s, strnlen(s, sp->prec), sp->width, sp->left, ' ');
        return true;
    }
    case 'c':
        num[0] = (char)va_arg(*ap, int);
        put_padded(o, num, 1, sp->width, sp->left, ' ');
        return true;
    case 'd':
    case 'i': {
        long long v = sp->lng ? va_arg(*ap, long long) : va_arg(*ap, int);
        n = utoa(end, v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v, 10);
        if (v < 0) {
            *(end - n - 1) = '-';
            n++;
        }
        put_padded(o, end - n, n, sp->width, sp->left, sp->pad);
        return true;
    }
    case 'u':
    case 'x':
        n = utoa(end, sp->lng ? va_arg(*ap, unsigned long long) : va_arg(*ap, unsigned), conv == 'x' ? 16 : 10);
        put_padded(o, end - n, n, sp->width, sp->left, sp->pad);
        return true;
    case 'p':
        n = utoa(end, (uintptr_t)va_arg(*ap, void *), 16);
        *(end - n - 1) = 'x';
        *(end - n - 2) = '0';
        put_padded(o, end - n - 2, n + 2, sp->width, sp->left, ' ');
        return true;
    case '%':
        put(o, '%');
        return true;
    default:            /* unknown conversion: print it as it is */
        put(o, '%');
        if (!conv)
            return false;
        put(o, conv);
        return true;
    }
}

size_t mm_vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct sink o = { buf, cap, 0 };
    va_list args;
    va_copy(args, ap);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        struct spec sp = parse_spec(&fmt, &args);
        if (!convert(&o, *fmt, &sp, &args))
            break;
    }
    va_end(args);
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

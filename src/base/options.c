/* options.c -- MYMALLOC_OPTIONS=name=value:name=value
 *
 * Read straight from environ (getenv may not be safe this early, and the
 * dynamic loader calls malloc before the C library is fully set up). A
 * value that cannot be used gets a warning naming it, and the default. */
#include "base.h"

#include <stddef.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#define MM_OPT_INIT_SIZE(n, d)   .n = d,
#define MM_OPT_INIT_NUM(n, d)    .n = d,
#define MM_OPT_INIT_BOOL(n, d)   .n = d,
#define MM_OPT_INIT_CHOICE(n, d) .n = d,
#define MM_OPT_INIT_PATH(n, d)
#define MM_OPT_INIT_INPUT(n, d)
struct mm_options mm_opt = {
#define DEFAULT(name, kind, def, lo, hi, words, tool, help) MM_OPT_INIT_##kind(name, def)
    MM_OPTIONS(DEFAULT)
#undef DEFAULT
};

enum kind { SIZE, NUM, BOOL, CHOICE, PATH, INPUT };

static const struct option {
    const char *name;
    enum kind kind;
    size_t def, lo, hi;
    const char *words;
    bool tool;                  /* an option of the debugging toolkit */
    size_t offset;
    const char *help;
} table[] = {
#define ROW(name, kind, def, lo, hi, words, tool, help) \
    { #name, kind, def, lo, hi, words, tool, offsetof(struct mm_options, name), help },
    MM_OPTIONS(ROW)
#undef ROW
};
#define NOPTIONS (sizeof table / sizeof table[0])

/* "128K", "1G", "4096": the shortest exact form. */
static const char *size_str(char buf[24], size_t n)
{
    const char *unit = "";
    if (n && n % (1u << 30) == 0)
        n >>= 30, unit = "G";
    else if (n && n % (1u << 20) == 0)
        n >>= 20, unit = "M";
    else if (n && n % (1u << 10) == 0)
        n >>= 10, unit = "K";
    mm_fmt(buf, 24, "%zu%s", n, unit);
    return buf;
}

static bool parse_size(const char *s, size_t len, size_t *out)
{
    size_t v = 0, i = 0;
    if (!len)
        return false;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (SIZE_MAX - 9) / 10)
            return false;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    if (i == 0)
        return false;
    if (i < len) {
        unsigned shift;
        switch (s[i] | 0x20) {
        case 'k': shift = 10; break;
        case 'm': shift = 20; break;
        case 'g': shift = 30; break;
        default: return false;
        }
        if (++i < len && (s[i] | 0x20) == 'b')   /* 64kb, 1MB */
            i++;
        if (i != len || v > SIZE_MAX >> shift)
            return false;
        v <<= shift;
    }
    *out = v;
    return true;
}

static bool parse_num(const char *s, size_t len, size_t *out)
{
    size_t v = 0;
    if (!len)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (SIZE_MAX - 9) / 10)
            return false;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

static bool parse_bool(const char *s, size_t len, size_t *out)
{
    static const char *yes[] = { "1", "true", "yes", "on" }, *no[] = { "0", "false", "no", "off" };
    for (int i = 0; i < 4; i++) {
        if (strlen(yes[i]) == len && !strncmp(s, yes[i], len))
            return *out = 1, true;
        if (strlen(no[i]) == len && !strncmp(s, no[i], len))
            return *out = 0, true;
    }
    return false;
}

/* The n-th word of a CHOICE's "a|b|c", and its length. */
static const char *word(const char *words, size_t n, size_t *len)
{
    for (; n && *words; words++)
        n -= *words == '|';
    *len = strchrnul(words, '|') - words;
    return words;
}

static bool parse_choice(const char *words, const char *s, size_t len, size_t *out)
{
    for (size_t i = 0, wl; *word(words, i, &wl); i++)
        if (wl == len && !strncmp(word(words, i, &wl), s, len))
            return *out = i, true;
    return false;
}

static const char *value_str(char buf[24], const struct option *o, size_t v)
{
    size_t len;
    const char *w;
    switch (o->kind) {
    case SIZE:
        return size_str(buf, v);
    case CHOICE:
        w = word(o->words, v, &len);
        mm_fmt(buf, 24, "%.*s", (int)len, w);
        return buf;
    case PATH:
    case INPUT:
        return !strcmp(o->name, "log") ? "stderr" : "none";
    default:
        mm_fmt(buf, 24, "%zu", v);
        return buf;
    }
}

static void describe(char *buf, size_t cap, const struct option *o)
{
    char lo[24], hi[24];
    if (o->kind == BOOL)
        mm_fmt(buf, cap, "0 or 1");
    else if (o->kind == CHOICE)
        mm_fmt(buf, cap, "one of %s", o->words);
    else if (o->kind == NUM)
        mm_fmt(buf, cap, "a number from %zu to %zu", o->lo, o->hi);
    else if (o->hi >= SIZE_MAX / 2)
        mm_fmt(buf, cap, "a size of at least %s, such as 64K or 2M", size_str(lo, o->lo));
    else
        mm_fmt(buf, cap, "a size from %s to %s, such as 64K or 2M", size_str(lo, o->lo), size_str(hi, o->hi));
}

/* A relative path, made absolute: cwd/path in out (cap bytes). False when
 * it does not fit. getcwd with a buffer of ours does not allocate. */
static bool absolute(char *out, size_t cap, const char *path, size_t len)
{
    size_t n = 0;
    if (path[0] != '/') {
        if (!getcwd(out, cap))
            return false;
        n = strlen(out);
        if (n + 1 >= cap)
            return false;
        if (n && out[n - 1] != '/')
            out[n++] = '/';
    }
    if (n + len >= cap)
        return false;
    memcpy(out + n, path, len);
    out[n + len] = '\0';
    return true;
}

/* A PATH (to write) or INPUT (to read) value: it must fit, and the file
 * must be one we can write, or read. */
static bool set_path(const struct option *o, char *field, const char *val, size_t vlen)
{
    char path[MM_PATH_MAX], def[24];
    if (!vlen) {
        field[0] = '\0';
        return true;
    }
    if (!absolute(path, sizeof path, val, vlen)) {
        mm_print("mymalloc: MYMALLOC_OPTIONS: the path for %s is longer than %d bytes; using the "
                 "default (%s)\n", o->name, MM_PATH_MAX - 1, value_str(def, o, 0));
        return false;
    }
    int e = o->kind == PATH ? mm_path_writable(path) : mm_path_readable(path);
    if (e) {
        mm_print("mymalloc: MYMALLOC_OPTIONS: cannot %s '%s' for %s (%s); using the default "
                 "(%s)\n", o->kind == PATH ? "write to" : "read", path, o->name, strerrordesc_np(e),
                 value_str(def, o, 0));
        field[0] = '\0';
        return false;
    }
    memcpy(field, path, strlen(path) + 1);
    return true;
}

static bool loaded;     /* MYMALLOC_OPTIONS was read */
bool mm_options_thresholds_set;
#ifdef MM_NO_TOOLKIT
bool mm_options_no_toolkit = true;
#else
bool mm_options_no_toolkit;
#endif

/* Options that decide how blocks are laid out or where reports go. */
static bool start_only(const struct option *o)
{
    static const size_t offsets[] = {
        offsetof(struct mm_options, stats), offsetof(struct mm_options, leaks),
        offsetof(struct mm_options, check), offsetof(struct mm_options, trace),
        offsetof(struct mm_options, heapmap), offsetof(struct mm_options, heapmap_signal),
        offsetof(struct mm_options, profile), offsetof(struct mm_options, profile_signal),
        offsetof(struct mm_options, profile_sample),
        offsetof(struct mm_options, guard), offsetof(struct mm_options, guard_side),
        offsetof(struct mm_options, log),
    };
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++)
        if (o->offset == offsets[i])
            return true;
    return false;
}

/* Sets one option; false (after a warning) when it cannot. */
static bool set(const char *name, size_t nlen, const char *val, size_t vlen, bool has_val)
{
    const struct option *o = NULL;
    for (size_t i = 0; i < NOPTIONS; i++)
        if (strlen(table[i].name) == nlen && !strncmp(name, table[i].name, nlen))
            o = &table[i];
    if (!o) {
        mm_print("mymalloc: MYMALLOC_OPTIONS: unknown option '%.*s' ignored (MYMALLOC_OPTIONS=help=1 "
                 "lists them)\n", (int)nlen, name);
        return false;
    }
    char *field = (char *)&mm_opt + o->offset;
    if (o->tool && mm_options_no_toolkit) {
        mm_print("mymalloc: MYMALLOC_OPTIONS: %s needs the debugging toolkit, and this library was "
                 "built without it (-DMYMALLOC_TOOLKIT=OFF); ignored\n", o->name);
        return false;
    }
    if (loaded && start_only(o)) {
        mm_print("mymalloc: %s can only be set at start, in MYMALLOC_OPTIONS; ignored\n", o->name);
        return false;
    }
    if (o->kind == PATH || o->kind == INPUT)
        return set_path(o, field, has_val ? val : "", has_val ? vlen : 0);
    size_t v = 0;
    bool ok = o->kind == SIZE   ? has_val && parse_size(val, vlen, &v)
            : o->kind == NUM    ? has_val && parse_num(val, vlen, &v)
            : o->kind == CHOICE ? (has_val ? parse_choice(o->words, val, vlen, &v) : (v = 1, true))
            : has_val           ? parse_bool(val, vlen, &v)
                                : (v = 1, true);
    if (ok && v >= o->lo && v <= o->hi) {
        *(size_t *)field = v;
        mm_options_thresholds_set |= o->offset == offsetof(struct mm_options, mmap_threshold) ||
                             o->offset == offsetof(struct mm_options, trim_threshold) ||
                             o->offset == offsetof(struct mm_options, top_pad);
        return true;
    }
    char what[96], def[24];
    describe(what, sizeof what, o);
    mm_print("mymalloc: MYMALLOC_OPTIONS: bad value '%.*s' for %s (%s); using the default %s\n",
             (int)vlen, has_val ? val : "", o->name, what, value_str(def, o, o->def));
    *(size_t *)field = o->def;
    return false;
}

static void print_help(void)
{
    mm_print("| option | default | what it does |\n| --- | --- | --- |\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        char def[24];
        mm_print("| `%s` | %s | %s |\n", table[i].name, value_str(def, &table[i], table[i].def),
                 table[i].help);
    }
}

MM_HOT int mm_options_apply(const char *s)
{
    int bad = 0;
    while (s && *s) {
        const char *end = strchrnul(s, ':'), *eq = memchr(s, '=', (size_t)(end - s));
        if (end > s) {
            const char *val = eq ? eq + 1 : end;
            bad += !set(s, (size_t)((eq ? eq : end) - s), val, (size_t)(end - val), eq != NULL);
        }
        s = *end ? end + 1 : end;
    }
    mm_os_faults_reset();
    return bad;
}

static const char *from_environ(void)
{
    static const char key[] MM_QUIET_CONST = "MYMALLOC_OPTIONS=";
    const char *s = NULL;
    for (char **e = environ; e && *e; e++)
        if (!strncmp(*e, key, sizeof key - 1))
            s = *e + sizeof key - 1;
    return s;
}

const char *mm_options_absolute(char *buf, size_t cap)
{
    const char *s = from_environ();
    size_t n = 0;
    bool changed = false;
    while (s && *s) {
        const char *end = strchrnul(s, ':'), *eq = memchr(s, '=', (size_t)(end - s));
        const struct option *o = NULL;
        for (size_t i = 0; eq && i < NOPTIONS; i++)
            if (strlen(table[i].name) == (size_t)(eq - s) && !strncmp(s, table[i].name, (size_t)(eq - s)))
                o = &table[i];
        char piece[MM_PATH_MAX + 64];
        size_t len = (size_t)(end - s);
        if (o && (o->kind == PATH || o->kind == INPUT) && eq + 1 < end && eq[1] != '/' &&
            absolute(piece + (eq + 1 - s), sizeof piece - (size_t)(eq + 1 - s), eq + 1, (size_t)(end - eq - 1))) {
            memcpy(piece, s, (size_t)(eq + 1 - s));
            len = strlen(piece + (eq + 1 - s)) + (size_t)(eq + 1 - s);
            changed = true;
        } else if (len < sizeof piece) {
            memcpy(piece, s, len);
        } else {
            return NULL;
        }
        if (n + len + 2 > cap)
            return NULL;
        if (n)
            buf[n++] = ':';
        memcpy(buf + n, piece, len);
        n += len;
        s = *end ? end + 1 : end;
    }
    buf[n] = '\0';
    return changed ? buf : NULL;
}

bool mm_root = true;

/* MYMALLOC_ROOT names the process that was started (init.c): absent, or
 * this process's pid, this is that process. */
static bool is_root(void)
{
    static const char key[] MM_QUIET_CONST = "MYMALLOC_ROOT=";
    for (char **e = environ; e && *e; e++)
        if (!strncmp(*e, key, sizeof key - 1)) {
            size_t pid;
            const char *v = *e + sizeof key - 1;
            return !parse_num(v, strlen(v), &pid) || pid == (size_t)mm_os_pid();
        }
    return true;
}

size_t mm_options_clamp(const char *name, size_t v)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (!strcmp(table[i].name, name))
            return v < table[i].lo ? table[i].lo : v > table[i].hi ? table[i].hi : v;
    return v;
}

void mm_options_after_fork(void)
{
    mm_root = false;
}

bool mm_options_loaded(void)
{
    return __atomic_load_n(&loaded, __ATOMIC_RELAXED);
}

MM_HOT bool mm_options_load(void)
{
    if (loaded || !environ)
        return loaded;  /* too early: the constructor will come back */
    mm_options_apply(from_environ());
    loaded = true;
    mm_root = is_root();
    if (!mm_root && !mm_opt.children) {
        /* a program the started one ran: not checked (children=0) */
        mm_opt.stats = mm_opt.leaks = mm_opt.check = mm_opt.guard = 0;
        mm_opt.trace[0] = mm_opt.heapmap[0] = mm_opt.profile[0] = '\0';
    }
    if (mm_opt.help)
        print_help();
    return true;
}

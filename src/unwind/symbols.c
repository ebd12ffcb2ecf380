/* symbols.c -- names for code addresses, for the reports.
 *
 * The module holding an address comes from _dl_find_object (no lock, no
 * allocation); its symbols from its ELF file on disk, mapped read-only:
 * .symtab when the file has one (unstripped programs, so static functions
 * are named), else the debug file that its build id names under
 * /usr/lib/debug, else .dynsym (the exported names of stripped libraries).
 * Mapped files stay mapped, in a small table, for the next lookup.
 *
 * This runs at report time: it opens files, so it has no place on an
 * allocation path, but it never allocates, so it may run anywhere a
 * report does, lock held or not. */
#include "unwind.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_CAP 256

struct module { const char *path; uintptr_t bias; };

/* The program's own file, read once from /proc/self/exe (the loader
 * names the program ""). */
static char exe[PATH_CAP];
static _Atomic int exe_state;            /* 0: not read, 1: being read, 2: read */

static const char *exe_path(void)
{
    int want = 0;
    if (atomic_compare_exchange_strong(&exe_state, &want, 1)) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0)
            n = (ssize_t)mm_fmt(exe, sizeof exe, "%s", program_invocation_name);
        exe[n] = '\0';
        size_t len = (size_t)n, d = sizeof " (deleted)" - 1;
        if (len > d && !strcmp(exe + len - d, " (deleted)"))
            exe[len - d] = '\0';
        atomic_store(&exe_state, 2);
    }
    return atomic_load(&exe_state) == 2 ? exe : program_invocation_name;
}

static bool module_of(uintptr_t pc, struct module *m)
{
    struct dl_find_object fo;
    if (_dl_find_object((void *)pc, &fo) != 0 || !fo.dlfo_link_map)
        return false;
    const struct link_map *l = fo.dlfo_link_map;
    m->bias = l->l_addr;
    m->path = l->l_name && l->l_name[0] ? l->l_name : exe_path();
    return true;
}

const char *mm_module_of(uintptr_t pc, uintptr_t *offset)
{
    struct module m;
    if (!module_of(pc, &m))
        return NULL;
    if (offset)
        *offset = pc - m.bias;
    return m.path;
}

/* ---- ELF files ---- */

struct elf {
    const unsigned char *map;             /* the whole file, or NULL */
    size_t len;
    const ElfW(Sym) *sym;                 /* .symtab, else .dynsym */
    size_t nsym;
    const char *str;                      /* their string table */
    size_t nstr;
    const ElfW(Versym) *ver;              /* .dynsym's versions, or NULL */
    bool symtab;                          /* sym is a .symtab */
    /* For a file kept in the table: its functions by address (in a
     * mapping of their own), and the largest one's size. */
    struct fn_at { uint64_t addr; size_t sym; } *order;   /* sym: its index in sym */
    size_t norder, order_bytes;
    uint64_t longest;
};

static const ElfW(Shdr) *sections(const struct elf *f, size_t *count)
{
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)f->map;
    if (f->len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(ElfW(Shdr)) ||
        eh->e_shoff >= f->len || f->len - eh->e_shoff < sizeof(ElfW(Shdr)))
        return NULL;
    const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(f->map + eh->e_shoff);
    size_t n = eh->e_shnum ? eh->e_shnum : sh[0].sh_size;   /* many sections: count in sh[0] */
    if (n > (f->len - eh->e_shoff) / sizeof(ElfW(Shdr)))
        return NULL;
    *count = n;
    return sh;
}

static bool in_file(const struct elf *f, const ElfW(Shdr) *s)
{
    return s->sh_type != SHT_NOBITS && s->sh_offset <= f->len && s->sh_size <= f->len - s->sh_offset;
}

/* Picks the symbol table: .symtab if there is one, else .dynsym. */
static void find_symbols(struct elf *f)
{
    size_t n;
    const ElfW(Shdr) *sh = sections(f, &n);
    if (!sh)
        return;
    for (int want = SHT_SYMTAB; want; want = want == SHT_SYMTAB ? SHT_DYNSYM : 0) {
        for (size_t i = 0; i < n; i++) {
            const ElfW(Shdr) *s = &sh[i];
            if (s->sh_type != (unsigned)want || s->sh_entsize != sizeof(ElfW(Sym)) ||
                !in_file(f, s) || s->sh_link >= n || !in_file(f, &sh[s->sh_link]))
                continue;
            f->sym = (const ElfW(Sym) *)(f->map + s->sh_offset);
            f->nsym = s->sh_size / sizeof(ElfW(Sym));
            f->str = (const char *)f->map + sh[s->sh_link].sh_offset;
            f->nstr = sh[s->sh_link].sh_size;
            f->symtab = want == SHT_SYMTAB;
            for (size_t j = 0; j < n && !f->symtab; j++)
                if (sh[j].sh_type == SHT_GNU_versym && sh[j].sh_link == i && in_file(f, &sh[j]) &&
                    sh[j].sh_size == f->nsym * sizeof(ElfW(Versym)))
                    f->ver = (const ElfW(Versym) *)(f->map + sh[j].sh_offset);
            return;
        }
    }
}

static bool map_file(const char *path, struct elf *f)
{
    *f = (struct elf){ 0 };
    int fd = mm_os_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct stat st;
    void *p = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    mm_os_close(fd);
    if (p == MAP_FAILED)
        return false;
    f->map = p;
    f->len = (size_t)st.st_size;
    find_symbols(f);
    return true;
}

static void unmap_file(struct elf *f)
{
    if (f->map)
        munmap((void *)f->map, f->len);
    if (f->order)
        mm_os_unmap_own(f->order, f->order_bytes);
    *f = (struct elf){ 0 };
}

static bool is_function(const ElfW(Sym) *s)
{
    return ELF64_ST_TYPE(s->st_info) == STT_FUNC && s->st_shndx != SHN_UNDEF && s->st_size > 0;
}

/* Sifts entry i of the heap a[0..n) down (by address, largest on top). */
static void sift(struct fn_at *a, size_t i, size_t n)
{
    for (size_t c; (c = 2 * i + 1) < n; i = c) {
        if (c + 1 < n && a[c + 1].addr > a[c].addr)
            c++;
        if (a[i].addr >= a[c].addr)
            return;
        struct fn_at t = a[i];
        a[i] = a[c];
        a[c] = t;
    }
}

/* Sorts the file's functions by address (a heap sort: nothing allocated),
 * for lookups by binary search; without memory, lookups scan the table.
 * The addresses are copied out first: sorting them where they are read
 * from the symbol table would touch its pages at random. */
static void index_file(struct elf *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nsym; i++)
        n += is_function(&f->sym[i]);
    size_t bytes = mm_page_round(n * sizeof *f->order);
    struct fn_at *a = n ? mm_os_map_own(bytes) : NULL;
    if (!a)
        return;
    n = 0;
    for (size_t i = 0; i < f->nsym; i++)
        if (is_function(&f->sym[i])) {
            a[n++] = (struct fn_at){ f->sym[i].st_value, i };
            if (f->sym[i].st_size > f->longest)
                f->longest = f->sym[i].st_size;
        }
    for (size_t i = n / 2; i-- > 0;)
        sift(a, i, n);
    for (size_t end = n; end > 1; end--) {
        struct fn_at t = a[0];
        a[0] = a[end - 1];
        a[end - 1] = t;
        sift(a, 0, end - 1);
    }
    f->order = a;
    f->norder = n;
    f->order_bytes = bytes;
}

/* A stripped file's build id names its separate debug file, which keeps
 * the full .symtab: /usr/lib/debug/.build-id/ab/cdef....debug. */
static bool debug_file(const struct elf *f, struct elf *dbg)
{
    size_t n;
    const ElfW(Shdr) *sh = sections(f, &n);
    for (size_t i = 0; sh && i < n; i++) {
        if (sh[i].sh_type != SHT_NOTE || !in_file(f, &sh[i]))
            continue;
        const unsigned char *p = f->map + sh[i].sh_offset, *end = p + sh[i].sh_size;
        while (end - p >= (ptrdiff_t)sizeof(ElfW(Nhdr))) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            size_t name = (nh->n_namesz + 3) & ~3u, desc = (nh->n_descsz + 3) & ~3u;
            const unsigned char *d = p + sizeof *nh + name;
            if (name > (size_t)(end - p) || desc > (size_t)(end - d))
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(p + sizeof *nh, "GNU", 4) &&
                nh->n_descsz >= 2 && nh->n_descsz <= 64) {
                char path[64 + 2 * 64];
                size_t k = mm_fmt(path, sizeof path, "/usr/lib/debug/.build-id/%02x/", d[0]);
                for (size_t j = 1; j < nh->n_descsz; j++)
                    k += mm_fmt(path + k, sizeof path - k, "%02x", d[j]);
                mm_fmt(path + k, sizeof path - k, ".debug");
                if (map_file(path, dbg) && dbg->symtab)
                    return true;
                unmap_file(dbg);
                return false;
            }
            p = d + desc;
        }
    }
    return false;
}

/* Files already mapped, by module (load bias and path). A slot is claimed
 * with a compare-and-swap and published when filled, so two reports at
 * once, or one in a signal handler, never see half an entry; whoever
 * finds no free slot maps the file for the one lookup. */
enum { FREE, FILLING, READY };
#define NFILES 32
static struct cached {
    _Atomic int state;
    uintptr_t bias;
    char path[PATH_CAP];
    struct elf elf;
} files[NFILES];

static void load(const struct module *m, struct elf *f)
{
    /* /proc/self/exe is the program even if its file was moved or deleted */
    bool is_exe = m->path == exe;
    if (!map_file(is_exe ? "/proc/self/exe" : m->path, f) && is_exe)
        map_file(m->path, f);
    struct elf dbg;
    if (f->map && !f->symtab && debug_file(f, &dbg)) {
        unmap_file(f);
        *f = dbg;
    }
}

/* The mapped file for m; *temp when the caller must unmap it after use. */
static const struct elf *elf_for(const struct module *m, struct elf *temp)
{
    for (int i = 0; i < NFILES; i++) {
        struct cached *c = &files[i];
        if (atomic_load_explicit(&c->state, memory_order_acquire) == READY && c->bias == m->bias &&
            !strcmp(c->path, m->path))
            return &c->elf;
    }
    load(m, temp);
    if (strlen(m->path) >= PATH_CAP)
        return temp;
    for (int i = 0; i < NFILES; i++) {
        struct cached *c = &files[i];
        int want = FREE;
        if (atomic_compare_exchange_strong_explicit(&c->state, &want, FILLING, memory_order_acquire,
                                                    memory_order_relaxed)) {
            c->bias = m->bias;
            strcpy(c->path, m->path);
            c->elf = *temp;
            *temp = (struct elf){ 0 };
            if (c->elf.map)
                index_file(&c->elf);
            atomic_store_explicit(&c->state, READY, memory_order_release);
            return &c->elf;
        }
    }
    return temp;
}

/* How well symbol i names off: -1 when it does not hold it. Of several
 * aliases: the current version of a name before an old one kept for
 * compatibility (cfree beside free), then a global name before a weak or
 * local one, then one without a leading underscore. */
static int rank_of(const struct elf *f, size_t i, uintptr_t off)
{
    const ElfW(Sym) *s = &f->sym[i];
    if (!is_function(s) || off < s->st_value || off - s->st_value >= s->st_size || s->st_name >= f->nstr)
        return -1;
    const char *name = f->str + s->st_name;
    size_t len = strnlen(name, f->nstr - s->st_name);
    const char *at = memchr(name, '@', len);
    bool old = f->ver ? f->ver[i] & 0x8000 : at && at + 1 < name + len && at[1] != '@';
    int bind = ELF64_ST_BIND(s->st_info);
    return !old * 8 + (bind == STB_GLOBAL ? 4 : bind == STB_WEAK ? 2 : 0) + (name[0] != '_');
}

/* The function symbol holding off (an address as the file has it), the
 * best named; of equals, the first in the table. With the file's index,
 * only the functions that start at most the longest one's size below off
 * are looked at. */
static const ElfW(Sym) *symbol_at(const struct elf *f, uintptr_t off)
{
    size_t best = SIZE_MAX;
    int best_rank = -1;
    if (!f->order) {
        for (size_t i = 0; i < f->nsym; i++) {
            int r = rank_of(f, i, off);
            if (r > best_rank)
                best = i, best_rank = r;
        }
        return best_rank < 0 ? NULL : &f->sym[best];
    }
    size_t lo = 0, hi = f->norder;        /* the first function that starts past off */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->order[mid].addr <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    while (lo-- > 0 && off - f->order[lo].addr < f->longest) {
        size_t i = f->order[lo].sym;
        int r = rank_of(f, i, off);
        if (r > best_rank || (r == best_rank && r >= 0 && i < best))
            best = i, best_rank = r;
    }
    return best_rank < 0 ? NULL : &f->sym[best];
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

size_t mm_symbolize_as(uintptr_t pc, char *buf, size_t cap, bool full_path)
{
    int e = errno;
    struct module m;
    size_t n;
    /* pc - 1: the call itself, which is the last instruction of its
     * function when the callee does not return (exit, abort) */
    if (!pc || !module_of(pc - 1, &m)) {
        n = mm_fmt(buf, cap, "(unknown)");
    } else {
        struct elf temp = { 0 };
        const struct elf *f = elf_for(&m, &temp);
        uintptr_t off = pc - m.bias;
        const ElfW(Sym) *s = f->map ? symbol_at(f, off - 1) : NULL;
        if (s) {
            /* kept inside the string table, and without a version
             * ("name@@GLIBC_2.34" in a debug file's .symtab) */
            const char *name = f->str + s->st_name;
            size_t len = strnlen(name, f->nstr - s->st_name), at = 0;
            while (at < len && name[at] != '@')
                at++;
            n = mm_fmt(buf, cap, "%.*s+0x%lx (%s+0x%lx)", (int)at, name, (unsigned long)(off - s->st_value),
                       full_path ? m.path : base_name(m.path), (unsigned long)off);
        } else {
            n = mm_fmt(buf, cap, "(%s+0x%lx)", full_path ? m.path : base_name(m.path), (unsigned long)off);
        }
        unmap_file(&temp);
    }
    errno = e;
    return n;
}

size_t mm_symbolize(uintptr_t pc, char *buf, size_t cap)
{
    return mm_symbolize_as(pc, buf, cap, mm_opt.module_paths);
}

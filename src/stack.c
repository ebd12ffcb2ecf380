/* stack.c -- the calling thread's call stack, captured without allocating.
 *
 * Frames are unwound the way the compiler describes them: every x86-64
 * object carries call frame information (CFI, in .eh_frame, indexed by
 * .eh_frame_hdr), with or without frame pointers. For a code address it
 * says where the frame ends (the CFA: rsp or rbp plus a constant), where
 * the return address lies (CFA - 8) and where rbp was saved. A function
 * that keeps a frame pointer is the case CFA = rbp + 16, so where every
 * function keeps one this is the frame-pointer chain; but it also walks
 * through functions that do not, and it never reads rbp as a frame pointer
 * where it is not one, so it presents no garbage as frames. libmymalloc's
 * own frames, built without frame pointers, are skipped exactly this way.
 *
 * Why it is safe inside malloc, and in a signal handler's malloc:
 *   - objects are found with _dl_find_object (glibc 2.35), which takes no
 *     lock, is async-signal-safe and follows dlopen and dlclose, where
 *     dl_iterate_phdr would take the loader lock that dlopen holds while
 *     it calls malloc;
 *   - the rules are decoded from the objects' .eh_frame in memory and kept
 *     in a static table whose entries carry their own check; nothing is
 *     allocated and nothing is locked;
 *   - every stack read lies between the current stack pointer and the top
 *     of the mapping that holds it (found once per thread, see stack_top),
 *     and each frame must start above the one before;
 *   - whatever this file does not understand ends the stack there: a stack
 *     may come out short, never wrong.
 *
 * Cost: a lookup in the table of rules for each frame (some 6 ns), and
 * for a stack the thread captured last time, much less: the walk is
 * replayed, each word it read checked (see memo).
 */
#include "mm.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/ucontext.h>
#include <unistd.h>

#define TLS_IE __attribute__((tls_model("initial-exec")))

/* ---- what libmymalloc is: its frames are not the program's ---- */

static uintptr_t self_lo, self_hi;

static void find_self(void)
{
    struct dl_find_object fo;
    if (_dl_find_object((void *)(uintptr_t)&find_self, &fo) == 0) {
        self_lo = (uintptr_t)fo.dlfo_map_start;
        __atomic_store_n(&self_hi, (uintptr_t)fo.dlfo_map_end, __ATOMIC_RELEASE);
    }
}

/* ---- the bounds of this thread's stack ---- */

/* The mapping that holds the stack pointer: [lo, hi). Two are kept, so a
 * signal handler on an alternate stack does not evict the usual one.
 * hi is written last and cleared first, so a handler that interrupts an
 * update sees either a whole range or none. */
struct range { uintptr_t lo, hi; };
static __thread struct range stk[2] TLS_IE;
extern void *__libc_stack_end;      /* ld.so: inside the main stack, near its top */

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

/* Linux 6.11's PROCMAP_QUERY (struct procmap_query, uapi/linux/fs.h):
 * asks /proc/self/maps for the mapping that holds an address, in one
 * call. Declared here for older headers. */
struct vma_query {
    uint64_t size, flags, addr, start, end, vma_flags, page_size, offset, inode;
    uint32_t dev_major, dev_minor, name_size, build_id_size;
    uint64_t name_addr, build_id_addr;
};
#define VMA_QUERY    _IOWR('f', 17, struct vma_query)
#define VMA_READABLE 1u

/* Finds the readable mapping that holds sp: by PROCMAP_QUERY, or on an
 * older kernel by reading /proc/self/maps with read(2) into a small
 * buffer on the stack (this may run on a signal stack). */
static bool maps_range(uintptr_t sp, struct range *r)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct vma_query q = { .size = sizeof q, .flags = VMA_READABLE, .addr = sp };
    bool found = ioctl(fd, VMA_QUERY, &q) == 0 && sp >= q.start && sp < q.end;
    if (found) {
        r->lo = q.start;
        r->hi = q.end;
    }
    char buf[512], line[64];              /* only a line's start matters */
    size_t len = 0;
    ssize_t n;
    while (!found && (n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n && !found; i++) {
            if (buf[i] != '\n') {
                if (len < sizeof line)
                    line[len++] = buf[i];
                continue;
            }
            /* "start-end rwxp ..." */
            const char *s = line, *end = line + len;
            uintptr_t lo = hex(&s, end), hi = 0;
            if (s < end && *s == '-' && (s++, hi = hex(&s, end), end - s > 1) && s[1] == 'r' &&
                sp >= lo && sp < hi) {
                r->lo = lo;
                r->hi = hi;
                found = true;
            }
            len = 0;
        }
    }
    close(fd);
    return found;
}

/* The top of the stack that holds sp, or 0 when it cannot be known. Once
 * per thread (and per signal stack) it asks /proc/self/maps; after that it
 * costs two compares. (pthread_getattr_np would allocate.) */
__attribute__((noinline, cold)) static uintptr_t stack_top_slow(uintptr_t sp);


static inline uintptr_t stack_top(uintptr_t sp)
{
    for (int i = 0; i < 2; i++)
        if (sp >= stk[i].lo && sp < stk[i].hi)
            return stk[i].hi;
    return stack_top_slow(sp);
}

static uintptr_t stack_top_slow(uintptr_t sp)
{
    struct range r;
    uintptr_t main_top = (uintptr_t)__libc_stack_end;
    int e = errno;                        /* malloc keeps errno */
    if (maps_range(sp, &r)) {
        /* The main stack grows down, and nothing else may be mapped in
         * the guard gap below it (1 MiB): a stack pointer there is on
         * this stack still. */
        if (main_top >= r.lo && main_top < r.hi && r.lo > (1u << 20))
            r.lo -= 1u << 20;
    } else if (sp < main_top && main_top - sp < (64u << 20) && gettid() == getpid()) {
        /* No /proc: on the main thread, [sp, __libc_stack_end) is stack. */
        r.lo = main_top - (64u << 20);
        r.hi = main_top;
    } else {
        errno = e;
        return 0;
    }
    errno = e;
    stk[1].hi = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    stk[1].lo = stk[0].lo;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    stk[1].hi = stk[0].hi;
    stk[0].hi = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    stk[0].lo = r.lo;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    stk[0].hi = r.hi;
    return r.hi;
}

/* ---- reading .eh_frame ---- */

enum {
    PE_ABS = 0x00, PE_ULEB = 0x01, PE_U2 = 0x02, PE_U4 = 0x03, PE_U8 = 0x04,
    PE_SLEB = 0x09, PE_S2 = 0x0a, PE_S4 = 0x0b, PE_S8 = 0x0c,
    PE_PCREL = 0x10, PE_DATAREL = 0x30, PE_INDIRECT = 0x80, PE_OMIT = 0xff,
};

struct rd { const uint8_t *p, *end; bool bad; };

static uint64_t get_n(struct rd *r, int n)
{
    if (r->bad || r->end - r->p < n) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    __builtin_memcpy(&v, r->p, (size_t)n);     /* little-endian */
    r->p += n;
    return v;
}

static uint64_t uleb(struct rd *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; !r->bad; shift += 7) {
        uint8_t b = (uint8_t)get_n(r, 1);
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    return v;
}

static int64_t sleb(struct rd *r)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b = 0;
    do {
        b = (uint8_t)get_n(r, 1);
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while ((b & 0x80) && !r->bad);
    if (shift < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
}

/* A pointer in one of the DW_EH_PE encodings; base is what datarel is
 * relative to (.eh_frame_hdr). Indirect pointers are skipped, not read. */
static uintptr_t get_enc(struct rd *r, uint8_t enc, uintptr_t base)
{
    if (enc == PE_OMIT)
        return 0;
    uintptr_t at = (uintptr_t)r->p, v;
    switch (enc & 0x0f) {
    case PE_ABS: case PE_U8: case PE_S8: v = (uintptr_t)get_n(r, 8); break;
    case PE_U4: v = (uintptr_t)get_n(r, 4); break;
    case PE_S4: v = (uintptr_t)(int64_t)(int32_t)get_n(r, 4); break;
    case PE_U2: v = (uintptr_t)get_n(r, 2); break;
    case PE_S2: v = (uintptr_t)(int64_t)(int16_t)get_n(r, 2); break;
    case PE_ULEB: v = (uintptr_t)uleb(r); break;
    case PE_SLEB: v = (uintptr_t)sleb(r); break;
    default: r->bad = true; return 0;
    }
    switch (enc & 0x70) {
    case 0: break;
    case PE_PCREL: v += at; break;
    case PE_DATAREL: v += base; break;
    default: r->bad = true;
    }
    return v;
}

/* The FDE whose range may hold pc, from the sorted table in .eh_frame_hdr
 * (binary search); NULL when there is none or the table has a form the
 * linker never writes. */
static const uint8_t *find_fde(const uint8_t *hdr, uintptr_t pc)
{
    if (hdr[0] != 1)
        return NULL;
    struct rd r = { hdr + 4, hdr + 64, false };
    get_enc(&r, hdr[1], (uintptr_t)hdr);                  /* eh_frame_ptr */
    uintptr_t count = get_enc(&r, hdr[2], (uintptr_t)hdr);
    if (r.bad || hdr[2] == PE_OMIT || hdr[3] != (PE_DATAREL | PE_S4) || !count)
        return NULL;
    const int32_t *tab = (const int32_t *)r.p;              /* (start, fde) pairs */
    intptr_t want = (intptr_t)(pc - (uintptr_t)hdr);
    size_t lo = 0, hi = count;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tab[2 * mid] <= want)
            lo = mid;
        else
            hi = mid;
    }
    if (tab[2 * lo] > want)
        return NULL;
    return hdr + tab[2 * lo + 1];
}

/* ---- unwind rules ---- */

enum { DW_RBP = 6, DW_RSP = 7, DW_RA = 16 };
enum {
    R_NONE,        /* code, but no rule: the stack ends after this frame */
    R_FRAME,       /* the usual frame */
    R_SIGNAL,      /* the signal trampoline: the interrupted context follows */
    R_END,         /* the outermost frame (its return address is undefined) */
    R_DATA,        /* inside an object, but not in its code: not a frame */
};

/* How to go from a frame to its caller. Offsets are from the CFA. */
struct rule {
    int kind;
    bool cfa_rbp;          /* CFA = (cfa_rbp ? rbp : rsp) + cfa_off */
    bool rbp_lost;         /* the caller's rbp cannot be recovered */
    int32_t cfa_off;
    int32_t rbp_off;       /* the caller's rbp is saved at CFA + rbp_off (0: rbp kept) */
    int32_t ra_off;        /* the return address is at CFA + ra_off */
};

struct cfa_state { int cfa_reg; int32_t cfa_off, rbp_off, ra_off; bool rbp_lost, ra_undef, bad; };

struct cie {
    uint64_t code_align;
    int64_t data_align;
    uint64_t ra_reg;
    uint8_t fde_enc;
    bool has_aug, signal;
    const uint8_t *insn, *end;
};

static bool parse_cie(const uint8_t *p, struct cie *c)
{
    struct rd r = { p, p + 4, false };
    uint32_t len = (uint32_t)get_n(&r, 4);
    if (len == 0 || len == 0xffffffffu)
        return false;
    r.end = p + 4 + len;
    if (get_n(&r, 4) != 0)                    /* CIE id */
        return false;
    uint8_t version = (uint8_t)get_n(&r, 1);
    if (version != 1 && version != 3 && version != 4)
        return false;
    const char *aug = (const char *)r.p;
    while (r.p < r.end && *r.p)
        r.p++;
    r.p++;
    if (version == 4)
        r.p += 2;                             /* address and segment sizes */
    c->code_align = uleb(&r);
    c->data_align = sleb(&r);
    c->ra_reg = version == 1 ? get_n(&r, 1) : uleb(&r);
    c->fde_enc = PE_ABS;
    c->has_aug = aug[0] == 'z';
    c->signal = false;
    const uint8_t *aug_end = NULL;
    if (c->has_aug) {
        uint64_t n = uleb(&r);
        aug_end = r.p + n;
    }
    for (const char *a = aug + c->has_aug; *a && !r.bad; a++) {
        switch (*a) {
        case 'R': c->fde_enc = (uint8_t)get_n(&r, 1); break;
        case 'L': get_n(&r, 1); break;
        case 'P': {
            uint8_t enc = (uint8_t)get_n(&r, 1);
            get_enc(&r, enc & ~PE_INDIRECT, 0);
            break;
        }
        case 'S': c->signal = true; break;
        default: return false;        /* not one the compilers write for x86-64 */
        }
    }
    if (aug_end)
        r.p = aug_end;
    if (r.bad || r.p > r.end)
        return false;
    c->insn = r.p;
    c->end = r.end;
    return c->code_align && c->ra_reg == DW_RA;
}

/* Runs CFA instructions [p, end) from address loc until the row that
 * holds target. */
static void run_cfa(struct cfa_state *s, const struct cfa_state *init, const struct cie *c,
                    const uint8_t *p, const uint8_t *end, uintptr_t loc, uintptr_t target)
{
    struct cfa_state saved[8];
    int nsaved = 0;
    struct rd r = { p, end, false };
    while (r.p < r.end && !r.bad && !s->bad) {
        uint8_t op = (uint8_t)get_n(&r, 1);
        uint64_t reg = op & 0x3f, delta = 0, skip;
        int64_t off;
        switch (op >> 6) {
        case 1:                                                     /* advance_loc */
            delta = op & 0x3f;
            goto advance;
        case 2:                                                     /* offset */
            off = (int64_t)uleb(&r) * c->data_align;
            goto offset;
        case 3:                                                     /* restore */
            goto restore;
        }
        switch (op) {
        case 0x00: break;                                           /* nop */
        case 0x01:                                                  /* set_loc */
            loc = get_enc(&r, c->fde_enc, 0);
            if (loc > target)
                return;
            break;
        case 0x02: delta = get_n(&r, 1); goto advance;
        case 0x03: delta = get_n(&r, 2); goto advance;
        case 0x04: delta = get_n(&r, 4); goto advance;
        case 0x05: reg = uleb(&r); off = (int64_t)uleb(&r) * c->data_align; goto offset;
        case 0x11: reg = uleb(&r); off = sleb(&r) * c->data_align; goto offset;
        case 0x06: reg = uleb(&r); goto restore;
        case 0x07:                                                  /* undefined */
            reg = uleb(&r);
            if (reg == DW_RA)
                s->ra_undef = true;
            else if (reg == DW_RBP)
                s->rbp_lost = true;
            break;
        case 0x08:                                                  /* same_value */
            reg = uleb(&r);
            if (reg == DW_RBP)
                s->rbp_off = 0, s->rbp_lost = false;
            else if (reg == DW_RA)
                s->bad = true;
            break;
        case 0x09:                                                  /* register */
            reg = uleb(&r);
            uleb(&r);
            if (reg == DW_RBP)
                s->rbp_lost = true;
            else if (reg == DW_RA)
                s->bad = true;
            break;
        case 0x0a:                                                  /* remember_state */
            if (nsaved == 8)
                s->bad = true;
            else
                saved[nsaved++] = *s;
            break;
        case 0x0b:                                                  /* restore_state */
            if (!nsaved)
                s->bad = true;
            else
                *s = saved[--nsaved];
            break;
        case 0x0c: s->cfa_reg = (int)uleb(&r); s->cfa_off = (int32_t)uleb(&r); break;
        case 0x0d: s->cfa_reg = (int)uleb(&r); break;
        case 0x0e: s->cfa_off = (int32_t)uleb(&r); break;
        case 0x12:
            s->cfa_reg = (int)uleb(&r);
            s->cfa_off = (int32_t)(sleb(&r) * c->data_align);
            break;
        case 0x13: s->cfa_off = (int32_t)(sleb(&r) * c->data_align); break;
        case 0x0f:                                                  /* def_cfa_expression */
            s->cfa_reg = -1;
            skip = uleb(&r);
            r.p += skip;
            break;
        case 0x10:                                                  /* expression */
        case 0x16:                                                  /* val_expression */
            reg = uleb(&r);
            skip = uleb(&r);
            r.p += skip;
            goto lost;
        case 0x14: reg = uleb(&r); uleb(&r); goto lost;             /* val_offset */
        case 0x15: reg = uleb(&r); sleb(&r); goto lost;             /* val_offset_sf */
        case 0x2e: uleb(&r); break;                                 /* GNU_args_size */
        case 0x2f:                                                  /* GNU_negative_offset_extended */
            reg = uleb(&r);
            off = -(int64_t)uleb(&r) * c->data_align;
            goto offset;
        default:
            s->bad = true;
        }
        continue;
    advance:
        loc += delta * c->code_align;
        if (loc > target)
            return;
        continue;
    offset:
        if (reg == DW_RBP)
            s->rbp_off = (int32_t)off, s->rbp_lost = false;
        else if (reg == DW_RA)
            s->ra_off = (int32_t)off, s->ra_undef = false;
        continue;
    restore:
        if (!init) {
            s->bad = true;                /* restore inside the CIE itself */
        } else if (reg == DW_RBP) {
            s->rbp_off = init->rbp_off;
            s->rbp_lost = init->rbp_lost;
        } else if (reg == DW_RA) {
            s->ra_off = init->ra_off;
            s->ra_undef = init->ra_undef;
        }
        continue;
    lost:
        if (reg == DW_RBP)
            s->rbp_lost = true;
        else if (reg == DW_RA)
            s->bad = true;
    }
    if (r.bad)
        s->bad = true;
}

/* Whether addr lies in an executable segment of the object fo describes:
 * its ELF header and program headers are mapped at its start. */
static bool in_text(const struct dl_find_object *fo, uintptr_t addr)
{
    const ElfW(Ehdr) *eh = fo->dlfo_map_start;
    uintptr_t start = (uintptr_t)fo->dlfo_map_start, end = (uintptr_t)fo->dlfo_map_end;
    if (end - start < sizeof *eh || __builtin_memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
        eh->e_phentsize != sizeof(ElfW(Phdr)) || eh->e_phoff > end - start ||
        (end - start - eh->e_phoff) / sizeof(ElfW(Phdr)) < eh->e_phnum || !fo->dlfo_link_map)
        return false;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(start + eh->e_phoff);
    uintptr_t bias = fo->dlfo_link_map->l_addr;
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X) && addr - bias >= ph[i].p_vaddr &&
            addr - bias - ph[i].p_vaddr < ph[i].p_memsz)
            return true;
    return false;
}

/* The rule for the frame whose code address is addr, from the unwind
 * tables of the object fo describes. */
static void decode_rule(const struct dl_find_object *fo, uintptr_t addr, struct rule *ru)
{
    *ru = (struct rule){ .kind = R_DATA };
    if (!in_text(fo, addr))
        return;
    ru->kind = R_NONE;
    const uint8_t *hdr = fo->dlfo_eh_frame;
    const uint8_t *fde = hdr ? find_fde(hdr, addr) : NULL;
    if (!fde)
        return;
    struct rd r = { fde, fde + 8, false };
    uint32_t len = (uint32_t)get_n(&r, 4);
    if (len == 0 || len == 0xffffffffu)
        return;
    r.end = fde + 4 + len;
    const uint8_t *cie_at = r.p;
    uint32_t cie_off = (uint32_t)get_n(&r, 4);
    struct cie c;
    if (r.bad || !cie_off || !parse_cie(cie_at - cie_off, &c))
        return;
    uintptr_t start = get_enc(&r, c.fde_enc, 0);
    uintptr_t range = get_enc(&r, c.fde_enc & 0x0f, 0);
    if (r.bad || addr < start || addr - start >= range)
        return;
    if (c.has_aug) {
        uint64_t n = uleb(&r);
        r.p += n;
    }
    if (r.bad || r.p > r.end)
        return;

    if (c.signal) {
        /* the trampoline's rules are expressions over the ucontext, whose
         * layout step() knows */
        ru->kind = R_SIGNAL;
        return;
    }
    struct cfa_state init = { .cfa_reg = -1 }, s;
    run_cfa(&init, NULL, &c, c.insn, c.end, start, addr);
    s = init;
    run_cfa(&s, &init, &c, r.p, r.end, start, addr);
    if (s.bad)
        return;
    if (s.ra_undef) {
        ru->kind = R_END;
        return;
    }
    if ((s.cfa_reg != DW_RSP && s.cfa_reg != DW_RBP) || !s.ra_off)
        return;
    ru->kind = R_FRAME;
    ru->cfa_rbp = s.cfa_reg == DW_RBP;
    ru->rbp_lost = s.rbp_lost;
    ru->cfa_off = s.cfa_off;
    ru->rbp_off = s.rbp_off;
    ru->ra_off = s.ra_off;
}

/* A rule packed in one word, as the table keeps it:
 *   bits  0-23  cfa_off (signed)        bits 40-42  kind
 *   bits 24-31  rbp_off / 8 (signed)    bit  43     the CFA is from rbp, not rsp
 *   bits 32-39  ra_off / 8 (signed)     bit  44     rbp cannot be recovered
 *   bits 48-63  the low 16 bits of the code address the rule is for
 * A rule that does not fit (a frame of 8 MiB) is kept as R_NONE. */
static uint64_t pack(const struct rule *ru, uintptr_t addr)
{
    uint64_t v = (uint64_t)(addr & 0xffff) << 48;
    if (ru->cfa_off < -(1 << 23) || ru->cfa_off >= (1 << 23) || ru->rbp_off % 8 || ru->ra_off % 8 ||
        ru->rbp_off / 8 < -128 || ru->rbp_off / 8 > 127 || ru->ra_off / 8 < -128 || ru->ra_off / 8 > 127)
        return v | (uint64_t)(ru->kind == R_FRAME ? R_NONE : ru->kind) << 40;
    return v | ((uint64_t)ru->cfa_off & 0xffffff) | (uint64_t)(uint8_t)(ru->rbp_off / 8) << 24 |
           (uint64_t)(uint8_t)(ru->ra_off / 8) << 32 | (uint64_t)ru->kind << 40 |
           (uint64_t)ru->cfa_rbp << 43 | (uint64_t)ru->rbp_lost << 44;
}

static inline int kind_of(uint64_t v) { return (int)(v >> 40) & 7; }
static inline intptr_t cfa_off_of(uint64_t v) { return (int32_t)((uint32_t)v << 8) >> 8; }
static inline intptr_t rbp_off_of(uint64_t v) { return (intptr_t)(int8_t)(v >> 24) * 8; }
static inline intptr_t ra_off_of(uint64_t v) { return (intptr_t)(int8_t)(v >> 32) * 8; }

/* The rules already decoded, by code address. An entry is a key and a
 * packed rule, written by the one thread that claimed the entry (key BUSY
 * meanwhile): a reader that finds both the key and the rule's copy of its
 * low bits matching has a whole rule. Rules of code that is later
 * unloaded stay until overwritten. */
#define NRULES 2048u
#define BUSY   ((uintptr_t)1)
static struct { _Atomic uintptr_t key; _Atomic uint64_t val; } rules[NRULES];

static inline size_t slot(uintptr_t addr) { return (addr ^ addr >> 11 ^ addr >> 22) & (NRULES - 1); }

/* A rule not in the table yet: decoded, and kept if its entry is free to
 * claim. An address in no loaded object gets R_DATA, not kept (a later
 * dlopen may put code there). */
__attribute__((noinline, cold)) static uint64_t rule_slow(uintptr_t addr, uintptr_t k)
{
    struct dl_find_object fo;
    if (_dl_find_object((void *)addr, &fo) != 0)
        return (uint64_t)R_DATA << 40;
    struct rule ru;
    decode_rule(&fo, addr, &ru);
    uint64_t v = pack(&ru, addr);
    size_t i = slot(addr);
    if (k != BUSY && atomic_compare_exchange_strong_explicit(&rules[i].key, &k, BUSY, memory_order_acquire,
                                                             memory_order_relaxed)) {
        atomic_store_explicit(&rules[i].val, v, memory_order_relaxed);
        atomic_store_explicit(&rules[i].key, addr, memory_order_release);
    }
    return v;
}

static inline uint64_t rule_for(uintptr_t addr)
{
    size_t i = slot(addr);
    uintptr_t k = atomic_load_explicit(&rules[i].key, memory_order_acquire);
    uint64_t v = atomic_load_explicit(&rules[i].val, memory_order_relaxed);
    if (MM_LIKELY(k == addr && v >> 48 == (addr & 0xffff)))
        return v;
    return rule_slow(addr, k);
}

/* ---- the walk ---- */

struct regs { uintptr_t pc, sp, bp; bool exact; };   /* exact: pc is not a return address */

static inline bool readable(uintptr_t at, uintptr_t lo, uintptr_t hi)
{
    return at >= lo && at <= hi - 8 && !(at & 7);
}

/* Moves r to the caller's frame by rule v; false when that cannot be done
 * for sure. */
static inline bool step(struct regs *r, uint64_t v, uintptr_t lo, uintptr_t hi)
{
    if (MM_UNLIKELY(kind_of(v) == R_SIGNAL)) {
        /* A signal handler returns into the sigreturn trampoline with rsp
         * at the ucontext the kernel saved: the interrupted registers. */
        uintptr_t g = r->sp + offsetof(ucontext_t, uc_mcontext.gregs);
        if (!readable(g, lo, hi) || !readable(g + 8 * (NGREG - 1), lo, hi))
            return false;
        const uintptr_t *gr = (const uintptr_t *)g;
        uintptr_t sp = gr[REG_RSP];
        if (sp <= r->sp || sp >= hi || (sp & 7))
            return false;                 /* another stack: stop here */
        r->pc = gr[REG_RIP];
        r->sp = sp;
        r->bp = gr[REG_RBP];
        r->exact = true;
        return r->pc != 0;
    }
    bool from_rbp = v >> 43 & 1;
    if (kind_of(v) != R_FRAME || (from_rbp && (v >> 44 & 1)))
        return false;
    uintptr_t cfa = (from_rbp ? r->bp : r->sp) + (uintptr_t)cfa_off_of(v);
    uintptr_t ra_at = cfa + (uintptr_t)ra_off_of(v), bp_at = cfa + (uintptr_t)rbp_off_of(v);
    if (cfa <= r->sp || cfa > hi || (cfa & 7) || !readable(ra_at, lo, hi))
        return false;
    if (rbp_off_of(v)) {
        if (!readable(bp_at, lo, hi))
            return false;
        r->bp = *(const uintptr_t *)bp_at;
    }
    r->pc = *(const uintptr_t *)ra_at;
    r->sp = cfa;
    r->exact = false;
    return r->pc != 0;
}

uintptr_t mm_stack_top(void)
{
    return stack_top((uintptr_t)__builtin_frame_address(0));
}

void mm_stack_init(void)
{
    find_self();
    stack_top((uintptr_t)__builtin_frame_address(0));
}

/* The last walk of this thread, to replay. A walk is a function of where
 * it starts (this function's frame and return address, and rbp, which a
 * step needs only if it finds its frame by rbp before rbp was reloaded
 * from the stack) and of the stack words it reads: when the start is the
 * same and every word read last time still holds what it held, the frames
 * are the same. Checking that costs a few independent loads a frame
 * instead of a chain of lookups. Replay goes as far as the words match,
 * and the walk goes on from there. A capture in a signal handler that
 * interrupted one leaves the memo alone (busy); signal frames are not
 * kept. */
#define MEMO_STEPS 16
struct memo_step { uintptr_t cfa, ra_at, ra, bp_at, bp; };  /* bp_at 0: rbp not read */
static __thread struct {
    int busy, n;
    int bp_step;                  /* the first step that used the starting rbp */
    uintptr_t fp, pc, bp, hi;
    struct memo_step step[MEMO_STEPS];
} memo TLS_IE;

/* Keeps the first n steps of the memo. */
static inline void forget(int n)
{
    if (memo.n > n)
        memo.n = n;
    if (memo.bp_step >= memo.n)
        memo.bp_step = MEMO_STEPS;
}

__attribute__((noinline)) int mm_stack_capture(uintptr_t *pcs, int max)
{
    if (max <= 0)
        return 0;
    if (MM_UNLIKELY(!__atomic_load_n(&self_hi, __ATOMIC_ACQUIRE)))
        find_self();
    /* This function keeps a frame pointer (__builtin_frame_address makes
     * the compiler set one up), so its own frame needs no rule. */
    const uintptr_t *fp = __builtin_frame_address(0);
    uintptr_t lo = (uintptr_t)fp;
    struct regs r = { .pc = fp[1], .sp = lo + 16, .bp = fp[0], .exact = false };
    uintptr_t top = stack_top(lo);
    /* Without the top, only libmymalloc's own frames are walked (their
     * rules are exact, and they lie just above this one) up to the
     * program's first frame. */
    uintptr_t hi = top ? top : lo + (64u << 10);
    const uintptr_t own_lo = self_lo, own_hi = self_hi;   /* pcs[] may alias them */

    bool keep = !memo.busy, bp_first = true;   /* bp_first: r.bp is still the starting rbp */
    int replay = 0;                            /* steps that may be replayed */
    if (keep) {
        memo.busy = 1;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (memo.fp == lo && memo.pc == r.pc && memo.hi == hi)
            replay = memo.bp == r.bp || memo.bp_step > memo.n ? memo.n : memo.bp_step;
        memo.fp = lo;
        memo.pc = r.pc;
        memo.bp = r.bp;
        memo.hi = hi;
        forget(replay);
    }
    int n = 0, k = 0;
    /* the same frames as last time, and the same steps from them, as long
     * as the words read then still hold the same values */
    for (; k < replay; k++) {
        const struct memo_step *m = &memo.step[k];
        if (*(const uintptr_t *)m->ra_at != m->ra || (m->bp_at && *(const uintptr_t *)m->bp_at != m->bp)) {
            forget(k);                    /* it changed from here on */
            break;
        }
        if (r.pc < own_lo || r.pc >= own_hi) {
            pcs[n++] = r.pc;
            if (n == max || !top)
                goto done;
        }
        r.pc = m->ra;
        r.sp = m->cfa;
        if (m->bp_at) {
            r.bp = m->bp;
            bp_first = false;
        }
    }
    for (; k < 512; k++) {
        uint64_t v = rule_for(r.pc - !r.exact);
        if (r.pc < own_lo || r.pc >= own_hi) {
            /* The program's first frame is exact (it comes from our own
             * rules); a later one must also point into code. */
            if (kind_of(v) == R_DATA && n > 0)
                break;
            pcs[n++] = r.pc;
            if (n == max || !top)
                break;
        }
        if (!step(&r, v, lo, hi))
            break;
        if (keep && k == memo.n && k < MEMO_STEPS && kind_of(v) == R_FRAME) {
            uintptr_t cfa = r.sp;
            memo.step[k] = (struct memo_step){ cfa, cfa + (uintptr_t)ra_off_of(v), r.pc,
                                               rbp_off_of(v) ? cfa + (uintptr_t)rbp_off_of(v) : 0, r.bp };
            memo.n = k + 1;
            if (bp_first && (v >> 43 & 1) && memo.bp_step > k)
                memo.bp_step = k;
        }
        if (rbp_off_of(v) || kind_of(v) == R_SIGNAL)
            bp_first = false;
    }
done:
    if (keep) {
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        memo.busy = 0;
    }
    return n;
}

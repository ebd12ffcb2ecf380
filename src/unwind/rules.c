/* rules.c -- how to go from a frame to its caller, as the compiler wrote it.
 *
 * Every x86-64 object carries call frame information (CFI, in .eh_frame,
 * indexed by .eh_frame_hdr), with or without frame pointers. For a code
 * address it says where the frame ends (the CFA: rsp or rbp plus a
 * constant), where the return address lies (CFA - 8) and where rbp was
 * saved. The instructions are decoded for one address at a time and the
 * result kept, packed, in a table shared by every thread without a lock.
 * Whatever this file does not understand gives "no rule": the stack ends
 * there. */
#include "unwind.h"

#include <link.h>

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
enum { R_NONE = MM_R_NONE, R_FRAME = MM_R_FRAME, R_SIGNAL = MM_R_SIGNAL, R_END = MM_R_END, R_DATA = MM_R_DATA };

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
 *   bits  0-31  cfa_off (signed)        bits 48-50  kind
 *   bits 32-39  rbp_off / 8 (signed)    bit  51     the CFA is from rbp, not rsp
 *   bits 40-47  ra_off / 8 (signed)     bit  52     rbp cannot be recovered
 *   bit  53     plain (see unwind.h)
 *   bits 54-63  the low 10 bits of the key the rule is for
 * A rule that does not fit (a register saved 1 KiB away) is kept as R_NONE. */
static uint64_t pack(const struct rule *ru, uintptr_t key)
{
    uint64_t v = (uint64_t)(key & 0x3ff) << 54;
    if (ru->rbp_off % 8 || ru->ra_off % 8 ||
        ru->rbp_off / 8 < -128 || ru->rbp_off / 8 > 127 || ru->ra_off / 8 < -128 || ru->ra_off / 8 > 127)
        return v | (uint64_t)(ru->kind == R_FRAME ? R_NONE : ru->kind) << 48;
    bool plain = ru->kind == R_FRAME && !ru->cfa_rbp && ru->cfa_off >= 8 && ru->cfa_off % 8 == 0 &&
                 ru->ra_off == -8 && ru->rbp_off <= 0 && ru->rbp_off >= -ru->cfa_off && ru->rbp_off != -8;
    return v | (uint32_t)ru->cfa_off | (uint64_t)(uint8_t)(ru->rbp_off / 8) << 32 |
           (uint64_t)(uint8_t)(ru->ra_off / 8) << 40 | (uint64_t)ru->kind << 48 |
           (uint64_t)ru->cfa_rbp << 51 | (uint64_t)ru->rbp_lost << 52 | (uint64_t)plain << 53;
}


/* The rules already decoded (unwind.h): an entry is written by the one
 * thread that claimed it (key BUSY meanwhile). */
#define BUSY ((uintptr_t)1)
struct mm_rule_entry mm_rules[MM_NRULES] __attribute__((aligned(64)));   /* (a pair in one line) */

/* A rule not in its entry: found in the entry beside it (the other half
 * of the pair that shares its cache line), or decoded and kept. Two
 * addresses whose entries collide, and that a program's stacks go through
 * in turn, each keep their rule so: the first comer in its own entry, the
 * other beside it, instead of each throwing the other out (cc1 on a
 * 500-function file decoded 32,149 rules for some 13,000 addresses with
 * one entry each). An address in no loaded object gets R_DATA, not kept
 * (a later dlopen may put code there). */
static bool read_entry(size_t i, uintptr_t key, uint64_t *v)
{
    uintptr_t k = __atomic_load_n(&mm_rules[i].key, __ATOMIC_ACQUIRE);
    *v = __atomic_load_n(&mm_rules[i].val, __ATOMIC_ACQUIRE);
    return mm_rule_holds(key, k, *v, __atomic_load_n(&mm_rules[i].key, __ATOMIC_RELAXED));
}

/* Writes v for key into entry i if no other thread is writing it. */
static void write_entry(size_t i, uintptr_t key, uint64_t v)
{
    uintptr_t k = __atomic_load_n(&mm_rules[i].key, __ATOMIC_RELAXED);
    if (k != BUSY && __atomic_compare_exchange_n(&mm_rules[i].key, &k, BUSY, false, __ATOMIC_ACQUIRE,
                                                 __ATOMIC_RELAXED)) {
        __atomic_store_n(&mm_rules[i].val, v, __ATOMIC_RELAXED);
        __atomic_store_n(&mm_rules[i].key, key, __ATOMIC_RELEASE);
    }
}

uint64_t mm_unwind_rule_slow(uintptr_t key, uintptr_t k)
{
    size_t i = mm_rule_slot(key);
    uint64_t v;
    if (read_entry(i ^ 1, key, &v))
        return v;
    /* a return address's call is the instruction before it */
    uintptr_t addr = (key & ~MM_RULE_EXACT) - !(key & MM_RULE_EXACT);
    struct dl_find_object fo;
    if (_dl_find_object((void *)addr, &fo) != 0)
        return (uint64_t)R_DATA << 48;
    struct rule ru;
    decode_rule(&fo, addr, &ru);
    v = pack(&ru, key);
    /* its own entry when free, else the one beside it */
    write_entry(k == 0 ? i : i ^ 1, key, v);
    return v;
}

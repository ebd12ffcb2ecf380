/* record.c -- what every block carries while a debugging option is on: at
 * the end of its usable space, after the bytes asked for and (check=1) a
 * redzone, 16 bytes of record (struct mm_record; chunk.h draws the block):
 * the size asked for with a tag and the family of the call that made it
 * (malloc, operator new, operator new[]), the id of the stack that allocated it,
 * and the process that did, or, once freed, the stack that freed it.
 *
 * With check=1 a new block is filled with MM_PAT_NEW (reading it before
 * writing shows), its redzone with MM_PAT_RED. */
#include "debug.h"

#include <string.h>

/* The tag tells a record from the program's bytes: a keyed mix of the
 * address it belongs to (a chunk's, or a page block's), with keys of the
 * records' own (the program can read the tag: it must tell nothing of the
 * headers' keys). */
static uint64_t tag_of(const void *owner)
{
    return mm_keyed((uintptr_t)owner, mm_ro.record_key) >> 48;
}

static struct mm_record *fill(struct mm_record *m, const void *owner, size_t n, int family, uint32_t site)
{
    m->word = n | (uint64_t)family << 46 | tag_of(owner) << 48;
    m->alloc_site = site;
    m->pid = (uint32_t)mm_os_pid();
    return m;
}

/* The blocks in use when the toolkit started: the loader's, and those the
 * libraries whose constructors run before this library's allocated there
 * (a library the program links runs them first: ls's libselinux, gdb's
 * gnutls). They hold no record, and their last bytes are the program's,
 * which pass for one when they match its 16-bit tag: one block in 65,536,
 * and gdb frees many of them at exit, where check=1 named one of them
 * "0 bytes long, overrun" in 4 runs of 240. The set is made at start
 * and never grows after: a chunk that gets a record later is crossed out,
 * with no lock (the lighter modes look records up without one). */
static mm_pset born;

static void add_born(mm_chunk *c, void *arg)
{
    (void)arg;
    if (mm_block_live(c))
        mm_pset_add(&born, (uintptr_t)c);   /* out of memory: the tag alone says */
}

void mm_record_start(void)
{
    for (mm_segment *s = mm_ro.segs; s; s = s->next) {
        mm_chunk *bad;
        for (mm_chunk *c = mm_walk(s, NULL, &bad); c; c = mm_walk(s, c, &bad))
            add_born(c, NULL);
    }
    mm_big_each(add_born, NULL);
}

struct mm_record *mm_record_of(const mm_chunk *c)
{
    struct mm_record *m = mm_record_at(c);
    if (m->word >> 48 != tag_of(c) || (born.count && mm_pset_has(&born, (uintptr_t)c)))
        return NULL;
    return m;
}

static struct mm_record *write_record(void *p, size_t n, int family, uint32_t site)
{
    mm_chunk *c = mm_chunk_of_mem(p);
    if (born.count)
        mm_pset_cross_out(&born, (uintptr_t)c);
    return fill(mm_record_at(c), c, n, family, site);
}

/* A page block's record (profile= alone: mm_debug_held) is its last 16
 * bytes, its tag keyed by the block's own address. */
static struct mm_record *page_record_at(const struct mm_page *pg, const void *p)
{
    return (struct mm_record *)((char *)p + pg->size - MM_RECORD);
}

struct mm_record *mm_record_of_page_block(const struct mm_page *pg, const void *p)
{
    struct mm_record *m = page_record_at(pg, p);
    return m->word >> 48 == tag_of(p) ? m : NULL;
}

void mm_record_set_page_block(const struct mm_page *pg, void *p, size_t n, int family, uint32_t site)
{
    fill(page_record_at(pg, p), p, n, family, site);
}

void mm_record_set(void *p, size_t n, int family, bool zero, uint32_t site)
{
    struct mm_record *m = write_record(p, n, family, site);
    if (mm_opt.check) {
        memset(p, zero ? 0 : MM_PAT_NEW, n);
        memset((char *)p + n, MM_PAT_RED, (size_t)((char *)m - (char *)p) - n);
    } else if (zero) {
        memset(p, 0, n);
    }
}

void mm_record_resized(void *p, size_t old, size_t n, uint32_t site)
{
    struct mm_record *m = write_record(p, n, MM_FAMILY_MALLOC, site);
    if (mm_opt.check) {
        if (n > old)
            memset((char *)p + old, MM_PAT_NEW, n - old);
        memset((char *)p + n, MM_PAT_RED, (size_t)((char *)m - (char *)p) - n);
    }
}

void mm_debug_block_info(const mm_chunk *c, size_t *n, uint32_t *site, int *pid)
{
    const struct mm_record *m = mm_record_of(c);
    *n = m ? mm_record_asked(m) : mm_usable(c);
    *site = m ? m->alloc_site : 0;
    *pid = m ? (int)m->pid : 0;
}

struct mm_record *mm_record_find(const mm_chunk *c, uintptr_t limit)
{
    /* a chunk that ends at `end` has its record at end - 8 (its usable
     * space runs over the next chunk's first word), and the next chunk's
     * header, whole and saying its previous chunk is in use, at end */
    for (uintptr_t end = (uintptr_t)c + MM_MIN_CHUNK; end + MM_HDR <= limit; end += MM_ALIGN) {
        struct mm_record *r = (struct mm_record *)(end - 8);
        const mm_chunk *next = (const mm_chunk *)end;
        if (r->word >> 48 == tag_of(c) && mm_head_ok(next) && (next->head & MM_PINUSE) &&
            mm_record_asked(r) <= end - 8 - (uintptr_t)mm_mem(c))
            return r;
    }
    return NULL;
}

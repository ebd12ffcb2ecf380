/* errors.c -- the reports of check=1: an overflow seen in a redzone, a
 * write after free seen in a quarantined block's pattern, a double free.
 * Each starts with one line, "mymalloc: ERROR: <kind> ...", that names the
 * kind of error as AddressSanitizer names it (heap-buffer-overflow,
 * heap-use-after-free, double-free, alloc-dealloc-mismatch, ...), the block
 * and the offset; then the stacks of the block's life and where it was
 * found; then the program stops. */
#include "debug.h"

#include <string.h>

static size_t exit_errors;      /* found by the check at exit, which goes on */

bool mm_error_at_exit(const char *fn) { return !strcmp(fn, "exit"); }

size_t mm_errors_at_exit(void) { return exit_errors; }

void mm_error_end(const struct mm_record *m, bool freed, const char *fn, const uintptr_t *pcs, int depth)
{
    mm_print("  the block was allocated by:\n");
    mm_site_print(m ? m->alloc_site : 0, "    ");
    if (freed) {
        mm_print("  and freed by:\n");
        mm_site_print(m ? m->free_site : 0, "    ");
    }
    if (mm_error_at_exit(fn)) {
        mm_print("  found at exit, when the heap was checked\n");
        exit_errors++;
        return;
    }
    mm_print("  found in %s(), called from:\n", fn);
    if (!depth)
        mm_print("    (no stack recorded)\n");
    mm_frames_print(pcs, depth, "    ");
    mm_die_quietly();
}

/* The first index in [i, to) of p whose byte is not pat, or to. Eight
 * bytes at a time: a quarantine of 16 MiB is read through on its way out. */
static size_t skip_pattern(const unsigned char *p, size_t i, size_t to, unsigned char pat)
{
    const uint64_t word = 0x0101010101010101ull * pat;
    for (; i < to && (uintptr_t)(p + i) % 8; i++)
        if (p[i] != pat)
            return i;
    for (; to - i >= 8; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (v != word)
            break;
    }
    while (i < to && p[i] == pat)
        i++;
    return i;
}

bool mm_pattern_changed(const unsigned char *p, size_t from, size_t to, unsigned char pat,
                        size_t *first, size_t *last)
{
    size_t i = skip_pattern(p, from, to, pat);
    if (i == to)
        return false;
    *first = i;
    size_t j = to - 1;
    while (p[j] == pat)
        j--;
    *last = j;
    return true;
}

void mm_redzone_check(const mm_chunk *c, const struct mm_record *m, const char *fn,
                      const uintptr_t *pcs, int depth)
{
    const unsigned char *p = mm_mem(c);
    size_t n = mm_record_asked(m), first, last;
    if (!mm_pattern_changed(p, n, (size_t)((const unsigned char *)m - p), MM_PAT_RED, &first, &last))
        return;
    mm_print("mymalloc: ERROR: heap-buffer-overflow on the %zu-byte block %p: %zu byte%s written past "
             "its end, from offset %zu\n", n, (void *)p, last - n + 1, last == n ? "" : "s", first);
    mm_error_end(m, false, fn, pcs, depth);
}

/* (mm_family_check's report: m is a record, the block's own) */
void mm_family_mismatch(const void *p, const struct mm_record *m, int expected, size_t sized, const char *fn)
{
    static const char *const maker[] = { "malloc", "operator new", "operator new[]" };
    int family = mm_record_family(m);
    size_t n = mm_record_asked(m);
    uintptr_t pcs[64];
    int depth = mm_stack_capture(pcs, (int)mm_opt.stack_depth);
    if (family != expected)
        mm_print("mymalloc: ERROR: alloc-dealloc-mismatch (%s vs %s) on the %zu-byte block %p\n",
                 maker[family], fn, n, p);
    else
        mm_print("mymalloc: ERROR: new-delete-type-mismatch: %s says the %zu-byte block %p has %zu bytes\n",
                 fn, n, p, sized);
    mm_error_end(m, false, fn, pcs, depth);
}

void mm_underflow_check(void *p, const char *fn, const uintptr_t *pcs, int depth)
{
    mm_chunk *c = mm_chunk_of_mem(p), *prev = NULL, *bad = NULL;
    mm_segment *s = mm_segment_of(p);
    if ((uintptr_t)p % MM_ALIGN || !s || (char *)c < s->base || mm_head_ok(c))
        return;
    for (mm_chunk *x = mm_walk(s, NULL, &bad); x; prev = x, x = mm_walk(s, x, &bad))
        ;
    if (bad != c)
        return;                  /* the heap is broken before p: not p's doing */
    bool prev_live = prev && mm_block_live(prev);   /* no prev: p is the first */
    struct mm_record *pm = prev_live ? mm_record_of(prev) : NULL;
    if (prev_live && !pm)
        return;                  /* the block before lost its record: it was overrun */
    if (pm && mm_opt.check)
        mm_redzone_check(prev, pm, fn, pcs, depth);     /* its overflow, if it was one */
    struct mm_record *m = mm_record_find(c, (uintptr_t)mm_fence(s));
    if (!m)
        return;
    mm_print("mymalloc: ERROR: heap-buffer-underflow on the %zu-byte block %p: its header, in the 16 bytes "
             "before its start, was written over\n", mm_record_asked(m), p);
    mm_error_end(m, false, fn, pcs, depth);
}

/* pset.c -- a set of addresses, kept in pages of its own.
 *
 * Open addressing with linear probing; deletion shifts the following
 * entries back, so there are no tombstones. The table lives in mmapped
 * memory (or starts in a zeroed buffer the caller lends) and doubles when
 * half full: the allocator cannot use itself. The tables of records keyed
 * by an address (mm_keyed_grow) grow the same way. */
#include "base.h"

static size_t slot_of(const mm_pset *s, uintptr_t key)
{
    return (size_t)(((uint64_t)key >> 4) * UINT64_C(0x9e3779b97f4a7c15) >> 20) & (s->cap - 1);
}

MM_HOT static bool grow(mm_pset *s)
{
    size_t cap = s->cap ? s->cap * 2 : mm_page / sizeof(uintptr_t);
    uintptr_t *slot = mm_os_map_own(cap * sizeof(uintptr_t));
    if (!slot)
        return false;
    mm_pset old = *s;
    s->slot = slot;
    s->cap = cap;
    s->count = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slot[i])
            mm_pset_add(s, old.slot[i]);
    if (old.slot && !old.borrowed)
        mm_os_unmap_own(old.slot, old.cap * sizeof(uintptr_t));
    return true;
}

MM_HOT bool mm_pset_add(mm_pset *s, uintptr_t key)
{
    if ((s->count + 1) * 2 > s->cap && !grow(s))
        return false;
    size_t i = slot_of(s, key);
    while (s->slot[i] && s->slot[i] != key)
        i = (i + 1) & (s->cap - 1);
    if (!s->slot[i]) {
        s->slot[i] = key;
        s->count++;
    }
    return true;
}

MM_HOT static size_t find(const mm_pset *s, uintptr_t key)
{
    if (!s->cap)
        return SIZE_MAX;
    uintptr_t k;
    for (size_t i = slot_of(s, key); (k = __atomic_load_n(&s->slot[i], __ATOMIC_RELAXED)); i = (i + 1) & (s->cap - 1))
        if (k == key)
            return i;
    return SIZE_MAX;
}

MM_HOT bool mm_pset_has(const mm_pset *s, uintptr_t key)
{
    return find(s, key) != SIZE_MAX;
}

MM_HOT bool mm_pset_del(mm_pset *s, uintptr_t key)
{
    size_t i = find(s, key);
    if (i == SIZE_MAX)
        return false;
    /* Move back every later entry of the run that may sit behind its home. */
    size_t mask = s->cap - 1;
    for (size_t j = (i + 1) & mask; s->slot[j]; j = (j + 1) & mask) {
        size_t home = slot_of(s, s->slot[j]);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            s->slot[i] = s->slot[j];
            i = j;
        }
    }
    s->slot[i] = 0;
    s->count--;
    return true;
}

MM_HOT void mm_pset_cross_out(mm_pset *s, uintptr_t key)
{
    size_t i = find(s, key);
    if (i != SIZE_MAX)
        __atomic_store_n(&s->slot[i], key | 1, __ATOMIC_RELAXED);
}

void mm_pset_clear(mm_pset *s)
{
    if (s->slot && !s->borrowed)
        mm_os_unmap_own(s->slot, s->cap * sizeof(uintptr_t));
    *s = (mm_pset){ 0 };
}

void mm_pset_each(const mm_pset *s, void (*fn)(uintptr_t key, void *arg), void *arg)
{
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i])
            fn(s->slot[i], arg);
}

bool mm_keyed_grow(void **table, size_t *cap, size_t elem, size_t first_cap)
{
    size_t n = *cap ? *cap * 2 : first_cap;
    char *t = mm_os_map_own(n * elem), *old = *table;
    if (!t)
        return false;
    /* (a record's first word is its key: a uintptr_t, aligned as one) */
    for (size_t i = 0; i < *cap; i++) {
        uintptr_t key = *(const uintptr_t *)(old + i * elem);
        if (!key)
            continue;
        size_t j = mm_keyed_slot(key, n);
        while (*(const uintptr_t *)(t + j * elem))
            j = (j + 1) & (n - 1);
        __builtin_memcpy(t + j * elem, old + i * elem, elem);
    }
    if (old)
        mm_os_unmap_own(old, *cap * elem);
    *table = t;
    *cap = n;
    return true;
}

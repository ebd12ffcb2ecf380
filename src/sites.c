/* sites.c -- the table of call stacks ("sites") that allocated or freed
 * blocks, each stored once.
 *
 * A block in a debug mode records the ids of the stacks that allocated and
 * freed it (32 bits each), not the stacks themselves: a program allocates
 * millions of blocks from a few thousand places. The stacks live in an
 * arena of their own pages; a hash index of their offsets finds an existing
 * one. Both grow by doubling. The caller holds the lock. */
#include "mm.h"

#include <string.h>

struct site {
    uint32_t hash;
    uint32_t depth;
    uintptr_t pc[];
};

static char *arena;                  /* sites, one after another */
static size_t arena_used, arena_cap;
static uint32_t *index_;             /* offset / 8 + 1 of a site, 0: empty */
static size_t index_cap, count;

uint32_t mm_site_hash(const uintptr_t *pcs, int depth)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325) ^ (uint64_t)depth;
    for (int i = 0; i < depth; i++)
        h = (h ^ pcs[i]) * UINT64_C(0x100000001b3);
    return (uint32_t)(h ^ h >> 32);
}

static struct site *at(uint32_t id) { return (struct site *)(arena + (size_t)(id - 1) * 8); }

/* Doubles the arena (its contents move with it); false without memory. */
static bool grow_arena(void)
{
    size_t cap = arena_cap ? arena_cap * 2 : 1u << 20;
    char *a = arena ? mm_os_remap_own(arena, arena_cap, cap) : mm_os_map_own(cap);
    if (!a)
        return false;
    arena = a;
    arena_cap = cap;
    return true;
}

/* A new index twice the size, the sites rehashed into it. */
static bool grow_index(void)
{
    size_t cap = index_cap ? index_cap * 2 : 4096;
    uint32_t *t = mm_os_map_own(cap * sizeof *t);
    if (!t)
        return false;
    for (size_t i = 0; i < index_cap; i++) {
        if (!index_[i])
            continue;
        size_t j = at(index_[i])->hash & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = index_[i];
    }
    if (index_)
        mm_os_unmap_own(index_, index_cap * sizeof *index_);
    index_ = t;
    index_cap = cap;
    return true;
}

uint32_t mm_site_intern(const uintptr_t *pcs, int depth)
{
    if (depth <= 0)
        return 0;
    uint32_t h = mm_site_hash(pcs, depth);
    size_t bytes = sizeof(struct site) + (size_t)depth * sizeof(uintptr_t);
    for (size_t j = index_cap ? h & (index_cap - 1) : 0; index_cap && index_[j]; j = (j + 1) & (index_cap - 1)) {
        struct site *s = at(index_[j]);
        if (s->hash == h && s->depth == (uint32_t)depth && !memcmp(s->pc, pcs, (size_t)depth * sizeof *pcs))
            return index_[j];
    }
    if ((count + 1) * 2 > index_cap && !grow_index())
        return 0;
    while (arena_used + bytes > arena_cap)
        if (!grow_arena())
            return 0;
    if ((arena_used / 8 + 1) > UINT32_MAX)
        return 0;
    uint32_t id = (uint32_t)(arena_used / 8 + 1);
    struct site *s = at(id);
    s->hash = h;
    s->depth = (uint32_t)depth;
    memcpy(s->pc, pcs, (size_t)depth * sizeof *pcs);
    arena_used += bytes;
    size_t j = h & (index_cap - 1);
    while (index_[j])
        j = (j + 1) & (index_cap - 1);
    index_[j] = id;
    count++;
    return id;
}

size_t mm_site_limit(void)
{
    return arena_used / 8 + 1;
}

int mm_site_frames(uint32_t id, const uintptr_t **pcs)
{
    if (!id || (size_t)(id - 1) * 8 >= arena_used) {
        *pcs = NULL;
        return 0;
    }
    *pcs = at(id)->pc;
    return (int)at(id)->depth;
}

void mm_site_print(uint32_t id, const char *indent)
{
    const uintptr_t *pcs;
    int depth = mm_site_frames(id, &pcs);
    if (!depth)
        mm_print("%s(no stack recorded)\n", indent);
    mm_frames_print(pcs, depth, indent);
}

/* Frames below main (the C library's start code) say nothing: the list
 * stops at main. */
void mm_frames_print(const uintptr_t *pcs, int depth, const char *indent)
{
    for (int i = 0; i < depth; i++) {
        char name[320];
        mm_symbolize(pcs[i], name, sizeof name);
        mm_print("%s#%d %s\n", indent, i, name);
        if (!strncmp(name, "main+", 5))
            break;
    }
}

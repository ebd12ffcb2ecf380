/* sites.c -- the table of call stacks ("sites") that allocated or freed
 * blocks, each stored once.
 *
 * A block in a debug mode records the ids of the stacks that allocated and
 * freed it (32 bits each), not the stacks themselves: a program allocates
 * millions of blocks from a few thousand places. The stacks live in an
 * arena of their own pages; a hash index of their offsets (each with its
 * stack's hash) finds an existing one. Both grow by doubling. The caller
 * holds the lock.
 *
 * Each thread also keeps a memo of the stacks it recorded last, by hash,
 * with their ids, so that with leaks=1 or check=1 alone (nothing else to
 * count) a repeated stack is found without the lock. */
#include "debug.h"

#include <pthread.h>
#include <string.h>

struct site {
    uint64_t depth;
    struct mm_site_tally tally;      /* the profile's (profile.c) */
    uintptr_t pc[];
};

static char *arena;                  /* sites, one after another */
static size_t arena_used, arena_cap;
/* A slot: a site's hash (high half) and its offset / 8 + 1 (low half), 0:
 * empty. The hash is there so that a probe reads the site only when its
 * hash is the one sought (a site is a cache miss away). */
static uint64_t *index_;
static size_t index_cap, count;
static inline uint32_t slot_id(uint64_t e) { return (uint32_t)e; }
static inline uint32_t slot_hash(uint64_t e) { return (uint32_t)(e >> 32); }
static inline uint64_t slot_of(uint32_t h, uint32_t id) { return (uint64_t)h << 32 | id; }

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
    uint64_t *t = mm_os_map_own(cap * sizeof *t);
    if (!t)
        return false;
    for (size_t i = 0; i < index_cap; i++) {
        if (!index_[i])
            continue;
        size_t j = slot_hash(index_[i]) & (cap - 1);
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
        if (slot_hash(index_[j]) != h)
            continue;
        struct site *s = at(slot_id(index_[j]));
        if (s->depth == (uint64_t)depth && !memcmp(s->pc, pcs, (size_t)depth * sizeof *pcs))
            return slot_id(index_[j]);
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
    s->depth = (uint64_t)depth;
    s->tally = (struct mm_site_tally){ 0 };
    memcpy(s->pc, pcs, (size_t)depth * sizeof *pcs);
    arena_used += bytes;
    size_t j = h & (index_cap - 1);
    while (index_[j])
        j = (j + 1) & (index_cap - 1);
    index_[j] = slot_of(h, id);
    count++;
    return id;
}

/* The sites of the last stacks this thread's unwinder knew whole, by its
 * keys. A site is never removed, so an id found here stays good. Written
 * with the lock held; a signal handler that comes in meanwhile takes the
 * gate's other way and never reads it, but the key is written last. */
#define KNOWN 16
static __thread struct { uint64_t key; uint32_t id; } known[KNOWN] MM_TLS;

uint32_t mm_site_intern_known(const uintptr_t *pcs, int depth, uint64_t key)
{
    typeof(known[0]) *k = &known[key % KNOWN];
    if (key && k->key == key)
        return k->id;
    uint32_t id = mm_site_intern(pcs, depth);
    if (key && id) {
        k->key = 0;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        k->id = id;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        k->key = key;
    }
    return id;
}

struct mm_site_tally *mm_site_tally(uint32_t id)
{
    return id && (size_t)(id - 1) * 8 < arena_used ? &at(id)->tally : NULL;
}

uint32_t mm_site_next(uint32_t id)
{
    size_t off = id ? (size_t)(id - 1) * 8 + sizeof(struct site) + at(id)->depth * sizeof(uintptr_t) : 0;
    return off < arena_used ? (uint32_t)(off / 8 + 1) : 0;
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

/* ---- each thread's memo ---- */

#define MEMO_SLOTS 64
#define MEMO_DEPTH 16          /* stack_depth's default: deeper stacks take the lock */
struct memos {
    struct { uint32_t hash, id, depth; uintptr_t pc[MEMO_DEPTH]; } slot[MEMO_SLOTS];
    struct memos *next;        /* in the pool, once its thread has gone */
};
static __thread struct memos *mine MM_TLS;
/* The memo is being read or written: a signal handler that comes in
 * meanwhile leaves it alone. */
static __thread bool busy MM_TLS, gone MM_TLS;
static struct memos *pool;     /* lock held */
static pthread_key_t key;
static bool key_ok;

static void thread_gone(void *arg)
{
    gone = true;
    mine = NULL;
    if (!mm_lock())
        return;
    struct memos *m = arg;
    m->next = pool;
    pool = m;
    mm_unlock();
}

void mm_sites_init(void)
{
    key_ok = pthread_key_create(&key, thread_gone) == 0;
}

static uint32_t memo_find(const uintptr_t *pcs, int depth, uint32_t hash)
{
    if (busy || !mine || depth > MEMO_DEPTH)
        return 0;
    busy = true;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    const typeof(mine->slot[0]) *m = &mine->slot[hash % MEMO_SLOTS];
    uint32_t id = m->id && m->hash == hash && m->depth == (uint32_t)depth &&
                  !memcmp(m->pc, pcs, (size_t)depth * sizeof *pcs) ? m->id : 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    busy = false;
    return id;
}

static void memo_keep(const uintptr_t *pcs, int depth, uint32_t hash, uint32_t id)
{
    if (busy || !mine || depth > MEMO_DEPTH)
        return;
    busy = true;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    typeof(mine->slot[0]) *m = &mine->slot[hash % MEMO_SLOTS];
    m->hash = hash;
    m->depth = (uint32_t)depth;
    memcpy(m->pc, pcs, (size_t)depth * sizeof *pcs);
    m->id = id;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    busy = false;
}

uint32_t mm_site_light(const uintptr_t *pcs, int depth)
{
    if (depth <= 0)
        return 0;
    uint32_t hash = mm_site_hash(pcs, depth), id = memo_find(pcs, depth, hash);
    if (id)
        return id;
    if (!mm_enter())
        return 0;                /* a signal handler inside the allocator: no site */
    id = mm_site_intern(pcs, depth);
    struct memos *made = NULL;
    if (!mine && !gone && key_ok && !busy) {
        if ((made = pool) != NULL)
            pool = made->next;
        else
            made = mm_os_map_own(sizeof *made);
        if (made)
            memset(made->slot, 0, sizeof made->slot);
    }
    mm_leave();
    if (made) {
        mine = made;
        pthread_setspecific(key, made);      /* so thread_gone gets it back */
    }
    if (id)
        memo_keep(pcs, depth, hash, id);
    return id;
}

/* gate.c -- the way into the allocator's shared state, and the one answer
 * of each kind of call when its thread is inside already.
 *
 * The first call can come from any thread, and from the dynamic loader
 * before any constructor has run: mm_front_init sets up what every call
 * needs (the page size, the keys, the options as far as environ is
 * there, the heap's thresholds, the thread caches' key). The rest of the
 * process's setup (fork, the toolkit, the reports at exit) is init.c's.
 *
 * A thread re-enters the allocator while it holds the lock when a signal
 * handler that calls malloc interrupts malloc. The heap may be half-way
 * through a change, so the handler's call must not touch it: mm_enter says
 * so, and every path answers with the function of its kind below, the
 * toolkit's paths included. */
#include "front.h"

#include <errno.h>
#include <string.h>

bool mm_ready;

MM_HOT void mm_front_init(void)
{
    if (!mm_lock())
        return;                  /* re-entered during init: the caller uses the reserve */
    bool first = !__atomic_load_n(&mm_ready, __ATOMIC_RELAXED);
    if (first) {
        mm_os_init();
        mm_options_load();
        /* Keys drawn apart from each other: one the program reads through
         * (a link, a mark, a record) tells nothing of the others. The
         * multipliers are odd. */
        uint64_t k[11];
        mm_os_random_fill(k, sizeof k);
        mm_ro.secret = k[0];
        mm_ro.tag_key[0] = k[1] | 1;
        mm_ro.tag_key[1] = k[2];
        mm_ro.cache_key[0] = k[3];
        mm_ro.cache_key[1] = k[4] | 1;
        mm_ro.link_key[0] = k[5];
        mm_ro.link_key[1] = k[6] | 1;
        mm_ro.record_key[0] = k[7];
        mm_ro.record_key[1] = k[8] | 1;
        mm_ro.page_key[0] = k[9];
        mm_ro.page_key[1] = k[10] | 1;
        mm_heap_use_options();
        __atomic_store_n(&mm_ready, true, __ATOMIC_RELEASE);
    }
    mm_unlock();
    if (first)
        mm_cache_init();         /* pthread_key_create: outside the lock */
}

MM_HOT void mm_leave(void)
{
    void *p = mm_reserve_deferred();
    while (p) {
        void *next = *(void **)p;
        mm_chunk *c = mm_lookup(p, "free", 0);
        if (c->head & MM_MMAPPED)
            mm_big_free(c);
        else
            mm_heap_free(c, "free");
        p = next;
    }
    mm_unlock();
}

MM_HOT void mm_front_tick(void)
{
    mm_pages_tick();
    if (mm_enter()) {
        mm_heap_decay();
        mm_leave();
    }
}

void *mm_enomem(void)
{
    errno = ENOMEM;
    return NULL;
}

void *mm_reentered_alloc(size_t n, size_t align, const char *fn)
{
    return mm_reserve_alloc(n, align, fn);
}

/* What can be checked without the heap: the pointer is aligned and its
 * header is one of ours, in use. The rest is checked when the lock is let
 * go (mm_leave runs mm_lookup). */
static const mm_chunk *light_check(const void *p, const char *fn)
{
    const mm_chunk *c = mm_chunk_of_mem(p);
    if ((uintptr_t)p % MM_ALIGN)
        mm_die(fn, "invalid pointer %p: not %u-byte aligned, so not from malloc", p, MM_ALIGN);
    if (!mm_head_ok(c) || !mm_inuse(c))
        mm_die(fn, "invalid pointer %p", p);
    return c;
}

void mm_reentered_free(void *p, const char *fn)
{
    if (mm_reserve_owns(p)) {
        mm_reserve_free(p, fn);
        return;
    }
    light_check(p, fn);
    mm_reserve_defer(p);
}

static void *reserve_alloc(size_t n)
{
    return mm_reserve_alloc(n, MM_ALIGN, "realloc");
}

static void defer(void *p)
{
    mm_reentered_free(p, "realloc");
}

void *mm_reentered_realloc(void *p, size_t n)
{
    size_t old = mm_reserve_owns(p) ? mm_reserve_usable(p) : mm_usable(light_check(p, "realloc"));
    return mm_move(p, old, n, reserve_alloc, defer);
}

size_t mm_reentered_usable(const void *p)
{
    if (mm_reserve_owns(p))
        return mm_reserve_usable(p);
    return mm_usable(light_check(p, "malloc_usable_size"));
}

/* reserve.c -- what a re-entrant call gets.
 *
 * A thread re-enters the allocator while it holds the lock when a signal
 * handler that calls malloc interrupts malloc. The heap may be half-way
 * through a change, so the handler's call must not touch it. Its
 * allocations come from a static reserve of fixed-size slots, one class of
 * slots per size, each class with atomic bitmaps of the slots in use: taking
 * and returning a slot is one compare-and-swap, safe from any thread and
 * any nesting of handlers. A free of an ordinary heap block is queued and
 * done when the lock is next released. Only when a class and all classes
 * above it are full does the program stop, with a message saying why. */
#include "front.h"

#include <stdatomic.h>

#define LIVE  UINT64_C(0x11fe11fe11fe11fe)
#define FREED UINT64_C(0xf4eedf4eedf4eed0)

static const struct { uint32_t size, count; } cls[] = {
    { 64, 256 }, { 256, 128 }, { 1024, 64 }, { 4096, 16 }, { 16384, 4 },
};
#define NCLS  5
#define WORDS 4                  /* 256 slots at most per class */
#define RESERVE (64 * 256 + 256 * 128 + 1024 * 64 + 4096 * 16 + 16384 * 4)

static _Alignas(4096) char reserve[RESERVE];
static _Atomic uint64_t used[NCLS][WORDS];
static void *_Atomic deferred;
_Atomic size_t mm_reentered;

/* The 16 bytes before each block. */
struct rhdr { uint16_t cls, slot; uint32_t usable; uint64_t mark; };

static char *class_start(unsigned c)
{
    size_t off = 0;
    for (unsigned i = 0; i < c; i++)
        off += (size_t)cls[i].size * cls[i].count;
    return reserve + off;
}

MM_HOT bool mm_reserve_owns(const void *p)
{
    return (const char *)p >= reserve && (const char *)p < reserve + RESERVE;
}

/* Claims a free slot of class c; -1 when the class is full. */
MM_HOT static int claim(unsigned c)
{
    for (unsigned w = 0; w * 64 < cls[c].count; w++) {
        uint64_t full = cls[c].count - w * 64 >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << (cls[c].count - w * 64)) - 1;
        uint64_t v = atomic_load(&used[c][w]);
        while (v != full) {
            unsigned b = (unsigned)__builtin_ctzll(~v & full);
            if (atomic_compare_exchange_weak(&used[c][w], &v, v | UINT64_C(1) << b))
                return (int)(w * 64 + b);
        }
    }
    return -1;
}

void *mm_reserve_alloc(size_t n, size_t align, const char *fn)
{
    atomic_fetch_add_explicit(&mm_reentered, 1, memory_order_relaxed);
    if (align < MM_ALIGN)
        align = MM_ALIGN;
    size_t need = n + sizeof(struct rhdr) + (align - MM_ALIGN);
    for (unsigned c = 0; c < NCLS; c++) {
        int s = need <= cls[c].size ? claim(c) : -1;
        if (s < 0)
            continue;
        char *slot = class_start(c) + (size_t)s * cls[c].size;
        char *mem = (char *)mm_align_up((uintptr_t)slot + sizeof(struct rhdr), align);
        struct rhdr *h = (struct rhdr *)mem - 1;
        *h = (struct rhdr){ (uint16_t)c, (uint16_t)s, (uint32_t)(slot + cls[c].size - mem), LIVE };
        return mem;
    }
    mm_die(fn, "re-entered while this thread holds the heap lock (a signal handler that "
               "allocates?), and the %u KiB reserve for that has no room for %zu bytes",
           RESERVE >> 10, n);
}

size_t mm_reserve_usable(const void *p)
{
    return ((const struct rhdr *)p - 1)->usable;
}

void mm_reserve_free(void *p, const char *fn)
{
    struct rhdr *h = (struct rhdr *)p - 1;
    if ((uintptr_t)p % MM_ALIGN || h->mark != LIVE || h->cls >= NCLS || h->slot >= cls[h->cls].count)
        mm_die(fn, "%s %p", h->mark == FREED ? "double free of" : "invalid pointer", p);
    h->mark = FREED;
    atomic_fetch_and(&used[h->cls][h->slot / 64], ~(UINT64_C(1) << (h->slot % 64)));
}

void mm_reserve_defer(void *p)
{
    atomic_fetch_add_explicit(&mm_reentered, 1, memory_order_relaxed);
    void *head = atomic_load(&deferred);
    do
        *(void **)p = head;
    while (!atomic_compare_exchange_weak(&deferred, &head, p));
}

MM_HOT void *mm_reserve_deferred(void)
{
    return atomic_load_explicit(&deferred, memory_order_relaxed) ? atomic_exchange(&deferred, NULL) : NULL;
}

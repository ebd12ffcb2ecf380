/* bounds.c -- where this thread's stack lies: every read of the unwinder
 * must fall inside it.
 *
 * The mapping that holds the stack pointer comes from /proc/self/maps,
 * once per thread (and per signal stack): pthread_getattr_np would
 * allocate. */
#include "unwind.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The mapping that holds the stack pointer: [lo, hi). Two are kept, so a
 * signal handler on an alternate stack does not evict the usual one.
 * hi is written last and cleared first, so a handler that interrupts an
 * update sees either a whole range or none. */
__thread struct mm_range mm_stack_ranges[2] MM_TLS;
#define stk mm_stack_ranges
extern void *__libc_stack_end;      /* ld.so: inside the main stack, near its top */


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

struct want { uintptr_t sp; struct mm_range *r; bool found; };

static bool holds_sp(const struct mm_map *m, void *arg)
{
    struct want *w = arg;
    if (m->read && w->sp >= m->lo && w->sp < m->hi) {
        *w->r = (struct mm_range){ m->lo, m->hi };
        w->found = true;
    }
    return !w->found;
}

/* Finds the readable mapping that holds sp: by PROCMAP_QUERY, or on an
 * older kernel by reading /proc/self/maps (this may run on a signal
 * stack: both keep to buffers on the stack). */
static bool maps_range(uintptr_t sp, struct mm_range *r)
{
    int fd = mm_os_open("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct vma_query q = { .size = sizeof q, .flags = VMA_READABLE, .addr = sp };
    bool found = ioctl(fd, VMA_QUERY, &q) == 0 && sp >= q.start && sp < q.end;
    mm_os_close(fd);
    if (found) {
        r->lo = q.start;
        r->hi = q.end;
        return true;
    }
    struct want w = { sp, r, false };
    return mm_maps_each(holds_sp, &w) && w.found;
}

/* The top of the stack that holds sp, or 0 when it cannot be known. Once
 * per thread (and per signal stack) it asks /proc/self/maps; after that
 * mm_stack_top_of costs two compares. (pthread_getattr_np would allocate.) */
uintptr_t mm_stack_top_slow(uintptr_t sp)
{
    struct mm_range r;
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


uintptr_t mm_stack_top(void)
{
    return mm_stack_top_of((uintptr_t)__builtin_frame_address(0));
}

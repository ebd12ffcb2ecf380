/* lock.c -- the one lock, and what fork does with it.
 *
 * The lock word holds the owner's thread id (and a bit for waiters), so a
 * thread can tell "someone else holds it" from "I hold it": the second case
 * is a re-entry (a signal handler that interrupted malloc and calls malloc),
 * which must not wait for itself. Waiting is done with a futex. */
#include "base.h"

#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WAITERS 0x40000000   /* thread ids stay below 2^22 */

static _Atomic int word __attribute__((aligned(64)));   /* a cache line of its own */
static __thread int self_tid MM_TLS;

static inline int self(void)
{
    int t = self_tid;
    if (MM_UNLIKELY(!t))
        t = self_tid = (int)syscall(SYS_gettid);
    return t;
}

static void futex(int op, int val)
{
    syscall(SYS_futex, &word, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

static bool lock_slow(int me)
{
    int v = atomic_load_explicit(&word, memory_order_relaxed);
    if ((v & ~WAITERS) == me)
        return false;
    /* Spin briefly: the lock is held for short stretches. */
    for (int i = 0; i < 200; i++) {
        v = atomic_load_explicit(&word, memory_order_relaxed);
        if (v == 0 && atomic_compare_exchange_weak_explicit(&word, &v, me, memory_order_acquire,
                                                            memory_order_relaxed))
            return true;
        __builtin_ia32_pause();
    }
    /* Sleep. Once a thread has slept it takes the lock with WAITERS set,
     * since others may still sleep. */
    for (;;) {
        v = atomic_load_explicit(&word, memory_order_relaxed);
        if (v == 0) {
            if (atomic_compare_exchange_weak_explicit(&word, &v, me | WAITERS,
                                                      memory_order_acquire, memory_order_relaxed))
                return true;
            continue;
        }
        if (!(v & WAITERS) &&
            !atomic_compare_exchange_weak_explicit(&word, &v, v | WAITERS, memory_order_relaxed,
                                                   memory_order_relaxed))
            continue;
        futex(FUTEX_WAIT, v | WAITERS);
    }
}

/* While the process has one thread (glibc keeps __libc_single_threaded
 * true until the first pthread_create), no other thread can contend, so the
 * lock is taken and released with plain loads and stores: only a signal
 * handler on this same thread can come in between, and it sees the owner. */
MM_HOT bool mm_lock(void)
{
    int me = self();
    int v = 0;
    if (__libc_single_threaded) {
        v = atomic_load_explicit(&word, memory_order_relaxed);
        if (MM_LIKELY(v == 0)) {
            atomic_store_explicit(&word, me, memory_order_relaxed);
            atomic_signal_fence(memory_order_acquire);
            return true;
        }
        return lock_slow(me);
    }
    if (MM_LIKELY(atomic_compare_exchange_strong_explicit(&word, &v, me, memory_order_acquire,
                                                          memory_order_relaxed)))
        return true;
    return lock_slow(me);
}

MM_HOT void mm_unlock(void)
{
    if (__libc_single_threaded) {
        atomic_signal_fence(memory_order_release);
        atomic_store_explicit(&word, 0, memory_order_relaxed);
        return;
    }
    if (MM_UNLIKELY(atomic_exchange_explicit(&word, 0, memory_order_release) & WAITERS))
        futex(FUTEX_WAKE, 1);
}

int mm_self_tid(void)
{
    return self();
}


/* fork
 *
 * Before fork the lock is taken, so the child gets the heap in a consistent
 * state. glibc's fork takes its stdio list lock after running these handlers,
 * while a thread inside fflush or fopen can hold that lock and wait for ours:
 * taking the stdio lock first keeps the order every other thread uses.
 * glibc does its own locking only when the process has threads, and resets
 * the stdio lock in such a child, so we follow the same rule.
 *
 * When fork comes from a signal handler that interrupted this very thread
 * inside the allocator, the lock is ours already: the handlers leave it
 * alone, and the interrupted call finishes and unlocks in both processes
 * once the handler returns. */
extern void _IO_list_lock(void), _IO_list_unlock(void);

/* What each fork took, by nesting depth: a signal handler that comes in
 * during fork on this thread may fork again, and must not overwrite what
 * the outer fork has to give back. Prepare counts its depth before it
 * takes anything, so a fork nested anywhere from there on is one deeper.
 * Parent and child give back what their fork took with signals blocked: a
 * fork nested half-way through would find the depth given back but not
 * the locks. A signal that comes then is delivered once they are done (a
 * fault is not blocked: blocked, it would kill without a word). */
static __thread unsigned fork_depth MM_TLS;
static __thread uint32_t took_lock MM_TLS, took_stdio MM_TLS;

static void block_signals(sigset_t *old)
{
    sigset_t s;
    sigfillset(&s);
    sigdelset(&s, SIGSEGV);
    sigdelset(&s, SIGBUS);
    sigdelset(&s, SIGILL);
    sigdelset(&s, SIGFPE);
    pthread_sigmask(SIG_BLOCK, &s, old);
}

MM_HOT void mm_lock_fork_prepare(void)
{
    unsigned d = fork_depth++ % 32;
    bool stdio = !__libc_single_threaded;
    if (stdio)
        _IO_list_lock();
    bool lock = mm_lock();
    took_stdio = (took_stdio & ~(1u << d)) | (uint32_t)stdio << d;
    took_lock = (took_lock & ~(1u << d)) | (uint32_t)lock << d;
    mm_os_signal_point();        /* fail_signal: a fork nested here finds the lock taken */
}

MM_HOT void mm_lock_fork_parent(void)
{
    sigset_t old;
    block_signals(&old);
    unsigned d = --fork_depth % 32;
    mm_os_signal_point();        /* fail_signal: delivered once the locks are let go */
    if (took_lock >> d & 1)
        mm_unlock();
    if (took_stdio >> d & 1)
        _IO_list_unlock();
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

MM_HOT void mm_lock_fork_child(void (*reset)(void))
{
    /* The child has one thread, and the lock is this thread's either way
     * (taken above, or held by the call a signal handler interrupted); its
     * thread id changed with fork. No one can be waiting. glibc resets its
     * own stdio lock in the child of a threaded process: what the forks
     * this one is nested in took of it is gone too, and must not be let go
     * again when they end (its count would go below zero, and the lock stay
     * held for good after its next use). */
    sigset_t old;
    block_signals(&old);
    unsigned d = --fork_depth % 32;
    if (took_stdio >> d & 1)
        took_stdio = 0;
    self_tid = (int)syscall(SYS_gettid);
    atomic_store_explicit(&word, self_tid, memory_order_relaxed);
    reset();
    mm_os_signal_point();        /* fail_signal: delivered once the lock is let go */
    if (took_lock >> d & 1)
        mm_unlock();
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

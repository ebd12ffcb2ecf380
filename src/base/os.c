/* os.c -- every request to the kernel for memory goes through here.
 *
 * Each function preserves errno: the allocator sets errno itself, and only
 * when a whole API call fails (free must never change it). */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

size_t mm_page = 4096;
unsigned long mm_os_calls[MM_OS_NCALLS];

static void count(int call)
{
    __atomic_fetch_add(&mm_os_calls[call], 1, __ATOMIC_RELAXED);
}

/* Fault injection (the fail_* options): a call of a kind fails when it is
 * the fail_<kind>-th since the options were set, or at random with
 * probability fail_rate percent. */
enum { SBRK, MMAP, MADVISE };
static unsigned long calls[3];
static uint64_t rng;

MM_HOT void mm_os_faults_reset(void)
{
    calls[SBRK] = calls[MMAP] = calls[MADVISE] = 0;
    rng = mm_opt.fail_seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
}

static bool fail(int kind)
{
    static const size_t *const nth[3] = { &mm_opt.fail_sbrk, &mm_opt.fail_mmap, &mm_opt.fail_madvise };
    if (MM_LIKELY(!mm_opt.fail_rate && !*nth[kind]))
        return false;
    if (++calls[kind] == *nth[kind])
        return true;
    if (!mm_opt.fail_rate)
        return false;
    rng ^= rng << 13;     /* xorshift64 */
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % 100 < mm_opt.fail_rate;
}

MM_HOT void mm_os_init(void)
{
    long p = sysconf(_SC_PAGESIZE);
    if (p > 0)
        mm_page = (size_t)p;
}

MM_HOT void *mm_os_sbrk(intptr_t n)
{
    if (n > 0 && fail(SBRK))
        return NULL;
    int e = errno;
    if (n)
        count(MM_OS_SBRK);
    void *p = sbrk(n);
    errno = e;
    return p == (void *)-1 ? NULL : p;
}

MM_HOT void *mm_os_brk_now(void)
{
    return sbrk(0);
}

MM_HOT void *mm_os_map(size_t n)
{
    if (fail(MMAP))
        return NULL;
    int e = errno;
    count(MM_OS_MMAP);
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    errno = e;
    return p == MAP_FAILED ? NULL : p;
}

MM_HOT void mm_os_unmap(void *p, size_t n)
{
    int e = errno;
    count(MM_OS_MUNMAP);
    munmap(p, n);
    errno = e;
}

void *mm_os_remap(void *p, size_t old_n, size_t new_n)
{
    if (fail(MMAP))
        return NULL;
    int e = errno;
    count(MM_OS_MREMAP);
    void *q = mremap(p, old_n, new_n, MREMAP_MAYMOVE);
    errno = e;
    return q == MAP_FAILED ? NULL : q;
}

/* ---- pages made inaccessible one by one (guard pages) ----
 * Linux 6.13's guard markers (madvise MADV_GUARD_INSTALL) make pages of a
 * mapping fault without splitting it: a process can hold a guard page per
 * block by the hundred thousand, where mprotect would split the mapping
 * each time and reach the kernel's limit of mappings (vm.max_map_count,
 * 65,530) at a few tens of thousands. Where the kernel has no markers,
 * mprotect does the same, within that limit. */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE  103
#endif
static int markers = -1;              /* unknown yet, 0 no, 1 yes */

void *mm_os_reserve(size_t n)
{
    if (fail(MMAP))
        return NULL;
    int e = errno;
    count(MM_OS_MMAP);
    void *p = MAP_FAILED;
    if (markers != 0) {
        p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED && madvise(p, n, MADV_GUARD_INSTALL) != 0) {
            munmap(p, n);
            p = MAP_FAILED;
            markers = 0;
        } else if (p != MAP_FAILED) {
            markers = 1;
        }
    }
    if (markers == 0)
        p = mmap(NULL, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    errno = e;
    return p == MAP_FAILED ? NULL : p;
}

bool mm_os_protect(void *p, size_t n, bool accessible)
{
    int e = errno;
    count(MM_OS_MADVISE);
    int r = markers == 1 ? madvise(p, n, accessible ? MADV_GUARD_REMOVE : MADV_GUARD_INSTALL)
                         : mprotect(p, n, accessible ? PROT_READ | PROT_WRITE : PROT_NONE);
    errno = e;
    return r == 0;
}

MM_HOT bool mm_os_noaccess(void *p, size_t n, bool none)
{
    int e = errno;
    int r = mprotect(p, n, none ? PROT_NONE : PROT_READ | PROT_WRITE);
    errno = e;
    return r == 0;
}

/* ---- the allocator's own mappings ----
 * Records, tables and caches live in mappings of their own. They are kept
 * in a list (lock held), so that a scan of the process's memory (the leak
 * report) can tell them from the program's: the pointers in them are the
 * allocator's, never the program's. */
static struct mm_range *own;
static size_t own_n, own_cap;

MM_HOT static void own_add(void *p, size_t n)
{
    if (own_n == own_cap) {
        size_t cap = own_cap ? own_cap * 2 : 256;
        struct mm_range *a = mm_os_map(cap * sizeof *a);
        if (!a)
            return;          /* not listed: a scan reads it, and finds no program pointers */
        for (size_t i = 0; i < own_n; i++)
            a[i] = own[i];
        if (own)
            mm_os_unmap(own, own_cap * sizeof *own);
        own = a;
        own_cap = cap;
    }
    own[own_n++] = (struct mm_range){ (uintptr_t)p, (uintptr_t)p + n };
}

static void own_del(void *p)
{
    for (size_t i = 0; i < own_n; i++)
        if (own[i].lo == (uintptr_t)p) {
            own[i] = own[--own_n];
            return;
        }
}

MM_HOT void *mm_os_map_own(size_t n)
{
    void *p = mm_os_map(n);
    if (p)
        own_add(p, n);
    return p;
}

void mm_os_unmap_own(void *p, size_t n)
{
    own_del(p);
    mm_os_unmap(p, n);
}

void *mm_os_remap_own(void *p, size_t old_n, size_t new_n)
{
    void *q = mm_os_remap(p, old_n, new_n);
    if (q) {
        own_del(p);
        own_add(q, new_n);
    }
    return q;
}

bool mm_os_room_own(void **p, size_t *cap, size_t need, size_t unit)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 4096;
    while (n < need)
        n *= 2;
    void *q = *p ? mm_os_remap_own(*p, *cap * unit, n * unit) : mm_os_map_own(n * unit);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

size_t mm_os_own(const struct mm_range **ranges)
{
    *ranges = own;
    return own_n;
}

size_t mm_os_release(void *p, size_t n)
{
    uintptr_t lo = mm_align_up((uintptr_t)p, mm_page);
    uintptr_t hi = ((uintptr_t)p + n) & ~(uintptr_t)(mm_page - 1);
    if (hi <= lo || fail(MADVISE))
        return 0;
    int e = errno;
    count(MM_OS_MADVISE);
    int r = madvise((void *)lo, hi - lo, MADV_DONTNEED);
    errno = e;
    return r == 0 ? hi - lo : 0;
}

/* The signal goes to this thread alone, and is delivered before tgkill
 * returns: the handler runs right here, inside the allocator. */
void mm_os_signal_point_slow(void)
{
    static unsigned long points;
    if (++points % mm_opt.fail_signal_every)
        return;
    int e = errno;
    syscall(SYS_tgkill, getpid(), gettid(), (int)mm_opt.fail_signal);
    errno = e;
}

static int pid;

int mm_os_pid(void)
{
    int p = __atomic_load_n(&pid, __ATOMIC_RELAXED);
    if (!p)
        __atomic_store_n(&pid, p = getpid(), __ATOMIC_RELAXED);
    return p;
}

static bool forked;

void mm_os_after_fork(void)
{
    __atomic_store_n(&pid, getpid(), __ATOMIC_RELAXED);
    forked = true;
}

bool mm_os_forked(void)
{
    return forked;
}

/* syscall(2) is not a cancellation point; the wrappers of the same names
 * in glibc are. */
int mm_os_open(const char *path, int flags, int mode)
{
    return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

long mm_os_read(int fd, void *buf, size_t n)
{
    return syscall(SYS_read, fd, buf, n);
}

long mm_os_write(int fd, const void *buf, size_t n)
{
    return syscall(SYS_write, fd, buf, n);
}

void mm_os_close(int fd)
{
    int e = errno;
    syscall(SYS_close, fd);
    errno = e;
}

/* ---- the clock, from the vDSO itself ----
 * glibc's clock_gettime only calls the kernel's vDSO, but calling it maps
 * a 64 KiB stretch of libc's code into the process (the kernel maps a
 * page's neighbours with it: /proc/PID/smaps shows it), in every process
 * the library runs in. The vDSO is mapped in every process already, and
 * its own symbol table (found from AT_SYSINFO_EHDR, as the kernel's
 * tools/testing/selftests/vDSO/parse_vdso.c does) gives the function. */
typedef int (*gettime_fn)(clockid_t, struct timespec *);
static gettime_fn vdso_gettime;
static int vdso_state;                 /* 0: not looked for; 1: found; 2: not there */

/* An address in the vDSO's dynamic section, relocated or not. */
static uintptr_t vdso_addr(uintptr_t v, uintptr_t bias, uintptr_t base)
{
    return v < base ? v + bias : v;
}

static gettime_fn vdso_find(void)
{
    static const char name[] MM_QUIET_CONST = "__vdso_clock_gettime";
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)getauxval(AT_SYSINFO_EHDR);
    if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_phentsize != sizeof(ElfW(Phdr)))
        return NULL;
    uintptr_t base = (uintptr_t)eh, bias = 0;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(base + eh->e_phoff);
    const ElfW(Dyn) *dyn = NULL;
    bool loaded = false;
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && !loaded) {
            bias = base + ph[i].p_offset - ph[i].p_vaddr;
            loaded = true;
        }
    for (int i = 0; i < eh->e_phnum && loaded; i++)
        if (ph[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(bias + ph[i].p_vaddr);
    const ElfW(Sym) *sym = NULL;
    const char *str = NULL;
    const uint32_t *hash = NULL;
    for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
        uintptr_t v = vdso_addr(dyn->d_un.d_ptr, bias, base);
        if (dyn->d_tag == DT_SYMTAB)
            sym = (const ElfW(Sym) *)v;
        else if (dyn->d_tag == DT_STRTAB)
            str = (const char *)v;
        else if (dyn->d_tag == DT_HASH)
            hash = (const uint32_t *)v;
    }
    if (!sym || !str || !hash)
        return NULL;
    for (uint32_t i = 0; i < hash[1]; i++)      /* hash[1]: the number of symbols */
        if (ELF64_ST_TYPE(sym[i].st_info) == STT_FUNC && sym[i].st_shndx != SHN_UNDEF &&
            !strcmp(str + sym[i].st_name, name))
            return (gettime_fn)(bias + sym[i].st_value);
    return NULL;
}

/* clock_gettime, through the vDSO when it has the function. */
static void gettime(clockid_t clock, struct timespec *t)
{
    int state = __atomic_load_n(&vdso_state, __ATOMIC_ACQUIRE);
    if (MM_UNLIKELY(!state)) {
        gettime_fn f = vdso_find();   /* (the same in every thread that looks) */
        __atomic_store_n(&vdso_gettime, f, __ATOMIC_RELAXED);
        __atomic_store_n(&vdso_state, state = f ? 1 : 2, __ATOMIC_RELEASE);
    }
    if (state != 1 || __atomic_load_n(&vdso_gettime, __ATOMIC_RELAXED)(clock, t) != 0)
        syscall(SYS_clock_gettime, clock, t);
}

MM_HOT uint64_t mm_os_coarse_ms(void)
{
    struct timespec t;
    gettime(CLOCK_MONOTONIC_COARSE, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* splitmix64: spreads the bits of x over the whole word. */
static uint64_t mix(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* SipHash-2-4 of the 64-bit message m under the 128-bit key k: a keyed
 * function whose outputs tell nothing of the key or of each other. */
#define ROTL(x, b) ((x) << (b) | (x) >> (64 - (b)))
static void sip_round(uint64_t v[4])
{
    v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0]; v[0] = ROTL(v[0], 32);
    v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
    v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
    v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2]; v[2] = ROTL(v[2], 32);
}

static uint64_t siphash(const uint64_t k[2], uint64_t m)
{
    uint64_t v[4] = { k[0] ^ UINT64_C(0x736f6d6570736575), k[1] ^ UINT64_C(0x646f72616e646f6d),
                      k[0] ^ UINT64_C(0x6c7967656e657261), k[1] ^ UINT64_C(0x7465646279746573) };
    uint64_t last = UINT64_C(8) << 56;      /* the length, 8 bytes, in the last block */
    v[3] ^= m;
    sip_round(v), sip_round(v);
    v[0] ^= m;
    v[3] ^= last;
    sip_round(v), sip_round(v);
    v[0] ^= last;
    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* Where the kernel gives no random bytes (getrandom missing, or refused by
 * a sandbox): SipHash, keyed with the 16 bytes the kernel gave the process
 * at exec (AT_RANDOM) folded with the clock, the pid and an address, over
 * a counter: each word apart from the others, none of them the key. */
static void fallback_fill(unsigned char *b, size_t n)
{
    static uint64_t key[2], counter;
    static bool keyed;
    if (!keyed) {
        const unsigned char *a = (const unsigned char *)getauxval(AT_RANDOM);
        if (a)
            memcpy(key, a, sizeof key);
        struct timespec t;
        gettime(CLOCK_MONOTONIC, &t);
        uint64_t extra[2] = { (uint64_t)t.tv_nsec ^ (uint64_t)t.tv_sec << 32,
                              (uint64_t)getpid() << 32 ^ (uintptr_t)&t };
        uint64_t k0 = siphash(extra, key[0]), k1 = siphash(extra, key[1] ^ 1);
        key[0] = k0;
        key[1] = k1;
        keyed = true;
    }
    while (n) {
        uint64_t w = siphash(key, ++counter);
        size_t take = n < 8 ? n : 8;
        memcpy(b, &w, take);
        b += take;
        n -= take;
    }
}

MM_HOT void mm_os_random_fill(void *buf, size_t n)
{
    int e = errno;
    unsigned char *b = buf;
    size_t got = 0;
    while (got < n) {
        long r = mm_opt.fail_getrandom ? -1 : syscall(SYS_getrandom, b + got, n - got, 0x0001 /* GRND_NONBLOCK */);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    errno = e;
    if (got < n)
        fallback_fill(b + got, n - got);
}

uint64_t mm_os_random(void)
{
    /* The kernel gives every process 16 random bytes (AT_RANDOM); the
     * address of a local adds the stack's randomisation. */
    uint64_t r = (uintptr_t)&r;
    const unsigned char *a = (const unsigned char *)getauxval(AT_RANDOM);
    if (a)
        for (int i = 0; i < 16; i++)
            r = mix(r ^ a[i]);
    return mix(r);
}

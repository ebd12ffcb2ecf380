/* What a quiet program pays in memory for the library itself, whatever it
 * allocates: no static TLS to speak of (glibc zeroes every thread's copy
 * when the thread starts, so each byte of it is resident in every thread),
 * no page of its read-only data (the kernel maps a faulting page's
 * neighbours with it, so one read maps the whole segment), and no page of
 * memory written past the blocks that memalign carves from top or at the
 * heap's end. */
#include "helper.h"

#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

struct lib {
    uintptr_t base;
    const ElfW(Phdr) *ph;
    int n;
};

static int find_lib(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct lib *l = arg;
    if (info->dlpi_name && strstr(info->dlpi_name, "libmymalloc")) {
        l->base = info->dlpi_addr;
        l->ph = info->dlpi_phdr;
        l->n = info->dlpi_phnum;
        return 1;
    }
    return 0;
}

/* Whether the 4 KiB page of memory at a is mapped in this process
 * (/proc/self/pagemap, bit 63: present). */
static bool present(uintptr_t a)
{
    static int fd = -1;
    if (fd < 0)
        fd = open("/proc/self/pagemap", O_RDONLY);
    CHECK(fd >= 0);
    uint64_t e;
    CHECK(pread(fd, &e, sizeof e, (off_t)(a / 4096 * 8)) == (ssize_t)sizeof e);
    return e >> 63 & 1;
}

/* Quiet work of every kind: every class of the pages, the chain, big
 * blocks, calloc, realloc, the aligned calls, enough calls for the tick
 * (it reads the clock), in two threads. */
static void *work(void *arg)
{
    (void)arg;
    enum { N = 512 };
    static __thread void *p[N];
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < N; i++) {
            size_t n = i % 64 == 63 ? 40000 + (size_t)i : (size_t)(i * 67 % 33000) + 1;
            p[i] = malloc(n);
            CHECK(p[i]);
            memset(p[i], 1, n < 64 ? n : 64);
        }
        for (int i = 0; i < N; i += 2) {
            free(p[i]);
            p[i] = NULL;
        }
        for (int i = 1; i < N; i += 4) {
            p[i] = realloc(p[i], 3000 + (size_t)i);
            CHECK(p[i]);
        }
        void *c = calloc(100, 30), *a = aligned_alloc(256, 2048), *m = NULL, *big = malloc(300000);
        CHECK(c && a && big && posix_memalign(&m, 4096, 5000) == 0);
        CHECK(malloc_usable_size(c) >= 3000);
        free(c), free(a), free(m), free(big);
        for (int i = 0; i < N; i++)
            free(p[i]);
    }
    return NULL;
}

int main(void)
{
    /* the proof that malloc is the library's, but for its version string,
     * which lies in its read-only data: checked at the end */
    Dl_info info;
    void *mf = dlsym(RTLD_DEFAULT, "malloc");
    if (!mf || !dladdr(mf, &info) || !strstr(info.dli_fname, "libmymalloc"))
        FAIL("malloc is not libmymalloc's");

    /* memalign from top: the block and top's header after it, nothing
     * further (a chunk carved a page too big, then cut, left a header one
     * page past the block's end). Fresh memory of the break: not resident
     * until written. */
    /* the heap's end: no header there (a fencepost written at each growth
     * of the heap kept that page of memory resident) */
    free(malloc(40000));
    uintptr_t brk_end = (uintptr_t)sbrk(0);
    if (present(brk_end - 1))
        FAIL("the last page of memory below the break (%p) is resident", (void *)brk_end);

    /* q0's chunk ends on a 4 KiB boundary, so that top's first block is
     * aligned and q is carved at top's start */
    size_t n0 = 40960 - 16, n = 100000;
    char *q0 = memalign(4096, n0), *q = memalign(4096, n);
    CHECK(q0 && q);
    if (q != q0 + 40960)
        FAIL("memalign(4096, %zu) = %p after memalign(4096, %zu) = %p: not the next block of top", n,
             (void *)q, n0, (void *)q0);
    uintptr_t end = ((uintptr_t)q + n + 64 + 4095) & ~(uintptr_t)4095;   /* past top's header */
    for (uintptr_t a = end; a < end + 3 * 4096; a += 4096)
        if (present(a))
            FAIL("memalign(4096, %zu) = %p: the page of memory at %p, past the block and top's header, is "
                 "resident", n, (void *)q, (void *)a);
    free(q);
    free(q0);

    struct lib l = { 0 };
    CHECK(dl_iterate_phdr(find_lib, &l) == 1);
    for (int i = 0; i < l.n; i++)
        if (l.ph[i].p_type == PT_TLS && l.ph[i].p_memsz > 1024)
            FAIL("the library's static TLS is %zu bytes: every thread zeroes its own copy when it starts",
                 (size_t)l.ph[i].p_memsz);

    pthread_t t;
    CHECK(pthread_create(&t, NULL, work, NULL) == 0);
    work(NULL);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(malloc_trim(0) >= 0);

    /* The read-only data: the segment that is neither code nor the first
     * (headers and dynamic symbols, which the loader reads). */
    int segments = 0;
    for (int i = 0; i < l.n; i++) {
        const ElfW(Phdr) *ph = &l.ph[i];
        if (ph->p_type != PT_LOAD || ph->p_flags != PF_R || ph->p_offset == 0)
            continue;
        segments++;
        uintptr_t lo = (l.base + ph->p_vaddr) & ~(uintptr_t)4095, hi = l.base + ph->p_vaddr + ph->p_memsz;
        for (uintptr_t a = lo; a < hi; a += 4096)
            if (present(a))
                FAIL("the library's read-only data at %p (page %zu of its segment at %p) is mapped after "
                     "quiet work", (void *)a, (size_t)(a - lo) / 4096, (void *)lo);
    }
    CHECK_EQ(segments, 1);
    require_mymalloc();
    printf("ok: no static TLS, no read-only data, nothing written past a block carved from top or at the heap's end\n");
    return 0;
}

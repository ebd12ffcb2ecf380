/* sample.c -- profile_sample=BYTES: a profile of long runs at close to
 * native speed, as tcmalloc's and jemalloc's heap profilers take it.
 *
 * Each thread counts down the bytes it allocates (mm_sample_due, called for
 * every malloc from api.c, and from the toolkit's calloc, memalign and
 * realloc); when the count passes zero, that allocation is sampled and a
 * new count is drawn from an exponential distribution of mean BYTES. An
 * allocation of n bytes is thus sampled with probability
 * p = 1 - e^(-n/BYTES), whatever the program's pattern, and a sampled one
 * is charged to its site with the weight n / p: the bytes the profile
 * shows are an unbiased estimate of the real ones. Nothing else is
 * recorded: the other allocations take the quiet paths, without a stack or
 * a record.
 *
 * A sampled block is an ordinary block of the chain (with the pages on,
 * never a page's, so that free's inline path leaves it to the toolkit);
 * free tells it by its address: a table of counters by page (`near`) says
 * whether a sampled block may start in that page, and only then is the
 * table of sampled blocks looked up, under the lock. */
#include "debug.h"

#include <string.h>

static __thread int64_t left MM_TLS;       /* bytes to the next sample; 0: not drawn yet */
static __thread uint64_t rng MM_TLS;

struct sampled {
    uintptr_t p;                  /* 0: empty */
    uint32_t site;
    size_t n;
    int64_t weight;
};
static struct sampled *table;     /* open addressing, lock held */
static size_t table_cap, count;
static uint8_t near[1u << 16];    /* by page: sampled blocks that start there, saturating */
static uint64_t threads;          /* seeds given out */

static size_t page_slot(uintptr_t p) { return (p >> 12) & (sizeof near - 1); }

/* ---- arithmetic without libm ---- */

/* ln(u) for 0 < u <= 1: u = m 2^e with m in [1, 2), ln(m) = 2 atanh(z),
 * z = (m - 1) / (m + 1) <= 1/3; five terms of the series leave an error
 * under 1e-6. */
static double ln(double u)
{
    uint64_t bits;
    memcpy(&bits, &u, sizeof bits);
    int e = (int)((bits >> 52) & 0x7ff) - 1023;
    bits = (bits & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1023) << 52);
    double m;
    memcpy(&m, &bits, sizeof m);
    double z = (m - 1) / (m + 1), z2 = z * z;
    double s = z * (1 + z2 * (1.0 / 3 + z2 * (1.0 / 5 + z2 * (1.0 / 7 + z2 * (1.0 / 9)))));
    return 2 * s + e * 0.6931471805599453;
}

/* e^(-y) for y >= 0: y = k ln 2 + r with r in [0, ln 2), e^(-r) by its
 * series to the 12th term. */
static double exp_neg(double y)
{
    if (y > 700)
        return 0;
    int k = (int)(y / 0.6931471805599453);
    double r = y - k * 0.6931471805599453, term = 1, sum = 1;
    for (int i = 1; i <= 12; i++) {
        term *= -r / i;
        sum += term;
    }
    while (k-- > 0)
        sum *= 0.5;
    return sum;
}

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Bytes to the next sample: exponential, of mean profile_sample. */
static int64_t gap(void)
{
    if (!rng) {
        uint64_t t = __atomic_add_fetch(&threads, 1, __ATOMIC_RELAXED);
        rng = mm_opt.profile_seed ? mm_opt.profile_seed * UINT64_C(0x9e3779b97f4a7c15) + t
                                  : mm_os_random() ^ (uintptr_t)&rng;
        if (!rng)
            rng = 1;
    }
    double u = (double)((next_random() >> 11) + 1) / 9007199254740992.0;   /* (0, 1] */
    double g = -ln(u) * (double)mm_opt.profile_sample;
    return g >= 9e18 ? INT64_MAX : (int64_t)g + 1;
}

/* ---- the table of sampled blocks ---- */

static struct sampled *find(uintptr_t p)
{
    if (!table_cap)
        return NULL;
    for (size_t j = mm_keyed_slot(p, table_cap); table[j].p; j = (j + 1) & (table_cap - 1))
        if (table[j].p == p)
            return &table[j];
    return NULL;
}

/* Takes e out of the table (backward-shift deletion keeps probes whole). */
static void drop(struct sampled *e)
{
    size_t i = (size_t)(e - table);
    for (size_t j = (i + 1) & (table_cap - 1); table[j].p; j = (j + 1) & (table_cap - 1)) {
        size_t home = mm_keyed_slot(table[j].p, table_cap);
        /* table[j] may move to i when its home is not in (i, j] */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            table[i] = table[j];
            i = j;
        }
    }
    table[i].p = 0;
    count--;
}

/* ---- the paths ---- */

bool mm_sample_pages;

bool mm_sample_due(size_t n)
{
    if (!rng)
        left = gap();            /* a thread's first count */
    if ((left -= (int64_t)n) >= 0)
        return false;
    left = gap();
    return true;
}

void mm_sample_note(void *p, size_t n)
{
    uintptr_t pcs[64];
    int depth = mm_stack_capture(pcs, (int)mm_opt.stack_depth);
    double T = (double)mm_opt.profile_sample, prob = 1 - exp_neg((double)n / T);
    int64_t weight = prob > 0 ? (int64_t)((double)n / prob + 0.5) : (int64_t)T;
    if (!mm_enter())
        return;                  /* (a signal handler's: not counted) */
    uint32_t site = mm_site_intern(pcs, depth);
    if (!find((uintptr_t)p) &&
        ((count + 1) * 2 <= table_cap || mm_keyed_grow((void **)&table, &table_cap, sizeof *table, 1024))) {
        size_t j = mm_keyed_slot((uintptr_t)p, table_cap);
        while (table[j].p)
            j = (j + 1) & (table_cap - 1);
        table[j] = (struct sampled){ (uintptr_t)p, site, n, weight };
        count++;
        uint8_t *c = &near[page_slot((uintptr_t)p)];
        if (*c < 255)
            __atomic_store_n(c, (uint8_t)(*c + 1), __ATOMIC_RELAXED);
        mm_profile_charge(site, weight, 0);
    }
    mm_leave();
}

bool mm_sample_maybe(const void *p)
{
    return __atomic_load_n(&near[page_slot((uintptr_t)p)], __ATOMIC_RELAXED) != 0;
}

size_t mm_sample_forget(const void *p)
{
    if (!mm_enter())
        return 0;
    struct sampled *e = find((uintptr_t)p);
    size_t n = 0;
    if (e) {
        n = e->n;
        mm_profile_charge(e->site, -e->weight, 0);
        uint8_t *c = &near[page_slot(e->p)];
        if (*c < 255)            /* (a saturated count stays: a lookup too many) */
            __atomic_store_n(c, (uint8_t)(*c - 1), __ATOMIC_RELAXED);
        drop(e);
    }
    mm_leave();
    return n;
}

void mm_sample_after_fork(void)
{
    rng = 0;                     /* the child draws its own */
}

/* trace.c -- trace=PATH: every call, recorded compactly.
 *
 * Records (struct mymalloc_trace_record, 40 bytes, in include/mymalloc.h)
 * collect in a buffer and go to the file a block at a time, each block with
 * one write(2) on a descriptor opened with O_APPEND: the processes of a
 * fork that share one file never cut into each other's blocks. A path with
 * %p gives each process a file of its own (truncated when opened). The
 * caller holds the lock. */
#include "debug.h"
#include "../../include/mymalloc.h"

#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECORDS 1600        /* 64 KiB a block */

static int fd = -1;
static uint32_t used;
static struct {
    struct mymalloc_trace_block head;
    struct mymalloc_trace_record rec[RECORDS];
} buf;

static bool per_process(void) { return strstr(mm_opt.trace, "%p") != NULL; }

static void open_file(void)
{
    if (fd < 0 && mm_opt.trace[0])
        fd = mm_path_open(mm_opt.trace, O_APPEND | (per_process() ? O_TRUNC : 0));
}

void mm_trace_flush(void)
{
    if (!used || fd < 0)
        return;
    memcpy(buf.head.magic, "MMTRACE1", 8);
    buf.head.pid = (uint32_t)getpid();
    buf.head.count = used;
    size_t n = sizeof buf.head + used * sizeof buf.rec[0];
    for (const char *p = (const char *)&buf; n;) {
        ssize_t w = mm_os_write(fd, p, n);
        if (w <= 0)
            break;       /* a full disk loses records, never the program */
        p += w;
        n -= (size_t)w;
    }
    used = 0;
}

void mm_trace(int call, const void *ptr, size_t size, size_t align, const void *result)
{
    if (!mm_opt.trace[0])
        return;
    open_file();
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    buf.rec[used++] = (struct mymalloc_trace_record){
        .ns = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec,
        .ptr = (uintptr_t)ptr,
        .result = (uintptr_t)result,
        .size = size,
        .tid = (uint32_t)mm_self_tid(),
        .call = (uint8_t)(call == MM_CALL_FREE ? MYMALLOC_TRACE_FREE : call),
        .align_log2 = (uint8_t)(align > MM_ALIGN ? __builtin_ctzll(align) : 0),
    };
    if (used == RECORDS)
        mm_trace_flush();
}

/* The child of a fork: the records in the buffer are the parent's to write. */
void mm_trace_after_fork(void)
{
    used = 0;
    if (fd >= 0 && per_process()) {
        mm_os_close(fd);
        fd = -1;
    }
}

/* names.c -- the names of the profile's frames, each found once a file:
 * the same frame is in most snapshots, and finding a name reads the
 * module's symbols. An open-addressing table of pc -> its name in `text`,
 * in mappings of its own. Lock held (the profile is written with it). */
#include "debug.h"

#include <string.h>

struct named { uintptr_t pc; size_t at; };
static struct named *named;
static size_t named_cap, nnamed;
static char *text;
static size_t text_cap, text_used;

void mm_frame_names_forget(void)
{
    if (named)
        memset(named, 0, named_cap * sizeof *named);
    nnamed = text_used = 0;
}

static bool names_grow(void)
{
    size_t cap = named_cap ? named_cap * 2 : 4096;
    struct named *t = mm_os_map_own(cap * sizeof *t);
    if (!t)
        return false;
    for (size_t i = 0; i < named_cap; i++)
        if (named[i].pc) {
            size_t j = (named[i].pc >> 4) & (cap - 1);
            while (t[j].pc)
                j = (j + 1) & (cap - 1);
            t[j] = named[i];
        }
    if (named)
        mm_os_unmap_own(named, named_cap * sizeof *named);
    named = t;
    named_cap = cap;
    return true;
}

void mm_frame_name(uintptr_t pc, char *buf, size_t cap)
{
    if ((nnamed + 1) * 2 > named_cap && !names_grow()) {
        mm_symbolize_as(pc, buf, cap, true);
        return;
    }
    size_t j = (pc >> 4) & (named_cap - 1);
    for (; named[j].pc; j = (j + 1) & (named_cap - 1))
        if (named[j].pc == pc) {
            mm_fmt(buf, cap, "%s", text + named[j].at);
            return;
        }
    size_t n = mm_symbolize_as(pc, buf, cap, true);   /* as massif: "(in /path)" */
    if (n >= cap)
        n = cap - 1;
    if (mm_os_room_own((void **)&text, &text_cap, text_used + n + 1, 1)) {
        memcpy(text + text_used, buf, n + 1);
        named[j] = (struct named){ pc, text_used };
        text_used += n + 1;
        nnamed++;
    }
}

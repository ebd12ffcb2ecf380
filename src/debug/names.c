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

void mm_frame_name(uintptr_t pc, char *buf, size_t cap)
{
    if ((nnamed + 1) * 2 > named_cap && !mm_keyed_grow((void **)&named, &named_cap, sizeof *named, 4096)) {
        mm_symbolize_as(pc, buf, cap, true);
        return;
    }
    size_t j = mm_keyed_slot(pc, named_cap);
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

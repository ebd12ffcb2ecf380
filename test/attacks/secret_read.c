/* One read of a block gives the key away?  Reads the word a key would show
 * through, as mymalloc before 0.15 mixed them (a link: the secret xor the
 * holder's address over 16; a cache mark: the address xor the secret xor a
 * constant), takes the secret from it, and checks it against a real
 * header's tag (a 16-bit hash of address ^ header times the secret). If it
 * matches, every header can be forged: the attack worked. If not, it
 * forges the top chunk with what it found, as an attacker would, and asks
 * for a block that top must serve: the library must report the header.
 *
 *   freed   the NULL link in a freed chain block (a block over 32 KiB)
 *   fresh   the links a block handed out again still carries (the attack
 *           works, too, when they are still there: a link shows a value
 *           of its key's mix)
 *   cached  the mark of a block in a thread cache (run with leaks=1)
 */
#include "attack.h"

#include <string.h>

static uint64_t old_tag(uintptr_t c, uint64_t body, uint64_t secret)
{
    return ((c ^ body) * secret) >> 48;
}

int main(int argc, char **argv)
{
    under_mymalloc();
    const char *mode = argc > 1 ? argv[1] : "freed";
    uint64_t word = 0, secret;
    uintptr_t held;
    char *g;
    if (!strcmp(mode, "cached")) {
        char *p = malloc(40);
        g = malloc(40000);
        free(p);
        word = WORD(p, 0);
        held = (uintptr_t)p - 16;
        secret = word ^ held ^ UINT64_C(0x63616368656421aa);
    } else {
        char *p = malloc(40000);
        g = malloc(40000);                 /* p is not next to top */
        free(p);
        word = WORD(p, 8);                 /* bk: NULL for a bin's first chunk */
        if (!strcmp(mode, "fresh")) {
            char *q = malloc(40000);       /* the same chunk, from its bin */
            if (q == p && WORD(q, 8) == word)
                SUCCEEDED("the block handed out again still shows its link %#llx", (unsigned long long)word);
            word = WORD(q, 8);
        }
        held = (uintptr_t)p - 16;
        secret = word ^ (held >> 4);
    }
    uintptr_t cg = (uintptr_t)g - 16;
    uint64_t head = WORD(cg, 8);
    if (old_tag(cg, head & ((UINT64_C(1) << 48) - 1), secret) == head >> 48)
        SUCCEEDED("the secret read from a %s block (%#llx) makes the tag of every header", mode,
                  (unsigned long long)secret);
    /* Forge top, just after g, with the secret found: a size that reaches
     * far past the heap's end. */
    uintptr_t top = cg + (head & 0xfffffff0);
    say((void *)(top + 16));
    uint64_t body = (UINT64_C(1) << 40) | 2;      /* a terabyte, PINUSE */
    WORD(top, 8) = body | old_tag(top, body, secret) << 48;
    char *q = malloc(50000);
    SUCCEEDED("malloc served %p from a forged top", (void *)q);
}

/* A tag guessed: a header with a forged size is tried with every value of
 * the 16 bits a tag had before 0.15 (the rest of the word as it was), as a
 * forking server gives an attacker one try per child. The oracle, instead
 * of a child's crash, is the heap's own summary (mymalloc_heap_info),
 * which walks the chain and stops at a header it does not accept. Two
 * sizes are forged; when both are found, the attack worked. When not, the
 * last guess is freed, as the attacker's last child would: the library
 * must report the header. */
#include "attack.h"

int main(void)
{
    under_mymalloc();
    char *p = malloc(40000), *g = malloc(40000);
    (void)g;
    say(p);
    uint64_t orig = WORD(p, -8), low = orig & ((UINT64_C(1) << 48) - 1);
    struct mymalloc_heap_info h;
    WORD(p, -8) = 0;                              /* a header no tag makes valid */
    heap_info(&h);
    size_t refused = h.live_bytes;
    int found = 0;
    uint64_t guess = 0;
    for (uint64_t grow = 0x100; grow <= 0x200; grow += 0x100) {
        for (uint64_t t = 0; t < 65536; t++) {
            guess = t << 48 | (low + grow);
            WORD(p, -8) = guess;
            heap_info(&h);
            if (h.live_bytes != refused) {
                found++;
                break;
            }
        }
        WORD(p, -8) = orig;
    }
    if (found == 2)
        SUCCEEDED("headers with forged sizes found among 65,536 guesses each");
    WORD(p, -8) = guess;
    free(p);
    SUCCEEDED("a guessed header was freed");
}

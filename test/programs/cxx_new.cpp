// cxx_new: operator new as C++ says it must behave.
//   bad_alloc   new of an impossible size throws std::bad_alloc
//   handler     the new-handler is called when there is no memory, and new
//               tries again: with the address space limited, 256 MiB cannot
//               be had; the handler lifts the limit, and the next try works
//   nothrow     new (std::nothrow) of an impossible size returns nullptr
//   aligned     new of an over-aligned type is aligned, and delete takes it
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <sys/resource.h>

static int calls;
static volatile std::size_t huge = SIZE_MAX / 2;
static struct rlimit before;

static void lift_the_limit()
{
    calls++;
    setrlimit(RLIMIT_AS, &before);
}

struct alignas(256) Wide { char v[256]; };

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    if (!std::strcmp(m, "bad_alloc")) {
        try {
            char *p = new char[huge];
            std::printf("no exception: %p\n", static_cast<void *>(p));
        } catch (const std::bad_alloc &) {
            std::puts("bad_alloc");
        }
    } else if (!std::strcmp(m, "handler")) {
        getrlimit(RLIMIT_AS, &before);
        struct rlimit low = before;
        low.rlim_cur = 64u << 20;        // far less than the program has mapped already
        setrlimit(RLIMIT_AS, &low);
        std::set_new_handler(lift_the_limit);
        char *p = new char[256u << 20];
        std::printf("handler called %d time%s, then %s\n", calls, calls == 1 ? "" : "s", p ? "allocated" : "nothing");
        delete[] p;
    } else if (!std::strcmp(m, "nothrow")) {
        char *p = new (std::nothrow) char[huge];
        std::puts(p ? "not null" : "nullptr");
    } else if (!std::strcmp(m, "aligned")) {
        Wide *w = new Wide();
        std::printf("%s\n", reinterpret_cast<std::uintptr_t>(w) % 256 ? "misaligned" : "aligned");
        delete w;
    }
    return 0;
}

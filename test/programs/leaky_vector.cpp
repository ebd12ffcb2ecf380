// leaky_vector: a std::vector that grows by push_back is leaked (new'ed,
// never deleted) by fill_and_lose. The allocation's stack runs through a
// dozen frames of libstdc++'s templates before it reaches fill_and_lose:
// the default stack depth must reach it.
#include <vector>

__attribute__((noinline)) static void fill_and_lose()
{
    auto *v = new std::vector<long>;
    for (long i = 0; i < 1000; i++)
        v->push_back(i);
}

int main()
{
    fill_and_lose();
    return 0;
}

// A C++ program that leans on the allocator: std::map, std::string,
// std::vector, shared_ptr, aligned new. Its output depends only on its
// input, so runs with and without the library can be compared.
#include <cstdio>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

struct alignas(64) Wide { double v[8]; };

int main(int argc, char **argv)
{
    int n = argc > 1 ? std::atoi(argv[1]) : 200000;
    std::map<std::string, std::vector<int>> m;
    std::unordered_map<int, std::shared_ptr<std::string>> u;
    for (int i = 0; i < n; i++) {
        std::string k = "key-" + std::to_string(i * 7919 % n);
        m[k].push_back(i);
        u[i % 5000] = std::make_shared<std::string>(k + k);
        if (i % 3 == 0)
            m.erase("key-" + std::to_string(i / 2));
    }
    std::vector<std::unique_ptr<Wide>> w;
    for (int i = 0; i < 1000; i++) {
        w.emplace_back(new Wide());
        if (reinterpret_cast<uintptr_t>(w.back().get()) % 64) {
            std::puts("misaligned");
            return 1;
        }
    }
    size_t total = 0;
    for (auto &kv : m)
        total += kv.first.size() + kv.second.size();
    std::printf("%zu keys, %zu total, %zu shared\n", m.size(), total, u.size());
    return 0;
}

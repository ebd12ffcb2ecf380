// cxx_mismatch: a block freed by the wrong family, one mistake per argument:
//   malloc-delete     malloc(40), then delete          (malloc vs operator delete)
//   new-free          new Node, then free              (operator new vs free)
//   newarray-delete   new int[10], then delete         (operator new[] vs operator delete)
//   new-deletearray   new Node, then delete[]          (operator new vs operator delete[])
//   sized             new Derived (40 bytes), delete through Base (8):
//                     the sized delete names the wrong size (new-delete-type-mismatch)
//   ok                each family freed by its own
// Each mistake is in a function of its own, named for it.
#include <cstdlib>
#include <cstring>
#include <cstdio>

struct Node { long a, b, c; };
struct Base { long a; };                     // no virtual destructor
struct Derived : Base { long more[4]; };

__attribute__((noinline)) static void malloc_delete()
{
    Node *p = static_cast<Node *>(std::malloc(40));
    delete p;
}

__attribute__((noinline)) static void new_free()
{
    Node *p = new Node();
    std::free(p);
}

__attribute__((noinline)) static void newarray_delete()
{
    int *p = new int[10]();
    delete p;
}

__attribute__((noinline)) static void new_deletearray()
{
    Node *p = new Node();
    delete[] p;
}

__attribute__((noinline)) static void sized()
{
    Base *b = new Derived();
    delete b;
}

__attribute__((noinline)) static void ok()
{
    std::free(std::malloc(40));
    delete new Node();
    delete[] new int[10]();
    delete new Derived();
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "ok";
    if (!std::strcmp(m, "malloc-delete")) malloc_delete();
    else if (!std::strcmp(m, "new-free")) new_free();
    else if (!std::strcmp(m, "newarray-delete")) newarray_delete();
    else if (!std::strcmp(m, "new-deletearray")) new_deletearray();
    else if (!std::strcmp(m, "sized")) sized();
    else ok();
    std::puts("done");
    return 0;
}

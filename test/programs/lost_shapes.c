/* lost_shapes: every way a block is lost, for leaks=1, with what memcheck
 * says of each:
 *   lose_list      a list of 3 nodes of 96 bytes, no pointer to its head:
 *                  the head lost directly, 192 bytes indirectly;
 *   lose_cycle     two blocks of 150 bytes pointing at each other: one
 *                  lost directly, the other indirectly;
 *   lose_in_thread 250 bytes held only by the __thread variable of a
 *                  thread that has exited: lost;
 *   keep_inside    700 bytes held only by a pointer into the middle:
 *                  possibly lost.
 * Lost: 496 bytes directly in 3 blocks from 3 sites, 342 indirectly in 3
 * blocks from 2 sites; possibly lost: 700 bytes. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct node { struct node *next; char pad[88]; };   /* 96 bytes */

static char *inside_ref;
static __thread char *tls_ref;

__attribute__((noinline)) static struct node *new_node(struct node *next)
{
    struct node *n = malloc(sizeof *n);
    memset(n->pad, 'n', sizeof n->pad);
    n->next = next;
    return n;
}

__attribute__((noinline)) static void lose_list(void)
{
    struct node *head = new_node(new_node(new_node(NULL)));
    head->pad[0] = 'h';
}

__attribute__((noinline)) static void lose_cycle(void)
{
    void **a = malloc(150), **b = malloc(150);
    a[0] = b;
    b[0] = a;
}

__attribute__((noinline)) static void lose_in_thread(void)
{
    tls_ref = malloc(250);
    memset(tls_ref, 't', 250);
}

static void *worker(void *arg)
{
    lose_in_thread();
    return arg;
}

__attribute__((noinline)) static void keep_inside(void)
{
    char *p = malloc(700);
    memset(p, 0, 700);
    inside_ref = p + 320;
}

int main(void)
{
    lose_list();
    lose_cycle();
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
    keep_inside();
    /* wipe what the calls above left in this stack's unused part */
    volatile char wipe[4096];
    memset((char *)wipe, 0, sizeof wipe);
    return 0;
}

/* profile_tool.h -- what the profile command of mymalloc-trace shares:
 * the files that profile=FILE writes, in valgrind massif's format (a file
 * that massif wrote reads the same).
 *
 *   profile_read.c   loading a file; the sites of a tree
 *   profile_print.c  the table of the sites at the peak, the folded stacks
 *   profile_html.c   one HTML page: the heap over time, the peak's flame
 *                    graph, the table */
#ifndef PROFILE_TOOL_H
#define PROFILE_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef PROG
#define PROG "mymalloc-trace"
#endif

/* A node of a snapshot's tree: the root (the heap), a frame ("fn
 * (file:line)", its address), or the places below the threshold. */
struct pnode {
    char *label;
    uint64_t addr;
    int64_t bytes;
    unsigned long places;        /* >0: "in N places, all below ..." */
    struct pnode *parent, **kids;
    size_t nkids;
};

enum { SNAP_EMPTY, SNAP_DETAILED, SNAP_PEAK };

struct psnap {
    size_t number;
    uint64_t time;
    int64_t heap, extra;
    int kind;
    struct pnode *tree;          /* NULL for an empty one */
};

struct profile {
    const char *path;
    char *desc, *cmd, *time_unit;
    size_t n;
    struct psnap *snap;
};

/* A site: a stack that holds bytes, named by its node (the outermost frame
 * of the stack; its parents are the frames inside it). */
struct psite {
    const struct pnode *node;
    int64_t bytes;
};

/* Reads the whole file; on a bad one, one line naming the file and the
 * line, and -1. */
int profile_load(const char *path, struct profile *p);
void profile_free(struct profile *p);
/* The peak snapshot (or the largest detailed one); NULL if none. */
const struct psnap *profile_peak(const struct profile *p);
/* The sites of a tree, most bytes first; *out is malloc'ed. */
size_t profile_sites(const struct pnode *root, struct psite **out);
/* A frame's function, without "(file:line)"; returns its length. */
size_t frame_name(const char *label, char *out, size_t cap);

/* The commands: 0 done, 1 a file that cannot be read or written. */
int profile_table(const struct profile *p, unsigned long top);
int profile_folded(const struct profile *p);
int profile_html(const struct profile *p, const char *out_path, unsigned long top);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * vma_tree — the ordered set of an mm's VMAs, built for lock-free readers.
 *
 * A B+tree keyed by each VMA's vm_end (exclusive end).  VMAs in one tree never
 * overlap, so ordering by end is ordering by start too.  Internal nodes keep,
 * per child, the largest vm_end below it (the descent key) and the largest
 * gap below it (for get_unmapped_area); leaves keep (vm_end, vma) pairs.
 *
 * Invariants (checked by vt_validate()):
 *   - every leaf is at the same depth; entries in a node are sorted by key;
 *   - a node other than the root holds at least one entry; an internal root
 *     holds at least two (a root with one child is replaced by the child);
 *   - an internal node's key for child i equals the largest vm_end in it,
 *     and its gap for child i equals the largest gap of any VMA in it;
 *   - the gap of a VMA is vm_start - (previous VMA's vm_end, or 0);
 *   - t->count is the number of VMAs; leaves are linked in order.
 *
 * Locking:
 *   - Every function except vt_lookup_rcu needs the mmap lock; those that
 *     change the tree need it for writing, and so do the write-side lookups
 *     (vt_*_wr), which use and move the writer's cursor.
 *   - vt_lookup_rcu runs under rcu_read_lock() alone, concurrently with a
 *     writer.  It never crashes and never reads freed memory, but may return
 *     a VMA that no longer (or does not yet) cover addr, or NULL: the caller
 *     revalidates under the VMA's own lock and falls back to the mmap lock.
 *     To allow this, writers store node fields with atomic stores, publish new
 *     nodes with release stores, and free nodes only after an RCU grace period.
 */
#ifndef VMAREA_VMA_TREE_H
#define VMAREA_VMA_TREE_H

#include "mm_base.h"

#include <stdbool.h>
#include <stddef.h>

struct vma;
struct vt_node;

struct vma_tree {
    struct vt_node *root;        /* NULL when empty; RCU-published */
    unsigned int height;         /* 0 when empty, 1 when the root is a leaf */
    unsigned long count;         /* VMAs in the tree */
    struct vt_node *spare;       /* nodes reserved by vt_reserve, linked through their first child */
    unsigned int nr_spare;
    /* With defer_free set (vt_set_defer_free), unlinked nodes wait here for
     * their owner to hand them to RCU (vt_take_freed) instead of each going
     * through call_rcu; linked through their parent field. */
    bool defer_free;
    struct vt_node *freed;
    unsigned long nr_freed;
    /* In defer_free mode, unlinked leaves are reused at once, as leaves only:
     * a lock-free reader still inside one finds a leaf either way (a VMA
     * pointer or NULL, which it validates).  Linked through parent. */
    struct vt_node *leaf_spare;
    unsigned int nr_leaf_spare;
    /* The writer's cursor: a leaf and an index where the last change, or
     * write-side lookup, left the VMA it worked on.  A change nearly always
     * follows a lookup of the same VMA or a neighbour (find, then split or
     * merge; mmap, then munmap), and finds its entry here without a descent.
     * Only a hint: an entry is taken from it only if the slot holds the VMA
     * looked for (each VMA is in one slot, slots past count are NULL), or
     * if its keys show the address falls there.  NULL once its leaf leaves
     * the tree, so that it never points at a freed node.  Used only under
     * the mmap write lock; no reader looks at it. */
    struct vt_node *cur_leaf;
    unsigned int cur_idx;
};

void vt_init(struct vma_tree *t);
/* Free every node at once; the VMAs are the caller's.  No reader may remain. */
void vt_destroy(struct vma_tree *t);

/*
 * Node reclamation by the owner, which batches it with its own RCU frees:
 * vt_take_freed() returns the nodes unlinked since the last call (a chain);
 * once a grace period has passed, vt_give_spares() makes them spares again
 * (keeping a few, freeing the rest) and vt_free_chain() frees them.
 */
void vt_set_defer_free(struct vma_tree *t);
struct vt_node *vt_take_freed(struct vma_tree *t);
void vt_give_spares(struct vma_tree *t, struct vt_node *chain);
void vt_free_chain(struct vt_node *chain);

/*
 * Make sure the next @nr_inserts calls of vt_insert cannot fail: 0 or
 * -ENOMEM.  The nodes stay in t->spare until inserts use them or vt_destroy;
 * a later call only tops the list up.  The bound is worst case (a split on
 * every level), about nr_inserts * height nodes: meant for a few inserts.
 */
int  __must_check vt_reserve_slow(struct vma_tree *t, unsigned int nr_inserts);
static inline __must_check int vt_reserve(struct vma_tree *t, unsigned int nr_inserts)
{
    /* Spares stay until a split uses them, so nearly every call finds
     * enough, which for the few inserts callers reserve (1 to 3) is the
     * test below, vt_reserve_slow's own: a leaf and height internal nodes
     * per insert, one new root less, the leaves from the leaf spares first.
     * Anything else is decided, and topped up, out of line. */
    unsigned int n = nr_inserts;
    if (n - 1 < 3 &&
        t->nr_spare >= n * t->height + n - 1 + (n > t->nr_leaf_spare ? n - t->nr_leaf_spare : 0))
        return 0;
    return vt_reserve_slow(t, n);
}
/*
 * Insert a VMA that overlaps none in the tree (vm_start < vm_end < ULONG_MAX,
 * both set by the caller).  0, or -ENOMEM with the tree unchanged (never
 * after vt_reserve).
 */
int  __must_check vt_insert(struct vma_tree *t, struct vma *vma);
/* Remove a VMA that is in the tree.  Never fails. */
void vt_erase(struct vma_tree *t, struct vma *vma);
/*
 * The VMA's bounds are changing to [start, end): update the keys and gaps.
 * The caller guarantees the new range overlaps no other VMA; the tree writes
 * vma->vm_start and vma->vm_end itself.
 */
void vt_update(struct vma_tree *t, struct vma *vma, unsigned long start, unsigned long end);

/*
 * A split: new's bounds (set by the caller) are a prefix or a suffix of
 * vma's range; vma is trimmed to the rest (the tree writes its vm_start or
 * vm_end) and new is inserted beside it.  One descent when the leaf has room.
 * 0, or -ENOMEM with the tree unchanged (never after vt_reserve(t, 1)).
 */
int  __must_check vt_split(struct vma_tree *t, struct vma *vma, struct vma *new);
/*
 * Two splits at once: lo holds a prefix and hi a suffix of vma's range, and
 * vma keeps what lies between.  0, or -ENOMEM with the tree unchanged (never
 * after vt_reserve(t, 2)).
 */
int  __must_check vt_split3(struct vma_tree *t, struct vma *vma, struct vma *lo, struct vma *hi);
/*
 * A merge: target's range becomes [start, end), which must include its old
 * one, and every other VMA overlapping [start, end) is removed from the tree
 * (each must lie inside it).  One descent when they share target's leaf.
 * Never fails.
 */
void vt_merge(struct vma_tree *t, struct vma *target, unsigned long start, unsigned long end);

/* The VMA containing addr, or NULL. */
struct vma *vt_lookup(const struct vma_tree *t, unsigned long addr);
/* The first VMA with vm_end > addr (find_vma), or NULL. */
struct vma *vt_find(const struct vma_tree *t, unsigned long addr);
/* The last VMA with vm_start < addr (the one before vt_find(addr)'s gap), or NULL. */
struct vma *vt_find_prev(const struct vma_tree *t, unsigned long addr);
/* Both at once: returns vt_find(addr) and sets *prev to vt_find_prev(addr). */
struct vma *vt_find_and_prev(const struct vma_tree *t, unsigned long addr, struct vma **prev);
struct vma *vt_first(const struct vma_tree *t);
struct vma *vt_last(const struct vma_tree *t);
/* Neighbours of a VMA in the tree, or NULL: a descent each, O(log n). */
struct vma *vt_next(const struct vma_tree *t, const struct vma *vma);
struct vma *vt_prev(const struct vma_tree *t, const struct vma *vma);

/*
 * Write-side lookups: the answers of vt_find, vt_find_and_prev and vt_next,
 * for a caller holding the mmap write lock.  They start from the writer's
 * cursor (O(1) when the answer is at or beside it, a descent otherwise) and
 * leave it at what they found, for the change that follows.
 */
struct vma *vt_find_wr(struct vma_tree *t, unsigned long addr);
struct vma *vt_find_and_prev_wr(struct vma_tree *t, unsigned long addr, struct vma **prev);
struct vma *vt_next_wr(struct vma_tree *t, const struct vma *vma);

/*
 * Free space: the highest (topdown) or lowest (bottomup) range of at least
 * @length bytes inside [low, high) that no VMA covers.  Returns its end
 * (topdown: the free range is [ret - length, ret), and ret is as high as
 * possible) or its start (bottomup: [ret, ret + length)), or -ENOMEM.
 * The space after the last VMA counts, up to high.  -ENOMEM too when length
 * is 0 or does not fit in [low, high).  high is lowered to LONG_MAX so that
 * the result fits a long.  O(log n).
 */
long vt_gap_topdown(const struct vma_tree *t, unsigned long low, unsigned long high, unsigned long length);
long vt_gap_bottomup(const struct vma_tree *t, unsigned long low, unsigned long high, unsigned long length);

/* Lock-free lookup under rcu_read_lock(): see above. */
struct vma *vt_lookup_rcu(const struct vma_tree *t, unsigned long addr);

/* Bytes of tree nodes in use (for the bytes-per-VMA figure). */
size_t vt_node_bytes(const struct vma_tree *t);
/* Check every invariant; returns 0 or a negative line number of the failed check. */
int  vt_validate(const struct vma_tree *t);

#endif

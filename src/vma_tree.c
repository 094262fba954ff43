/* SPDX-License-Identifier: MIT */
/*
 * vma_tree.c — the ordered set of an mm's VMAs: a B+tree keyed by vm_end,
 * with per-subtree maximum gaps, read without locks under RCU.
 *
 * The ideas everything below rests on:
 *
 *  1. One node layout for both levels.  A leaf is a prefix of an internal
 *     node: both hold sorted keys and pointer slots; an internal node adds a
 *     gap per child.  Slots past count hold the key VT_KEY_NONE (ULONG_MAX)
 *     and a NULL pointer, so a search may compare keys without looking at
 *     count, and a lock-free reader, which never loads count, finds NULL
 *     there rather than garbage.
 *
 *  2. Writers change nodes in place, one aligned word at a time, with atomic
 *     stores; lock-free readers load with atomic loads.  A reader can see a
 *     half-shifted node (an entry twice, or a NULL slot) and then returns a
 *     wrong VMA or NULL, which the header allows: the caller revalidates.  A
 *     node that a reader might still reach is freed only through call_rcu.
 *
 *  3. Each node knows its parent and its neighbours on the same level, so a
 *     change is fixed up by walking upward from the node it touched
 *     (propagate), and inserts can spill into a neighbour instead of
 *     splitting.  Only writers use these links; readers never follow them.
 *
 *  4. A VMA's gap is not stored: it is vm_start minus the previous key, and
 *     the previous key of a leaf's first entry is the previous leaf's last
 *     key.  So changing the last key of a leaf changes the aggregate gap of
 *     the NEXT leaf; touched() propagates both.
 *
 *  5. vt_insert works out how many nodes it will need before it changes
 *     anything, takes them into the spare list, and then cannot fail.
 */
#include "vma_tree.h"
#include "host.h"
#include "mm_types.h"
#include "rcu.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Fanout 16: a leaf is 32 + 16 * 16 = 288 bytes, 18 bytes per VMA when full
 * (19.7 with the internal nodes, for VMAs placed top-down).  Measured on
 * 1,000 and 100,000 VMAs: 8 needs a level more and 24 bytes per VMA for no
 * faster lookups; 32 saves 2 bytes per VMA and was within the noise for
 * lookups (sometimes 20% faster at 1,000), but doubles the work of every
 * insert and erase (shifts, and a leaf's gap recomputed from 32 VMAs).
 */
#ifndef VT_FANOUT
#define VT_FANOUT 16
#endif
#define VT_MAX_HEIGHT 24         /* with >= 1 entry per node and merges, never reached */
#define VT_KEY_NONE ULONG_MAX    /* key of an unused slot; no vm_end can be ULONG_MAX */

/* An underfull node (fewer than MERGE_BELOW entries after an erase) merges
 * with a neighbour when both fit in MERGE_FIT entries.  The slack of F/8
 * keeps an insert just after a merge from splitting the node at once. */
#define VT_MERGE_BELOW (VT_FANOUT / 2)
/* Spares kept from reclaimed nodes (each list): enough for a burst of splits. */
#define VT_SPARE_KEEP 64
#define VT_MERGE_FIT   (VT_FANOUT - VT_FANOUT / 8)

_Static_assert(VT_FANOUT >= 4 && VT_FANOUT % 4 == 0 && VT_FANOUT < 256,
               "node_search compares half a node two keys at a time");

/*
 * A node.
 *
 * Invariants (vt_validate checks each):
 *   (slot[i] and gap[i]/start[i] below are ent[i].slot, ent[i].gap/start)
 *   0 <  count <= VT_FANOUT, except that an empty tree has no root at all;
 *        an internal root has count >= 2 (a root with one child is replaced
 *        by that child);
 *   key[0] < key[1] < ... < key[count-1];  key[i] == VT_KEY_NONE and
 *        slot[i] == NULL for count <= i < VT_FANOUT;
 *   leaf (level 0):     slot[i] is a struct vma, key[i] == its vm_end;
 *   internal (level L): slot[i] is a node of level L-1 whose parent is this
 *        node, key[i] == its last key, gap[i] == its largest gap;
 *   leaf: start[i] == slot[i]'s vm_start;
 *   the gap of a VMA == vm_start - previous VMA's vm_end (0 for the first);
 *   prev/next link every node of one level in key order (NULL at the ends).
 *
 * Who reads what:
 *   key[], slot[], and the root's level: lock-free readers (atomic loads).
 *       Writers store keys, slots and count with atomic stores once the
 *       node is reachable; level never changes while it is.
 *   count, parent, prev, next, gap[]: the writer (mmap write lock) and
 *       readers holding the mmap lock.
 *   rcu: once the node is unlinked.  It overlays prev/next, which nobody
 *       follows in an unlinked node, and nothing a lock-free reader loads.
 */
/*
 * An entry's child or VMA sits beside its extra word: an internal node keeps
 * the largest gap below each child, a leaf the vm_start of each VMA, so that
 * a lookup decides "inside, or in the gap before it" from the line that also
 * holds the pointer, without loading the VMA (a cache miss per lookup once
 * the VMAs outgrow the cache).  Keys come first and nodes are 64-byte
 * aligned, so the 16 keys fill exactly two cache lines.
 */
struct vt_ent {
    void *slot;                      /* struct vma * or struct vt_node * */
    union {
        unsigned long gap;           /* internal: largest gap of any VMA below slot */
        unsigned long start;         /* leaf: the VMA's vm_start */
    };
};

struct vt_node {
    unsigned long key[VT_FANOUT];
    unsigned int count;
    unsigned int level;              /* 0 for leaves */
    struct vt_node *parent;          /* NULL for the root */
    union {
        struct {
            struct vt_node *prev, *next;
        };
        struct rcu_head rcu;
    };
    struct vt_ent ent[VT_FANOUT];
};

#define VT_NODE_ALIGN  64
#define VT_NODE_BYTES  ((sizeof(struct vt_node) + VT_NODE_ALIGN - 1) & ~(size_t)(VT_NODE_ALIGN - 1))



/* ------------------------------------------------------------ atomics */

/*
 * Stores to fields a lock-free reader loads.  Keys and counts are plain
 * values: relaxed is enough, a reader only needs to see some value that was
 * stored (never a torn one).  Pointers are stored with release, so a reader
 * that loads one with acquire also sees everything written to the node or
 * VMA before it was first published — also when a writer moves an existing
 * pointer to another slot (a relaxed store there would break the chain from
 * the pointee's initialisation to the reader).  On x86 all of these are plain
 * moves; they exist for the compiler and the memory model (and TSan).
 */
#define store_val(p, v)   __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define store_ptr(p, v)   __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define load_val(p)       __atomic_load_n((p), __ATOMIC_RELAXED)
#define load_ptr(p)       __atomic_load_n((p), __ATOMIC_ACQUIRE)

static inline bool is_leaf(const struct vt_node *n) { return n->level == 0; }
static inline struct vt_node *child(const struct vt_node *n, unsigned i) { return n->ent[i].slot; }
static inline struct vma *leaf_vma(const struct vt_node *n, unsigned i) { return n->ent[i].slot; }
static inline unsigned long last_key(const struct vt_node *n) { return n->key[n->count - 1]; }

/* ------------------------------------------------------------ search */

/*
 * The number of keys <= addr, which (keys sorted, unused slots VT_KEY_NONE)
 * is the index of the first key > addr.  One binary step picks a half, then
 * the half's keys are compared all at once: the compares do not depend on
 * each other, so the loads issue together and overlap their cache misses,
 * and no branch can be mispredicted.  Measured at fanout 16 against a full
 * branchless binary search (5 dependent loads) and a linear count of all 16:
 * 1,000 VMAs, dependent lookups: 30 ns against 50 ns for the binary search.
 */
static inline unsigned node_search(const struct vt_node *n, unsigned long addr)
{
    const unsigned long *k = n->key;
    unsigned base = k[VT_FANOUT / 2 - 1] <= addr ? VT_FANOUT / 2 : 0;
    const unsigned long *h = k + base;   /* a pointer: no index arithmetic per key */
    unsigned a = 0, b = 0;

#pragma GCC unroll 16
    for (unsigned j = 0; j < VT_FANOUT / 2; j += 2) {
        a += h[j] <= addr;
        b += h[j + 1] <= addr;
    }
    return base + a + b;
}

/*
 * The same under a concurrent writer, with atomic loads.  The result is at
 * most VT_FANOUT whatever the keys hold; keys stay sorted (perhaps with one
 * twice) while a writer shifts them, so the result is as good as the node's
 * state at that moment.
 *
 * On x86-64 the half's compares are written out: gcc does not fold an
 * atomic load into the compare that uses it, so the C loop loads the eight
 * keys into eight registers first and a lookup saves and restores four more.
 * That was 4 of 26 ns per lock-free lookup at 1,000 VMAs.  Each compare
 * below reads its key with one aligned 8-byte access, which x86 makes
 * single-copy atomic: the same loads the C code asks for.  Sanitizer builds
 * keep the C loop, whose loads they can see.
 */
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#define VT_SEARCH_ASM 1
#endif

static inline unsigned node_search_rcu(const struct vt_node *n, unsigned long addr)
{
    const unsigned long *k = n->key;
    unsigned base = load_val(&k[VT_FANOUT / 2 - 1]) <= addr ? VT_FANOUT / 2 : 0;
    const unsigned long *h = k + base;
    unsigned a = 0, b = 0;

#ifdef VT_SEARCH_ASM
    _Static_assert(VT_FANOUT == 16, "the asm compares eight keys");
    /* cmp sets the carry when addr < key; sbb $-1 then adds 1 - carry. */
    __asm__("cmp (%[h]), %[addr]\n\t"   "sbb $-1, %[a]\n\t"
            "cmp 8(%[h]), %[addr]\n\t"  "sbb $-1, %[b]\n\t"
            "cmp 16(%[h]), %[addr]\n\t" "sbb $-1, %[a]\n\t"
            "cmp 24(%[h]), %[addr]\n\t" "sbb $-1, %[b]\n\t"
            "cmp 32(%[h]), %[addr]\n\t" "sbb $-1, %[a]\n\t"
            "cmp 40(%[h]), %[addr]\n\t" "sbb $-1, %[b]\n\t"
            "cmp 48(%[h]), %[addr]\n\t" "sbb $-1, %[a]\n\t"
            "cmp 56(%[h]), %[addr]\n\t" "sbb $-1, %[b]"
            : [a] "+r"(a), [b] "+r"(b)
            : [h] "r"(h), [addr] "r"(addr), "m"(*(const unsigned long(*)[VT_FANOUT / 2])h)
            : "cc");
#else
#pragma GCC unroll 16
    for (unsigned j = 0; j < VT_FANOUT / 2; j += 2) {
        a += load_val(&h[j]) <= addr;
        b += load_val(&h[j + 1]) <= addr;
    }
#endif
    return base + a + b;
}

/* ------------------------------------------------------------ nodes */

/*
 * Atomic stores: a reused leaf may still have lock-free readers inside.
 * Entries from @used on are known to be clear already (a node that was in
 * the tree keeps the ones past its count clear).
 */
static void node_init(struct vt_node *n, unsigned level, unsigned used)
{
    store_val(&n->count, 0);
    store_val(&n->level, level);
    n->parent = n->prev = n->next = NULL;
    for (unsigned i = 0; i < used; i++) {
        store_val(&n->key[i], VT_KEY_NONE);
        store_ptr(&n->ent[i].slot, NULL);
        store_val(&n->ent[i].gap, 0);
    }
}

static struct vt_node *node_malloc(void)
{
    if (vm_alloc_fails())
        return NULL;
    return aligned_alloc(VT_NODE_ALIGN, VT_NODE_BYTES);
}

/*
 * Spare nodes are linked through slot[0].  Leaves and internal nodes have one
 * size, so the spare list needs only its length: topping it up costs nothing
 * when it is already full enough (every mmap reserves), and that test is
 * inline; the allocations are not.
 */
static int __attribute__((noinline)) spare_alloc(struct vma_tree *t, unsigned want)
{
    while (t->nr_spare < want) {
        struct vt_node *s = node_malloc();
        if (!s)
            return -ENOMEM;     /* what was allocated stays spare */
        s->ent[0].slot = t->spare;
        t->spare = s;
        t->nr_spare++;
    }
    return 0;
}

static inline int spare_fill(struct vma_tree *t, unsigned leaves, unsigned inners)
{
    unsigned want = inners + (leaves > t->nr_leaf_spare ? leaves - t->nr_leaf_spare : 0);

    return likely(t->nr_spare >= want) ? 0 : spare_alloc(t, want);
}

/* A node from the spare list; the caller made sure there is one (spare_fill). */
static struct vt_node *node_take(struct vma_tree *t, unsigned level)
{
    struct vt_node *n = t->leaf_spare;
    if (level == 0 && n) {
        t->leaf_spare = n->parent;
        t->nr_leaf_spare--;
        /* Still a leaf as it left the tree: only its entries need clearing
         * (an emptied tree's root comes back here at the next insert). */
        node_init(n, level, n->count);
        return n;
    }
    n = t->spare;
    VM_BUG_ON(!n);
    t->spare = n->ent[0].slot;
    t->nr_spare--;
    node_init(n, level, VT_FANOUT);
    return n;
}

/*
 * liburcu is not built with ThreadSanitizer, so TSan does not see that a
 * grace period orders every lock-free lookup that could see a node before
 * its free.  TSan builds say so explicitly (and, for nodes that wait on a
 * tree's freed list, that the writer's stores come before the free): the
 * writer releases the node, each vt_lookup_rcu releases
 * vt_tsan_grace once its loads are done, and the free acquires both.  A
 * lookup still running when its node is freed (a real bug) stays reported.
 */
#if defined(__SANITIZE_THREAD__)
#define VT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VT_TSAN 1
#endif
#endif
#ifdef VT_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
static char vt_tsan_grace;
#else
#define __tsan_acquire(addr) ((void)0)
#define __tsan_release(addr) ((void)0)
#endif

static void node_free_cb(struct rcu_head *head)
{
    struct vt_node *n = caa_container_of(head, struct vt_node, rcu);

    __tsan_acquire(n);
    __tsan_acquire(&vt_tsan_grace);
    free(n);
}

/*
 * A node just unlinked: lock-free readers may still be inside it.  Its parent
 * field is free for the owner's chain: no lock-free reader loads it.
 */
static void node_free_rcu(struct vma_tree *t, struct vt_node *n)
{
    __tsan_release(n);
    if (n == t->cur_leaf)
        t->cur_leaf = NULL;     /* the cursor never points out of the tree */
    if (t->defer_free && is_leaf(n) && t->nr_leaf_spare < VT_SPARE_KEEP) {
        n->parent = t->leaf_spare;
        t->leaf_spare = n;
        t->nr_leaf_spare++;
        return;
    }
    if (t->defer_free) {
        n->parent = t->freed;
        t->freed = n;
        t->nr_freed++;
        return;
    }
    vm_call_rcu(&n->rcu, node_free_cb);
}

void vt_set_defer_free(struct vma_tree *t)
{
    t->defer_free = true;
}

struct vt_node *vt_take_freed(struct vma_tree *t)
{
    struct vt_node *chain = t->freed;
    t->freed = NULL;
    t->nr_freed = 0;
    return chain;
}


void vt_give_spares(struct vma_tree *t, struct vt_node *chain)
{
    while (chain) {
        struct vt_node *next = chain->parent;
        __tsan_acquire(chain);
        __tsan_acquire(&vt_tsan_grace);
        if (t->nr_spare < VT_SPARE_KEEP) {
            chain->ent[0].slot = t->spare;
            t->spare = chain;
            t->nr_spare++;
        } else {
            free(chain);
        }
        chain = next;
    }
}

void vt_free_chain(struct vt_node *chain)
{
    while (chain) {
        struct vt_node *next = chain->parent;
        __tsan_acquire(chain);
        __tsan_acquire(&vt_tsan_grace);
        free(chain);
        chain = next;
    }
}

/* ------------------------------------------------------------ gaps */

/* End of the VMA before a leaf's first entry. */
static unsigned long leaf_prev_end(const struct vt_node *leaf)
{
    const struct vt_node *p = leaf->prev;

    return p && p->count ? last_key(p) : 0;
}

static unsigned long node_max_gap(const struct vt_node *n)
{
    unsigned long m = 0;

    if (is_leaf(n)) {
        unsigned long prev = leaf_prev_end(n);
        for (unsigned i = 0; i < n->count; i++) {
            m = max(m, n->ent[i].start - prev);
            prev = n->key[i];
        }
    } else {
        for (unsigned i = 0; i < n->count; i++)
            m = max(m, n->ent[i].gap);
    }
    return m;
}

/* ------------------------------------------------------------ entries */

static unsigned slot_index(const struct vt_node *parent, const struct vt_node *n)
{
    unsigned i = 0;

    while (i < parent->count && parent->ent[i].slot != n)
        i++;
    VM_BUG_ON(i == parent->count);
    return i;
}

/* Write entry i of n.  For a child, also adopt it and record its aggregates. */
static void set_entry(struct vt_node *n, unsigned i, unsigned long key, void *ptr)
{
    store_val(&n->key[i], key);
    if (is_leaf(n))
        store_val(&n->ent[i].start, ((struct vma *)ptr)->vm_start);
    store_ptr(&n->ent[i].slot, ptr);
    if (!is_leaf(n)) {
        struct vt_node *c = ptr;
        c->parent = n;
        n->ent[i].gap = node_max_gap(c);
    }
}

static void copy_entry(struct vt_node *dst, unsigned di, const struct vt_node *src, unsigned si)
{
    store_val(&dst->key[di], src->key[si]);
    if (is_leaf(dst))
        store_val(&dst->ent[di].start, src->ent[si].start);
    store_ptr(&dst->ent[di].slot, src->ent[si].slot);
    if (!is_leaf(dst)) {
        child(src, si)->parent = dst;
        dst->ent[di].gap = src->ent[si].gap;
    }
}

static void clear_entry(struct vt_node *n, unsigned i)
{
    store_ptr(&n->ent[i].slot, NULL);
    store_val(&n->key[i], VT_KEY_NONE);
    store_val(&n->ent[i].gap, 0);
}

/*
 * Insert at pos into a node with room.  Entries move up one by one from the
 * top, each word with an atomic store (memmove could tear words and races
 * with the lock-free reader as far as the memory model is concerned): each
 * slot always holds an entry that is or was in the node, so that reader
 * sees the keys sorted, perhaps one twice, and what it picks is a VMA or
 * node that is or just was in the tree, or NULL.
 *
 *     [a b c d - -] insert x at 1:  [a b c d d -] [a b c c d -] [a b b c d -]
 *                                   [a x b c d -] (key, then slot)  count = 5
 */
static void insert_at(struct vt_node *n, unsigned pos, unsigned long key, void *ptr)
{
    unsigned cnt = n->count;

    VM_BUG_ON(cnt >= VT_FANOUT || pos > cnt);
    for (unsigned j = cnt; j > pos; j--)
        copy_entry(n, j, n, j - 1);
    set_entry(n, pos, key, ptr);
    store_val(&n->count, cnt + 1);
}

/*
 * insert_at for a leaf, with room, without the per-entry level tests of
 * copy_entry and set_entry: the split and merge fast paths, which know
 * their node is a leaf.  The same order of stores.
 */
static inline void leaf_insert_at(struct vt_node *n, unsigned pos, unsigned long key,
                                  struct vma *vma)
{
    unsigned cnt = n->count;

    VM_BUG_ON(!is_leaf(n) || cnt >= VT_FANOUT || pos > cnt);
    for (unsigned j = cnt; j > pos; j--) {
        store_val(&n->key[j], n->key[j - 1]);
        store_val(&n->ent[j].start, n->ent[j - 1].start);
        store_ptr(&n->ent[j].slot, n->ent[j - 1].slot);
    }
    store_val(&n->key[pos], key);
    store_val(&n->ent[pos].start, vma->vm_start);
    store_ptr(&n->ent[pos].slot, vma);
    store_val(&n->count, cnt + 1);
}

/* Remove entry pos; entries above move down one by one, as in insert_at. */
static void remove_at(struct vt_node *n, unsigned pos)
{
    unsigned cnt = n->count;

    for (unsigned j = pos; j + 1 < cnt; j++)
        copy_entry(n, j, n, j + 1);
    clear_entry(n, cnt - 1);
    store_val(&n->count, cnt - 1);
}

/*
 * Recompute n's entry in its parent, and so on upward while something
 * changed.  Every node whose entries changed must be propagated; the early
 * stop is sound because each step recomputes the whole aggregate.
 */
static void propagate(struct vt_node *n)
{
    struct vt_node *p;

    while ((p = n->parent) != NULL) {
        unsigned i = slot_index(p, n);
        unsigned long k = last_key(n), g = node_max_gap(n);
        if (p->key[i] == k && p->ent[i].gap == g)
            return;
        store_val(&p->key[i], k);
        p->ent[i].gap = g;
        n = p;
    }
}

/* n's entries changed.  A leaf's last key is the next leaf's first gap's base. */
static void touched(struct vt_node *n)
{
    propagate(n);
    if (is_leaf(n) && n->next)
        propagate(n->next);
}

static void link_after(struct vt_node *n, struct vt_node *nn)
{
    nn->prev = n;
    nn->next = n->next;
    if (n->next)
        n->next->prev = nn;
    n->next = nn;
}

static void link_before(struct vt_node *n, struct vt_node *nn)
{
    nn->next = n;
    nn->prev = n->prev;
    if (n->prev)
        n->prev->next = nn;
    n->prev = nn;
}

static void unlink_node(struct vt_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    if (n->next)
        n->next->prev = n->prev;
}

/* ------------------------------------------------------------ insert */

static void node_insert(struct vma_tree *t, struct vt_node *n, unsigned pos,
                        unsigned long key, void *ptr);

static inline bool has_room(const struct vt_node *n)
{
    return n && n->count < VT_FANOUT;
}

/*
 * Nodes an insert into this leaf will allocate: walk up while the node is
 * full and neither neighbour can take an entry (node_insert's own test).
 */
static void nodes_needed(const struct vt_node *leaf, unsigned *leaves, unsigned *inners)
{
    *leaves = *inners = 0;
    for (const struct vt_node *n = leaf; n; n = n->parent) {
        if (n->count < VT_FANOUT || has_room(n->prev) || has_room(n->next))
            return;
        (*(is_leaf(n) ? leaves : inners))++;
        if (!n->parent)
            (*inners)++;                /* a new root */
    }
}

/* Give the root a parent: a new root whose only child is the old one. */
static void grow_root(struct vma_tree *t)
{
    struct vt_node *old = t->root;
    struct vt_node *r = node_take(t, old->level + 1);

    set_entry(r, 0, last_key(old), old);
    r->count = 1;
    /* r is complete before readers can reach it. */
    store_ptr(&t->root, r);
    t->height++;
}

/*
 * Split full node n to make room for (key, ptr) at pos.
 *
 * At either end the new entry and n's nearest one go into a new node beside
 * n, which keeps the rest: VMAs placed top-down arrive at the front of a leaf
 * again and again, appends at the back, and both then fill the new node up
 * (an even split would leave every leaf half empty).  The second entry is
 * hysteresis: removing the new entry again leaves the new node non-empty and
 * the pair too full to merge, so an mmap+munmap at a leaf's edge does not
 * allocate and free a node each time.
 *
 *     pos == 0:  [E a] [b c ... p]        pos == F:  [a b c ... o] [p E]
 *
 * Elsewhere n keeps the lower half and the new node the upper half:
 *
 *     [a b c d e f g h i j k l m n o p] + E at 5
 *  -> [a b c d e E f g] [h i j k l m n o p]     (new node built first, then
 *                                               published, then n trimmed)
 */
static void split(struct vma_tree *t, struct vt_node *n, unsigned pos,
                  unsigned long key, void *ptr)
{
    struct vt_node *nn;
    unsigned ni;

    if (!n->parent)
        grow_root(t);
    nn = node_take(t, n->level);
    ni = slot_index(n->parent, n);

    if (pos == 0) {
        /* [E a] is complete before readers can reach it; until n drops a,
         * both nodes hold it and a reader finds it through either. */
        set_entry(nn, 0, key, ptr);
        copy_entry(nn, 1, n, 0);
        nn->count = 2;
        link_before(n, nn);
        node_insert(t, n->parent, ni, last_key(nn), nn);
        remove_at(n, 0);
        touched(nn);
        touched(n);
        return;
    }
    if (pos == VT_FANOUT) {
        copy_entry(nn, 0, n, VT_FANOUT - 1);
        set_entry(nn, 1, key, ptr);
        nn->count = 2;
        link_after(n, nn);
        node_insert(t, n->parent, ni + 1, key, nn);
        remove_at(n, VT_FANOUT - 1);
        touched(n);
        touched(nn);
        return;
    }

    const unsigned half = VT_FANOUT / 2;
    unsigned j = 0;
    for (unsigned i = half; i < VT_FANOUT; i++) {
        if (i == pos)
            set_entry(nn, j++, key, ptr);
        copy_entry(nn, j++, n, i);
    }
    nn->count = j;
    link_after(n, nn);
    /* Until n is trimmed below, both hold the upper half: a reader finds it
     * through either. */
    node_insert(t, n->parent, ni + 1, last_key(nn), nn);

    store_val(&n->count, half);
    for (unsigned i = VT_FANOUT; i-- > half;)
        clear_entry(n, i);
    if (pos < half)
        insert_at(n, pos, key, ptr);
    touched(n);
    touched(nn);
}

/*
 * Put (key, ptr) at position pos of n.  A full node first tries to hand an
 * entry to a neighbour on its level (which may have another parent):
 *
 *   pos at the front, room before:  the new entry goes to prev's end;
 *   pos at the back, room after:    the new entry goes to next's front;
 *   room before: n's first entry moves to prev, the new one goes into n;
 *   room after:  n's last entry moves to next, the new one goes into n;
 *   no room anywhere: split.
 *
 * Moves copy the entry to its new node and propagate that node before the
 * entry leaves n, so a reader finds it at one place or the other.
 */
static void node_insert(struct vma_tree *t, struct vt_node *n, unsigned pos,
                        unsigned long key, void *ptr)
{
    struct vt_node *pv = n->prev, *nx = n->next;
    unsigned cnt = n->count;

    if (cnt < VT_FANOUT) {
        insert_at(n, pos, key, ptr);
        touched(n);
    } else if (pos == 0 && has_room(pv)) {
        insert_at(pv, pv->count, key, ptr);
        touched(pv);
    } else if (pos == cnt && has_room(nx)) {
        insert_at(nx, 0, key, ptr);
        touched(nx);
    } else if (has_room(pv)) {
        insert_at(pv, pv->count, n->key[0], n->ent[0].slot);
        propagate(pv);
        remove_at(n, 0);
        insert_at(n, pos - 1, key, ptr);
        touched(n);
    } else if (has_room(nx)) {
        /* nx's last key does not change, so its parent already sends readers
         * looking for the moved entry to n or nx; propagate nx once n, the
         * base of nx's first gap, is final. */
        insert_at(nx, 0, n->key[cnt - 1], n->ent[cnt - 1].slot);
        remove_at(n, cnt - 1);
        insert_at(n, pos, key, ptr);
        touched(n);
        propagate(nx);
    } else {
        split(t, n, pos, key, ptr);
    }
}

/* ------------------------------------------------------------ erase */

static void remove_entry(struct vma_tree *t, struct vt_node *n, unsigned pos);

static void shrink_root(struct vma_tree *t)
{
    struct vt_node *r = t->root;

    if (r->count == 0) {
        store_ptr(&t->root, NULL);
        t->height = 0;
        node_free_rcu(t, r);
        return;
    }
    /* A reader already in the old root still finds the child through it. */
    while (!is_leaf(r) && r->count == 1) {
        struct vt_node *c = child(r, 0);
        c->parent = NULL;
        store_ptr(&t->root, c);
        t->height--;
        node_free_rcu(t, r);
        r = c;
    }
}

/* n is empty, or its entries were moved away: take it out of the tree. */
static void drop_node(struct vma_tree *t, struct vt_node *n)
{
    struct vt_node *p = n->parent, *nx = n->next;

    unlink_node(n);
    remove_entry(t, p, slot_index(p, n));
    node_free_rcu(t, n);
    /* The leaf after n now follows n's predecessor. */
    if (nx && is_leaf(nx))
        propagate(nx);
}

/*
 * Move all of right's entries to the end of left, its neighbour, then drop
 * right.  left and right may have different parents.
 *
 *     [a b c] [d e]      ->   [a b c d e] (right unlinked, freed after a
 *                                          grace period)
 */
static void merge_into(struct vma_tree *t, struct vt_node *left, struct vt_node *right)
{
    unsigned lc = left->count;

    for (unsigned i = 0; i < right->count; i++)
        copy_entry(left, lc + i, right, i);
    store_val(&left->count, lc + right->count);
    /* Not touched(): right, still linked after left, would get a gap
     * computed against its own last key.  drop_node fixes the leaf after it. */
    propagate(left);
    drop_node(t, right);
}

/* n just lost entries: drop it, merge it into a neighbour, or fix its aggregates. */
static void rebalance(struct vma_tree *t, struct vt_node *n)
{
    if (!n->parent) {
        shrink_root(t);
        return;
    }
    if (n->count == 0) {
        drop_node(t, n);
        return;
    }
    if (n->count < VT_MERGE_BELOW) {
        if (n->prev && n->prev->count + n->count <= VT_MERGE_FIT) {
            merge_into(t, n->prev, n);
            return;
        }
        if (n->next && n->next->count + n->count <= VT_MERGE_FIT) {
            merge_into(t, n, n->next);
            return;
        }
    }
    touched(n);
}

static void remove_entry(struct vma_tree *t, struct vt_node *n, unsigned pos)
{
    remove_at(n, pos);
    rebalance(t, n);
}

/* ------------------------------------------------------------ lookups */

/*
 * The leaf and index of the first key > addr.  *idx == leaf->count only when
 * no key is > addr; then the leaf is the last one.
 */
static struct vt_node *descend(const struct vma_tree *t, unsigned long addr, unsigned *idx)
{
    struct vt_node *n = t->root;
    unsigned i;

    if (!n)
        return NULL;
    for (;;) {
        i = node_search(n, addr);
        if (i >= n->count) {
            /* Past the last key: only possible at the root; go to the last leaf. */
            while (!is_leaf(n))
                n = child(n, n->count - 1);
            *idx = n->count;
            return n;
        }
        if (is_leaf(n))
            break;
        n = child(n, i);
    }
    *idx = i;
    return n;
}

/* ------------------------------------------------------------ the cursor */

static inline void cursor_set(struct vma_tree *t, struct vt_node *leaf, unsigned i)
{
    t->cur_leaf = leaf;
    t->cur_idx = i;
}

/*
 * The leaf holding vma, and its index: at or beside the cursor when the
 * slot there holds vma (each VMA is in exactly one slot, and slots past
 * count are NULL), else by a descent on its vm_end, which moves the cursor.
 * A hit leaves the cursor alone, so that a change between two neighbours
 * finds both from it.
 */
static struct vt_node *find_slot(struct vma_tree *t, const struct vma *vma, unsigned *idx)
{
    struct vt_node *leaf = t->cur_leaf;
    unsigned i = t->cur_idx;

    if (likely(leaf)) {
        if (leaf->ent[i].slot == vma)
            goto hit;
        if (i + 1 < VT_FANOUT && leaf->ent[i + 1].slot == vma) {
            i++;
            goto hit;
        }
        if (i > 0 && leaf->ent[i - 1].slot == vma) {
            i--;
            goto hit;
        }
    }
    leaf = descend(t, vma->vm_end - 1, &i);
    VM_BUG_ON(!leaf || i >= leaf->count || leaf->ent[i].slot != vma);
    cursor_set(t, leaf, i);
hit:
    *idx = i;
    return leaf;
}

/*
 * descend() for the writer: the first entry with a key > addr, found at the
 * cursor or just after it when its keys say so (the key before it <= addr,
 * its own > addr), else by a descent.  Sets the cursor to the entry found.
 * *idx == leaf->count only when no key is > addr, as in descend().
 */
static inline struct vt_node *descend_wr(struct vma_tree *t, unsigned long addr, unsigned *idx)
{
    struct vt_node *leaf = t->cur_leaf;
    unsigned i = t->cur_idx;

    if (likely(leaf) && i < leaf->count) {
        if (leaf->key[i] <= addr) {
            /* The entry after the cursor's, in the same leaf. */
            if (i + 1 < leaf->count && leaf->key[i + 1] > addr) {
                i++;
                goto hit;
            }
        } else if (i > 0 ? leaf->key[i - 1] <= addr : leaf_prev_end(leaf) <= addr) {
            goto hit;
        }
    }
    leaf = descend(t, addr, &i);
    if (leaf && i < leaf->count)
        cursor_set(t, leaf, i);
    *idx = i;
    return leaf;
hit:
    t->cur_idx = i;
    *idx = i;
    return leaf;
}

/*
 * Ask for all of a node's lines at once: its second key line and its entry
 * lines would otherwise be fetched one after another, each waiting for the
 * search that picks it.  That pays once the nodes come from beyond the L2
 * cache; while the tree fits there the prefetches, four lines of them never
 * read, only slow the descent.  Measured on an EPYC (512 KiB L2), random
 * lookups: without them 18 against 21 ns at 1,000 VMAs (height 3) and 39
 * against 48 ns at 40,000 (height 4), with them 91 against 126 ns at 100,000
 * (height 5).  So the height, which a lookup has in hand, decides.
 */
#define VT_PREFETCH_HEIGHT 5

static inline void node_prefetch(const struct vt_node *n)
{
    __builtin_prefetch(&n->key[VT_FANOUT / 2]);
    for (unsigned i = 0; i < VT_FANOUT; i += 64 / sizeof(struct vt_ent))
        __builtin_prefetch(&n->ent[i]);
}

/*
 * The hot path (page faults, syscalls): no writer runs, so plain loads, and
 * the height instead of each node's level.  Below the root the index is
 * always valid: a parent's key is its child's largest, and it was > addr.
 * Returns the leaf and sets *idx to the first entry with vm_end > addr, or
 * NULL when every VMA ends at or below addr.
 */
static inline const struct vt_node *leaf_for(const struct vma_tree *t, unsigned long addr,
                                             unsigned *idx)
{
    const struct vt_node *n = t->root;
    unsigned i, h = t->height;

    if (unlikely(!n))
        return NULL;
    i = node_search(n, addr);
    if (unlikely(i >= n->count))
        return NULL;
    bool prefetch = h >= VT_PREFETCH_HEIGHT;
    while (--h) {
        n = child(n, i);
        if (prefetch)
            node_prefetch(n);
        i = node_search(n, addr);
    }
    *idx = i;
    return n;
}

struct vma *vt_lookup(const struct vma_tree *t, unsigned long addr)
{
    unsigned i;
    const struct vt_node *n = leaf_for(t, addr, &i);

    /* The leaf's copy of vm_start: no load of the VMA itself. */
    if (!n || n->ent[i].start > addr)
        return NULL;
    return leaf_vma(n, i);
}

struct vma *vt_find(const struct vma_tree *t, unsigned long addr)
{
    unsigned i;
    const struct vt_node *n = leaf_for(t, addr, &i);

    return n ? leaf_vma(n, i) : NULL;
}

/*
 * Lock-free lookup.  Everything loaded from a node may be stale or mid-change,
 * so the walk relies only on what holds at every instant:
 *   - the search index is below VT_FANOUT whatever the keys hold;
 *   - a slot holds NULL or a pointer that is, or was less than a grace
 *     period ago, in the tree (vacated slots are cleared, nodes are freed
 *     through call_rcu, VMAs by their owner after a grace period too);
 *   - a node's level never changes while it is reachable, and a node of
 *     level L only ever points to nodes of level L-1.
 * So the root's level says how many steps down the leaves are, and neither
 * count nor the levels below need loading (one cache line less per node);
 * a slot past count is NULL or a valid entry caught mid-insert.  acquire on
 * each pointer pairs with the writer's release: the node or VMA behind it is
 * initialised.
 */
static inline struct vma *lookup_rcu(const struct vma_tree *t, unsigned long addr)
{
    const struct vt_node *n = load_ptr(&t->root);

    if (!n)
        return NULL;
    unsigned level = load_val(&n->level);
    if (level >= VT_MAX_HEIGHT)
        return NULL;                 /* never: a guard against a corrupted root */
    bool prefetch = level + 1 >= VT_PREFETCH_HEIGHT;
    for (;;) {
        unsigned i = node_search_rcu(n, addr);
        if (i >= VT_FANOUT)
            return NULL;
        void *p = load_ptr(&n->ent[i].slot);
        if (!p)
            return NULL;
        if (level-- == 0) {
            /* The leaf's own copy of the bounds: the VMA itself may be free
             * and being reused (type-stable VMAs, see vma_init.c), and is not to
             * be read before its owner locks it. */
            if (load_val(&n->ent[i].start) <= addr && addr < load_val(&n->key[i]))
                return p;
            return NULL;
        }
        n = p;
        /* As leaf_for does.  A prefetch never faults, whatever the node
         * has become. */
        if (prefetch)
            node_prefetch(n);
    }
}

struct vma *vt_lookup_rcu(const struct vma_tree *t, unsigned long addr)
{
    struct vma *v = lookup_rcu(t, addr);

    __tsan_release(&vt_tsan_grace);
    return v;
}

struct vma *vt_find_prev(const struct vma_tree *t, unsigned long addr)
{
    struct vma *prev;

    vt_find_and_prev(t, addr, &prev);
    return prev;
}

/* The answer of vt_find_and_prev from descend()'s leaf and index. */
static inline struct vma *find_and_prev_at(const struct vt_node *leaf, unsigned i, unsigned long addr,
                                           struct vma **pprev)
{
    *pprev = NULL;
    if (!leaf)
        return NULL;
    struct vma *next = i < leaf->count ? leaf_vma(leaf, i) : NULL;
    if (next && leaf->ent[i].start < addr)
        *pprev = next;
    else if (i > 0)
        *pprev = leaf_vma(leaf, i - 1);
    else if (leaf->prev)
        *pprev = leaf_vma(leaf->prev, leaf->prev->count - 1);
    return next;
}

/* One descent serves both: the leaf holds the entry before the one found. */
struct vma *vt_find_and_prev(const struct vma_tree *t, unsigned long addr, struct vma **pprev)
{
    unsigned i;
    const struct vt_node *leaf = descend(t, addr, &i);

    return find_and_prev_at(leaf, i, addr, pprev);
}

struct vma *vt_find_wr(struct vma_tree *t, unsigned long addr)
{
    unsigned i;
    const struct vt_node *leaf = descend_wr(t, addr, &i);

    return leaf && i < leaf->count ? leaf_vma(leaf, i) : NULL;
}

struct vma *vt_find_and_prev_wr(struct vma_tree *t, unsigned long addr, struct vma **pprev)
{
    unsigned i;
    const struct vt_node *leaf = descend_wr(t, addr, &i);

    return find_and_prev_at(leaf, i, addr, pprev);
}

/* From vma's slot: the cursor stays at vma (see find_slot). */
struct vma *vt_next_wr(struct vma_tree *t, const struct vma *vma)
{
    unsigned i;
    const struct vt_node *leaf = find_slot(t, vma, &i);

    if (i + 1 < leaf->count)
        return leaf_vma(leaf, i + 1);
    return leaf->next ? leaf_vma(leaf->next, 0) : NULL;
}

struct vma *vt_first(const struct vma_tree *t)
{
    const struct vt_node *n = t->root;

    if (!n)
        return NULL;
    while (!is_leaf(n))
        n = child(n, 0);
    return leaf_vma(n, 0);
}

struct vma *vt_last(const struct vma_tree *t)
{
    const struct vt_node *n = t->root;

    if (!n)
        return NULL;
    while (!is_leaf(n))
        n = child(n, n->count - 1);
    return leaf_vma(n, n->count - 1);
}

/* The next VMA is the first whose end is past this one's end. */
struct vma *vt_next(const struct vma_tree *t, const struct vma *vma)
{
    return vt_find(t, vma->vm_end);
}

/* The previous VMA is the last that starts before this one. */
struct vma *vt_prev(const struct vma_tree *t, const struct vma *vma)
{
    return vt_find_prev(t, vma->vm_start);
}

/* ------------------------------------------------------------ changes */

void vt_init(struct vma_tree *t)
{
    t->root = NULL;
    t->height = 0;
    t->count = 0;
    t->spare = NULL;
    t->nr_spare = 0;
    t->leaf_spare = NULL;
    t->nr_leaf_spare = 0;
    t->defer_free = false;
    t->freed = NULL;
    t->nr_freed = 0;
    t->cur_leaf = NULL;
    t->cur_idx = 0;
}

static void free_subtree(struct vt_node *n)
{
    if (!is_leaf(n))
        for (unsigned i = 0; i < n->count; i++)
            free_subtree(child(n, i));
    free(n);
}

void vt_destroy(struct vma_tree *t)
{
    bool defer = t->defer_free;

    if (t->root)
        free_subtree(t->root);
    vt_free_chain(t->freed);
    vt_free_chain(t->leaf_spare);
    while (t->spare) {
        struct vt_node *s = t->spare;
        t->spare = s->ent[0].slot;
        free(s);
    }
    vt_init(t);
    t->defer_free = defer;
}

/*
 * One insert at height h allocates at most a leaf and h internal nodes (a
 * split on every level plus a new root).  The height grows by at most one
 * per VT_FANOUT - 2 inserts: a new root has two children and splits again
 * only when full, and each insert adds at most one child to it.  Erases
 * never raise the height.
 */
int vt_reserve_slow(struct vma_tree *t, unsigned int nr_inserts)
{
    unsigned long inners = 0;

    /* The sum below in closed form for the few inserts callers reserve:
     * (i + F - 3) / (F - 2) is 0 for i = 0 and 1 up to i = F - 2. */
    if (nr_inserts && nr_inserts <= VT_FANOUT - 1)
        return spare_fill(t, nr_inserts, nr_inserts * t->height + nr_inserts - 1);
    for (unsigned i = 0; i < nr_inserts; i++)
        inners += t->height + (i + VT_FANOUT - 3) / (VT_FANOUT - 2);
    if (inners > UINT_MAX)
        return -ENOMEM;
    return spare_fill(t, nr_inserts, (unsigned)inners);
}

int vt_insert(struct vma_tree *t, struct vma *vma)
{
    unsigned long key = vma->vm_end;
    unsigned leaves, inners, pos;
    struct vt_node *leaf;
    struct vma *succ;

    VM_BUG_ON(vma->vm_start >= vma->vm_end || vma->vm_end == VT_KEY_NONE);
    if (!t->root) {
        if (spare_fill(t, 1, 0))
            return -ENOMEM;
        leaf = node_take(t, 0);
        leaf_insert_at(leaf, 0, key, vma);
        store_ptr(&t->root, leaf);   /* the leaf and the VMA are complete */
        t->height = 1;
        t->count = 1;
        cursor_set(t, leaf, 0);
        return 0;
    }
    if (t->height >= VT_MAX_HEIGHT - 1)
        return -ENOMEM;              /* unreachable in practice; keeps paths in bounds */

    leaf = descend_wr(t, key, &pos);
    VM_BUG_ON(pos < leaf->count && leaf_vma(leaf, pos)->vm_start < vma->vm_end);
    if (likely(leaf->count < VT_FANOUT)) {
        /* The VMA after the new one gets a new gap: it is in this leaf, or
         * first in the next, and node_insert's touched() covers both. */
        node_insert(t, leaf, pos, key, vma);
        t->count++;
        cursor_set(t, leaf, pos);
        return 0;
    }
    nodes_needed(leaf, &leaves, &inners);
    if (spare_fill(t, leaves, inners))
        return -ENOMEM;

    /* The VMA after the new one gets a new gap, wherever it ends up. */
    succ = pos < leaf->count ? leaf_vma(leaf, pos) : NULL;
    node_insert(t, leaf, pos, key, vma);
    t->count++;
    if (succ) {
        unsigned i;
        touched(find_slot(t, succ, &i));
    }
    return 0;
}

void vt_erase(struct vma_tree *t, struct vma *vma)
{
    unsigned i;
    struct vt_node *leaf = find_slot(t, vma, &i);
    struct vma *succ;

    if (i + 1 < leaf->count)
        succ = leaf_vma(leaf, i + 1);
    else
        succ = leaf->next ? leaf_vma(leaf->next, 0) : NULL;
    /* Where succ moves to, unless the leaf goes (which clears the cursor). */
    cursor_set(t, leaf, i);
    remove_entry(t, leaf, i);
    t->count--;
    if (succ)
        touched(find_slot(t, succ, &i));
}

/*
 * The order of the VMAs does not change (the caller guarantees no overlap),
 * so only one key and two gaps change: this VMA's, and the next one's when
 * vm_end moves.  vm_start and vm_end are stored atomically because
 * vt_lookup_rcu reads them without the lock.
 */
void vt_update(struct vma_tree *t, struct vma *vma, unsigned long start, unsigned long end)
{
    unsigned i;
    struct vt_node *leaf = find_slot(t, vma, &i);

    VM_BUG_ON(start >= end || end == VT_KEY_NONE);
    __atomic_store_n(&vma->vm_start, start, __ATOMIC_RELAXED);
    __atomic_store_n(&vma->vm_end, end, __ATOMIC_RELAXED);
    store_val(&leaf->ent[i].start, start);
    store_val(&leaf->key[i], end);
    touched(leaf);
}

/*
 * A split and a merge each change two or three neighbouring entries, which
 * nearly always share a leaf: then one descent finds them, and the leaf's
 * aggregates usually stay as they were, so nothing is propagated.  Only when
 * the entries straddle leaves (or the leaf is full) do these fall back to
 * the general vt_update, vt_insert and vt_erase.
 */

/*
 * vma's range is split in two: new already holds a prefix or a suffix of it
 * (its bounds set by the caller), and vma keeps the rest.
 *
 *     prefix:  [ new | vma ]      suffix:  [ vma | new ]
 *
 * In the leaf, new takes vma's old gap and the other gets a gap of 0, and the
 * leaf's last key stays (the last of the two ends where vma ended): neither
 * the leaf's largest gap nor its key in the parent changes.  A lock-free
 * reader may meet the two entries overlapping for a moment, which it
 * tolerates (it validates what it finds).
 */
int vt_split(struct vma_tree *t, struct vma *vma, struct vma *new)
{
    unsigned i;
    struct vt_node *leaf = find_slot(t, vma, &i);
    bool below = new->vm_start == vma->vm_start;

    VM_BUG_ON(below ? new->vm_end <= new->vm_start || new->vm_end >= vma->vm_end
                    : new->vm_end != vma->vm_end || new->vm_start <= vma->vm_start ||
                          new->vm_start >= vma->vm_end);
    if (unlikely(leaf->count == VT_FANOUT)) {
        unsigned leaves, inners;
        nodes_needed(leaf, &leaves, &inners);
        if (spare_fill(t, leaves, inners))
            return -ENOMEM;
    }
    if (below) {
        /* vma gives up its front first, then new fills it. */
        __atomic_store_n(&vma->vm_start, new->vm_end, __ATOMIC_RELAXED);
        store_val(&leaf->ent[i].start, new->vm_end);
    } else {
        __atomic_store_n(&vma->vm_end, new->vm_start, __ATOMIC_RELAXED);
    }
    unsigned pos = below ? i : i + 1;
    if (likely(leaf->count < VT_FANOUT)) {
        /* new's entry first: until vma's key drops, both cover the suffix. */
        leaf_insert_at(leaf, pos, new->vm_end, new);
        if (!below)
            store_val(&leaf->key[i], new->vm_start);
        cursor_set(t, leaf, below ? i + 1 : i);   /* at vma */
    } else {
        if (!below)
            store_val(&leaf->key[i], new->vm_start);
        /* May spill into a neighbour or split; it fixes up what it moved,
         * and this leaf's own change is fixed up here. */
        node_insert(t, leaf, pos, new->vm_end, new);
        touched(leaf);
    }
    t->count++;
    return 0;
}

/*
 * Both at once, one descent: lo takes a prefix and hi a suffix of vma's
 * range, and vma keeps the middle.
 *
 *     [ lo | vma | hi ]
 *
 * As in vt_split, the leaf's last key and largest gap stay.  The new entries
 * go in before vma's entry narrows, so a lock-free reader finds vma's old
 * range covered throughout.
 */
int vt_split3(struct vma_tree *t, struct vma *vma, struct vma *lo, struct vma *hi)
{
    unsigned i;
    struct vt_node *leaf = find_slot(t, vma, &i);

    VM_BUG_ON(lo->vm_start != vma->vm_start || lo->vm_end <= lo->vm_start ||
              hi->vm_end != vma->vm_end || hi->vm_start < lo->vm_end + 1 ||
              hi->vm_start >= hi->vm_end);
    if (unlikely(leaf->count + 2 > VT_FANOUT)) {
        int err = vt_reserve(t, 2);
        if (err)
            return err;
        err = vt_split(t, vma, hi);
        VM_BUG_ON(err);
        return vt_split(t, vma, lo);
    }
    __atomic_store_n(&vma->vm_start, lo->vm_end, __ATOMIC_RELAXED);
    __atomic_store_n(&vma->vm_end, hi->vm_start, __ATOMIC_RELAXED);
    leaf_insert_at(leaf, i + 1, hi->vm_end, hi);
    leaf_insert_at(leaf, i, lo->vm_end, lo);
    store_val(&leaf->ent[i + 1].start, lo->vm_end);
    store_val(&leaf->key[i + 1], hi->vm_start);
    t->count += 2;
    cursor_set(t, leaf, i + 1);   /* at vma, between lo and hi */
    return 0;
}

/*
 * A merge: target's range becomes [start, end), and every other VMA that
 * overlaps [start, end) leaves the tree (the caller has detached them; they
 * lie inside the range).  What vt_erase of each and a vt_update of target
 * would do, in one descent when all of them share target's leaf.
 *
 *     [ P | M | N ]  ->  [ P         ]     (P the target, M and N removed)
 *
 * When the entries tiled [start, end) without holes, the leaf keeps its last
 * key and its largest gap (the gaps that go were 0), so nothing propagates.
 */
void vt_merge(struct vma_tree *t, struct vma *target, unsigned long start, unsigned long end)
{
    unsigned ti;
    struct vt_node *leaf = find_slot(t, target, &ti);
    unsigned lo = ti, hi = ti;

    VM_BUG_ON(start >= end || end == VT_KEY_NONE || start > target->vm_start ||
              end < target->vm_end);
    while (lo > 0 && leaf->key[lo - 1] > start)
        lo--;
    while (hi + 1 < leaf->count && leaf->ent[hi + 1].start < end)
        hi++;
    if (unlikely((lo == 0 && leaf->prev && last_key(leaf->prev) > start) ||
                 (hi + 1 == leaf->count && leaf->next && leaf->next->ent[0].start < end))) {
        /* The range straddles leaves: one VMA at a time. */
        unsigned long addr = start;
        struct vma *v;
        while ((v = vt_find(t, addr)) && v->vm_start < end) {
            addr = v->vm_end;
            if (v != target)
                vt_erase(t, v);
        }
        vt_update(t, target, start, end);
        return;
    }

    bool tiled = leaf->ent[lo].start == start && leaf->key[hi] == end;
    for (unsigned j = lo; tiled && j < hi; j++)
        tiled = leaf->ent[j + 1].start == leaf->key[j];

    __atomic_store_n(&target->vm_start, start, __ATOMIC_RELAXED);
    __atomic_store_n(&target->vm_end, end, __ATOMIC_RELAXED);
    /* The removed entries go first, so that the keys stay sorted: the
     * range is briefly a hole to a lock-free reader, never a wrong order. */
    if (hi > lo) {
        unsigned cnt = leaf->count, gone = hi - lo;
        for (unsigned j = lo + 1; j + gone < cnt; j++) {
            store_val(&leaf->key[j], leaf->key[j + gone]);
            store_val(&leaf->ent[j].start, leaf->ent[j + gone].start);
            store_ptr(&leaf->ent[j].slot, leaf->ent[j + gone].slot);
        }
        for (unsigned j = cnt - gone; j < cnt; j++) {
            store_ptr(&leaf->ent[j].slot, NULL);
            store_val(&leaf->key[j], VT_KEY_NONE);
            store_val(&leaf->ent[j].start, 0);
        }
        store_val(&leaf->count, cnt - gone);
        t->count -= gone;
    }
    store_val(&leaf->ent[lo].start, start);
    store_ptr(&leaf->ent[lo].slot, target);
    store_val(&leaf->key[lo], end);
    cursor_set(t, leaf, lo);   /* at target (cleared if rebalance drops the leaf) */
    if (tiled && (hi == lo || leaf->count >= VT_MERGE_BELOW || !leaf->parent))
        return;
    rebalance(t, leaf);
}

/* ------------------------------------------------------------ gaps */

struct gap_req {
    unsigned long low, high, length;
};

#define GAP_NONE ULONG_MAX

/*
 * Highest gap below n that, clipped to [low, high), holds length bytes; its
 * clipped end, or GAP_NONE.  lo is the end of the VMA before n's first.
 * Children are tried right to left; a child is skipped when its largest gap
 * is too small or all its gaps lie at or above high, and the search stops at
 * the first child whose gaps all lie at or below low.  Only the children
 * straddling low or high can be entered in vain, so the cost stays O(log n).
 */
static unsigned long topdown(const struct vt_node *n, unsigned long lo, const struct gap_req *r)
{
    for (unsigned i = n->count; i-- > 0;) {
        unsigned long before = i ? n->key[i - 1] : lo;
        if (before >= r->high)
            continue;
        if (is_leaf(n)) {
            unsigned long start = leaf_vma(n, i)->vm_start;
            if (start <= r->low)
                return GAP_NONE;
            unsigned long gs = max(before, r->low), ge = min(start, r->high);
            if (ge - gs >= r->length)
                return ge;
        } else {
            if (n->key[i] <= r->low)
                return GAP_NONE;
            if (n->ent[i].gap < r->length)
                continue;
            unsigned long res = topdown(child(n, i), before, r);
            if (res != GAP_NONE)
                return res;
        }
    }
    return GAP_NONE;
}

/* Lowest such gap; its clipped start, or GAP_NONE.  Mirror of topdown. */
static unsigned long bottomup(const struct vt_node *n, unsigned long lo, const struct gap_req *r)
{
    for (unsigned i = 0; i < n->count; i++) {
        unsigned long before = i ? n->key[i - 1] : lo;
        if (before >= r->high)
            return GAP_NONE;
        if (is_leaf(n)) {
            unsigned long start = leaf_vma(n, i)->vm_start;
            if (start <= r->low)
                continue;
            unsigned long gs = max(before, r->low), ge = min(start, r->high);
            if (ge - gs >= r->length)
                return gs;
        } else {
            if (n->key[i] <= r->low)
                continue;
            if (n->ent[i].gap < r->length)
                continue;
            unsigned long res = bottomup(child(n, i), before, r);
            if (res != GAP_NONE)
                return res;
        }
    }
    return GAP_NONE;
}

/* Common argument checks; false if no range can fit.  Results must fit a long. */
static bool gap_args(struct gap_req *r, unsigned long low, unsigned long high, unsigned long length)
{
    if (high > (unsigned long)LONG_MAX)
        high = LONG_MAX;
    r->low = low;
    r->high = high;
    r->length = length;
    return length && low < high && high - low >= length;
}

long vt_gap_topdown(const struct vma_tree *t, unsigned long low, unsigned long high, unsigned long length)
{
    struct gap_req r;

    if (!gap_args(&r, low, high, length))
        return -ENOMEM;
    if (!t->root)
        return (long)r.high;
    /* The free space after the last VMA is the highest of all. */
    unsigned long end = last_key(t->root);
    if (end < r.high && r.high - max(end, r.low) >= r.length)
        return (long)r.high;
    unsigned long res = topdown(t->root, 0, &r);
    return res == GAP_NONE ? -ENOMEM : (long)res;
}

long vt_gap_bottomup(const struct vma_tree *t, unsigned long low, unsigned long high, unsigned long length)
{
    struct gap_req r;

    if (!gap_args(&r, low, high, length))
        return -ENOMEM;
    if (!t->root)
        return (long)r.low;
    unsigned long res = bottomup(t->root, 0, &r);
    if (res != GAP_NONE)
        return (long)res;
    unsigned long gs = max(last_key(t->root), r.low);
    if (gs < r.high && r.high - gs >= r.length)
        return (long)gs;
    return -ENOMEM;
}

/* ------------------------------------------------------------ checking */

static size_t subtree_bytes(const struct vt_node *n)
{
    if (is_leaf(n))
        return VT_NODE_BYTES;
    size_t b = VT_NODE_BYTES;
    for (unsigned i = 0; i < n->count; i++)
        b += subtree_bytes(child(n, i));
    return b;
}

size_t vt_node_bytes(const struct vma_tree *t)
{
    return t->root ? subtree_bytes(t->root) : 0;
}

struct vcheck {
    const struct vt_node *last[VT_MAX_HEIGHT];  /* last node seen per level */
    const struct vt_node *cursor;               /* the tree's cursor leaf */
    bool cursor_seen;
    unsigned long prev_end;                     /* end of the last VMA seen */
    unsigned long count;
};

#define CHECK(cond) do { if (!(cond)) return -__LINE__; } while (0)

/* Check n and below; *maxgap gets n's largest gap. */
static int check_node(const struct vt_node *n, const struct vt_node *parent,
                      unsigned level, struct vcheck *c, unsigned long *maxgap)
{
    int err;

    CHECK(n->level == level);
    CHECK(n->parent == parent);
    CHECK(n->count >= 1 && n->count <= VT_FANOUT);
    CHECK(parent || is_leaf(n) || n->count >= 2);
    CHECK(n->prev == c->last[level]);
    if (n == c->cursor) {
        CHECK(is_leaf(n));
        c->cursor_seen = true;
    }
    CHECK(!c->last[level] || c->last[level]->next == n);
    c->last[level] = n;
    for (unsigned i = 0; i < VT_FANOUT; i++) {
        if (i >= n->count) {
            CHECK(n->key[i] == VT_KEY_NONE && n->ent[i].slot == NULL);
            continue;
        }
        CHECK(n->ent[i].slot != NULL);
        CHECK(i == 0 || n->key[i - 1] < n->key[i]);
    }
    *maxgap = 0;
    for (unsigned i = 0; i < n->count; i++) {
        unsigned long g;
        if (is_leaf(n)) {
            const struct vma *v = leaf_vma(n, i);
            CHECK(v->vm_end == n->key[i]);
            CHECK(v->vm_start == n->ent[i].start);
            CHECK(v->vm_start < v->vm_end);
            CHECK(v->vm_start >= c->prev_end);
            g = v->vm_start - c->prev_end;
            c->prev_end = v->vm_end;
            c->count++;
        } else {
            const struct vt_node *ch = child(n, i);
            if ((err = check_node(ch, n, level - 1, c, &g)))
                return err;
            CHECK(n->key[i] == last_key(ch));
            CHECK(n->ent[i].gap == g);
        }
        *maxgap = max(*maxgap, g);
    }
    return 0;
}

int vt_validate(const struct vma_tree *t)
{
    struct vcheck c;
    unsigned long g;
    int err;

    memset(&c, 0, sizeof(c));
    if (!t->root) {
        CHECK(t->height == 0 && t->count == 0 && !t->cur_leaf);
        return 0;
    }
    CHECK(t->height >= 1 && t->height < VT_MAX_HEIGHT);
    c.cursor = t->cur_leaf;
    if ((err = check_node(t->root, NULL, t->height - 1, &c, &g)))
        return err;
    /* The cursor is a leaf of this tree, never a freed or spare node. */
    CHECK(!t->cur_leaf || (c.cursor_seen && t->cur_idx < VT_FANOUT));
    for (unsigned l = 0; l < t->height; l++)
        CHECK(c.last[l] && c.last[l]->next == NULL);
    CHECK(c.count == t->count);
    unsigned n = 0;
    for (const struct vt_node *s = t->spare; s; s = s->ent[0].slot)
        n++;
    CHECK(n == t->nr_spare);
    n = 0;
    for (const struct vt_node *s = t->leaf_spare; s; s = s->parent)
        n++;
    CHECK(n == t->nr_leaf_spare);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * vma_init.c — VMA objects: where they come from, how they go, and the
 * batches that give the tree's unlinked nodes back after a grace period
 * (Linux's mm/vma_init.c and SLAB_TYPESAFE_BY_RCU).
 *
 * VMAs are type-stable, as Linux's are (SLAB_TYPESAFE_BY_RCU): they come
 * from per-mm chunks and return to mm->vma_cache, never to malloc, until the
 * last mmdrop.  So a freed VMA can be reused at once, with no grace period,
 * although a lock-free reader (lock_vma_under_rcu) may still hold a pointer
 * to it: that reader can only take the read lock of an attached VMA, then
 * checks that the VMA covers its address, so it either gets a VMA of this
 * mm that is right for it, whatever the memory was before, or falls back.
 * For this to hold, vm_refcnt and vm_lock_seq are only ever written
 * atomically, also when the memory is reused (vma_alloc, vma_dup).
 *
 * Tree leaves are reused at once too, but only as leaves (vma_tree.c).
 * Internal nodes are not type-stable (a node read at the wrong level would
 * send a reader astray), so unlinked ones wait for an RCU grace period.  They
 * wait in batches: once a write unlock finds RECLAIM_BATCH of them (the
 * tree's freed list), one call_rcu takes them all; after the grace period
 * the callback hands the batch back to its mm (mm->reclaimed, a lock-free
 * stack) and the next write lock turns the nodes into tree spares.
 */
#include "vma_init.h"
#include "host.h"
#include "rcu.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define RECLAIM_BATCH 64

struct vma_chunk {
    struct vma_chunk *next;
    struct vma vmas[VMA_CHUNK];
};

struct reclaim_batch {
    struct rcu_head rcu;
    struct mm *mm;
    struct vt_node *nodes;            /* the tree's chain */
    struct reclaim_batch *next;       /* in mm->reclaimed */
};

static void reclaim_batch_cb(struct rcu_head *head)
{
    struct reclaim_batch *b = caa_container_of(head, struct reclaim_batch, rcu);
    struct mm *mm = b->mm;
    struct reclaim_batch *old = atomic_load_explicit(&mm->reclaimed, memory_order_relaxed);
    do {
        b->next = old;
    } while (!atomic_compare_exchange_weak_explicit(&mm->reclaimed, &old, b,
                                                    memory_order_release, memory_order_relaxed));
    mmdrop(mm);   /* the reference the batch held; may free the mm, batch and all */
}

/* At mmap write lock: take back the nodes RCU has released.  Write lock held. */
void mm_reclaim(struct mm *mm)
{
    /* Acquire: pairs with the callback's release push. */
    struct reclaim_batch *b = atomic_exchange_explicit(&mm->reclaimed, NULL, memory_order_acquire);
    while (b) {
        struct reclaim_batch *next = b->next;
        vt_give_spares(&mm->mm_mt, b->nodes);
        free(b);
        b = next;
    }
}

void mm_free_deferred(struct mm *mm, bool force)
{
    if (mm->mm_mt.nr_freed < (force ? 1 : RECLAIM_BATCH))
        return;
    struct vt_node *nodes = vt_take_freed(&mm->mm_mt);
    struct reclaim_batch *b = vm_malloc(sizeof(*b));
    if (!b) {
        /* No memory for the batch: wait for the grace period here instead. */
        synchronize_rcu();
        vt_give_spares(&mm->mm_mt, nodes);
        return;
    }
    b->mm = mm;
    b->nodes = nodes;
    mmgrab(mm);
    vm_call_rcu(&b->rcu, reclaim_batch_cb);
}

/* At the last mmdrop: every batch has come back, nothing is in flight. */
void mm_free_vma_cache(struct mm *mm)
{
    struct reclaim_batch *b = atomic_exchange(&mm->reclaimed, NULL);
    while (b) {
        struct reclaim_batch *next = b->next;
        vt_free_chain(b->nodes);
        free(b);
        b = next;
    }
    while (mm->vma_chunks) {
        struct vma_chunk *c = mm->vma_chunks;
        mm->vma_chunks = c->next;
        free(c);
    }
    mm->vma_cache = NULL;
}

/* Clear or copy a VMA's plain fields: everything after the lock words, which
 * come first and are left to atomic stores (see above). */
#define VMA_PLAIN_START offsetof(struct vma, vm_start)
#define VMA_PLAIN_BYTES (sizeof(struct vma) - VMA_PLAIN_START)

static struct vma *vma_get_free(struct mm *mm)
{
    struct vma *vma = mm->vma_cache;
    if (vma) {
        mm->vma_cache = vma->free_next;
        return vma;
    }
    if (!mm->vma_chunks || mm->vma_chunk_used == VMA_CHUNK) {
        struct vma_chunk *c = vm_malloc(sizeof(*c));
        if (!c)
            return NULL;
        c->next = mm->vma_chunks;
        mm->vma_chunks = c;
        mm->vma_chunk_used = 0;
        /* Fresh memory: no reader has ever seen these lock words. */
        memset(c->vmas, 0, sizeof(c->vmas));
    }
    return &mm->vma_chunks->vmas[mm->vma_chunk_used++];
}

struct vma *vma_alloc(struct mm *mm)
{
    struct vma *vma = vma_get_free(mm);
    if (!vma)
        return NULL;
    memset((char *)vma + VMA_PLAIN_START, 0, VMA_PLAIN_BYTES);
    vma->vm_mm = mm;
    __atomic_store_n(&vma->vm_lock_seq, UINT_MAX, __ATOMIC_RELAXED);
    return vma;
}

/* A VMA is free once detached (vm_refcnt 0): no reader can lock it. */
static void vma_put_free(struct vma *vma)
{
    struct mm *mm = vma->vm_mm;
    VM_BUG_ON(__atomic_load_n(&vma->vm_refcnt, __ATOMIC_RELAXED) != 0);
    vma->free_next = mm->vma_cache;
    mm->vma_cache = vma;
}

/* Out of line: free is not wanted in every caller's code. */
void __anon_vma_free(struct anon_vma *av)
{
    free(av);
}

void __anon_name_free(struct anon_name *n)
{
    free(n);
}

bool anon_name_equal(const struct anon_name *a, const struct anon_name *b)
{
    if (a == b)
        return true;
    return a && b && strcmp(a->name, b->name) == 0;
}

int vma_get_file(struct vma *vma)
{
    struct vm_file *f = vm_file_mapping(vma->vm_file);
    if (f->cache) {
        pthread_mutex_lock(&f->rmap_lock);
        if (f->rmap_n == f->rmap_cap) {
            unsigned long cap = f->rmap_cap ? 2 * f->rmap_cap : 4;
            struct vma **a = vm_alloc_fails() ? NULL : realloc(f->rmap, cap * sizeof(*a));
            if (!a) {
                pthread_mutex_unlock(&f->rmap_lock);
                return -ENOMEM;
            }
            f->rmap = a;
            f->rmap_cap = cap;
        }
        f->rmap[f->rmap_n++] = vma;
        pthread_mutex_unlock(&f->rmap_lock);
    }
    vm_file_get(vma->vm_file);
    if (vma_is_shared_maywrite(vma->vm_flags))
        atomic_fetch_add_explicit(&f->nr_writable, 1, memory_order_relaxed);
    return 0;
}

void vma_rmap_del(struct vma *vma)
{
    struct vm_file *f = vma_rmap_file(vma);
    if (!f)
        return;
    pthread_mutex_lock(&f->rmap_lock);
    for (unsigned long i = 0; i < f->rmap_n; i++)
        if (f->rmap[i] == vma) {
            f->rmap[i] = f->rmap[--f->rmap_n];
            break;
        }
    pthread_mutex_unlock(&f->rmap_lock);
}

struct vma *vma_dup(struct vma *orig)
{
    struct vma *vma = vma_get_free(orig->vm_mm);
    if (!vma)
        return NULL;
    /* vma_alloc without its memset: every plain byte is copied over. */
    memcpy((char *)vma + VMA_PLAIN_START, (const char *)orig + VMA_PLAIN_START, VMA_PLAIN_BYTES);
    __atomic_store_n(&vma->vm_lock_seq, UINT_MAX, __ATOMIC_RELAXED);
    if (vma->vm_file && vma_get_file(vma)) {
        vma->vm_file = NULL;
        vma_put_free(vma);
        return NULL;
    }
    anon_vma_get(vma->anon_vma);
    anon_name_get(vma->anon_name);
    return vma;
}

struct vma *vma_dup_into(struct mm *mm, struct vma *orig)
{
    struct vma *vma = vma_get_free(mm);
    if (!vma)
        return NULL;
    memcpy((char *)vma + VMA_PLAIN_START, (const char *)orig + VMA_PLAIN_START, VMA_PLAIN_BYTES);
    vma->vm_mm = mm;
    vma->anon_vma = NULL;
    __atomic_store_n(&vma->vm_lock_seq, UINT_MAX, __ATOMIC_RELAXED);
    if (vma->vm_file && vma_get_file(vma)) {
        vma->vm_file = NULL;
        vma_put_free(vma);
        return NULL;
    }
    anon_name_get(vma->anon_name);
    return vma;
}

/* The NULL test spares most VMAs (anonymous) a call. */
static void vma_drop_refs(struct vma *vma)
{
    if (vma->vm_file) {
        vma_rmap_del(vma);
        if (vma_is_shared_maywrite(vma->vm_flags))
            atomic_fetch_sub_explicit(&vm_file_mapping(vma->vm_file)->nr_writable, 1,
                                      memory_order_relaxed);
        vm_file_put(vma->vm_file);
    }
    anon_vma_put(vma->anon_vma);
    anon_name_put(vma->anon_name);
}

void vma_free_unused(struct vma *vma)
{
    vma_drop_refs(vma);
    vma_put_free(vma);
}

/* The VMA left the tree (detached): reusable at once, see "objects". */
void vma_defer_free(struct vma *vma)
{
    vma_drop_refs(vma);
    vma_put_free(vma);
}

void vma_release(struct vma *vma)
{
    if (vma->vm_ops && vma->vm_ops->close)
        vma->vm_ops->close(to_ref(vma));
    vma_defer_free(vma);
}



/* SPDX-License-Identifier: MIT */
/*
 * vma_init.h — VMA objects: where they come from and how they go
 * (vma_init.c), and the references a VMA holds on its anon_vma and name.
 */
#ifndef VMAREA_VMA_INIT_H
#define VMAREA_VMA_INIT_H

#include "mm_types.h"

/* VMAs come in chunks of this many (one malloc each). */
#define VMA_CHUNK 63

/* A zeroed VMA of mm, not in the tree; NULL when out of memory. */
struct vma *__must_check vma_alloc(struct mm *mm);
/* A copy of orig with its own references (file, anon_vma, name); NULL when
 * out of memory. */
struct vma *__must_check vma_dup(struct vma *orig);
/* vma_dup for another mm (fork): from mm's VMAs, without an anon_vma (the
 * caller gives it its own). */
struct vma *__must_check vma_dup_into(struct mm *mm, struct vma *orig);
/* vma->vm_file, set, gets the VMA's reference, its count of shared
 * writable mappings (nr_writable) when the VMA is one, and for an
 * object with a page cache the VMA's place in its rmap: 0, or -ENOMEM with nothing taken.
 * vma_free_unused and vma_defer_free give all back. */
int __must_check vma_get_file(struct vma *vma);
/* Take vma out of its page cache's rmap, early: before munmap frees the
 * page tables of its range, which a punch or truncation could otherwise
 * walk (vma_defer_free does it for every other VMA). */
void vma_rmap_del(struct vma *vma);
/* The page cache's object whose rmap_lock guards vma's bounds, or NULL. */
static inline struct vm_file *vma_rmap_file(const struct vma *vma)
{
    return vma_has_cache(vma) ? vm_file_mapping(vma->vm_file) : NULL;
}
static inline void vma_rmap_lock(struct vm_file *f)
{
    if (f)
        pthread_mutex_lock(&f->rmap_lock);
}
static inline void vma_rmap_unlock(struct vm_file *f)
{
    if (f)
        pthread_mutex_unlock(&f->rmap_lock);
}
/* Free a VMA that was never in the tree (no close hook, no grace period). */
void vma_free_unused(struct vma *vma);
/* A VMA that left the tree: drop its references and make it reusable. */
void vma_defer_free(struct vma *vma);
/* vma_defer_free after the mappable's close hook. */
void vma_release(struct vma *vma);
void mm_free_deferred(struct mm *mm, bool force);   /* at write unlock */
void mm_free_vma_cache(struct mm *mm);               /* at the last mmdrop */
void mm_reclaim(struct mm *mm);                      /* at write lock */

/* References on a VMA's anon_vma and name; NULL is none.  The tests are
 * inline: most VMAs are anonymous before their first fault and unnamed, and
 * split, merge and unmap drop and take these references every time. */
void __anon_vma_free(struct anon_vma *av);
void __anon_name_free(struct anon_name *n);
static inline void anon_vma_get(struct anon_vma *av)
{
    if (av)
        av->refcount++;
}
static inline void anon_vma_put(struct anon_vma *av)
{
    if (av && --av->refcount == 0)
        __anon_vma_free(av);
}
static inline void anon_name_get(struct anon_name *n)
{
    if (n)
        atomic_fetch_add_explicit(&n->refcount, 1, memory_order_relaxed);
}
static inline void anon_name_put(struct anon_name *n)
{
    if (n && atomic_fetch_sub_explicit(&n->refcount, 1, memory_order_acq_rel) == 1)
        __anon_name_free(n);
}
bool anon_name_equal(const struct anon_name *a, const struct anon_name *b);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * mmap_lock.h — the write side of the per-VMA locks (mmap_lock.c; the read
 * side and the mmap lock are public, vmarea.h).  docs/locking.md has the
 * rules.
 */
#ifndef VMAREA_MMAP_LOCK_H
#define VMAREA_MMAP_LOCK_H

#include "mm_types.h"

/* Mark a VMA as being changed in this write section (vma_start_write). */
void vma_start_write(struct vma *vma);
void vma_mark_attached(struct vma *vma);
void vma_mark_detached(struct vma *vma);
/* A new VMA is write-locked from birth: no reader can have it yet, so a
 * plain store does (vma_start_write's wait would find nobody). */
static inline void vma_lock_new(struct mm *mm, struct vma *vma)
{
    __atomic_store_n(&vma->vm_lock_seq, atomic_load_explicit(&mm->mm_lock_seq, memory_order_relaxed),
                     __ATOMIC_RELAXED);
}
/* lock_vma_under_rcu, trying this thread's last such VMA first (faults). */
const struct vma_ref *lock_vma_under_rcu_hinted(struct mm *mm, unsigned long addr);

#endif

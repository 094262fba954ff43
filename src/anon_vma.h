/* SPDX-License-Identifier: MIT */
/*
 * anon_vma.h — the identity of a VMA's anonymous pages (anon_vma.c; the
 * structure is in mm_types.h, its references in vma_init.h).
 */
#ifndef VMAREA_ANON_VMA_H
#define VMAREA_ANON_VMA_H

#include "mm_types.h"

/* Give vma an anon_vma (a neighbour's when they could merge): 0 or -ENOMEM.
 * Mmap lock held, read or write: racing faults serialize on
 * mm->anon_vma_lock. */
int __must_check anon_vma_prepare(struct vma *vma);

#endif

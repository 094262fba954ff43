/* SPDX-License-Identifier: MIT */
/*
 * vma.h — the VMA layer (vma.c): splitting and merging VMAs by Linux's
 * rules, linking them into the tree.  Like Linux's mm/vma.h it depends on
 * the types alone; what it asks of the memory below (splitting a huge PMD
 * at a new boundary) is declared in huge_memory.h, so the logic compiles
 * and tests with stub memory (tests/unit/test_vma_stub.c).
 */
#ifndef VMAREA_VMA_H
#define VMAREA_VMA_H

#include "mm_types.h"

/*
 * One merge or modification, carried through its phases (Linux's
 * vma_merge_struct).  prev/middle/next are the VMAs around or at the range;
 * start/end/pgoff/flags/file/anon_vma/anon_name describe the range as it
 * should become.  The __ fields are set by the merge logic.
 */
struct vma_merge_struct {
    struct mm *mm;
    struct vma *prev, *middle, *next, *target;
    struct vma *copied_from;       /* copy_vma's source, whose anon_vma a merge would take */
    unsigned long start, end, pgoff;
    vm_flags_t flags;
    struct vm_file *file;
    struct anon_vma *anon_vma;
    struct anon_name *anon_name;
    bool just_expand;
    bool __remove_middle, __remove_next, __adjust_middle_start, __adjust_next_start;
};

/* Split vma at addr (new_below: the new VMA takes the part below): 0 or
 * -ENOMEM.  split_vma refuses past max_map_count, __split_vma may go one
 * over (munmap). */
int __must_check split_vma(struct vma *vma, unsigned long addr, int new_below);
int __must_check __split_vma(struct vma *vma, unsigned long addr, int new_below);
/* A new range between vmg->prev and vmg->next: the neighbour extended over
 * it, or NULL when none merges. */
struct vma *vma_merge_new_range(struct vma_merge_struct *vmg);
/*
 * Give [start, end) of vma (prev is the VMA before start, or vma itself when
 * start is inside vma) the flags / name in vmg: merge with a neighbour if
 * Linux would, else split off the range.  Returns the VMA now covering
 * exactly the range (or a merged superset), write-locked, or ERR_PTR(-errno).
 */
struct vma *__must_check vma_modify_flags(struct vma *prev, struct vma *vma, unsigned long start,
                                          unsigned long end, vm_flags_t new_flags);
struct vma *__must_check vma_modify_name(struct vma *prev, struct vma *vma, unsigned long start,
                                         unsigned long end, struct anon_name *name);
/*
 * mremap's VMAs.  copy_vma: where a move puts [addr, addr + len) of *vmap's
 * contents, with its attributes and pgoff: a neighbour extended over the
 * range (*vmap becomes that VMA if it was the one extended: an unfaulted
 * anonymous source moved next to itself), or a new VMA, opened and linked.
 * vma_merge_extend: vma grown by delta bytes at its end, merged with the
 * next VMA where Linux would; NULL for a VM_SPECIAL vma.  Both return NULL
 * on -ENOMEM.  Mmap write lock; tree space for three changes reserved.
 */
struct vma *copy_vma(struct vma **vmap, unsigned long addr, unsigned long len, unsigned long pgoff);
struct vma *vma_merge_extend(struct vma *vma, unsigned long delta);
/* Insert a fully set-up new VMA (write-locked, counted). Tree space reserved. */
void vma_link(struct mm *mm, struct vma *vma);
/* Take a VMA out of the tree (write-locked, detached, uncounted). */
void vma_unlink(struct mm *mm, struct vma *vma);

#endif

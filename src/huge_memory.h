/* SPDX-License-Identifier: MIT */
/*
 * huge_memory.h — transparent huge pages (huge_memory.c): faults, splits,
 * collapse, and which VMAs may have them.
 */
#ifndef VMAREA_HUGE_MEMORY_H
#define VMAREA_HUGE_MEMORY_H

#include "memory.h"

/* Whether THP may back vma: the mode and the VMA's advice (what smaps
 * calls THPeligible). */
bool vma_thp_eligible(const struct vma *vma);
/* The fault at addr as a 2 MiB one: 0, -errno, -EFAULT_RETRY, or
 * -EFAULT_FALLBACK when the 4 KiB path must take it.  Locks as
 * handle_mm_fault. */
int do_huge_pmd_fault(struct vma *vma, unsigned long addr, bool write, bool mmap_locked);

/* A VMA boundary is about to appear at addr (not PMD-aligned): a huge PMD
 * across it is split into its 512 entries (vma_adjust_trans_huge).  Mmap
 * write lock, and the VMA holding addr write-locked first: until then a
 * fault under that VMA's lock may map a huge page there after the split
 * looked (Linux's order too: vma_start_write, then the adjust). */
void split_huge_pmd_at(struct mm *mm, unsigned long addr);
static inline void split_huge_pmds(struct mm *mm, unsigned long start, unsigned long end)
{
    /* Nothing can be huge without THP or without a page table, and a
     * boundary on a PMD boundary splits nothing: the VMA operations that
     * call this stay free of walks in those cases. */
    if (mm->cfg.thp == MM_THP_NEVER || !pgtable_bytes(&mm->pgt))
        return;
    if (start & (PMD_SIZE - 1))
        split_huge_pmd_at(mm, start);
    if (end & (PMD_SIZE - 1))
        split_huge_pmd_at(mm, end);
}
/* Split the large folios [start, end) touches (always) or covers in part,
 * mapping the zero page over their zero-filled subpages; a folio a fork
 * shares is left whole.  Mmap lock, any. */
void split_huge_folios(struct vma *vma, unsigned long start, unsigned long end, bool always);
/* The large folio of the 2 MiB at haddr is mapped by another mm too
 * (folio_maybe_mapped_shared): advice leaves it alone. */
bool large_folio_shared(struct mm *mm, unsigned long haddr);
/* MADV_COLLAPSE of one aligned 2 MiB of an anonymous VMA: 0, -EINVAL or
 * -ENOMEM.  Mmap write lock held, the VMA write-locked. */
int __must_check collapse_huge_pmd(struct vma *vma, unsigned long haddr);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * task_mmu.h — the pieces of the maps/smaps formatter (task_mmu.c), exposed
 * so that unit tests can drive them with hand-made VMAs.  The library's own
 * callers use the public mm_show_maps / mm_show_smaps / mm_get_stats and
 * vma_special_name (mm.h).
 *
 * Locks: every function here reads VMA fields and mm->layout / mm->cfg, so
 * the caller holds the mmap lock of vma->vm_mm (read is enough) — or owns the
 * VMA outright, as a test does.  None of them takes a lock itself.
 */
#ifndef VMAREA_TASK_MMU_H
#define VMAREA_TASK_MMU_H

#include "mm.h"

#include <stdint.h>
#include <stdio.h>

/* The fixed-point shift of the proportional counters, as Linux's PSS_SHIFT. */
#define SMAPS_PSS_SHIFT 12

/*
 * What one VMA holds in memory, as smaps shows it.  Sizes in bytes; the
 * proportional (pss*) counters in bytes << SMAPS_PSS_SHIFT, so that a page
 * shared by three mappers adds a third of a page without rounding each time.
 */
struct smaps_mem {
    unsigned long resident;
    unsigned long shared_clean, shared_dirty;
    unsigned long private_clean, private_dirty;
    unsigned long referenced;
    unsigned long anonymous;
    unsigned long ksm;
    unsigned long lazyfree;
    unsigned long anon_thp, shmem_thp, file_thp;
    unsigned long shared_hugetlb, private_hugetlb;
    unsigned long swap;
    uint64_t pss, pss_dirty, pss_locked, swap_pss;
};

/* Fill *mem for vma (zeroed first). */
void smaps_gather_mem(const struct vma *vma, struct smaps_mem *mem);

/*
 * The VmFlags text for flags: each set flag's two-letter code and a space, in
 * bit order ("rd wr mr mw me ac ").  Bits Linux knows no code for print "??";
 * protection-key bits print nothing; "sd" only when soft_dirty is true.
 * Writes at most size bytes including the NUL; returns the length the whole
 * text needs (as snprintf).  64 flags need at most 3 * 64 + 1 bytes.
 */
#define VMA_FLAGS_TEXT_MAX (3 * 64 + 1)
size_t vma_flags_text(vm_flags_t flags, bool soft_dirty, char *buf, size_t size);

/* The "THPeligible:" value: could a PMD-sized THP back part of this VMA? */
bool vma_thp_eligible(const struct vma *vma);

/* One /proc/PID/maps line, or one whole smaps entry, written to out. */
void vma_show_map(const struct vma *vma, FILE *out);
void vma_show_smap(const struct vma *vma, FILE *out);

#endif

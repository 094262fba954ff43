/* SPDX-License-Identifier: MIT */
/*
 * gup.c — populating ranges (Linux's __mm_populate and
 * populate_vma_page_range in mm/gup.c), for mlock, MAP_POPULATE, MAP_LOCKED
 * and mlockall.
 *
 * Populating faults pages in as accesses would (memory.c).  It also matters
 * for merging: a write fault on private anonymous memory gives the VMA an
 * anon_vma (anon_vma_prepare), and from then on mprotect keeps VM_ACCOUNT and
 * the VMA merges only with neighbours whose anon_vma is compatible; a read
 * fault maps the zero page and gives none, unless the host has no zero page
 * (MM_CONFIG_NO_ZERO_PAGE), where a read allocates as a write does.
 */
#include "internal.h"

#include <stdlib.h>

/*
 * anon_vma_compatible: could a and b (a just below b) have been one VMA
 * that was split?  Then b may share a's anon_vma.
 */
static bool anon_vma_compatible(const struct vma *a, const struct vma *b)
{
    return a->vm_end == b->vm_start && a->vm_file == b->vm_file &&
           !((a->vm_flags ^ b->vm_flags) & ~(VM_ACCESS_FLAGS | VM_IGNORE_MERGE)) &&
           b->vm_pgoff == a->vm_pgoff + ((b->vm_start - a->vm_start) >> PAGE_SHIFT);
}

/* find_mergeable_anon_vma: reuse a neighbour's anon_vma when the two VMAs
 * could merge one day, and the neighbour's was not inherited through fork. */
static struct anon_vma *find_mergeable_anon_vma(struct mm *mm, struct vma *vma)
{
    struct vma *next = vt_next(&mm->mm_mt, vma);
    if (next && anon_vma_compatible(vma, next) && next->anon_vma && !next->anon_vma->forked)
        return next->anon_vma;
    struct vma *prev = vt_prev(&mm->mm_mt, vma);
    if (prev && anon_vma_compatible(prev, vma) && prev->anon_vma && !prev->anon_vma->forked)
        return prev->anon_vma;
    return NULL;
}

int anon_vma_prepare(struct vma *vma)
{
    struct mm *mm = vma->vm_mm;
    mmap_assert_locked(mm);
    if (vma_anon_vma(vma))
        return 0;
    int err = 0;
    pthread_mutex_lock(&mm->anon_vma_lock);
    if (!vma->anon_vma) {
        struct anon_vma *av = find_mergeable_anon_vma(mm, vma);
        if (!av)
            av = calloc(1, sizeof(*av));
        if (av) {
            av->refcount++;
            /* Release: a fault that sees it may map pages under it at once. */
            __atomic_store_n(&vma->anon_vma, av, __ATOMIC_RELEASE);
        } else {
            err = -ENOMEM;
        }
    }
    pthread_mutex_unlock(&mm->anon_vma_lock);
    return err;
}

/*
 * Fault in every page of [start, end) inside vma that an access of this kind
 * would fault (follow_page, then handle_mm_fault).  Mmap lock held.
 */
int populate_vma_range(struct vma *vma, unsigned long start, unsigned long end, bool write)
{
    struct mm *mm = vma->vm_mm;
    unsigned flags = write ? FAULT_FLAG_WRITE : 0;
    for (unsigned long addr = start; addr < end; addr += PAGE_SIZE) {
        pte_t _Atomic *ptep = pgtable_walk(&mm->pgt, addr);
        pte_t pte = ptep ? ptep_get(ptep) : 0;
        if (pte_present(pte) && (!write || pte_write(pte))) {
            /* FOLL_TOUCH: the page is referenced, and dirty if written. */
            if (!pte_special(pte))
                ptep_set_flags(ptep, PTE_ACCESSED | (write ? PTE_DIRTY : 0));
            continue;
        }
        int err = handle_mm_fault(vma, addr, flags, true);
        if (err)
            return err;
    }
    return 0;
}

/*
 * Fault in [start, end) as mlock and MAP_POPULATE do.  VMAs that lock on
 * fault only, and VM_IO/VM_PFNMAP VMAs, are skipped.  An inaccessible VMA
 * (PROT_NONE, or execute-only behind its protection key, which keeps even the
 * kernel's reads out) fails with -EFAULT unless ignore_errors; so does a page
 * that cannot be faulted (-ENOMEM when memory ran out).  With ignore_errors a
 * failing VMA is left where it failed and the next one is tried.
 * Mmap write lock held.
 */
int mm_populate_locked(struct mm *mm, unsigned long start, unsigned long end, bool ignore_errors)
{
    mmap_assert_write_locked(mm);
    if (start >= end)
        return 0;
    for (struct vma *vma = vt_find(&mm->mm_mt, start); vma && vma->vm_start < end;
         vma = vt_next(&mm->mm_mt, vma)) {
        vm_flags_t f = vma->vm_flags;
        if (f & (VM_IO | VM_PFNMAP))
            continue;
        if (f & VM_LOCKONFAULT)
            continue;
        int err = 0;
        if (!(f & VM_ACCESS_FLAGS) ||
            (!(f & (VM_READ | VM_WRITE)) && vma_pkey_of(f) == EXECUTE_ONLY_PKEY))
            err = -EFAULT;
        else
            /* Private writable memory is populated by write faults (its
             * own pages, not the zero page); all else by reads. */
            err = populate_vma_range(vma, max(start, vma->vm_start), min(end, vma->vm_end),
                                     (f & (VM_WRITE | VM_SHARED)) == VM_WRITE);
        if (err == -EIO || err == -EACCES)
            err = -EFAULT;
        if (err && !ignore_errors)
            return err;
    }
    return 0;
}

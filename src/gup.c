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
#include "mm.h"

static int folio_dirty_one(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    (void)arg;
    (void)addr;
    (void)ptep;
    if (!pte_special(pte) && !pte_file(pte))
        page_set_dirty(pte_page(pte));
    return 0;
}

/*
 * FOLL_TOUCH on a present entry the access may use: the page is referenced,
 * and if written through a clean entry, the page is dirtied, not the entry
 * (follow_page_pte's folio_mark_dirty), so every mapping of it sees it: a
 * shared file page, an anonymous page a fork shares.  A page of a large
 * folio dirties the folio, all of its table; a huge PMD is dirtied itself
 * (touch_pmd).
 */
static void touch_present(struct mm *mm, unsigned long addr, pte_t _Atomic *ptep, pte_t pte,
                          bool write)
{
    if (pte_special(pte))
        return;
    if (!write || pte_dirty(pte)) {
        ptep_set_flags(ptep, PTE_ACCESSED);
        return;
    }
    pte_t pmd = pte_file(pte) ? 0 : ptep_get(pgtable_pmd(&mm->pgt, addr));
    if (pmd & PMD_HUGE) {
        ptep_set_flags(ptep, PTE_ACCESSED | PTE_DIRTY);
        return;
    }
    if (pmd & PMD_LARGE) {
        unsigned long haddr = addr & ~(PMD_SIZE - 1);
        pgtable_for_each(&mm->pgt, haddr, haddr + PMD_SIZE, folio_dirty_one, NULL);
    } else {
        page_set_dirty(pte_page(pte));
    }
    ptep_set_flags(ptep, PTE_ACCESSED);
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
            touch_present(mm, addr, ptep, pte, write);
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

/* SPDX-License-Identifier: MIT */
/*
 * mprotect.c — changing a range's protection (Linux's do_mprotect_pkey and
 * mprotect_fixup).
 */
#include "mm.h"
#include "rcu.h"

#define PROT_SEM_ 0x8

/* MM_CONFIG_THP_WRPROTECT_CLEAN: the hosts whose change_huge_pmd loses a
 * soft-dirty huge entry's dirty bit with its write bit.  A huge PMD's dirty
 * bit is the OR of its table's entries here: each loses it. */
struct clean_huge {
    struct pgtable *pt;
    unsigned long start, end;
};

static int clean_huge_one(void *arg, unsigned long addr, pte_t _Atomic *pmdp, pte_t pmd)
{
    struct clean_huge *c = arg;
    (void)pmdp;
    if ((pmd & PMD_HUGE) && addr >= c->start && addr + PMD_SIZE <= c->end)
        pgtable_change_prot(c->pt, addr, addr + PMD_SIZE, PTE_DIRTY, 0);
    return 0;
}

/*
 * Private memory made writable (MM_CP_TRY_CHANGE_WRITABLE): an exclusive
 * anonymous page's entry becomes writable at once, clean as it was, as
 * can_change_private_pte_writable allows; a write fault would only have
 * reused the page.  Every other entry keeps faulting first (copy-on-write).
 * It shows where a populating write then dirties the page, not the entry
 * (gup.c), and MADV_FREE leaves such a page alone while a fork shares it.
 * Linux also keeps the fault where soft-dirty tracking wants one (an entry
 * not soft-dirty in a VMA without VM_SOFTDIRTY); entries here carry no
 * soft-dirty bit, and the only such VMA vmarea makes, exec's stack, holds
 * pages written by the exec.
 */
static int make_writable_one(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    (void)arg;
    (void)addr;
    while (pte_present(pte) && !(pte & (PTE_WRITE | PTE_SPECIAL | PTE_FILE | PTE_PROTNONE)) &&
           !page_test_flag(pte_page(pte), PG_anon_shared) &&
           !ptep_cmpxchg(ptep, &pte, pte | PTE_WRITE))
        ;
    return 0;
}

/*
 * Entries keep their pages; what changes is what an access may do without a
 * fault.  Losing VM_WRITE takes PTE_WRITE away; gaining it gives it back to
 * exclusive anonymous pages (above).  When an entry loses a right,
 * lock-free accesses that read it before the change may still be copying:
 * mprotect returns only after they are done, as Linux's waits for its TLB
 * flush.
 */
static void change_protection(struct vma *vma, unsigned long start, unsigned long end,
                              vm_flags_t old_flags, vm_flags_t new_flags)
{
    if (!pgtable_bytes(&vma->vm_mm->pgt))
        return;   /* no tables, no entries to change */
    pte_t clear = 0, set = 0;
    if (!(new_flags & VM_WRITE))
        clear |= PTE_WRITE;
    else if (vma_is_shmem(vma) && (new_flags & VM_SHARED))
        set |= PTE_WRITE;   /* vm_page_prot is writable there (file_pte_flags) */
    if (data_accessible(new_flags))
        clear |= PTE_PROTNONE;
    else
        set |= PTE_PROTNONE;
    unsigned long changed = pgtable_change_prot(&vma->vm_mm->pgt, start, end, clear, set);
    /* old_flags: the range's, not vma's, which a merge may already have
     * given the new ones. */
    bool lost_write = (old_flags & VM_WRITE) && !(new_flags & VM_WRITE);
    bool lost_access = data_accessible(old_flags) && !data_accessible(new_flags);
    if (changed && lost_write && (vma->vm_mm->cfg.flags & MM_CONFIG_THP_WRPROTECT_CLEAN)) {
        struct clean_huge c = { &vma->vm_mm->pgt, start, end };
        pgtable_for_each_pmd(&vma->vm_mm->pgt, start, end, clean_huge_one, &c);
    }
    if (changed && (lost_write || lost_access))
        synchronize_rcu();
    /* Only a VMA with an anon_vma has anonymous pages. */
    if ((new_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE && vma->anon_vma)
        pgtable_for_each(&vma->vm_mm->pgt, start, end, make_writable_one, NULL);
}

/*
 * Give [start, end) of vma the new flags; *pprev becomes the VMA that covers
 * the range afterwards.
 */
static int mprotect_fixup(struct vma *vma, struct vma **pprev, unsigned long start,
                          unsigned long end, vm_flags_t newflags)
{
    struct mm *mm = vma->vm_mm;
    vm_flags_t oldflags = vma->vm_flags;
    long nrpages = (long)((end - start) >> PAGE_SHIFT);

    if (newflags == oldflags) {
        *pprev = vma;
        return 0;
    }
    /*
     * Making private memory writable charges it (VM_ACCOUNT), or is refused
     * (overcommit.c); making it read-only again can only uncharge anonymous
     * memory that has no pages.
     */
    long charged = 0;
    if (newflags & VM_WRITE) {
        /* Memory that becomes data must fit RLIMIT_DATA. */
        if (!may_expand_vm(mm, newflags, (unsigned long)nrpages) &&
            may_expand_vm(mm, oldflags, (unsigned long)nrpages))
            return -ENOMEM;
        if (!(oldflags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE))) {
            if (vm_enough_memory(mm, nrpages))
                return -ENOMEM;
            charged = nrpages;
            newflags |= VM_ACCOUNT;
        }
    } else if ((oldflags & VM_ACCOUNT) && vma_is_anonymous(vma) && !vma->anon_vma) {
        newflags &= ~VM_ACCOUNT;
    }

    struct vma *res = vma_modify_flags(*pprev, vma, start, end, newflags);
    if (IS_ERR(res)) {
        vm_unacct_memory(charged);
        return (int)PTR_ERR(res);
    }
    vma = res;
    if ((oldflags & VM_ACCOUNT) && !(newflags & VM_ACCOUNT))
        vm_unacct_memory(nrpages);
    *pprev = vma;
    /* vma is write-locked (vma_modify_flags).  The key matters too:
     * execute-only memory takes no loads. */
    if ((oldflags ^ newflags) & (VM_ACCESS_FLAGS | VM_PKEY_MASK))
        change_protection(vma, start, end, oldflags, newflags);
    vma->vm_flags = newflags | (vma->vm_flags & VM_STICKY);   /* a merge may have added some */

    /* A private locked VMA becoming writable is populated at once (COW), so
     * that a later write does not fault. */
    if ((oldflags & (VM_WRITE | VM_SHARED | VM_LOCKED)) == VM_LOCKED && (newflags & VM_WRITE))
        mm_populate_locked(mm, start, end, true);

    vm_stat_account(mm, oldflags, -nrpages);
    vm_stat_account(mm, newflags, nrpages);
    return 0;
}

int mm_mprotect(struct mm *mm, unsigned long start, unsigned long len, int prot)
{
    int grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
    prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
    if (grows == (PROT_GROWSDOWN | PROT_GROWSUP))
        return -EINVAL;
    if (offset_in_page(start))
        return -EINVAL;
    if (!len)
        return 0;
    len = PAGE_ALIGN(len);
    unsigned long end = start + len;
    if (end <= start)
        return -ENOMEM;
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM_))
        return -EINVAL;

    MMAP_WRITE_GUARD(g, mm);
    MM_VALIDATE_ON_EXIT(mm, &start, &end);
    /* prev: the VMA before start, or the one holding start when start is
     * inside it (then the range is offset into it). */
    struct vma *prev;
    struct vma *vma = vt_find_and_prev_wr(&mm->mm_mt, start, &prev);
    if (!vma || vma->vm_start >= end)
        return -ENOMEM;
    if (grows & PROT_GROWSDOWN) {
        if (start != vma->vm_start)
            prev = vt_prev(&mm->mm_mt, vma);
        start = vma->vm_start;
        if (!(vma->vm_flags & VM_GROWSDOWN))
            return -EINVAL;
    } else {
        if (vma->vm_start > start)
            return -ENOMEM;
        if (grows & PROT_GROWSUP)
            return -EINVAL;   /* no VM_GROWSUP on x86 */
    }

    unsigned long nstart = start, tmp = vma->vm_start;
    int error = 0;
    while (vma && vma->vm_start < end) {
        if (vma->vm_start != tmp) {
            error = -ENOMEM;
            break;
        }
        /* arch_override_mprotect_pkey: execute-only gets the execute-only
         * key, leaving execute-only returns to the default key. */
        unsigned long pkey = vma_pkey_of(vma->vm_flags);
        if (!(mm->cfg.flags & MM_CONFIG_NO_PKEYS)) {
            if (prot == PROT_EXEC)
                pkey = EXECUTE_ONLY_PKEY;
            else if (pkey == EXECUTE_ONLY_PKEY)
                pkey = 0;
        }
        vm_flags_t newflags = calc_vm_prot_bits(prot) | (pkey << VM_PKEY_SHIFT) |
                              (vma->vm_flags & ~(VM_ACCESS_FLAGS | VM_PKEY_MASK));
        /* Each VM_MAY* bit sits 4 above its VM_* bit. */
        if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS) {
            error = -EACCES;
            break;
        }
        tmp = min(vma->vm_end, end);
        error = mprotect_fixup(vma, &prev, nstart, tmp, newflags);
        if (error)
            break;
        tmp = prev->vm_end;      /* the VMA now covering the range may be a merged one */
        nstart = tmp;
        vma = tmp < end ? vt_next_wr(&mm->mm_mt, prev) : NULL;
    }
    if (!error && tmp < end)
        error = -ENOMEM;
    return error;
}

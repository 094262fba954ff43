/* SPDX-License-Identifier: MIT */
/*
 * fork.c — mm_fork (Linux's dup_mmap in kernel/fork.c, with copy_page_range
 * and copy_present_pte of mm/memory.c): a copy-on-write duplicate of an
 * address space.
 *
 * The child's VMAs are the parent's, but for VM_DONTCOPY ones (left out),
 * VM_WIPEONFORK ones (empty) and the lock flags (not inherited).  Where the
 * parent's VMA has an anon_vma (or maps frames or guard regions), its
 * entries are copied: private pages become shared by both, read-only where
 * the VMA could be written (a write copies, or reuses a page nobody else
 * maps, do_wp_page); file and shmem pages stay the same pages.  Other
 * file VMAs start empty in the child, which faults from the page cache.
 *
 * Each child VMA with anonymous pages gets an anon_vma of its own, marked
 * as forked: as Linux's anon_vma chains say, such a VMA does not merge with
 * one that has no anon_vma, nor lend its anon_vma to a neighbour.
 *
 * The child's entries point at frames of the parent's pool: the child holds
 * the parent's struct (mm->fork_parent) until it goes, so the pool lives.
 */
#include "mm.h"
#include "memory.h"
#include "host.h"
#include "rcu.h"

#include <stdlib.h>

struct fork_copy {
    bool cow;                 /* private and may be written: share read-only */
    bool shared;              /* VM_SHARED: the child's entries start clean */
    bool wrprotected;         /* a parent entry lost PTE_WRITE */
    long anon, file;          /* the child's Rss */
};

/* copy_present_pte, for one entry of the parent: the child's entry. */
static pte_t copy_one(void *arg, unsigned long addr, pte_t _Atomic *slot, pte_t pte)
{
    struct fork_copy *c = arg;
    (void)addr;
    if (!pte_present(pte) || pte_special(pte))
        return pte;   /* a guard marker, the zero page, a raw frame: no reference */
    struct vm_page *page = pte_page(pte);
    page_get(page);
    page_mapcount_inc(page);
    if (pte_file(pte)) {
        c->file++;
        return (c->shared ? pte & ~PTE_DIRTY : pte) & ~PTE_ACCESSED;
    }
    c->anon++;
    if (c->cow && pte_write(pte)) {
        /* From the value it has now: a store may have made it dirty. */
        pte_t cur = pte;
        while (!ptep_cmpxchg(slot, &cur, cur & ~PTE_WRITE))
            ;
        pte = cur & ~PTE_WRITE;
        c->wrprotected = true;
    }
    /* folio_try_dup_anon_rmap_pte; after the write-protect, so that no
     * writable entry maps a shared page. */
    page_set_flag(page, PG_anon_shared);
    return pte & ~PTE_ACCESSED;
}

/* A copy of the parent's VMA in the child, linked, its entries copied. */
static int dup_vma(struct mm *mm, struct vma *mpnt, struct fork_copy *c)
{
    long pages = (long)vma_pages(mpnt);
    long charged = 0;
    if (mpnt->vm_flags & VM_ACCOUNT) {
        if (vm_enough_memory(mm, pages))
            return -ENOMEM;
        charged = pages;
    }
    struct vma *tmp = vt_reserve(&mm->mm_mt, 1) ? NULL : vma_dup_into(mm, mpnt);
    if (!tmp) {
        vm_unacct_memory(charged);
        return -ENOMEM;
    }
    tmp->vm_flags &= ~VM_LOCKED_MASK;
    bool wipe = tmp->vm_flags & VM_WIPEONFORK;
    if (!wipe && mpnt->anon_vma) {
        struct anon_vma *av = vm_calloc(1, sizeof(*av));
        if (!av) {
            vma_free_unused(tmp);
            vm_unacct_memory(charged);
            return -ENOMEM;
        }
        av->refcount = 1;
        av->forked = true;
        tmp->anon_vma = av;
    }
    if (tmp->vm_ops && tmp->vm_ops->open)
        tmp->vm_ops->open(to_ref(tmp));
    vma_link(mm, tmp);
    vm_stat_account(mm, tmp->vm_flags, pages);
    /* vma_needs_copy */
    if (wipe || !(mpnt->anon_vma || (mpnt->vm_flags & (VM_PFNMAP | VM_MIXEDMAP | VM_MAYBE_GUARD))))
        return 0;
    *c = (struct fork_copy){
        .cow = (mpnt->vm_flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE,
        .shared = mpnt->vm_flags & VM_SHARED, .wrprotected = c->wrprotected,
    };
    int err = pgtable_copy_range(&mm->pgt, &mpnt->vm_mm->pgt, mpnt->vm_start, mpnt->vm_end, copy_one, c);
    if (c->anon)
        mm_counter_add(mm, MM_ANONPAGES, c->anon);
    if (c->file)
        mm_counter_add(mm, mm_counter_file(tmp), c->file);
    return err;
}

struct mm *mm_fork(struct mm *oldmm)
{
    struct mm_config cfg = oldmm->cfg;
    struct mm *mm = mm_create(&cfg);
    if (!mm)
        return NULL;
    mmgrab(oldmm);
    mm->fork_parent = oldmm;

    int err = 0;
    bool wrprotected = false;
    {
        MMAP_WRITE_GUARD(g, oldmm);
        MMAP_WRITE_GUARD(gc, mm);
        mm->layout = oldmm->layout;
        mm->def_flags = oldmm->def_flags & VM_NOHUGEPAGE;   /* not MCL_FUTURE */
        for (struct vma *mpnt = vt_first(&oldmm->mm_mt); mpnt && !err; mpnt = vt_next(&oldmm->mm_mt, mpnt)) {
            if (mpnt->vm_flags & VM_DONTCOPY)
                continue;
            /* No fault under the VMA's own lock while its entries are copied. */
            vma_start_write(mpnt);
            struct fork_copy c = { .wrprotected = false };
            err = dup_vma(mm, mpnt, &c);
            wrprotected |= c.wrprotected;
        }
        /* A lock-free store into a page the parent now shares may have been
         * under way as its entry lost PTE_WRITE: let it land before the child
         * can see the page (Linux flushes the parent's TLB for the same). */
        if (wrprotected)
            synchronize_rcu();
    }
    if (err) {
        mmput(mm);
        errno = -err;
        return NULL;
    }
    return mm;
}

/* SPDX-License-Identifier: MIT */
/*
 * madvise.c — advice about a range (Linux's mm/madvise.c).  The advice that
 * changes VMA flags modifies VMAs like mprotect does (split or merge); the
 * advice about memory contents comes with page tables.
 */
#include "mm.h"
#include "host.h"

#include <stdlib.h>
#include <string.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#define MADV_GUARD_INSTALL_ 102
#define MADV_GUARD_REMOVE_  103
#define MADV_SOFT_OFFLINE_  101

/* madvise_behavior_valid, for an x86-64 kernel with THP, KSM and
 * memory-failure support. */
static bool madvise_behavior_valid(int behavior)
{
    switch (behavior) {
    case MADV_DOFORK: case MADV_DONTFORK: case MADV_NORMAL: case MADV_SEQUENTIAL:
    case MADV_RANDOM: case MADV_REMOVE: case MADV_WILLNEED: case MADV_DONTNEED:
    case MADV_DONTNEED_LOCKED: case MADV_FREE: case MADV_COLD: case MADV_PAGEOUT:
    case MADV_POPULATE_READ: case MADV_POPULATE_WRITE:
    case MADV_MERGEABLE: case MADV_UNMERGEABLE:
    case MADV_HUGEPAGE: case MADV_NOHUGEPAGE: case MADV_COLLAPSE:
    case MADV_DONTDUMP: case MADV_DODUMP: case MADV_WIPEONFORK: case MADV_KEEPONFORK:
    case MADV_GUARD_INSTALL_: case MADV_GUARD_REMOVE_:
    case MADV_HWPOISON: case MADV_SOFT_OFFLINE_:
        return true;
    default:
        return false;
    }
}

/* Advice that changes VMA flags needs the mmap write lock. */
static bool madvise_need_mmap_write(int behavior)
{
    switch (behavior) {
    case MADV_REMOVE: case MADV_WILLNEED: case MADV_DONTNEED: case MADV_DONTNEED_LOCKED:
    case MADV_COLD: case MADV_PAGEOUT: case MADV_FREE: case MADV_POPULATE_READ:
    case MADV_POPULATE_WRITE: case MADV_GUARD_REMOVE_:
        return false;
    case MADV_GUARD_INSTALL_:
        /* Linux sets VM_MAYBE_GUARD atomically under the read lock; the
         * write lock gives the same result without a racy flags word. */
        return true;
    case MADV_COLLAPSE:
        /* Linux scans under the read lock and takes the write lock for
         * each collapse; holding it throughout gives the same result. */
        return true;
    default:
        return true;
    }
}

/* VM_MERGEABLE can only be set where KSM could work (vma_ksm_compatible). */
static bool vma_ksm_compatible(const struct vma *vma)
{
    if (vma->vm_flags & (VM_SHARED | VM_MAYSHARE | VM_PFNMAP | VM_IO | VM_DONTEXPAND |
                         VM_HUGETLB | VM_MIXEDMAP | VM_DROPPABLE))
        return false;
    return true;
}

/* ------------------------------------------------------------ page work */

/* The changes a walk gathered, one counter at a time. */
static void rss_add_all(struct mm *mm, const long *delta)
{
    for (int i = 0; i < NR_MM_COUNTERS; i++)
        if (delta[i])
            rss_add(mm, i, delta[i]);
}


/* ------------------------------------------------------------ MADV_FREE */

static int free_one(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    struct vma *vma = arg;
    if (pte_special(pte) || pte_file(pte))
        return 0;   /* the zero page, file pages */
    /* A page shared with another mm (after fork) loses this entry's dirty
     * and young bits, as Linux's do, but stays as it is: the other
     * mapping may still have written it.  If the page itself is dirty, or
     * a huge PMD maps it (madvise_free_huge_pmd), it keeps even those; if
     * it is ours alone, it is clean now. */
    struct vm_page *page = pte_page(pte);
    bool alone = page_mapcount(page) == 1;
    if (!alone && (ptep_get(pgtable_pmd(&vma->vm_mm->pgt, addr)) & PMD_HUGE))
        return 0;
    if (page_test_dirty(page)) {
        if (!alone)
            return 0;
        page_clear_flag(page, PG_dirty);
    }
    pte_t want = pte & ~(PTE_DIRTY | PTE_ACCESSED);
    if (alone && !page_test_flag(page, PG_mlocked))   /* folio_mark_lazyfree */
        want |= PTE_LAZYFREE;
    /* A racing write sets DIRTY again, and then the page is kept: that is
     * the MADV_FREE contract. */
    ptep_cmpxchg(ptep, &pte, want);
    return 0;
}

static void madvise_free_range(struct vma *vma, unsigned long start, unsigned long end)
{
    pgtable_for_each(&vma->vm_mm->pgt, start, end, free_one, vma);
}

/* ------------------------------------------------------------ guard regions */

/*
 * A guard region's pages hold a marker: an access faults as if nothing were
 * mapped (SIGSEGV, SEGV_MAPERR), zaps (MADV_DONTNEED, vma_zap_page_range_single)
 * leave it, munmap and MADV_GUARD_REMOVE take it away.  Installing over
 * mapped pages zaps them first, as Linux's retry loop ends up doing.
 */
static int guard_install_range(struct vma *vma, unsigned long start, unsigned long end)
{
    struct mm *mm = vma->vm_mm;
    mmap_assert_write_locked(mm);
    bool zapped = false;
    for (unsigned long addr = start; addr < end; addr += PAGE_SIZE) {
        pte_t _Atomic *ptep;
        int err = pgtable_walk_alloc(&mm->pgt, addr, &ptep);
        if (err)
            return err;
        pte_t pte = ptep_get(ptep);
        if (pte_marker(pte))
            continue;
        if (pte_present(pte)) {
            if (zapped)
                return -EAGAIN;   /* not reached: nothing maps under the write lock */
            zap_vma_range(vma, start, end);
            zapped = true;
            pte = 0;
        }
        if (!ptep_cmpxchg(ptep, &pte, PTE_MARKER_GUARD))
            addr -= PAGE_SIZE;   /* a lock-free access set a flag meanwhile: look again */
    }
    return 0;
}

static int guard_remove_one(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    (void)arg;
    (void)addr;
    if (pte_marker(pte))
        ptep_cmpxchg(ptep, &pte, 0);
    return 0;
}

static void guard_remove_range(struct vma *vma, unsigned long start, unsigned long end)
{
    pgtable_for_each(&vma->vm_mm->pgt, start, end, guard_remove_one, NULL);
}

/* ------------------------------------------------------------ MADV_COLD */

static int cold_one(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    (void)arg;
    (void)addr;
    /* Pages another mapping shares, and the zero page, are left alone. */
    if (!pte_present(pte) || pte_special(pte) || page_mapcount(pte_page(pte)) != 1)
        return 0;
    if (pte_young(pte))
        ptep_cmpxchg(ptep, &pte, pte & ~PTE_ACCESSED);
    return 0;
}

static void madvise_cold_range(struct vma *vma, unsigned long start, unsigned long end)
{
    pgtable_for_each(&vma->vm_mm->pgt, start, end, cold_one, NULL);
}

/* ------------------------------------------------------------ MADV_PAGEOUT */

/*
 * Reclaim without swap (shrink_folio_list): a lazily freed anonymous page
 * that is still clean is unmapped and freed; other anonymous pages cannot be
 * written anywhere, so they stay mapped.  A shmem page is unmapped first
 * (its entry's dirty bit passing to the page), then dropped from the object
 * if clean (it holds zeros: a later fault makes a new one), else kept in the
 * object for want of swap.  Pages another mapping shares are skipped.
 */
struct pageout_ctx {
    struct vma *vma;
    struct page_batch batch;
    long rss[NR_MM_COUNTERS];
};

static int pageout_one(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    struct pageout_ctx *c = arg;
    if (pte_special(pte))
        return 0;
    struct vm_page *page = pte_page(pte);
    if (page_mapcount(page) != 1)
        return 0;
    if (page_test_flag(page, PG_mlocked)) {
        page_clear_flag(page, PG_MLOCK_COUNT_MASK);   /* back on the LRU, counted 0 */
        return 0;
    }
    bool file = pte_file(pte);
    if (!file && (!(pte & PTE_LAZYFREE) || pte_dirty(pte) || page_test_dirty(page)))
        return 0;
    if (file && !vma_has_cache(c->vma))
        return 0;
    if (!ptep_cmpxchg(ptep, &pte, 0))
        return 0;
    page_mapcount_dec(page);
    if (file) {
        c->rss[mm_counter_file(c->vma)]--;
        if (pte_dirty(pte))
            page_set_dirty(page);
        unsigned long pgoff = c->vma->vm_pgoff + ((addr - c->vma->vm_start) >> PAGE_SHIFT);
        filemap_evict(c->vma->vm_file, pgoff, page);
    } else {
        c->rss[MM_ANONPAGES]--;
    }
    page_batch_put(&c->batch, page);
    return 0;
}

static void madvise_pageout_range(struct vma *vma, unsigned long start, unsigned long end)
{
    struct pageout_ctx c = { .vma = vma };
    page_batch_init(&c.batch);
    pgtable_for_each(&vma->vm_mm->pgt, start, end, pageout_one, &c);
    page_batch_flush(&c.batch, false);
    rss_add_all(vma->vm_mm, c.rss);
}

/* ------------------------------------------------------------ advice */

/*
 * MADV_COLLAPSE (madvise_collapse): every aligned 2 MiB inside the VMA's
 * part of the range becomes one THP, whatever the THP mode says (the advice
 * forces it).  EINVAL where the VMA may not have one: VM_NOHUGEPAGE, too
 * small for an aligned 2 MiB, or no anon_vma yet (never faulted).  A range
 * that starts and ends in one 2 MiB holds none and asks nothing (0), unless
 * it does not start at the boundary (Linux's count of 2 MiB pieces wraps
 * there: EINVAL).  A 2 MiB that cannot be collapsed does not stop the
 * others, but the call then fails with EINVAL; running out of memory stops
 * it with ENOMEM.  Shared anonymous memory, which Linux collapses into a
 * shmem THP, has no large pages here: EINVAL.
 */
static int madvise_collapse(struct vma *vma, unsigned long start, unsigned long end)
{
    if (!vma_is_anonymous(vma) || (vma->vm_flags & (VM_NOHUGEPAGE | VM_HUGETLB)) ||
        !vma_anon_vma(vma))
        return -EINVAL;
    /* thp_vma_suitable_order at the VMA's last aligned 2 MiB. */
    unsigned long last = (vma->vm_end - min(vma->vm_end, PMD_SIZE)) & ~(PMD_SIZE - 1);
    if (vma->vm_end - vma->vm_start < PMD_SIZE || last < vma->vm_start ||
        ((vma->vm_start >> PAGE_SHIFT) - vma->vm_pgoff) & ((PMD_SIZE >> PAGE_SHIFT) - 1))
        return -EINVAL;
    unsigned long hstart = (start + PMD_SIZE - 1) & ~(PMD_SIZE - 1), hend = end & ~(PMD_SIZE - 1);
    if (hstart > hend)
        return -EINVAL;
    vma_start_write(vma);
    int ret = 0;
    for (unsigned long addr = hstart; addr < hend; addr += PMD_SIZE) {
        int err = collapse_huge_pmd(vma, addr);
        if (err == -ENOMEM)
            return err;
        if (err)
            ret = err;
    }
    return ret;
}

/*
 * Advice about contents leaves the VMA as it is.  Each kind refuses the VMAs
 * Linux refuses.  There is no swap: MADV_COLD makes pages old and leaves
 * them, MADV_WILLNEED leaves every page where it is, and MADV_PAGEOUT unmaps
 * only shmem and clean lazily freed pages, as Linux does on a machine
 * without swap.
 */
static int madvise_contents(struct vma *vma, unsigned long start, unsigned long end, int behavior)
{
    switch (behavior) {
    case MADV_DONTNEED:
    case MADV_DONTNEED_LOCKED:
    case MADV_FREE: {
        vm_flags_t forbidden = VM_PFNMAP;
        if (behavior != MADV_DONTNEED_LOCKED)
            forbidden |= VM_LOCKED;
        if (!(vma->vm_flags & VM_HUGETLB) && (vma->vm_flags & forbidden))
            return -EINVAL;
        if (behavior == MADV_FREE) {
            if (!vma_is_anonymous(vma))
                return -EINVAL;   /* MADV_FREE works on anonymous memory only */
            split_huge_folios(vma, start, end, false);
            madvise_free_range(vma, start, end);
        } else {
            /* Never splits: the mappings go, the VMA stays. */
            zap_vma_range(vma, start, end);
        }
        return 0;
    }
    case MADV_COLD:
    case MADV_PAGEOUT:
        /* can_madv_lru_vma */
        if (vma->vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB))
            return -EINVAL;
        /* Reclaim without swap splits even a whole THP; MADV_COLD only a
         * part of one. */
        split_huge_folios(vma, start, end, behavior == MADV_PAGEOUT);
        madvise_cold_range(vma, start, end);
        if (behavior == MADV_PAGEOUT)
            madvise_pageout_range(vma, start, end);
        return 0;
    case MADV_REMOVE:
        if (vma->vm_flags & VM_LOCKED)
            return -EINVAL;
        if (!vma->vm_file)
            return -EINVAL;
        if ((vma->vm_flags & (VM_SHARED | VM_MAYWRITE)) != (VM_SHARED | VM_MAYWRITE))
            return -EACCES;
        /* A hole punched in the object: a driver's has no fallocate. */
        if (!vma_has_cache(vma))
            return -EOPNOTSUPP;
        {
            /* vfs_fallocate(PUNCH_HOLE) */
            unsigned long pgoff = vma->vm_pgoff + ((start - vma->vm_start) >> PAGE_SHIFT);
            return filemap_punch(vma->vm_file, pgoff, (end - start) >> PAGE_SHIFT);
        }
    case MADV_GUARD_INSTALL_: {
        /* is_valid_guard_vma: not where a zap could take locked or special
         * memory away.  The VMA is marked even if installing fails later. */
        if (vma->vm_flags & (VM_SPECIAL | VM_HUGETLB | VM_LOCKED))
            return -EINVAL;
        vma_start_write(vma);
        /* Before VM_MAYBE_GUARD, entries in the tables called for an
         * anon_vma whatever the VMA maps, and fork copied them for it. */
        bool flag = !(vma->vm_mm->cfg.flags & MM_CONFIG_NO_MAYBE_GUARD);
        if (flag)
            vma->vm_flags |= VM_MAYBE_GUARD;
        if (!flag || vma_is_anonymous(vma)) {
            int err = anon_vma_prepare(vma);
            if (err)
                return err;
        }
        return guard_install_range(vma, start, end);
    }
    case MADV_GUARD_REMOVE_:
        if (vma->vm_flags & (VM_SPECIAL | VM_HUGETLB))
            return -EINVAL;
        guard_remove_range(vma, start, end);
        return 0;
    case MADV_COLLAPSE:
        return madvise_collapse(vma, start, end);
    default:
        return 0;
    }
}

/*
 * MADV_POPULATE_READ/WRITE: fault the range in as an access would, stopping
 * at the first hole (ENOMEM) or the first VMA such an access may not touch
 * (EINVAL).  Not a VMA walk with holes skipped, unlike the other advice.
 */
static int madvise_populate(struct mm *mm, unsigned long start, unsigned long end, bool write)
{
    while (start < end) {
        struct vma *vma = vt_lookup(&mm->mm_mt, start);
        if (!vma)
            return -ENOMEM;
        if (vma->vm_flags & (VM_IO | VM_PFNMAP))
            return -EINVAL;
        if (!(vma->vm_flags & (write ? VM_WRITE : VM_READ)))
            return -EINVAL;
        unsigned long stop = min(end, vma->vm_end);
        int err = populate_vma_range(vma, start, stop, write);
        if (err)
            return err == -ENOMEM ? -ENOMEM : -EFAULT;   /* SIGBUS or SIGSEGV: EFAULT */
        start = stop;
    }
    return 0;
}

/* The internal advice behind prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME). */
#define MADV_SET_ANON_VMA_NAME_ (-1)

static int madvise_update_vma(struct vma *vma, struct vma **prev, unsigned long start,
                              unsigned long end, vm_flags_t new_flags)
{
    if (new_flags == vma->vm_flags) {
        *prev = vma;
        return 0;
    }
    vma = vma_modify_flags(*prev, vma, start, end, new_flags);
    if (IS_ERR(vma))
        return (int)PTR_ERR(vma);
    *prev = vma;
    vma_start_write(vma);
    vma->vm_flags = new_flags | (vma->vm_flags & VM_STICKY);   /* a merge may have added some */
    return 0;
}

static int madvise_set_name(struct vma *vma, struct vma **prev, unsigned long start,
                            unsigned long end, struct anon_name *name)
{
    /* Only anonymous memory (private or shared) can be named. */
    if (vma->vm_file && !vma->vm_file->anon_shmem)
        return -EBADF;
    if (anon_name_equal(vma->anon_name, name)) {
        *prev = vma;
        return 0;
    }
    vma = vma_modify_name(*prev, vma, start, end, name);
    if (IS_ERR(vma))
        return (int)PTR_ERR(vma);
    *prev = vma;
    vma_start_write(vma);
    anon_name_get(name);
    anon_name_put(vma->anon_name);
    vma->anon_name = name;
    return 0;
}

/* One VMA's part of the range; *prev becomes the VMA that covers it after. */
static int madvise_vma_behavior(struct vma *vma, struct vma **prev, unsigned long start,
                                unsigned long end, int behavior)
{
    vm_flags_t new_flags = vma->vm_flags;

    switch (behavior) {
    case MADV_NORMAL:
        new_flags &= ~(VM_RAND_READ | VM_SEQ_READ);
        break;
    case MADV_SEQUENTIAL:
        new_flags = (new_flags & ~VM_RAND_READ) | VM_SEQ_READ;
        break;
    case MADV_RANDOM:
        new_flags = (new_flags & ~VM_SEQ_READ) | VM_RAND_READ;
        break;
    case MADV_DONTFORK:
        new_flags |= VM_DONTCOPY;
        break;
    case MADV_DOFORK:
        if (vma->vm_flags & VM_IO)
            return -EINVAL;
        new_flags &= ~VM_DONTCOPY;
        break;
    case MADV_WIPEONFORK:
        if (vma->vm_file || (vma->vm_flags & VM_SHARED))
            return -EINVAL;
        new_flags |= VM_WIPEONFORK;
        break;
    case MADV_KEEPONFORK:
        if (vma->vm_flags & VM_DROPPABLE)
            return -EINVAL;
        new_flags &= ~VM_WIPEONFORK;
        break;
    case MADV_DONTDUMP:
        new_flags |= VM_DONTDUMP;
        break;
    case MADV_DODUMP:
        if (!(vma->vm_flags & VM_HUGETLB) && (new_flags & VM_SPECIAL))
            return -EINVAL;
        new_flags &= ~VM_DONTDUMP;
        break;
    case MADV_MERGEABLE:
        if ((vma->vm_flags & VM_MERGEABLE) || !vma_ksm_compatible(vma)) {
            *prev = vma;
            return 0;
        }
        new_flags |= VM_MERGEABLE;
        break;
    case MADV_UNMERGEABLE:
        new_flags &= ~VM_MERGEABLE;
        break;
    case MADV_HUGEPAGE:
        new_flags = (new_flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
        break;
    case MADV_NOHUGEPAGE:
        new_flags = (new_flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
        break;
    default:
        *prev = vma;
        return madvise_contents(vma, start, end, behavior);
    }
    /* A split past max_map_count (or any want of memory) is "resources
     * temporarily unavailable" here, as Linux's madvise says it. */
    int err = madvise_update_vma(vma, prev, start, end, new_flags);
    return err == -ENOMEM ? -EAGAIN : err;
}

/*
 * Apply advice to each VMA of [start, end).  Holes in the range are skipped
 * but reported with ENOMEM at the end, unlike mprotect and mlock, which stop
 * at the first.
 */
static int madvise_walk_vmas(struct mm *mm, unsigned long start, unsigned long end,
                             int behavior, struct anon_name *name)
{
    int unmapped_error = 0, error = 0;
    struct vma *prev;
    struct vma *vma = vt_find_and_prev(&mm->mm_mt, start, &prev);
    for (;;) {
        if (!vma)
            return -ENOMEM;
        if (start < vma->vm_start) {
            unmapped_error = -ENOMEM;
            start = vma->vm_start;
            if (start >= end)
                break;
        }
        unsigned long tmp = min(vma->vm_end, end);
        if (behavior == MADV_SET_ANON_VMA_NAME_) {
            error = madvise_set_name(vma, &prev, start, tmp, name);
            if (error == -ENOMEM)
                error = -EAGAIN;   /* as madvise_vma_behavior says it */
        } else {
            error = madvise_vma_behavior(vma, &prev, start, tmp, behavior);
        }
        if (error)
            return error;
        start = prev->vm_end;
        if (start >= end)
            break;
        vma = vt_next(&mm->mm_mt, prev);
    }
    return unmapped_error;
}

/* is_valid_madvise's range rules; 1 when the range is empty. */
static int madvise_check_range(unsigned long start, unsigned long len_in, unsigned long *end)
{
    if (offset_in_page(start))
        return -EINVAL;
    unsigned long len = PAGE_ALIGN(len_in);
    if (len_in && !len)
        return -EINVAL;
    *end = start + len;
    if (*end < start)
        return -EINVAL;
    return *end == start;
}

int mm_madvise(struct mm *mm, unsigned long start, unsigned long len_in, int behavior)
{
    if (!madvise_behavior_valid(behavior))
        return -EINVAL;
    unsigned long end;
    int ret = madvise_check_range(start, len_in, &end);
    if (ret)
        return ret < 0 ? ret : 0;
    if (behavior == MADV_HWPOISON || behavior == MADV_SOFT_OFFLINE_)
        return -EPERM;   /* needs CAP_SYS_ADMIN */

    if (behavior == MADV_POPULATE_READ || behavior == MADV_POPULATE_WRITE) {
        MMAP_WRITE_GUARD(g, mm);   /* a write fault may give a VMA its anon_vma */
        MM_VALIDATE_ON_EXIT(mm, &start, &end);
        return madvise_populate(mm, start, end, behavior == MADV_POPULATE_WRITE);
    }
    if (madvise_need_mmap_write(behavior)) {
        MMAP_WRITE_GUARD(g, mm);
        MM_VALIDATE_ON_EXIT(mm, &start, &end);
        return madvise_walk_vmas(mm, start, end, behavior, NULL);
    }
    MMAP_READ_GUARD(g, mm);
    MM_VALIDATE_ON_EXIT(mm, &start, &end);
    return madvise_walk_vmas(mm, start, end, behavior, NULL);
}

#define ANON_VMA_NAME_MAX_LEN 80

int mm_set_anon_name(struct mm *mm, unsigned long start, unsigned long len, const char *name)
{
    /* Without CONFIG_ANON_VMA_NAME, prctl(PR_SET_VMA) is unknown: EINVAL. */
    if (mm->cfg.flags & MM_CONFIG_NO_ANON_NAMES)
        return -EINVAL;
    struct anon_name *an = NULL;
    if (name) {
        size_t n = strnlen(name, ANON_VMA_NAME_MAX_LEN);
        if (n == ANON_VMA_NAME_MAX_LEN)
            return -EINVAL;           /* strndup_user: too long */
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)name[i];
            if (c <= 0x1f || c >= 0x7f || strchr("\\`$[]", c))
                return -EINVAL;
        }
        an = vm_malloc(sizeof(*an) + n + 1);
        if (!an)
            return -ENOMEM;
        atomic_init(&an->refcount, 1);
        memcpy(an->name, name, n + 1);
    }
    unsigned long end;
    int ret = madvise_check_range(start, len, &end);
    if (ret == 0) {
        MMAP_WRITE_GUARD(g, mm);
        ret = madvise_walk_vmas(mm, start, end, MADV_SET_ANON_VMA_NAME_, an);
    }
    anon_name_put(an);
    return ret < 0 ? ret : 0;
}

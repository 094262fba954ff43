/* SPDX-License-Identifier: MIT */
/*
 * mlock.c — mlock, mlock2, munlock, mlockall, munlockall (Linux's
 * mm/mlock.c): the VM_LOCKED / VM_LOCKONFAULT flags and locked_vm.
 */
#include "mm.h"

/*
 * Pages that stay mlocked after their VMA lost VM_LOCKED (PG_mlocked), with
 * Linux's mlock_count beside the bit, which its unevictable LRU keeps:
 *   - mremap's DONTUNMAP unlocks the old VMA without munlocking: each page
 *     left there keeps its bit, counted once for that VMA's lock;
 *   - mapping such a page into a VM_LOCKED VMA, or mlock of a VMA mapping
 *     it, counts one more (mlock_folio);
 *   - munlock of such a VMA, or unmapping the page from one, counts one
 *     less, and at 0 the bit goes (munlock_folio);
 *   - a reclaim attempt (MADV_PAGEOUT) puts the folio back on the LRU with
 *     a count of 0, so the next munlock clears the bit whatever came before
 *     (lru_add's "underestimate").
 * The bit and the count change with atomic operations on page->flags; the
 * callers hold the mmap lock of an mm mapping the page.
 */
atomic_bool mlock_stale_pages;

void mlock_count_page(struct vm_page *page, int delta)
{
    uintptr_t old = atomic_load_explicit(&page->flags, memory_order_relaxed), new;
    do {
        if (!(old & PG_mlocked))
            return;
        uintptr_t count = (old & PG_MLOCK_COUNT_MASK) >> PG_MLOCK_COUNT_SHIFT;
        if (delta > 0) {
            if (count == PG_MLOCK_COUNT_MASK >> PG_MLOCK_COUNT_SHIFT)
                return;
            new = old + ((uintptr_t)1 << PG_MLOCK_COUNT_SHIFT);
        } else if (count > 1) {
            new = old - ((uintptr_t)1 << PG_MLOCK_COUNT_SHIFT);
        } else {
            new = old & ~(PG_mlocked | PG_MLOCK_COUNT_MASK);
        }
    } while (!atomic_compare_exchange_weak_explicit(&page->flags, &old, new, memory_order_relaxed,
                                                    memory_order_relaxed));
}

struct mlock_walk {
    int delta;
    bool file_only;
};

static int count_one(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    struct mlock_walk *w = arg;
    (void)addr;
    (void)ptep;
    if (!pte_special(pte) && (!w->file_only || pte_file(pte)))
        mlock_count_page(pte_page(pte), w->delta);
    return 0;
}

void mlock_count_range(struct mm *mm, unsigned long start, unsigned long end, int delta,
                       bool file_only)
{
    struct mlock_walk w = { delta, file_only };
    pgtable_for_each(&mm->pgt, start, end, count_one, &w);
}

static int leave_one(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    (void)arg;
    (void)addr;
    (void)ptep;
    struct vm_page *page = pte_page(pte);
    if (!pte_special(pte) && !page_test_flag(page, PG_mlocked))
        atomic_fetch_or_explicit(&page->flags, PG_mlocked | ((uintptr_t)1 << PG_MLOCK_COUNT_SHIFT),
                                 memory_order_relaxed);
    return 0;
}

void mlock_leave_locked(struct mm *mm, unsigned long start, unsigned long end)
{
    atomic_store_explicit(&mlock_stale_pages, true, memory_order_relaxed);
    pgtable_for_each(&mm->pgt, start, end, leave_one, NULL);
}

static int mlock_fixup(struct vma *vma, struct vma **prev, unsigned long start,
                       unsigned long end, vm_flags_t newflags)
{
    struct mm *mm = vma->vm_mm;
    vm_flags_t oldflags = vma->vm_flags;

    /* Special mappings never get VM_LOCKED and are not counted. */
    if (newflags == oldflags || !vma_supports_mlock(vma)) {
        *prev = vma;
        return 0;
    }
    struct vma *res = vma_modify_flags(*prev, vma, start, end, newflags);
    if (IS_ERR(res)) {
        *prev = vma;
        return (int)PTR_ERR(res);
    }
    vma = res;
    long nr_pages = (long)((end - start) >> PAGE_SHIFT);
    if (!(newflags & VM_LOCKED))
        nr_pages = -nr_pages;
    else if (oldflags & VM_LOCKED)
        nr_pages = 0;
    mm->locked_vm += nr_pages;

    vma_start_write(vma);
    vma->vm_flags = newflags | (vma->vm_flags & VM_STICKY);   /* a merge may have added some */
    *prev = vma;
    /* mlock_vma_pages_range, where VM_LOCKED comes or goes. */
    if (((oldflags ^ newflags) & VM_LOCKED) && mlock_stale_seen())
        mlock_count_range(mm, start, end, (newflags & VM_LOCKED) ? 1 : -1, false);
    return 0;
}

/* apply_vma_lock_flags: stops with ENOMEM at the first hole. */
static int apply_vma_lock_flags(struct mm *mm, unsigned long start, unsigned long len, vm_flags_t flags)
{
    unsigned long end = start + len;
    if (end < start)
        return -EINVAL;
    if (end == start)
        return 0;
    struct vma *prev;
    struct vma *vma = vt_find_and_prev(&mm->mm_mt, start, &prev);
    if (!vma || vma->vm_start > start)
        return -ENOMEM;   /* start must be mapped (vma_iter_load) */
    unsigned long nstart = start, tmp = vma->vm_start;
    while (vma && vma->vm_start < end) {
        if (vma->vm_start != tmp)
            return -ENOMEM;
        vm_flags_t newflags = (vma->vm_flags & ~VM_LOCKED_MASK) | flags;
        tmp = min(vma->vm_end, end);
        int err = mlock_fixup(vma, &prev, nstart, tmp, newflags);
        if (err)
            return err;
        tmp = prev->vm_end;
        nstart = tmp;
        vma = tmp < end ? vt_next(&mm->mm_mt, prev) : NULL;
    }
    if (tmp < end)
        return -ENOMEM;
    return 0;
}

/*
 * RLIMIT_MEMLOCK (mm_config.memlock_limit): a process without CAP_IPC_LOCK
 * may have that much locked; 0 is a process with it, which has no limit.
 */
static unsigned long lock_limit_pages(const struct mm *mm)
{
    return mm->cfg.memlock_limit ? mm->cfg.memlock_limit >> PAGE_SHIFT : ULONG_MAX;
}

bool mlock_future_ok(struct mm *mm, vm_flags_t flags, unsigned long bytes)
{
    if (!(flags & VM_LOCKED) || !mm->cfg.memlock_limit)
        return true;
    unsigned long pages = bytes >> PAGE_SHIFT;
    return pages + mm->locked_vm >= pages && pages + mm->locked_vm <= lock_limit_pages(mm);
}

static int do_mlock(struct mm *mm, unsigned long start, unsigned long len, vm_flags_t flags)
{
    len = PAGE_ALIGN(len + offset_in_page(start));
    start &= PAGE_MASK;
    MMAP_WRITE_GUARD(g, mm);
    MM_VALIDATE_ON_EXIT_LEN(mm, &start, &len);
    /* The limit is checked before the range (a length that wraps is ENOMEM
     * here, not EINVAL), counting what the range has locked already only
     * when over it. */
    unsigned long limit = lock_limit_pages(mm), locked = (len >> PAGE_SHIFT) + mm->locked_vm;
    if (locked > limit)   /* count_mm_mlocked_page_nr */
        locked -= vma_pages_flagged(mm, start, start + len < start ? ULONG_MAX : start + len, VM_LOCKED);
    if (locked > limit)
        return -ENOMEM;
    int err = apply_vma_lock_flags(mm, start, len, flags);
    if (err)
        return err;
    /* __mlock_posix_error_return: a range that cannot be faulted in is
     * ENOMEM to mlock, and running out of memory is EAGAIN. */
    err = mm_populate_locked(mm, start, start + len, false);
    if (err == -EFAULT)
        return -ENOMEM;
    if (err == -ENOMEM)
        return -EAGAIN;
    return err;
}

int mm_mlock(struct mm *mm, unsigned long start, unsigned long len, unsigned flags)
{
    if (flags & ~MLOCK_ONFAULT)
        return -EINVAL;
    vm_flags_t vm_flags = VM_LOCKED;
    if (flags & MLOCK_ONFAULT)
        vm_flags |= VM_LOCKONFAULT;
    return do_mlock(mm, start, len, vm_flags);
}

int mm_munlock(struct mm *mm, unsigned long start, unsigned long len)
{
    len = PAGE_ALIGN(len + offset_in_page(start));
    start &= PAGE_MASK;
    MMAP_WRITE_GUARD(g, mm);
    MM_VALIDATE_ON_EXIT_LEN(mm, &start, &len);
    return apply_vma_lock_flags(mm, start, len, 0);
}

/* apply_mlockall_flags: every VMA, and the flags of future mappings. */
static void apply_mlockall_flags(struct mm *mm, int flags)
{
    vm_flags_t to_add = 0;
    mm->def_flags &= ~VM_LOCKED_MASK;
    if (flags & MCL_FUTURE) {
        mm->def_flags |= VM_LOCKED;
        if (flags & MCL_ONFAULT)
            mm->def_flags |= VM_LOCKONFAULT;
        if (!(flags & MCL_CURRENT))
            return;
    }
    if (flags & MCL_CURRENT) {
        to_add |= VM_LOCKED;
        if (flags & MCL_ONFAULT)
            to_add |= VM_LOCKONFAULT;
    }
    struct vma *prev = NULL;
    for (struct vma *vma = vt_first(&mm->mm_mt); vma;) {
        vm_flags_t newflags = (vma->vm_flags & ~VM_LOCKED_MASK) | to_add;
        /* Errors are ignored: mlockall locks what it can. */
        mlock_fixup(vma, &prev, vma->vm_start, vma->vm_end, newflags);
        vma = vt_next(&mm->mm_mt, prev);
    }
}

int mm_mlockall(struct mm *mm, int flags)
{
    if (!flags || (flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) || flags == MCL_ONFAULT)
        return -EINVAL;
    MMAP_WRITE_GUARD(g, mm);
    const unsigned long zero = 0;
    MM_VALIDATE_ON_EXIT(mm, &zero, &mm->cfg.task_size);
    /* The whole address space must fit the limit to lock what is mapped. */
    if ((flags & MCL_CURRENT) && mm->total_vm > lock_limit_pages(mm))
        return -ENOMEM;
    apply_mlockall_flags(mm, flags);
    if (flags & MCL_CURRENT)
        mm_populate_locked(mm, 0, mm->cfg.task_size, true);   /* locks what it can */
    return 0;
}

int mm_munlockall(struct mm *mm)
{
    MMAP_WRITE_GUARD(g, mm);
    apply_mlockall_flags(mm, 0);
    return 0;
}

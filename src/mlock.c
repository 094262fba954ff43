/*
 * mlock.c — mlock, mlock2, munlock, mlockall, munlockall (Linux's
 * mm/mlock.c): the VM_LOCKED / VM_LOCKONFAULT flags and locked_vm.
 */
#include "internal.h"

static bool vma_supports_mlock(const struct vma *vma)
{
    return !(vma->vm_flags & (VM_SPECIAL | VM_HUGETLB));
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
    int err = 0;
    struct vma *res = vma_modify_flags(*prev, vma, start, end, newflags, &err);
    if (!res) {
        *prev = vma;
        return err;
    }
    vma = res;
    long nr_pages = (long)((end - start) >> PAGE_SHIFT);
    if (!(newflags & VM_LOCKED))
        nr_pages = -nr_pages;
    else if (oldflags & VM_LOCKED)
        nr_pages = 0;
    mm->locked_vm += nr_pages;

    vma_start_write(vma);
    vma->vm_flags = newflags;
    *prev = vma;
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
    struct vma *vma = vt_lookup(&mm->mm_mt, start);
    if (!vma)
        return -ENOMEM;
    struct vma *prev = start > vma->vm_start ? vma : vt_prev(&mm->mm_mt, vma);
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
        vma = vt_next(&mm->mm_mt, prev);
    }
    if (tmp < end)
        return -ENOMEM;
    return 0;
}

/*
 * __mm_populate for a freshly locked range, with mlock's error rules: an
 * inaccessible (PROT_NONE) VMA cannot be faulted in, so mlock reports it
 * (EFAULT from get_user_pages becomes ENOMEM for mlock), unless the VMA
 * locks on fault only.  Memory itself comes with page tables.
 */
static int mlock_populate(struct mm *mm, unsigned long start, unsigned long end)
{
    struct mmap_read_guard g = mmap_read_lock(mm);
    int ret = 0;
    for (struct vma *vma = vt_find(&mm->mm_mt, start); vma && vma->vm_start < end;
         vma = vt_next(&mm->mm_mt, vma)) {
        if (vma->vm_flags & (VM_IO | VM_PFNMAP))
            continue;
        if ((vma->vm_flags & (VM_LOCKED | VM_LOCKONFAULT)) == VM_LOCKONFAULT)
            continue;
        if (!(vma->vm_flags & (VM_READ | VM_WRITE | VM_EXEC))) {
            ret = -ENOMEM;
            break;
        }
    }
    (mmap_read_unlock)(&g);
    return ret;
}

static int do_mlock(struct mm *mm, unsigned long start, unsigned long len, vm_flags_t flags)
{
    len = PAGE_ALIGN(len + offset_in_page(start));
    start &= PAGE_MASK;
    /* No RLIMIT_MEMLOCK: a vmarea mm behaves as a process with CAP_IPC_LOCK. */
    struct mmap_write_guard g = mmap_write_lock(mm);
    int err = apply_vma_lock_flags(mm, start, len, flags);
    (mmap_write_unlock)(&g);
    if (err)
        return err;
    return mlock_populate(mm, start, start + len);
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
    struct mmap_write_guard g = mmap_write_lock(mm);
    apply_mlockall_flags(mm, flags);
    (mmap_write_unlock)(&g);
    if (flags & MCL_CURRENT)
        mlock_populate(mm, 0, mm->cfg.task_size);   /* errors ignored, as Linux */
    return 0;
}

int mm_munlockall(struct mm *mm)
{
    MMAP_WRITE_GUARD(g, mm);
    apply_mlockall_flags(mm, 0);
    return 0;
}

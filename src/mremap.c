/* SPDX-License-Identifier: MIT */
/*
 * mremap.c — mm_mremap (Linux's mm/mremap.c, as of 6.18): shrink, grow in
 * place, move (MREMAP_MAYMOVE, MREMAP_FIXED), move keeping the old mapping
 * (MREMAP_DONTUNMAP), duplicate a shared mapping (old_len 0), and move
 * several VMAs at once (MREMAP_FIXED with old_len == new_len).
 *
 * A move carries the page-table entries across (whole PTE tables where both
 * sides are 2 MiB-aligned): no page is copied, Rss stays.  The checks run
 * in Linux's order, so that each failure gives Linux's errno.
 */
#include "mm.h"

#include <sys/mman.h>


/* One request as it is worked out (Linux's vma_remap_struct). */
struct remap {
    struct mm *mm;
    struct vma *vma;
    unsigned long addr, old_len, new_len, new_addr, delta;
    int flags;
    enum { NO_RESIZE, SHRINK, EXPAND } type;
    bool populate;                 /* VM_LOCKED and grown: fault the new part in */
};

static inline bool moving_to(const struct remap *r)
{
    return r->flags & (MREMAP_FIXED | MREMAP_DONTUNMAP);
}

/* check_prep_vma: the checks on the VMA at addr, in Linux's order. */
static int check_vma(struct remap *r)
{
    struct vma *vma = r->vma;
    if (!vma)
        return -EFAULT;
    r->delta = r->old_len > r->new_len ? r->old_len - r->new_len : r->new_len - r->old_len;
    r->type = !r->delta ? NO_RESIZE : r->old_len > r->new_len ? SHRINK : EXPAND;
    if (!moving_to(r))
        r->new_addr = r->addr;
    /* A shrink or a no-op in place checks nothing more. */
    if (r->type != EXPAND && !moving_to(r))
        return 0;
    unsigned long old_len = r->old_len, new_len = r->new_len;
    /* old_len 0 duplicates a mapping: only a shared one can be. */
    if (!old_len && !(vma->vm_flags & (VM_SHARED | VM_MAYSHARE)))
        return -EINVAL;
    if ((r->flags & MREMAP_DONTUNMAP) && (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP)))
        return -EINVAL;
    /* A shrinking move's tail is unmapped first, wherever it reaches. */
    if (r->type == SHRINK)
        old_len = new_len;
    if (old_len > vma->vm_end - r->addr)
        return -EFAULT;
    if (new_len == old_len)
        return 0;
    if (vma->vm_flags & VM_LOCKED)
        r->populate = true;
    unsigned long pgoff = vma->vm_pgoff + ((r->addr - vma->vm_start) >> PAGE_SHIFT);
    if (pgoff + (new_len >> PAGE_SHIFT) < pgoff)
        return -EINVAL;
    if (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP))
        return -EFAULT;
    if (!mlock_future_ok(r->mm, vma->vm_flags, r->delta))
        return -EAGAIN;
    if (!may_expand_vm(r->mm, vma->vm_flags, r->delta >> PAGE_SHIFT))
        return -ENOMEM;
    return 0;
}

/* Where the moved range goes: the fixed address, or one get_unmapped_area
 * finds (from the hint DONTUNMAP gives). */
static long new_address(struct remap *r)
{
    struct vma *vma = r->vma;
    unsigned long pgoff = vma->vm_pgoff + ((r->addr - vma->vm_start) >> PAGE_SHIFT);
    int flags = (r->flags & MREMAP_FIXED ? MAP_FIXED : 0) | (vma->vm_flags & VM_MAYSHARE ? MAP_SHARED : 0);
    long a = get_unmapped_area(r->mm, vma->vm_file, moving_to(r) ? r->new_addr : 0, r->new_len, pgoff, flags);
    if (a >= 0)
        r->new_addr = (unsigned long)a;
    return a;
}

/* The locked and accounting counters of a range coming or going. */
static void stat_account(struct mm *mm, vm_flags_t flags, long pages)
{
    vm_stat_account(mm, flags, pages);
    if (flags & VM_LOCKED)
        mm->locked_vm += pages;
}

/* do_vmi_munmap: munmap's argument checks, then the unmap. */
static int unmap_checked(struct mm *mm, unsigned long start, unsigned long len)
{
    if (start > task_size(mm) || len > task_size(mm) - start || !len)
        return -EINVAL;
    return munmap_range(mm, start, start + len);
}

/*
 * The old range goes once its pages moved (unmap_source).  Its charge
 * stays with the new VMA: VM_ACCOUNT is cleared over the unmap, and given
 * back to what is left of the old VMA on either side.
 */
static void unmap_source(struct remap *r)
{
    struct mm *mm = r->mm;
    struct vma *vma = r->vma;
    bool accountable = (vma->vm_flags & VM_ACCOUNT) && !(r->flags & MREMAP_DONTUNMAP);
    unsigned long start = vma->vm_start, end = vma->vm_end;
    if (accountable) {
        vma_start_write(vma);
        vma->vm_flags &= ~VM_ACCOUNT;
    }
    if (unmap_checked(mm, r->addr, r->old_len)) {
        /* The old range stays (old_len 0: there is none), uncharged:
         * charge it again. */
        vm_acct_memory((long)(r->old_len >> PAGE_SHIFT));
        return;
    }
    if (!accountable)
        return;
    struct vma *v;
    if (start < r->addr && (v = vt_lookup(&mm->mm_mt, start))) {
        vma_start_write(v);
        v->vm_flags |= VM_ACCOUNT;
    }
    if (end > r->addr + r->old_len && (v = vt_lookup(&mm->mm_mt, r->addr + r->old_len))) {
        vma_start_write(v);
        v->vm_flags |= VM_ACCOUNT;
    }
}

/* MREMAP_DONTUNMAP: the old VMA stays, empty over the range and unlocked
 * (all of it, its pages still mlocked; locked_vm is not given back, as
 * Linux's is not); moved whole into another VMA, it forgets its anonymous
 * pages' identity. */
static void dontunmap_complete(struct remap *r, struct vma *new_vma)
{
    struct vma *vma = r->vma;
    vma_start_write(vma);
    if (vma->vm_flags & VM_LOCKED)
        mlock_leave_locked(r->mm, vma->vm_start, vma->vm_end);
    vma->vm_flags &= ~VM_LOCKED_MASK;
    if (new_vma != vma && vma->vm_start == r->addr && vma->vm_end == r->addr + r->old_len &&
        vma->anon_vma) {
        anon_vma_put(vma->anon_vma);
        vma->anon_vma = NULL;
    }
}

/* move_vma: the range's VMA part and its entries to r->new_addr. */
static long move_vma(struct remap *r)
{
    struct mm *mm = r->mm;
    if (mm->map_count >= mm->cfg.max_map_count - 3)
        return -ENOMEM;
    struct vma *vma = r->vma;
    /* prep_move_vma asks may_split before moving part of a VMA. */
    if (vma_is_special_mapping(vma) &&
        (vma->vm_start != r->addr || vma->vm_end != r->addr + r->old_len))
        return -EINVAL;
    long charged = 0;
    if (vma->vm_flags & VM_ACCOUNT) {
        charged = (long)((r->flags & MREMAP_DONTUNMAP ? r->new_len : r->delta) >> PAGE_SHIFT);
        if (charged && vm_enough_memory(mm, charged))
            return -ENOMEM;
    }
    unsigned long pgoff = vma->vm_pgoff + ((r->addr - vma->vm_start) >> PAGE_SHIFT);
    struct vma *new_vma = vt_reserve(&mm->mm_mt, 3) ? NULL : copy_vma(&vma, r->new_addr, r->new_len, pgoff);
    if (!new_vma) {
        vm_unacct_memory(charged);
        return -ENOMEM;
    }
    r->vma = vma;   /* copy_vma may have merged the source into the new VMA */
    vma_start_write(vma);
    vma_start_write(new_vma);
    /* The pages move; a huge page cut by either end of the range is split
     * first, as at any new VMA boundary. */
    split_huge_pmds(mm, r->addr, r->addr + r->old_len);
    unsigned long moved = pgtable_move_range(&mm->pgt, r->addr, r->new_addr, r->old_len);
    int err = 0;
    if (moved < r->old_len) {
        /* Back again (the tables are there now), and the new range goes. */
        pgtable_move_range(&mm->pgt, r->new_addr, r->addr, moved);
        err = -ENOMEM;
        r->vma = new_vma;
        r->addr = r->new_addr;
        r->old_len = r->new_len;
    }
    stat_account(mm, r->vma->vm_flags, (long)(r->new_len >> PAGE_SHIFT));
    if (!err && (r->flags & MREMAP_DONTUNMAP))
        dontunmap_complete(r, new_vma);
    else
        unmap_source(r);
    return err ? err : (long)r->new_addr;
}

/* The move, once get_unmapped_area has said where. */
static long move_to_new_address(struct remap *r)
{
    long a = new_address(r);
    return a < 0 ? a : move_vma(r);
}

/* mremap_to: MREMAP_FIXED (the target unmapped first) or DONTUNMAP. */
static long mremap_to(struct remap *r)
{
    struct mm *mm = r->mm;
    int err;
    if (r->flags & MREMAP_FIXED) {
        if ((err = unmap_checked(mm, r->new_addr, r->new_len)))
            return err;
        if (!(r->vma = vt_lookup(&mm->mm_mt, r->addr)))
            return -EFAULT;
    }
    if (r->type == SHRINK) {
        if ((err = unmap_checked(mm, r->addr + r->new_len, r->delta)))
            return err;
        if (!(r->vma = vt_lookup(&mm->mm_mt, r->addr)))
            return -EFAULT;
        r->old_len = r->new_len;   /* delta stays, as Linux's does */
    }
    /* The old range stays mapped too. */
    if ((r->flags & MREMAP_DONTUNMAP) && !may_expand_vm(mm, r->vma->vm_flags, r->old_len >> PAGE_SHIFT))
        return -ENOMEM;
    return move_to_new_address(r);
}

/* vma_expandable: room for delta more after the VMA, below the task's top. */
static bool vma_expandable(struct remap *r)
{
    struct vma *vma = r->vma;
    unsigned long end = vma->vm_end + r->delta;
    if (end < vma->vm_end)
        return false;
    struct vma *next = vt_next_wr(&r->mm->mm_mt, vma);
    if (next && next->vm_start < end)
        return false;
    return get_unmapped_area(r->mm, NULL, vma->vm_start, end - vma->vm_start, 0, MAP_FIXED) >= 0;
}

/* Growth in place: the VMA extended (and merged with the next one where it
 * may be), its new part charged; no move if that fails. */
static long expand_in_place(struct remap *r)
{
    struct mm *mm = r->mm;
    struct vma *vma = r->vma;
    long charged = 0;
    if (vma->vm_flags & VM_ACCOUNT) {
        charged = (long)(r->delta >> PAGE_SHIFT);
        if (vm_enough_memory(mm, charged))
            return -ENOMEM;
    }
    vm_flags_t flags = vma->vm_flags;
    if (vt_reserve(&mm->mm_mt, 3) || !(vma = vma_merge_extend(vma, r->delta))) {
        vm_unacct_memory(charged);
        return -ENOMEM;
    }
    r->vma = vma;
    stat_account(mm, flags, (long)(r->delta >> PAGE_SHIFT));
    return (long)r->addr;
}

/* mremap_at: neither FIXED nor DONTUNMAP. */
static long mremap_at(struct remap *r)
{
    switch (r->type) {
    case NO_RESIZE:
        return (long)r->addr;
    case SHRINK: {
        int err = unmap_checked(r->mm, r->addr + r->new_len, r->delta);
        return err ? err : (long)r->addr;
    }
    case EXPAND:
        break;
    }
    if (r->vma->vm_end - r->addr == r->old_len && vma_expandable(r))
        return expand_in_place(r);
    if (!(r->flags & MREMAP_MAYMOVE))
        return -ENOMEM;
    return move_to_new_address(r);
}

/*
 * remap_move: MREMAP_FIXED with old_len == new_len moves every VMA of the
 * range, each to the same offset in the target (the holes between them
 * stay holes, and what the target has there stays).  A hole at the start
 * is EFAULT.  A failure part-way leaves what moved moved.
 */
static long remap_move(struct remap *r)
{
    struct mm *mm = r->mm;
    unsigned long start = r->addr, end = r->addr + r->old_len, target = r->new_addr;
    long res = -EFAULT;
    bool first = true;
    unsigned long last_end = start;
    while (start < end) {
        struct vma *v = vt_find(&mm->mm_mt, start);
        if (!v || v->vm_start >= end)
            break;
        if (first && start < v->vm_start)
            return -EFAULT;
        unsigned long a = max(v->vm_start, start), len = min(end, v->vm_end) - a;
        unsigned long gap = first ? 0 : v->vm_start - last_end;
        last_end = v->vm_end;
        struct remap piece = {
            .mm = mm, .vma = v, .addr = a, .old_len = len, .new_len = len,
            .new_addr = target + gap, .flags = r->flags,
        };
        long ret = check_vma(&piece);
        if (!ret)
            ret = mremap_to(&piece);
        if (ret < 0)
            return ret;
        r->populate |= piece.populate;
        if (first)
            res = ret;
        target = (unsigned long)ret + len;
        first = false;
        start = a + len;
    }
    return res;
}

long mm_mremap(struct mm *mm, unsigned long addr, unsigned long old_len, unsigned long new_len, int flags,
               unsigned long new_addr)
{
    old_len = PAGE_ALIGN(old_len);
    new_len = PAGE_ALIGN(new_len);
    if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
        return -EINVAL;
    if (offset_in_page(addr))
        return -EINVAL;
    if (!new_len || new_len > task_size(mm))
        return -EINVAL;
    if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
        if (new_addr > task_size(mm) - new_len || offset_in_page(new_addr))
            return -EINVAL;
        if (!(flags & MREMAP_MAYMOVE))
            return -EINVAL;
        if ((flags & MREMAP_DONTUNMAP) && old_len != new_len)
            return -EINVAL;
        if (addr + old_len > new_addr && new_addr + new_len > addr)
            return -EINVAL;   /* the ranges overlap */
    }
    MMAP_WRITE_GUARD(g, mm);
    if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) && mm->map_count + 2 >= mm->cfg.max_map_count - 3)
        return -ENOMEM;
    struct remap r = {
        .mm = mm, .addr = addr, .old_len = old_len, .new_len = new_len, .new_addr = new_addr, .flags = flags,
    };
    long res;
    if ((flags & MREMAP_FIXED) && old_len == new_len) {
        res = remap_move(&r);
    } else {
        r.vma = vt_lookup(&mm->mm_mt, addr);
        res = check_vma(&r);
        if (!res)
            res = moving_to(&r) ? mremap_to(&r) : mremap_at(&r);
    }
    /* The grown part of a locked mapping is faulted in (mlock's populate). */
    if (res >= 0 && r.populate)
        mm_populate_locked(mm, r.new_addr + r.old_len, r.new_addr + r.old_len + r.delta, true);
    mm_validate_range(mm, addr, addr + old_len);
    if (res >= 0)
        mm_validate_range(mm, (unsigned long)res, (unsigned long)res + new_len);
    return res;
}

/* SPDX-License-Identifier: MIT */
/*
 * mmap.c — mmap, munmap and the search for free space (Linux's mm/mmap.c and
 * the map/unmap half of mm/vma.c).
 */
#include "mm.h"

#include <stdlib.h>
#include <string.h>

#define MAP_DROPPABLE_ 0x08          /* MAP_DROPPABLE, absent from older libc headers */
#ifndef MAP_UNINITIALIZED
#define MAP_UNINITIALIZED 0x4000000
#endif
#ifndef MAP_32BIT
#define MAP_32BIT 0x40
#endif
#define TASK_UNMAPPED_BASE(mm) PAGE_ALIGN(map_window(mm) / 3)


/* Where a VMA's guard gap begins: a stack that grows down keeps
 * stack_guard_gap bytes free below it (vm_start_gap). */
static unsigned long vm_start_gap(const struct vma *vma)
{
    unsigned long start = vma->vm_start;
    if (vma->vm_flags & VM_GROWSDOWN) {
        start -= STACK_GUARD_GAP;
        if (start > vma->vm_start)
            start = 0;
    }
    return start;
}

struct unmapped_area_info {
    unsigned long length, low_limit, high_limit, align_mask, align_offset;
};

/* Linux's unmapped_area_topdown: the highest fit, then step below a
 * stack's guard gap if the fit ran into it. */
static inline long unmapped_area_topdown(struct mm *mm, const struct unmapped_area_info *info)
{
    unsigned long length = info->length + info->align_mask;
    if (length < info->length)
        return -ENOMEM;
    unsigned long low = max(info->low_limit, mm->cfg.mmap_min_addr);
    unsigned long high = info->high_limit;
    for (;;) {
        if (high <= low)
            return -ENOMEM;
        long end = vt_gap_topdown(&mm->mm_mt, low, high, length);
        if (end < 0)
            return -ENOMEM;
        unsigned long gap = (unsigned long)end - info->length;
        gap -= (gap - info->align_offset) & info->align_mask;
        /* Only a stack's guard gap can push the fit lower; most mms have none. */
        struct vma *next = mm->nr_growsdown ? vt_find(&mm->mm_mt, (unsigned long)end) : NULL;
        if (next && (next->vm_flags & VM_GROWSDOWN) && vm_start_gap(next) < (unsigned long)end) {
            high = vm_start_gap(next);
            continue;
        }
        return (long)gap;
    }
}

/* Linux's unmapped_area: the lowest fit. */
static long unmapped_area(struct mm *mm, const struct unmapped_area_info *info)
{
    unsigned long length = info->length + info->align_mask;
    if (length < info->length)
        return -ENOMEM;
    unsigned long low = max(info->low_limit, mm->cfg.mmap_min_addr);
    unsigned long high = info->high_limit;
    for (;;) {
        if (high <= low)
            return -ENOMEM;
        long start = vt_gap_bottomup(&mm->mm_mt, low, high, length);
        if (start < 0)
            return -ENOMEM;
        unsigned long gap = (unsigned long)start;
        gap += (info->align_offset - gap) & info->align_mask;
        struct vma *next = mm->nr_growsdown ? vt_find(&mm->mm_mt, gap) : NULL;
        if (next && (next->vm_flags & VM_GROWSDOWN) && vm_start_gap(next) < gap + length - 1) {
            low = next->vm_end;
            continue;
        }
        return (long)gap;
    }
}

/* mmap_address_hint_valid: the whole range below the task size, and on one
 * side of the 47-bit window (with four levels the window is the task size,
 * and the first test decides). */
static bool hint_valid(const struct mm *mm, unsigned long addr, unsigned long len)
{
    if (task_size(mm) - len < addr)
        return false;
    return (addr > map_window(mm)) == (addr + len > map_window(mm));
}

static bool hint_free(struct mm *mm, unsigned long addr, unsigned long len)
{
    struct vma *vma = vt_find(&mm->mm_mt, addr);
    return !vma || addr + len <= vm_start_gap(vma);
}

/* arch_get_unmapped_area (legacy, bottom-up from TASK_UNMAPPED_BASE): up to
 * the window, or the task size for a hint beyond the window
 * (find_start_end). */
static long get_area_bottomup(struct mm *mm, unsigned long addr, unsigned long len,
                              unsigned long pgoff, unsigned long align_mask)
{
    unsigned long begin = TASK_UNMAPPED_BASE(mm);
    unsigned long end = addr > map_window(mm) ? task_size(mm) : map_window(mm);
    if (len > end)
        return -ENOMEM;
    if (addr) {
        addr = PAGE_ALIGN(addr);
        if (end - len >= addr && hint_free(mm, addr, len))
            return (long)addr;
    }
    struct unmapped_area_info info = {
        .length = len, .low_limit = begin, .high_limit = end,
        .align_mask = align_mask, .align_offset = pgoff << PAGE_SHIFT,
    };
    return unmapped_area(mm, &info);
}

/* arch_get_unmapped_area_topdown: hint, else highest fit below mmap_base
 * (raised by what lies above the window for a hint beyond it), else
 * bottom-up.  Inline: every mmap without MAP_FIXED comes here. */
static inline __attribute__((always_inline)) long get_area_topdown(struct mm *mm, unsigned long addr, unsigned long len,
                             unsigned long pgoff, unsigned long align_mask)
{
    if (len > task_size(mm))
        return -ENOMEM;
    unsigned long hint = addr;
    if (addr) {
        addr &= PAGE_MASK;
        if (hint_valid(mm, addr, len) && hint_free(mm, addr, len))
            return (long)addr;
    }
    struct unmapped_area_info info = {
        .length = len, .low_limit = PAGE_SIZE, .high_limit = mm->cfg.mmap_base,
        .align_mask = align_mask, .align_offset = pgoff << PAGE_SHIFT,
    };
    if (addr > map_window(mm))
        info.high_limit += task_size(mm) - map_window(mm);
    long ret = unmapped_area_topdown(mm, &info);
    if (ret >= 0)
        return ret;
    return get_area_bottomup(mm, hint, len, pgoff, align_mask);
}

/*
 * thp_get_unmapped_area for a file whose file system places mappings for
 * huge pages: a range holding a whole 2 MiB of the file goes where that
 * 2 MiB is 2 MiB-aligned in memory.  The search is for len + 2 MiB (the
 * hint too: taken as it is if that much is free there), then the address
 * moves up to the alignment, or by 2 MiB when already aligned (top-down).
 * 0: not such a range, or no room: the plain search follows.
 */
static long thp_file_area(struct mm *mm, unsigned long addr, unsigned long len, unsigned long pgoff)
{
    unsigned long off = pgoff << PAGE_SHIFT, off_end = off + len;
    unsigned long off_align = (off + PMD_SIZE - 1) & ~(PMD_SIZE - 1);
    if (off_end <= off_align || off_end - off_align < PMD_SIZE)
        return 0;
    unsigned long len_pad = len + PMD_SIZE;
    if (len_pad < len || off + len_pad < off)
        return 0;
    long ret = get_area_topdown(mm, addr, len_pad, pgoff, 0);
    if (ret < 0)
        return 0;
    if ((unsigned long)ret == addr)
        return ret;
    unsigned long off_sub = (off - (unsigned long)ret) & (PMD_SIZE - 1);
    return ret + (long)(off_sub ? off_sub : PMD_SIZE);
}

/*
 * __get_unmapped_area.  Anonymous private mappings whose length is a multiple
 * of 2 MiB and that have no hint are aligned to 2 MiB (THP), by searching for
 * len + 2 MiB and placing the mapping at an aligned address inside it, at the
 * top when the found space is already aligned (__thp_get_unmapped_area).
 */
long get_unmapped_area(struct mm *mm, struct vm_file *file, unsigned long addr,
                              unsigned long len, unsigned long pgoff, int flags)
{
    if (len > task_size(mm))
        return -ENOMEM;
    long ret;
    if (flags & MAP_FIXED) {
        ret = (long)addr;
    } else {
        if (!file)
            pgoff = 0;
        ret = 0;
        if (!file && !addr && !(flags & MAP_SHARED) && (len & (PMD_SIZE - 1)) == 0 &&
            len + PMD_SIZE > len) {
            long padded = get_area_topdown(mm, 0, len + PMD_SIZE, 0, 0);
            if (padded >= 0) {
                unsigned long off_sub = (0 - (unsigned long)padded) & (PMD_SIZE - 1);
                ret = off_sub ? padded + (long)off_sub : padded + (long)PMD_SIZE;
            } else {
                ret = 0;
            }
        }
        if (file && vm_file_mapping(file)->thp_align)
            ret = thp_file_area(mm, addr, len, pgoff);
        if (!ret)
            ret = get_area_topdown(mm, addr, len, pgoff, 0);
    }
    /* Linux's IS_ERR_VALUE: only the last 4095 values are errors.  A
     * MAP_FIXED address of 1 << 63 or above is an address until the next
     * test (-ENOMEM), except those last 4095, which the call returns as they
     * are (mmap at -12 fails with ENOMEM, at -4095 with errno 4095). */
    if ((unsigned long)ret >= (unsigned long)-4095)
        return ret;
    if ((unsigned long)ret > task_size(mm) - len)
        return -ENOMEM;
    if (offset_in_page(ret))
        return -EINVAL;
    /* cap_mmap_addr: an unprivileged process may not map below mmap_min_addr. */
    if ((unsigned long)ret < mm->cfg.mmap_min_addr)
        return -EPERM;
    return ret;
}

/* ------------------------------------------------------------- munmap */

unsigned long vma_pages_flagged(struct mm *mm, unsigned long start, unsigned long end, vm_flags_t flag)
{
    unsigned long pages = 0;
    for (struct vma *v = vt_find(&mm->mm_mt, start); v && v->vm_start < end; v = vt_next(&mm->mm_mt, v))
        if (v->vm_flags & flag)
            pages += (min(end, v->vm_end) - max(start, v->vm_start)) >> PAGE_SHIFT;
    return pages;
}

/*
 * Remove every VMA inside [start, end), splitting the ones that straddle the
 * edges (do_vmi_align_munmap).  Mmap write lock held.
 */
int munmap_range(struct mm *mm, unsigned long start, unsigned long end)
{
    struct vma *vma = vt_find_wr(&mm->mm_mt, start);
    if (!vma || vma->vm_start >= end)
        return 0;
    struct vma *last = vma->vm_end >= end ? vma : vt_find(&mm->mm_mt, end - 1);
    /* The VMAs that start and end cut are locked against faults before a
     * huge PMD across either edge is split (split_huge_pmd_at). */
    if (start > vma->vm_start)
        vma_start_write(vma);
    if (last && last->vm_start < end && last->vm_end > end)
        vma_start_write(last);
    split_huge_pmds(mm, start, end);

    if (start > vma->vm_start) {
        /* A hole in the middle adds a VMA: refuse at the limit, but let a
         * split at one edge go one over so that memory can always be freed. */
        if (end < vma->vm_end && mm->map_count >= mm->cfg.max_map_count)
            return -ENOMEM;
        int err = __split_vma(vma, start, 1);
        if (err)
            return err;
    }
    /* Split the end first: once VMAs leave the tree nothing can fail.
     * (Splitting at start kept last: vma keeps the part from start.) */
    if (last && last->vm_start < end && last->vm_end > end) {
        int err = __split_vma(last, end, 0);
        if (err)
            return err;
    }

    /* The splits kept vma as the first VMA of the range (new_below=1 gives
     * the new VMA the part below start). */
    struct vma *detached = NULL, **tail = &detached;
    while (vma && vma->vm_start < end) {
        struct vma *next = vma->vm_end < end ? vt_next_wr(&mm->mm_mt, vma) : NULL;
        long pages = (long)vma_pages(vma);
        vma_unlink(mm, vma);
        vma_rmap_del(vma);   /* before free_pgtables below */
        vm_stat_account(mm, vma->vm_flags, -pages);
        if (vma->vm_flags & VM_LOCKED)
            mm->locked_vm -= pages;
        if (vma->vm_flags & VM_ACCOUNT)
            vm_unacct_memory(pages);
        /* free_next shares its word with anon_name: drop the name first. */
        anon_name_put(vma->anon_name);
        vma->anon_name = NULL;
        *tail = vma;
        tail = &vma->free_next;
        vma = next;
    }
    *tail = NULL;
    /* unmap_region: the memory goes, then the tables no neighbour uses
     * (nothing to do while the mm has no tables at all). */
    if (pgtable_bytes(&mm->pgt)) {
        for (struct vma *v = detached; v; v = v->free_next)
            zap_vma_range(v, v->vm_start, v->vm_end);
        struct vma *prev;
        struct vma *next = vt_find_and_prev_wr(&mm->mm_mt, start, &prev);
        free_pgtables(mm, start, end, prev ? prev->vm_end : 0, next ? next->vm_start : 0);
    }
    /* Close hooks run once the tree no longer shows the VMAs.  The link
     * is anon_name's word, whose reference went above: cleared before the
     * release drops what it takes for a name. */
    while (detached) {
        struct vma *next = detached->free_next;
        detached->free_next = NULL;
        vma_release(detached);
        detached = next;
    }
    return 0;
}

int mm_munmap(struct mm *mm, unsigned long start, unsigned long len)
{
    if (offset_in_page(start) || start > task_size(mm) || len > task_size(mm) - start)
        return -EINVAL;
    unsigned long end = start + PAGE_ALIGN(len);
    if (end == start)
        return -EINVAL;
    MMAP_WRITE_GUARD(g, mm);
    MM_VALIDATE_ON_EXIT(mm, &start, &end);
    return munmap_range(mm, start, end);
}

void mm_unmap_all(struct mm *mm)
{
    mmap_assert_write_locked(mm);
    struct vma *vma;
    while ((vma = vt_first(&mm->mm_mt))) {
        long pages = (long)vma_pages(vma);
        vma_unlink(mm, vma);
        vm_stat_account(mm, vma->vm_flags, -pages);
        if (vma->vm_flags & VM_LOCKED)
            mm->locked_vm -= pages;
        if (vma->vm_flags & VM_ACCOUNT)
            vm_unacct_memory(pages);
        zap_vma_exit(vma);
        vma_release(vma);
    }
    free_pgtables(mm, 0, pgtable_limit(&mm->pgt), 0, 0);
}

/* ------------------------------------------------------------- stack */

/*
 * expand_downwards: a fault below a VM_GROWSDOWN VMA grows it down to the
 * faulting page.  Refused (-ENOMEM) when an accessible VMA below that is not
 * a stack itself would come within the guard gap, or the stack would pass
 * RLIMIT_STACK; -EPERM below mmap_min_addr.  The stack gets its anon_vma
 * first, as Linux's does.  Mmap write lock held.
 */
int expand_downwards(struct vma *vma, unsigned long address)
{
    struct mm *mm = vma->vm_mm;
    mmap_assert_write_locked(mm);
    if (!(vma->vm_flags & VM_GROWSDOWN))
        return -EFAULT;
    address &= PAGE_MASK;
    if (address < mm->cfg.mmap_min_addr)
        return -EPERM;
    struct vma *prev = vt_prev(&mm->mm_mt, vma);
    if (prev && !(prev->vm_flags & VM_GROWSDOWN) && (prev->vm_flags & VM_ACCESS_FLAGS) &&
        address - prev->vm_end < STACK_GUARD_GAP)
        return -ENOMEM;
    if (anon_vma_prepare(vma))
        return -ENOMEM;
    if (address >= vma->vm_start)
        return 0;
    unsigned long grow = (vma->vm_start - address) >> PAGE_SHIFT;
    /* acct_stack_growth's limits, in its order. */
    if (grow > vma->vm_pgoff || !may_expand_vm(mm, vma->vm_flags, grow) ||
        vma->vm_end - address > mm->cfg.stack_limit)
        return -ENOMEM;
    if (!mlock_future_ok(mm, vma->vm_flags, grow << PAGE_SHIFT))
        return -ENOMEM;   /* a locked stack may not grow past RLIMIT_MEMLOCK */
    /* acct_stack_growth: the growth is charged (and kept where the stack
     * is accounted, as munmap will give it back). */
    if (vm_enough_memory(mm, (long)grow))
        return -ENOMEM;
    if (!(vma->vm_flags & VM_ACCOUNT))
        vm_unacct_memory((long)grow);
    vma_start_write(vma);
    if (vma->vm_flags & VM_LOCKED)
        mm->locked_vm += grow;
    vm_stat_account(mm, vma->vm_flags, (long)grow);
    vt_update(&mm->mm_mt, vma, address, vma->vm_end);
    vma->vm_pgoff -= grow;
    return 0;
}

/* ------------------------------------------------------------- mmap */

const struct vma_ref *(vma_new_ref)(struct vma_new *v) { return to_ref(v->vma); }
void (vma_new_set_io)(struct vma_new *v) { v->vma->vm_flags |= VM_IO; }
void (vma_new_set_dontexpand)(struct vma_new *v) { v->vma->vm_flags |= VM_DONTEXPAND; }
void (vma_new_set_dontcopy)(struct vma_new *v) { v->vma->vm_flags |= VM_DONTCOPY; }
void (vma_new_set_dontdump)(struct vma_new *v) { v->vma->vm_flags |= VM_DONTDUMP; }

const struct vma_mixedmap *(vma_new_set_mixedmap)(struct vma_new *v)
{
    v->vma->vm_flags |= VM_MIXEDMAP;
    return (const struct vma_mixedmap *)v->vma;
}

static int try_clear(struct vma_new *v, vm_flags_t access, vm_flags_t may)
{
    if (v->vma->vm_flags & access)
        return -EINVAL;
    v->vma->vm_flags &= ~may;
    return 0;
}

int (vma_new_try_clear_mayread)(struct vma_new *v) { return try_clear(v, VM_READ, VM_MAYREAD); }
int (vma_new_try_clear_maywrite)(struct vma_new *v) { return try_clear(v, VM_WRITE, VM_MAYWRITE); }
int (vma_new_try_clear_mayexec)(struct vma_new *v) { return try_clear(v, VM_EXEC, VM_MAYEXEC); }

void (vma_new_set_ops)(struct vma_new *v, const struct vm_operations *ops, void *priv)
{
    v->vma->vm_ops = ops;
    v->vma->vm_private_data = priv;
}

/*
 * mmap_region: replace whatever is in [addr, addr + len) with a new mapping,
 * merged into a neighbour when Linux would.  Returns addr or -errno.
 */
static long mmap_region(struct mm *mm, struct vm_file *file, unsigned long addr, unsigned long len,
                        vm_flags_t vm_flags, unsigned long pgoff, bool replace)
{
    unsigned long end = addr + len;
    unsigned long pglen = len >> PAGE_SHIFT;

    /* Room for the new VMA and for the two splits of the unmap, reserved
     * before anything changes, and before a file's mmap hook runs.  An
     * anonymous mapping into free space has neither: the one insert is
     * reserved for where it happens, below. */
    if ((replace || file) && vt_reserve(&mm->mm_mt, 3))
        return -ENOMEM;

    /*
     * Commit accounting, before anything changes, so that a refusal leaves
     * the mappings it would replace: private writable memory is charged
     * (accountable_mapping, VM_ACCOUNT) less the charged pages it replaces,
     * which stay charged for it; a shared anonymous object is charged its
     * size (shmem_acct_size) unless MAP_NORESERVE.
     */
    long charged = 0, replaced = 0, shmem_charged = 0;
    /* The address-space limits count what the mapping replaces as gone. */
    if (!may_expand_vm(mm, vm_flags, pglen - (replace ? vma_pages_flagged(mm, addr, end, ~0UL) : 0)))
        return -ENOMEM;
    if ((vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) == VM_WRITE) {
        vm_flags |= VM_ACCOUNT;
        replaced = replace ? (long)vma_pages_flagged(mm, addr, end, VM_ACCOUNT) : 0;
        charged = (long)pglen - replaced;
        if (charged && vm_enough_memory(mm, charged))
            return -ENOMEM;
    } else if (!file && (vm_flags & VM_SHARED) && !(vm_flags & VM_NORESERVE)) {
        if (vm_enough_memory(mm, (long)pglen))
            return -ENOMEM;
        shmem_charged = (long)pglen;
    }
    /* Only MAP_FIXED replaces: every other address was found free. */
    int err = replace ? munmap_range(mm, addr, end) : 0;
    if (err) {
        vm_unacct_memory(charged + shmem_charged);
        return err;
    }
    vm_acct_memory(replaced);   /* the munmap gave them back */
    /* From here a failure has unmapped the old VMAs: only their charge and
     * the new one go back. */
    charged += replaced;

    struct vma *prev;
    struct vma *next = vt_find_and_prev_wr(&mm->mm_mt, addr, &prev);
    struct vma *vma = NULL;
    if (prev || next) {
        struct vma_merge_struct vmg = {
            .mm = mm, .prev = prev, .next = next, .start = addr, .end = end,
            .pgoff = pgoff, .flags = vm_flags, .file = file,
        };
        vma = vma_merge_new_range(&vmg);
    }
    if (!vma) {
        vma = vma_alloc(mm);
        if (!vma)
            goto unacct;
        vma->vm_start = addr;
        vma->vm_end = end;
        vma->vm_pgoff = pgoff;
        vma->vm_flags = vm_flags;
        if (file) {
            vma->vm_file = file;
            if (vma_get_file(vma)) {
                vma->vm_file = NULL;
                vma_free_unused(vma);
                goto unacct;
            }
            /* call_mmap: a host file system that maps privately only. */
            err = (vm_flags & VM_MAYSHARE) && file->mapping && file->mapping->private_only ? -ENODEV : 0;
            if (!err && file->f_ops && file->f_ops->mmap) {
                struct vma_new vn = { .vma = vma };
                err = file->f_ops->mmap(file, &vn);
            }
            if (err) {
                vma_free_unused(vma);
                vm_unacct_memory(charged);
                return err;
            }
        } else if (vm_flags & VM_SHARED) {
            struct vm_file *shm = vm_file_shmem_zero(len);
            if (!shm) {
                vma_free_unused(vma);
                goto unacct;
            }
            vma->vm_file = shm;
            err = vma_get_file(vma);
            vm_file_put(shm);   /* the VMA's reference is the object's only one */
            if (err) {
                vma->vm_file = NULL;
                vma_free_unused(vma);
                goto unacct;
            }
            vma->vm_file->acct_pages = shmem_charged;   /* the object gives it back */
            shmem_charged = 0;
        }
        if (vt_reserve(&mm->mm_mt, 1)) {
            if (vma->vm_ops && vma->vm_ops->close)
                vma->vm_ops->close(to_ref(vma));
            vma_free_unused(vma);
            goto unacct;
        }
        vma_link(mm, vma);
    }

    vm_stat_account(mm, vma->vm_flags, (long)pglen);
    if (vma->vm_flags & VM_LOCKED) {
        if (!vma_supports_mlock(vma))
            vma->vm_flags &= ~VM_LOCKED_MASK;
        else
            mm->locked_vm += pglen;
    }
    /* A new or grown VMA is always soft-dirty, so that a tracker can tell
     * a fresh mapping from the old one it replaced. */
    if (!(mm->cfg.flags & MM_CONFIG_NO_SOFT_DIRTY))
        vma->vm_flags |= VM_SOFTDIRTY;
    return (long)addr;

unacct:
    vm_unacct_memory(charged + shmem_charged);
    return -ENOMEM;
}

/* calc_vm_prot_bits + calc_vm_flag_bits */
static vm_flags_t calc_vm_bits(int prot, int flags)
{
    vm_flags_t vm = calc_vm_prot_bits(prot);
    if (flags & MAP_GROWSDOWN) vm |= VM_GROWSDOWN;
    if (flags & MAP_LOCKED) vm |= VM_LOCKED;
    if (flags & MAP_SYNC) vm |= VM_SYNC;
    if (flags & MAP_STACK)
        vm |= VM_NOHUGEPAGE;    /* MAP_STACK: no THP for stacks (Linux 6.7+) */
    return vm;
}

long mm_mmap(struct mm *mm, unsigned long addr, unsigned long len, int prot, int flags,
             struct vm_file *file, unsigned long offset)
{
    /* sys_mmap checks the offset, ksys_mmap_pgoff the file; then do_mmap. */
    if (offset_in_page(offset))
        return -EINVAL;
    if (!(flags & MAP_ANONYMOUS) && !file)
        return -EBADF;
    if (flags & MAP_ANONYMOUS)
        file = NULL;
    /*
     * MAP_HUGETLB: on a file only where it is hugetlbfs (none here); an
     * anonymous one is an anonymous hugetlbfs file of the size asked for,
     * whose length rounds up to its pages (ksys_mmap_pgoff).  vmarea models
     * a host with 2 MiB huge pages and none of them free: every other check
     * runs as Linux orders them, a MAP_FIXED one unmaps what it replaces,
     * and then the reservation fails with ENOMEM.
     */
    bool hugetlb = flags & MAP_HUGETLB;
    if (hugetlb) {
        if (file)
            return -EINVAL;
        unsigned shift = ((unsigned)flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
        if (shift && shift != PGT_PMD_SHIFT)
            return -EINVAL;   /* no hstate of that size */
        len = (len + PMD_SIZE - 1) & ~(PMD_SIZE - 1);   /* 0 if it wraps: EINVAL below */
    }
    unsigned long pgoff = offset >> PAGE_SHIFT;

    if (!len)
        return -EINVAL;
    if (flags & MAP_FIXED_NOREPLACE)
        flags |= MAP_FIXED;
    if (!(flags & MAP_FIXED)) {
        /* round_hint_to_min */
        addr &= PAGE_MASK;
        if (addr && addr < mm->cfg.mmap_min_addr)
            addr = PAGE_ALIGN(mm->cfg.mmap_min_addr);
    }
    len = PAGE_ALIGN(len);
    if (!len)
        return -ENOMEM;
    if (pgoff + (len >> PAGE_SHIFT) < pgoff)
        return -EOVERFLOW;

    MMAP_WRITE_GUARD(g, mm);
    MM_VALIDATE_ON_EXIT_LEN(mm, &addr, &len);   /* addr: where it was placed */
    if (mm->map_count > mm->cfg.max_map_count)
        return -ENOMEM;

    /* hugetlb_get_unmapped_area: a fixed address must be huge-page aligned. */
    if (hugetlb && len <= task_size(mm) && (flags & MAP_FIXED) && (addr & (PMD_SIZE - 1)))
        return -EINVAL;
    long ret = get_unmapped_area(mm, file, addr, len, pgoff, flags);
    if (ret < 0)
        return ret;
    addr = (unsigned long)ret;
    if ((flags & MAP_FIXED_NOREPLACE)) {
        struct vma *v = vt_find(&mm->mm_mt, addr);
        if (v && v->vm_start < addr + len)
            return -EEXIST;
    }

    vm_flags_t vm_flags = calc_vm_bits(prot, flags) | mm->def_flags |
                          VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
    if (prot == PROT_EXEC && !(mm->cfg.flags & MM_CONFIG_NO_PKEYS))
        vm_flags |= EXECUTE_ONLY_PKEY << VM_PKEY_SHIFT;
    if (!mlock_future_ok(mm, vm_flags, len))
        return -EAGAIN;   /* MAP_LOCKED (or mlockall's MCL_FUTURE) past RLIMIT_MEMLOCK */
    if (file || hugetlb) {
        /* file_mmap_ok: the end must fit the file's size limit,
         * MAX_LFS_FILESIZE for a regular file (shmem, hugetlbfs); a
         * driver's object has none. */
        if ((hugetlb || (file && vm_file_mapping(file)->cache)) && pgoff > (LONG_MAX - len) >> PAGE_SHIFT)
            return -EOVERFLOW;
        switch (flags & MAP_TYPE) {
        case MAP_SHARED:
        case MAP_SHARED_VALIDATE:
            /* LEGACY_MAP_MASK: MAP_FIXED_NOREPLACE is newer, and so
             * refused with MAP_SHARED_VALIDATE. */
            if ((flags & MAP_TYPE) == MAP_SHARED_VALIDATE &&
                (flags & ~(MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE |
                           MAP_EXECUTABLE | MAP_UNINITIALIZED | MAP_GROWSDOWN | MAP_LOCKED |
                           MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB |
                           MAP_32BIT | (21 << MAP_HUGE_SHIFT) | (30 << MAP_HUGE_SHIFT))))
                return -EOPNOTSUPP;
            vm_flags &= ~VM_SYNC;
            /* A shared mapping of a file open read-only may never write:
             * no PROT_WRITE now (EACCES), and it is private underneath. */
            if (file && (prot & PROT_WRITE) && !(file->f_mode & FMODE_WRITE))
                return -EACCES;
            vm_flags |= VM_SHARED | VM_MAYSHARE;
            if (file && !(file->f_mode & FMODE_WRITE))
                vm_flags &= ~(VM_MAYWRITE | VM_SHARED);
            break;
        case MAP_PRIVATE:
            vm_flags &= ~VM_SYNC;
            break;
        default:
            return -EINVAL;
        }
        /* do_mmap's MAP_PRIVATE case, which the shared ones fall through
         * to: the file must be open for reading; on a noexec mount it may
         * not be executed, now or later; it must have an mmap; and a file
         * mapping never grows. */
        if (file && !(file->f_mode & FMODE_READ))
            return -EACCES;
        if (file && file->noexec) {
            if (vm_flags & VM_EXEC)
                return -EPERM;
            vm_flags &= ~VM_MAYEXEC;
        }
        if (file && file->no_mmap)
            return -ENODEV;
        if (file && (vm_flags & VM_GROWSDOWN))
            return -EINVAL;
        /* memfd_check_seals_mmap: no new shared writable mapping of a
         * write-sealed memfd, and a shared read-only one may never become
         * writable. */
        if (file && (file->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) && (vm_flags & VM_SHARED)) {
            if (vm_flags & VM_WRITE)
                return -EPERM;
            vm_flags &= ~VM_MAYWRITE;
        }
    } else {
        switch (flags & MAP_TYPE) {
        case MAP_SHARED:
            if (vm_flags & VM_GROWSDOWN)
                return -EINVAL;
            pgoff = 0;
            vm_flags |= VM_SHARED | VM_MAYSHARE;
            break;
        case MAP_DROPPABLE_:
            if (flags & MAP_LOCKED)
                return -EINVAL;
            if (vm_flags & VM_GROWSDOWN)
                return -EINVAL;
            vm_flags |= VM_DROPPABLE | VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP;
            /* fall through */
        case MAP_PRIVATE:
            pgoff = addr >> PAGE_SHIFT;  /* for anon_vma: page index = address */
            break;
        default:
            return -EINVAL;
        }
    }
    /* MAP_NORESERVE is honoured where overcommit is allowed. */
    if ((flags & MAP_NORESERVE) && mm->cfg.overcommit_memory != MM_OVERCOMMIT_NEVER)
        vm_flags |= VM_NORESERVE;
    if (hugetlb) {
        /* mmap_region takes the old mappings away before the file's mmap
         * hook reserves (and fails to). */
        if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) == MAP_FIXED) {
            int err = munmap_range(mm, addr, addr + len);
            if (err)
                return err;
        }
        return -ENOMEM;
    }

    ret = mmap_region(mm, file, addr, len, vm_flags, pgoff,
                      (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) == MAP_FIXED);
    if (ret >= 0 && ((vm_flags & VM_LOCKED) || (flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE))
        mm_populate_locked(mm, addr, addr + len, true);
    return ret;
}

/* ------------------------------------------------------------- brk */

/*
 * do_brk_flags: grow the heap over [addr, addr + len), extending the brk VMA
 * when it ends at addr and would merge (expand-only: never into the next).
 */
static int do_brk_flags(struct mm *mm, struct vma *brkvma, unsigned long addr, unsigned long len,
                        vm_flags_t vm_flags)
{
    vm_flags |= VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT | mm->def_flags;
    long pages = (long)(len >> PAGE_SHIFT);
    if (!may_expand_vm(mm, vm_flags, (unsigned long)pages) || mm->map_count > mm->cfg.max_map_count)
        return -ENOMEM;
    if (vm_enough_memory(mm, pages))
        return -ENOMEM;
    if (vt_reserve(&mm->mm_mt, 1)) {
        vm_unacct_memory(pages);
        return -ENOMEM;
    }
    struct vma *vma = NULL;
    if (brkvma && brkvma->vm_end == addr) {
        struct vma_merge_struct vmg = {
            .mm = mm, .prev = brkvma, .start = addr, .end = addr + len,
            .pgoff = addr >> PAGE_SHIFT, .flags = vm_flags, .just_expand = true,
        };
        vma = vma_merge_new_range(&vmg);
    }
    if (!vma) {
        vma = vma_alloc(mm);
        if (!vma) {
            vm_unacct_memory(pages);
            return -ENOMEM;
        }
        vma->vm_start = addr;
        vma->vm_end = addr + len;
        vma->vm_pgoff = addr >> PAGE_SHIFT;
        vma->vm_flags = vm_flags;
        vma_link(mm, vma);
    }
    mm->total_vm += len >> PAGE_SHIFT;
    mm->data_vm += len >> PAGE_SHIFT;
    if (vm_flags & VM_LOCKED)
        mm->locked_vm += len >> PAGE_SHIFT;
    if (!(mm->cfg.flags & MM_CONFIG_NO_SOFT_DIRTY))
        vma->vm_flags |= VM_SOFTDIRTY;
    return 0;
}

/* sys_brk: returns the new break, or the old one when the change failed. */
long mm_brk(struct mm *mm, unsigned long brk)
{
    MMAP_WRITE_GUARD(g, mm);
    MM_VALIDATE_ON_EXIT(mm, &mm->layout.start_brk, &mm->layout.brk);
    unsigned long origbrk = mm->layout.brk, min_brk = mm->layout.start_brk;
    if (!min_brk || brk < min_brk || brk > task_size(mm))
        return (long)origbrk;   /* no heap laid out (mm_set_layout), or below it */
    /* check_data_rlimit, on the break as asked (not page-aligned): the heap
     * and the data segment together. */
    const struct mm_layout *l = &mm->layout;
    if (mm->cfg.data_limit != ~0UL &&
        (brk - l->start_brk) + (l->end_data - l->start_data) > mm->cfg.data_limit)
        return (long)origbrk;
    unsigned long newbrk = PAGE_ALIGN(brk), oldbrk = PAGE_ALIGN(origbrk);
    if (oldbrk == newbrk) {
        mm->layout.brk = brk;
        return (long)brk;
    }
    if (brk <= origbrk) {
        /* Always allow shrinking, unless the heap's place holds another mapping. */
        struct vma *brkvma = vt_find(&mm->mm_mt, newbrk);
        if (!brkvma || brkvma->vm_start >= oldbrk)
            return (long)origbrk;
        mm->layout.brk = brk;
        if (munmap_range(mm, newbrk, oldbrk)) {
            mm->layout.brk = origbrk;
            return (long)origbrk;
        }
        return (long)brk;
    }
    /* Keep a page, and a stack's guard gap, free above the heap. */
    struct vma *next = vt_find(&mm->mm_mt, oldbrk);
    if (next && newbrk + PAGE_SIZE > vm_start_gap(next))
        return (long)origbrk;
    struct vma *brkvma = vt_find_prev(&mm->mm_mt, oldbrk);
    if (brkvma && brkvma->vm_end <= min_brk)
        brkvma = NULL;
    if (do_brk_flags(mm, brkvma, oldbrk, newbrk - oldbrk, 0) < 0)
        return (long)origbrk;
    mm->layout.brk = brk;
    if (mm->def_flags & VM_LOCKED)
        mm_populate_locked(mm, oldbrk, newbrk, true);
    return (long)brk;
}

/*
 * vm_brk_flags: anonymous memory over [addr, addr + len) as brk makes it,
 * replacing what was there, for a loader's bss.  Only VM_EXEC may be asked
 * for beyond brk's own flags (a segment that is executable).  0 or -errno.
 */
int vm_brk_flags(struct mm *mm, unsigned long addr, unsigned long request, vm_flags_t vm_flags)
{
    unsigned long len = PAGE_ALIGN(request);
    if (len < request)
        return -ENOMEM;
    if (!len)
        return 0;
    if (vm_flags & ~VM_EXEC)
        return -EINVAL;
    MMAP_WRITE_GUARD(g, mm);
    MM_VALIDATE_ON_EXIT_LEN(mm, &addr, &len);
    /* check_brk_limits */
    long ret = get_unmapped_area(mm, NULL, addr, len, 0, MAP_FIXED);
    if (ret < 0)
        return (int)ret;
    if (!mlock_future_ok(mm, mm->def_flags, len))
        return -EAGAIN;
    int err = munmap_range(mm, addr, addr + len);
    if (err)
        return err;
    err = do_brk_flags(mm, vt_find_prev(&mm->mm_mt, addr), addr, len, vm_flags);
    if (err)
        return err;
    if (mm->def_flags & VM_LOCKED)
        mm_populate_locked(mm, addr, addr + len, true);
    return 0;
}

/* ------------------------------------------------------ special mappings */

#define SPECIAL_ALLOWED (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED | VM_MAYREAD | VM_MAYWRITE | \
                         VM_MAYEXEC | VM_MAYSHARE | VM_IO | VM_DONTDUMP | VM_DONTCOPY | VM_PFNMAP)

/* _install_special_mapping: a VMA over the caller's pages, where
 * insert_vm_struct puts it (the range must be free) or, for addr 0, where
 * map_vdso's get_unmapped_area does. */
long mm_install_special_mapping(struct mm *mm, unsigned long addr, unsigned long len, vm_flags_t flags,
                                const char *name, struct vm_page **pages)
{
    /* A private writable mapping would need an anon_vma from its first
     * store; the kernel installs none so. */
    if (!mm || !len || offset_in_page(len) || offset_in_page(addr) || (flags & ~SPECIAL_ALLOWED) ||
        ((flags & VM_WRITE) && !(flags & VM_SHARED)) || !name)
        return -EINVAL;
    if (len > task_size(mm))
        return -ENOMEM;
    /* The array copies the caller's, which covers the length; without
     * one, no page anywhere (npages 0: every access is SIGBUS). */
    unsigned long npages = pages ? len >> PAGE_SHIFT : 0;
    struct special_mapping *sm = calloc(1, sizeof(*sm) + npages * sizeof(sm->pages[0]));
    char *copy = strdup(name);
    if (!sm || !copy) {
        free(sm);
        free(copy);
        return -ENOMEM;
    }
    sm->name = copy;
    sm->npages = npages;
    atomic_init(&sm->refs, 1);
    for (unsigned long i = 0; i < npages; i++)
        if ((sm->pages[i] = pages[i]))
            page_get(pages[i]);

    MMAP_WRITE_GUARD(g, mm);
    MM_VALIDATE_ON_EXIT_LEN(mm, &addr, &len);
    long ret;
    /* insert_vm_struct counts nothing, but the kernel installs two or
     * three at exec; here any number may come: mmap's limit holds. */
    if (mm->map_count > mm->cfg.max_map_count)
        ret = -ENOMEM;
    else if (addr) {
        struct vma *next = addr + len > addr ? vt_find_wr(&mm->mm_mt, addr) : NULL;
        ret = addr + len > task_size(mm) || addr + len < addr || (next && next->vm_start < addr + len)
                  ? -ENOMEM : (long)addr;
    } else {
        ret = get_unmapped_area(mm, NULL, 0, len, 0, 0);
    }
    struct vma *vma = NULL;
    if (ret >= 0 && !vt_reserve(&mm->mm_mt, 1))
        vma = vma_alloc(mm);
    if (!vma) {
        special_mapping_put(sm);
        return ret < 0 ? ret : -ENOMEM;
    }
    addr = (unsigned long)ret;
    vma->vm_start = addr;
    vma->vm_end = addr + len;
    vma->vm_pgoff = 0;
    /* Never locked, whatever mlockall asked of future mappings. */
    vma->vm_flags = (flags | mm->def_flags | VM_DONTEXPAND) & ~VM_LOCKED_MASK;
    if (!(mm->cfg.flags & MM_CONFIG_NO_SOFT_DIRTY))
        vma->vm_flags |= VM_SOFTDIRTY;
    vma->vm_ops = &special_mapping_vmops;
    vma->vm_private_data = sm;
    vma_link(mm, vma);
    vm_stat_account(mm, vma->vm_flags, (long)(len >> PAGE_SHIFT));
    return ret;
}

/* The gate VMA of x86-64's vsyscall page: not in the VMA tree (no system
 * call reaches it), shown after the last VMA; execute-only unless the host
 * emulates vsyscalls with a readable page. */
bool gate_vma_shown(const struct mm *mm, vm_flags_t *flags)
{
    if (mm->cfg.flags & MM_CONFIG_NO_VSYSCALL)
        return false;
    *flags = mm->cfg.flags & MM_CONFIG_VSYSCALL_EMULATE ? VM_READ | VM_EXEC : VM_EXEC;
    return true;
}

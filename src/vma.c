/* SPDX-License-Identifier: MIT */
/*
 * vma.c — splitting and merging VMAs, exactly as Linux's mm/vma.c
 * decides them (read it for the why of each rule; the comments here say
 * where vmarea's structure differs).
 *
 * Assumptions for every function here that changes the tree: the mmap write
 * lock is held (asserted on entry), and each VMA is write-locked with
 * vma_start_write() before any field a reader may see changes (a VMA that
 * leaves the tree, by vma_mark_detached, which write-locks it too).
 */
#include "vma.h"
#include "huge_memory.h"
#include "mmap_lock.h"
#include "vma_init.h"

static void count_linked(struct mm *mm, struct vma *vma)
{
    mm->map_count++;
    mm->nr_growsdown += !!(vma->vm_flags & VM_GROWSDOWN);
}

static void count_unlinked(struct mm *mm, struct vma *vma)
{
    mm->map_count--;
    mm->nr_growsdown -= !!(vma->vm_flags & VM_GROWSDOWN);
}

void vma_link(struct mm *mm, struct vma *vma)
{
    mmap_assert_write_locked(mm);
    vma_lock_new(mm, vma);
    int err = vt_insert(&mm->mm_mt, vma);
    VM_BUG_ON(err);   /* callers reserve tree space first */
    (void)err;
    vma_mark_attached(vma);
    count_linked(mm, vma);
}

/* vma_mark_detached write-locks the VMA too (mmap_lock.c): one locked
 * instruction for both. */
void vma_unlink(struct mm *mm, struct vma *vma)
{
    vma_mark_detached(vma);
    vt_erase(&mm->mm_mt, vma);
    count_unlinked(mm, vma);
}

/* ------------------------------------------------------------- splitting */

/* A copy of vma covering [start, end) of it, opened; not yet in the tree. */
static struct vma *split_part(struct vma *vma, unsigned long start, unsigned long end)
{
    struct vma *new = vma_dup(vma);
    if (!new)
        return NULL;
    new->vm_start = start;
    new->vm_end = end;
    new->vm_pgoff += (start - vma->vm_start) >> PAGE_SHIFT;
    if (new->vm_ops && new->vm_ops->open)
        new->vm_ops->open(to_ref(new));
    return new;
}

/*
 * Split vma at addr.  new_below: the new VMA takes [vm_start, addr) and vma
 * keeps the rest; else the new VMA takes [addr, vm_end).
 *
 *   new_below=1:  [ new | vma ]      new_below=0:  [ vma | new ]
 */
int __split_vma(struct vma *vma, unsigned long addr, int new_below)
{
    struct mm *mm = vma->vm_mm;
    mmap_assert_write_locked(mm);
    VM_BUG_ON(addr <= vma->vm_start || addr >= vma->vm_end || offset_in_page(addr));

    if (vma_is_special_mapping(vma))
        return -EINVAL;   /* its may_split hook */
    if (vt_reserve(&mm->mm_mt, 1))
        return -ENOMEM;
    struct vma *new = new_below ? split_part(vma, vma->vm_start, addr)
                                : split_part(vma, addr, vma->vm_end);
    if (!new)
        return -ENOMEM;

    vma_start_write(vma);
    struct vm_file *rf = vma_rmap_file(vma);
    vma_rmap_lock(rf);
    if (new_below)
        vma->vm_pgoff += (addr - vma->vm_start) >> PAGE_SHIFT;
    vma_lock_new(mm, new);
    /* The tree trims vma to what new leaves it. */
    int err = vt_split(&mm->mm_mt, vma, new);
    vma_rmap_unlock(rf);
    VM_BUG_ON(err);   /* reserved above */
    (void)err;
    vma_mark_attached(new);
    count_linked(mm, new);
    return 0;
}

/* split_vma refuses to pass max_map_count; __split_vma may go one over, as
 * munmap does so that freeing memory is always possible. */
int split_vma(struct vma *vma, unsigned long addr, int new_below)
{
    if (vma->vm_mm->map_count >= vma->vm_mm->cfg.max_map_count)
        return -ENOMEM;
    return __split_vma(vma, addr, new_below);
}

/*
 * split_vma(vma, start, 1) then split_vma(vma, end, 0), with one reservation
 * and one tree descent; vma keeps [start, end).  The caller has checked that
 * both splits pass max_map_count.  Returns -EAGAIN, having changed nothing,
 * when memory runs short: the caller then splits one at a time, which fails
 * where Linux's would (the first split may stay).
 *
 *   [ lo | vma | hi ]
 */
static int split_vma_both(struct vma *vma, unsigned long start, unsigned long end)
{
    struct mm *mm = vma->vm_mm;
    mmap_assert_write_locked(mm);
    VM_BUG_ON(start <= vma->vm_start || end >= vma->vm_end || start >= end);

    if (vt_reserve(&mm->mm_mt, 2))
        return -EAGAIN;
    struct vma *lo = vma_dup(vma), *hi = lo ? vma_dup(vma) : NULL;
    if (!hi) {
        if (lo)
            vma_free_unused(lo);
        return -EAGAIN;
    }
    /* Opened in Linux's order: the part below first. */
    lo->vm_end = start;
    if (lo->vm_ops && lo->vm_ops->open)
        lo->vm_ops->open(to_ref(lo));
    hi->vm_start = end;
    hi->vm_pgoff += (end - vma->vm_start) >> PAGE_SHIFT;
    if (hi->vm_ops && hi->vm_ops->open)
        hi->vm_ops->open(to_ref(hi));

    vma_start_write(vma);
    struct vm_file *rf = vma_rmap_file(vma);
    vma_rmap_lock(rf);
    vma->vm_pgoff += (start - vma->vm_start) >> PAGE_SHIFT;
    vma_lock_new(mm, lo);
    vma_lock_new(mm, hi);
    int err = vt_split3(&mm->mm_mt, vma, lo, hi);
    vma_rmap_unlock(rf);
    VM_BUG_ON(err);   /* reserved above */
    (void)err;
    vma_mark_attached(lo);
    vma_mark_attached(hi);
    count_linked(mm, lo);
    count_linked(mm, hi);
    return 0;
}

/* ------------------------------------------------------------- merging */

/*
 * The merge predicates below are small and asked on every mprotect, mlock
 * and madvise that reaches a VMA's edge: inline, so that their loads are
 * shared rather than repeated behind calls (gcc kept them out of line).
 */
#define MERGE_PRED static inline __attribute__((always_inline)) bool

static bool vma_had_uncowed_parents(const struct vma *vma)
{
    return vma && vma->anon_vma && vma->anon_vma->forked;
}

MERGE_PRED is_mergeable_vma(const struct vma_merge_struct *vmg, bool merge_next)
{
    const struct vma *vma = merge_next ? vmg->next : vmg->prev;
    /* VM_SOFTDIRTY must not stop a merge: the merged VMA is marked dirty. */
    if ((vma->vm_flags ^ vmg->flags) & ~VM_IGNORE_MERGE)
        return false;
    if (vma->vm_file != vmg->file)
        return false;
    return vma->anon_name == vmg->anon_name || anon_name_equal(vma->anon_name, vmg->anon_name);
}

MERGE_PRED is_mergeable_anon_vma(const struct vma_merge_struct *vmg, bool merge_next)
{
    const struct vma *tgt = merge_next ? vmg->next : vmg->prev;
    const struct vma *src = vmg->middle;
    struct anon_vma *tgt_anon = tgt->anon_vma, *src_anon = vmg->anon_vma;

    if (!tgt_anon && src_anon)          /* tgt would take src's (or copy_vma's source's) */
        return !vma_had_uncowed_parents(src ? src : vmg->copied_from);
    if (tgt_anon && !src_anon)          /* the range would use tgt's */
        return !vma_had_uncowed_parents(tgt);
    return src_anon == tgt_anon;
}

/* Can the range join next, which follows it? (can_vma_merge_before) */
MERGE_PRED can_vma_merge_before(const struct vma_merge_struct *vmg)
{
    unsigned long pglen = (vmg->end - vmg->start) >> PAGE_SHIFT;
    return is_mergeable_vma(vmg, true) && is_mergeable_anon_vma(vmg, true) &&
           vmg->next->vm_pgoff == vmg->pgoff + pglen;
}

/* Can the range join prev, which precedes it? (can_vma_merge_after) */
MERGE_PRED can_vma_merge_after(const struct vma_merge_struct *vmg)
{
    return is_mergeable_vma(vmg, false) && is_mergeable_anon_vma(vmg, false) &&
           vmg->prev->vm_pgoff + vma_pages(vmg->prev) == vmg->pgoff;
}

static bool can_vma_merge_left(const struct vma_merge_struct *vmg)
{
    return vmg->prev && vmg->prev->vm_end == vmg->start && can_vma_merge_after(vmg);
}

static bool can_vma_merge_right(const struct vma_merge_struct *vmg, bool can_merge_left)
{
    const struct vma *next = vmg->next;
    if (!next || vmg->end != next->vm_start || !can_vma_merge_before(vmg))
        return false;
    if (!can_merge_left)
        return true;
    /* Both neighbours suit the range; they must also suit each other. */
    const struct vma *prev = vmg->prev;
    return !prev->anon_vma || !next->anon_vma || prev->anon_vma == next->anon_vma;
}

/* A VMA with a close hook may be extended, never removed by a merge. */
static bool can_merge_remove_vma(const struct vma *vma)
{
    return !vma->vm_ops || !vma->vm_ops->close;
}

/* dst takes src's anon_vma if it has none. */
static void dup_anon_vma(struct vma *dst, const struct vma *src)
{
    if (src->anon_vma && !dst->anon_vma) {
        vma_start_write(dst);
        dst->anon_vma = src->anon_vma;
        anon_vma_get(dst->anon_vma);
    }
}

/*
 * A VMA a merge swallows: detached (which write-locks it and waits for its
 * readers) before the tree changes, freed without closing it once the tree
 * no longer shows it (Linux frees it in vma_complete).
 */
static void merge_detach(struct mm *mm, struct vma *vma)
{
    vma_mark_detached(vma);
    count_unlinked(mm, vma);
}

/*
 * Apply a decided merge.  The tree never holds overlapping VMAs, so every
 * shrink and removal happens before the growth it makes room for.
 * The caller has write-locked the target and every VMA that stays and
 * changes (a middle that is adjusted); what goes is write-locked here, as
 * it is detached.
 */
static void commit_merge(struct vma_merge_struct *vmg)
{
    struct mm *mm = vmg->mm;
    struct vma *target = vmg->target;
    /* Every VMA here maps the same file, if any: one rmap_lock. */
    struct vm_file *rf = vma_rmap_file(target);
    vma_rmap_lock(rf);

    if (vmg->__adjust_next_start) {
        /* middle shrinks to [start, end); next (the target) grows down to end */
        struct vma *middle = vmg->middle, *next = vmg->next;
        middle->vm_pgoff = vmg->pgoff;
        vt_update(&mm->mm_mt, middle, vmg->start, vmg->end);
        next->vm_pgoff -= (next->vm_start - vmg->end) >> PAGE_SHIFT;
        next->vm_flags |= vmg->flags & VM_STICKY;   /* the part it takes over */
        vt_update(&mm->mm_mt, next, vmg->end, next->vm_end);
        vma_rmap_unlock(rf);
        return;
    }
    /* The merged VMA keeps every sticky flag its parts had. */
    vm_flags_t sticky = vmg->flags & VM_STICKY;
    if (vmg->__remove_middle)
        sticky |= vmg->middle->vm_flags & VM_STICKY;
    if (vmg->__remove_next)
        sticky |= vmg->next->vm_flags & VM_STICKY;
    target->vm_flags |= sticky;
    if (vmg->__adjust_middle_start) {
        struct vma *middle = vmg->middle;
        middle->vm_pgoff += (vmg->end - middle->vm_start) >> PAGE_SHIFT;
        vt_update(&mm->mm_mt, middle, vmg->end, middle->vm_end);
    }
    if (vmg->__remove_middle)
        merge_detach(mm, vmg->middle);
    if (vmg->__remove_next)
        merge_detach(mm, vmg->next);
    target->vm_pgoff = vmg->pgoff;
    /* One step: the swallowed VMAs leave, target covers the range. */
    vt_merge(&mm->mm_mt, target, vmg->start, vmg->end);
    vma_rmap_unlock(rf);
    if (vmg->__remove_middle)
        vma_defer_free(vmg->middle);
    if (vmg->__remove_next)
        vma_defer_free(vmg->next);
}

/*
 * Merge the range [vmg->start, vmg->end), part or all of vmg->middle, with
 * prev and/or next (vma_merge_existing_range).  NULL if no merge.
 *
 *   merge both            merge left            merge right
 *   |<---------------->|  |<--------->|         |<--------->|
 *   PPPP MMMMMMMM NNNN    PPPP MMM*****   or    ***MMMMM NNNN
 */
static struct vma *vma_merge_existing_range(struct vma_merge_struct *vmg)
{
    struct vma *middle = vmg->middle, *prev = vmg->prev, *next = NULL;
    unsigned long start = vmg->start, end = vmg->end;
    bool left_side = start == middle->vm_start;
    bool right_side = end == middle->vm_end;
    bool merge_left, merge_right, merge_both;

    mmap_assert_write_locked(vmg->mm);
    if ((vmg->flags & VM_SPECIAL) || (!left_side && !right_side))
        return NULL;

    merge_left = left_side && can_vma_merge_left(vmg);
    if (right_side) {
        next = vmg->next = vt_next_wr(&vmg->mm->mm_mt, middle);
        merge_right = can_vma_merge_right(vmg, merge_left);
    } else {
        merge_right = false;
    }
    if (!merge_left && !merge_right)
        return NULL;

    merge_both = merge_left && merge_right;
    vmg->__remove_middle = left_side && right_side;
    if (vmg->__remove_middle && !can_merge_remove_vma(middle))
        return NULL;
    vmg->__remove_next = merge_both;
    if (vmg->__remove_next && !can_merge_remove_vma(next)) {
        vmg->__remove_next = false;
        merge_right = false;
        merge_both = false;
    }

    /* What stays is write-locked now; what goes is write-locked as it is
     * detached (commit_merge), one locked instruction each. */
    if (!vmg->__remove_middle)
        vma_start_write(middle);
    if (merge_right) {
        if (!merge_both)
            vma_start_write(next);
        vmg->target = next;
    }
    if (merge_left) {
        vma_start_write(prev);
        vmg->target = prev;
    }

    if (merge_both) {
        vmg->start = prev->vm_start;
        vmg->end = next->vm_end;
        vmg->pgoff = prev->vm_pgoff;
        dup_anon_vma(prev, next->anon_vma ? next : middle);
    } else if (merge_left) {
        vmg->start = prev->vm_start;
        vmg->pgoff = prev->vm_pgoff;
        if (!vmg->__remove_middle)
            vmg->__adjust_middle_start = true;
        dup_anon_vma(prev, middle);
    } else {
        unsigned long pglen = (vmg->end - vmg->start) >> PAGE_SHIFT;
        if (vmg->__remove_middle) {
            vmg->end = next->vm_end;
            vmg->pgoff = next->vm_pgoff - pglen;
        } else {
            vmg->__adjust_next_start = true;
            vmg->start = middle->vm_start;
            vmg->end = start;
            vmg->pgoff = middle->vm_pgoff;
        }
        dup_anon_vma(next, middle);
    }
    commit_merge(vmg);
    return vmg->target;
}

/*
 * A new range [start, end) in a hole, between prev and next (either may be
 * NULL): extend a neighbour over it if Linux would (vma_merge_new_range).
 */
struct vma *vma_merge_new_range(struct vma_merge_struct *vmg)
{
    struct vma *prev = vmg->prev, *next = vmg->next;
    unsigned long end = vmg->end;

    mmap_assert_write_locked(vmg->mm);
    if ((vmg->flags & VM_SPECIAL) || (!prev && !next))
        return NULL;

    bool can_merge_left = can_vma_merge_left(vmg);
    bool can_merge_right = !vmg->just_expand && can_vma_merge_right(vmg, can_merge_left);

    if (can_merge_right) {
        vmg->end = next->vm_end;
        vmg->target = next;
    }
    if (can_merge_left) {
        vmg->start = prev->vm_start;
        vmg->target = prev;
        vmg->pgoff = prev->vm_pgoff;
        if (can_merge_right && !can_merge_remove_vma(next))
            vmg->end = end;
    }
    if (!vmg->target)
        return NULL;
    vma_start_write(vmg->target);

    /* vma_expand: the target grows over the range, and over next if the
     * range now ends where next ends. */
    if (next && vmg->target != next && vmg->end == next->vm_end) {
        vmg->__remove_next = true;   /* write-locked as it is detached */
        dup_anon_vma(vmg->target, next);
    }
    commit_merge(vmg);
    return vmg->target;
}

struct vma *copy_vma(struct vma **vmap, unsigned long addr, unsigned long len, unsigned long pgoff)
{
    struct vma *vma = *vmap;
    struct mm *mm = vma->vm_mm;
    mmap_assert_write_locked(mm);
    /* An anonymous VMA never faulted takes the pgoff of its new place, so
     * that it may merge there (its pages have no index yet). */
    if (vma_is_anonymous(vma) && !vma->anon_vma)
        pgoff = addr >> PAGE_SHIFT;
    struct vma *prev;
    struct vma *next = vt_find_and_prev_wr(&mm->mm_mt, addr, &prev);
    if (next && next->vm_start < addr + len)
        return NULL;   /* the range is free: the caller unmapped it or found it so */
    struct vma_merge_struct vmg = {
        .mm = mm, .prev = prev, .next = next, .start = addr, .end = addr + len, .pgoff = pgoff,
        .flags = vma->vm_flags, .file = vma->vm_file, .anon_vma = vma->anon_vma,
        .anon_name = vma->anon_name, .copied_from = vma,
    };
    struct vma *new = vma_merge_new_range(&vmg);
    if (new) {
        /* Only an unfaulted anonymous source can have been extended. */
        if (vma->vm_start >= new->vm_start && vma->vm_start < new->vm_end)
            *vmap = new;
        return new;
    }
    if (!(new = vma_dup(vma)))
        return NULL;
    struct vm_file *rf = vma_rmap_file(new);
    vma_rmap_lock(rf);
    new->vm_start = addr;
    new->vm_end = addr + len;
    new->vm_pgoff = pgoff;
    vma_rmap_unlock(rf);
    if (new->vm_ops && new->vm_ops->open)
        new->vm_ops->open(to_ref(new));
    vma_link(mm, new);
    return new;
}

struct vma *vma_merge_extend(struct vma *vma, unsigned long delta)
{
    struct mm *mm = vma->vm_mm;
    struct vma *next = vt_next_wr(&mm->mm_mt, vma);
    struct vma_merge_struct vmg = {
        .mm = mm, .prev = vma, .next = next, .start = vma->vm_end, .end = vma->vm_end + delta,
        .pgoff = vma->vm_pgoff + vma_pages(vma), .flags = vma->vm_flags, .file = vma->vm_file,
        .anon_vma = vma->anon_vma, .anon_name = vma->anon_name,
    };
    return vma_merge_new_range(&vmg);
}

/*
 * Merge if possible, otherwise split the range out of vma (vma_modify).
 * The VMA returned is write-locked, whichever way it came, so that the
 * caller may change it at once.
 */
static struct vma *vma_modify(struct vma_merge_struct *vmg)
{
    struct vma *vma = vmg->middle;
    unsigned long start = vmg->start, end = vmg->end;

    /* start and end become VMA boundaries, by a split or a merge: a huge
     * PMD across one is split first (vma_adjust_trans_huge), vma locked
     * against faults before (split_huge_pmd_at).  vma leaves locked on
     * every path below, so this costs nothing. */
    if (start > vma->vm_start || end < vma->vm_end) {
        vma_start_write(vma);
        split_huge_pmds(vma->vm_mm, start, end);
    }
    struct vma *merged = vma_merge_existing_range(vmg);
    if (merged)
        return merged;
    /* A range inside vma: both splits at once when both would pass the
     * map count (split_vma's check, made for each). */
    if (start > vma->vm_start && end < vma->vm_end &&
        vma->vm_mm->map_count + 1 < vma->vm_mm->cfg.max_map_count && !vma_is_special_mapping(vma) &&
        split_vma_both(vma, start, end) == 0)
        return vma;
    if (start > vma->vm_start) {
        int err = split_vma(vma, start, 1);
        if (err)
            return ERR_PTR(err);
    }
    if (end < vma->vm_end) {
        int err = split_vma(vma, end, 0);
        if (err)
            return ERR_PTR(err);
    }
    /* Locked already if a split came first; not when the range was all of vma. */
    vma_start_write(vma);
    return vma;
}

static void vmg_init(struct vma_merge_struct *vmg, struct vma *prev, struct vma *vma,
                     unsigned long start, unsigned long end)
{
    *vmg = (struct vma_merge_struct){
        .mm = vma->vm_mm, .prev = prev, .middle = vma,
        .start = start, .end = end,
        .pgoff = vma->vm_pgoff + ((start - vma->vm_start) >> PAGE_SHIFT),
        .flags = vma->vm_flags, .file = vma->vm_file,
        .anon_vma = vma->anon_vma, .anon_name = vma->anon_name,
    };
}

struct vma *vma_modify_flags(struct vma *prev, struct vma *vma, unsigned long start,
                             unsigned long end, vm_flags_t new_flags)
{
    struct vma_merge_struct vmg;
    vmg_init(&vmg, prev, vma, start, end);
    vmg.flags = new_flags;
    return vma_modify(&vmg);
}

struct vma *vma_modify_name(struct vma *prev, struct vma *vma, unsigned long start,
                            unsigned long end, struct anon_name *name)
{
    struct vma_merge_struct vmg;
    vmg_init(&vmg, prev, vma, start, end);
    vmg.anon_name = name;
    return vma_modify(&vmg);
}

/* ------------------------------------------------------------- the seed */

static inline const struct vma *readable(const struct vma_ref *ref)
{
    const struct vma *vma = (const struct vma *)ref;
    vma_assert_readable(vma);
    return vma;
}

unsigned long vma_start(const struct vma_ref *v) { return readable(v)->vm_start; }
unsigned long vma_end(const struct vma_ref *v) { return readable(v)->vm_end; }
vm_flags_t vma_flags(const struct vma_ref *v) { return readable(v)->vm_flags; }
struct mm *vma_mm(const struct vma_ref *v) { return readable(v)->vm_mm; }
unsigned long vma_pgoff(const struct vma_ref *v) { return readable(v)->vm_pgoff; }
struct vm_file *vma_file(const struct vma_ref *v) { return readable(v)->vm_file; }
const struct vm_operations *vma_ops(const struct vma_ref *v) { return readable(v)->vm_ops; }
void *vma_private(const struct vma_ref *v) { return readable(v)->vm_private_data; }

const struct vma_ref *(vma_lookup)(const struct mmap_read_guard *g, unsigned long addr)
{
    mmap_assert_locked(g->mm);
    return to_ref(vt_lookup(&g->mm->mm_mt, addr));
}

const struct vma_ref *(vma_find)(const struct mmap_read_guard *g, unsigned long addr)
{
    mmap_assert_locked(g->mm);
    return to_ref(vt_find(&g->mm->mm_mt, addr));
}

const struct vma_ref *(vma_next)(const struct mmap_read_guard *g, const struct vma_ref *vma)
{
    mmap_assert_locked(g->mm);
    return to_ref(vt_next(&g->mm->mm_mt, readable(vma)));
}

const struct vma_ref *(vma_prev)(const struct mmap_read_guard *g, const struct vma_ref *vma)
{
    mmap_assert_locked(g->mm);
    return to_ref(vt_prev(&g->mm->mm_mt, readable(vma)));
}

const struct vma_mixedmap *vma_as_mixedmap(const struct vma_ref *v)
{
    return (readable(v)->vm_flags & VM_MIXEDMAP) ? (const struct vma_mixedmap *)v : NULL;
}

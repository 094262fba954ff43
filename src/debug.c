/* SPDX-License-Identifier: MIT */
/*
 * debug.c — whole-structure checks of debug builds (VMAREA_DEBUG).
 *
 * mm_validate_range runs at the end of every operation, on the range it
 * changed (MM_VALIDATE_ON_EXIT), so a corruption is caught by the operation
 * that made it, not by a later one that trips over it.  It checks what the
 * lock-free access path takes on trust: that path reads an entry without
 * looking at the VMA, so an entry that grants more than its VMA allows is a
 * protection bypass, and one that grants less makes the fault path and the
 * access path disagree forever.  The range is widened to whole 2 MiB
 * pieces, since splitting a huge page changes entries beyond the range
 * asked.  (The VMA tree's own check, vt_validate, costs a walk of every VMA
 * and runs in its tests instead.)
 *
 *   - every page-table entry (a page or a guard marker) lies inside a VMA;
 *   - a present one is writable only if the VMA is, and PTE_PROTNONE is set
 *     exactly where the VMA allows no data access;
 *   - a PMD that maps a huge page (or the huge zero page) lies inside one
 *     VMA.
 *
 * At VMAREA_DEBUG=2, validate_mm runs at mmap write unlocks (Linux's
 * validate_mm, mimalloc's mi_assert_expensive): the tree's structure, each
 * VMA's own invariants (a shmem VMA is in its object's reverse map), the
 * counters the mmap lock guards recomputed from
 * the VMAs, and every page-table entry of the address space.  (Rss is left
 * out: faults under a VMA's lock change it while the write lock is held.)
 */
#include "mm.h"

#ifdef VMAREA_DEBUG

#include <stdio.h>
#include <stdlib.h>

struct pte_walk {
    struct mm *mm;
    struct vma *vma;   /* the VMA the last entry lay in */
    bool fixed;        /* the walk stays inside vma: no tree lookups */
};

static __attribute__((noreturn, cold)) void bad_entry(const char *what, unsigned long addr, pte_t pte,
                                                      const struct vma *vma)
{
    fprintf(stderr, "vmarea: mm_validate: the entry %#llx at %#lx %s", (unsigned long long)pte, addr,
            what);
    if (vma)
        fprintf(stderr, " (VMA %#lx-%#lx flags %#lx)", vma->vm_start, vma->vm_end, vma->vm_flags);
    fputc('\n', stderr);
    abort();
}

/* The VMA holding addr, walking on from the last one (entries come in
 * address order). */
static struct vma *walk_vma(struct pte_walk *w, unsigned long addr)
{
    if (!w->fixed && (!w->vma || addr >= w->vma->vm_end))
        w->vma = vt_find(&w->mm->mm_mt, addr);
    return w->vma && w->vma->vm_start <= addr ? w->vma : NULL;
}

static int check_pte(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    (void)ptep;
    struct pte_walk *w = arg;
    struct vma *vma = walk_vma(w, addr);
    if (!vma)
        bad_entry("lies in no VMA", addr, pte, NULL);
    if (!pte_present(pte))
        return 0;   /* a guard marker: grants nothing */
    if (pte_write(pte) && !(vma->vm_flags & VM_WRITE))
        bad_entry("is writable in a VMA without VM_WRITE", addr, pte, vma);
    if (pte_write(pte) && !pte_special(pte) && !pte_file(pte) &&
        page_test_flag(pte_page(pte), PG_anon_shared))
        bad_entry("is writable, its anonymous page shared by a fork", addr, pte, vma);
    if (pte_protnone(pte) != !data_accessible(vma->vm_flags))
        bad_entry(pte_protnone(pte) ? "denies the access its VMA allows"
                                    : "allows the access its VMA denies", addr, pte, vma);
    return 0;
}

static int check_pmd(void *arg, unsigned long haddr, pte_t _Atomic *pmdp, pte_t pmd)
{
    (void)pmdp;
    struct pte_walk *w = arg;
    if (!(pmd & (PMD_HUGE | PMD_HZERO)))
        return 0;
    struct vma *vma = walk_vma(w, haddr);
    if (!vma || haddr + PMD_SIZE > vma->vm_end)
        bad_entry("maps a huge page across a VMA boundary", haddr, pmd, vma);
    return 0;
}

/* within: NULL, or the one VMA the range lies in (then the tree, which a
 * writer may be changing elsewhere, is not looked at). */
static void validate_entries(struct mm *mm, struct vma *within, unsigned long start, unsigned long end)
{
    if (start >= end || !pgtable_bytes(&mm->pgt))
        return;
    struct pte_walk w = { .mm = mm, .vma = within, .fixed = within != NULL };
    pgtable_for_each(&mm->pgt, start, end, check_pte, &w);
    w.vma = within;
    pgtable_for_each_pmd(&mm->pgt, start, end, check_pmd, &w);
}

void mm_validate_range(struct mm *mm, unsigned long start, unsigned long end)
{
    start &= ~(PMD_SIZE - 1);
    end = end > mm->cfg.task_size - PMD_SIZE ? mm->cfg.task_size : (end + PMD_SIZE - 1) & ~(PMD_SIZE - 1);
    validate_entries(mm, NULL, start, end);
}

/* After a fault, which may hold only its VMA's lock: the 2 MiB around addr,
 * but no further than the VMA, whose neighbours a writer may be changing. */
void mm_validate_fault(struct vma *vma, unsigned long addr)
{
    unsigned long haddr = addr & ~(PMD_SIZE - 1);
    validate_entries(vma->vm_mm, vma, max(haddr, vma->vm_start), min(haddr + PMD_SIZE, vma->vm_end));
}

void mm_validate_scope_end(const struct mm_validate_scope *s)
{
    unsigned long start = *s->start, end = *s->end;
    if (s->len)
        end = start + end < start ? s->mm->cfg.task_size : start + end;
    mm_validate_range(s->mm, start, end);
}

#if VMAREA_DEBUG >= 2

static __attribute__((noreturn, cold)) void bad_mm(const struct mm *mm, const struct vma *vma,
                                                  const char *what, unsigned long have, unsigned long want)
{
    fprintf(stderr, "vmarea: validate_mm: mm %p: %s", (const void *)mm, what);
    if (have != want)
        fprintf(stderr, " (%lu, should be %lu)", have, want);
    if (vma)
        fprintf(stderr, " (VMA %#lx-%#lx flags %#lx)", vma->vm_start, vma->vm_end, vma->vm_flags);
    fputc('\n', stderr);
    abort();
}

/*
 * What one check costs grows with the mm: a walk of every VMA and every
 * page-table entry.  While that is under VALIDATE_BUDGET (VMAs plus table
 * entries) the check runs at every unlock; past it, at one unlock in
 * cost / VALIDATE_BUDGET, which keeps its cost per unlock bounded.  Without
 * this, building 65,530 VMAs one by one, or reading gigabytes through the
 * zero page, is quadratic (minutes; hours under the sanitizers).
 */
#define VALIDATE_BUDGET 8192

/* v is in its page cache's reverse map, as truncation needs it to be. */
static bool rmap_holds(struct vma *v)
{
    struct vm_file *f = vma_rmap_file(v);
    bool found = false;
    pthread_mutex_lock(&f->rmap_lock);
    for (unsigned long i = 0; i < f->rmap_n && !found; i++)
        found = f->rmap[i] == v;
    pthread_mutex_unlock(&f->rmap_lock);
    return found;
}

void validate_mm(struct mm *mm)
{
    unsigned long cost = mm->map_count + pgtable_bytes(&mm->pgt) / sizeof(pte_t);
    if (cost > VALIDATE_BUDGET) {
        static _Thread_local unsigned long skipped;
        if (++skipped < cost / VALIDATE_BUDGET)
            return;
        skipped = 0;
    }
    int err = vt_validate(&mm->mm_mt);
    if (err)
        bad_mm(mm, NULL, "the VMA tree is broken", (unsigned long)-err, 0);
    struct mm counted = { .map_count = 0 };   /* the counters, recomputed */
    unsigned long prev_end = 0;
    for (struct vma *v = vt_first(&mm->mm_mt); v; v = vt_next(&mm->mm_mt, v)) {
        if (v->vm_start >= v->vm_end || offset_in_page(v->vm_start) || offset_in_page(v->vm_end) ||
            v->vm_end > mm->cfg.task_size || v->vm_start < prev_end)
            bad_mm(mm, v, "a VMA is empty, unaligned, out of the task or overlaps the one before", 0, 0);
        if (v->vm_mm != mm || !(__atomic_load_n(&v->vm_refcnt, __ATOMIC_RELAXED) & VMA_ATTACHED))
            bad_mm(mm, v, "a VMA in the tree is another mm's or detached", 0, 0);
        if (v->anon_vma && v->anon_vma->refcount == 0)
            bad_mm(mm, v, "a VMA's anon_vma has no references", 0, 0);
        if ((v->vm_flags & VM_LOCKED_MASK) && !vma_supports_mlock(v))
            bad_mm(mm, v, "a special or hugetlb VMA is locked", 0, 0);
        if (vma_rmap_file(v) && !rmap_holds(v))
            bad_mm(mm, v, "a VMA is missing from its page cache's reverse map", 0, 0);
        prev_end = v->vm_end;
        counted.map_count++;
        counted.nr_growsdown += !!(v->vm_flags & VM_GROWSDOWN);
        if (v->vm_flags & VM_LOCKED)
            counted.locked_vm += vma_pages(v);
        vm_stat_account(&counted, v->vm_flags, (long)vma_pages(v));
    }
    if (counted.map_count != mm->map_count || counted.map_count != mm->mm_mt.count)
        bad_mm(mm, NULL, "map_count is not the number of VMAs", mm->map_count, counted.map_count);
    if (counted.nr_growsdown != mm->nr_growsdown)
        bad_mm(mm, NULL, "nr_growsdown is wrong", mm->nr_growsdown, counted.nr_growsdown);
    /* Linux's mremap(MREMAP_DONTUNMAP) of locked memory unlocks the old VMA
     * without giving its pages back: locked_vm may only be more. */
    if (counted.locked_vm > mm->locked_vm)
        bad_mm(mm, NULL, "locked_vm is wrong", mm->locked_vm, counted.locked_vm);
    if (counted.total_vm != mm->total_vm)
        bad_mm(mm, NULL, "total_vm is wrong", mm->total_vm, counted.total_vm);
    if (counted.data_vm != mm->data_vm || counted.exec_vm != mm->exec_vm ||
        counted.stack_vm != mm->stack_vm)
        bad_mm(mm, NULL, "data_vm, exec_vm or stack_vm is wrong", mm->data_vm + mm->exec_vm + mm->stack_vm,
               counted.data_vm + counted.exec_vm + counted.stack_vm);
    validate_entries(mm, NULL, 0, mm->cfg.task_size);
}

#endif /* VMAREA_DEBUG >= 2 */

#endif /* VMAREA_DEBUG */

/* SPDX-License-Identifier: MIT */
/*
 * huge_memory.c — transparent huge pages (Linux's mm/huge_memory.c and
 * khugepaged's collapse): which VMAs may have them, 2 MiB faults, splitting
 * a huge PMD at a new VMA boundary, splitting large folios, MADV_COLLAPSE.
 *
 * Anonymous memory where THP is allowed (vma_thp_eligible: the mode, the
 * VMA's advice) faults a 2 MiB page at once when its aligned 2 MiB lies in the
 * VMA and has no page table yet (pmd_none), as Linux's
 * do_huge_pmd_anonymous_page: a read maps the huge zero page, a write 512
 * fresh pages as one PMD-mapped THP.  A THP here is 512 ordinary entries in a
 * table whose PMD entry says so (pgtable.h, PMD_*): accesses, zaps and
 * counts need nothing else, and only what Linux shows of a huge PMD is
 * modelled (AnonHugePages, one dirty bit for all, splits, pmd_none after a
 * whole zap, zero pages for zero-filled parts of a split folio).
 */
#include "huge_memory.h"
#include "rcu.h"

#include <string.h>

#define HPAGE_PAGES (PMD_SIZE >> PAGE_SHIFT)

/*
 * n of a table's 512 entries went in: mark the PMD with flags if all did.
 * If the PMD changed meanwhile, or not all went in, the table is an ordinary
 * one (and no longer stands for no table, if it did).
 */
static void huge_pmd_settle(pte_t _Atomic *pmdp, pte_t pmd, unsigned n, pte_t flags)
{
    pte_t want = (pmd & ~PMD_FLAGS) | (n == PGT_ENTRIES ? flags : 0);
    if (!ptep_cmpxchg(pmdp, &pmd, want))
        atomic_fetch_and_explicit(pmdp, ~(PMD_HUGE | PMD_HZERO | PMD_LARGE | (pmd & PMD_NONE)),
                                  memory_order_relaxed);
}

/*
 * Put entries into a table that stands for no table (PMD_NONE), one
 * compare-and-swap each, and mark the PMD with flags if every one went in.
 * Returns how many went in; installed[i] says which (a racing fault may have
 * taken a slot: then the table is an ordinary one, and so are the entries).
 */
static unsigned fill_table(pte_t _Atomic *pmdp, pte_t pmd, const pte_t *entries, bool *installed,
                           pte_t flags)
{
    pte_t _Atomic *t = pmd_table(pmd);
    unsigned n = 0;
    for (unsigned i = 0; i < PGT_ENTRIES; i++) {
        pte_t zero = 0;
        installed[i] = ptep_cmpxchg(&t[i], &zero, entries[i]);
        n += installed[i];
    }
    huge_pmd_settle(pmdp, pmd, n, flags);
    return n;
}

/* The pages of entries[0..n) that did not go in (installed NULL: none did). */
static void free_huge_entries(const pte_t *entries, const bool *installed, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (installed && installed[i])
            continue;
        struct vm_page *page = pte_page(entries[i]);
        page_mapcount_dec(page);
        page_put(page);
    }
}

/*
 * 512 zeroed pages as entries for vma, or false (and nothing taken).  A THP's
 * PMD is made dirty whatever the access, and writable if the VMA is
 * (map_anon_folio_pmd), so every entry is too.
 */
static bool alloc_huge_entries(struct vma *vma, pte_t *entries)
{
    pte_t flags = vma_pte_flags(vma, false) | PTE_DIRTY |
                  ((vma->vm_flags & VM_WRITE) ? PTE_WRITE : 0);
    struct mm *mm = vma->vm_mm;
    if (!page_pool_has_room(&mm->pages, PGT_ENTRIES))
        return false;   /* as Linux's failed order-9 allocation: at once */
    for (unsigned i = 0; i < PGT_ENTRIES; i++) {
        struct vm_page *page = page_alloc(&mm->pages);
        if (!page) {
            free_huge_entries(entries, NULL, i);
            return false;   /* Linux: THP_FAULT_FALLBACK, small pages instead */
        }
        page_mapcount_set_new(page);
        entries[i] = pte_mk(page, flags);
    }
    return true;
}

/* A write to the huge zero page (do_huge_zero_wp_pmd): a THP replaces it,
 * entry by entry; without the memory for one, the PMD is split and the
 * write takes the 4 KiB path. */
static int do_huge_zero_wp(struct vma *vma, pte_t _Atomic *pmdp, pte_t pmd, bool mmap_locked)
{
    struct mm *mm = vma->vm_mm;
    int err = anon_prepare(vma, mmap_locked);
    if (err)
        return err;
    pte_t entries[PGT_ENTRIES];
    bool installed[PGT_ENTRIES];
    if (!alloc_huge_entries(vma, entries)) {
        atomic_fetch_and_explicit(pmdp, ~PMD_HZERO, memory_order_relaxed);
        return -EFAULT_FALLBACK;
    }
    pte_t _Atomic *t = pmd_table(pmd);
    unsigned n = 0;
    for (unsigned i = 0; i < PGT_ENTRIES; i++) {
        pte_t cur = ptep_get(&t[i]);
        installed[i] = pte_present(cur) && pte_special(cur) && is_zero_page(pte_page(cur)) &&
                       ptep_cmpxchg(&t[i], &cur, entries[i]);
        n += installed[i];
    }
    huge_pmd_settle(pmdp, pmd, n, PMD_HUGE | PMD_LARGE);
    free_huge_entries(entries, installed, PGT_ENTRIES);
    rss_add(mm, MM_ANONPAGES, n);
    return 0;
}

int do_huge_pmd_fault(struct vma *vma, unsigned long addr, bool write, bool mmap_locked)
{
    struct mm *mm = vma->vm_mm;
    unsigned long haddr = addr & ~(PMD_SIZE - 1);
    /* Every huge PMD lies inside one VMA (a boundary splits it): where the
     * aligned 2 MiB does not, there is nothing to look up. */
    if (haddr < vma->vm_start || haddr + PMD_SIZE > vma->vm_end)
        return -EFAULT_FALLBACK;
    pte_t _Atomic *pmdp = pgtable_pmd(&mm->pgt, haddr);
    pte_t pmd = pmdp ? ptep_get(pmdp) : 0;
    /* A huge zero PMD takes a THP on a write whatever the VMA's advice says
     * now (Linux's wp_huge_pmd does not ask again). */
    if (pmd & PMD_HZERO)
        return write ? do_huge_zero_wp(vma, pmdp, pmd, mmap_locked) : -EFAULT_FALLBACK;
    if (!vma_thp_eligible(vma))   /* the mode and the VMA's advice */
        return -EFAULT_FALLBACK;
    if (!pmdp && pgtable_pmd_alloc(&mm->pgt, haddr, &pmdp))
        return -EFAULT_FALLBACK;   /* the 4 KiB path says -ENOMEM if it must */
    if (pmd & PMD_NONE) {
        if (!pgtable_table_empty(pmd_table(pmd))) {
            atomic_fetch_and_explicit(pmdp, ~PMD_NONE, memory_order_relaxed);
            return -EFAULT_FALLBACK;
        }
    } else if (pmd) {
        return -EFAULT_FALLBACK;   /* an ordinary table: 4 KiB pages */
    }

    pte_t entries[PGT_ENTRIES];
    bool installed[PGT_ENTRIES];
    /* A read maps the huge zero page where the host uses one
     * (mm_forbids_zeropage, transparent_hugepage/use_zero_page); else it
     * allocates a THP as a write does. */
    if (!write && !(mm->cfg.flags & (MM_CONFIG_NO_ZERO_PAGE | MM_CONFIG_NO_HUGE_ZERO_PAGE))) {
        pte_t z = pte_mk(zero_page(), vma_pte_flags(vma, false) | PTE_SPECIAL);
        for (unsigned i = 0; i < PGT_ENTRIES; i++)
            entries[i] = z;
        if (pmd)
            fill_table(pmdp, pmd, entries, installed, PMD_HZERO);
        else if (pgtable_install_table(&mm->pgt, pmdp, 0, entries, PMD_HZERO))
            return -EFAULT_FALLBACK;
        return 0;
    }
    int err = anon_prepare(vma, mmap_locked);
    if (err)
        return err;
    if (!alloc_huge_entries(vma, entries))
        return -EFAULT_FALLBACK;
    unsigned n = PGT_ENTRIES;
    if (pmd) {
        n = fill_table(pmdp, pmd, entries, installed, PMD_HUGE | PMD_LARGE);
        free_huge_entries(entries, installed, PGT_ENTRIES);
    } else if (pgtable_install_table(&mm->pgt, pmdp, 0, entries, PMD_HUGE | PMD_LARGE)) {
        free_huge_entries(entries, NULL, PGT_ENTRIES);
        return -EFAULT_FALLBACK;
    }
    rss_add(mm, MM_ANONPAGES, n);
    return 0;
}

/*
 * MADV_COLLAPSE of the aligned 2 MiB at haddr, which vma covers
 * (collapse_huge_page): its pages are copied into a fresh THP, mapped dirty
 * and writable where the VMA is, whatever the old entries said; empty and
 * zero-page entries become zeroed subpages.  0 when a huge PMD maps it now
 * or already did (the huge zero page too, which Linux leaves as it is);
 * -EINVAL where there is nothing Linux collapses: no page table, a guard
 * marker, a page not this mapping's alone; -ENOMEM without the memory for
 * a THP.
 *
 * The mmap write lock is held and vma is write-locked, so no fault runs in
 * it.  Lock-free accesses may: the old entries are cleared first, and the
 * copy starts after a grace period, when no access can still be using one.
 */
int collapse_huge_pmd(struct vma *vma, unsigned long haddr)
{
    struct mm *mm = vma->vm_mm;
    mmap_assert_write_locked(mm);
    pte_t _Atomic *pmdp = pgtable_pmd(&mm->pgt, haddr);
    pte_t pmd = pmdp ? ptep_get(pmdp) : 0;
    if (pmd & (PMD_HUGE | PMD_HZERO))
        return 0;
    if (!pmd || (pmd & PMD_NONE))
        return -EINVAL;
    pte_t _Atomic *t = pmd_table(pmd);
    for (unsigned i = 0; i < PGT_ENTRIES; i++) {
        pte_t pte = ptep_get(&t[i]);
        if (pte_marker(pte))
            return -EINVAL;
        if (!pte_present(pte) || (pte_special(pte) && is_zero_page(pte_page(pte))))
            continue;
        if (pte_special(pte) || pte_file(pte) || page_mapcount(pte_page(pte)) != 1)
            return -EINVAL;
    }
    pte_t entries[PGT_ENTRIES], old[PGT_ENTRIES];
    if (!alloc_huge_entries(vma, entries))
        return -ENOMEM;
    for (unsigned i = 0; i < PGT_ENTRIES; i++)
        old[i] = atomic_exchange_explicit(&t[i], 0, memory_order_acq_rel);
    synchronize_rcu();
    long had = 0;
    for (unsigned i = 0; i < PGT_ENTRIES; i++) {
        if (!pte_present(old[i]) || pte_special(old[i]))
            continue;
        struct vm_page *page = pte_page(old[i]);
        copy_frame(page_address(pte_page(entries[i])), page_address(page));
        page_mapcount_dec(page);
        page_put(page);
        had++;
    }
    for (unsigned i = 0; i < PGT_ENTRIES; i++)
        atomic_store_explicit(&t[i], entries[i], memory_order_release);
    atomic_fetch_or_explicit(pmdp, PMD_HUGE | PMD_LARGE, memory_order_release);
    rss_add(mm, MM_ANONPAGES, (long)PGT_ENTRIES - had);
    return 0;
}

void split_huge_pmd_at(struct mm *mm, unsigned long addr)
{
#ifdef VMAREA_DEBUG
    struct vma *vma = vt_find(&mm->mm_mt, addr);
    if (vma && vma->vm_start < addr)
        vma_assert_write_locked(vma);
#endif
    pte_t _Atomic *pmdp = pgtable_pmd(&mm->pgt, addr);
    if (pmdp && (ptep_get(pmdp) & (PMD_HUGE | PMD_HZERO)))
        atomic_fetch_and_explicit(pmdp, ~(PMD_HUGE | PMD_HZERO), memory_order_relaxed);
}

/*
 * Split the large folios (PMD_LARGE tables) that [start, end) touches, or
 * only those it covers in part unless always: split_folio, which maps the
 * shared zero page where a subpage holds only zeros (Linux remaps unused
 * subpages so, dropping them from Rss).  Mmap lock, any.
 *
 * A folio may be mapped by several VMAs (an mprotect or mlock split its PMD
 * but not the folio), so the range the advice names is not the folio's:
 * each subpage's zero-page entry takes the protection of the VMA that maps
 * it, as Linux's rmap walk gives try_to_map_unused_to_zeropage that VMA; a
 * VM_LOCKED one keeps its pages.
 */
struct folio_split {
    struct vma *vma;                 /* the advised VMA, then each VMA of the folio */
    unsigned long start, end;
    bool always;
    unsigned long haddr;
    uint64_t wrprotected[PGT_ENTRIES / 64];   /* entries phase 1 took PTE_WRITE from */
    unsigned long candidates;
};

static bool zero_candidate(const struct vma *vma, pte_t pte)
{
    return pte_present(pte) && !pte_special(pte) && !pte_file(pte) &&
           !(vma->vm_flags & VM_LOCKED) && !page_test_flag(pte_page(pte), PG_mlocked) &&
           page_mapcount(pte_page(pte)) == 1;
}

/*
 * A lock-free store into a page that is writable and dirty already changes
 * no entry (access_fast): between a compare of the page with zeros and the
 * swap to the zero page it would be lost.  So phase 1 takes PTE_WRITE from
 * every candidate, and phase 2 runs a grace period later, when no store can
 * still be going into one; a store after phase 1 faults first, which changes
 * the entry, and phase 2's compare-and-swap then keeps the page.
 */
static int wrprotect_one(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    struct folio_split *f = arg;
    if (!zero_candidate(f->vma, pte))
        return 0;
    f->candidates++;
    unsigned long i = (addr - f->haddr) >> PAGE_SHIFT;
    if (pte_write(pte) && ptep_cmpxchg(ptep, &pte, pte & ~PTE_WRITE))
        f->wrprotected[i / 64] |= 1ULL << (i % 64);
    return 0;
}

static int remap_zero_one(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    struct folio_split *f = arg;
    struct vma *vma = f->vma;
    unsigned long i = (addr - f->haddr) >> PAGE_SHIFT;
    bool wrprotected = f->wrprotected[i / 64] & (1ULL << (i % 64));
    if (!zero_candidate(vma, pte) || pte_write(pte))
        return 0;   /* a fault made it writable again meanwhile: keep it */
    struct vm_page *page = pte_page(pte);
    if (memcmp(page_address(page), page_address(zero_page()), PAGE_SIZE)) {
        if (wrprotected)   /* as it was, unless a fault changed it */
            ptep_cmpxchg(ptep, &pte, pte | PTE_WRITE);
        return 0;
    }
    pte_t z = pte_mk(zero_page(), (vma_pte_flags(vma, false) & ~PTE_ACCESSED) | PTE_SPECIAL);
    if (!ptep_cmpxchg(ptep, &pte, z))
        return 0;
    rss_add(vma->vm_mm, MM_ANONPAGES, -1);
    page_mapcount_dec(page);
    page_put(page);
    return 0;
}

/* Each VMA's part of the folio's 2 MiB, with fn and the VMA in f. */
static void for_each_folio_vma(struct folio_split *f, struct mm *mm, pgt_pte_fn fn)
{
    unsigned long hend = f->haddr + PMD_SIZE;
    for (struct vma *vma = vt_find(&mm->mm_mt, f->haddr); vma && vma->vm_start < hend;
         vma = vt_next(&mm->mm_mt, vma)) {
        f->vma = vma;
        pgtable_for_each(&mm->pgt, max(f->haddr, vma->vm_start), min(hend, vma->vm_end), fn, f);
    }
}

static int mapped_twice(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    (void)arg;
    (void)addr;
    (void)ptep;
    return !pte_special(pte) && !pte_file(pte) && page_mapcount(pte_page(pte)) > 1;
}

/* A page of the folio mapped twice: a fork shares it (pages a copy-on-write
 * replaced are mapped once, and the rest still tell). */
bool large_folio_shared(struct mm *mm, unsigned long haddr)
{
    return pgtable_for_each(&mm->pgt, haddr, haddr + PMD_SIZE, mapped_twice, NULL);
}

static int split_folio_pmd(void *arg, unsigned long haddr, pte_t _Atomic *pmdp, pte_t pmd)
{
    struct folio_split *f = arg;
    if (!(pmd & PMD_LARGE))
        return 0;
    if (!f->always && f->start <= haddr && haddr + PMD_SIZE <= f->end)
        return 0;   /* covered whole: the folio stays */
    if (large_folio_shared(f->vma->vm_mm, haddr))
        return 0;   /* "do not interfere with other mappings of this folio" */
    atomic_fetch_and_explicit(pmdp, ~(PMD_HUGE | PMD_HZERO | PMD_LARGE), memory_order_relaxed);
    struct mm *mm = f->vma->vm_mm;
    struct vma *advised = f->vma;
    f->haddr = haddr;
    f->candidates = 0;
    memset(f->wrprotected, 0, sizeof(f->wrprotected));
    if (!(mm->cfg.flags & MM_CONFIG_NO_SPLIT_ZERO_REMAP))
        for_each_folio_vma(f, mm, wrprotect_one);
    if (f->candidates) {
        synchronize_rcu();
        for_each_folio_vma(f, mm, remap_zero_one);
    }
    f->vma = advised;
    return 0;
}

void split_huge_folios(struct vma *vma, unsigned long start, unsigned long end, bool always)
{
    struct folio_split f = { .vma = vma, .start = start, .end = end, .always = always };
    pgtable_for_each_pmd(&vma->vm_mm->pgt, start, end, split_folio_pmd, &f);
}

/*
 * Linux's thp_vma_allowable_orders(vma, vm_flags, TVA_SMAPS, THP_ORDERS_ALL)
 * != 0, for the PMD size alone (the mTHP sizes under
 * /sys/kernel/mm/transparent_hugepage/hugepages-*kB are "never" by default,
 * and only the 2 MiB one "inherit"s the global mode, which mm->cfg.thp is).
 *
 *  - Only anonymous VMAs (Linux: no vm_ops) can be eligible.  A file needs a
 *    huge_fault hook, READ_ONLY_THP_FOR_FS or DAX; shmem (memfd, shared
 *    anonymous) follows shmem_enabled, "never" by default.  vmarea has none.
 *  - VM_NOHUGEPAGE (MADV_NOHUGEPAGE, and MAP_STACK since 6.7) forbids it.
 *  - "always" allows every VMA, "madvise" those with VM_HUGEPAGE, "never" none.
 *  - Smaps skips the VM_SPECIAL/VM_HUGETLB test khugepaged makes (6.6+), and
 *    eligibility does not need an anon_vma yet.
 *  - Some 2 MiB-aligned 2 MiB range must fit inside the VMA.
 * Not modelled: prctl(PR_SET_THP_DISABLE), which turns every VMA to 0.
 */
bool vma_thp_eligible(const struct vma *vma)
{
    vm_flags_t flags = vma->vm_flags;
    unsigned long haddr;

    if (!vma->vm_mm || vma->vm_file || vma->vm_ops || (flags & VM_MAYSHARE))
        return false;
    if (flags & VM_NOHUGEPAGE)
        return false;
    switch (vma->vm_mm->cfg.thp) {
    case MM_THP_ALWAYS:
        break;
    case MM_THP_MADVISE:
        if (!(flags & VM_HUGEPAGE))
            return false;
        break;
    default:
        return false;
    }
    if (vma->vm_end - vma->vm_start < PMD_SIZE)
        return false;
    haddr = (vma->vm_end - PMD_SIZE) & ~(PMD_SIZE - 1);
    return haddr >= vma->vm_start;
}

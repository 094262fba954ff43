/* SPDX-License-Identifier: MIT */
/*
 * memory.c — the memory behind the VMAs: faults, copy-on-write, access
 * (mm_read/mm_write), mixed-map inserts, and zapping (Linux's mm/memory.c).
 *
 * What a page-table entry holds (pgtable.h has the bits):
 *   - the zero page: PRESENT|SPECIAL, never writable, no reference, not in
 *     Rss (a read fault on private anonymous memory, unless the mm's config
 *     says the host has none);
 *   - an anonymous page: PRESENT, neither SPECIAL nor FILE; the entry holds
 *     one reference and one mapcount; MM_ANONPAGES;
 *   - a file page (shmem, or a page a driver inserted into a mixed map):
 *     PRESENT|FILE, one reference and one mapcount for the entry;
 *     MM_SHMEMPAGES or MM_FILEPAGES by the VMA's kind.
 * PTE_WRITE is set only where a write may go without a fault: an exclusive
 * anonymous page in a VM_WRITE VMA, or a file page in a shared writable one.
 * A write fault on any other present entry copies (copy-on-write) or, for a
 * page nobody else can see, just makes the entry writable.
 *
 * Who may do what (pgtable.h has the table-level rules):
 *   - Faults, accesses and inserts hold the mmap read lock or the VMA's own
 *     read lock.  They install entries with a compare-and-swap from the value
 *     they saw, so two racing faults on one address resolve to one winner.
 *   - Zaps hold at least the mmap read lock and clear entries with an atomic
 *     exchange: whoever takes an entry owns its reference.
 *   - Accesses and copy-on-write copy from or to a page they found in an
 *     entry without taking a reference: they copy inside rcu_read_lock, and a
 *     frame a zap takes goes back to its pool only after a grace period.
 *     So an anonymous page's counts change only with its one mapping, and
 *     a zap may clear them with plain stores (zap_one).
 *   - munmap and mprotect hold the mmap write lock and have write-locked the
 *     VMAs, which waits for every VMA reader; nothing else is inside.
 */
#include "internal.h"
#include "rcu.h"
#include "task_mmu.h"   /* vma_thp_eligible */

#include <string.h>

static inline struct mm *vma_mm_of(const struct vma *vma) { return vma->vm_mm; }

static inline void rss_add(struct mm *mm, int kind, long n)
{
    mm_counter_add(mm, kind, n);
}

/* The changes a walk gathered, one counter at a time. */
static void rss_add_all(struct mm *mm, const long *delta)
{
    for (int i = 0; i < NR_MM_COUNTERS; i++)
        if (delta[i])
            rss_add(mm, i, delta[i]);
}

/* The counter a file page mapped in vma counts in. */
static inline int mm_counter_file(const struct vma *vma)
{
    return vma_is_shmem(vma) ? MM_SHMEMPAGES : MM_FILEPAGES;
}

/*
 * x86's access_error plus the protection-key check, as the result a process
 * sees: a write needs VM_WRITE, an instruction fetch VM_EXEC, a read
 * data_accessible, or for a remote (foreign) access, which protection keys do
 * not apply to, any access bit.
 */
static inline __attribute__((always_inline)) int __vma_access_error(const struct vma *vma,
                                                                   unsigned flags)
{
    vm_flags_t f = vma->vm_flags;
    if (flags & FAULT_FLAG_WRITE)
        return (f & VM_WRITE) ? 0 : -EACCES;
    if (flags & FAULT_FLAG_INSTRUCTION)
        return (f & VM_EXEC) ? 0 : -EACCES;
    if (flags & FAULT_FLAG_REMOTE)
        return (f & VM_ACCESS_FLAGS) ? 0 : -EACCES;
    return data_accessible(f) ? 0 : -EACCES;
}

int vma_access_error(const struct vma *vma, unsigned flags)
{
    return __vma_access_error(vma, flags);
}

/* The flags a new entry for vma gets (write only if asked and allowed). */
static inline pte_t vma_pte_flags(const struct vma *vma, bool write)
{
    pte_t f = PTE_PRESENT | PTE_ACCESSED;
    if (write)
        f |= PTE_WRITE | PTE_DIRTY;
    if (!data_accessible(vma->vm_flags))
        f |= PTE_PROTNONE;
    return f;
}

/* Install new where the entry still holds old; on success the entry's
 * reference and mapcount (taken by the caller) belong to the table. */
static inline bool pte_install(pte_t _Atomic *ptep, pte_t old, pte_t new)
{
    return ptep_cmpxchg(ptep, &old, new);
}

/*
 * Map page at an empty entry, the entry taking a mapcount and the reference
 * the caller holds for it.  If the entry was filled meanwhile (a racing fault
 * or insert), both go back and the answer is false.
 */
static bool map_page(pte_t _Atomic *ptep, struct vm_page *page, pte_t pte)
{
    page_mapcount_inc(page);
    if (pte_install(ptep, 0, pte))
        return true;
    page_mapcount_dec(page);
    page_put(page);
    return false;
}

static int anon_prepare(struct vma *vma, bool mmap_locked)
{
    if (likely(vma_anon_vma(vma)))
        return 0;
    /* Setting the anon_vma may reuse a neighbour's: that needs the tree
     * stable, which only the mmap lock gives (Linux: vmf_anon_prepare). */
    if (!mmap_locked)
        return FAULT_RETRY;
    return anon_vma_prepare(vma);
}

/*
 * The flags of a fresh anonymous page's entry.  A write fault's entry is
 * writable and dirty; so is a read fault's where the zero page is not used
 * and the VMA is writable (do_anonymous_page makes the entry writable and
 * dirty by the VMA's flags, not by the access).
 */
static inline pte_t anon_new_pte_flags(const struct vma *vma, bool write)
{
    return vma_pte_flags(vma, write || (vma->vm_flags & VM_WRITE));
}

/* A private anonymous fault on an empty entry (do_anonymous_page).  Reads
 * see the shared zero page until the first write, unless the host forbids
 * it (mm_forbids_zeropage): then a read allocates as a write does. */
static int do_anonymous_page(struct vma *vma, pte_t _Atomic *ptep, bool write, bool mmap_locked)
{
    struct mm *mm = vma_mm_of(vma);
    if (!write && !(mm->cfg.flags & MM_CONFIG_NO_ZERO_PAGE)) {
        pte_t pte = pte_mk(zero_page(), vma_pte_flags(vma, false) | PTE_SPECIAL);
        pte_install(ptep, 0, pte);
        return 0;
    }
    int err = anon_prepare(vma, mmap_locked);
    if (err)
        return err;
    struct vm_page *page = page_alloc(&mm->pages);
    if (!page)
        return -ENOMEM;
    page_mapcount_set_new(page);
    if (!pte_install(ptep, 0, pte_mk(page, anon_new_pte_flags(vma, write)))) {
        page_mapcount_dec(page);   /* a racing fault won: use its page */
        page_put(page);
        return 0;
    }
    rss_add(mm, MM_ANONPAGES, 1);
    return 0;
}

/*
 * do_fault_around: a read fault on a file mapping also maps the pages around
 * it that are already in the page cache (the config's fault_around_bytes,
 * 64 KiB by default, aligned, clipped to the VMA and to the faulting page's
 * PTE table).  Entries are clean and read-only, as filemap_map_pages makes
 * them.  A window of one page is no fault-around at all.
 */
static void fault_around(struct vma *vma, unsigned long addr, pte_t _Atomic *ptep, unsigned long pgoff)
{
    struct mm *mm = vma_mm_of(vma);
    unsigned long nr = mm->cfg.fault_around_bytes >> PAGE_SHIFT;
    if (nr <= 1)
        return;
    unsigned long pte_off = (addr >> PAGE_SHIFT) & (PGT_ENTRIES - 1);
    unsigned long vma_off = (addr - vma->vm_start) >> PAGE_SHIFT;
    unsigned long from = max(pte_off & ~(nr - 1), pte_off - min(pte_off, vma_off));
    unsigned long to = min(min(from + nr, (unsigned long)PGT_ENTRIES),
                           pte_off + vma_pages(vma) - vma_off);
    long mapped = 0;
    for (unsigned long i = from; i < to; i++) {
        pte_t _Atomic *slot = ptep + ((long)i - (long)pte_off);
        if (!pte_none(ptep_get(slot)))
            continue;
        struct vm_page *page = shmem_find_page(vma->vm_file, pgoff + i - pte_off);
        if (!page)
            continue;
        mapped += map_page(slot, page, pte_mk(page, (vma_pte_flags(vma, false) & ~PTE_ACCESSED) | PTE_FILE));
    }
    if (mapped)
        rss_add(mm, MM_SHMEMPAGES, mapped);
}

/* A file fault on an empty entry: shmem finds or makes its page, a driver's
 * object calls its fault hook, which inserts a page itself. */
static __attribute__((noinline)) int do_file_fault(struct vma *vma, unsigned long addr,
                                                   pte_t _Atomic *ptep, unsigned flags,
                                                   bool mmap_locked)
{
    struct mm *mm = vma_mm_of(vma);
    bool write = flags & FAULT_FLAG_WRITE;
    if (vma_is_shmem(vma)) {
        int err;
        unsigned long pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
        if (!write)
            fault_around(vma, addr, ptep, pgoff);
        if (!pte_none(ptep_get(ptep)))
            return 0;
        struct vm_page *page = shmem_get_page(vma->vm_file, pgoff, &mm->pages, &err);
        if (!page)
            return err;
        if (map_page(ptep, page, pte_mk(page, vma_pte_flags(vma, write) | PTE_FILE)))
            rss_add(mm, MM_SHMEMPAGES, 1);
        return 0;
    }
    (void)mmap_locked;
    if (!vma->vm_ops || !vma->vm_ops->fault)
        return -EIO;   /* SIGBUS, as Linux for a VMA without a fault handler */
    int ret = vma->vm_ops->fault(to_ref(vma), addr, flags);
    if (ret == -EFAULT || ret == -ENOMEM || ret == -EIO)
        return ret;
    /* The hook promised a page: it must have inserted one. */
    if (ret == 0 && !pte_none(ptep_get(ptep)))
        return 0;
    mm_warn_once(mm, WARN_FAULT_HOOK,
                 ret ? "a fault hook returned %d, not 0, -EFAULT, -ENOMEM or -EIO: SIGBUS (-EIO)"
                     : "a fault hook returned %d without inserting a page: SIGBUS (-EIO)", ret);
    return -EIO;
}

/*
 * A write to a present entry that is not writable (do_wp_page): reuse the
 * page if nobody else can see it, else copy it.
 */
static __attribute__((noinline)) int do_wp_page(struct vma *vma, pte_t _Atomic *ptep, pte_t pte,
                                                bool mmap_locked)
{
    struct mm *mm = vma_mm_of(vma);
    struct vm_page *old = pte_page(pte);
    bool zero = pte_special(pte) && is_zero_page(old);
    if (pte_special(pte) && !zero)
        return -EACCES;   /* a raw frame mapping: nothing to copy */

    if (!zero && pte_file(pte) && (vma->vm_flags & VM_SHARED)) {
        /* Shared file memory is written in place. */
        pte_install(ptep, pte, pte | PTE_WRITE | PTE_DIRTY | PTE_ACCESSED);
        return 0;
    }
    if (!zero && !pte_file(pte) && page_mapcount(old) == 1 && page_count(old) == 1) {
        /* Ours alone (wp_can_reuse_anon_folio): no copy. */
        pte_install(ptep, pte, pte | PTE_WRITE | PTE_DIRTY | PTE_ACCESSED);
        return 0;
    }

    int err = anon_prepare(vma, mmap_locked);
    if (err)
        return err;
    struct vm_page *new;
    if (zero) {
        new = page_alloc(&mm->pages);
        if (!new)
            return -ENOMEM;
    } else {
        new = page_alloc_nozero(&mm->pages);
        if (!new)
            return -ENOMEM;
        /* No reference on the old page: a zap may take the entry while we
         * copy, but frees only after a grace period, and then the entry
         * has changed and the install below fails. */
        rcu_read_lock();
        bool same = ptep_get(ptep) == pte;
        if (same)
            memcpy(page_address(new), page_address(old), PAGE_SIZE);
        rcu_read_unlock();
        if (!same) {
            page_put(new);
            return 0;
        }
    }
    page_mapcount_set_new(new);
    if (!pte_install(ptep, pte, pte_mk(new, vma_pte_flags(vma, true)))) {
        page_mapcount_dec(new);
        page_put(new);
        return 0;
    }
    rss_add(mm, MM_ANONPAGES, 1);
    if (!zero) {
        /* The entry's reference and mapcount on the old page are ours now. */
        rss_add(mm, pte_file(pte) ? mm_counter_file(vma) : MM_ANONPAGES, -1);
        page_mapcount_dec(old);
        page_put(old);
    }
    return 0;
}

/* ------------------------------------------------- transparent huge pages */

/*
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
#define FAULT_FALLBACK 2   /* internal: no THP here, fault a 4 KiB page */
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
        return FAULT_FALLBACK;
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

/* 0, -errno, FAULT_RETRY, or FAULT_FALLBACK. */
static int do_huge_pmd_fault(struct vma *vma, unsigned long addr, bool write, bool mmap_locked)
{
    struct mm *mm = vma->vm_mm;
    unsigned long haddr = addr & ~(PMD_SIZE - 1);
    /* Every huge PMD lies inside one VMA (a boundary splits it): where the
     * aligned 2 MiB does not, there is nothing to look up. */
    if (haddr < vma->vm_start || haddr + PMD_SIZE > vma->vm_end)
        return FAULT_FALLBACK;
    pte_t _Atomic *pmdp = pgtable_pmd(&mm->pgt, haddr);
    pte_t pmd = pmdp ? ptep_get(pmdp) : 0;
    /* A huge zero PMD takes a THP on a write whatever the VMA's advice says
     * now (Linux's wp_huge_pmd does not ask again). */
    if (pmd & PMD_HZERO)
        return write ? do_huge_zero_wp(vma, pmdp, pmd, mmap_locked) : FAULT_FALLBACK;
    if (!vma_thp_eligible(vma))   /* the mode and the VMA's advice */
        return FAULT_FALLBACK;
    if (!pmdp && pgtable_pmd_alloc(&mm->pgt, haddr, &pmdp))
        return FAULT_FALLBACK;   /* the 4 KiB path says -ENOMEM if it must */
    if (pmd & PMD_NONE) {
        if (!pgtable_table_empty(pmd_table(pmd))) {
            atomic_fetch_and_explicit(pmdp, ~PMD_NONE, memory_order_relaxed);
            return FAULT_FALLBACK;
        }
    } else if (pmd) {
        return FAULT_FALLBACK;   /* an ordinary table: 4 KiB pages */
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
            return FAULT_FALLBACK;
        return 0;
    }
    int err = anon_prepare(vma, mmap_locked);
    if (err)
        return err;
    if (!alloc_huge_entries(vma, entries))
        return FAULT_FALLBACK;
    unsigned n = PGT_ENTRIES;
    if (pmd) {
        n = fill_table(pmdp, pmd, entries, installed, PMD_HUGE | PMD_LARGE);
        free_huge_entries(entries, installed, PGT_ENTRIES);
    } else if (pgtable_install_table(&mm->pgt, pmdp, 0, entries, PMD_HUGE | PMD_LARGE)) {
        free_huge_entries(entries, NULL, PGT_ENTRIES);
        return FAULT_FALLBACK;
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
        memcpy(page_address(pte_page(entries[i])), page_address(page), PAGE_SIZE);
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
           !(vma->vm_flags & VM_LOCKED) && page_mapcount(pte_page(pte)) == 1;
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

static int split_folio_pmd(void *arg, unsigned long haddr, pte_t _Atomic *pmdp, pte_t pmd)
{
    struct folio_split *f = arg;
    if (!(pmd & PMD_LARGE))
        return 0;
    if (!f->always && f->start <= haddr && haddr + PMD_SIZE <= f->end)
        return 0;   /* covered whole: the folio stays */
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

/* Inline into mm_fault, the common caller: the calls and register saves of
 * one more level were a fifth of an anonymous fault's own instructions. */
static inline __attribute__((always_inline)) int __handle_mm_fault(struct vma *vma, unsigned long addr,
                                                                  unsigned flags, bool mmap_locked)
{
    struct mm *mm = vma_mm_of(vma);
    bool write = flags & FAULT_FLAG_WRITE;
    addr &= PAGE_MASK;

    if (vma->vm_flags & VM_PFNMAP)
        return -EIO;   /* no struct page to fault in; a driver maps frames itself */
    int err = FAULT_FALLBACK;
    if (mm->cfg.thp != MM_THP_NEVER && vma_is_anonymous(vma))
        err = do_huge_pmd_fault(vma, addr, write, mmap_locked);
    if (err != FAULT_FALLBACK)
        goto out;
    pte_t _Atomic *ptep;
    err = pgtable_walk_alloc(&mm->pgt, addr, &ptep);
    if (err)
        return err;
    pte_t pte = ptep_get(ptep);
    if (pte_marker(pte)) {
        err = -EFAULT;   /* a guard region: SIGSEGV, SEGV_MAPERR */
    } else if (pte_none(pte)) {
        if (vma_is_anonymous(vma))
            err = do_anonymous_page(vma, ptep, write, mmap_locked);
        else
            err = do_file_fault(vma, addr, ptep, flags, mmap_locked);
    } else if (write && !pte_write(pte)) {
        err = do_wp_page(vma, ptep, pte, mmap_locked);
    } else {
        /* Another thread got here first, or nothing was missing. */
        ptep_set_flags(ptep, PTE_ACCESSED | (write ? PTE_DIRTY : 0));
        err = 0;
    }
out:
    if (!err)
        mm_counter_add(mm, MM_FAULTS, 1);
    return err;
}

int handle_mm_fault(struct vma *vma, unsigned long addr, unsigned flags, bool mmap_locked)
{
    return __handle_mm_fault(vma, addr, flags, mmap_locked);
}

/*
 * How a fault or access holds its VMA: the VMA's own read lock (the fast
 * path), else the mmap read lock, or the write lock when it had to grow a
 * stack to reach the address.
 */
enum fault_lock { LOCKED_VMA, LOCKED_MMAP_READ, LOCKED_MMAP_WRITE };

static inline bool mmap_held(enum fault_lock l) { return l != LOCKED_VMA; }

static void fault_unlock(struct mm *mm, struct vma *vma, enum fault_lock l)
{
    if (l == LOCKED_VMA) {
        vma_end_read(to_ref(vma));
    } else if (l == LOCKED_MMAP_READ) {
        struct mmap_read_guard g = { .mm = mm };
        (mmap_read_unlock)(&g);
    } else {
        struct mmap_write_guard g = { .read = { .mm = mm } };
        (mmap_write_unlock)(&g);
    }
}

/*
 * lock_mm_and_find_vma: the VMA for addr under the mmap lock, growing a
 * stack down to addr if that is where it points (under the write lock, which
 * the caller then keeps).  NULL: no VMA (SEGV_MAPERR); the lock is held
 * either way and *l says which.
 */
static __attribute__((noinline)) struct vma *lock_mm_and_find_vma(struct mm *mm, unsigned long addr,
                                                                  enum fault_lock *l)
{
    (void)mmap_read_lock(mm);
    *l = LOCKED_MMAP_READ;
    struct vma *vma = vt_find(&mm->mm_mt, addr);
    if (likely(!vma || vma->vm_start <= addr))
        return vma;
    if (!(vma->vm_flags & VM_GROWSDOWN))
        return NULL;
    fault_unlock(mm, vma, *l);
    (void)mmap_write_lock(mm);
    *l = LOCKED_MMAP_WRITE;
    vma = vt_find(&mm->mm_mt, addr);
    if (!vma)
        return NULL;
    if (vma->vm_start <= addr)
        return vma;
    return expand_downwards(vma, addr) ? NULL : vma;
}

/* The VMA for addr with its read lock, else as lock_mm_and_find_vma. */
static struct vma *fault_lock_vma(struct mm *mm, unsigned long addr, enum fault_lock *l)
{
    const struct vma_ref *ref = lock_vma_under_rcu_hinted(mm, addr);
    if (likely(ref)) {
        *l = LOCKED_VMA;
        return to_vma(ref);
    }
    return lock_mm_and_find_vma(mm, addr, l);
}

/* A per-VMA-locked fault asked for the mmap lock: drop the VMA, take the
 * lock, find the VMA again (it may have changed meanwhile). */
static __attribute__((noinline)) struct vma *fault_relock(struct mm *mm, struct vma *vma,
                                                          unsigned long addr, enum fault_lock *l)
{
    vma_end_read(to_ref(vma));
    atomic_fetch_add_explicit(&mm->stat_lock_fallbacks, 1, memory_order_relaxed);
    return lock_mm_and_find_vma(mm, addr, l);
}

int mm_fault(struct mm *mm, unsigned long addr, unsigned flags)
{
    enum fault_lock l;
    struct vma *vma = fault_lock_vma(mm, addr, &l);
    int err;
    for (;;) {
        err = vma ? __vma_access_error(vma, flags) : -EFAULT;
        if (err)
            break;
        err = __handle_mm_fault(vma, addr, flags, mmap_held(l));
        if (err != FAULT_RETRY)
            break;
        vma = fault_relock(mm, vma, addr, &l);
    }
    if (!err)
        mm_validate_fault(vma, addr);
    fault_unlock(mm, vma, l);
    return err;
}

/* ------------------------------------------------------------ access */

/*
 * Two guest threads storing to and loading from one page race by nature, as
 * two threads of a process do: the copies are the guest's accesses, not the
 * library's, so ThreadSanitizer is told to ignore them, as KCSAN leaves the
 * kernel's user copies alone.  (So it does not see a race on the caller's
 * buffer inside mm_read or mm_write either.)  Nothing in other builds.
 */
#ifdef VM_RCU_TSAN
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
#define GUEST_COPY_BEGIN() \
    (AnnotateIgnoreReadsBegin(__FILE__, __LINE__), AnnotateIgnoreWritesBegin(__FILE__, __LINE__))
#define GUEST_COPY_END() \
    (AnnotateIgnoreWritesEnd(__FILE__, __LINE__), AnnotateIgnoreReadsEnd(__FILE__, __LINE__))
#else
#define GUEST_COPY_BEGIN() ((void)0)
#define GUEST_COPY_END() ((void)0)
#endif

/* Loads and stores of a machine word are the common case (an emulator's
 * guest accesses): copy those inline rather than through a memcpy call. */
static inline void copy_bytes(char *dst, const char *src, size_t n)
{
    GUEST_COPY_BEGIN();
    switch (n) {
    case 1: __builtin_memcpy(dst, src, 1); break;
    case 2: __builtin_memcpy(dst, src, 2); break;
    case 4: __builtin_memcpy(dst, src, 4); break;
    case 8: __builtin_memcpy(dst, src, 8); break;
    default: memcpy(dst, src, n); break;
    }
    GUEST_COPY_END();
}

/*
 * The fast path of an access: no lock, only rcu_read_lock, which keeps the
 * tables walked and the frame copied from going back to their pools (both
 * are freed through RCU, page.c and pgtable.c).  It succeeds when the entry
 * allows the access as it is; anything else (no entry, PTE_PROTNONE, a write
 * to an entry without PTE_WRITE) goes to the locked path, which faults.
 *
 * A write makes the entry dirty (and young) before it stores, with a
 * compare-and-swap from the value it checked: if a zap or MADV_FREE changed
 * the entry meanwhile, the write does not happen here.  So a page reclaim
 * sees clean can be dropped: no write went into it unseen.  A store may still
 * land in a page a concurrent munmap or DONTNEED has just taken, before its
 * grace period: that write was concurrent with the unmap, and is lost as if
 * it had come first.  Rights taken away (mprotect) wait for a grace period.
 */
static inline __attribute__((always_inline)) bool access_fast(struct mm *mm, unsigned long addr,
                                                              char *buf, size_t n, bool write)
{
    bool done = false;
    rcu_read_lock();
    pte_t _Atomic *ptep = pgtable_walk(&mm->pgt, addr);
    pte_t pte = ptep ? ptep_get(ptep) : 0;
    if (!pte_present(pte) || (pte & PTE_PROTNONE))
        goto out;
    char *frame = (char *)page_address(pte_page(pte)) + offset_in_page(addr);
    if (write) {
        if (!pte_write(pte))
            goto out;
        pte_t want = pte | PTE_DIRTY | PTE_ACCESSED;
        if (want != pte && !ptep_cmpxchg(ptep, &pte, want))
            goto out;
        copy_bytes(frame, buf, n);
    } else {
        if (!pte_young(pte) && !ptep_cmpxchg(ptep, &pte, pte | PTE_ACCESSED))
            goto out;
        /* The zero page too: its frame is real and all zero. */
        copy_bytes(buf, frame, n);
    }
    done = true;
out:
    vm_rcu_reader_done();
    rcu_read_unlock();
    return done;
}

/*
 * Copy between buf and [addr, addr + len) as the process's own loads and
 * stores would: fault as needed, stop at the first page the access may not
 * touch.  Returns the bytes done, or -errno if none were.  Past the task size
 * there is no VMA, so the walk stops there with -EFAULT and never wraps.
 */
static ssize_t access_mm(struct mm *mm, unsigned long addr, void *buf, size_t len, bool write)
{
    unsigned flags = write ? FAULT_FLAG_WRITE | FAULT_FLAG_USER : FAULT_FLAG_USER;
    char *p = buf;
    size_t done = 0;
    int err = 0, tries = 0;
    while (done < len) {
        size_t n = min(PAGE_SIZE - offset_in_page(addr), len - done);
        if (addr >= mm->cfg.task_size) {
            err = -EFAULT;
            break;
        }
        if (access_fast(mm, addr, p + done, n, write)) {
            addr += n;
            done += n;
            tries = 0;
            continue;
        }
        /* A fault that succeeds makes the entry fit the access, so only a
         * racing zap or mprotect can send us round again, and not forever:
         * a fault and the fast path that disagree are a bug, not a hang. */
        if (++tries > 1000) {
            VM_BUG_ON(1);
            err = -EFAULT;
            break;
        }
        err = mm_fault(mm, addr, flags);   /* the slow path; then try again */
        if (err)
            break;
    }
    return done ? (ssize_t)done : err;
}

/* Most accesses fit in one page that is mapped as they need: that case is
 * tried first, without access_mm's loop (an emulator's loads and stores). */
static inline __attribute__((always_inline)) bool access_one_page(struct mm *mm, unsigned long addr,
                                                                  void *buf, size_t len, bool write)
{
    return len - 1 < PAGE_SIZE - offset_in_page(addr) && addr < mm->cfg.task_size &&
           access_fast(mm, addr, buf, len, write);
}

ssize_t mm_read(struct mm *mm, unsigned long addr, void *buf, size_t len)
{
    if (likely(access_one_page(mm, addr, buf, len, false)))
        return (ssize_t)len;
    return access_mm(mm, addr, buf, len, false);
}

ssize_t mm_write(struct mm *mm, unsigned long addr, const void *buf, size_t len)
{
    if (likely(access_one_page(mm, addr, (void *)(uintptr_t)buf, len, true)))
        return (ssize_t)len;
    return access_mm(mm, addr, (void *)(uintptr_t)buf, len, true);
}

/* ------------------------------------------------------------ mixed maps */

/*
 * vm_insert_page: map a driver's page.  The entry takes a reference of its
 * own; the driver keeps its reference, so a zap leaves the page alive.
 */
int (vma_insert_page)(const struct vma_mixedmap *mixed, unsigned long addr, struct vm_page *page)
{
    struct vma *vma = to_vma((const struct vma_ref *)mixed);
    vma_assert_readable(vma);
    if (addr < vma->vm_start || addr >= vma->vm_end)
        return -EFAULT;
    if (!page || is_zero_page(page) || page_count(page) == 0)
        return -EINVAL;
    struct mm *mm = vma->vm_mm;
    addr &= PAGE_MASK;
    pte_t _Atomic *ptep;
    int err = pgtable_walk_alloc(&mm->pgt, addr, &ptep);
    if (err)
        return err;
    bool write = (vma->vm_flags & (VM_SHARED | VM_WRITE)) == (VM_SHARED | VM_WRITE);
    pte_t pte = pte_mk(page, (vma_pte_flags(vma, false) | PTE_FILE) | (write ? PTE_WRITE : 0));
    page_get(page);
    if (!map_page(ptep, page, pte))
        return -EBUSY;
    rss_add(mm, MM_FILEPAGES, 1);
    return 0;
}

/* ------------------------------------------------------------------ zap */

/* Counters as scalars, not an array indexed by the file kind: the per-page
 * loop keeps them in registers (an indexed array lived on the stack, and
 * every page paid a load and a store through it). */
struct zap_ctx {
    struct page_batch batch;
    long anon, file;         /* Rss changes: anonymous pages, file pages of the VMA's kind */
};

static inline __attribute__((always_inline)) void zap_one(void *arg, unsigned long addr, pte_t old)
{
    struct zap_ctx *z = arg;
    (void)addr;
    if (pte_special(old))
        return;   /* the zero page: no reference, not in Rss */
    struct vm_page *page = pte_page(old);
    if (!pte_file(old)) {
        z->anon--;
        /* Nobody else counts on an anonymous page mapped once (see the
         * top of the file): no locked instruction for its counts. */
        if (page_mapcount(page) == 1 && page_count(page) == 1) {
            page_batch_free_exclusive(&z->batch, page);
            return;
        }
    } else {
        z->file--;
        /* The entry's dirty bit passes to the page, so the data is not lost. */
        if (pte_dirty(old))
            page_set_dirty(page);
    }
    page_mapcount_dec(page);
    page_batch_put(&z->batch, page);
}

/* One PTE table's part of a zap, with zap_one inlined into the loop.  The
 * context is copied in and out so that its counters and the batch's list
 * ends can live in registers over the loop. */
static unsigned long zap_pte_run(void *arg, pte_t _Atomic *t, unsigned long addr, unsigned long end)
{
    struct zap_ctx z = *(struct zap_ctx *)arg;
    unsigned long n = pte_clear_run(t, addr, end, true, zap_one, &z);
    *(struct zap_ctx *)arg = z;
    return n;
}

static void __zap_vma_range(struct vma *vma, unsigned long start, unsigned long end, bool exiting)
{
    struct mm *mm = vma->vm_mm;
    struct zap_ctx z = { .anon = 0 };
    page_batch_init(&z.batch);
    unsigned long pages = pgtable_clear_range_run(&mm->pgt, start, end, zap_pte_run, &z);
    /* Lock-free accesses may still be copying: the frames wait for a grace
     * period, unless the last user is gone (then no access can be). */
    page_batch_flush(&z.batch, exiting);
    if (z.anon)
        rss_add(mm, MM_ANONPAGES, z.anon);
    if (z.file)
        rss_add(mm, mm_counter_file(vma), z.file);
    if (pages)
        mm_counter_add(mm, MM_ZAPPED, (long)pages);
}

void zap_vma_range(struct vma *vma, unsigned long start, unsigned long end)
{
    __zap_vma_range(vma, start, end, false);
}

void zap_vma_exit(struct vma *vma)
{
    __zap_vma_range(vma, vma->vm_start, vma->vm_end, true);
}

void vma_zap_page_range_single(const struct vma_ref *ref, unsigned long address, unsigned long size)
{
    struct vma *vma = to_vma(ref);
    vma_assert_readable(vma);
    unsigned long end;
    if (__builtin_add_overflow(address, size, &end) || address < vma->vm_start ||
        end > vma->vm_end) {
        mm_warn_once(vma->vm_mm, WARN_ZAP_RANGE,
                     "vma_zap_page_range_single: range %#lx+%#lx is not inside the VMA %#lx-%#lx",
                     address, size, vma->vm_start, vma->vm_end);
        return;
    }
    /* Pages the range touches go whole, as the kernel's page-table walk
     * clears every entry whose page overlaps it. */
    unsigned long start = address & PAGE_MASK;
    end = PAGE_ALIGN(end);
    if (start < end)
        zap_vma_range(vma, start, end);
}

void free_pgtables(struct mm *mm, unsigned long start, unsigned long end,
                   unsigned long floor, unsigned long ceiling)
{
    mmap_assert_write_locked(mm);
    pgtable_free_range(&mm->pgt, start, end, floor, ceiling, NULL, NULL);
}

/* ------------------------------------------------------------ MADV_FREE */

static int free_one(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    (void)arg;
    (void)addr;
    /* Shared pages (after fork) and the zero page stay as they are. */
    if (pte_special(pte) || pte_file(pte) || page_mapcount(pte_page(pte)) != 1)
        return 0;
    pte_t want = (pte & ~(PTE_DIRTY | PTE_ACCESSED)) | PTE_LAZYFREE;
    /* A racing write sets DIRTY again, and then the page is kept: that is
     * the MADV_FREE contract. */
    ptep_cmpxchg(ptep, &pte, want);
    return 0;
}

void madvise_free_range(struct vma *vma, unsigned long start, unsigned long end)
{
    pgtable_for_each(&vma->vm_mm->pgt, start, end, free_one, NULL);
}

/* ------------------------------------------------------------ guard regions */

/*
 * A guard region's pages hold a marker: an access faults as if nothing were
 * mapped (SIGSEGV, SEGV_MAPERR), zaps (MADV_DONTNEED, vma_zap_page_range_single)
 * leave it, munmap and MADV_GUARD_REMOVE take it away.  Installing over
 * mapped pages zaps them first, as Linux's retry loop ends up doing.
 */
int guard_install_range(struct vma *vma, unsigned long start, unsigned long end)
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

void guard_remove_range(struct vma *vma, unsigned long start, unsigned long end)
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

void madvise_cold_range(struct vma *vma, unsigned long start, unsigned long end)
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
    bool file = pte_file(pte);
    if (!file && (!(pte & PTE_LAZYFREE) || pte_dirty(pte)))
        return 0;
    if (file && !vma_is_shmem(c->vma))
        return 0;
    if (!ptep_cmpxchg(ptep, &pte, 0))
        return 0;
    page_mapcount_dec(page);
    if (file) {
        c->rss[MM_SHMEMPAGES]--;
        if (pte_dirty(pte))
            page_set_dirty(page);
        unsigned long pgoff = c->vma->vm_pgoff + ((addr - c->vma->vm_start) >> PAGE_SHIFT);
        shmem_evict(c->vma->vm_file, pgoff, page);
    } else {
        c->rss[MM_ANONPAGES]--;
    }
    page_batch_put(&c->batch, page);
    return 0;
}

void madvise_pageout_range(struct vma *vma, unsigned long start, unsigned long end)
{
    struct pageout_ctx c = { .vma = vma };
    page_batch_init(&c.batch);
    pgtable_for_each(&vma->vm_mm->pgt, start, end, pageout_one, &c);
    page_batch_flush(&c.batch, false);
    rss_add_all(vma->vm_mm, c.rss);
}

/* ------------------------------------------------------------ mprotect */

/*
 * Entries keep their pages; what changes is what an access may do without a
 * fault.  Losing VM_WRITE takes PTE_WRITE away (a later mprotect back to
 * writable leaves it off: the next write faults and reuses the page, as
 * Linux's does unless it can prove the page exclusive).  When an entry loses
 * a right, lock-free accesses that read it before the change may still be
 * copying: mprotect returns only after they are done, as Linux's waits for
 * its TLB flush.
 */
void change_protection(struct vma *vma, unsigned long start, unsigned long end,
                       vm_flags_t old_flags, vm_flags_t new_flags)
{
    if (!pgtable_bytes(&vma->vm_mm->pgt))
        return;   /* no tables, no entries to change */
    pte_t clear = 0, set = 0;
    if (!(new_flags & VM_WRITE))
        clear |= PTE_WRITE;
    if (data_accessible(new_flags))
        clear |= PTE_PROTNONE;
    else
        set |= PTE_PROTNONE;
    unsigned long changed = pgtable_change_prot(&vma->vm_mm->pgt, start, end, clear, set);
    /* old_flags: the range's, not vma's, which a merge may already have
     * given the new ones. */
    bool lost_write = (old_flags & VM_WRITE) && !(new_flags & VM_WRITE);
    bool lost_access = data_accessible(old_flags) && !data_accessible(new_flags);
    if (changed && (lost_write || lost_access))
        synchronize_rcu();
}

/* SPDX-License-Identifier: MIT */
/*
 * memory.c — the memory behind the VMAs: faults, copy-on-write, mixed-map
 * inserts, and zapping (Linux's mm/memory.c).  Huge pages are in
 * huge_memory.c, the fault and access entry points in fault.c.
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
 * anonymous page (no PG_anon_shared) in a VM_WRITE VMA, or a file page in a
 * shared writable one.
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
#include "memory.h"
#include "huge_memory.h"
#include "filemap.h"
#include "rcu.h"

#include <string.h>

static inline struct mm *vma_mm_of(const struct vma *vma) { return vma->vm_mm; }

int vma_access_error(const struct vma *vma, unsigned flags)
{
    return __vma_access_error(vma, flags);
}

bool map_page(pte_t _Atomic *ptep, struct vm_page *page, pte_t pte)
{
    page_mapcount_inc(page);
    if (pte_install(ptep, 0, pte))
        return true;
    page_mapcount_dec(page);
    page_put(page);
    return false;
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
 * 64 KiB by default, aligned, clipped to the VMA, to the faulting page's
 * PTE table and to the end of the file).  Entries are clean, old and
 * read-only where the VMA takes write faults, as filemap_map_pages makes
 * them.  A window of one page is no fault-around at all.
 */
static void fault_around(struct vma *vma, unsigned long addr, pte_t _Atomic *ptep, unsigned long pgoff,
                         bool had_table)
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
    /* Only the empty entries' pages are looked up. */
    while (from < to && !pte_none(ptep_get(ptep + ((long)from - (long)pte_off))))
        from++;
    while (to > from && !pte_none(ptep_get(ptep + ((long)to - 1 - (long)pte_off))))
        to--;
    if (from >= to)
        return;
    struct vm_page *pages[PGT_ENTRIES];
    bool no_table = !had_table && !(mm->cfg.flags & MM_CONFIG_EOF_FAULT_AROUND);
    if (!filemap_find_pages(vma->vm_file, pgoff + from - pte_off, to - from, pages, no_table))
        return;
    pte_t flags = file_pte_flags(vma, false) & ~PTE_ACCESSED;
    long mapped = 0;
    for (unsigned long i = from; i < to; i++) {
        struct vm_page *page = pages[i - from];
        if (!page)
            continue;
        pte_t _Atomic *slot = ptep + ((long)i - (long)pte_off);
        if (!pte_none(ptep_get(slot))) {
            page_put(page);
        } else if (map_page(slot, page, pte_mk(page, flags))) {
            mapped++;
            mlock_vma_page(vma, page);
        }
    }
    if (mapped)
        rss_add(mm, mm_counter_file(vma), mapped);
}

/*
 * A write fault on an empty entry of a private file mapping (do_cow_fault):
 * the process gets an anonymous copy of the file's page; the file's page is
 * never mapped writable there.  The VMA gets its anon_vma first, as Linux's
 * does, even when the file then has no page there (SIGBUS past the end).
 */
static int do_cow_fault(struct vma *vma, pte_t _Atomic *ptep, unsigned long pgoff, bool mmap_locked)
{
    struct mm *mm = vma_mm_of(vma);
    int err = anon_prepare(vma, mmap_locked);
    if (err)
        return err;
    struct vm_page *page = filemap_get_page(vma->vm_file, pgoff, &mm->pages, NULL);
    if (IS_ERR(page))
        return (int)PTR_ERR(page);
    struct vm_page *new = page_alloc_nozero(&mm->pages);
    if (new)
        copy_frame(page_address(new), page_address(page));
    page_put(page);
    if (!new)
        return -ENOMEM;
    page_mapcount_set_new(new);
    if (!pte_install(ptep, 0, pte_mk(new, vma_pte_flags(vma, true)))) {
        page_mapcount_dec(new);   /* a racing fault won */
        page_put(new);
        return 0;
    }
    rss_add(mm, MM_ANONPAGES, 1);
    return 0;
}

/* A fault on a page-cache object's empty entry, under its invalidate
 * lock: the page cache finds or brings in the page. */
static int do_cache_fault(struct vma *vma, unsigned long addr, pte_t _Atomic *ptep, bool write,
                          bool mmap_locked, bool had_table)
{
    struct mm *mm = vma_mm_of(vma);
    unsigned long pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
    if (!write)
        fault_around(vma, addr, ptep, pgoff, had_table);
    if (!pte_none(ptep_get(ptep)))
        return 0;
    if (write && !(vma->vm_flags & VM_SHARED))
        return do_cow_fault(vma, ptep, pgoff, mmap_locked);
    bool read;
    struct vm_page *page = filemap_get_page(vma->vm_file, pgoff, &mm->pages, &read);
    if (IS_ERR(page))
        return (int)PTR_ERR(page);
    if (read && !write) {
        /* filemap_fault read the page with the mmap lock dropped and
         * asks for a retry, whose fault-around maps it and what the
         * read brought in around it. */
        page_put(page);
        fault_around(vma, addr, ptep, pgoff, had_table);
        if (!pte_none(ptep_get(ptep)))
            return 0;
        if (IS_ERR(page = filemap_get_page(vma->vm_file, pgoff, &mm->pages, NULL)))
            return (int)PTR_ERR(page);
    }
    if (write)
        page_set_dirty(page);   /* fault_dirty_shared_page: every mapping sees it dirty */
    if (map_page(ptep, page, pte_mk(page, file_pte_flags(vma, write)))) {
        rss_add(mm, mm_counter_file(vma), 1);
        mlock_vma_page(vma, page);
    }
    return 0;
}

/* A file fault on an empty entry: a page-cache object's (above), or a
 * driver's object calls its fault hook, which inserts a page itself. */
static __attribute__((noinline)) int do_file_fault(struct vma *vma, unsigned long addr,
                                                   pte_t _Atomic *ptep, unsigned flags,
                                                   bool mmap_locked, bool had_table)
{
    struct mm *mm = vma_mm_of(vma);
    if (vma_has_cache(vma)) {
        struct vm_file *m = vm_file_mapping(vma->vm_file);
        rwsem_down_read(&m->invalidate_lock);
        int err = do_cache_fault(vma, addr, ptep, flags & FAULT_FLAG_WRITE, mmap_locked, had_table);
        rwsem_up_read(&m->invalidate_lock);
        return err;
    }
    (void)mmap_locked;
    if (vma_is_special_mapping(vma)) {
        /* special_mapping_fault: the page at the VMA's offset, SIGBUS where
         * the mapping has none; a racing fault that mapped it first has
         * done the work. */
        const struct special_mapping *sm = vma->vm_private_data;
        unsigned long idx = ((addr - vma->vm_start) >> PAGE_SHIFT) + vma->vm_pgoff;
        if (idx >= sm->npages || !sm->pages[idx])
            return -EIO;
        int err = insert_page(vma, addr, sm->pages[idx], vma->vm_flags & VM_PFNMAP);
        return err == -EBUSY ? 0 : err;
    }
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
static __attribute__((noinline)) int do_wp_page(struct vma *vma, unsigned long addr, pte_t _Atomic *ptep,
                                                pte_t pte, bool mmap_locked)
{
    struct mm *mm = vma_mm_of(vma);
    struct vm_page *old = pte_page(pte);
    bool zero = pte_special(pte) && is_zero_page(old);
    if (pte_special(pte) && !zero)
        return -EACCES;   /* a raw frame mapping: nothing to copy */

    if (!zero && pte_file(pte) && (vma->vm_flags & VM_SHARED)) {
        /* Shared file memory is written in place (wp_page_shared). */
        page_set_dirty(old);
        pte_install(ptep, pte, pte | PTE_WRITE | PTE_DIRTY | PTE_ACCESSED);
        return 0;
    }
    if (!zero && !pte_file(pte) && page_mapcount(old) == 1 && page_count(old) == 1) {
        /* Ours alone (wp_can_reuse_anon_folio): no copy, and exclusive
         * again. */
        page_clear_flag(old, PG_anon_shared);
        pte_install(ptep, pte, pte | PTE_WRITE | PTE_DIRTY | PTE_ACCESSED);
        return 0;
    }

    int err = anon_prepare(vma, mmap_locked);
    if (err)
        return err;
    /* A huge page shared with a forked mm is split where one side copies
     * a page of it (do_huge_pmd_wp_page): the PMD no longer maps it whole. */
    pte_t _Atomic *pmdp = pgtable_pmd(&mm->pgt, addr);
    if (pmdp && (ptep_get(pmdp) & PMD_HUGE))
        atomic_fetch_and_explicit(pmdp, ~PMD_HUGE, memory_order_relaxed);
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
            copy_frame(page_address(new), page_address(old));
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

/* do_anonymous_page, called once here, is inlined: the calls and register
 * saves of one more level were a fifth of an anonymous fault's own
 * instructions.  The rarer handlers stay out of line. */
int handle_mm_fault(struct vma *vma, unsigned long addr, unsigned flags, bool mmap_locked)
{
    struct mm *mm = vma_mm_of(vma);
    bool write = flags & FAULT_FLAG_WRITE;
    addr &= PAGE_MASK;

    if ((vma->vm_flags & VM_PFNMAP) && !vma_is_special_mapping(vma))
        return -EIO;   /* no struct page to fault in; a driver maps frames itself */
    int err = -EFAULT_FALLBACK;
    if (mm->cfg.thp != MM_THP_NEVER && vma_is_anonymous(vma))
        err = do_huge_pmd_fault(vma, addr, write, mmap_locked);
    if (err != -EFAULT_FALLBACK)
        goto out;
    /* Whether the fault found a page table matters to fault-around. */
    bool had_table = true;
    if (!vma_is_anonymous(vma)) {
        pte_t _Atomic *pmdp = pgtable_pmd(&mm->pgt, addr);
        pte_t pmd = pmdp ? ptep_get(pmdp) : 0;
        had_table = pmd && !(pmd & PMD_NONE);
    }
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
            err = do_file_fault(vma, addr, ptep, flags, mmap_locked, had_table);
    } else if (write && !pte_write(pte)) {
        err = do_wp_page(vma, addr, ptep, pte, mmap_locked);
    } else {
        /* Another thread got here first, or nothing was missing. */
        ptep_set_flags(ptep, PTE_ACCESSED | (write ? PTE_DIRTY : 0));
        err = 0;
    }
    /* A file fault that mapped nothing leaves no page table on Linux (it
     * is allocated with the first entry): the empty one made above stands
     * for none, which the next fault's fault-around sees. */
    if (unlikely(!had_table && err)) {
        pte_t _Atomic *pmdp = pgtable_pmd(&mm->pgt, addr);
        pte_t pmd = pmdp ? ptep_get(pmdp) : 0;
        if (pmd && !(pmd & PMD_FLAGS) && pgtable_table_empty(pmd_table(pmd)))
            atomic_compare_exchange_strong_explicit(pmdp, &pmd, pmd | PMD_NONE, memory_order_relaxed,
                                                    memory_order_relaxed);
    }
out:
    if (!err)
        mm_counter_add(mm, MM_FAULTS, 1);
    return err;
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
    return insert_page(vma, addr, page, false);
}

int insert_page(struct vma *vma, unsigned long addr, struct vm_page *page, bool raw)
{
    struct mm *mm = vma->vm_mm;
    addr &= PAGE_MASK;
    pte_t _Atomic *ptep;
    int err = pgtable_walk_alloc(&mm->pgt, addr, &ptep);
    if (err)
        return err;
    bool write = (vma->vm_flags & (VM_SHARED | VM_WRITE)) == (VM_SHARED | VM_WRITE);
    pte_t flags = vma_pte_flags(vma, false) | (write ? PTE_WRITE : 0);
    if (raw) {
        /* A frame, not a page anybody counts (remap_pfn_range's entries):
         * no reference, no Rss, and a zap or fork passes it by. */
        pte_t none = 0;
        return ptep_cmpxchg(ptep, &none, pte_mk(page, flags | PTE_SPECIAL)) ? 0 : -EBUSY;
    }
    page_get(page);
    if (!map_page(ptep, page, pte_mk(page, flags | PTE_FILE)))
        return -EBUSY;
    rss_add(mm, MM_FILEPAGES, 1);
    return 0;
}

/* A driver's page pins its mm (struct and pool) until it is freed, so a
 * driver may keep pages past the last mmdrop of the mm it took them from. */
struct vm_page *vm_page_alloc(struct mm *mm)
{
    return page_alloc_pinned(&mm->pages);
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

/* The end of a zap: the frames go back, and the counters take what was
 * cleared. */
static void zap_finish(struct vma *vma, struct zap_ctx *z, unsigned long pages, bool exiting)
{
    struct mm *mm = vma->vm_mm;
    /* Lock-free accesses may still be copying: the frames wait for a grace
     * period, unless the last user is gone and they are its own (a frame
     * of the pool of the mm it was forked from may be read there). */
    page_batch_flush(&z->batch, exiting && z->batch.pool == &mm->pages);
    if (z->anon)
        rss_add(mm, MM_ANONPAGES, z->anon);
    if (z->file)
        rss_add(mm, mm_counter_file(vma), z->file);
    if (pages)
        mm_counter_add(mm, MM_ZAPPED, (long)pages);
}

static void __zap_vma_range(struct vma *vma, unsigned long start, unsigned long end, bool exiting)
{
    munlock_vma_range(vma, start, end, false);
    struct zap_ctx z = { .anon = 0 };
    page_batch_init(&z.batch);
    unsigned long pages = pgtable_clear_range_run(&vma->vm_mm->pgt, start, end, zap_pte_run, &z);
    zap_finish(vma, &z, pages, exiting);
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

/* unmap_mapping_range without even_cows: a private mapping keeps the
 * anonymous copies it made, only the file's own pages go. */
static int zap_file_one(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    if (!pte_present(pte) || !pte_file(pte) || !ptep_cmpxchg(ptep, &pte, 0))
        return 0;
    zap_one(arg, addr, pte);
    return 0;
}

void unmap_mapping_range(struct vm_file *f, unsigned long first, unsigned long n, bool even_cows)
{
    f = vm_file_mapping(f);
    unsigned long last = n > ULONG_MAX - first ? ULONG_MAX : first + n;
    pthread_mutex_lock(&f->rmap_lock);
    for (unsigned long i = 0; i < f->rmap_n; i++) {
        struct vma *vma = f->rmap[i];
        struct mm *mm = vma->vm_mm;
        unsigned long vfirst = vma->vm_pgoff, vlast = vfirst + vma_pages(vma);
        unsigned long a = max(first, vfirst), b = min(last, vlast);
        if (a >= b || !pgtable_bytes(&mm->pgt))
            continue;
        unsigned long start = vma->vm_start + ((a - vfirst) << PAGE_SHIFT);
        unsigned long end = vma->vm_start + ((b - vfirst) << PAGE_SHIFT);
        if (even_cows || (vma->vm_flags & VM_SHARED)) {
            zap_vma_range(vma, start, end);
            continue;
        }
        munlock_vma_range(vma, start, end, true);
        struct zap_ctx z = { .anon = 0 };
        page_batch_init(&z.batch);
        pgtable_for_each(&mm->pgt, start, end, zap_file_one, &z);
        zap_finish(vma, &z, (unsigned long)-z.file, false);   /* only file pages went */
    }
    pthread_mutex_unlock(&f->rmap_lock);
}

void free_pgtables(struct mm *mm, unsigned long start, unsigned long end,
                   unsigned long floor, unsigned long ceiling)
{
    mmap_assert_write_locked(mm);
    pgtable_free_range(&mm->pgt, start, end, floor, ceiling, NULL, NULL);
}


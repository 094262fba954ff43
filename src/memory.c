/*
 * memory.c — the memory behind the VMAs: faults, copy-on-write, access
 * (mm_read/mm_write), mixed-map inserts, and zapping (Linux's mm/memory.c).
 *
 * What a page-table entry holds (pgtable.h has the bits):
 *   - the zero page: PRESENT|SPECIAL, never writable, no reference, not in
 *     Rss (a read fault on private anonymous memory);
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
 *   - An accessor that copies to or from a page it found in an entry takes a
 *     reference first and re-reads the entry (page_try_get): a concurrent zap
 *     could otherwise free the frame under the copy.
 *   - munmap and mprotect hold the mmap write lock and have write-locked the
 *     VMAs, which waits for every VMA reader; nothing else is inside.
 */
#include "internal.h"

#include <string.h>

static inline struct mm *vma_mm_of(const struct vma *vma) { return vma->vm_mm; }

static inline void rss_add(struct mm *mm, int kind, long n)
{
    atomic_fetch_add_explicit(&mm->rss_stat[kind], n, memory_order_relaxed);
}

/* The counter a file page mapped in vma counts in. */
static inline int mm_counter_file(const struct vma *vma)
{
    return vma_is_shmem(vma) ? MM_SHMEMPAGES : MM_FILEPAGES;
}

/*
 * x86's access_error plus the protection-key check, as the result a process
 * sees: a write needs VM_WRITE, an instruction fetch VM_EXEC, a read any
 * access bit, except that the execute-only key forbids data reads.
 */
int vma_access_error(const struct vma *vma, unsigned flags)
{
    vm_flags_t f = vma->vm_flags;
    if (flags & FAULT_FLAG_WRITE)
        return (f & VM_WRITE) ? 0 : -EACCES;
    if (flags & FAULT_FLAG_INSTRUCTION)
        return (f & VM_EXEC) ? 0 : -EACCES;
    if (!(f & VM_ACCESS_FLAGS))
        return -EACCES;
    /* Protection keys do not apply to remote (foreign) access. */
    if (!(flags & FAULT_FLAG_REMOTE) && !(f & (VM_READ | VM_WRITE)) &&
        vma_pkey_of(f) == EXECUTE_ONLY_PKEY)
        return -EACCES;
    return 0;
}

/* The flags a new entry for vma gets (write only if asked and allowed). */
static inline pte_t vma_pte_flags(const struct vma *vma, bool write)
{
    pte_t f = PTE_PRESENT | PTE_ACCESSED;
    if (write)
        f |= PTE_WRITE | PTE_DIRTY;
    if (!(vma->vm_flags & VM_ACCESS_FLAGS))
        f |= PTE_PROTNONE;
    return f;
}

/* Install new where the entry still holds old; on success the entry's
 * reference and mapcount (taken by the caller) belong to the table. */
static inline bool pte_install(pte_t _Atomic *ptep, pte_t old, pte_t new)
{
    return ptep_cmpxchg(ptep, &old, new);
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

/* A private anonymous fault on an empty entry (do_anonymous_page). */
static int do_anonymous_page(struct vma *vma, pte_t _Atomic *ptep, bool write, bool mmap_locked)
{
    struct mm *mm = vma_mm_of(vma);
    if (!write) {
        /* Reads see the shared zero page until the first write. */
        pte_t pte = pte_mk(zero_page(), PTE_PRESENT | PTE_SPECIAL | PTE_ACCESSED |
                                        (vma->vm_flags & VM_ACCESS_FLAGS ? 0 : PTE_PROTNONE));
        pte_install(ptep, 0, pte);
        return 0;
    }
    int err = anon_prepare(vma, mmap_locked);
    if (err)
        return err;
    struct vm_page *page = page_alloc(&mm->pages);
    if (!page)
        return -ENOMEM;
    page_mapcount_inc(page);
    if (!pte_install(ptep, 0, pte_mk(page, vma_pte_flags(vma, true)))) {
        page_mapcount_dec(page);   /* a racing fault won: use its page */
        page_put(page);
        return 0;
    }
    rss_add(mm, MM_ANONPAGES, 1);
    return 0;
}

/* A file fault on an empty entry: shmem finds or makes its page, a driver's
 * object calls its fault hook, which inserts a page itself. */
static int do_file_fault(struct vma *vma, unsigned long addr, pte_t _Atomic *ptep, unsigned flags,
                         bool mmap_locked)
{
    struct mm *mm = vma_mm_of(vma);
    bool write = flags & FAULT_FLAG_WRITE;
    if (vma_is_shmem(vma)) {
        bool private = !(vma->vm_flags & VM_SHARED);
        if (private && write)
            return FAULT_RETRY;   /* not reached: private shmem is not created */
        int err;
        unsigned long pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
        struct vm_page *page = shmem_get_page(vma->vm_file, pgoff, &mm->pages, &err);
        if (!page)
            return err;
        page_mapcount_inc(page);
        pte_t pte = pte_mk(page, vma_pte_flags(vma, write) | PTE_FILE);
        if (!pte_install(ptep, 0, pte)) {
            page_mapcount_dec(page);
            page_put(page);
            return 0;
        }
        rss_add(mm, MM_SHMEMPAGES, 1);
        return 0;
    }
    (void)mmap_locked;
    if (!vma->vm_ops || !vma->vm_ops->fault)
        return -EIO;   /* SIGBUS, as Linux for a VMA without a fault handler */
    int ret = vma->vm_ops->fault(to_ref(vma), addr, flags);
    if (ret)
        return ret < 0 ? ret : -EIO;
    /* The hook promised a page: it must have inserted one. */
    return pte_none(ptep_get(ptep)) ? -EIO : 0;
}

/*
 * A write to a present entry that is not writable (do_wp_page): reuse the
 * page if nobody else can see it, else copy it.
 */
static int do_wp_page(struct vma *vma, pte_t _Atomic *ptep, pte_t pte, bool mmap_locked)
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
        /* Hold the old page while copying: a zap may take the entry. */
        if (!page_try_get(old))
            return 0;
        if (ptep_get(ptep) != pte) {
            page_put(old);
            return 0;
        }
        new = page_alloc_nozero(&mm->pages);
        if (!new) {
            page_put(old);
            return -ENOMEM;
        }
        memcpy(page_address(new), page_address(old), PAGE_SIZE);
    }
    page_mapcount_inc(new);
    if (!pte_install(ptep, pte, pte_mk(new, vma_pte_flags(vma, true)))) {
        page_mapcount_dec(new);
        page_put(new);
        if (!zero)
            page_put(old);
        return 0;
    }
    rss_add(mm, MM_ANONPAGES, 1);
    if (!zero) {
        /* The entry's reference and mapcount on the old page are ours now. */
        rss_add(mm, pte_file(pte) ? mm_counter_file(vma) : MM_ANONPAGES, -1);
        page_mapcount_dec(old);
        page_put(old);
        page_put(old);
    }
    return 0;
}

int handle_mm_fault(struct vma *vma, unsigned long addr, unsigned flags, bool mmap_locked)
{
    struct mm *mm = vma_mm_of(vma);
    bool write = flags & FAULT_FLAG_WRITE;
    addr &= PAGE_MASK;

    if (vma->vm_flags & VM_PFNMAP)
        return -EIO;   /* no struct page to fault in; a driver maps frames itself */
    pte_t _Atomic *ptep;
    int err = pgtable_walk_alloc(&mm->pgt, addr, &ptep);
    if (err)
        return err;
    pte_t pte = ptep_get(ptep);
    if (pte_none(pte)) {
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
    if (!err)
        atomic_fetch_add_explicit(&mm->stat_faults, 1, memory_order_relaxed);
    return err;
}

/*
 * The VMA for addr with its read lock, else the mmap read lock and the VMA
 * (NULL if none: the caller still holds the lock).  *mmap_locked says which.
 */
static struct vma *lock_vma_or_mmap(struct mm *mm, unsigned long addr, bool *mmap_locked)
{
    const struct vma_ref *ref = lock_vma_under_rcu(mm, addr);
    if (likely(ref)) {
        *mmap_locked = false;
        return to_vma(ref);
    }
    (void)mmap_read_lock(mm);
    *mmap_locked = true;
    return vt_lookup(&mm->mm_mt, addr);
}

static void unlock_vma_or_mmap(struct mm *mm, struct vma *vma, bool mmap_locked)
{
    if (mmap_locked) {
        struct mmap_read_guard g = { .mm = mm };
        (mmap_read_unlock)(&g);
    } else {
        vma_end_read(to_ref(vma));
    }
}

int mm_fault(struct mm *mm, unsigned long addr, unsigned flags)
{
    bool mmap_locked;
    struct vma *vma = lock_vma_or_mmap(mm, addr, &mmap_locked);
    int ret;
    for (;;) {
        if (!vma) {
            ret = -EFAULT;
            break;
        }
        ret = vma_access_error(vma, flags);
        if (ret)
            break;
        ret = handle_mm_fault(vma, addr, flags, mmap_locked);
        if (ret != FAULT_RETRY)
            break;
        /* Only a per-VMA-locked fault asks for a retry: redo it under the
         * mmap lock, where the VMA may have changed meanwhile. */
        vma_end_read(to_ref(vma));
        atomic_fetch_add_explicit(&mm->stat_lock_fallbacks, 1, memory_order_relaxed);
        (void)mmap_read_lock(mm);
        mmap_locked = true;
        vma = vt_lookup(&mm->mm_mt, addr);
    }
    unlock_vma_or_mmap(mm, vma, mmap_locked);
    return ret;
}

/* ------------------------------------------------------------ access */

/*
 * Copy between buf and [addr, addr + len) as the process's own loads and
 * stores would: fault as needed, stop at the first page the access may not
 * touch.  Returns the bytes done, or -errno if none were.
 */
static ssize_t access_mm(struct mm *mm, unsigned long addr, void *buf, size_t len, bool write)
{
    unsigned flags = write ? FAULT_FLAG_WRITE | FAULT_FLAG_USER : FAULT_FLAG_USER;
    char *p = buf;
    size_t done = 0;
    int err = 0;

    if (len > mm->cfg.task_size || addr > mm->cfg.task_size - len)
        return len && addr >= mm->cfg.task_size ? -EFAULT : (ssize_t)(len ? -EFAULT : 0);
    while (done < len) {
        bool mmap_locked;
        struct vma *vma = lock_vma_or_mmap(mm, addr, &mmap_locked);
        if (!vma) {
            err = -EFAULT;
            unlock_vma_or_mmap(mm, vma, mmap_locked);
            break;
        }
        err = vma_access_error(vma, flags);
        unsigned long span_end = vma->vm_end - addr < len - done ? vma->vm_end : addr + (len - done);
        while (!err && addr < span_end) {
            unsigned long off = offset_in_page(addr);
            size_t n = min(PAGE_SIZE - off, span_end - addr);
            pte_t _Atomic *ptep = pgtable_walk(&mm->pgt, addr);
            pte_t pte = ptep ? ptep_get(ptep) : 0;
            if (!pte_present(pte) || (write && !pte_write(pte))) {
                err = handle_mm_fault(vma, addr, flags, mmap_locked);
                if (err == FAULT_RETRY) {
                    vma_end_read(to_ref(vma));
                    atomic_fetch_add_explicit(&mm->stat_lock_fallbacks, 1, memory_order_relaxed);
                    (void)mmap_read_lock(mm);
                    mmap_locked = true;
                    vma = vt_lookup(&mm->mm_mt, addr);
                    if (!vma) {
                        err = -EFAULT;
                        break;
                    }
                    err = vma_access_error(vma, flags);
                    span_end = vma->vm_end - addr < len - done ? vma->vm_end : addr + (len - done);
                }
                continue;
            }
            struct vm_page *page = pte_page(pte);
            if (pte_special(pte)) {
                /* The zero page (never written, never freed). */
                memset(p + done, 0, n);
            } else {
                if (!page_try_get(page))
                    continue;   /* zapped meanwhile: look again */
                if (ptep_get(ptep) != pte) {
                    page_put(page);
                    continue;
                }
                /* As the MMU does: an access marks the entry young, a write dirty. */
                pte_t want = PTE_ACCESSED | (write ? PTE_DIRTY : 0);
                if ((pte & want) != want)
                    ptep_set_flags(ptep, want);
                char *frame = (char *)page_address(page) + off;
                if (write)
                    memcpy(frame, p + done, n);
                else
                    memcpy(p + done, frame, n);
                page_put(page);
            }
            addr += n;
            done += n;
        }
        unlock_vma_or_mmap(mm, vma, mmap_locked);
        if (err)
            break;
    }
    return done ? (ssize_t)done : err;
}

ssize_t mm_read(struct mm *mm, unsigned long addr, void *buf, size_t len)
{
    return access_mm(mm, addr, buf, len, false);
}

ssize_t mm_write(struct mm *mm, unsigned long addr, const void *buf, size_t len)
{
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
    page_mapcount_inc(page);
    if (!pte_install(ptep, 0, pte)) {
        page_mapcount_dec(page);
        page_put(page);
        return -EBUSY;
    }
    rss_add(mm, MM_FILEPAGES, 1);
    return 0;
}

/* ------------------------------------------------------------------ zap */

struct zap_ctx {
    int file_kind;           /* MM_FILEPAGES or MM_SHMEMPAGES, by the VMA */
    struct page_batch batch;
    long rss[NR_MM_COUNTERS];
    unsigned long pages;
};

static void zap_one(void *arg, unsigned long addr, pte_t old)
{
    struct zap_ctx *z = arg;
    (void)addr;
    z->pages++;
    if (pte_special(old))
        return;   /* the zero page: no reference, not in Rss */
    struct vm_page *page = pte_page(old);
    z->rss[pte_file(old) ? z->file_kind : MM_ANONPAGES]--;
    page_mapcount_dec(page);
    page_batch_put(&z->batch, page);
}

void zap_vma_range(struct vma *vma, unsigned long start, unsigned long end)
{
    struct mm *mm = vma->vm_mm;
    struct zap_ctx z = { .file_kind = mm_counter_file(vma) };
    page_batch_init(&z.batch);
    pgtable_clear_range(&mm->pgt, start, end, zap_one, &z);
    page_batch_flush(&z.batch);
    for (int i = 0; i < NR_MM_COUNTERS; i++)
        if (z.rss[i])
            rss_add(mm, i, z.rss[i]);
    if (z.pages)
        atomic_fetch_add_explicit(&mm->stat_zapped, z.pages, memory_order_relaxed);
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

/* ------------------------------------------------------------ mprotect */

/*
 * Entries keep their pages; what changes is what an access may do without a
 * fault.  Losing VM_WRITE takes PTE_WRITE away (a later mprotect back to
 * writable leaves it off: the next write faults and reuses the page, as
 * Linux's does unless it can prove the page exclusive).
 */
void change_protection(struct vma *vma, unsigned long start, unsigned long end, vm_flags_t new_flags)
{
    pte_t clear = 0, set = 0;
    if (!(new_flags & VM_WRITE))
        clear |= PTE_WRITE;
    if (new_flags & VM_ACCESS_FLAGS)
        clear |= PTE_PROTNONE;
    else
        set |= PTE_PROTNONE;
    pgtable_change_prot(&vma->vm_mm->pgt, start, end, clear, set);
}

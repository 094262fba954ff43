/* SPDX-License-Identifier: MIT */
/*
 * memory.h — the memory behind the VMAs: faults, copy-on-write, zaps and
 * the entry helpers they share (memory.c; huge pages in huge_memory.h).
 * memory.c's head comment says what an entry holds and who may change it.
 */
#ifndef VMAREA_MEMORY_H
#define VMAREA_MEMORY_H

#include "mm_counter.h"
#include "mmdebug.h"
#include "anon_vma.h"

/*
 * Resolve one fault at addr inside vma (checked by the caller): 0 or
 * -errno, where -EFAULT_RETRY says it needs the mmap lock and holds only
 * vma's read lock (mmap_locked false).  Locks: the mmap lock (read or
 * write) or vma's read lock.
 */
int __must_check handle_mm_fault(struct vma *vma, unsigned long addr, unsigned flags, bool mmap_locked);

/*
 * x86's access_error plus the protection-key check, as the result a process
 * sees: a write needs VM_WRITE, an instruction fetch VM_EXEC, a read
 * data_accessible, or for a remote (foreign) access, which protection keys do
 * not apply to, any access bit.  0 or -EACCES.
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
int vma_access_error(const struct vma *vma, unsigned flags);

/* Map page at addr in vma, with a reference counted in RssFile, or raw: a
 * special entry counted nowhere (VM_PFNMAP).  0, -EBUSY where an entry is,
 * -ENOMEM.  Locks: read access to vma. */
int insert_page(struct vma *vma, unsigned long addr, struct vm_page *page, bool raw);
/* Clear [start, end) of vma's page tables (tables stay).  Mmap lock, any. */
void zap_vma_range(struct vma *vma, unsigned long start, unsigned long end);
/* The same for the whole VMA when the address space's last user is gone. */
void zap_vma_exit(struct vma *vma);
/* Linux's unmap_mapping_range: clear the entries of pages [first, first + n)
 * of f, an object with a page cache, in every VMA of every mm that maps them; with
 * even_cows the anonymous copies private mappings made of them too (a
 * truncation), without only the file's pages (a hole punched).  Takes
 * f->rmap_lock; the caller holds no cache_lock. */
void unmap_mapping_range(struct vm_file *f, unsigned long first, unsigned long n, bool even_cows);
/* munmap, after zapping the VMAs: free the tables of [start, end) that no
 * VMA outside it uses.  floor/ceiling: the neighbouring VMAs' end/start, 0
 * when there is none.  Mmap write lock. */
void free_pgtables(struct mm *mm, unsigned long start, unsigned long end,
                   unsigned long floor, unsigned long ceiling);

/* ------------------------------------------------ shared by the page work */

static inline void rss_add(struct mm *mm, int kind, long n)
{
    mm_counter_add(mm, kind, n);
}

/* The counter a file page mapped in vma counts in. */
static inline int mm_counter_file(const struct vma *vma)
{
    return vma_is_shmem(vma) ? MM_SHMEMPAGES : MM_FILEPAGES;
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

/* The flags of a page-cache page's entry.  A shared writable mapping of
 * shmem needs no write notification (no dirty accounting), so its entries
 * are writable from the first fault, as vm_page_prot makes them: a store
 * through one dirties the entry, not the page, which a write fault marks
 * dirty (fault_dirty_shared_page).  A file with writeback takes a write
 * fault at the first store after each writeback (vma_wants_writenotify). */
static inline pte_t file_pte_flags(const struct vma *vma, bool write)
{
    pte_t f = vma_pte_flags(vma, write) | PTE_FILE;
    if ((vma->vm_flags & (VM_SHARED | VM_WRITE)) == (VM_SHARED | VM_WRITE) && vma_is_shmem(vma))
        f |= PTE_WRITE;
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
bool map_page(pte_t _Atomic *ptep, struct vm_page *page, pte_t pte);

/* Give a faulting VMA its anon_vma: that may reuse a neighbour's, which
 * needs the tree stable, which only the mmap lock gives (Linux:
 * vmf_anon_prepare); under the VMA's lock alone, -EFAULT_RETRY. */
static inline int anon_prepare(struct vma *vma, bool mmap_locked)
{
    if (likely(vma_anon_vma(vma)))
        return 0;
    if (!mmap_locked)
        return -EFAULT_RETRY;
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

/*
 * Pages left mlocked by MREMAP_DONTUNMAP (PG_mlocked; mlock.c).  None
 * exist until the first such mremap in the process, and until then the
 * hooks below cost one predicted branch in the VM_LOCKED VMAs alone.
 */
extern atomic_bool mlock_stale_pages;
static inline bool mlock_stale_seen(void)
{
    return unlikely(atomic_load_explicit(&mlock_stale_pages, memory_order_relaxed));
}
/* [start, end) of mm: a VMA's range losing VM_LOCKED without munlock. */
void mlock_leave_locked(struct mm *mm, unsigned long start, unsigned long end);
/* mlock_folio (delta 1) or munlock_folio (-1) for the PG_mlocked pages of
 * [start, end) of mm, only file pages if file_only. */
void mlock_count_range(struct mm *mm, unsigned long start, unsigned long end, int delta,
                       bool file_only);
void mlock_count_page(struct vm_page *page, int delta);

/* A page mapped into vma (mlock_vma_folio). */
static inline void mlock_vma_page(const struct vma *vma, struct vm_page *page)
{
    if (unlikely((vma->vm_flags & (VM_LOCKED | VM_SPECIAL)) == VM_LOCKED) && mlock_stale_seen())
        mlock_count_page(page, 1);
}
/* [start, end) of vma unmapped, only its file pages if file_only
 * (munlock_vma_folio). */
static inline void munlock_vma_range(struct vma *vma, unsigned long start, unsigned long end,
                                     bool file_only)
{
    if (unlikely(vma->vm_flags & VM_LOCKED) && mlock_stale_seen())
        mlock_count_range(vma->vm_mm, start, end, -1, file_only);
}

#endif

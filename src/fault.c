/* SPDX-License-Identifier: MIT */
/*
 * fault.c — where a program's accesses enter: mm_fault (x86's
 * do_user_addr_fault: find and lock the VMA, grow a stack, check the
 * access, then handle_mm_fault), and mm_read/mm_write, the program's own
 * loads and stores, which use an entry as it is when it allows them and
 * fault otherwise.
 */
#include "mm.h"
#include "rcu.h"

#include <string.h>

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
        err = handle_mm_fault(vma, addr, flags, mmap_held(l));
        if (err != -EFAULT_RETRY)
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

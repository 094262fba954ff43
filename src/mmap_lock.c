/* SPDX-License-Identifier: MIT */
/*
 * mmap_lock.c — the mmap lock, per-VMA locks, and the assertions that prove
 * a caller holds what it claims.  docs/locking.md states the rules.
 *
 * Lock order: mmap lock (read or write) → VMA write lock (vma_start_write).
 * A VMA read lock is taken without the mmap lock (lock_vma_under_rcu) and
 * never waits: it fails instead.
 *
 * Per-VMA lock:
 *   vma->vm_refcnt  VMA_ATTACHED while the VMA is in the tree, plus one per
 *                   reader holding the VMA read lock.
 *   vma->vm_lock_seq == mm->mm_lock_seq  ⇔  the VMA is write-locked by the
 *                   current mmap write section.  mm_lock_seq is bumped when
 *                   the mmap write lock is released, which drops every VMA
 *                   write lock of that section at once.
 * A reader first raises vm_refcnt, then checks vm_lock_seq; a writer first
 * sets vm_lock_seq, then waits for the readers in vm_refcnt to leave.  Both
 * sides use sequentially consistent operations, so at least one of them sees
 * the other (Dekker): a reader never runs inside a write-locked VMA.
 */
#include "mmap_lock.h"
#include "mmdebug.h"
#include "rcu.h"
#include "vma_init.h"

#include <sched.h>
#include <stdlib.h>

/*
 * Which locks this thread holds, so that "held by the calling thread" can be
 * checked (asserted only in debug builds).  The mmap locks are tracked
 * always, for mmap_lock_is_held (it costs a few nanoseconds); VMA read
 * locks only in debug builds, where alone anything asks about them.  A
 * thread holds few locks at once.  initial-exec TLS: a plain access instead
 * of a __tls_get_addr call per lock; the 520 bytes fit the static TLS
 * surplus glibc keeps for libraries loaded with dlopen.
 */
enum held_kind { HELD_MMAP_READ = 1, HELD_MMAP_WRITE, HELD_VMA_READ };
#define MAX_HELD 32
static __thread __attribute__((tls_model("initial-exec"))) struct { const void *obj; enum held_kind kind; } held[MAX_HELD];
static __thread __attribute__((tls_model("initial-exec"))) unsigned int nheld;

static void held_push(const void *obj, enum held_kind kind)
{
    if (nheld < MAX_HELD) {
        held[nheld].obj = obj;
        held[nheld].kind = kind;
    }
    nheld++;   /* past MAX_HELD we stop recording; checks then answer "held" */
}

static void held_pop(const void *obj, enum held_kind kind)
{
    unsigned int n = nheld;
    /* Locks are mostly released in the reverse order: the top first. */
    if (likely(n - 1 < MAX_HELD && held[n - 1].obj == obj && held[n - 1].kind == kind)) {
        nheld = n - 1;
        return;
    }
    n = n < MAX_HELD ? n : MAX_HELD;
    for (unsigned int i = n; i-- > 0;) {
        if (held[i].obj == obj && held[i].kind == kind) {
            held[i] = held[n - 1];
            nheld--;
            return;
        }
    }
    if (nheld > MAX_HELD)
        nheld--;
    else
        VM_BUG_ON(1 && "unlocking a lock this thread does not hold");
}

static bool held_has(const void *obj, enum held_kind kind)
{
    if (nheld > MAX_HELD)
        return true;
    for (unsigned int i = 0; i < nheld; i++)
        if (held[i].obj == obj && held[i].kind == kind)
            return true;
    return false;
}

bool mmap_lock_is_write_held(struct mm *mm)
{
    return held_has(mm, HELD_MMAP_WRITE);
}

bool mmap_lock_is_held(struct mm *mm)
{
    return held_has(mm, HELD_MMAP_READ) || held_has(mm, HELD_MMAP_WRITE);
}

#ifdef VMAREA_DEBUG
void mmap_assert_locked(struct mm *mm)
{
    VM_BUG_ON(!mmap_lock_is_held(mm));
}

void mmap_assert_write_locked(struct mm *mm)
{
    VM_BUG_ON(!mmap_lock_is_write_held(mm));
}

void vma_assert_readable(const struct vma *vma)
{
    VM_BUG_ON(!mmap_lock_is_held(vma->vm_mm) && !held_has(vma, HELD_VMA_READ));
}

void vma_assert_write_locked(const struct vma *vma)
{
    mmap_assert_write_locked(vma->vm_mm);
    VM_BUG_ON(__atomic_load_n(&vma->vm_lock_seq, __ATOMIC_RELAXED) !=
              atomic_load_explicit(&vma->vm_mm->mm_lock_seq, memory_order_relaxed));
}
#endif

struct mmap_read_guard mmap_read_lock(struct mm *mm)
{
    rwsem_down_read(&mm->mmap_lock);
    held_push(mm, HELD_MMAP_READ);
    return (struct mmap_read_guard){ .mm = mm };
}

bool mmap_read_trylock(struct mm *mm, struct mmap_read_guard *out)
{
    if (!rwsem_read_trylock(&mm->mmap_lock)) {
        out->mm = NULL;
        return false;
    }
    held_push(mm, HELD_MMAP_READ);
    out->mm = mm;
    return true;
}

void (mmap_read_unlock)(struct mmap_read_guard *g)
{
    struct mm *mm = g->mm;
    VM_BUG_ON(!mm);
    held_pop(mm, HELD_MMAP_READ);
    rwsem_up_read(&mm->mmap_lock);
    g->mm = NULL;
}

struct mmap_write_guard mmap_write_lock(struct mm *mm)
{
    rwsem_down_write(&mm->mmap_lock);
    held_push(mm, HELD_MMAP_WRITE);
    if (atomic_load_explicit(&mm->reclaimed, memory_order_relaxed))
        mm_reclaim(mm);
    return (struct mmap_write_guard){ .read = { .mm = mm } };
}

void (mmap_write_unlock)(struct mmap_write_guard *g)
{
    struct mm *mm = g->read.mm;
    VM_BUG_ON(!mm);
    validate_mm(mm);   /* VMAREA_DEBUG=2 only */
    /* Most write sections free no tree node: no call then. */
    if (mm->mm_mt.nr_freed)
        mm_free_deferred(mm, false);
    /* Ends every VMA write lock of this section (see the top of the file).
     * Release: a reader that sees the new sequence sees the VMAs' new state. */
    atomic_store_explicit(&mm->mm_lock_seq,
                          atomic_load_explicit(&mm->mm_lock_seq, memory_order_relaxed) + 1,
                          memory_order_release);   /* the only writer: no locked RMW needed */
    /* held_pop's first test inline: the write lock is nearly always the
     * last lock this thread took. */
    unsigned int n = nheld;
    if (likely(n - 1 < MAX_HELD && held[n - 1].obj == mm && held[n - 1].kind == HELD_MMAP_WRITE))
        nheld = n - 1;
    else
        held_pop(mm, HELD_MMAP_WRITE);
    rwsem_up_write(&mm->mmap_lock);
    g->read.mm = NULL;
}

void vma_start_write(struct vma *vma)
{
    struct mm *mm = vma->vm_mm;
    mmap_assert_write_locked(mm);
    unsigned int seq = atomic_load_explicit(&mm->mm_lock_seq, memory_order_relaxed);
    if (__atomic_load_n(&vma->vm_lock_seq, __ATOMIC_RELAXED) == seq)
        return;
    __atomic_store_n(&vma->vm_lock_seq, seq, __ATOMIC_SEQ_CST);
    /* Wait for readers that got in before they could see the store. */
    while (__atomic_load_n(&vma->vm_refcnt, __ATOMIC_SEQ_CST) & ~VMA_ATTACHED)
        sched_yield();
}

void vma_mark_attached(struct vma *vma)
{
    __atomic_store_n(&vma->vm_refcnt, VMA_ATTACHED, __ATOMIC_RELEASE);
}

/*
 * Write-lock the VMA (if this section has not yet) and detach it, with one
 * locked instruction where vma_start_write and a detach took two.  Clearing
 * VMA_ATTACHED is a read-modify-write of vm_refcnt, and so is every reader's
 * increment (a compare-and-swap that requires VMA_ATTACHED): they are
 * ordered.  A reader ordered after the clear fails; one ordered before is in
 * the count we get back, and we wait until it is gone, whether it leaves
 * through vma_end_read or backs off on seeing the write lock.  That is the
 * exclusion vma_start_write's wait gives, so vm_lock_seq needs only a plain
 * store here.  Waiting until vm_refcnt is 0 also means that the VMA can be
 * reused at once (vma_init.c) without anyone's count landing in its next life.
 */
void vma_mark_detached(struct vma *vma)
{
    struct mm *mm = vma->vm_mm;
    mmap_assert_write_locked(mm);
    __atomic_store_n(&vma->vm_lock_seq, atomic_load_explicit(&mm->mm_lock_seq, memory_order_relaxed),
                     __ATOMIC_RELAXED);
    if (__atomic_and_fetch(&vma->vm_refcnt, ~VMA_ATTACHED, __ATOMIC_SEQ_CST) == 0)
        return;
    while (__atomic_load_n(&vma->vm_refcnt, __ATOMIC_ACQUIRE) != 0)
        sched_yield();
}

static inline __attribute__((always_inline)) bool vma_start_read(struct mm *mm, struct vma *vma)
{
    unsigned int seq = atomic_load_explicit(&mm->mm_lock_seq, memory_order_acquire);
    if (__atomic_load_n(&vma->vm_lock_seq, __ATOMIC_RELAXED) == seq)
        return false;
    unsigned int old = __atomic_load_n(&vma->vm_refcnt, __ATOMIC_RELAXED);
    do {
        if (!(old & VMA_ATTACHED) || (old & ~VMA_ATTACHED) >= VMA_ATTACHED - 1)
            return false;
    } while (!__atomic_compare_exchange_n(&vma->vm_refcnt, &old, old + 1, true,
                                          __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    if (__atomic_load_n(&vma->vm_lock_seq, __ATOMIC_SEQ_CST) ==
        atomic_load_explicit(&mm->mm_lock_seq, memory_order_seq_cst)) {
        __atomic_fetch_sub(&vma->vm_refcnt, 1, __ATOMIC_RELEASE);
        return false;
    }
    return true;
}

/*
 * The VMA this thread last locked through lock_vma_under_rcu_hinted (the
 * fault path's lock_vma_under_rcu), its mm's mm_id and its range then
 * (Linux's per-thread vmacache, before the maple tree).  Faults come in runs
 * on one VMA, and trying the hint first saves the RCU section and the tree
 * descent.  A hint needs no RCU: a VMA's memory belongs to its mm until the
 * last mmdrop (vma_init.c), the caller holds the mm, and mm_id, never reused,
 * tells that the hint is from this mm and not from a dead one at the same
 * address.  The slot may hold another VMA of the mm
 * by now, or none: vma_start_read fails on a detached VMA, and the range
 * recheck after it catches a changed or reused one, as on the tree path.
 * The range kept here filters out misses without reading the VMA, whose
 * plain fields a writer may be changing until we hold its read lock.
 */
static __thread __attribute__((tls_model("initial-exec"))) struct {
    unsigned long mm_id;
    struct vma *vma;
    unsigned long start, end;
} vma_hint;

static inline bool vma_covers(struct vma *vma, unsigned long addr)
{
    return addr >= __atomic_load_n(&vma->vm_start, __ATOMIC_RELAXED) &&
           addr < __atomic_load_n(&vma->vm_end, __ATOMIC_RELAXED);
}

static inline __attribute__((always_inline)) const struct vma_ref *
__lock_vma_under_rcu(struct mm *mm, unsigned long addr, bool hinted)
{
    struct vma *vma = vma_hint.vma;
    if (hinted && vma_hint.mm_id == mm->mm_id && addr - vma_hint.start < vma_hint.end - vma_hint.start &&
        vma_start_read(mm, vma)) {
        if (likely(vma_covers(vma, addr)))
            goto locked;
        __atomic_fetch_sub(&vma->vm_refcnt, 1, __ATOMIC_RELEASE);
    }
    rcu_read_lock();
    vma = vt_lookup_rcu(&mm->mm_mt, addr);
    if (!vma)
        goto fallback;
    /* The lock words share a cache line with vm_start and vm_end, which the
     * recheck below reads: one miss in a large mm, taken here. */
    if (!vma_start_read(mm, vma))
        goto fallback;
    /* The tree may have handed us a VMA that changed before we locked it. */
    if (!vma_covers(vma, addr)) {
        __atomic_fetch_sub(&vma->vm_refcnt, 1, __ATOMIC_RELEASE);
        goto fallback;
    }
    /* Our read lock keeps the VMA attached, so it outlives the RCU section. */
    rcu_read_unlock();
    if (hinted) {
        vma_hint.mm_id = mm->mm_id;
        vma_hint.vma = vma;
        vma_hint.start = vma->vm_start;
        vma_hint.end = vma->vm_end;
    }
locked:
#ifdef VMAREA_DEBUG
    /* Only vma_assert_readable asks about VMA read locks, and only in debug
     * builds; the mmap locks are tracked always (mmap_lock_is_held is API). */
    held_push(vma, HELD_VMA_READ);
#endif
    return to_ref(vma);
fallback:
    rcu_read_unlock();
    atomic_fetch_add_explicit(&mm->stat_lock_fallbacks, 1, memory_order_relaxed);
    return NULL;
}

/* Random lookups (a driver's, the benchmark's) would mostly miss the hint
 * and pay for keeping it (3-4 ns here): only faults, which come in runs on
 * one VMA, use it. */
const struct vma_ref *lock_vma_under_rcu(struct mm *mm, unsigned long addr)
{
    return __lock_vma_under_rcu(mm, addr, false);
}

const struct vma_ref *lock_vma_under_rcu_hinted(struct mm *mm, unsigned long addr)
{
    return __lock_vma_under_rcu(mm, addr, true);
}

void vma_end_read(const struct vma_ref *ref)
{
    struct vma *vma = to_vma(ref);
#ifdef VMAREA_DEBUG
    held_pop(vma, HELD_VMA_READ);
#endif
    /* Release: our reads of the VMA happen before a writer sees us gone. */
    __atomic_fetch_sub(&vma->vm_refcnt, 1, __ATOMIC_RELEASE);
}

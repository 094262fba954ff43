/* SPDX-License-Identifier: MIT */
/*
 * internal.h — types and cross-file declarations shared inside vmarea.
 *
 * Glossary:
 *   struct mm        an address space (public name, private layout)
 *   struct vma       a virtual memory area; handed out as struct vma_ref
 *   struct vma_tree  the ordered set of an mm's VMAs (vma_tree.h)
 *   struct vm_file   something mappable: a host file, memfd, or a driver object
 *   struct anon_vma  identity of a VMA's anonymous pages, for merge rules
 *   struct anon_name a shared, reference-counted [anon:NAME] string
 *
 * Prototypes are grouped by the file that defines them.
 */
#ifndef VMAREA_INTERNAL_H
#define VMAREA_INTERNAL_H

#include "vmarea.h"
#include "rwsem.h"
#include "vma_tree.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
/*
 * liburcu's read side inlined: the function-call version costs about 20 ns
 * per rcu_read_lock/unlock pair (a call into the library and a TLS lookup),
 * the inline one about 3.  liburcu allows _LGPL_SOURCE for code under an
 * LGPL- or GPL-compatible license, which vmarea's must therefore stay.
 * Sanitizer builds use the calls (see CMakeLists.txt).
 */
#ifndef VMAREA_URCU_CALLS
#define _LGPL_SOURCE
#endif
#include <urcu/compiler.h>
#include <urcu-bp.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1UL << PAGE_SHIFT)
#define PAGE_MASK  (~(PAGE_SIZE - 1))
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & PAGE_MASK)
#define PMD_SIZE   (1UL << 21)
#define offset_in_page(x) ((unsigned long)(x) & (PAGE_SIZE - 1))

#define DEFAULT_TASK_SIZE      0x7ffffffff000UL
#define DEFAULT_MMAP_MIN_ADDR  65536UL
#define DEFAULT_MAX_MAP_COUNT  65530UL
#define DEFAULT_STACK_GAP      (128UL << 20)
#define DEFAULT_FAULT_AROUND_BYTES 65536UL
#define DEFAULT_OVERCOMMIT_RATIO   50UL
#define DEFAULT_ADMIN_RESERVE_KB   8192UL
#define DEFAULT_USER_RESERVE_KB    131072UL
#define MM_CONFIG_ALL (MM_CONFIG_NO_SOFT_DIRTY | MM_CONFIG_NO_PKEYS | MM_CONFIG_NO_ZERO_PAGE | \
                       MM_CONFIG_NO_HUGE_ZERO_PAGE | MM_CONFIG_NO_ANON_NAMES | MM_CONFIG_NO_SPLIT_ZERO_REMAP)
#define STACK_GUARD_GAP        (256UL << PAGE_SHIFT)  /* stack_guard_gap: 256 pages */

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))

/*
 * Debug checks.  Not assert(): a debug build may still define NDEBUG (CMake's
 * RelWithDebInfo does), and the lock checks must run there too.
 */
#ifdef VMAREA_DEBUG
void vmarea_bug(const char *cond, const char *file, int line) __attribute__((noreturn, cold));
#define VM_BUG_ON(cond) do { if (__builtin_expect(!!(cond), 0)) vmarea_bug(#cond, __FILE__, __LINE__); } while (0)
#else
#define VM_BUG_ON(cond) ((void)sizeof(!!(cond)))   /* type-checked, never evaluated */
#endif

/*
 * Sticky flags (VM_STICKY): they do not stop two VMAs from merging, and the
 * merged VMA keeps each one any of its parts had, so that "this range may be
 * dirty" or "may hold guard regions" is never lost.
 */
#define VM_STICKY (VM_SOFTDIRTY | VM_MAYBE_GUARD)
#define VM_IGNORE_MERGE VM_STICKY
/* Flags an mlock adds or removes. */
#define VM_LOCKED_MASK (VM_LOCKED | VM_LOCKONFAULT)
#define VM_PKEY_MASK (VM_PKEY_BIT0 | VM_PKEY_BIT1 | VM_PKEY_BIT2 | VM_PKEY_BIT3)
/*
 * x86 protection keys: a PROT_EXEC-only mapping gets the mm's execute-only
 * key, so that not even the kernel's get_user_pages can read it.  vmarea
 * models the key Linux allocates first for that purpose, 1.
 */
#define EXECUTE_ONLY_PKEY 1UL
static inline unsigned long vma_pkey_of(vm_flags_t flags) { return (flags & VM_PKEY_MASK) >> VM_PKEY_SHIFT; }

/*
 * A data load is allowed with any access bit, except behind the execute-only
 * key.  Loads and stores may use an entry without looking at the VMA (the
 * access fast path): PTE_PROTNONE marks the entries where this is false.
 */
static inline bool data_accessible(vm_flags_t f)
{
    return (f & (VM_READ | VM_WRITE)) || ((f & VM_EXEC) && vma_pkey_of(f) != EXECUTE_ONLY_PKEY);
}

#define VM_ACCESS_FLAGS (VM_READ | VM_WRITE | VM_EXEC)

/* PROT_* to VM_* (calc_vm_prot_bits, without the key). */
static inline vm_flags_t calc_vm_prot_bits(int prot)
{
    return ((prot & PROT_READ) ? VM_READ : 0) | ((prot & PROT_WRITE) ? VM_WRITE : 0) |
           ((prot & PROT_EXEC) ? VM_EXEC : 0);
}
#define VM_STACK_FLAGS_MASK VM_GROWSDOWN
/* VM_DATA_DEFAULT_FLAGS on x86-64 is VM_DATA_FLAGS_TSK_EXEC minus exec. */
#define VM_DATA_DEFAULT_FLAGS (VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC)

/*
 * The identity of a VMA's anonymous pages.  Two VMAs may merge only if at
 * most one has an anon_vma, or both have the same one (and, for a VMA whose
 * anon_vma came through fork, only the same one).  Refcounted: every VMA that
 * points at it holds one reference.
 */
struct anon_vma {
    unsigned long refcount;        /* guarded by the mmap write lock of every user,
                                      or its read lock + mm->anon_vma_lock (a fault) */
    bool forked;                   /* shared with a parent or child through fork */
};

struct anon_name {
    atomic_ulong refcount;
    char name[];
};

/*
 * A VMA.
 *
 * Field rules (docs/locking.md has the table):
 *   vm_start, vm_end, vm_pgoff, vm_flags, vm_file, anon_vma, anon_name:
 *       written under the mmap write lock after vma_start_write(); read under
 *       the mmap lock or the VMA's read lock.  vm_start/vm_end are written by
 *       the tree (vt_update), which knows them as keys.
 *   anon_vma also goes once from NULL to set under the mmap read lock (a
 *       first write fault), under mm->anon_vma_lock, with a release store:
 *       readers outside the write lock load it with vma_anon_vma().
 *   vm_ops, vm_private_data: set once before the VMA is inserted.
 *   vm_lock_seq, vm_refcnt: the per-VMA lock (mmap_lock.c), atomics.
 *   free_next: only once the VMA is detached and released, so it overlays
 *       anon_name, which no reader touches after detach (a reader must first
 *       take the VMA's read lock, and that fails for a detached VMA).
 */
struct vma {
    /* The lock words first, beside vm_start and vm_end: lock_vma_under_rcu
     * takes the lock and rechecks the range, one cache line between them. */
    unsigned int vm_lock_seq;      /* == mm->mm_lock_seq: write-locked in this write section */
    unsigned int vm_refcnt;        /* readers + VMA_ATTACHED bit (0 when detached) */
    unsigned long vm_start;
    unsigned long vm_end;
    struct mm *vm_mm;
    vm_flags_t vm_flags;
    unsigned long vm_pgoff;
    struct vm_file *vm_file;
    struct anon_vma *anon_vma;
    union {
        struct anon_name *anon_name;
        struct vma *free_next;     /* while free: the mm's vma_cache */
    };
    const struct vm_operations *vm_ops;
    void *vm_private_data;
};

#define VMA_ATTACHED 0x80000000U

static inline struct vma *to_vma(const struct vma_ref *ref) { return (struct vma *)(uintptr_t)ref; }
static inline const struct vma_ref *to_ref(const struct vma *vma) { return (const struct vma_ref *)vma; }
static inline unsigned long vma_pages(const struct vma *vma) { return (vma->vm_end - vma->vm_start) >> PAGE_SHIFT; }

/*
 * Something mappable.  Reference counted: each VMA mapping it holds one.
 */
struct vm_file {
    atomic_ulong refcount;
    const struct vm_file_operations *f_ops;
    void *private_data;
    char *name;
    bool anon_shmem;               /* behind a MAP_SHARED|MAP_ANONYMOUS mapping */
    /* host files and memfds (filemap.c) */
    int fd;
    unsigned long dev, ino;
    /* shmem pages (anon_shmem): the page cache, a radix tree indexed by
     * pgoff << PAGE_SHIFT (the page-table code, reused), one reference per
     * page held here; guarded by cache_lock; the size is fixed at creation */
    pthread_mutex_t cache_lock;
    struct pgtable *cache;
    unsigned long cache_pages;
    long acct_pages;               /* committed for the object (shmem_acct_size); given
                                      back when the last reference goes */
};

/* What a mappable's mmap hook may change (vma_new_set_*). */
struct vma_new {
    struct vma *vma;
};

#include "page.h"      /* struct page_pool, embedded in struct mm */

/* Linux's MM_*PAGES: what each mapped page counts as in Rss; then the
 * events mm_get_stats reports.  All are mm counters (mm_counter.c). */
enum { MM_FILEPAGES, MM_ANONPAGES, MM_SHMEMPAGES, NR_MM_COUNTERS,
       MM_FAULTS = NR_MM_COUNTERS, MM_ZAPPED, NR_MM_COUNTERS_ALL };

/* A thread's share of one mm's counters: see mm_counter.c for the rules. */
struct mm_counter_share {
    _Atomic unsigned long mm_id;       /* the mm counted for; 0: none */
    atomic_long count[NR_MM_COUNTERS_ALL];
    struct mm *mm;                     /* (share_lock) */
    struct mm_counter_share *next, **pprev;   /* (share_lock) on mm->counter_shares */
};
#include "pgtable.h"   /* struct pgtable, embedded in struct mm */

/*
 * An address space.
 *
 * mmap_lock guards the VMA tree and every counter below it marked (L).
 * The reference counts are atomics: mm_users counts users (the mappings live
 * while it is > 0), mm_count counts holders of the struct (mm_users > 0 holds
 * one).
 */
struct mm {
    struct rwsem mmap_lock;
    atomic_uint mm_lock_seq;       /* bumped at every mmap_write_unlock (per-VMA locks) */
    unsigned long mm_id;           /* unique in the process, never reused (vma hints) */
    atomic_long mm_users;
    atomic_long mm_count;
#ifdef VMAREA_DEBUG
    atomic_ulong write_owner;      /* pthread_self() of the writer, 0 if none */
    atomic_long readers;
#endif

    struct vma_tree mm_mt;         /* (L) */
    struct mm_config cfg;          /* defaults filled in; constant */
    unsigned long map_count;       /* (L) VMAs, as Linux counts them */
    unsigned long nr_growsdown;    /* (L) VMAs with VM_GROWSDOWN, which no operation sets
                                      or clears after mmap: counted at link and unlink */
    unsigned long total_vm, locked_vm, data_vm, exec_vm, stack_vm;   /* (L) pages */
    vm_flags_t def_flags;          /* (L) mlockall(MCL_FUTURE) */
    struct mm_layout layout;       /* (L) */

    atomic_ulong stat_lock_fallbacks;
    /* Rss by kind, faults, zapped pages: the base plus each thread's share
     * (mm_counter.c); read them with mm_counter_sum. */
    atomic_long counter_base[NR_MM_COUNTERS_ALL];
    struct mm_counter_share *counter_shares;
    pthread_mutex_t anon_vma_lock; /* a fault setting vma->anon_vma under the mmap
                                      read lock (Linux: page_table_lock) */
    struct page_pool pages;        /* frames (page.c); its own rules, page.h */
    struct pgtable pgt;            /* page tables (pgtable.c); its own rules, pgtable.h */

    /* Node batches back from RCU (vma.c, "objects"): pushed by callbacks,
     * taken by the next write lock. */
    struct reclaim_batch *_Atomic reclaimed;
    struct vma *vma_cache;         /* (L) free VMAs, reused at once (type-stable) */
    struct vma_chunk *vma_chunks;  /* (L) where VMAs come from; freed at the last mmdrop */
    unsigned int vma_chunk_used;

    mm_warn_fn warn_fn;
    void *warn_arg;
    atomic_uint warned;            /* kinds already warned about (WARN_*) */
};

/* ---- mm_counter.c */
extern __thread __attribute__((tls_model("initial-exec"))) struct mm_counter_share *mm_counter_mine;
void mm_counter_add_slow(struct mm *mm, int item, long n);
/* The sum of every thread's additions to item.  Locks: none needed; takes
 * the process-wide share lock, so not for hot paths. */
long mm_counter_sum(struct mm *mm, int item);
/* Every counter in one pass (one lock): sum[MM_FILEPAGES..MM_ZAPPED]. */
void mm_counter_sum_all(struct mm *mm, long sum[NR_MM_COUNTERS_ALL]);
/* At the last mmdrop: detach the threads' shares.  No one may add any more. */
void mm_counter_destroy(struct mm *mm);

/* Add n to one of mm's counters: plain stores into this thread's share when
 * it already counts for mm (the common case), else the slow path sets it up.
 * Locks: none; the caller holds a user reference to mm. */
static inline void mm_counter_add(struct mm *mm, int item, long n)
{
    struct mm_counter_share *s = mm_counter_mine;
    if (likely(s && atomic_load_explicit(&s->mm_id, memory_order_relaxed) == mm->mm_id)) {
        long v = atomic_load_explicit(&s->count[item], memory_order_relaxed);
        atomic_store_explicit(&s->count[item], v + n, memory_order_relaxed);
        return;
    }
    mm_counter_add_slow(mm, item, n);
}

/* A summed count as a number of pages: a sum read while other threads
 * update it may dip below zero. */
static inline unsigned long mm_counter_pages(long n)
{
    return n < 0 ? 0 : (unsigned long)n;
}

static inline unsigned long mm_rss(struct mm *mm, int kind)
{
    return mm_counter_pages(mm_counter_sum(mm, kind));
}

#define WARN_ZAP_RANGE  0x1U
#define WARN_FAULT_HOOK 0x2U
void mm_warn_once(struct mm *mm, unsigned kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- mlock.c */
/* mlock_future_ok: may VM_LOCKED memory of bytes more be added?  Mmap
 * write lock held. */
bool mlock_future_ok(struct mm *mm, vm_flags_t flags, unsigned long bytes);

/* ---- overcommit.c */
/* Charge pages to the process's commit count, or refuse (-ENOMEM, nothing
 * charged) as mm's policy says (security_vm_enough_memory_mm). */
int vm_enough_memory(struct mm *mm, long pages);
void vm_unacct_memory(long pages);
static inline void vm_acct_memory(long pages) { vm_unacct_memory(-pages); }

/* ---- host_config.c */
/* This machine's RAM and swap in pages (sysinfo); 0 and -errno if unknown. */
int host_memory_pages(unsigned long *ram, unsigned long *swap);

/* ---- mm.c */
/* Fills zero fields of *cfg with defaults; -EINVAL if the result is unusable. */
int mm_config_resolve(struct mm_config *cfg);
/* The VmSize/VmData/VmExe/VmStk counters as Linux's vm_stat_account keeps
 * them (inline: mmap, munmap and mprotect each call it). */
static inline void vm_stat_account(struct mm *mm, vm_flags_t flags, long npages)
{
    mm->total_vm += npages;
    if ((flags & (VM_EXEC | VM_WRITE | VM_GROWSDOWN)) == VM_EXEC)
        mm->exec_vm += npages;
    else if ((flags & VM_GROWSDOWN) == VM_GROWSDOWN)
        mm->stack_vm += npages;
    else if ((flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) == VM_WRITE)
        mm->data_vm += npages;
}

/* ---- mmap.c */
/* The pages of [start, end) that VMAs with flag cover (the charged ones of a
 * replaced range, the locked ones of an mlock).  Mmap lock held. */
unsigned long vma_pages_flagged(struct mm *mm, unsigned long start, unsigned long end, vm_flags_t flag);
/* Grow a VM_GROWSDOWN VMA down to address (a fault below it): 0 or -errno.
 * Mmap write lock held. */
int expand_downwards(struct vma *vma, unsigned long address);
/* exit_mmap: remove every VMA.  Mmap write lock held. */
void mm_unmap_all(struct mm *mm);

/* ---- mmap_lock.c */
/* Lock assertions: checks in debug builds, nothing at all in release ones
 * (they were calls on every VMA operation). */
#ifdef VMAREA_DEBUG
void mmap_assert_locked(struct mm *mm);
/* debug.c: the page-table entries of [start, end), widened to whole 2 MiB
 * pieces, against their VMAs; the mmap lock held, or the read lock of the
 * one VMA the range lies in. */
void mm_validate_range(struct mm *mm, unsigned long start, unsigned long end);
void mm_validate_fault(struct vma *vma, unsigned long addr);
struct mm_validate_scope { struct mm *mm; const unsigned long *start, *end; bool len; };
void mm_validate_scope_end(const struct mm_validate_scope *s);
/*
 * Check the range an operation changed when the scope it names ends, which
 * is before the lock guard declared earlier in the scope releases: declare
 * it after the guard.  end is an end, or with _LEN a length from start; both
 * are read at the end, so an operation may move them (placement).
 */
#define MM_VALIDATE_ON_EXIT(mm, startp, endp)                                              \
    struct mm_validate_scope vm_validate_scope_                                           \
        __attribute__((cleanup(mm_validate_scope_end), unused)) = { (mm), (startp), (endp), false }
#define MM_VALIDATE_ON_EXIT_LEN(mm, startp, lenp)                                          \
    struct mm_validate_scope vm_validate_scope_                                           \
        __attribute__((cleanup(mm_validate_scope_end), unused)) = { (mm), (startp), (lenp), true }
void mmap_assert_write_locked(struct mm *mm);
void vma_assert_readable(const struct vma *vma);
void vma_assert_write_locked(const struct vma *vma);
#else
static inline void mmap_assert_locked(struct mm *mm) { (void)mm; }
static inline void mmap_assert_write_locked(struct mm *mm) { (void)mm; }
static inline void vma_assert_readable(const struct vma *vma) { (void)vma; }
static inline void vma_assert_write_locked(const struct vma *vma) { (void)vma; }
static inline void mm_validate_range(struct mm *mm, unsigned long start, unsigned long end)
{
    (void)mm, (void)start, (void)end;
}
static inline void mm_validate_fault(struct vma *vma, unsigned long addr) { (void)vma, (void)addr; }
#define MM_VALIDATE_ON_EXIT(mm, startp, endp) ((void)(mm), (void)(startp), (void)(endp))
#define MM_VALIDATE_ON_EXIT_LEN(mm, startp, lenp) ((void)(mm), (void)(startp), (void)(lenp))
#endif
/* Mark a VMA as being changed in this write section (vma_start_write). */
void vma_start_write(struct vma *vma);
void vma_mark_attached(struct vma *vma);
void vma_mark_detached(struct vma *vma);
/* lock_vma_under_rcu, trying this thread's last such VMA first (faults). */
const struct vma_ref *lock_vma_under_rcu_hinted(struct mm *mm, unsigned long addr);

/* ---- vma.c */
/*
 * One merge or modification, carried through its phases (Linux's
 * vma_merge_struct).  prev/middle/next are the VMAs around or at the range;
 * start/end/pgoff/flags/file/anon_vma/anon_name describe the range as it
 * should become.  The __ fields are set by the merge logic.
 */
struct vma_merge_struct {
    struct mm *mm;
    struct vma *prev, *middle, *next, *target;
    unsigned long start, end, pgoff;
    vm_flags_t flags;
    struct vm_file *file;
    struct anon_vma *anon_vma;
    struct anon_name *anon_name;
    bool just_expand;
    bool __remove_middle, __remove_next, __adjust_middle_start, __adjust_next_start;
};

int  split_vma(struct vma *vma, unsigned long addr, int new_below);
int  __split_vma(struct vma *vma, unsigned long addr, int new_below);
struct vma *vma_merge_new_range(struct vma_merge_struct *vmg);
/*
 * Give [start, end) of vma (prev is the VMA before start, or vma itself when
 * start is inside vma) the flags / name in vmg: merge with a neighbour if
 * Linux would, else split off the range.  Returns the VMA now covering
 * exactly the range (or a merged superset), or NULL with *err set.
 */
struct vma *vma_modify_flags(struct vma *prev, struct vma *vma, unsigned long start,
                             unsigned long end, vm_flags_t new_flags, int *err);
struct vma *vma_modify_name(struct vma *prev, struct vma *vma, unsigned long start,
                            unsigned long end, struct anon_name *name, int *err);
/* Insert a fully set-up new VMA (write-locked, counted). Tree space reserved. */
void vma_link(struct mm *mm, struct vma *vma);
/* Take a VMA out of the tree (write-locked, detached, uncounted). */
void vma_unlink(struct mm *mm, struct vma *vma);
static inline bool vma_is_anonymous(const struct vma *vma) { return !vma->vm_file && !vma->vm_ops; }
/* Special and hugetlb VMAs never take VM_LOCKED (vma_supports_mlock). */
static inline bool vma_supports_mlock(const struct vma *vma)
{
    return !(vma->vm_flags & (VM_SPECIAL | VM_HUGETLB));
}

struct vma *vma_alloc(struct mm *mm);
/* Free a VMA that was never in the tree (no close hook, no grace period). */
void vma_free_unused(struct vma *vma);
/* Remove a detached VMA's references and free it after a grace period. */
void vma_release(struct vma *vma);
void mm_free_deferred(struct mm *mm, bool force);   /* at write unlock */
void mm_free_vma_cache(struct mm *mm);               /* at the last mmdrop */
void mm_reclaim(struct mm *mm);                      /* at write lock */

/* References on a VMA's anon_vma and name; NULL is none.  The tests are
 * inline: most VMAs are anonymous before their first fault and unnamed, and
 * split, merge and unmap drop and take these references every time. */
void __anon_vma_free(struct anon_vma *av);
void __anon_name_free(struct anon_name *n);
static inline void anon_vma_put(struct anon_vma *av)
{
    if (av && --av->refcount == 0)
        __anon_vma_free(av);
}
static inline void anon_name_get(struct anon_name *n)
{
    if (n)
        atomic_fetch_add_explicit(&n->refcount, 1, memory_order_relaxed);
}
static inline void anon_name_put(struct anon_name *n)
{
    if (n && atomic_fetch_sub_explicit(&n->refcount, 1, memory_order_acq_rel) == 1)
        __anon_name_free(n);
}
bool anon_name_equal(const struct anon_name *a, const struct anon_name *b);

/* ---- gup.c */
/* Give vma an anon_vma (a neighbour's when they could merge).  Mmap lock held,
 * read or write: racing faults serialize on mm->anon_vma_lock. */
int anon_vma_prepare(struct vma *vma);
static inline struct anon_vma *vma_anon_vma(const struct vma *vma)
{
    return __atomic_load_n(&vma->anon_vma, __ATOMIC_ACQUIRE);
}
int mm_populate_locked(struct mm *mm, unsigned long start, unsigned long end, bool ignore_errors);

/* ---- memory.c */
#define FAULT_RETRY 1   /* internal result: redo the fault under the mmap lock */
/*
 * Resolve one fault at addr inside vma (checked by the caller).  0, -errno,
 * or FAULT_RETRY when it needs the mmap lock and holds only vma's read lock
 * (mmap_locked false).  Locks: the mmap lock (read or write) or vma's read lock.
 */
int handle_mm_fault(struct vma *vma, unsigned long addr, unsigned flags, bool mmap_locked);
/* Would an access of this kind be allowed by vma's protections? -EACCES if not. */
int vma_access_error(const struct vma *vma, unsigned flags);
/* Clear [start, end) of vma's page tables (tables stay).  Mmap lock, any. */
void zap_vma_range(struct vma *vma, unsigned long start, unsigned long end);
/* The same for the whole VMA when the address space's last user is gone. */
void zap_vma_exit(struct vma *vma);
/* munmap, after zapping the VMAs: free the tables of [start, end) that no
 * VMA outside it uses.  floor/ceiling: the neighbouring VMAs' end/start, 0
 * when there is none.  Mmap write lock. */
void free_pgtables(struct mm *mm, unsigned long start, unsigned long end,
                   unsigned long floor, unsigned long ceiling);
/* MADV_FREE: exclusive anonymous pages of [start, end) become clean, old
 * and lazily freeable.  Mmap lock, any. */
void madvise_free_range(struct vma *vma, unsigned long start, unsigned long end);
/* MADV_GUARD_INSTALL: every page of [start, end) becomes a guard marker
 * (pages there are zapped first); 0 or -ENOMEM.  Mmap write lock.
 * MADV_GUARD_REMOVE: the markers of [start, end) go.  Mmap lock, any. */
int guard_install_range(struct vma *vma, unsigned long start, unsigned long end);
void guard_remove_range(struct vma *vma, unsigned long start, unsigned long end);
/* A VMA boundary is about to appear at addr (not PMD-aligned): a huge PMD
 * across it is split into its 512 entries (vma_adjust_trans_huge).  Mmap
 * write lock, and the VMA holding addr write-locked first: until then a
 * fault under that VMA's lock may map a huge page there after the split
 * looked (Linux's order too: vma_start_write, then the adjust). */
void split_huge_pmd_at(struct mm *mm, unsigned long addr);
static inline void split_huge_pmds(struct mm *mm, unsigned long start, unsigned long end)
{
    /* Nothing can be huge without THP or without a page table, and a
     * boundary on a PMD boundary splits nothing: the VMA operations that
     * call this stay free of walks in those cases. */
    if (mm->cfg.thp == MM_THP_NEVER || !pgtable_bytes(&mm->pgt))
        return;
    if (start & (PMD_SIZE - 1))
        split_huge_pmd_at(mm, start);
    if (end & (PMD_SIZE - 1))
        split_huge_pmd_at(mm, end);
}
/* Split the large folios [start, end) touches (always) or covers in part,
 * mapping the zero page over their zero-filled subpages.  Mmap lock, any. */
void split_huge_folios(struct vma *vma, unsigned long start, unsigned long end, bool always);
/* MADV_COLLAPSE of one aligned 2 MiB of an anonymous VMA: 0, -EINVAL or
 * -ENOMEM.  Mmap write lock held, the VMA write-locked. */
int collapse_huge_pmd(struct vma *vma, unsigned long haddr);
/* MADV_COLD (and the first step of MADV_PAGEOUT): unshared pages of
 * [start, end) become old (not Referenced).  Mmap lock, any. */
void madvise_cold_range(struct vma *vma, unsigned long start, unsigned long end);
/* MADV_PAGEOUT without swap: unshared shmem pages of [start, end) are
 * unmapped (and dropped if clean), clean lazily freed anonymous ones freed. */
void madvise_pageout_range(struct vma *vma, unsigned long start, unsigned long end);
/* mprotect: make the present entries of [start, end) agree with new_flags. */
void change_protection(struct vma *vma, unsigned long start, unsigned long end,
                       vm_flags_t old_flags, vm_flags_t new_flags);

/* ---- gup.c (continued) */
/* Fault in what an access of this kind would fault in [start, end) of vma. */
int populate_vma_range(struct vma *vma, unsigned long start, unsigned long end, bool write);

/* ---- filemap.c */
/* The shmem page at pgoff, found or allocated from pool; referenced for the
 * caller.  NULL with *err: -EIO beyond the object's size, -ENOMEM. */
struct vm_page *shmem_get_page(struct vm_file *f, unsigned long pgoff, struct page_pool *pool, int *err);
/* The shmem page at pgoff if there is one, referenced; NULL if not. */
struct vm_page *shmem_find_page(struct vm_file *f, unsigned long pgoff);
/* Reclaim: drop a clean page at pgoff that only the cache and the caller hold. */
void shmem_evict(struct vm_file *f, unsigned long pgoff, struct vm_page *page);
/* Drop the pages of [pgoff, pgoff + n) from a shmem object (a punched hole). */
void shmem_punch(struct vm_file *f, unsigned long pgoff, unsigned long n);
static inline bool vma_is_shmem(const struct vma *vma) { return vma->vm_file && vma->vm_file->anon_shmem; }
/* The shmem file behind one MAP_SHARED|MAP_ANONYMOUS mapping. */
struct vm_file *vm_file_shmem_zero(unsigned long size);

/* ---- task_mmu.c */
const char *vma_special_name(const struct vma *vma);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * mm_types.h — the structures every layer above the page tables shares:
 * struct mm, struct vma, struct vm_file, anon_vma and anon_name, with the
 * rules for each field beside it (Linux's mm_types.h).
 *
 * Glossary:
 *   struct mm        an address space (public name, private layout)
 *   struct vma       a virtual memory area; handed out as struct vma_ref
 *   struct vma_tree  the ordered set of an mm's VMAs (vma_tree.h)
 *   struct vm_file   something mappable: a host file, memfd, or a driver object
 *   struct anon_vma  identity of a VMA's anonymous pages, for merge rules
 *   struct anon_name a shared, reference-counted [anon:NAME] string
 */
#ifndef VMAREA_MM_TYPES_H
#define VMAREA_MM_TYPES_H

#include "mm_base.h"
#include "page.h"      /* struct page_pool, embedded in struct mm */
#include "pgtable.h"   /* struct pgtable, embedded in struct mm */
#include "rwsem.h"
#include "vma_tree.h"

#include <pthread.h>
#include <stdatomic.h>

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
 *
 * Three kinds share the struct:
 *   - a driver's object (vm_file_create): f_ops, no page cache;
 *   - a shmem object (shared anonymous memory, a memfd): its own page cache
 *     of frames from the pools of the mms that faulted them;
 *   - a host file (vm_file_open): the open (fd, f_mode) is this struct, the
 *     page cache is another vm_file, its inode (mapping), shared by every
 *     open of the same device and inode and holding the host side
 *     (struct host_inode, filemap.c).
 * Page-cache state (cache, size, seals, the reverse map, nr_writable) lives
 * on the mapping: vm_file_mapping() finds it.
 */
struct host_inode;
struct vm_file {
    atomic_ulong refcount;
    const struct vm_file_operations *f_ops;
    void *private_data;
    char *name;
    bool anon_shmem;               /* behind a MAP_SHARED|MAP_ANONYMOUS mapping */
    bool memfd;                    /* made by vm_file_memfd: may be sealed */
    bool shmem;                    /* shmem semantics (RssShmem, no writeback): shared
                                      anonymous memory, memfds, files on a host tmpfs */
    bool noexec;                   /* on a noexec mount: no PROT_EXEC mapping */
    bool no_mmap;                  /* an object without an mmap (a directory, a pipe): ENODEV */
    bool thp_align;                /* (on a host file's inode) mmap places a range holding a
                                      whole 2 MiB of the file 2 MiB-aligned to it, as the
                                      host does for this file system (thp_get_unmapped_area) */
    bool private_only;             /* (on a host file's inode) the host maps it privately only
                                      (FUSE with direct I/O): its chunks are private and
                                      read-only, and a shared mapping is ENODEV, as
                                      fuse_file_mmap makes it */
    unsigned f_mode;               /* FMODE_READ | FMODE_WRITE: what the open allows */
    int fd;                        /* host files: the open's own descriptor */
    unsigned long dev, ino;
    struct vm_file *mapping;       /* host files: the inode holding the page cache;
                                      NULL when this struct holds its own */
    struct host_inode *host;       /* (on a host file's inode) the host side */
    /* The page cache: a radix tree indexed by pgoff << PAGE_SHIFT (the
     * page-table code, reused), one reference per page held here; guarded
     * by cache_lock, with size and seals.  A shmem object's pages are
     * pinned (PG_pinned): one allocated from the pool of the mm that
     * faulted it first keeps that mm's struct and pool alive, as the object
     * may be mapped by other mms and outlive the first.  A host file's
     * pages are the host's page cache, mapped into this process
     * (filemap.c). */
    pthread_mutex_t cache_lock;
    struct pgtable *cache;
    /* Linux's invalidate_lock: a fault holds it shared from finding its
     * page to mapping it (and copying it), a truncation or a hole punched
     * exclusive while the pages go.  So no fault maps a page the object
     * no longer has, and a host file shrinks on the host only once no one
     * can reach the pages it loses.  Order: after the mmap lock, before
     * rmap_lock. */
    struct rwsem invalidate_lock;
    unsigned long size;            /* bytes (i_size): a fault on a page wholly past it is SIGBUS */
    int seals;                     /* F_SEAL_* (memfds) */
    /* The VMAs that hold a reference on an object with a page cache
     * (Linux's i_mmap), so that a hole punched, a truncation or a writeback
     * reaches every mapping of every mm: an array, guarded by rmap_lock,
     * which is also held while such a VMA's vm_start, vm_end or vm_pgoff
     * changes (vma.c).  Lock order: an mmap lock, then rmap_lock, then
     * cache_lock. */
    pthread_mutex_t rmap_lock;
    struct vma **rmap;
    unsigned long rmap_n, rmap_cap;
    /* VMAs that map the object VM_SHARED and VM_MAYWRITE (Linux's
     * i_mmap_writable): F_SEAL_WRITE is refused while there are any. */
    atomic_long nr_writable;
    long acct_pages;               /* committed for the object (shmem_acct_size); given
                                      back when the last reference goes */
};

#define FMODE_READ  1u
#define FMODE_WRITE 2u

/* The vm_file holding f's page cache and reverse map. */
static inline struct vm_file *vm_file_mapping(struct vm_file *f)
{
    return f->mapping ? f->mapping : f;
}

/* What a mappable's mmap hook may change (vma_new_set_*). */
struct vma_new {
    struct vma *vma;
};

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
    struct mm_config cfg;          /* defaults filled in; constant, except mmap_base, which
                                      mm_exec sets (L) on an empty mm, as exec picks the layout */
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

    /* Node batches back from RCU (vma_init.c): pushed by callbacks,
     * taken by the next write lock. */
    struct reclaim_batch *_Atomic reclaimed;
    struct vma *vma_cache;         /* (L) free VMAs, reused at once (type-stable) */
    struct vma_chunk *vma_chunks;  /* (L) where VMAs come from; freed at the last mmdrop */
    unsigned int vma_chunk_used;

    /* The mm this one was forked from, held (mmgrab) for as long as this
     * one lives: pages of its pool are mapped here until they are copied
     * or unmapped.  Constant. */
    struct mm *fork_parent;

    mm_warn_fn warn_fn;
    void *warn_arg;
    atomic_uint warned;            /* kinds already warned about (WARN_*) */
};

static inline bool vma_is_anonymous(const struct vma *vma) { return !vma->vm_file && !vma->vm_ops; }

/*
 * What mm_install_special_mapping maps ([vdso], [vvar]), shared by the VMAs
 * that map it: the one installed, and the copies fork and mremap make (it
 * never splits, so each maps all of it).  Such a VMA has
 * special_mapping_vmops and this as vm_private_data; it refuses every split,
 * as Linux's special_mapping_split does, and faults through pages[] even
 * with VM_PFNMAP (memory.c).
 * Invariants: refs counts the VMAs; while it is above zero every non-NULL
 * pages[i] holds a reference of ours, and name lives.
 */
struct special_mapping {
    atomic_ulong refs;
    unsigned long npages;
    char *name;
    struct vm_page *pages[];
};
extern const struct vm_operations special_mapping_vmops;   /* special_mapping.c */
void special_mapping_put(struct special_mapping *sm);        /* drop a reference */
static inline bool vma_is_special_mapping(const struct vma *vma) { return vma->vm_ops == &special_mapping_vmops; }
/* Backed by a page cache: a shmem object or a host file. */
static inline bool vma_has_cache(const struct vma *vma)
{
    return vma->vm_file && vm_file_mapping(vma->vm_file)->cache;
}
/* Backed by shmem: shared anonymous memory, a memfd, a host tmpfs file. */
static inline bool vma_is_shmem(const struct vma *vma)
{
    return vma->vm_file && vm_file_mapping(vma->vm_file)->shmem;
}
/* A shared and possibly writable mapping of its file (VM_SHARED|VM_MAYWRITE). */
static inline bool vma_is_shared_maywrite(vm_flags_t flags)
{
    return (flags & (VM_SHARED | VM_MAYWRITE)) == (VM_SHARED | VM_MAYWRITE);
}
/* Special and hugetlb VMAs never take VM_LOCKED (vma_supports_mlock). */
static inline bool vma_supports_mlock(const struct vma *vma)
{
    return !(vma->vm_flags & (VM_SPECIAL | VM_HUGETLB));
}
/* A VMA's anon_vma outside the mmap write lock (a fault may set it). */
static inline struct anon_vma *vma_anon_vma(const struct vma *vma)
{
    return __atomic_load_n(&vma->anon_vma, __ATOMIC_ACQUIRE);
}

#endif

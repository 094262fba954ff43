/* SPDX-License-Identifier: MIT */
/*
 * pgtable.h — four-level page tables as on x86-64 (internal).
 *
 * Glossary:
 *   struct pgtable  one address space's tables (one per mm)
 *   table           4 KiB, 512 entries of 64 bits; levels PGD (root), PUD, PMD, PTE
 *   pte_t           the value of a last-level entry: a frame reference plus flags
 *   slot            a pte_t _Atomic * into a PTE table (what pgtable_walk returns)
 *
 * Address split (48 bits, 4 KiB pages):
 *   47..39 PGD index | 38..30 PUD index | 29..21 PMD index | 20..12 PTE index | 11..0 offset
 * One PGD entry covers 512 GiB, one PUD entry 1 GiB, one PMD entry 2 MiB.
 * With five levels (x86's LA57, for a task size beyond 48 bits) a root of
 * 512 entries of 256 TiB each sits above, indexed by bits 56..48, and the
 * four-level PGD becomes its P4D: 57 bits.
 *
 * PTE format (one 64-bit word, so one atomic load/store/exchange reads or
 * changes a whole entry and no lock is needed between faults on different
 * addresses):
 *
 *   63      62    61    60       59      58   57       56       55 ......... 0
 *   PRESENT WRITE DIRTY ACCESSED SPECIAL FILE PROTNONE LAZYFREE struct vm_page *
 *
 * The frame reference is the descriptor pointer itself, stored unshifted in
 * the low 56 bits: getting the page back is one AND, and no index table is
 * needed between page.c and here.  User-space pointers on x86-64 (4- or
 * 5-level paging) and on arm64 without top-byte tags are below 2^56, so the
 * top byte is free for flags; pte_mk checks it in debug builds.  (The low
 * bits would give only 3 flags with 8-byte aligned descriptors.)  PRESENT is
 * bit 63 so that pte_present is a sign test.
 *
 * Invariant: an entry is 0 (none), has PTE_PRESENT, or is a marker: non-zero
 * without PRESENT (PTE_MARKER_GUARD, a guard region's page, which faults as
 * if nothing were mapped but is kept by zaps).  PRESENT is a bit rather than
 * "non-zero page" so that a special mapping may carry a NULL page (a PFN-map
 * entry without a descriptor).  PROT_NONE pages stay present,
 * with PTE_PROTNONE, as Linux keeps them mapped: the fault code must check it.
 *
 * Locking rules (the caller holds the mmap lock; the tables have no lock of
 * their own):
 *   - Walking, reading, and populating entries: the mmap read lock, or a VMA
 *     read lock covering the address.  Missing tables are installed with a
 *     compare-and-swap, so two faults racing to allocate the same table both
 *     end up using the one that won; the loser frees its own.
 *   - A fault installs an entry with ptep_cmpxchg(slot, 0, new): a racing
 *     fault on the same address loses and finds the winner's entry.
 *   - Clearing entries (pgtable_clear_range, ptep_get_and_clear) may run under
 *     the mmap read lock (vma_zap_page_range_single): each clear is an atomic
 *     exchange, so a page is handed to exactly one clearer's callback and a
 *     concurrently set DIRTY/ACCESSED bit is not lost.
 *   - Changing protections (pgtable_change_prot): mmap write lock, the VMAs
 *     of the range write-locked.
 *   - Freeing tables (pgtable_free_range): mmap write lock, and no VMA left in
 *     [floor, ceiling) that a reader holding a lock could fault in: every
 *     table freed lies inside [floor, ceiling), so no such walker reads it.
 *     Walkers holding no lock at all, only rcu_read_lock (fault.c's access
 *     fast path), may still be inside: with rcu_free set, freed tables stay
 *     zero and go back to the pool after a grace period.
 */
#ifndef VMAREA_PGTABLE_H
#define VMAREA_PGTABLE_H

#include "mm_base.h"
#include "page.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

struct vm_page;
struct page_pool;

typedef uint64_t pte_t;

#define PTE_PRESENT   (1ULL << 63)
#define PTE_WRITE     (1ULL << 62)
#define PTE_DIRTY     (1ULL << 61)
#define PTE_ACCESSED  (1ULL << 60)
#define PTE_SPECIAL   (1ULL << 59)   /* zero page, mixed-map page: not a normal anon/file page */
#define PTE_FILE      (1ULL << 58)   /* page cache page (else anonymous) */
#define PTE_PROTNONE  (1ULL << 57)   /* mapped, but PROT_NONE: no access */
#define PTE_LAZYFREE  (1ULL << 56)   /* MADV_FREE'd anonymous page (Linux: folio not
                                        swap-backed); lazily free while clean */
#define PTE_FLAGS     (0xffULL << 56)
#define PTE_MARKER_GUARD PTE_SPECIAL  /* not present: MADV_GUARD_INSTALL */
#define PTE_PAGE_MASK (~PTE_FLAGS)

/*
 * PMD entries (a PTE table's address, 4 KiB-aligned) carry the state of the
 * 2 MiB they map in their low bits, as Linux's pmd does (transparent huge
 * pages, huge_memory.c):
 *   PMD_HUGE   the table maps one THP as a whole (pmd_trans_huge)
 *   PMD_HZERO  the table maps the huge zero page (512 zero-page entries)
 *   PMD_LARGE  its anonymous pages are one large folio, PMD-mapped or not
 *   PMD_NONE   the table is empty and stands for no table at all (pmd_none),
 *              as after a whole THP was zapped; the next fill clears it
 * Only the fault that installs a table, and zaps and splits (atomic and/or),
 * change them.  Walks mask them off.
 */
#define PMD_HUGE   1ULL
#define PMD_HZERO  2ULL
#define PMD_LARGE  4ULL
#define PMD_NONE   8ULL
#define PMD_FLAGS  0xfffULL

#define PGT_ENTRIES     512
#define PGT_TABLE_SIZE  4096UL                 /* bytes of one table */
#define PGT_PAGE_SHIFT  12
#define PGT_PMD_SHIFT   21                     /* one PTE table maps 2 MiB */
#define PGT_PUD_SHIFT   30                     /* one PMD table maps 1 GiB */
#define PGT_PGD_SHIFT   39                     /* one PUD table maps 512 GiB */
#define PGT_ADDR_LIMIT  (1UL << 48)            /* addresses four levels can map */
#define PGT_ADDR_LIMIT5 (1UL << 57)            /* and five */

/* ------------------------------------------------------------ entries */

static inline pte_t pte_mk(struct vm_page *page, pte_t flags)
{
#ifdef VMAREA_DEBUG
    if (((uintptr_t)page & PTE_FLAGS) || (flags & PTE_PAGE_MASK) || !(flags & PTE_PRESENT))
        __builtin_trap();
#endif
    return (pte_t)(uintptr_t)page | flags;
}
static inline struct vm_page *pte_page(pte_t pte) { return (struct vm_page *)(uintptr_t)(pte & PTE_PAGE_MASK); }
static inline bool pte_none(pte_t pte)     { return pte == 0; }
static inline bool pte_present(pte_t pte)  { return (int64_t)pte < 0; }
static inline bool pte_marker(pte_t pte)   { return pte && !pte_present(pte); }
static inline bool pte_write(pte_t pte)    { return pte & PTE_WRITE; }
static inline bool pte_dirty(pte_t pte)    { return pte & PTE_DIRTY; }
static inline bool pte_young(pte_t pte)    { return pte & PTE_ACCESSED; }
static inline bool pte_special(pte_t pte)  { return pte & PTE_SPECIAL; }
static inline bool pte_file(pte_t pte)     { return pte & PTE_FILE; }
static inline bool pte_protnone(pte_t pte) { return pte & PTE_PROTNONE; }

/*
 * One entry, atomically.  Ordering: a store publishes with release and a load
 * acquires, so whoever finds an entry also sees what was written to its page
 * (descriptor and contents) before it was installed.
 */
static inline pte_t ptep_get(pte_t _Atomic *ptep)
{
    return atomic_load_explicit(ptep, memory_order_acquire);
}
static inline void ptep_set(pte_t _Atomic *ptep, pte_t pte)
{
    atomic_store_explicit(ptep, pte, memory_order_release);
}
/* Install only if the entry is still *expected; else *expected gets what is there. */
static inline bool ptep_cmpxchg(pte_t _Atomic *ptep, pte_t *expected, pte_t pte)
{
    return atomic_compare_exchange_strong_explicit(ptep, expected, pte, memory_order_acq_rel,
                                                   memory_order_acquire);
}
static inline pte_t ptep_get_and_clear(pte_t _Atomic *ptep)
{
    return atomic_exchange_explicit(ptep, 0, memory_order_acq_rel);
}
/* Set ACCESSED/DIRTY the way hardware does: no lost update against a clear. */
static inline void ptep_set_flags(pte_t _Atomic *ptep, pte_t flags)
{
    pte_t old = atomic_load_explicit(ptep, memory_order_relaxed);
    /* A CAS, not fetch_or: an entry cleared meanwhile must stay 0. */
    while (old && (old & flags) != flags &&
           !atomic_compare_exchange_weak_explicit(ptep, &old, old | flags, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

/* -------------------------------------------------------------- tables */

/*
 * One address space's tables.
 *
 * Invariants:
 *   bytes == PGT_TABLE_SIZE * (number of PUD, PMD and PTE tables reachable
 *            from pgd)   (the root is not counted, as in Linux's pgtables_bytes)
 *   every table reachable from pgd was allocated here, zeroed, and is
 *   reachable through exactly one entry.
 * pgd and top are set by pgtable_init and constant until pgtable_destroy;
 * bytes is an atomic because racing faults install tables under the mmap
 * read lock.  (With five levels the P4D tables count too, where Linux counts
 * only PUD, PMD and PTE tables.)
 */
struct pgtable {
    pte_t _Atomic *pgd;
    int top;                       /* the root's level: 3 (four levels) or 4 (five) */
    atomic_long bytes;
    struct page_pool *charge;      /* tables count against its limit (NULL: none);
                                      set once after pgtable_init */
    bool rcu_free;                 /* walkers without locks: freed tables wait for
                                      an RCU grace period (set once after init) */
};

/* -ENOMEM, or 0 with an empty root table of four levels, or of five where
 * limit (the highest address to map, exclusive) is beyond PGT_ADDR_LIMIT.
 * Locks: none (the mm is new). */
int  __must_check pgtable_init_limit(struct pgtable *pt, unsigned long limit);
static inline int __must_check pgtable_init(struct pgtable *pt)
{
    return pgtable_init_limit(pt, PGT_ADDR_LIMIT);
}
/* What the tables can map: PGT_ADDR_LIMIT or PGT_ADDR_LIMIT5. */
static inline unsigned long pgtable_limit(const struct pgtable *pt)
{
    return pt->top == 4 ? PGT_ADDR_LIMIT5 : PGT_ADDR_LIMIT;
}
/* Free every table.  Entries still present are dropped without a callback:
 * clear the ranges first.  Locks: none (the last user is gone). */
void pgtable_destroy(struct pgtable *pt);

static inline unsigned long pgtable_bytes(const struct pgtable *pt)
{
    return (unsigned long)atomic_load_explicit(&pt->bytes, memory_order_relaxed);
}

/*
 * The slot for addr (< pgtable_limit), or NULL if a table on the way is
 * missing.  Locks: mmap read lock, or a VMA read lock covering addr.
 */
/* The entry at level bottom for addr (0: the PTE, 1: the PMD), or NULL if a
 * table above it is missing.  A fifth level is one predicted branch: the
 * four below stay an unrolled loop. */
static inline __attribute__((always_inline)) pte_t _Atomic *
pgtable_walk_to(struct pgtable *pt, unsigned long addr, int bottom)
{
    pte_t _Atomic *t = pt->pgd;
    if (__builtin_expect(pt->top == 4, 0)) {
        pte_t e = atomic_load_explicit(&t[(addr >> (PGT_PAGE_SHIFT + 9 * 4)) & (PGT_ENTRIES - 1)],
                                       memory_order_acquire);
        if (!e)
            return NULL;
        t = (pte_t _Atomic *)(uintptr_t)(e & ~PMD_FLAGS);
    }
#pragma GCC unroll 3
    for (int l = 3; l > bottom; l--) {
        pte_t e = atomic_load_explicit(&t[(addr >> (PGT_PAGE_SHIFT + 9 * l)) & (PGT_ENTRIES - 1)],
                                       memory_order_acquire);
        if (!e)
            return NULL;
        t = (pte_t _Atomic *)(uintptr_t)(e & ~PMD_FLAGS);
    }
    return &t[(addr >> (PGT_PAGE_SHIFT + 9 * bottom)) & (PGT_ENTRIES - 1)];
}
/* Inline: mm_read and mm_write walk once per access. */
static inline pte_t _Atomic *pgtable_walk(struct pgtable *pt, unsigned long addr)
{
    return pgtable_walk_to(pt, addr, 0);
}
/*
 * The slot for addr, allocating missing tables: 0 and *out, or -ENOMEM with
 * nothing changed (every table it needs is allocated before the first one is
 * installed).  Locks: as pgtable_walk.
 */
int __must_check pgtable_walk_alloc(struct pgtable *pt, unsigned long addr, pte_t _Atomic **out);

/* The PMD entry covering addr, or NULL if an upper table is missing.
 * Locks: as pgtable_walk. */
static inline pte_t _Atomic *pgtable_pmd(struct pgtable *pt, unsigned long addr)
{
    return pgtable_walk_to(pt, addr, 1);
}
/* The same, allocating the upper tables (not the PTE table): 0 or -ENOMEM. */
int pgtable_pmd_alloc(struct pgtable *pt, unsigned long addr, pte_t _Atomic **out);
/*
 * Install a new PTE table holding entries[512], with PMD flags, where the
 * PMD entry still holds old (0): 0, -ENOMEM, or -EAGAIN (someone else put a
 * table there; nothing changed).  Locks: as pgtable_walk_alloc.
 */
int pgtable_install_table(struct pgtable *pt, pte_t _Atomic *pmdp, pte_t old, const pte_t *entries,
                          pte_t flags);
static inline pte_t _Atomic *pmd_table(pte_t pmd) { return (pte_t _Atomic *)(uintptr_t)(pmd & ~PMD_FLAGS); }

/* No entry of table t is set.  OR-reduced in blocks: a full table usually
 * fails in the first block. */
static inline bool pgtable_table_empty(pte_t _Atomic *t)
{
    for (unsigned i = 0; i < PGT_ENTRIES; i += 16) {
        pte_t acc = 0;
        for (unsigned j = 0; j < 16; j++)
            acc |= atomic_load_explicit(&t[i + j], memory_order_relaxed);
        if (acc)
            return false;
    }
    return true;
}

/*
 * Call fn for every present entry in [start, end) in address order, with its
 * slot and the value loaded.  A missing table is skipped in one step, so the
 * cost follows the populated tables, not the range.  A non-zero return from
 * fn stops the walk and is returned.  fn may change the entry through the
 * slot (with the ptep_ functions).  Locks: mmap read lock, or a VMA read lock
 * covering the range; entries may change under a reader (fn gets one value).
 */
typedef int (*pgt_pte_fn)(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte);
int pgtable_for_each(struct pgtable *pt, unsigned long start, unsigned long end,
                     pgt_pte_fn fn, void *arg);

/* Call fn for every non-empty PMD entry whose 2 MiB meets [start, end), with
 * the 2 MiB's start.  Locks: as pgtable_for_each. */
int pgtable_for_each_pmd(struct pgtable *pt, unsigned long start, unsigned long end, pgt_pte_fn fn,
                         void *arg);

/*
 * Clear every entry in [start, end) but markers; fn (may be NULL) gets each
 * one that was cleared, after the clear.  Tables stay (vma_zap_page_range_single,
 * MADV_DONTNEED).  Returns the number of entries cleared.
 * Locks: mmap read lock is enough (atomic exchange per entry).
 */
typedef void (*pgt_clear_fn)(void *arg, unsigned long addr, pte_t old);
unsigned long pgtable_clear_range(struct pgtable *pt, unsigned long start, unsigned long end,
                                  pgt_clear_fn fn, void *arg);

/*
 * The clear of the entries for [addr, end) of one PTE table t (end no
 * further than t's 2 MiB): pgtable_clear_range's inner loop, in the header
 * so that a caller with a constant fn gets it inlined into the loop (a zap
 * clears millions of entries a second, and an indirect call per entry was a
 * third of its instructions).  Markers stay if keep_markers.  Returns the
 * number cleared.
 */
static inline __attribute__((always_inline)) unsigned long
pte_clear_run(pte_t _Atomic *t, unsigned long addr, unsigned long end, bool keep_markers,
              pgt_clear_fn fn, void *arg)
{
    unsigned long cleared = 0;
    unsigned int i = (addr >> PGT_PAGE_SHIFT) & (PGT_ENTRIES - 1);
    for (; addr < end; addr += 1UL << PGT_PAGE_SHIFT, i++) {
        /* fn will touch the page descriptor an entry points to: start
         * loading one a few entries ahead (frames come back in any order,
         * so descriptors may be cold). */
        if (fn && i + 8 < PGT_ENTRIES) {
            pte_t ahead = atomic_load_explicit(&t[i + 8], memory_order_relaxed);
            if (pte_present(ahead))
                __builtin_prefetch(pte_page(ahead), 1);
        }
        /* A load first: most holes cost no locked instruction. */
        pte_t cur = atomic_load_explicit(&t[i], memory_order_relaxed);
        if (!cur || (pte_marker(cur) && keep_markers))
            continue;
        /* An exchange, not a store: under the mmap read lock a racing
         * clearer or a DIRTY/ACCESSED update may touch the same entry, and
         * exactly one clearer must get the page. */
        pte_t old = atomic_exchange_explicit(&t[i], 0, memory_order_acq_rel);
        if (!old)
            continue;
        cleared++;
        if (fn)
            fn(arg, addr, old);
    }
    return cleared;
}

/* pgtable_clear_range with the per-table loop supplied: run gets each PTE
 * table's part of [start, end) and returns what it cleared; it is typically
 * pte_clear_run with keep_markers and a constant fn. */
typedef unsigned long (*pgt_clear_run_fn)(void *arg, pte_t _Atomic *t, unsigned long addr,
                                          unsigned long end);
unsigned long pgtable_clear_range_run(struct pgtable *pt, unsigned long start, unsigned long end,
                                      pgt_clear_run_fn run, void *arg);
/*
 * Move the entries of [old, old + len) to [new, new + len) (mremap's
 * move_page_tables), markers too: each is taken from its slot with an
 * exchange and stored at the same offset of the new range, whose slots are
 * empty.  Where both sides are one whole PTE table (2 MiB-aligned, the
 * extent a full 2 MiB) and the new side has no table, the table itself moves
 * with its PMD flags (move_normal_pmd, move_huge_pmd); elsewhere a huge or
 * large-folio table moved in part becomes an ordinary one first
 * (split_huge_pmd).  Returns the bytes done: len, or less when a table for
 * the new side could not be had (-ENOMEM), the rest not moved.
 * Locks: mmap write lock; the VMAs of both ranges write-locked.
 */
unsigned long pgtable_move_range(struct pgtable *pt, unsigned long old, unsigned long new, unsigned long len);
/*
 * Copy the entries of [start, end) of src into dst at the same addresses
 * (fork's copy_page_range): fn gets each non-empty entry of src with its
 * slot, and returns the entry dst gets (0: none); it may change src's
 * entry through the slot.  A PTE table whose whole 2 MiB lies in the range
 * keeps its PMD flags in dst (a huge page stays huge).  0, or -ENOMEM with
 * what was copied copied.  Locks: both mms' write locks.
 */
typedef pte_t (*pgt_copy_fn)(void *arg, unsigned long addr, pte_t _Atomic *src, pte_t pte);
int pgtable_copy_range(struct pgtable *dst, struct pgtable *src, unsigned long start, unsigned long end,
                       pgt_copy_fn fn, void *arg);
/*
 * As pgtable_clear_range, markers included (fn gets them too), then free
 * each table that intersects [start, end),
 * is now empty, and maps only addresses inside [floor, ceiling) (munmap,
 * Linux's free_pgtables rule: floor is the previous VMA's end or 0, ceiling
 * the next VMA's start or 0 for "no next VMA", so a table shared with a
 * neighbour stays).  Emptied upper tables are freed by the same rule.
 * Locks: mmap write lock; no VMA in [floor, ceiling) a reader could fault in.
 */
unsigned long pgtable_free_range(struct pgtable *pt, unsigned long start, unsigned long end,
                                 unsigned long floor, unsigned long ceiling,
                                 pgt_clear_fn fn, void *arg);

/*
 * For every present entry in [start, end): entry = (entry & ~clear) | set
 * (flag bits only).  Returns the number of entries that changed.
 * Locks: mmap write lock, the range's VMAs write-locked (mprotect).
 */
unsigned long pgtable_change_prot(struct pgtable *pt, unsigned long start, unsigned long end,
                                  pte_t clear, pte_t set);

/* Tables taken from the process-wide pool and not yet returned, roots
 * included (for leak checks in tests: pool memory itself stays mapped). */
long pgt_tables_in_use(void);

#endif

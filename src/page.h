/* SPDX-License-Identifier: MIT */
/*
 * page.h — page frames: where the memory behind an address space comes from.
 *
 * Glossary:
 *   frame        4 KiB of host memory that backs one guest page
 *   struct vm_page   a frame's descriptor (refcount, mapcount, address);
 *                kept apart from the frame data, 32 bytes
 *   chunk        2 MiB of host memory carved into 512 frames, with its
 *                512 descriptors in a separate array (one host mmap per chunk)
 *   struct page_pool  the frames of one mm: a free list, a limit, counts
 *   zero page    one read-only, zero-filled frame per process, never freed
 *
 * Ideas the code rests on:
 *   - Frames never go back to the host while the pool lives; a freed frame is
 *     pushed on the pool's free list and reused.  A chunk is prefaulted when
 *     carved (MADV_HUGEPAGE + MADV_POPULATE_WRITE) so no host page fault or
 *     syscall happens per frame afterwards.
 *   - Descriptors are type-stable: they live until page_pool_destroy, which is
 *     what makes the lock-free free list safe to read (see page.c).
 *   - The limit counts frames in use, not frames carved: a reservation on
 *     pool->nr_reserved comes first and is undone on any failure, so a failed
 *     allocation changes nothing.  Without a limit there is no shared count.
 */
#ifndef VMAREA_PAGE_H
#define VMAREA_PAGE_H

#include "mm_base.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/*
 * A frame descriptor.
 *
 * Invariants:
 *   free (on a free list)  <=>  refcount == 0;  then mapcount == 0.
 *   in use                 <=>  refcount >= 1;  mapcount <= refcount
 *       (each page-table mapping holds one reference of its own, as in Linux;
 *       the mapcount says how many of the references are mappings).
 *   virtual, pool: set when the chunk is carved, constant until
 *       page_pool_destroy.  pool == NULL only for the zero page.
 *   free_next: while free, the next free frame; written by the pusher, read
 *       by a popper that may race with a pop of the same frame (hence atomic).
 *       Its bit 0 (PAGE_FREE_ZEROED) says the frame's data is known to be zero.
 *   flags (the same word while in use): PG_* bits, 0 at allocation.  A popper
 *       that loses a race may read them as a link; its CAS then fails (the
 *       list head's tag changed when the frame was popped).
 *
 * Locking: none.  refcount and mapcount are atomics changed by whoever holds
 * a reference; the frame data belongs to the holders of references (for a
 * mapped page, access is ordered by the page-table lock of the mapping).
 */
struct vm_page {
    atomic_uint refcount;
    atomic_int mapcount;              /* 0-based (Linux's _mapcount is -1-based) */
    void *virtual;                    /* the frame's 4 KiB, PAGE_SIZE-aligned */
    struct page_pool *pool;
    union {
        _Atomic uintptr_t free_next;  /* free: struct vm_page * | PAGE_FREE_ZEROED */
        _Atomic uintptr_t flags;      /* in use: PG_* */
    };
} __attribute__((aligned(32)));

#define PAGE_FREE_ZEROED ((uintptr_t)1)

/* Page flags.  PG_dirty: the data differs from its backing (Linux's folio
 * dirty): set when a dirty entry of a file page is zapped, so the state
 * survives the mapping, and where a populating write went through a clean
 * writable entry without dirtying it (follow_page_pte's folio_mark_dirty),
 * which every mapping of the page then sees. */
#define PG_dirty ((uintptr_t)1)
/* PG_pinned: allocated by page_alloc_pinned for a driver or a shmem object,
 * which may keep it past the address space's last mmdrop: the page pins the
 * pool's owner (the mm) until it is freed. */
#define PG_pinned ((uintptr_t)2)
/* PG_hostfile: a host file's page (filemap.c), whose frame is the host's
 * page cache mapped into this process: in no pool.  When its last
 * reference goes it has only left vmarea's cache; the descriptor stays
 * with its mapping. */
#define PG_hostfile ((uintptr_t)4)
/* PG_anon_shared: an anonymous page a fork gave a second mapping, until a
 * write fault finds it alone again and reuses it (Linux's page without
 * PageAnonExclusive; new pages are exclusive, so the bit is the inverse and
 * costs an allocation nothing).  No writable entry maps a page with it
 * (mm_validate checks); mprotect makes only exclusive pages' entries
 * writable without a fault. */
#define PG_anon_shared ((uintptr_t)8)
/* PG_mlocked: a page left mapped in a VMA that mremap's DONTUNMAP took
 * VM_LOCKED from (Linux's dontunmap_complete clears the flags and does not
 * munlock): its folio stays mlocked, so unevictable.  Reclaim
 * (MADV_PAGEOUT) keeps it, MADV_FREE does not make it lazily free, and a
 * folio split does not map the zero page over it.  The bits at
 * PG_MLOCK_COUNT_SHIFT are Linux's mlock_count for it (mlock.c has the
 * rules); the bit goes at a munlock that leaves the count 0, or with the
 * page.
 * A page only VM_LOCKED VMAs have mlocked needs neither: the VMAs' flags
 * decide there, and their munlock would clear it.  Count bits are 0
 * without the bit. */
#define PG_mlocked ((uintptr_t)16)
#define PG_MLOCK_COUNT_SHIFT 8
#define PG_MLOCK_COUNT_MASK ((uintptr_t)0xff << PG_MLOCK_COUNT_SHIFT)

static inline bool page_test_flag(struct vm_page *page, uintptr_t flag)
{
    return atomic_load_explicit(&page->flags, memory_order_relaxed) & flag;
}
static inline void page_set_flag(struct vm_page *page, uintptr_t flag)
{
    if (!page_test_flag(page, flag))
        atomic_fetch_or_explicit(&page->flags, flag, memory_order_relaxed);
}
static inline void page_clear_flag(struct vm_page *page, uintptr_t flag)
{
    if (page_test_flag(page, flag))
        atomic_fetch_and_explicit(&page->flags, ~flag, memory_order_relaxed);
}
static inline void page_set_dirty(struct vm_page *page)
{
    page_set_flag(page, PG_dirty);
}
static inline bool page_test_dirty(struct vm_page *page)
{
    return page_test_flag(page, PG_dirty);
}

/*
 * One free list and one in-use count, on a cache line of its own.  A thread
 * allocates from and frees to its own shard (chosen once per thread), so
 * threads faulting in parallel do not bounce one line between CPUs; a
 * thread whose shard is empty takes another shard's whole list.
 */
#define PAGE_POOL_SHARDS 8

struct page_shard {
    _Atomic uint64_t free_head;       /* tagged pointer: see page.c */
    atomic_long nr_used;              /* allocations minus frees through this
                                         shard; may be negative, sums exact */
} __attribute__((aligned(64)));

/*
 * A pool of frames (one per mm).
 *
 * Invariants (when no call is in progress):
 *   nr_frames == 512 * (chunks on the chunk list)
 *   nr_frames == in_use + (descriptors on all free lists)
 *       where in_use == sum of shard[i].nr_used
 *   in_use + charged == nr_reserved <= limit  (with a limit; else nr_reserved == 0)
 *       where charged is what page_pool_charge took for memory that is not
 *       frames (page tables), so the limit bounds both
 *
 * Locking:
 *   shard[], nr_reserved: lock-free atomics, any thread, any number at once
 *       (faults run in parallel under the mmap read lock).
 *   chunks, nr_frames (writes): grow_lock, taken only when every free list
 *       looked empty; it is rechecked under the lock, so a chunk is carved
 *       at most once per such race (carving may overshoot by a chunk while
 *       another thread moves a list between shards; the limit never does).
 *   limit: constant after page_pool_init.
 * Lifetime: every frame must be put before page_pool_destroy; a frame put
 * afterwards touches freed memory.
 */
struct page_pool {
    struct page_shard shard[PAGE_POOL_SHARDS];
    atomic_ulong nr_reserved;         /* frames in use, kept only with a limit */
    unsigned long limit;              /* frames; ULONG_MAX: none */
    atomic_ulong nr_frames;           /* frames carved */
    struct page_chunk *chunks;
    pthread_mutex_t grow_lock;
    /*
     * Deferred frees (page_pool_set_rcu_free): a frame whose last reference
     * goes may still be read or written by an access that found it in a
     * page-table entry without a lock (fault.c), so it returns to the free
     * list only after an RCU grace period.  It stops counting as in use (and
     * against the limit) at once.  Single frees wait on the pending stack
     * (linked through free_next) until RCU_FREE_BATCH of them go together;
     * each batch in flight holds a reference on the owner (get/put), which
     * keeps the pool alive until the batch is back.
     */
    void *owner;
    void (*owner_get)(void *owner), (*owner_put)(void *owner);
    _Atomic(struct vm_page *) pending;
    atomic_ulong nr_pending;
};

/* Pool lifetime.  limit_bytes: 0 for none, else rounded down to frames.
 * page_pool_init returns 0 or -errno; it takes no host memory yet.
 * page_pool_destroy returns all memory to the host and the number of frames
 * that were still in use (0 unless someone leaked a reference). */
int __must_check page_pool_init(struct page_pool *pool, unsigned long limit_bytes);
unsigned long page_pool_destroy(struct page_pool *pool);

/*
 * One frame with one reference, mapcount 0; NULL means -ENOMEM (the limit
 * is reached, or the host gave no memory), and then nothing changed.
 * page_alloc: zero-filled.  page_alloc_nozero: contents undefined, for a
 * caller that overwrites all 4 KiB (copy-on-write, file read).
 * Locks: none needed; any thread.  Ordering: a frame's previous owner's
 * writes happen before the new owner's (release at free, acquire at alloc).
 */
struct vm_page *__must_check page_alloc(struct page_pool *pool);
struct vm_page *__must_check page_alloc_nozero(struct page_pool *pool);
/* page_alloc for a page that may outlive the pool's owner's last user (a
 * driver's, a shmem object's): PG_pinned, it holds a reference on the
 * owner until it is freed. */
struct vm_page *__must_check page_alloc_pinned(struct page_pool *pool);

/* Count n frames' worth of other memory (page tables) against the limit:
 * false, and nothing charged, if it would pass it.  Locks: none. */
static inline bool page_pool_charge(struct page_pool *pool, unsigned long n)
{
    if (!pool || pool->limit == ULONG_MAX)
        return true;
    unsigned long used = atomic_fetch_add_explicit(&pool->nr_reserved, n, memory_order_relaxed);
    if (used + n > pool->limit) {
        atomic_fetch_sub_explicit(&pool->nr_reserved, n, memory_order_relaxed);
        return false;
    }
    return true;
}
static inline void page_pool_uncharge(struct page_pool *pool, unsigned long n)
{
    if (pool && pool->limit != ULONG_MAX && n)
        atomic_fetch_sub_explicit(&pool->nr_reserved, n, memory_order_relaxed);
}

/* From now on free frames through RCU (see struct page_pool); owner_get and
 * owner_put pin the pool's owner while a batch is in flight. */
void page_pool_set_rcu_free(struct page_pool *pool, void *owner, void (*owner_get)(void *),
                            void (*owner_put)(void *));

/* Is there room under the limit for n more frames now?  A hint (racing
 * allocations may take it): for a caller that would otherwise allocate n
 * one by one only to give them back (a huge page). */
static inline bool page_pool_has_room(struct page_pool *pool, unsigned long n)
{
    if (pool->limit == ULONG_MAX)
        return true;
    unsigned long used = atomic_load_explicit(&pool->nr_reserved, memory_order_relaxed);
    return used <= pool->limit && pool->limit - used >= n;
}

/* Out-of-line end of page_put: back to the free list. */
void __page_free(struct vm_page *page);

/* The process's shared zero page: read-only (writes fault on the host),
 * never freed, in no pool.  Map it with a special PTE and do not take
 * references on it (a shared refcount would bounce between CPUs). */
extern struct vm_page vmarea_zero_page;
static inline struct vm_page *zero_page(void) { return &vmarea_zero_page; }
static inline bool is_zero_page(const struct vm_page *page) { return page == &vmarea_zero_page; }

static inline void *page_address(const struct vm_page *page) { return page->virtual; }

/* Copy a frame (copy-on-write) with one rep movsb: gcc turns a constant
 * 4 KiB memcpy into rep movsq, which copies a frame about 150 ns slower
 * here (AMD EPYC with ERMS and FSRM); glibc's memcpy takes rep movsb or
 * vector moves after a call.  The sanitizers see a memcpy. */
static inline void copy_frame(void *dst, const void *src)
{
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    size_t n = PAGE_SIZE;
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
#else
    memcpy(dst, src, PAGE_SIZE);
#endif
}

static inline unsigned int page_count(struct vm_page *page)
{
    return atomic_load_explicit(&page->refcount, memory_order_relaxed);
}

static inline int page_mapcount(struct vm_page *page)
{
    return atomic_load_explicit(&page->mapcount, memory_order_relaxed);
}

/* Locks: the caller already holds a reference (or the mapping that holds
 * one, under its page-table lock).  No ordering: a new reference publishes
 * nothing. */
static inline void page_get(struct vm_page *page)
{
    VM_BUG_ON(page_count(page) == 0);
    atomic_fetch_add_explicit(&page->refcount, 1, memory_order_relaxed);
}

/*
 * Drop a reference; the last one frees the frame to its pool.  A frame
 * still mapped when its last reference goes is a bug (mappings hold
 * references).  acq_rel: every holder's writes to the frame happen before
 * its reuse (one RMW rather than release + fence, which TSan cannot see).
 */
static inline void page_put(struct vm_page *page)
{
    unsigned int old = atomic_fetch_sub_explicit(&page->refcount, 1, memory_order_acq_rel);
    VM_BUG_ON(old == 0);
    if (old == 1)
        __page_free(page);
}

/*
 * Frames freed together (a zap of many pages): the last references are
 * dropped one by one, the frames go back to their pool in one push.
 * page_batch_put is page_put; page_batch_flush must follow before the batch
 * goes out of scope.
 */
struct page_batch {
    struct page_pool *pool;
    struct vm_page *first, *last;
    unsigned long n, pinned;   /* frames; of them PG_pinned ones */
};

static inline void page_batch_init(struct page_batch *b)
{
    b->pool = NULL;
    b->first = b->last = NULL;
    b->n = b->pinned = 0;
}

/* Inline: a zap calls these once per page. */
static inline __attribute__((always_inline)) void __page_batch_link(struct page_batch *b,
                                                                   struct vm_page *page,
                                                                   bool maybe_pinned)
{
    VM_BUG_ON(page_mapcount(page) != 0);
    if (unlikely(b->pool != page->pool || !page->pool)) {
        /* Another pool's frame, or a host file's page (in none). */
        if (b->pool || !page->pool) {
            __page_free(page);
            return;
        }
        b->pool = page->pool;
    }
    if (maybe_pinned && (atomic_load_explicit(&page->flags, memory_order_relaxed) & PG_pinned))
        b->pinned++;
    /* Linked like a free list, in the order freed, so that the pool hands
     * the frames out again in that order: a zap walks up the addresses, and
     * zeroing frames in ascending address order is about 130 ns per frame
     * faster on the host than in descending order (its prefetchers follow
     * ascending streams).  fl_push writes the last one's link. */
    if (b->last)
        atomic_store_explicit(&b->last->free_next, (uintptr_t)page, memory_order_relaxed);
    else
        b->first = page;
    b->last = page;
    b->n++;
}

static inline void page_batch_link(struct page_batch *b, struct vm_page *page)
{
    __page_batch_link(b, page, true);
}

static inline void page_batch_put(struct page_batch *b, struct vm_page *page)
{
    unsigned int old = atomic_fetch_sub_explicit(&page->refcount, 1, memory_order_acq_rel);
    VM_BUG_ON(old == 0);
    if (old == 1)
        page_batch_link(b, page);
}

/* page_batch_put for a page whose only reference and mapping the caller has
 * just taken from a page-table entry, and on which nobody else can take or
 * drop counts: plain stores, no locked instruction.  Such a page is
 * anonymous, from page_alloc: never PG_pinned (a driver's vm_page_alloc
 * pages are mapped as file pages). */
static inline void page_batch_free_exclusive(struct page_batch *b, struct vm_page *page)
{
    VM_BUG_ON(atomic_load_explicit(&page->flags, memory_order_relaxed) & PG_pinned);
    atomic_store_explicit(&page->mapcount, 0, memory_order_relaxed);
    atomic_store_explicit(&page->refcount, 0, memory_order_relaxed);
    __page_batch_link(b, page, false);
}
/* Free the batch: through RCU if the pool defers frees, unless now is true
 * (no one can be reading the frames: the address space's last user is gone). */
void page_batch_flush(struct page_batch *b, bool now);

/* A page-table entry now points at (no longer points at) the frame.  The
 * caller holds the page-table lock and, for add, a reference for the mapping. */
static inline void page_mapcount_inc(struct vm_page *page)
{
    atomic_fetch_add_explicit(&page->mapcount, 1, memory_order_relaxed);
}

/* The first mapping of a page nobody else can see yet. */
static inline void page_mapcount_set_new(struct vm_page *page)
{
    VM_BUG_ON(page_mapcount(page) != 0);
    atomic_store_explicit(&page->mapcount, 1, memory_order_relaxed);
}

static inline void page_mapcount_dec(struct vm_page *page)
{
    int old = atomic_fetch_sub_explicit(&page->mapcount, 1, memory_order_relaxed);
    VM_BUG_ON(old <= 0);
    (void)old;
}

/* Counts, for stats; exact only when no call is in progress. */
static inline unsigned long page_pool_in_use(struct page_pool *pool)
{
    long n = 0;
    for (int i = 0; i < PAGE_POOL_SHARDS; i++)
        n += atomic_load_explicit(&pool->shard[i].nr_used, memory_order_relaxed);
    return n < 0 ? 0 : (unsigned long)n;   /* a racing read may see a free before its alloc */
}

static inline unsigned long page_pool_frames(struct page_pool *pool)
{
    return atomic_load_explicit(&pool->nr_frames, memory_order_relaxed);
}

/* Frames on the free list.  Quiescent pool only (tests, debug checks). */
unsigned long page_pool_count_free(struct page_pool *pool);

#endif

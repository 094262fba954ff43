/* SPDX-License-Identifier: MIT */
/*
 * page.c — page frames: chunks from the host, lock-free free lists (one
 * per shard), the memory limit, and the shared zero page.  The rules are in
 * page.h.
 *
 * Each free list is a Treiber stack whose head packs a descriptor pointer with
 * a generation tag, so that a pop that read head A and A->next B cannot
 * succeed after A was popped, B popped, and A pushed again (ABA): each push
 * and pop changes the tag.  A popper may read free_next of a descriptor that
 * another thread has just taken; that is harmless because descriptors live
 * until page_pool_destroy (type-stable) and the stale value is discarded
 * when the CAS fails.
 *
 * Head encoding (64 bits): descriptor address >> 5 in the low 43 bits
 * (descriptors are 32-byte aligned and below 2^48), tag in the high 21.
 */
#include "page.h"
#include "host.h"
#include "rcu.h"

#include <limits.h>
#include <stdlib.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define PAGE_VALGRIND 1
#endif
#include <string.h>

#define CHUNK_SIZE   PMD_SIZE                      /* one huge page when THP allows */
#define CHUNK_FRAMES (CHUNK_SIZE / PAGE_SIZE)

/*
 * 2 MiB of frames and their descriptors.  Descriptors are a separate
 * allocation so that frame data stays huge-page backed and descriptors of
 * neighbouring frames share cache lines.  Guarded by the pool's grow_lock
 * (next); frames and pages are constant once carved.
 */
struct page_chunk {
    struct page_chunk *next;
    void *frames;
    struct vm_page pages[CHUNK_FRAMES];
};

#define FL_SHIFT    5
#define FL_PTR_BITS 43
#define FL_PTR_MASK ((UINT64_C(1) << FL_PTR_BITS) - 1)

static inline struct vm_page *fl_ptr(uint64_t head)
{
    return (struct vm_page *)(uintptr_t)((head & FL_PTR_MASK) << FL_SHIFT);
}

static inline uint64_t fl_next_head(uint64_t old, struct vm_page *p)
{
    /* The tag wraps at 2^21; an ABA would need that many operations while
     * one popper sits between its load and its CAS. */
    uint64_t tag = (old >> FL_PTR_BITS) + 1;
    return ((uint64_t)(uintptr_t)p >> FL_SHIFT) | (tag << FL_PTR_BITS);
}

/* Push first..last (already linked through free_next); zeroed is the flag
 * bit for last's own data. */
static void fl_push(_Atomic uint64_t *head, struct vm_page *first, struct vm_page *last, bool zeroed)
{
    uint64_t old = atomic_load_explicit(head, memory_order_relaxed);
    uint64_t new;
    do {
        atomic_store_explicit(&last->free_next, (uintptr_t)fl_ptr(old) | (zeroed ? PAGE_FREE_ZEROED : 0),
                              memory_order_relaxed);
        new = fl_next_head(old, first);
        /* release: the frame's data and free_next are written before a
         * popper can see the frame. */
    } while (!atomic_compare_exchange_weak_explicit(head, &old, new,
                                                    memory_order_release, memory_order_relaxed));
}

static inline struct vm_page *fl_pop(_Atomic uint64_t *head, bool *zeroed)
{
    /* acquire (on load and on CAS failure): the free_next we read is the
     * one the pusher of this head wrote (a pop's CAS continues the release
     * sequence of the push before it). */
    uint64_t old = atomic_load_explicit(head, memory_order_acquire);
    for (;;) {
        struct vm_page *p = fl_ptr(old);
        if (!p)
            return NULL;
        uintptr_t next = atomic_load_explicit(&p->free_next, memory_order_relaxed);
        if (atomic_compare_exchange_weak_explicit(head, &old,
                                                  fl_next_head(old, (struct vm_page *)(next & ~PAGE_FREE_ZEROED)),
                                                  memory_order_acquire, memory_order_acquire)) {
            /* The next allocation reads the next descriptor: a cache
             * miss whenever the frames came back out of order. */
            __builtin_prefetch((void *)(next & ~PAGE_FREE_ZEROED));
            *zeroed = next & PAGE_FREE_ZEROED;
            return p;
        }
    }
}

/* Take a whole list (no free_next is read, so no ABA concern beyond the tag). */
static struct vm_page *fl_take_all(_Atomic uint64_t *head)
{
    uint64_t old = atomic_load_explicit(head, memory_order_acquire);
    while (fl_ptr(old)) {
        if (atomic_compare_exchange_weak_explicit(head, &old, fl_next_head(old, NULL),
                                                  memory_order_acquire, memory_order_acquire))
            return fl_ptr(old);
    }
    return NULL;
}

/*
 * Which shard this thread uses: assigned round-robin at its first
 * allocation or free, so up to PAGE_POOL_SHARDS threads never share one.
 * initial-exec: a plain %fs-relative load even in the shared library.
 */
static atomic_uint next_shard;
static __thread unsigned int this_shard __attribute__((tls_model("initial-exec")));

static inline struct page_shard *my_shard(struct page_pool *pool)
{
    unsigned int s = this_shard;
    if (unlikely(!s))
        this_shard = s = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) % PAGE_POOL_SHARDS + 1;
    return &pool->shard[s - 1];
}

/*
 * Frame memory of destroyed pools, kept for the next pool of the process.
 * The first touch of host memory is what costs (on a VM, 1 to 15 us per
 * 4 KiB, against ~0.6 us for a warm, populated huge page), and programs
 * create and destroy many short-lived address spaces (the differential
 * tests create one per sequence).  Bounded, so that an idle process holds
 * at most CHUNK_CACHE_MAX * 2 MiB; the memory is dirty, so frames from it
 * are not known-zero.  Guarded by chunk_cache_lock (slow paths only).
 */
#define CHUNK_CACHE_MAX 16
static pthread_mutex_t chunk_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static void *chunk_cache[CHUNK_CACHE_MAX];
static unsigned int chunk_cache_n;

static void *chunk_cache_take(void)
{
    void *frames = NULL;
    pthread_mutex_lock(&chunk_cache_lock);
    if (chunk_cache_n)
        frames = chunk_cache[--chunk_cache_n];
    pthread_mutex_unlock(&chunk_cache_lock);
    return frames;
}

static void chunk_release_frames(void *frames)
{
    pthread_mutex_lock(&chunk_cache_lock);
    if (chunk_cache_n < CHUNK_CACHE_MAX) {
        chunk_cache[chunk_cache_n++] = frames;
        frames = NULL;
    }
    pthread_mutex_unlock(&chunk_cache_lock);
    if (frames)
        host_free(frames, CHUNK_SIZE);
}

int page_pool_init(struct page_pool *pool, unsigned long limit_bytes)
{
    memset(pool, 0, sizeof(*pool));
    for (int i = 0; i < PAGE_POOL_SHARDS; i++) {
        atomic_init(&pool->shard[i].free_head, 0);
        atomic_init(&pool->shard[i].nr_used, 0);
    }
    atomic_init(&pool->nr_reserved, 0);
    atomic_init(&pool->nr_frames, 0);
    pool->limit = limit_bytes ? limit_bytes / PAGE_SIZE : ULONG_MAX;
    pool->chunks = NULL;
    return -pthread_mutex_init(&pool->grow_lock, NULL);
}

unsigned long page_pool_destroy(struct page_pool *pool)
{
    /* No batch is in flight (each pins the owner, which is going away), and
     * no reader is left: what waits on the pending stack is simply free. */
    unsigned long leaked = page_pool_in_use(pool);
    while (pool->chunks) {
        struct page_chunk *c = pool->chunks;
        pool->chunks = c->next;
        chunk_release_frames(c->frames);
        free(c);
    }
    pthread_mutex_destroy(&pool->grow_lock);
    for (int i = 0; i < PAGE_POOL_SHARDS; i++)
        atomic_store_explicit(&pool->shard[i].free_head, 0, memory_order_relaxed);
    atomic_store_explicit(&pool->nr_frames, 0, memory_order_relaxed);
    return leaked;
}

/*
 * Another shard's whole list: keep its first frame, and give the rest to our
 * shard (in one step when ours is still empty, the usual case, so frames are
 * out of every list only for a moment).  NULL if every other list is empty.
 */
static struct vm_page *page_steal(struct page_pool *pool, struct page_shard *sh, bool *zeroed)
{
    size_t me = sh - pool->shard;
    for (size_t i = 1; i < PAGE_POOL_SHARDS; i++) {
        struct vm_page *p = fl_take_all(&pool->shard[(me + i) % PAGE_POOL_SHARDS].free_head);
        if (!p)
            continue;
        uintptr_t next = atomic_load_explicit(&p->free_next, memory_order_relaxed);
        *zeroed = next & PAGE_FREE_ZEROED;
        struct vm_page *rest = (struct vm_page *)(next & ~PAGE_FREE_ZEROED);
        if (!rest)
            return p;
        uint64_t old = atomic_load_explicit(&sh->free_head, memory_order_relaxed);
        if (!fl_ptr(old) && atomic_compare_exchange_strong_explicit(&sh->free_head, &old,
                                                                    fl_next_head(old, rest),
                                                                    memory_order_release, memory_order_relaxed))
            return p;
        struct vm_page *last = rest;
        uintptr_t ln;
        while ((ln = atomic_load_explicit(&last->free_next, memory_order_relaxed)) & ~PAGE_FREE_ZEROED)
            last = (struct vm_page *)(ln & ~PAGE_FREE_ZEROED);
        fl_push(&sh->free_head, rest, last, ln & PAGE_FREE_ZEROED);
        return p;
    }
    return NULL;
}

/*
 * Every free list looked empty: carve a chunk, keep one frame, push the rest
 * on our shard.  Fresh host memory is zero, so its frames are pushed as
 * known-zero; memory from the chunk cache is not.
 */
static struct vm_page *page_pool_grow(struct page_pool *pool, struct page_shard *sh, bool *zeroed)
{
    pthread_mutex_lock(&pool->grow_lock);
    /* Another thread may have carved a chunk, or freed, while we waited. */
    struct vm_page *p = fl_pop(&sh->free_head, zeroed);
    if (!p)
        p = page_steal(pool, sh, zeroed);
    if (p)
        goto out;

    struct page_chunk *c = aligned_alloc(64, (sizeof(*c) + 63) & ~(size_t)63);
    if (!c)
        goto out;
    /* Descriptors must fit the free-list head's 43-bit field. */
    if ((uintptr_t)&c->pages[CHUNK_FRAMES] > (UINT64_C(1) << (FL_PTR_BITS + FL_SHIFT))) {
        free(c);
        goto out;
    }
    bool fresh = false;
    c->frames = chunk_cache_take();
    if (!c->frames) {
        c->frames = (vm_alloc_fails() ? NULL : host_alloc_chunk(CHUNK_SIZE));
        fresh = true;
    }
    if (!c->frames) {
        free(c);
        goto out;
    }
    uintptr_t zero_bit = fresh ? PAGE_FREE_ZEROED : 0;
    for (unsigned long i = 0; i < CHUNK_FRAMES; i++) {
        struct vm_page *pg = &c->pages[i];
        atomic_init(&pg->refcount, 0);
        atomic_init(&pg->mapcount, 0);
        pg->virtual = (char *)c->frames + i * PAGE_SIZE;
        pg->pool = pool;
        atomic_init(&pg->free_next, i + 1 < CHUNK_FRAMES ? (uintptr_t)&c->pages[i + 1] | zero_bit : 0);
    }
    c->next = pool->chunks;
    pool->chunks = c;
    atomic_fetch_add_explicit(&pool->nr_frames, CHUNK_FRAMES, memory_order_relaxed);
    fl_push(&sh->free_head, &c->pages[1], &c->pages[CHUNK_FRAMES - 1], fresh);
    p = &c->pages[0];
    *zeroed = fresh;
out:
    pthread_mutex_unlock(&pool->grow_lock);
    return p;
}

/* Our shard's list was empty: another shard's, else a new chunk. */
static __attribute__((noinline)) struct vm_page *page_alloc_slow(struct page_pool *pool,
                                                                 struct page_shard *sh, bool *zeroed)
{
    struct vm_page *p = page_steal(pool, sh, zeroed);
    return p ? p : page_pool_grow(pool, sh, zeroed);
}

/* Inline in page_alloc: a fault allocates once, and the call and register
 * saves of another level were a tenth of its own instructions. */
static inline __attribute__((always_inline)) struct vm_page *page_alloc_frame(struct page_pool *pool,
                                                                              bool *zeroed)
{
    if (vm_alloc_fails())
        return NULL;
    bool limited = pool->limit != ULONG_MAX;
    /* Reserve first, so concurrent allocators never pass the limit together;
     * relaxed: the count orders nothing, the free lists do. */
    if (limited) {
        unsigned long used = atomic_fetch_add_explicit(&pool->nr_reserved, 1, memory_order_relaxed);
        if (unlikely(used >= pool->limit))
            goto fail;
    }
    struct page_shard *sh = my_shard(pool);
    struct vm_page *p = fl_pop(&sh->free_head, zeroed);
    if (unlikely(!p)) {
        p = page_alloc_slow(pool, sh, zeroed);
        if (!p)
            goto fail;
    }
    VM_BUG_ON(page_count(p) != 0 || page_mapcount(p) != 0);
    atomic_store_explicit(&p->refcount, 1, memory_order_relaxed);
    atomic_store_explicit(&p->flags, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&sh->nr_used, 1, memory_order_relaxed);
    return p;
fail:
    if (limited)
        atomic_fetch_sub_explicit(&pool->nr_reserved, 1, memory_order_relaxed);
    return NULL;
}

/*
 * Zero a frame as Linux's clear_page_erms does: one rep stosb.  gcc turns a
 * constant 4 KiB memset into rep stosq, which on the machines we measure
 * (AMD EPYC with ERMS and FSRM) zeroes a cold frame about 30 ns slower than
 * rep stosb; glibc's memset would also take rep stosb at this size, after a
 * call and its size dispatch.
 */
#ifdef PAGE_VALGRIND
/* valgrind runs rep stosb a byte at a time, and replaces memset: four times
 * slower for the unit tests under valgrind.  Asked once: the client request
 * is a chain of rotations and an exchange, 2 ns of every fault natively. */
static bool on_valgrind;

__attribute__((constructor)) static void page_detect_valgrind(void)
{
    on_valgrind = RUNNING_ON_VALGRIND;
}
#endif

static inline void clear_frame(void *frame)
{
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#ifdef PAGE_VALGRIND
    if (unlikely(on_valgrind)) {
        memset(frame, 0, PAGE_SIZE);
        return;
    }
#endif
    size_t n = PAGE_SIZE;
    __asm__ volatile("rep stosb" : "+D"(frame), "+c"(n) : "a"(0) : "memory");
#else
    memset(frame, 0, PAGE_SIZE);   /* sanitizers see these stores */
#endif
}

struct vm_page *page_alloc(struct page_pool *pool)
{
    bool zeroed;
    struct vm_page *p = page_alloc_frame(pool, &zeroed);
    if (p && !zeroed)
        clear_frame(p->virtual);
    return p;
}

struct vm_page *page_alloc_pinned(struct page_pool *pool)
{
    struct vm_page *page = page_alloc(pool);
    if (page && pool->owner) {
        atomic_store_explicit(&page->flags, PG_pinned, memory_order_relaxed);
        pool->owner_get(pool->owner);
    }
    return page;
}

struct vm_page *page_alloc_nozero(struct page_pool *pool)
{
    bool zeroed;
    return page_alloc_frame(pool, &zeroed);
}

/* The accounting half of a free: the frames stop being in use now. */
static void page_uncount(struct page_pool *pool, unsigned long n)
{
    atomic_fetch_sub_explicit(&my_shard(pool)->nr_used, (long)n, memory_order_relaxed);
    /* After the push (or the deferral): a racing allocator may see the limit
     * still reached for a moment (a transient -ENOMEM), never more frames in
     * use than it. */
    if (pool->limit != ULONG_MAX)
        atomic_fetch_sub_explicit(&pool->nr_reserved, n, memory_order_relaxed);
}

/* A chain of frames (first..last linked through free_next) for vm_call_rcu. */
struct rcu_free_batch {
    struct rcu_head rcu;
    struct page_pool *pool;
    struct vm_page *first, *last;
};

static void rcu_free_cb(struct rcu_head *head)
{
    struct rcu_free_batch *b = caa_container_of(head, struct rcu_free_batch, rcu);
    struct page_pool *pool = b->pool;
    fl_push(&my_shard(pool)->free_head, b->first, b->last, false);
    void *owner = pool->owner;
    void (*put)(void *) = pool->owner_put;
    free(b);
    put(owner);   /* may destroy the pool: the last thing done */
}

/* Hand first..last (already uncounted) to RCU; the free list gets them
 * after a grace period. */
static void rcu_free_chain(struct page_pool *pool, struct vm_page *first, struct vm_page *last)
{
    struct rcu_free_batch *b = vm_malloc(sizeof(*b));
    if (!b) {
        synchronize_rcu();   /* no memory for a batch: wait here instead */
        fl_push(&my_shard(pool)->free_head, first, last, false);
        return;
    }
    b->pool = pool;
    b->first = first;
    b->last = last;
    pool->owner_get(pool->owner);
    vm_call_rcu(&b->rcu, rcu_free_cb);
}

#define RCU_FREE_BATCH 64

void page_pool_set_rcu_free(struct page_pool *pool, void *owner, void (*owner_get)(void *),
                            void (*owner_put)(void *))
{
    pool->owner = owner;
    pool->owner_get = owner_get;
    pool->owner_put = owner_put;
}

static void __page_free_unpinned(struct vm_page *page);

void __page_free(struct vm_page *page)
{
    struct page_pool *pool = page->pool;
    bool pinned = atomic_load_explicit(&page->flags, memory_order_relaxed) & PG_pinned;
    __page_free_unpinned(page);
    if (pinned)
        pool->owner_put(pool->owner);   /* last: may free the pool */
}

static void __page_free_unpinned(struct vm_page *page)
{
    VM_BUG_ON(page_mapcount(page) != 0);   /* mappings hold references */
    struct page_pool *pool = page->pool;
    if (unlikely(!pool)) {
        if (atomic_load_explicit(&page->flags, memory_order_relaxed) & PG_hostfile)
            return;
        /* Else only the zero page has no pool: a put without its get.  Keep
         * the page alive in release builds. */
        VM_BUG_ON(1);
        atomic_store_explicit(&page->refcount, 1, memory_order_relaxed);
        return;
    }
    page_uncount(pool, 1);
    if (!pool->owner) {
        fl_push(&my_shard(pool)->free_head, page, page, false);
        return;
    }
    /* Wait on the pending stack for company. */
    struct vm_page *old = atomic_load_explicit(&pool->pending, memory_order_relaxed);
    do {
        atomic_store_explicit(&page->free_next, (uintptr_t)old, memory_order_relaxed);
    } while (!atomic_compare_exchange_weak_explicit(&pool->pending, &old, page,
                                                    memory_order_release, memory_order_relaxed));
    if (atomic_fetch_add_explicit(&pool->nr_pending, 1, memory_order_relaxed) + 1 < RCU_FREE_BATCH)
        return;
    /* Take the whole stack (an exchange: no ABA) and send it on its way. */
    struct vm_page *first = atomic_exchange_explicit(&pool->pending, NULL, memory_order_acquire);
    if (!first)
        return;
    unsigned long n = 1;
    struct vm_page *last = first;
    uintptr_t next;
    while ((next = atomic_load_explicit(&last->free_next, memory_order_relaxed))) {
        last = (struct vm_page *)next;
        n++;
    }
    atomic_fetch_sub_explicit(&pool->nr_pending, n, memory_order_relaxed);
    rcu_free_chain(pool, first, last);
}

void page_batch_flush(struct page_batch *b, bool now)
{
    if (!b->n)
        return;
    struct page_pool *pool = b->pool;
    unsigned long pinned = b->pinned;
    page_uncount(pool, b->n);
    if (now || !pool->owner)
        fl_push(&my_shard(pool)->free_head, b->first, b->last, false);
    else
        rcu_free_chain(pool, b->first, b->last);
    page_batch_init(b);
    while (pinned--)
        pool->owner_put(pool->owner);   /* last: may free the pool */
}

unsigned long page_pool_count_free(struct page_pool *pool)
{
    unsigned long n = 0;
    for (int i = 0; i < PAGE_POOL_SHARDS; i++)
        for (struct vm_page *p = fl_ptr(atomic_load(&pool->shard[i].free_head)); p;
             p = (struct vm_page *)(atomic_load(&p->free_next) & ~PAGE_FREE_ZEROED))
            n++;
    return n;
}

/* In .rodata (const, zero): a stray write faults on the host instead of
 * corrupting every process-wide read of zero memory. */
static const unsigned char zero_frame[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

struct vm_page vmarea_zero_page = {
    .refcount = 1,                 /* the process's own reference, never dropped */
    .mapcount = 0,
    .virtual = (void *)(uintptr_t)zero_frame,
    .pool = NULL,
    .free_next = 0,
};

/* ------------------------------------------------------------ public */

void *vm_page_address(struct vm_page *page) { return page_address(page); }
void vm_page_get(struct vm_page *page) { page_get(page); }
void vm_page_put(struct vm_page *page) { page_put(page); }

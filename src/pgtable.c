/* SPDX-License-Identifier: MIT */
/*
 * pgtable.c — four-level page tables: walk, allocate, iterate, clear, free.
 *
 * The rules (entry format, invariants, locking) are in pgtable.h, once.
 *
 * Levels are numbered by what their entries map: 3 is the PGD (512 GiB per
 * entry), 2 the PUD (1 GiB), 1 the PMD (2 MiB), 0 the PTE table (4 KiB).  An
 * upper-level entry is the child table's address, 0 when there is none; the
 * child's contents were zeroed before the entry was published with release,
 * and every walker loads entries with acquire.
 */
#include "pgtable.h"
#include "host.h"
#include "rcu.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>


typedef pte_t _Atomic entry_t;

#define LEVEL_SHIFT(l)  (PGT_PAGE_SHIFT + 9 * (l))
#define LEVEL_SPAN(l)   (1UL << LEVEL_SHIFT(l))
#define IDX(addr, l)    (((addr) >> LEVEL_SHIFT(l)) & (PGT_ENTRIES - 1))
#define PGT_PAGE_SIZE   (1UL << PGT_PAGE_SHIFT)

static inline entry_t *child_of(pte_t e) { return (entry_t *)(uintptr_t)(e & ~PMD_FLAGS); }

#define likely(x) __builtin_expect(!!(x), 1)
static int walk_alloc_slow(struct pgtable *pt, unsigned long addr, pte_t _Atomic **out)
    __attribute__((noinline));
static int walk_alloc_to(struct pgtable *pt, unsigned long addr, int bottom, pte_t _Atomic **out);

/* ------------------------------------------------------- table pool */

/*
 * Tables come from a process-wide pool, not from malloc: glibc serves each
 * page-aligned 4 KiB block from fresh heap memory (a host page fault, often
 * a brk call: about 7 us a table measured here) and trims on free (another
 * host call, about 1 us).  The pool takes chunks of host memory with
 * MAP_POPULATE (one call per chunk, growing from 64 KiB to 2 MiB) and keeps
 * freed tables on a free list for reuse.
 *
 * Invariant: every table on the free list is zero except its first word,
 * the link; tables in new chunks are zero.  So taking a table needs no
 * memset: pgtable_free_range frees only tables it found empty, and the rest
 * (destroy, unused spares) are zeroed on the way in.
 *
 * One mutex guards the pool: a table is taken once per 512 pages faulted,
 * and pgtable_free_range returns its tables in one batch.
 *
 * Pool memory is kept for reuse and never given back to the host.
 */
struct free_table { struct free_table *next; };

#define POOL_CHUNK_MIN (64UL << 10)
#define POOL_CHUNK_MAX (2UL << 20)

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct free_table *pool_free;        /* guarded by pool_lock */
static char *pool_next, *pool_end;          /* guarded by pool_lock: rest of the chunk */
static size_t pool_chunk = POOL_CHUNK_MIN;  /* guarded by pool_lock */
static _Atomic long tables_in_use;          /* for tests: taken and not returned */

#if defined(__SANITIZE_ADDRESS__)
#define PGT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PGT_ASAN 1
#endif
#endif
#ifdef PGT_ASAN
#include <sanitizer/asan_interface.h>
#endif
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define PGT_VALGRIND 1
#endif

/* A table on the free list is off limits except for its link: the memory
 * checkers then catch a walker that uses a freed table. */
static void poison_free(struct free_table *f)
{
    (void)f;
#ifdef PGT_ASAN
    ASAN_POISON_MEMORY_REGION((char *)f + sizeof(*f), PGT_TABLE_SIZE - sizeof(*f));
#endif
#ifdef PGT_VALGRIND
    VALGRIND_MAKE_MEM_NOACCESS((char *)f + sizeof(*f), PGT_TABLE_SIZE - sizeof(*f));
#endif
}

static void unpoison(void *t)
{
    (void)t;
#ifdef PGT_ASAN
    ASAN_UNPOISON_MEMORY_REGION(t, PGT_TABLE_SIZE);
#endif
#ifdef PGT_VALGRIND
    VALGRIND_MAKE_MEM_DEFINED(t, PGT_TABLE_SIZE);
#endif
}

/* A zeroed, page-aligned table, or NULL. */
static entry_t *table_alloc(void)
{
    if (vm_alloc_fails())
        return NULL;
    void *t = NULL;
    pthread_mutex_lock(&pool_lock);
    if (pool_free) {
        struct free_table *f = pool_free;
        pool_free = f->next;
        t = f;
    } else {
        if (pool_next == pool_end) {
            void *c = host_alloc_pages(pool_chunk);
            if (!c) {
                pthread_mutex_unlock(&pool_lock);
                return NULL;
            }
            pool_next = c;
            pool_end = pool_next + pool_chunk;
            if (pool_chunk < POOL_CHUNK_MAX)
                pool_chunk *= 2;
        }
        t = pool_next;
        pool_next += PGT_TABLE_SIZE;
    }
    pthread_mutex_unlock(&pool_lock);
    unpoison(t);
    ((struct free_table *)t)->next = NULL;    /* the link was the one non-zero word */
    atomic_fetch_add_explicit(&tables_in_use, 1, memory_order_relaxed);
    return t;
}

/* A list of zeroed tables (but for their links) being returned together. */
struct table_list {
    struct free_table *head, *tail;
    long n;
};

/* t must be zero: found empty, or zeroed by the caller. */
static void table_list_add(struct table_list *l, entry_t *t)
{
    struct free_table *f = (struct free_table *)t;
    f->next = l->head;
    if (!l->head)
        l->tail = f;
    l->head = f;
    l->n++;
    poison_free(f);
}

static void table_list_release(struct table_list *l)
{
    if (!l->head)
        return;
    pthread_mutex_lock(&pool_lock);
    l->tail->next = pool_free;
    pool_free = l->head;
    pthread_mutex_unlock(&pool_lock);
    atomic_fetch_sub_explicit(&tables_in_use, l->n, memory_order_relaxed);
    *l = (struct table_list){ 0 };
}

static void table_free_one(entry_t *t)
{
    struct table_list l = { 0 };
    table_list_add(&l, t);
    table_list_release(&l);
}

long pgt_tables_in_use(void)
{
    return atomic_load_explicit(&tables_in_use, memory_order_relaxed);
}

/* ------------------------------------------------------------ tables */

int pgtable_init_limit(struct pgtable *pt, unsigned long limit)
{
    pt->top = limit > PGT_ADDR_LIMIT ? 4 : 3;
    pt->pgd = table_alloc();
    atomic_init(&pt->bytes, 0);
    pt->charge = NULL;
    pt->rcu_free = false;
    return pt->pgd ? 0 : -ENOMEM;
}

static void free_tables(struct table_list *l, entry_t *t, int level)
{
    if (level > 0) {
        for (unsigned i = 0; i < PGT_ENTRIES; i++) {
            pte_t e = atomic_load_explicit(&t[i], memory_order_relaxed);
            if (e) {
                free_tables(l, child_of(e), level - 1);
                atomic_store_explicit(&t[i], 0, memory_order_relaxed);
            }
        }
    } else {
        memset((void *)t, 0, PGT_TABLE_SIZE);   /* no one else sees it any more */
    }
    table_list_add(l, t);
}

void pgtable_destroy(struct pgtable *pt)
{
    struct table_list l = { 0 };
    if (pt->pgd)
        free_tables(&l, pt->pgd, pt->top);
    table_list_release(&l);
    pt->pgd = NULL;
    page_pool_uncharge(pt->charge, pgtable_bytes(pt) / PGT_TABLE_SIZE);
    atomic_store_explicit(&pt->bytes, 0, memory_order_relaxed);
}

int pgtable_walk_alloc(struct pgtable *pt, unsigned long addr, pte_t _Atomic **out)
{
    /* Nearly every call finds all tables there (one in 512 pages does not). */
    entry_t *pmdp = pgtable_pmd(pt, addr);
    pte_t pmd = pmdp ? atomic_load_explicit(pmdp, memory_order_acquire) : 0;
    if (likely(pmd)) {
        /* The caller is about to fill an entry: a table that stood for
         * "no table" (PMD_NONE) is an ordinary one from now on. */
        if (unlikely(pmd & PMD_NONE))
            atomic_fetch_and_explicit(pmdp, ~PMD_NONE, memory_order_relaxed);
        *out = &child_of(pmd)[IDX(addr, 0)];
        return 0;
    }
    return walk_alloc_slow(pt, addr, out);
}

int pgtable_pmd_alloc(struct pgtable *pt, unsigned long addr, pte_t _Atomic **out)
{
    entry_t *pmdp = pgtable_pmd(pt, addr);
    if (pmdp) {
        *out = pmdp;
        return 0;
    }
    return walk_alloc_to(pt, addr, 1, out);
}

int pgtable_install_table(struct pgtable *pt, pte_t _Atomic *pmdp, pte_t old, const pte_t *entries,
                          pte_t flags)
{
    if (!page_pool_charge(pt->charge, 1))
        return -ENOMEM;
    entry_t *t = table_alloc();
    if (!t) {
        page_pool_uncharge(pt->charge, 1);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < PGT_ENTRIES; i++)
        atomic_store_explicit(&t[i], entries[i], memory_order_relaxed);
    /* Release: a walker that finds the table sees its entries. */
    if (!atomic_compare_exchange_strong_explicit(pmdp, &old, (pte_t)(uintptr_t)t | flags,
                                                 memory_order_acq_rel, memory_order_relaxed)) {
        for (unsigned i = 0; i < PGT_ENTRIES; i++)
            atomic_store_explicit(&t[i], 0, memory_order_relaxed);
        table_free_one(t);
        page_pool_uncharge(pt->charge, 1);
        return -EAGAIN;
    }
    atomic_fetch_add_explicit(&pt->bytes, PGT_TABLE_SIZE, memory_order_relaxed);
    return 0;
}

static int walk_alloc_slow(struct pgtable *pt, unsigned long addr, pte_t _Atomic **out)
{
    return walk_alloc_to(pt, addr, 0, out);
}

/* Allocate the tables down to level `bottom` (0: the PTE table; 1: the PMD
 * table, leaving its entry alone) and return the entry there. */
static int walk_alloc_to(struct pgtable *pt, unsigned long addr, int bottom, pte_t _Atomic **out)
{
    /*
     * The first missing entry at level l means at most l tables to install
     * (one per level below it).  All l are allocated before any is installed,
     * so -ENOMEM leaves the tables as they were; tables that lose a race
     * or are not needed after one are freed on the way out.
     */
    entry_t *spare[4];
    int nspare = 0, charged = 0;
    entry_t *t = pt->pgd;

    for (int l = pt->top; l > bottom; l--) {
        entry_t *slot = &t[IDX(addr, l)];
        pte_t e = atomic_load_explicit(slot, memory_order_acquire);
        if (!e) {
            if (!nspare) {
                int need = l - bottom;
                if (!page_pool_charge(pt->charge, (unsigned long)need))
                    return -ENOMEM;
                charged = need;
                for (; nspare < need; nspare++) {
                    spare[nspare] = table_alloc();
                    if (!spare[nspare]) {
                        while (nspare)
                            table_free_one(spare[--nspare]);
                        page_pool_uncharge(pt->charge, (unsigned long)charged);
                        return -ENOMEM;
                    }
                }
            }
            entry_t *fresh = spare[nspare - 1];
            /* Release: a walker that finds the entry sees the zeroed table.
             * On failure e gets the winner's table (acquire: its zeroing). */
            if (atomic_compare_exchange_strong_explicit(slot, &e, (pte_t)(uintptr_t)fresh,
                                                        memory_order_acq_rel,
                                                        memory_order_acquire)) {
                nspare--;
                atomic_fetch_add_explicit(&pt->bytes, PGT_TABLE_SIZE, memory_order_relaxed);
                e = (pte_t)(uintptr_t)fresh;
            }
        }
        t = child_of(e);
    }
    page_pool_uncharge(pt->charge, (unsigned long)nspare);
    while (nspare)
        table_free_one(spare[--nspare]);   /* never published: still zero */
    *out = &t[IDX(addr, bottom)];
    return 0;
}

/* [start, end) page-aligned and clamped to what the tables map; false if empty. */
static bool clamp_range(const struct pgtable *pt, unsigned long *start, unsigned long *end)
{
    if (*end > pgtable_limit(pt))
        *end = pgtable_limit(pt);
    *start &= ~(PGT_PAGE_SIZE - 1);
    *end = (*end + PGT_PAGE_SIZE - 1) & ~(PGT_PAGE_SIZE - 1);
    return *start < *end;
}

/* ------------------------------------------------------------ iterate */

/*
 * fn for every non-empty entry at level bottom (0: PTEs, 1: PMDs) under t
 * that meets [start, end), with the start of what the entry maps.  A missing
 * entry above costs one load: a 1 GiB hole is one PUD entry.
 */
static int each_level(entry_t *t, int level, int bottom, unsigned long start, unsigned long end,
                      pgt_pte_fn fn, void *arg)
{
    unsigned i = IDX(start, level);
    unsigned long span = LEVEL_SPAN(level);
    for (unsigned long addr = start; addr < end; i++) {
        unsigned long base = addr & ~(span - 1);
        unsigned long next = base + span;
        if (next > end)
            next = end;
        pte_t e = atomic_load_explicit(&t[i], memory_order_acquire);
        if (e) {
            int r = level == bottom ? fn(arg, base, &t[i], e)
                                    : each_level(child_of(e), level - 1, bottom, addr, next, fn, arg);
            if (r)
                return r;
        }
        addr = next;
    }
    return 0;
}

int pgtable_for_each(struct pgtable *pt, unsigned long start, unsigned long end,
                     pgt_pte_fn fn, void *arg)
{
    if (!clamp_range(pt, &start, &end))
        return 0;
    return each_level(pt->pgd, pt->top, 0, start, end, fn, arg);
}

int pgtable_for_each_pmd(struct pgtable *pt, unsigned long start, unsigned long end, pgt_pte_fn fn,
                         void *arg)
{
    if (!clamp_range(pt, &start, &end))
        return 0;
    return each_level(pt->pgd, pt->top, 1, start, end, fn, arg);
}

/* ------------------------------------------------------------- clear */

struct clear_ctx {
    struct pgtable *pt;
    pgt_clear_fn fn;
    pgt_clear_run_fn run;           /* instead of fn: the whole PTE-level loop */
    void *arg;
    unsigned long floor, ceiling;   /* ceiling: exclusive, pgtable_limit for none */
    bool free_tables;
    unsigned long cleared;
    struct table_list freed;        /* returned to the pool in one batch */
    struct rcu_tables *deferred;    /* or, with rcu_free, after a grace period */
};

/*
 * Tables freed under lock-free walkers (pgtable.h, "rcu_free") go back to the
 * pool after a grace period.  Until then they must stay all zero: a walker
 * may still read them, so they are listed here rather than linked through
 * their own first word as the pool's free list does.
 */
struct rcu_tables {
    struct rcu_head rcu;
    size_t n, cap;
    entry_t *t[];
};

static void rcu_tables_cb(struct rcu_head *head)
{
    struct rcu_tables *r = caa_container_of(head, struct rcu_tables, rcu);
    struct table_list l = { 0 };
    for (size_t i = 0; i < r->n; i++)
        table_list_add(&l, r->t[i]);
    table_list_release(&l);
    free(r);
}

/* false: no memory to list it, so the caller keeps the table in place. */
static bool defer_table(struct clear_ctx *c, entry_t *t)
{
    struct rcu_tables *r = c->deferred;
    if (!r || r->n == r->cap) {
        size_t cap = r ? 2 * r->cap : 16;
        struct rcu_tables *g = realloc(r, sizeof(*r) + cap * sizeof(r->t[0]));
        if (!g)
            return false;
        if (!r)
            g->n = 0;
        g->cap = cap;
        c->deferred = r = g;
    }
    r->t[r->n++] = t;
    return true;
}

static void clear_level(struct clear_ctx *c, entry_t *t, int level, unsigned long start,
                        unsigned long end)
{
    unsigned i = IDX(start, level);
    if (level == 0) {
        c->cleared += c->run ? c->run(c->arg, t, start, end)
                             : pte_clear_run(t, start, end, !c->free_tables, c->fn, c->arg);
        return;
    }
    unsigned long span = LEVEL_SPAN(level);
    for (unsigned long addr = start; addr < end; i++) {
        unsigned long base = addr & ~(span - 1);
        unsigned long next = base + span;
        if (next > end)
            next = end;
        pte_t e = atomic_load_explicit(&t[i], memory_order_acquire);
        if (e) {
            entry_t *child = child_of(e);
            /* A huge PMD (THP or huge zero page): cleared whole, it goes
             * back to "no table" (Linux frees the table with the THP);
             * cleared in part, it is split into ordinary entries first. */
            bool huge = level == 1 && (e & (PMD_HUGE | PMD_HZERO));
            bool whole = addr == base && next == base + span;
            if (huge && !whole)
                atomic_fetch_and_explicit(&t[i], ~(PMD_HUGE | PMD_HZERO), memory_order_relaxed);
            clear_level(c, child, level - 1, addr, next);
            if (huge && whole) {
                pte_t want = (e & ~PMD_FLAGS) | PMD_NONE;
                atomic_compare_exchange_strong_explicit(&t[i], &e, want, memory_order_relaxed,
                                                        memory_order_relaxed);
            }
            /* Linux's free_pgtables rule: only a table whose whole span lies
             * in [floor, ceiling) may go; one shared with a neighbouring VMA
             * stays even if empty now.  Emptiness is checked too, so a table
             * still mapping something outside [start, end) never goes. */
            if (c->free_tables && base >= c->floor && base + span <= c->ceiling &&
                pgtable_table_empty(child) && (!c->pt->rcu_free || defer_table(c, child))) {
                atomic_store_explicit(&t[i], 0, memory_order_relaxed);
                if (!c->pt->rcu_free)
                    table_list_add(&c->freed, child);
                atomic_fetch_sub_explicit(&c->pt->bytes, PGT_TABLE_SIZE, memory_order_relaxed);
                page_pool_uncharge(c->pt->charge, 1);
            }
        }
        addr = next;
    }
}

static unsigned long clear_range(struct clear_ctx *c, unsigned long start, unsigned long end)
{
    if (!clamp_range(c->pt, &start, &end))
        return 0;
    clear_level(c, c->pt->pgd, c->pt->top, start, end);
    return c->cleared;
}

unsigned long pgtable_clear_range(struct pgtable *pt, unsigned long start, unsigned long end,
                                  pgt_clear_fn fn, void *arg)
{
    struct clear_ctx c = { .pt = pt, .fn = fn, .arg = arg };
    return clear_range(&c, start, end);
}

unsigned long pgtable_clear_range_run(struct pgtable *pt, unsigned long start, unsigned long end,
                                      pgt_clear_run_fn run, void *arg)
{
    struct clear_ctx c = { .pt = pt, .run = run, .arg = arg };
    return clear_range(&c, start, end);
}

unsigned long pgtable_free_range(struct pgtable *pt, unsigned long start, unsigned long end,
                                 unsigned long floor, unsigned long ceiling,
                                 pgt_clear_fn fn, void *arg)
{
    if (ceiling == 0 || ceiling > pgtable_limit(pt))
        ceiling = pgtable_limit(pt);
    struct clear_ctx c = { .pt = pt, .fn = fn, .arg = arg, .floor = floor, .ceiling = ceiling,
                           .free_tables = true };
    unsigned long cleared = clear_range(&c, start, end);
    table_list_release(&c.freed);
    if (c.deferred)
        vm_call_rcu(&c.deferred->rcu, rcu_tables_cb);
    return cleared;
}

/* ---------------------------------------------------------- protection */

struct prot_ctx {
    pte_t clear, set;
    unsigned long changed;
};

static int change_prot_one(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    struct prot_ctx *p = arg;
    (void)addr;
    /* A CAS loop although the caller holds the write lock: cheap when
     * uncontended, and a flag update that slipped in is never undone. */
    for (;;) {
        pte_t want = (pte & ~p->clear) | p->set;
        if (want == pte || !pte_present(pte))
            return 0;   /* unchanged, gone, or a marker */
        if (atomic_compare_exchange_weak_explicit(ptep, &pte, want, memory_order_release,
                                                  memory_order_relaxed)) {
            p->changed++;
            return 0;
        }
    }
}

unsigned long pgtable_change_prot(struct pgtable *pt, unsigned long start, unsigned long end,
                                  pte_t clear, pte_t set)
{
    /* Flags only, never PRESENT: the frame reference must survive. */
    struct prot_ctx p = { .clear = clear & PTE_FLAGS & ~PTE_PRESENT,
                          .set = set & PTE_FLAGS & ~PTE_PRESENT };
    pgtable_for_each(pt, start, end, change_prot_one, &p);
    return p.changed;
}

/* ------------------------------------------------------------- move */

unsigned long pgtable_move_range(struct pgtable *pt, unsigned long old, unsigned long new, unsigned long len)
{
    const unsigned long pmd_mask = LEVEL_SPAN(1) - 1;
    unsigned long done = 0;
    while (done < len) {
        unsigned long o = old + done, n = new + done;
        unsigned long extent = LEVEL_SPAN(1) - (o & pmd_mask);
        if (extent > LEVEL_SPAN(1) - (n & pmd_mask))
            extent = LEVEL_SPAN(1) - (n & pmd_mask);
        if (extent > len - done)
            extent = len - done;
        entry_t *opmdp = pgtable_pmd(pt, o);
        pte_t opmd = opmdp ? atomic_load_explicit(opmdp, memory_order_acquire) : 0;
        if (!opmd || (opmd & PMD_NONE)) {
            done += extent;   /* nothing mapped there */
            continue;
        }
        if (extent == LEVEL_SPAN(1)) {
            entry_t *npmdp;
            if (pgtable_pmd_alloc(pt, n, &npmdp))
                break;
            if (!atomic_load_explicit(npmdp, memory_order_relaxed)) {
                /* The whole table: a walker of the old address that is
                 * still inside it (RCU) reads what now lies at the new one,
                 * as an access just before the move would have. */
                atomic_store_explicit(npmdp, opmd, memory_order_release);
                atomic_store_explicit(opmdp, 0, memory_order_release);
                done += extent;
                continue;
            }
        }
        if (opmd & (PMD_HUGE | PMD_HZERO | PMD_LARGE))
            atomic_fetch_and_explicit(opmdp, ~(PMD_HUGE | PMD_HZERO | PMD_LARGE), memory_order_relaxed);
        entry_t *ot = child_of(opmd);
        unsigned long i;
        for (i = 0; i < extent; i += PGT_PAGE_SIZE) {
            entry_t *os = &ot[IDX(o + i, 0)];
            if (!atomic_load_explicit(os, memory_order_relaxed))
                continue;
            pte_t _Atomic *ns;
            if (pgtable_walk_alloc(pt, n + i, &ns))
                break;
            pte_t e = atomic_exchange_explicit(os, 0, memory_order_acq_rel);
            atomic_store_explicit(ns, e, memory_order_release);
        }
        done += i;
        if (i < extent)
            break;
    }
    return done;
}

/* ------------------------------------------------------------- copy */

int pgtable_copy_range(struct pgtable *dst, struct pgtable *src, unsigned long start, unsigned long end,
                       pgt_copy_fn fn, void *arg)
{
    const unsigned long span = LEVEL_SPAN(1);
    for (unsigned long addr = start; addr < end; ) {
        unsigned long base = addr & ~(span - 1), next = base + span < end ? base + span : end;
        entry_t *spmdp = pgtable_pmd(src, addr);
        pte_t spmd = spmdp ? atomic_load_explicit(spmdp, memory_order_acquire) : 0;
        if (!spmd || (spmd & PMD_NONE)) {
            addr = next;   /* no table: nothing to copy in this 2 MiB */
            continue;
        }
        /* dst's table first, so that nothing is taken that could not be
         * put in it. */
        entry_t *dslot;
        if (pgtable_walk_alloc(dst, addr, &dslot))
            return -ENOMEM;
        entry_t *st = child_of(spmd), *dt = dslot - IDX(addr, 0);
        for (unsigned long a = addr; a < next; a += PGT_PAGE_SIZE) {
            entry_t *s = &st[IDX(a, 0)];
            pte_t e = atomic_load_explicit(s, memory_order_relaxed);
            if (e)
                atomic_store_explicit(&dt[IDX(a, 0)], fn(arg, a, s, e), memory_order_relaxed);
        }
        if (addr == base && next == base + span && (spmd & (PMD_HUGE | PMD_HZERO | PMD_LARGE)))
            atomic_fetch_or_explicit(pgtable_pmd(dst, addr), spmd & (PMD_HUGE | PMD_HZERO | PMD_LARGE),
                                     memory_order_release);
        addr = next;
    }
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/pgtable.c: entries at the edges of the address space and
 * of each table level, sparse iteration (timed), range clears that free
 * exactly the emptied tables inside [floor, ceiling), protection changes,
 * allocation failure, and two threads populating at once.
 *
 * Frames are fake descriptor pointers (never dereferenced): the tables only
 * store them.  Table counts are checked through pgtable_bytes, and after
 * each test pgt_tables_in_use shows every table back in the pool.
 */
#include "pgtable.h"
#include "host.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#define P     (1UL << PGT_PAGE_SHIFT)
#define M2    (1UL << PGT_PMD_SHIFT)
#define G1    (1UL << PGT_PUD_SHIFT)
#define G512  (1UL << PGT_PGD_SHIFT)
#define TB    (1UL << 40)
#define USER_TOP (1UL << 47)          /* 128 TiB: x86-64 user space */
#define T     PGT_TABLE_SIZE

static struct vm_page *fake_page(unsigned long n)
{
    /* 64-byte aligned, in the range a heap pointer lives in */
    return (struct vm_page *)(uintptr_t)(0x7f0000000000UL + n * 64);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void set_page(struct pgtable *pt, unsigned long addr, unsigned long n, pte_t flags)
{
    pte_t _Atomic *ptep;
    assert_int_equal(pgtable_walk_alloc(pt, addr, &ptep), 0);
    ptep_set(ptep, pte_mk(fake_page(n), PTE_PRESENT | flags));
}

static pte_t get_pte(struct pgtable *pt, unsigned long addr)
{
    pte_t _Atomic *ptep = pgtable_walk(pt, addr);
    return ptep ? ptep_get(ptep) : 0;
}

struct collected {
    unsigned long n;
    unsigned long addr[64];
    pte_t pte[64];
};

static int collect(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    struct collected *c = arg;
    assert_int_equal(ptep_get(ptep), pte);
    if (c->n < 64) {
        c->addr[c->n] = addr;
        c->pte[c->n] = pte;
    }
    c->n++;
    return 0;
}

static void collect_cleared(void *arg, unsigned long addr, pte_t old)
{
    struct collected *c = arg;
    if (c->n < 64) {
        c->addr[c->n] = addr;
        c->pte[c->n] = old;
    }
    c->n++;
}

static unsigned long count_present(struct pgtable *pt, unsigned long start, unsigned long end)
{
    struct collected c = { 0 };
    pgtable_for_each(pt, start, end, collect, &c);
    return c.n;
}

/* ------------------------------------------------------------ entries */

static void test_entry_format(void **state)
{
    (void)state;
    struct vm_page *pg = (struct vm_page *)(uintptr_t)0x00ffffffffffffc0UL;   /* highest 56-bit */
    pte_t all = PTE_PRESENT | PTE_WRITE | PTE_DIRTY | PTE_ACCESSED | PTE_SPECIAL | PTE_FILE |
                PTE_PROTNONE;
    pte_t e = pte_mk(pg, all);
    assert_ptr_equal(pte_page(e), pg);
    assert_true(pte_present(e) && pte_write(e) && pte_dirty(e) && pte_young(e) &&
                pte_special(e) && pte_file(e) && pte_protnone(e));
    e = pte_mk(NULL, PTE_PRESENT | PTE_SPECIAL);     /* PFN-map entry without a descriptor */
    assert_true(pte_present(e) && !pte_none(e));
    assert_null(pte_page(e));
    e = pte_mk(fake_page(1), PTE_PRESENT);
    assert_false(pte_write(e) || pte_dirty(e) || pte_young(e) || pte_special(e) || pte_file(e));
    assert_true(pte_none(0) && !pte_present(0));
}

static void test_init_destroy(void **state)
{
    (void)state;
    struct pgtable pt;
    assert_int_equal(pgtable_init(&pt), 0);
    assert_int_equal(pgtable_bytes(&pt), 0);          /* the root is not counted */
    assert_null(pgtable_walk(&pt, 0));
    assert_null(pgtable_walk(&pt, USER_TOP - P));
    assert_int_equal(count_present(&pt, 0, PGT_ADDR_LIMIT), 0);
    pgtable_destroy(&pt);
}

/* Lowest and highest pages of the 47-bit user space, and of the 48-bit tables. */
static void test_edges_of_address_space(void **state)
{
    (void)state;
    struct pgtable pt;
    assert_int_equal(pgtable_init(&pt), 0);

    set_page(&pt, 0, 1, PTE_WRITE);
    assert_int_equal(pgtable_bytes(&pt), 3 * T);      /* PUD + PMD + PTE */
    set_page(&pt, USER_TOP - P, 2, PTE_DIRTY);
    assert_int_equal(pgtable_bytes(&pt), 6 * T);
    set_page(&pt, PGT_ADDR_LIMIT - P, 3, 0);
    assert_int_equal(pgtable_bytes(&pt), 9 * T);

    pte_t e = get_pte(&pt, 0);
    assert_ptr_equal(pte_page(e), fake_page(1));
    assert_true(pte_write(e) && !pte_dirty(e));
    e = get_pte(&pt, USER_TOP - P);
    assert_ptr_equal(pte_page(e), fake_page(2));
    assert_true(pte_dirty(e) && !pte_write(e));
    assert_ptr_equal(pte_page(get_pte(&pt, PGT_ADDR_LIMIT - P)), fake_page(3));
    /* offsets inside the page reach the same slot */
    assert_ptr_equal(pgtable_walk(&pt, USER_TOP - 1), pgtable_walk(&pt, USER_TOP - P));
    /* neighbours in the same PTE table exist but are empty */
    assert_int_equal(get_pte(&pt, P), 0);
    assert_int_equal(get_pte(&pt, USER_TOP - 2 * P), 0);
    assert_null(pgtable_walk(&pt, USER_TOP));         /* next PGD entry: no tables */

    struct collected c = { 0 };
    pgtable_for_each(&pt, 0, PGT_ADDR_LIMIT, collect, &c);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.addr[0], 0);
    assert_int_equal(c.addr[1], USER_TOP - P);
    assert_int_equal(c.addr[2], PGT_ADDR_LIMIT - P);
    /* an end beyond the tables is clamped */
    assert_int_equal(count_present(&pt, USER_TOP - P, ~0UL), 2);

    /* set, clear, get one entry */
    pte_t _Atomic *ptep = pgtable_walk(&pt, 0);
    pte_t old = ptep_get_and_clear(ptep);
    assert_ptr_equal(pte_page(old), fake_page(1));
    assert_int_equal(ptep_get(ptep), 0);
    pte_t expected = 0;
    assert_true(ptep_cmpxchg(ptep, &expected, pte_mk(fake_page(4), PTE_PRESENT)));
    expected = 0;
    assert_false(ptep_cmpxchg(ptep, &expected, pte_mk(fake_page(5), PTE_PRESENT)));
    assert_ptr_equal(pte_page(expected), fake_page(4));
    ptep_set_flags(ptep, PTE_ACCESSED | PTE_DIRTY);
    assert_true(pte_young(ptep_get(ptep)) && pte_dirty(ptep_get(ptep)));
    ptep_get_and_clear(ptep);
    ptep_set_flags(ptep, PTE_ACCESSED);                /* never on an empty entry */
    assert_int_equal(ptep_get(ptep), 0);

    pgtable_destroy(&pt);
}

/* Five levels (a limit beyond 48 bits): a root above the four-level PGD,
 * which becomes a P4D per 256 TiB; entries up to 2^57, each walk and range
 * operation across the 256 TiB boundary, and every table freed again. */
static void test_five_levels(void **state)
{
    (void)state;
    const unsigned long T256 = 1UL << 48;
    struct pgtable pt;
    assert_int_equal(pgtable_init_limit(&pt, 1UL << 56), 0);
    assert_int_equal(pgtable_limit(&pt), PGT_ADDR_LIMIT5);
    assert_null(pgtable_walk(&pt, 0));
    assert_null(pgtable_walk(&pt, PGT_ADDR_LIMIT5 - P));

    set_page(&pt, 0, 1, 0);
    assert_int_equal(pgtable_bytes(&pt), 4 * T);      /* P4D + PUD + PMD + PTE */
    set_page(&pt, T256 - P, 2, 0);                     /* the same P4D */
    assert_int_equal(pgtable_bytes(&pt), 7 * T);
    set_page(&pt, T256, 3, PTE_WRITE);                 /* the next root entry */
    assert_int_equal(pgtable_bytes(&pt), 11 * T);
    set_page(&pt, PGT_ADDR_LIMIT5 - P, 4, PTE_DIRTY);
    assert_int_equal(pgtable_bytes(&pt), 15 * T);

    assert_ptr_equal(pte_page(get_pte(&pt, T256 - P)), fake_page(2));
    assert_ptr_equal(pte_page(get_pte(&pt, T256)), fake_page(3));
    assert_true(pte_dirty(get_pte(&pt, PGT_ADDR_LIMIT5 - P)));
    /* Four-level indices alone would alias T256 with 0: they must not. */
    assert_ptr_equal(pte_page(get_pte(&pt, 0)), fake_page(1));
    assert_int_equal(get_pte(&pt, T256 + P), 0);
    assert_null(pgtable_walk(&pt, 2 * T256));

    struct collected c = { 0 };
    pgtable_for_each(&pt, 0, ~0UL, collect, &c);      /* clamped to 2^57 */
    assert_int_equal(c.n, 4);
    assert_int_equal(c.addr[1], T256 - P);
    assert_int_equal(c.addr[2], T256);
    assert_int_equal(c.addr[3], PGT_ADDR_LIMIT5 - P);

    /* Across the boundary: both pages go, and with them every table whose
     * span lies inside the range. */
    assert_int_equal(pgtable_free_range(&pt, T256 - P, T256 + P, 0, 0, NULL, NULL), 2);
    assert_int_equal(count_present(&pt, 0, PGT_ADDR_LIMIT5), 2);
    assert_null(pgtable_walk(&pt, T256));
    assert_int_equal(pgtable_free_range(&pt, 0, PGT_ADDR_LIMIT5, 0, 0, NULL, NULL), 2);
    assert_int_equal(pgtable_bytes(&pt), 0);
    pgtable_destroy(&pt);

    /* A limit of four levels' keeps four levels. */
    assert_int_equal(pgtable_init_limit(&pt, PGT_ADDR_LIMIT), 0);
    assert_int_equal(pgtable_limit(&pt), PGT_ADDR_LIMIT);
    pgtable_destroy(&pt);
}

/* The two pages either side of a boundary, and what each needs in tables. */
static void test_table_boundaries(void **state)
{
    (void)state;
    static const struct { unsigned long boundary, tables; } cases[] = {
        { 512 * P, 1 + 1 + 2 },        /* 511 -> 512: second PTE table */
        { G1, 1 + 2 + 2 },             /* 1 GiB: second PMD table */
        { G512, 2 + 2 + 2 },           /* 512 GiB: second PUD table */
        { 3 * G512 + 7 * G1, 1 + 2 + 2 },  /* 1 GiB boundary inside one PUD table */
    };
    for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct pgtable pt;
        unsigned long b = cases[k].boundary;
        assert_int_equal(pgtable_init(&pt), 0);
        set_page(&pt, b - P, 10, 0);
        set_page(&pt, b, 11, PTE_WRITE);
        assert_int_equal(pgtable_bytes(&pt), cases[k].tables * T);
        assert_ptr_equal(pte_page(get_pte(&pt, b - P)), fake_page(10));
        assert_ptr_equal(pte_page(get_pte(&pt, b)), fake_page(11));
        assert_true(pte_write(get_pte(&pt, b)) && !pte_write(get_pte(&pt, b - P)));

        struct collected c = { 0 };
        pgtable_for_each(&pt, b - 5 * P, b + 5 * P, collect, &c);
        assert_int_equal(c.n, 2);
        assert_int_equal(c.addr[0], b - P);
        assert_int_equal(c.addr[1], b);
        /* ranges ending at / starting on the boundary see one each */
        assert_int_equal(count_present(&pt, 0, b), 1);
        assert_int_equal(count_present(&pt, b, b + P), 1);
        assert_int_equal(count_present(&pt, b - P + 1, b), 1);   /* unaligned start rounds down */
        pgtable_destroy(&pt);
    }
}

/* ------------------------------------------------------------ iterate */

static void test_sparse_iteration_is_fast(void **state)
{
    (void)state;
    struct pgtable pt;
    assert_int_equal(pgtable_init(&pt), 0);
    static const unsigned long addrs[10] = {
        0x10000UL, 0x400000UL, 5 * G1 + 3 * P, 37 * G1, 3 * TB + 5 * M2,
        20 * TB, 64 * TB - P, 64 * TB, 100 * TB + 9 * G1 + 17 * P, USER_TOP - P,
    };
    for (unsigned i = 0; i < 10; i++)
        set_page(&pt, addrs[i], i, 0);

    struct collected c = { 0 };
    double t0 = now_ns();
    pgtable_for_each(&pt, 0, USER_TOP, collect, &c);
    double dt = now_ns() - t0;
    assert_int_equal(c.n, 10);
    for (unsigned i = 0; i < 10; i++) {
        assert_int_equal(c.addr[i], addrs[i]);
        assert_ptr_equal(pte_page(c.pte[i]), fake_page(i));
    }
    print_message("  iterate [0, 128 TiB) with 10 pages: %.1f us\n", dt / 1000);
    assert_true(dt < 50e6);

    /* A range that starts and ends inside populated tables. */
    c.n = 0;
    pgtable_for_each(&pt, 64 * TB - 2 * P, 100 * TB + 9 * G1 + 18 * P, collect, &c);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.addr[0], 64 * TB - P);
    assert_int_equal(c.addr[2], 100 * TB + 9 * G1 + 17 * P);
    pgtable_destroy(&pt);
}

static int stop_at_third(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    (void)ptep;
    (void)pte;
    unsigned long *n = arg;
    return ++*n == 3 ? (int)(addr >> PGT_PAGE_SHIFT) : 0;
}

static void test_iteration_stops(void **state)
{
    (void)state;
    struct pgtable pt;
    assert_int_equal(pgtable_init(&pt), 0);
    for (unsigned long i = 0; i < 10; i++)
        set_page(&pt, (100 + i * 1000) * P, i, 0);
    unsigned long n = 0;
    assert_int_equal(pgtable_for_each(&pt, 0, USER_TOP, stop_at_third, &n), 2100);
    assert_int_equal(n, 3);
    pgtable_destroy(&pt);
}

/* --------------------------------------------------------------- clear */

/*
 * PTE tables T0 [0, 2M), T1 [2M, 4M), T2 [4M, 6M), one PMD table, one PUD
 * table; pages at 2M-P (T0), 2M, 3M, 4M-P (T1), 4M (T2):
 *
 *   T0 ......A | T1 B...C...D | T2 E.......
 */
static void populate_three(struct pgtable *pt)
{
    assert_int_equal(pgtable_init(pt), 0);
    set_page(pt, M2 - P, 0, 0);
    set_page(pt, M2, 1, 0);
    set_page(pt, M2 + M2 / 2, 2, 0);
    set_page(pt, 2 * M2 - P, 3, 0);
    set_page(pt, 2 * M2, 4, 0);
    assert_int_equal(pgtable_bytes(pt), 5 * T);
}

static void test_free_range_within_floor_ceiling(void **state)
{
    (void)state;
    struct pgtable pt;
    struct collected c = { 0 };

    /* Neighbours end at 2M and start at 4M: T1 is entirely ours and goes. */
    populate_three(&pt);
    assert_int_equal(pgtable_free_range(&pt, M2, 2 * M2, M2, 2 * M2, collect_cleared, &c), 3);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.addr[0], M2);
    assert_int_equal(c.addr[1], M2 + M2 / 2);
    assert_int_equal(c.addr[2], 2 * M2 - P);
    assert_ptr_equal(pte_page(c.pte[2]), fake_page(3));
    assert_int_equal(pgtable_bytes(&pt), 4 * T);
    assert_null(pgtable_walk(&pt, M2));
    assert_int_equal(count_present(&pt, 0, USER_TOP), 2);
    pgtable_destroy(&pt);

    /* The next VMA starts inside T1 (at 3M): T1 is shared and stays. */
    populate_three(&pt);
    c.n = 0;
    assert_int_equal(pgtable_free_range(&pt, M2, M2 + M2 / 2, M2, M2 + M2 / 2,
                                        collect_cleared, &c), 1);
    assert_int_equal(pgtable_bytes(&pt), 5 * T);
    assert_int_equal(count_present(&pt, 0, USER_TOP), 4);
    /* ... and when that VMA goes too (floor 2M, no VMA after), T1 and T2,
     * both emptied, go; T0 (A is below the floor) stays. */
    assert_int_equal(pgtable_free_range(&pt, M2 + M2 / 2, 3 * M2, M2, 0, NULL, NULL), 3);
    assert_int_equal(pgtable_bytes(&pt), 3 * T);
    assert_non_null(pgtable_walk(&pt, 0));
    pgtable_destroy(&pt);

    /* A table inside [floor, ceiling) that still maps a page outside
     * [start, end) is not empty and stays. */
    populate_three(&pt);
    assert_int_equal(pgtable_free_range(&pt, M2, M2 + P, 0, 0, NULL, NULL), 1);
    assert_int_equal(pgtable_bytes(&pt), 5 * T);
    pgtable_destroy(&pt);

    /* Everything, no neighbours: every table goes, PMD and PUD too. */
    populate_three(&pt);
    assert_int_equal(pgtable_free_range(&pt, 0, USER_TOP, 0, 0, NULL, NULL), 5);
    assert_int_equal(pgtable_bytes(&pt), 0);
    assert_null(pgtable_walk(&pt, M2));
    pgtable_destroy(&pt);
}

static void test_free_range_upper_levels(void **state)
{
    (void)state;
    struct pgtable pt;
    assert_int_equal(pgtable_init(&pt), 0);
    /* pages either side of 1 GiB: PUD, 2 PMD, 2 PTE */
    set_page(&pt, G1 - P, 0, 0);
    set_page(&pt, G1, 1, 0);
    assert_int_equal(pgtable_bytes(&pt), 5 * T);
    /* previous VMA ends at 1G, none after: the upper GiB's PTE and PMD
     * tables go, the PUD table (shared with the page below) stays */
    assert_int_equal(pgtable_free_range(&pt, G1, G1 + P, G1, 0, NULL, NULL), 1);
    assert_int_equal(pgtable_bytes(&pt), 3 * T);
    assert_ptr_equal(pte_page(get_pte(&pt, G1 - P)), fake_page(0));

    /* previous VMA ends one page below: the lower GiB's PTE table is shared
     * (starts below the floor), so nothing is freed */
    assert_int_equal(pgtable_free_range(&pt, G1 - P, G1, G1 - P, 0, NULL, NULL), 1);
    assert_int_equal(pgtable_bytes(&pt), 3 * T);
    /* now with floor 0: all three go */
    assert_int_equal(pgtable_free_range(&pt, G1 - P, G1, 0, 0, NULL, NULL), 0);
    assert_int_equal(pgtable_bytes(&pt), 0);

    /* 512 GiB span: a PUD table goes when [floor, ceiling) covers it */
    set_page(&pt, G512 + 5 * P, 2, 0);
    set_page(&pt, 2 * G512, 3, 0);
    assert_int_equal(pgtable_bytes(&pt), 6 * T);
    assert_int_equal(pgtable_free_range(&pt, G512, 2 * G512, G512, 2 * G512, NULL, NULL), 1);
    assert_int_equal(pgtable_bytes(&pt), 3 * T);
    pgtable_destroy(&pt);
}

static void test_clear_range_keeps_tables(void **state)
{
    (void)state;
    struct pgtable pt;
    struct collected c = { 0 };
    populate_three(&pt);
    assert_int_equal(pgtable_clear_range(&pt, 0, USER_TOP, collect_cleared, &c), 5);
    assert_int_equal(c.n, 5);
    assert_int_equal(c.addr[0], M2 - P);
    assert_int_equal(c.addr[4], 2 * M2);
    assert_int_equal(pgtable_bytes(&pt), 5 * T);
    assert_non_null(pgtable_walk(&pt, M2));
    assert_int_equal(count_present(&pt, 0, USER_TOP), 0);
    assert_int_equal(pgtable_clear_range(&pt, 0, USER_TOP, collect_cleared, &c), 0);
    pgtable_destroy(&pt);
}

static void test_change_prot(void **state)
{
    (void)state;
    struct pgtable pt;
    assert_int_equal(pgtable_init(&pt), 0);
    for (unsigned long i = 0; i < 8; i++)
        set_page(&pt, M2 - 4 * P + i * P, i, PTE_WRITE | PTE_DIRTY);
    /* write-protect the middle four (across the PTE table boundary) */
    assert_int_equal(pgtable_change_prot(&pt, M2 - 2 * P, M2 + 2 * P, PTE_WRITE, 0), 4);
    for (unsigned long i = 0; i < 8; i++) {
        pte_t e = get_pte(&pt, M2 - 4 * P + i * P);
        assert_ptr_equal(pte_page(e), fake_page(i));
        assert_true(pte_present(e) && pte_dirty(e));
        assert_int_equal(pte_write(e), i < 2 || i >= 6);
    }
    /* nothing left to change; PRESENT and page bits cannot be cleared */
    assert_int_equal(pgtable_change_prot(&pt, M2 - 2 * P, M2 + 2 * P, PTE_WRITE, 0), 0);
    assert_int_equal(pgtable_change_prot(&pt, 0, USER_TOP, ~0ULL, PTE_PROTNONE), 8);
    for (unsigned long i = 0; i < 8; i++) {
        pte_t e = get_pte(&pt, M2 - 4 * P + i * P);
        assert_int_equal(e, pte_mk(fake_page(i), PTE_PRESENT | PTE_PROTNONE));
    }
    pgtable_destroy(&pt);
}

/* ----------------------------------------------------- allocation failure */

static void test_alloc_failure(void **state)
{
    (void)state;
    struct pgtable pt;
    pte_t _Atomic *ptep;

    vm_fail_nth(0, true);
    assert_int_equal(pgtable_init(&pt), -ENOMEM);
    vm_fail_nth(-1, false);
    assert_int_equal(pgtable_init(&pt), 0);

    /* A fresh path needs 3 tables: failing the 1st, 2nd or 3rd changes nothing. */
    for (long n = 0; n < 3; n++) {
        vm_fail_nth(n, true);
        assert_int_equal(pgtable_walk_alloc(&pt, 5 * G512 + 3 * G1, &ptep), -ENOMEM);
        vm_fail_nth(-1, false);
        assert_int_equal(pgtable_bytes(&pt), 0);
        assert_null(pgtable_walk(&pt, 5 * G512 + 3 * G1));
    }
    vm_fail_nth(3, true);
    assert_int_equal(pgtable_walk_alloc(&pt, 5 * G512 + 3 * G1, &ptep), 0);
    vm_fail_nth(-1, false);
    assert_int_equal(pgtable_bytes(&pt), 3 * T);

    /* Below an existing PUD table: 2 tables needed, the 2nd fails. */
    vm_fail_nth(1, true);
    assert_int_equal(pgtable_walk_alloc(&pt, 5 * G512 + 4 * G1, &ptep), -ENOMEM);
    assert_int_equal(pgtable_bytes(&pt), 3 * T);
    /* An existing path needs nothing, even with every allocation failing. */
    vm_fail_nth(0, true);
    assert_int_equal(pgtable_walk_alloc(&pt, 5 * G512 + 3 * G1 + P, &ptep), 0);
    vm_fail_nth(-1, false);
    assert_int_equal(pgtable_walk_alloc(&pt, 5 * G512 + 4 * G1, &ptep), 0);
    assert_int_equal(pgtable_bytes(&pt), 5 * T);
    pgtable_destroy(&pt);              /* ASan / valgrind: nothing leaked */
}

/* ------------------------------------------------------------ concurrency */

/*
 * 4 PGD entries x 4 GiB x 4 PMD entries x 8 pages = 512 addresses in 84
 * tables (4 PUD, 16 PMD, 64 PTE).  Both threads walk them in the same order,
 * so they race to install the same tables.
 */
#define NADDR 512
#define NTABLES 84
static unsigned long conc_addr(unsigned i)
{
    return ((i >> 7) & 3) * G512 + ((i >> 5) & 3) * G1 + ((i >> 3) & 3) * M2 + (i & 7) * P;
}

struct conc {
    struct pgtable *pt;
    pthread_barrier_t *barrier;
    unsigned id;
    bool overlap;
    bool won[NADDR];
    unsigned long wins;
    int err;
};

static void *conc_thread(void *arg)
{
    struct conc *c = arg;
    pthread_barrier_wait(c->barrier);
    for (unsigned i = 0; i < NADDR; i++) {
        if (!c->overlap && (i & 1) != c->id)
            continue;
        pte_t _Atomic *ptep;
        if (pgtable_walk_alloc(c->pt, conc_addr(i), &ptep)) {
            c->err = -1;
            return NULL;
        }
        pte_t expected = 0;
        if (ptep_cmpxchg(ptep, &expected, pte_mk(fake_page(c->id * NADDR + i), PTE_PRESENT))) {
            c->won[i] = true;
            c->wins++;
        }
    }
    return NULL;
}

static void run_concurrent(bool overlap)
{
    for (int round = 0; round < 200; round++) {
        struct pgtable pt;
        pthread_barrier_t barrier;
        static struct conc c[2];
        assert_int_equal(pgtable_init(&pt), 0);
        pthread_barrier_init(&barrier, NULL, 2);
        pthread_t th[2];
        for (unsigned t = 0; t < 2; t++) {
            c[t] = (struct conc){ .pt = &pt, .barrier = &barrier, .id = t, .overlap = overlap };
            assert_int_equal(pthread_create(&th[t], NULL, conc_thread, &c[t]), 0);
        }
        for (unsigned t = 0; t < 2; t++)
            pthread_join(th[t], NULL);
        pthread_barrier_destroy(&barrier);

        assert_int_equal(c[0].err | c[1].err, 0);
        assert_int_equal(c[0].wins + c[1].wins, NADDR);
        if (!overlap)
            assert_int_equal(c[0].wins, NADDR / 2);
        for (unsigned i = 0; i < NADDR; i++) {
            assert_int_equal(c[0].won[i] + c[1].won[i], 1);
            unsigned w = c[1].won[i];
            assert_int_equal(get_pte(&pt, conc_addr(i)),
                             pte_mk(fake_page(w * NADDR + i), PTE_PRESENT));
        }
        assert_int_equal(count_present(&pt, 0, PGT_ADDR_LIMIT), NADDR);
        assert_int_equal(pgtable_bytes(&pt), NTABLES * T);
        assert_int_equal(pgtable_free_range(&pt, 0, PGT_ADDR_LIMIT, 0, 0, NULL, NULL), NADDR);
        assert_int_equal(pgtable_bytes(&pt), 0);
        pgtable_destroy(&pt);
    }
}

static void test_concurrent_disjoint(void **state)
{
    (void)state;
    run_concurrent(false);
}

static void test_concurrent_overlapping(void **state)
{
    (void)state;
    run_concurrent(true);
}

/* Every test gives back every table it took (the pool's memory stays mapped,
 * so valgrind and LeakSanitizer would not see a table lost inside it). */
static long tables_before;
static int record_tables(void **state)
{
    (void)state;
    tables_before = pgt_tables_in_use();
    return 0;
}
static int check_tables(void **state)
{
    (void)state;
    assert_int_equal(pgt_tables_in_use(), tables_before);
    return 0;
}
#undef cmocka_unit_test
#define cmocka_unit_test(f) cmocka_unit_test_setup_teardown(f, record_tables, check_tables)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_format),
        cmocka_unit_test(test_init_destroy),
        cmocka_unit_test(test_edges_of_address_space),
        cmocka_unit_test(test_five_levels),
        cmocka_unit_test(test_table_boundaries),
        cmocka_unit_test(test_sparse_iteration_is_fast),
        cmocka_unit_test(test_iteration_stops),
        cmocka_unit_test(test_free_range_within_floor_ceiling),
        cmocka_unit_test(test_free_range_upper_levels),
        cmocka_unit_test(test_clear_range_keeps_tables),
        cmocka_unit_test(test_change_prot),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_concurrent_disjoint),
        cmocka_unit_test(test_concurrent_overlapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

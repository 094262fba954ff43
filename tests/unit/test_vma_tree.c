/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/vma_tree.c: every function at its edges, allocation
 * failure, a randomized comparison with a sorted array, memory per VMA, and
 * lock-free lookups racing a writer.
 *
 * VMAs come from a pool freed only at the end of each test: the tree never
 * owns them, and a lock-free reader may hold a pointer to one just erased.
 *
 * Layout pictures use one character per page: A, B, C... are VMAs, '.' is
 * free space.
 */
#include "internal.h"
#include "rcu.h"
#include "vma_tree.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>


#if defined(__SANITIZE_THREAD__)
/* liburcu is not built with TSan: its reader registry and grace periods
 * work through memory TSan cannot follow.  (vma_tree.c annotates the grace
 * periods of its own nodes.) */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
    return "called_from_lib:liburcu-bp.so\n";
}
#endif

#define P PAGE_SIZE

/* ------------------------------------------------------------ helpers */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static unsigned long rnd_below(unsigned long n) { return n ? rnd() % n : 0; }

static uint64_t test_seed(void)
{
    const char *s = getenv("VT_SEED");
    return s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
}


struct pool {
    struct vma *v;
    size_t n, used;
};

static void pool_init(struct pool *p, size_t n)
{
    p->v = calloc(n, sizeof(*p->v));
    assert_non_null(p->v);
    p->n = n;
    p->used = 0;
}

static struct vma *pool_get(struct pool *p, unsigned long start, unsigned long end)
{
    assert_true(p->used < p->n);
    struct vma *v = &p->v[p->used++];
    /* atomic: a lock-free reader may still hold a stale pointer to a reused one */
    __atomic_store_n(&v->vm_start, start, __ATOMIC_RELAXED);
    __atomic_store_n(&v->vm_end, end, __ATOMIC_RELAXED);
    return v;
}

static void pool_free(struct pool *p)
{
    free(p->v);
    p->v = NULL;
}

static bool in_pool(const struct pool *p, const struct vma *v)
{
    uintptr_t a = (uintptr_t)v, b = (uintptr_t)p->v;
    return a >= b && a < b + p->n * sizeof(*v) && (a - b) % sizeof(*v) == 0;
}

static struct vma *add(struct vma_tree *t, struct pool *p, unsigned long start, unsigned long end)
{
    struct vma *v = pool_get(p, start, end);
    assert_int_equal(vt_insert(t, v), 0);
    assert_int_equal(vt_validate(t), 0);
    return v;
}

/* Check that iterating the tree both ways yields exactly vmas[0..n). */
static void check_order(const struct vma_tree *t, struct vma **vmas, size_t n)
{
    size_t i = 0;
    for (struct vma *v = vt_first(t); v; v = vt_next(t, v), i++) {
        assert_true(i < n);
        assert_ptr_equal(v, vmas[i]);
    }
    assert_int_equal(i, n);
    for (struct vma *v = vt_last(t); v; v = vt_prev(t, v)) {
        assert_true(i > 0);
        assert_ptr_equal(v, vmas[--i]);
    }
    assert_int_equal(i, 0);
    assert_int_equal(t->count, n);
}

/* ------------------------------------------------------------ edge cases */

static void test_empty(void **state)
{
    (void)state;
    struct vma_tree t;
    struct vma dummy = { .vm_start = P, .vm_end = 2 * P };

    vt_init(&t);
    assert_int_equal(vt_validate(&t), 0);
    assert_null(vt_lookup(&t, 0));
    assert_null(vt_lookup(&t, ULONG_MAX));
    assert_null(vt_lookup_rcu(&t, P));
    assert_null(vt_find(&t, 0));
    assert_null(vt_find_prev(&t, ULONG_MAX));
    assert_null(vt_first(&t));
    assert_null(vt_last(&t));
    assert_int_equal(vt_node_bytes(&t), 0);
    /* the whole window is free */
    assert_int_equal(vt_gap_topdown(&t, P, 100 * P, P), 100 * P);
    assert_int_equal(vt_gap_bottomup(&t, P, 100 * P, P), P);
    assert_int_equal(vt_gap_topdown(&t, P, 100 * P, 99 * P), 100 * P);
    assert_int_equal(vt_gap_bottomup(&t, P, 100 * P, 99 * P), P);
    /* window too small, empty, reversed, zero length */
    assert_int_equal(vt_gap_topdown(&t, P, 100 * P, 100 * P), -ENOMEM);
    assert_int_equal(vt_gap_bottomup(&t, P, 100 * P, 100 * P), -ENOMEM);
    assert_int_equal(vt_gap_topdown(&t, P, P, 0), -ENOMEM);
    assert_int_equal(vt_gap_bottomup(&t, 2 * P, P, P), -ENOMEM);
    assert_int_equal(vt_gap_topdown(&t, 0, 10 * P, 0), -ENOMEM);
    /* a window reaching past LONG_MAX is clipped so the result fits a long */
    assert_int_equal(vt_gap_topdown(&t, 0, ULONG_MAX, P), LONG_MAX);
    /* reserve and destroy with spares only */
    assert_int_equal(vt_reserve(&t, 3), 0);
    assert_true(t.nr_spare >= 3);
    assert_int_equal(vt_validate(&t), 0);
    assert_null(vt_find(&t, 0));
    vt_destroy(&t);
    assert_int_equal(t.nr_spare, 0);
    assert_null(t.spare);
    (void)dummy;
}

/*   0   10  20
 *   ....AAAA....      one VMA [10P, 20P)
 */
static void test_one(void **state)
{
    (void)state;
    struct vma_tree t;
    struct pool p;

    vt_init(&t);
    pool_init(&p, 4);
    struct vma *a = add(&t, &p, 10 * P, 20 * P);

    assert_int_equal(t.count, 1);
    assert_int_equal(t.height, 1);
    assert_null(vt_lookup(&t, 10 * P - 1));
    assert_ptr_equal(vt_lookup(&t, 10 * P), a);
    assert_ptr_equal(vt_lookup(&t, 20 * P - 1), a);
    assert_null(vt_lookup(&t, 20 * P));
    assert_null(vt_lookup(&t, 0));
    assert_null(vt_lookup(&t, ULONG_MAX));
    assert_ptr_equal(vt_lookup_rcu(&t, 10 * P), a);
    assert_ptr_equal(vt_lookup_rcu(&t, 20 * P - 1), a);
    assert_null(vt_lookup_rcu(&t, 20 * P));
    assert_null(vt_lookup_rcu(&t, 10 * P - 1));

    assert_ptr_equal(vt_find(&t, 0), a);
    assert_ptr_equal(vt_find(&t, 15 * P), a);
    assert_ptr_equal(vt_find(&t, 20 * P - 1), a);
    assert_null(vt_find(&t, 20 * P));
    assert_null(vt_find(&t, ULONG_MAX));

    assert_null(vt_find_prev(&t, 0));
    assert_null(vt_find_prev(&t, 10 * P));
    assert_ptr_equal(vt_find_prev(&t, 10 * P + 1), a);
    assert_ptr_equal(vt_find_prev(&t, 30 * P), a);
    assert_ptr_equal(vt_find_prev(&t, ULONG_MAX), a);

    assert_ptr_equal(vt_first(&t), a);
    assert_ptr_equal(vt_last(&t), a);
    assert_null(vt_next(&t, a));
    assert_null(vt_prev(&t, a));
    assert_true(vt_node_bytes(&t) > 0);

    /* gaps: [0, 10P) before, [20P, ...) after */
    assert_int_equal(vt_gap_topdown(&t, 0, 100 * P, P), 100 * P);
    assert_int_equal(vt_gap_topdown(&t, 0, 20 * P, P), 10 * P);        /* tail clipped away */
    assert_int_equal(vt_gap_topdown(&t, 0, 21 * P, P), 21 * P);        /* tail: [20P, 21P) */
    assert_int_equal(vt_gap_topdown(&t, 0, 21 * P, 2 * P), 10 * P);
    assert_int_equal(vt_gap_topdown(&t, 0, 15 * P, 10 * P), 10 * P);   /* exact fit */
    assert_int_equal(vt_gap_topdown(&t, 0, 15 * P, 11 * P), -ENOMEM);
    assert_int_equal(vt_gap_topdown(&t, 5 * P, 15 * P, 5 * P), 10 * P); /* clipped at low */
    assert_int_equal(vt_gap_topdown(&t, 5 * P, 15 * P, 6 * P), -ENOMEM);
    assert_int_equal(vt_gap_topdown(&t, 10 * P, 20 * P, P), -ENOMEM);  /* inside the VMA */
    assert_int_equal(vt_gap_bottomup(&t, 0, 100 * P, P), 0);
    assert_int_equal(vt_gap_bottomup(&t, 0, 100 * P, 10 * P), 0);
    assert_int_equal(vt_gap_bottomup(&t, 0, 100 * P, 11 * P), 20 * P);
    assert_int_equal(vt_gap_bottomup(&t, 3 * P, 100 * P, 7 * P), 3 * P);
    assert_int_equal(vt_gap_bottomup(&t, 3 * P, 100 * P, 8 * P), 20 * P);
    assert_int_equal(vt_gap_bottomup(&t, 12 * P, 100 * P, P), 20 * P);  /* low inside the VMA */
    assert_int_equal(vt_gap_bottomup(&t, 12 * P, 25 * P, 5 * P), 20 * P); /* tail clipped at high */
    assert_int_equal(vt_gap_bottomup(&t, 12 * P, 25 * P, 6 * P), -ENOMEM);
    assert_int_equal(vt_gap_bottomup(&t, 10 * P, 20 * P, P), -ENOMEM);

    vt_erase(&t, a);
    assert_int_equal(vt_validate(&t), 0);
    assert_null(t.root);
    assert_int_equal(t.count, 0);
    assert_null(vt_lookup(&t, 10 * P));
    assert_null(vt_first(&t));

    /* a VMA starting at 0 has a gap of 0 */
    struct vma *z = add(&t, &p, 0, P);
    assert_ptr_equal(vt_lookup(&t, 0), z);
    assert_int_equal(vt_gap_bottomup(&t, 0, 10 * P, P), P);
    assert_int_equal(vt_gap_topdown(&t, 0, P, P), -ENOMEM);
    vt_destroy(&t);
    pool_free(&p);
}

/* n VMAs of one page each, a page apart: VMA i is [(2i+1)P, (2i+2)P). */
static struct vma **build_spaced(struct vma_tree *t, struct pool *p, size_t n, bool topdown)
{
    struct vma **vmas = calloc(n, sizeof(*vmas));
    assert_non_null(vmas);
    for (size_t k = 0; k < n; k++) {
        size_t i = topdown ? n - 1 - k : k;
        vmas[i] = pool_get(p, (2 * i + 1) * P, (2 * i + 2) * P);
        assert_int_equal(vt_insert(t, vmas[i]), 0);
    }
    assert_int_equal(vt_validate(t), 0);
    return vmas;
}

static void test_many_lookups(void **state)
{
    (void)state;
    for (int topdown = 0; topdown < 2; topdown++) {
        const size_t n = 5000;
        struct vma_tree t;
        struct pool p;

        vt_init(&t);
        pool_init(&p, n);
        struct vma **v = build_spaced(&t, &p, n, topdown);
        assert_true(t.height >= 3);
        check_order(&t, v, n);
        for (size_t i = 0; i < n; i++) {
            unsigned long s = (2 * i + 1) * P, e = s + P;
            assert_null(vt_lookup(&t, s - 1));
            assert_ptr_equal(vt_lookup(&t, s), v[i]);
            assert_ptr_equal(vt_lookup(&t, e - 1), v[i]);
            assert_ptr_equal(vt_lookup_rcu(&t, s), v[i]);
            assert_null(vt_lookup_rcu(&t, s - 1));
            assert_ptr_equal(vt_find(&t, s - P), v[i]);       /* in the gap before */
            assert_ptr_equal(vt_find(&t, e - 1), v[i]);
            assert_ptr_equal(vt_find_prev(&t, s + 1), v[i]);
            assert_ptr_equal(vt_find_prev(&t, e + P / 2), v[i]); /* in the gap after */
            if (i) {
                assert_ptr_equal(vt_find_prev(&t, s), v[i - 1]);
                assert_ptr_equal(vt_prev(&t, v[i]), v[i - 1]);
            }
            if (i + 1 < n)
                assert_ptr_equal(vt_next(&t, v[i]), v[i + 1]);
        }
        assert_null(vt_lookup(&t, 2 * n * P));
        assert_null(vt_find(&t, 2 * n * P));
        assert_ptr_equal(vt_find_prev(&t, ULONG_MAX), v[n - 1]);
        assert_null(vt_find_prev(&t, P));
        assert_null(vt_next(&t, v[n - 1]));
        assert_null(vt_prev(&t, v[0]));
        assert_ptr_equal(vt_first(&t), v[0]);
        assert_ptr_equal(vt_last(&t), v[n - 1]);

        /* every gap is one page: a two-page request fits only above the last */
        assert_int_equal(vt_gap_topdown(&t, 0, 2 * n * P, 2 * P), -ENOMEM);
        assert_int_equal(vt_gap_topdown(&t, 0, 2 * n * P + 2 * P, 2 * P), 2 * n * P + 2 * P);
        assert_int_equal(vt_gap_bottomup(&t, 0, ULONG_MAX, 2 * P), 2 * n * P);
        assert_int_equal(vt_gap_topdown(&t, 0, 2 * n * P, P), (2 * n - 1) * P);
        assert_int_equal(vt_gap_bottomup(&t, 0, 2 * n * P, P), 0);
        /* clipped windows land on the nearest gap inside */
        assert_int_equal(vt_gap_topdown(&t, 0, 1001 * P, P), 1001 * P);  /* [1000P, 1001P) is a gap */
        assert_int_equal(vt_gap_topdown(&t, 0, 1002 * P, P), 1001 * P);
        assert_int_equal(vt_gap_bottomup(&t, 1001 * P, ULONG_MAX, P), 1002 * P);
        assert_int_equal(vt_gap_bottomup(&t, 1000 * P, ULONG_MAX, P), 1000 * P);
        /* half a page of a gap on each side of the window is not enough */
        assert_int_equal(vt_gap_topdown(&t, 1000 * P + P / 2, 1001 * P - P / 4, P / 2), -ENOMEM);
        assert_int_equal(vt_gap_topdown(&t, 1000 * P + P / 2, 1001 * P, P / 2), 1001 * P);

        /* erase every other VMA: gaps become three pages */
        for (size_t i = 1; i < n; i += 2) {
            vt_erase(&t, v[i]);
            if (i % 64 == 1)
                assert_int_equal(vt_validate(&t), 0);
        }
        assert_int_equal(vt_validate(&t), 0);
        assert_int_equal(t.count, n / 2);
        assert_int_equal(vt_gap_bottomup(&t, 0, ULONG_MAX, 3 * P), 2 * P);
        assert_int_equal(vt_gap_bottomup(&t, 0, ULONG_MAX, 4 * P), 2 * n * P - 2 * P);
        assert_int_equal(vt_gap_topdown(&t, 0, (2 * n - 2) * P, 3 * P), (2 * n - 3) * P);
        for (size_t i = 0; i < n; i += 2)
            vt_erase(&t, v[i]);
        assert_int_equal(vt_validate(&t), 0);
        assert_null(t.root);
        assert_int_equal(t.height, 0);

        vt_destroy(&t);
        free(v);
        pool_free(&p);
    }
}

/*
 * vt_update: grow, shrink and move VMAs, including the last entry of a leaf
 * (whose vm_end is the base of the next leaf's first gap) and the first
 * entry of a leaf.
 */
static void test_update(void **state)
{
    (void)state;
    const size_t n = 600;
    struct vma_tree t;
    struct pool p;

    vt_init(&t);
    pool_init(&p, n);
    /* VMA i is [10i P + P, 10i P + 2P): gaps of 9 pages, the first 1 page */
    struct vma **v = calloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = add(&t, &p, (10 * i + 1) * P, (10 * i + 2) * P);
    unsigned long top = (10 * n) * P;

    for (size_t i = 0; i < n; i++) {
        unsigned long s = v[i]->vm_start, e = v[i]->vm_end;
        /* grow up to touch the next VMA: that one's gap becomes 0 */
        unsigned long ne = i + 1 < n ? v[i + 1]->vm_start : e + 8 * P;
        vt_update(&t, v[i], s, ne);
        assert_int_equal(v[i]->vm_start, s);
        assert_int_equal(v[i]->vm_end, ne);
        assert_int_equal(vt_validate(&t), 0);
        assert_ptr_equal(vt_lookup(&t, ne - 1), v[i]);
        if (i + 1 < n)
            assert_ptr_equal(vt_lookup(&t, ne), v[i + 1]);
        else
            assert_null(vt_lookup(&t, ne));
        /* grow down to touch the previous one */
        unsigned long ns = i ? v[i - 1]->vm_end : 0;
        vt_update(&t, v[i], ns, ne);
        assert_int_equal(vt_validate(&t), 0);
        assert_ptr_equal(vt_lookup(&t, ns), v[i]);
        /* shrink back */
        vt_update(&t, v[i], s, e);
        assert_int_equal(vt_validate(&t), 0);
        assert_null(vt_lookup(&t, e));
        assert_null(vt_lookup(&t, s - 1));
    }
    check_order(&t, v, n);
    assert_int_equal(vt_gap_bottomup(&t, 0, top, 9 * P), 2 * P);
    assert_int_equal(vt_gap_bottomup(&t, 0, top, 10 * P), -ENOMEM);

    /* close all gaps but one, far away from where the search starts */
    for (size_t i = 0; i + 1 < n; i++)
        vt_update(&t, v[i], v[i]->vm_start, v[i + 1]->vm_start);
    vt_update(&t, v[0], 0, v[0]->vm_end);
    vt_update(&t, v[n - 1], v[n - 1]->vm_start, top);
    assert_int_equal(vt_validate(&t), 0);
    assert_int_equal(vt_gap_topdown(&t, 0, top, P), -ENOMEM);
    assert_int_equal(vt_gap_bottomup(&t, 0, top, P), -ENOMEM);
    assert_int_equal(vt_gap_bottomup(&t, 0, top + P, P), top);
    /* open a 5-page hole inside VMA 300 by moving its start up */
    struct vma *m = v[300];
    vt_update(&t, m, m->vm_start + 5 * P, m->vm_end);
    assert_int_equal(vt_validate(&t), 0);
    assert_int_equal(vt_gap_topdown(&t, 0, top, 5 * P), m->vm_start);
    assert_int_equal(vt_gap_bottomup(&t, 0, top, 5 * P), m->vm_start - 5 * P);
    assert_int_equal(vt_gap_topdown(&t, 0, top, 6 * P), -ENOMEM);
    /* move VMA 300's end down: the hole moves into VMA 301's gap */
    unsigned long s300 = m->vm_start - 5 * P;
    vt_update(&t, m, s300, m->vm_end - 5 * P);
    assert_int_equal(vt_validate(&t), 0);
    assert_int_equal(vt_gap_topdown(&t, 0, top, 5 * P), v[301]->vm_start);
    assert_ptr_equal(vt_lookup(&t, s300), m);
    assert_null(vt_lookup(&t, m->vm_end));
    /* the same for the last VMA of every leaf: walk all of them */
    for (size_t i = 0; i + 1 < n; i++) {
        if (i == 300)
            continue;
        unsigned long e = v[i]->vm_end;
        vt_update(&t, v[i], v[i]->vm_start, e - P);
        assert_int_equal(vt_gap_topdown(&t, 0, top, P), i < 300 ? v[301]->vm_start : e);
        assert_int_equal(vt_gap_bottomup(&t, 0, top, P), i < 300 ? e - P : m->vm_end);
        vt_update(&t, v[i], v[i]->vm_start, e);
        if (i % 50 == 0)
            assert_int_equal(vt_validate(&t), 0);
    }
    assert_int_equal(vt_validate(&t), 0);
    vt_destroy(&t);
    free(v);
    pool_free(&p);
}

/* ------------------------------------------------------------ allocation failure */

/* Contents as (start, end) pairs, to compare a tree before and after. */
static unsigned long *snapshot(const struct vma_tree *t)
{
    unsigned long *s = malloc((2 * t->count + 1) * sizeof(*s)), *q = s;
    for (struct vma *v = vt_first(t); v; v = vt_next(t, v)) {
        *q++ = v->vm_start;
        *q++ = v->vm_end;
    }
    return s;
}

static void test_alloc_failure(void **state)
{
    (void)state;
    struct vma_tree t;
    struct pool p;

    /* The fanout, as the first split shows it. */
    size_t F = 0;
    vt_init(&t);
    pool_init(&p, 1000);
    while (t.height < 2) {
        F++;
        add(&t, &p, (1000 - F) * P, (1000 - F) * P + P / 2);
    }
    F--;
    vt_destroy(&t);
    pool_free(&p);
    const size_t n = F * F;           /* top-down: every leaf and the root full */

    vt_init(&t);
    pool_init(&p, n + 100);

    /* the very first insert needs a leaf */
    vm_fail_nth(0, true);
    struct vma *x = pool_get(&p, 0x1000 * P, 0x1001 * P);
    assert_int_equal(vt_insert(&t, x), -ENOMEM);
    assert_null(t.root);
    assert_int_equal(vt_validate(&t), 0);
    assert_int_equal(vt_reserve(&t, 1), -ENOMEM);
    vm_fail_nth(-1, false);

    /* Inserting into any gap now splits a leaf and the root and adds a root:
     * let each of those allocations fail in turn (on a fresh tree each time,
     * since a failed insert keeps what it allocated as spares), and check
     * that the tree stays as it was. */
    const unsigned long where[] = { 0, 8 * P, 2 * n * P + P, (2 * n - 2) * P };
    struct vma **v = NULL;
    for (long ok = 0; ok < 3; ok++) {
        for (size_t w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
            vt_destroy(&t);
            vt_init(&t);
            p.used = 0;
            free(v);
            v = build_spaced(&t, &p, n, true);
            assert_int_equal(t.height, 2);
            size_t bytes = vt_node_bytes(&t);
            unsigned long *before = snapshot(&t);
            struct vma *y = pool_get(&p, where[w], where[w] + P / 4);
            vm_fail_nth(ok, true);
            assert_int_equal(vt_insert(&t, y), -ENOMEM);
            vm_fail_nth(-1, false);
            assert_int_equal(vt_validate(&t), 0);
            assert_int_equal(t.count, n);
            assert_int_equal(vt_node_bytes(&t), bytes);
            assert_null(vt_lookup(&t, where[w]));
            unsigned long *after = snapshot(&t);
            assert_memory_equal(before, after, 2 * n * sizeof(*before));
            free(after);
            free(before);
            /* with the allocations back, the same insert works */
            assert_int_equal(vt_insert(&t, y), 0);
            assert_int_equal(vt_validate(&t), 0);
            assert_ptr_equal(vt_lookup(&t, where[w]), y);
            assert_int_equal(t.height, 3);
        }
    }
    vt_destroy(&t);

    /* reserve, then inserts with every allocation failing */
    vt_init(&t);
    p.used = 0;
    free(v);
    v = build_spaced(&t, &p, n, true);
    assert_int_equal(vt_reserve(&t, 6), 0);
    unsigned spare = t.nr_spare;
    vm_fail_nth(0, true);
    unsigned long at[] = { 0, 2 * n * P + P, 32 * P, 2 * n * P + 3 * P, 64 * P, 96 * P };
    for (size_t k = 0; k < 6; k++) {
        struct vma *y = pool_get(&p, at[k], at[k] + P / 2);
        assert_int_equal(vt_insert(&t, y), 0);
        assert_int_equal(vt_validate(&t), 0);
        assert_ptr_equal(vt_lookup(&t, at[k]), y);
    }
    assert_true(t.nr_spare < spare);
    assert_int_equal(t.count, n + 6);
    /* erases never allocate */
    for (size_t i = 0; i < n; i += 3)
        vt_erase(&t, v[i]);
    assert_int_equal(vt_validate(&t), 0);
    vm_fail_nth(-1, false);
    vt_destroy(&t);
    free(v);
    pool_free(&p);
}

/* vt_reserve's bound holds for inserts that split all the way up each time. */
static void test_reserve_worst_case(void **state)
{
    (void)state;
    const size_t n = 4096;
    struct vma_tree t;
    struct pool p;

    vt_init(&t);
    pool_init(&p, 2 * n + 64);
    /* top-down build: full nodes everywhere; then tiny VMAs into the gaps in
     * the middle of random leaves, so that most inserts split */
    struct vma **v = build_spaced(&t, &p, n, true);
    unsigned *offs = calloc(n, sizeof(*offs));
    rng_state = 99;
    for (unsigned k = 1; k <= 40 && p.used + k <= p.n; k++) {
        assert_int_equal(vt_reserve(&t, k), 0);
        vm_fail_nth(0, true);
        for (unsigned j = 0; j < k; j++) {
            size_t i = (rnd_below(n / 16) * 16 + 8 + rnd_below(2)) % n;
            if (offs[i] + 16 >= P)
                continue;
            unsigned long s = 2 * i * P + offs[i];
            offs[i] += 16;
            assert_int_equal(vt_insert(&t, pool_get(&p, s, s + 16)), 0);
        }
        vm_fail_nth(-1, false);
        assert_int_equal(vt_validate(&t), 0);
    }
    free(offs);
    vt_destroy(&t);
    free(v);
    pool_free(&p);
}

/* ------------------------------------------------------------ randomized model */

/* A sorted array of VMAs: the obviously correct version. */
struct model {
    struct vma **v;
    size_t n;
};

static size_t model_find(const struct model *m, unsigned long addr)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->v[mid]->vm_end > addr)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static long model_topdown(const struct model *m, unsigned long low, unsigned long high, unsigned long len)
{
    if (!len || low >= high || high - low < len)
        return -ENOMEM;
    for (size_t i = m->n + 1; i-- > 0;) {
        unsigned long gs = i ? m->v[i - 1]->vm_end : 0;
        unsigned long ge = i < m->n ? m->v[i]->vm_start : ULONG_MAX;
        gs = max(gs, low);
        ge = min(ge, high);
        if (ge > gs && ge - gs >= len)
            return (long)ge;
    }
    return -ENOMEM;
}

static long model_bottomup(const struct model *m, unsigned long low, unsigned long high, unsigned long len)
{
    if (!len || low >= high || high - low < len)
        return -ENOMEM;
    for (size_t i = 0; i <= m->n; i++) {
        unsigned long gs = i ? m->v[i - 1]->vm_end : 0;
        unsigned long ge = i < m->n ? m->v[i]->vm_start : ULONG_MAX;
        gs = max(gs, low);
        ge = min(ge, high);
        if (ge > gs && ge - gs >= len)
            return (long)gs;
    }
    return -ENOMEM;
}

#define SPACE (1UL << 22)   /* addresses in [0, SPACE) pages, plus a byte offset */

static unsigned long rnd_addr(void)
{
    /* mostly page-aligned, sometimes not, to hit off-by-one edges */
    unsigned long a = rnd_below(SPACE) * P;
    if (rnd() % 4 == 0)
        a += rnd_below(P);
    return a;
}

static void model_check_point(const struct vma_tree *t, const struct model *m, unsigned long a)
{
    size_t i = model_find(m, a);
    struct vma *f = i < m->n ? m->v[i] : NULL;
    struct vma *l = f && f->vm_start <= a ? f : NULL;
    struct vma *pv = f && f->vm_start < a ? f : (i ? m->v[i - 1] : NULL);

    assert_ptr_equal(vt_find(t, a), f);
    assert_ptr_equal(vt_lookup(t, a), l);
    assert_ptr_equal(vt_lookup_rcu(t, a), l);
    assert_ptr_equal(vt_find_prev(t, a), pv);
}

/*
 * The write-side lookups give the same answers wherever the cursor is, and
 * move it: called before a change, they aim the cursor at the VMA the change
 * is about (or beside it), so that the change takes its entry from there.
 */
static void model_check_wr(struct vma_tree *t, const struct model *m, unsigned long a)
{
    size_t i = model_find(m, a);
    struct vma *f = i < m->n ? m->v[i] : NULL;
    struct vma *pv = f && f->vm_start < a ? f : (i ? m->v[i - 1] : NULL);
    struct vma *prev;

    if (rnd() % 2) {
        assert_ptr_equal(vt_find_wr(t, a), f);
    } else {
        assert_ptr_equal(vt_find_and_prev_wr(t, a, &prev), f);
        assert_ptr_equal(prev, pv);
    }
    if (f && rnd() % 2)
        assert_ptr_equal(vt_next_wr(t, f), i + 1 < m->n ? m->v[i + 1] : NULL);
}

/* Aim the cursor at m->v[i], at a neighbour of it, or nowhere in particular. */
static void model_aim(struct vma_tree *t, const struct model *m, size_t i)
{
    switch (rnd() % 4) {
    case 0:
        model_check_wr(t, m, m->v[i]->vm_start + rnd_below(m->v[i]->vm_end - m->v[i]->vm_start));
        break;
    case 1:
        if (i > 0)
            model_check_wr(t, m, m->v[i - 1]->vm_end - 1);
        break;
    case 2:
        if (i + 1 < m->n)
            model_check_wr(t, m, m->v[i + 1]->vm_start);
        break;
    default:
        break;
    }
}

static void run_model(uint64_t seed, unsigned ops, size_t cap)
{
    struct vma_tree t;
    struct pool p;
    struct model m = { calloc(cap, sizeof(struct vma *)), 0 };
    /* free VMA objects, reused */
    struct vma **freelist = calloc(cap, sizeof(*freelist));
    size_t nfree = 0;

    rng_state = seed;
    vt_init(&t);
    pool_init(&p, cap);
    for (size_t i = 0; i < cap; i++)
        freelist[nfree++] = &p.v[cap - 1 - i];
    p.used = cap;

    /* Grow towards a target, then shrink, several times: exercises splits,
     * spills, merges, root growth and collapse. */
    size_t target = 1 + rnd_below(cap);
    for (unsigned op = 0; op < ops; op++) {
        if (op % 2000 == 0)
            target = rnd() % 3 == 0 ? rnd_below(40) : 1 + rnd_below(cap);
        unsigned kind = rnd() % 100;
        bool grow = m.n < target;
        bool changed = false;

        if (kind < 30 + (grow ? 25 : 0) && nfree) {
            /* insert a random VMA in a random free spot, or next to one */
            unsigned long a = rnd_addr() & PAGE_MASK, len = (1 + rnd_below(rnd() % 2 ? 4 : 64)) * P;
            if (rnd() % 3 == 0 && m.n) {
                struct vma *nb = m.v[rnd_below(m.n)];
                a = rnd() % 2 ? nb->vm_end : nb->vm_start - len;
            }
            if (a + len <= a || a + len > SPACE * P)
                continue;
            size_t i = model_find(&m, a);
            if (i < m.n && m.v[i]->vm_start < a + len)
                continue;   /* overlaps */
            struct vma *v = freelist[--nfree];
            v->vm_start = a;
            v->vm_end = a + len;
            if (rnd() % 8 == 0)
                assert_int_equal(vt_reserve(&t, 1 + rnd_below(4)), 0);
            if (rnd() % 2)
                model_check_wr(&t, &m, a);   /* the insert descends from the cursor */
            assert_int_equal(vt_insert(&t, v), 0);
            memmove(&m.v[i + 1], &m.v[i], (m.n - i) * sizeof(*m.v));
            m.v[i] = v;
            m.n++;
            changed = true;
        } else if (kind < 60 + (grow ? 0 : 25) && m.n) {
            size_t i = rnd_below(m.n);
            if (rnd() % 4 == 0)
                i = rnd() % 2 ? 0 : m.n - 1;
            model_aim(&t, &m, i);
            vt_erase(&t, m.v[i]);
            freelist[nfree++] = m.v[i];
            memmove(&m.v[i], &m.v[i + 1], (m.n - i - 1) * sizeof(*m.v));
            m.n--;
            changed = true;
        } else if (kind < 75 && m.n) {
            /* move one VMA's bounds anywhere between its neighbours */
            size_t i = rnd_below(m.n);
            struct vma *v = m.v[i];
            unsigned long lo = i ? m.v[i - 1]->vm_end : 0;
            unsigned long hi = i + 1 < m.n ? m.v[i + 1]->vm_start : SPACE * P;
            unsigned long s = v->vm_start, e = v->vm_end;
            switch (rnd() % 4) {
            case 0: s = lo + rnd_below(e - lo); break;                         /* start only */
            case 1: e = s + 1 + rnd_below(hi - s); break;                      /* end only */
            case 2: s = lo; e = hi; break;                                     /* fill the gaps */
            default: s = lo + rnd_below(hi - lo); e = s + 1 + rnd_below(hi - s); break;
            }
            model_aim(&t, &m, i);
            vt_update(&t, v, s, e);
            assert_int_equal(v->vm_start, s);
            assert_int_equal(v->vm_end, e);
            changed = true;
        } else if (kind < 79 && m.n && nfree) {
            /* vt_split: a prefix or a suffix of one VMA becomes a new VMA */
            size_t i = rnd_below(m.n);
            struct vma *v = m.v[i];
            if (v->vm_end - v->vm_start < 2)
                continue;
            model_aim(&t, &m, i);
            if (rnd() % 3 == 0 && nfree >= 2 && v->vm_end - v->vm_start >= 3) {
                /* vt_split3: a prefix and a suffix at once */
                unsigned long a = v->vm_start + 1 + rnd_below(v->vm_end - v->vm_start - 2);
                unsigned long b = a + 1 + rnd_below(v->vm_end - a - 1);
                unsigned long old_start = v->vm_start, old_end = v->vm_end;
                struct vma *lo = freelist[--nfree], *hi = freelist[--nfree];
                lo->vm_start = old_start;
                lo->vm_end = a;
                hi->vm_start = b;
                hi->vm_end = old_end;
                if (rnd() % 8 == 0)
                    assert_int_equal(vt_reserve(&t, 2), 0);
                assert_int_equal(vt_split3(&t, v, lo, hi), 0);
                assert_int_equal(v->vm_start, a);
                assert_int_equal(v->vm_end, b);
                memmove(&m.v[i + 3], &m.v[i + 1], (m.n - i - 1) * sizeof(*m.v));
                m.v[i] = lo;
                m.v[i + 1] = v;
                m.v[i + 2] = hi;
                m.n += 2;
                changed = true;
                goto checked;
            }
            unsigned long at = v->vm_start + 1 + rnd_below(v->vm_end - v->vm_start - 1);
            bool below = rnd() % 2;
            unsigned long old_start = v->vm_start, old_end = v->vm_end;
            struct vma *nv = freelist[--nfree];
            nv->vm_start = below ? old_start : at;
            nv->vm_end = below ? at : old_end;
            if (rnd() % 8 == 0)
                assert_int_equal(vt_reserve(&t, 1), 0);
            assert_int_equal(vt_split(&t, v, nv), 0);
            assert_int_equal(v->vm_start, below ? at : old_start);
            assert_int_equal(v->vm_end, below ? old_end : at);
            if (!below)
                i++;
            memmove(&m.v[i + 1], &m.v[i], (m.n - i) * sizeof(*m.v));
            m.v[i] = nv;
            m.n++;
            changed = true;
        } else if (kind < 83 && m.n) {
            /* vt_merge: one VMA grows over up to two neighbours on each side,
             * and perhaps into the gaps beyond them */
            size_t i = rnd_below(m.n);
            size_t k1 = rnd_below(3), k2 = rnd_below(3);
            k1 = min(k1, i);
            k2 = min(k2, m.n - 1 - i);
            if (rnd() % 4 == 0)
                k1 = k2 = 0;
            struct vma *v = m.v[i];
            unsigned long s = m.v[i - k1]->vm_start, e = m.v[i + k2]->vm_end;
            unsigned long lo = i - k1 ? m.v[i - k1 - 1]->vm_end : 0;
            unsigned long hi = i + k2 + 1 < m.n ? m.v[i + k2 + 1]->vm_start : SPACE * P;
            if (rnd() % 3 == 0)
                s = lo + rnd_below(s - lo + 1);
            if (rnd() % 3 == 0)
                e = e + rnd_below(hi - e + 1);
            for (size_t j = i - k1; j <= i + k2; j++)
                if (j != i)
                    freelist[nfree++] = m.v[j];
            model_aim(&t, &m, i);
            vt_merge(&t, v, s, e);
            assert_int_equal(v->vm_start, s);
            assert_int_equal(v->vm_end, e);
            m.v[i - k1] = v;
            memmove(&m.v[i - k1 + 1], &m.v[i + k2 + 1], (m.n - i - k2 - 1) * sizeof(*m.v));
            m.n -= k1 + k2;
            changed = true;
        } else if (kind < 88) {
            unsigned long a = rnd_addr();
            model_check_point(&t, &m, a);
            model_check_wr(&t, &m, a);
            if (m.n) {
                struct vma *v = m.v[rnd_below(m.n)];
                model_check_point(&t, &m, v->vm_start);
                model_check_point(&t, &m, v->vm_end - 1);
                model_check_point(&t, &m, v->vm_end);
                if (v->vm_start)
                    model_check_point(&t, &m, v->vm_start - 1);
            }
        } else {
            unsigned long low = rnd_addr(), high = rnd_addr();
            if (rnd() % 4 == 0)
                low = 0;
            if (rnd() % 4 == 0)
                high = SPACE * P + rnd_below(10) * P;
            if (low > high) {
                unsigned long x = low;
                low = high;
                high = x;
            }
            unsigned long len = rnd() % 2 ? (1 + rnd_below(8)) * P : 1 + rnd_below((high - low) / 4 + 1);
            assert_int_equal(vt_gap_topdown(&t, low, high, len), model_topdown(&m, low, high, len));
            assert_int_equal(vt_gap_bottomup(&t, low, high, len), model_bottomup(&m, low, high, len));
        }
    checked:
        if (changed) {
            int err = vt_validate(&t);
            if (err)
                fail_msg("vt_validate failed at line %d (op %u, seed 0x%llx)", -err, op,
                         (unsigned long long)seed);
            assert_int_equal(t.count, m.n);
        }
        if (op % 500 == 0) {
            size_t i = 0;
            for (struct vma *v = vt_first(&t); v; v = vt_next(&t, v))
                assert_ptr_equal(v, m.v[i++]);
            assert_int_equal(i, m.n);
        }
    }
    vt_destroy(&t);
    pool_free(&p);
    free(m.v);
    free(freelist);
}

static void test_random_model(void **state)
{
    (void)state;
    uint64_t seed = test_seed();
    print_message("random model: seed 0x%llx (rerun with VT_SEED=0x%llx)\n",
                  (unsigned long long)seed, (unsigned long long)seed);
    /* small trees reach every shape of one or two levels, large ones depth */
    for (unsigned k = 0; k < 4; k++)
        run_model(seed + k, 20000, 40);
    run_model(seed + 10, 60000, 3000);
}

/* ------------------------------------------------------------ memory */

static void test_memory(void **state)
{
    (void)state;
    const size_t n = 100000;
    struct vma_tree t;
    struct pool p;
    const unsigned long base = 0x7f0000000000UL;

    /*
     * mmap's pattern: each new VMA just below the previous one.  Budget: a
     * 448-byte node (16 keys, 16 pointer+start/gap pairs, header, rounded to
     * cache lines) per 16 VMAs is 28 bytes, plus the internal levels; the
     * project's goal is 128 bytes per VMA with the 96 of a malloc'd VMA.
     */
#define BYTES_PER_VMA_MAX 30
    vt_init(&t);
    pool_init(&p, n);
    for (size_t i = 0; i < n; i++) {
        unsigned long e = base - i * 3 * P;
        assert_int_equal(vt_insert(&t, pool_get(&p, e - 2 * P, e)), 0);
    }
    assert_int_equal(vt_validate(&t), 0);
    double topdown = (double)vt_node_bytes(&t) / (double)t.count;
    print_message("bytes per VMA: top-down %.2f\n", topdown);
    assert_true(vt_node_bytes(&t) <= BYTES_PER_VMA_MAX * t.count);

    /* shrinking: erase 90% at random; merges keep the tree from staying sparse */
    rng_state = 12345;
    struct vma **order = malloc(n * sizeof(*order));
    for (size_t i = 0; i < n; i++)
        order[i] = &p.v[i];
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rnd_below(i + 1);
        struct vma *x = order[i];
        order[i] = order[j];
        order[j] = x;
    }
    for (size_t i = 0; i < n * 9 / 10; i++)
        vt_erase(&t, order[i]);
    assert_int_equal(vt_validate(&t), 0);
    double shrunk = (double)vt_node_bytes(&t) / (double)t.count;
    print_message("bytes per VMA: after erasing 90%% at random %.2f\n", shrunk);
    /* merges keep nodes about half full or better: within twice the dense figure */
    assert_true(shrunk <= 2 * BYTES_PER_VMA_MAX);
    for (size_t i = n * 9 / 10; i < n; i++)
        vt_erase(&t, order[i]);
    assert_int_equal(vt_node_bytes(&t), 0);
    assert_null(t.root);
    vt_destroy(&t);

    /* appends at the end (bottom-up placement, brk-like growth) */
    vt_init(&t);
    p.used = 0;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vt_insert(&t, pool_get(&p, (3 * i + 1) * P, (3 * i + 3) * P)), 0);
    double bottomup = (double)vt_node_bytes(&t) / (double)t.count;
    print_message("bytes per VMA: appended %.2f\n", bottomup);
    assert_true(vt_node_bytes(&t) <= BYTES_PER_VMA_MAX * t.count);
    vt_destroy(&t);

    /* top-down inside a hole between two fixed areas (libraries below mmap_base) */
    vt_init(&t);
    p.used = 0;
    add(&t, &p, P, 2 * P);
    add(&t, &p, base + P, base + 2 * P);
    for (size_t i = 0; i < n - 2; i++) {
        unsigned long e = base - i * 3 * P;
        assert_int_equal(vt_insert(&t, pool_get(&p, e - 2 * P, e)), 0);
    }
    assert_int_equal(vt_validate(&t), 0);
    print_message("bytes per VMA: top-down in a hole %.2f\n",
                  (double)vt_node_bytes(&t) / (double)t.count);
    assert_true(vt_node_bytes(&t) <= BYTES_PER_VMA_MAX * t.count);
    vt_destroy(&t);

    /* random insertion order: splits in the middle, still well under 32 */
    vt_init(&t);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vt_insert(&t, order[i]), 0);
    assert_int_equal(vt_validate(&t), 0);
    double random = (double)vt_node_bytes(&t) / (double)t.count;
    print_message("bytes per VMA: random order %.2f\n", random);
    /* random order fills nodes to about 70%, as in any B-tree: 28 / 0.7 + internal levels */
    assert_true(random <= 38);
    vt_destroy(&t);
    free(order);
    pool_free(&p);
}

/* ------------------------------------------------------------ concurrency */

#define CONC_VMAS   3000                 /* the writer's pool */
#define CONC_STABLE 256                  /* VMAs the writer never touches */
#define CONC_SPAN   (8UL * CONC_VMAS * P)  /* the address range in use */
#define CONC_STRIDE (CONC_SPAN / CONC_STABLE)

/* Stable VMA k is [k * CONC_STRIDE, k * CONC_STRIDE + P). */
struct conc {
    struct vma_tree t;
    struct pool p, stable;
    pthread_mutex_t lock;              /* the writers' lock (the mmap write lock) */
    int stop;
    unsigned long lookups[2], hits[2], stable_tries[2], stable_misses[2];
    unsigned long progress[2];         /* lookups so far, while running */
    int bad;
};

/*
 * A reader: vt_lookup_rcu under rcu_read_lock() while the writer changes
 * the tree.  Whatever comes back must be NULL or one of the test's VMAs.
 * Half the lookups aim at a stable VMA: those may fail only while the writer
 * shifts the entries around it, so nearly all must find it.
 */
static void *conc_reader(void *arg)
{
    struct conc *c = arg;
    static int next_id;
    int id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED) % 2;
    uint64_t s = 0x1234 + (uint64_t)id * 77;
    unsigned long n = 0, hits = 0, tries = 0, misses = 0;

    rcu_register_thread();
    while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
        for (int k = 0; k < 64; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            bool stable = s >> 63;
            unsigned long a = (s >> 20) % (CONC_SPAN / P) * P;
            size_t sk = (s >> 24) % CONC_STABLE;
            if (stable)
                a = sk * CONC_STRIDE + (s >> 40) % P;
            rcu_read_lock();
            struct vma *v = vt_lookup_rcu(&c->t, a);
            if (v) {
                if (!in_pool(&c->p, v) && !in_pool(&c->stable, v))
                    __atomic_store_n(&c->bad, 1, __ATOMIC_RELAXED);
                hits++;
            }
            rcu_read_unlock();
            if (stable) {
                tries++;
                misses += v != &c->stable.v[sk];
            }
            n++;
        }
        __atomic_store_n(&c->progress[id], n, __ATOMIC_RELAXED);
    }
    rcu_unregister_thread();
    c->lookups[id] = n;
    c->hits[id] = hits;
    c->stable_tries[id] = tries;
    c->stable_misses[id] = misses;
    return NULL;
}

static void test_concurrent_rcu(void **state)
{
    (void)state;
    struct conc *c = calloc(1, sizeof(*c));
    pthread_t r[2];
    struct model m = { calloc(CONC_VMAS + CONC_STABLE, sizeof(struct vma *)), 0 };
    struct vma **freelist = calloc(CONC_VMAS, sizeof(*freelist));
    size_t nfree = 0;
    unsigned long writes = 0;

    vt_init(&c->t);
    pool_init(&c->p, CONC_VMAS);
    c->p.used = CONC_VMAS;
    for (size_t i = 0; i < CONC_VMAS; i++)
        freelist[nfree++] = &c->p.v[i];
    pool_init(&c->stable, CONC_STABLE);
    for (size_t k = 0; k < CONC_STABLE; k++) {
        m.v[m.n++] = pool_get(&c->stable, k * CONC_STRIDE, k * CONC_STRIDE + P);
        assert_int_equal(vt_insert(&c->t, m.v[m.n - 1]), 0);
    }
    pthread_mutex_init(&c->lock, NULL);
    rng_state = test_seed();

    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&r[i], NULL, conc_reader, c), 0);

    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        for (int k = 0; k < 256; k++) {
            pthread_mutex_lock(&c->lock);
            unsigned kind = rnd() % 3;
            size_t i = m.n ? rnd_below(m.n) : 0;
            if (kind == 0 && nfree && m.n < CONC_STABLE + CONC_VMAS * 3 / 4) {
                unsigned long a = rnd_below(CONC_SPAN / P) * P, len = (1 + rnd_below(4)) * P;
                i = model_find(&m, a);
                if (!(i < m.n && m.v[i]->vm_start < a + len) && a + len <= CONC_SPAN) {
                    struct vma *v = freelist[--nfree];
                    __atomic_store_n(&v->vm_start, a, __ATOMIC_RELAXED);
                    __atomic_store_n(&v->vm_end, a + len, __ATOMIC_RELAXED);
                    assert_int_equal(vt_insert(&c->t, v), 0);
                    memmove(&m.v[i + 1], &m.v[i], (m.n - i) * sizeof(*m.v));
                    m.v[i] = v;
                    m.n++;
                }
            } else if (kind == 1 && in_pool(&c->p, m.v[i])) {
                vt_erase(&c->t, m.v[i]);
                /* Reused at once: readers may still see it; it stays in the pool. */
                freelist[nfree++] = m.v[i];
                memmove(&m.v[i], &m.v[i + 1], (m.n - i - 1) * sizeof(*m.v));
                m.n--;
            } else if (kind == 2 && in_pool(&c->p, m.v[i])) {
                struct vma *v = m.v[i];
                unsigned long lo = i ? m.v[i - 1]->vm_end : 0;
                unsigned long hi = i + 1 < m.n ? m.v[i + 1]->vm_start : CONC_SPAN;
                unsigned long s = lo + rnd_below((hi - lo) / P) * P;
                unsigned long e = s + (1 + rnd_below((hi - s) / P)) * P;
                vt_update(&c->t, v, s, e);
            }
            writes++;
            pthread_mutex_unlock(&c->lock);
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        /* A second of writes, and on until both readers have run (under
         * valgrind, which runs one thread at a time, one may wait long). */
    } while ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) < 1000000000L ||
             ((!__atomic_load_n(&c->progress[0], __ATOMIC_RELAXED) ||
               !__atomic_load_n(&c->progress[1], __ATOMIC_RELAXED)) &&
              now.tv_sec - t0.tv_sec < 120));

    __atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++)
        pthread_join(r[i], NULL);
    unsigned long tries = c->stable_tries[0] + c->stable_tries[1];
    unsigned long misses = c->stable_misses[0] + c->stable_misses[1];
    print_message("concurrent: %lu writes, %lu + %lu lock-free lookups (%lu + %lu hits), "
                  "%lu of %lu lookups of untouched VMAs missed\n",
                  writes, c->lookups[0], c->lookups[1], c->hits[0], c->hits[1], misses, tries);
    assert_false(c->bad);
    assert_true(c->lookups[0] > 0 && c->lookups[1] > 0);
    assert_true(misses <= tries / 100);
    assert_int_equal(vt_validate(&c->t), 0);
    assert_int_equal(c->t.count, m.n);
    /* with the writer gone, every lookup is right again */
    for (size_t k = 0; k < CONC_STABLE; k++)
        assert_ptr_equal(vt_lookup_rcu(&c->t, k * CONC_STRIDE), &c->stable.v[k]);

    vt_destroy(&c->t);
    vm_rcu_barrier();         /* nodes freed through vm_call_rcu are gone */
    pthread_mutex_destroy(&c->lock);
    pool_free(&c->p);
    pool_free(&c->stable);
    free(m.v);
    free(freelist);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_one),
        cmocka_unit_test(test_many_lookups),
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_reserve_worst_case),
        cmocka_unit_test(test_random_model),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_concurrent_rcu),
    };
    int ret = cmocka_run_group_tests(tests, NULL, NULL);
    vm_rcu_barrier();         /* let the RCU worker free the last nodes before exit */
    return ret;
}

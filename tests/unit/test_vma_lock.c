/* SPDX-License-Identifier: MIT */
/*
 * Per-VMA read locks against a writer: lock_vma_under_rcu may fail (NULL)
 * while the writer works, but whatever it returns must be a VMA of this mm
 * that covers the address, read-locked, and stay so until vma_end_read, even
 * though freed VMAs are reused at once (type-stable VMAs) and tree nodes
 * are reclaimed after grace periods.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "internal.h"

#define W    0x200000000000UL
#define NPG  64

static struct mm *g_mm;
static atomic_bool g_stop;
static atomic_ulong g_hits, g_misses, g_bad;

static unsigned long rnd(unsigned long *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *reader(void *arg)
{
    unsigned long s = (unsigned long)(uintptr_t)arg | 1;
    /* Odd readers go through the fault path's per-thread hint. */
    bool hinted = (uintptr_t)arg & 1;
    while (!atomic_load(&g_stop)) {
        unsigned long addr = W + (rnd(&s) % NPG) * PAGE_SIZE + rnd(&s) % PAGE_SIZE;
        const struct vma_ref *v = hinted ? lock_vma_under_rcu_hinted(g_mm, addr)
                                         : lock_vma_under_rcu(g_mm, addr);
        if (!v) {
            atomic_fetch_add(&g_misses, 1);
            continue;
        }
        /* Read twice: a writer must not change the VMA under our lock. */
        unsigned long st = vma_start(v), en = vma_end(v);
        vm_flags_t fl = vma_flags(v);
        if (vma_mm(v) != g_mm || st > addr || addr >= en || st != vma_start(v) ||
            en != vma_end(v) || fl != vma_flags(v))
            atomic_fetch_add(&g_bad, 1);
        vma_end_read(v);
        atomic_fetch_add(&g_hits, 1);
    }
    return NULL;
}

static void test_readers_against_writer(void **state)
{
    (void)state;
    g_mm = mm_create(NULL);
    assert_non_null(g_mm);
    pthread_t r[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&r[i], NULL, reader, (void *)(uintptr_t)(i + 7)), 0);

    unsigned long s = 12345;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned long ops = 0;
    do {
        unsigned long a = W + (rnd(&s) % NPG) * PAGE_SIZE;
        unsigned long len = (1 + rnd(&s) % 8) * PAGE_SIZE;
        if (a + len > W + NPG * PAGE_SIZE)
            len = W + NPG * PAGE_SIZE - a;
        int prot = (int)(rnd(&s) % 4) == 0 ? PROT_READ : PROT_READ | PROT_WRITE;
        switch (rnd(&s) % 3) {
        case 0:
            assert_true(mm_mmap(g_mm, a, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0) == (long)a);
            break;
        case 1:
            assert_int_equal(mm_munmap(g_mm, a, len), 0);
            break;
        default:
            mm_mprotect(g_mm, a, len, prot);
            break;
        }
        ops++;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 1000000000L);

    atomic_store(&g_stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(r[i], NULL);
    print_message("%lu writer ops; %lu locked lookups, %lu fell back\n", ops,
                  atomic_load(&g_hits), atomic_load(&g_misses));
    assert_int_equal(atomic_load(&g_bad), 0);
    assert_true(atomic_load(&g_hits) > 0);
    struct mm_stats st;
    mm_get_stats(g_mm, &st);
    mmput(g_mm);
}

/* lock_vma_under_rcu_hinted (which keeps and tries the hint), and the VMA
 * it returns: NULL, or [start, end). */
static void expect_locked(struct mm *mm, unsigned long addr, unsigned long start, unsigned long end)
{
    const struct vma_ref *v = lock_vma_under_rcu_hinted(mm, addr);
    if (!start) {
        assert_null(v);
        return;
    }
    assert_non_null(v);
    assert_ptr_equal(vma_mm(v), mm);
    assert_int_equal(vma_start(v), start);
    assert_int_equal(vma_end(v), end);
    vma_end_read(v);
}

static unsigned long map_fixed(struct mm *mm, unsigned long addr, unsigned long len)
{
    long r = mm_mmap(mm, addr, len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
    assert_int_equal(r, (long)addr);
    return addr;
}

/*
 * The fault path's per-thread hint (the VMA last locked) goes stale in every way a VMA
 * can change under it: split, unmapped, its memory reused for another
 * range, its mm destroyed and another created, maybe at the same address.
 * Each lock must still return the VMA the tree has.
 */
static void test_stale_hint(void **state)
{
    (void)state;
    const unsigned long P = PAGE_SIZE;
    struct mm *a = mm_create(NULL);
    assert_non_null(a);
    map_fixed(a, W, 4 * P);
    expect_locked(a, W, W, W + 4 * P);
    expect_locked(a, W + 3 * P, W, W + 4 * P);
    /* Split: the hinted VMA keeps one part; the other is a new VMA. */
    assert_int_equal(mm_mprotect(a, W + 2 * P, 2 * P, PROT_READ), 0);
    expect_locked(a, W + 3 * P, W + 2 * P, W + 4 * P);
    expect_locked(a, W + P, W, W + 2 * P);
    /* Unmapped, then the freed VMAs reused for a range that overlaps. */
    assert_int_equal(mm_munmap(a, W, 4 * P), 0);
    expect_locked(a, W + P, 0, 0);
    map_fixed(a, W + 2 * P, 4 * P);
    expect_locked(a, W + P, 0, 0);
    expect_locked(a, W + 2 * P, W + 2 * P, W + 6 * P);
    /* A merge grows the hinted VMA: the hint's old range is too small. */
    map_fixed(a, W + 6 * P, 2 * P);
    expect_locked(a, W + 7 * P, W + 2 * P, W + 8 * P);
    /* Another mm, the hint still naming a's VMA. */
    struct mm *b = mm_create(NULL);
    assert_non_null(b);
    expect_locked(b, W + 3 * P, 0, 0);
    map_fixed(b, W, 8 * P);
    expect_locked(b, W + 3 * P, W, W + 8 * P);
    expect_locked(a, W + 3 * P, W + 2 * P, W + 8 * P);
    /* a destroyed with the hint on it; new mms may get its address. */
    mmput(a);
    for (int i = 0; i < 4; i++) {
        struct mm *c = mm_create(NULL);
        assert_non_null(c);
        expect_locked(c, W + 3 * P, 0, 0);
        map_fixed(c, W + 3 * P, P);
        expect_locked(c, W + 3 * P, W + 3 * P, W + 4 * P);
        mmput(c);
    }
    mmput(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers_against_writer),
        cmocka_unit_test(test_stale_hint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

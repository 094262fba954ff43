/* SPDX-License-Identifier: MIT */
/*
 * Allocation-failure injection (SQLite's OOM loops, Linux's
 * vmi_prealloc_fail): every allocation vmarea makes for itself passes
 * through vm_alloc_fails() (host.h).  For each representative operation the
 * test first counts the allocations it makes, then runs it again from the
 * same starting state once per allocation with that one failing, and once
 * with that one and every later one failing.  Each run must either succeed
 * or return the errno Linux gives when memory runs out, and after a failure
 * the mm must be as it was: the same pages mapped with the same flags, name
 * and contents, the same counters, the validators content.  (A VMA may stay
 * split where the operation split it before failing, as Linux's split does:
 * the comparison is page by page, not VMA by VMA.)  Leaks are the sanitizer
 * build's and valgrind's to find; page tables are counted here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdint.h>

#define API_CHECK(cond) assert_true(cond)
#define API_CHECK_EQ(a, b) assert_int_equal(a, b)
#include "api_ops.h"

#define W      0x200000000000UL   /* 2 MiB-aligned, above ASan's shadow */
#define PAGES  1024UL             /* the window compared: 4 MiB */
#define RW     (PROT_READ | PROT_WRITE)
#define ANON   (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)

/* What the window looks like: per page, the flags and name of the VMA over
 * it (0: none) and its first byte; and the mm's counters. */
struct snapshot {
    vm_flags_t flags[PAGES];
    char name[PAGES][16];
    int byte[PAGES];   /* -1: no page mapped */
    unsigned long total_vm, locked_vm, rss[NR_MM_COUNTERS];
};

static void snap(struct mm *mm, struct snapshot *s)
{
    memset(s, 0, sizeof(*s));
    {
        MMAP_READ_GUARD(g, mm);
        for (struct vma *v = vt_find(&mm->mm_mt, W); v && v->vm_start < W + PAGES * PAGE_SIZE;
             v = vt_next(&mm->mm_mt, v)) {
            for (unsigned long a = max(v->vm_start, W); a < min(v->vm_end, W + PAGES * PAGE_SIZE);
                 a += PAGE_SIZE) {
                unsigned long i = (a - W) >> PAGE_SHIFT;
                s->flags[i] = v->vm_flags;
                if (v->anon_name)
                    snprintf(s->name[i], sizeof(s->name[i]), "%s", v->anon_name->name);
            }
        }
        for (unsigned long i = 0; i < PAGES; i++) {
            pte_t _Atomic *ptep = pgtable_walk(&mm->pgt, W + i * PAGE_SIZE);
            pte_t pte = ptep ? ptep_get(ptep) : 0;
            s->byte[i] = pte_present(pte) ? *(unsigned char *)page_address(pte_page(pte)) : -1;
        }
        s->total_vm = mm->total_vm;
        s->locked_vm = mm->locked_vm;
    }
    for (int k = 0; k < NR_MM_COUNTERS; k++)
        s->rss[k] = mm_rss(mm, k);
}

static void assert_same(const struct snapshot *a, const struct snapshot *b, const char *op, long n)
{
    for (unsigned long i = 0; i < PAGES; i++) {
        if (a->flags[i] != b->flags[i] || strcmp(a->name[i], b->name[i]) || a->byte[i] != b->byte[i])
            fail_msg("%s, allocation %ld failing: page %lu changed (flags %#lx -> %#lx, byte %d -> %d)",
                     op, n, i, a->flags[i], b->flags[i], a->byte[i], b->byte[i]);
    }
    if (a->total_vm != b->total_vm || a->locked_vm != b->locked_vm)
        fail_msg("%s, allocation %ld failing: total_vm %lu -> %lu, locked_vm %lu -> %lu", op, n,
                 a->total_vm, b->total_vm, a->locked_vm, b->locked_vm);
    for (int k = 0; k < NR_MM_COUNTERS; k++)
        if (a->rss[k] != b->rss[k])
            fail_msg("%s, allocation %ld failing: Rss counter %d %lu -> %lu", op, n, k, a->rss[k], b->rss[k]);
}

/* One operation: a starting state, the call, and the errnos Linux gives
 * when memory runs out during it. */
struct op {
    const char *name;
    struct mm_config cfg;
    void (*setup)(struct mm *mm);
    long (*run)(struct mm *mm);
    int err1, err2;
};

static void map_touch(struct mm *mm, unsigned long addr, unsigned long pages, int prot)
{
    assert_int_equal(mm_mmap(mm, addr, pages * PAGE_SIZE, prot, ANON, NULL, 0), (long)addr);
    if (prot & PROT_WRITE)
        for (unsigned long i = 0; i < pages; i++) {
            unsigned char c = (unsigned char)(i + 1);
            assert_int_equal(mm_write(mm, addr + i * PAGE_SIZE, &c, 1), 1);
        }
}

static void setup_16(struct mm *mm) { map_touch(mm, W, 16, RW); }

/* VMAs of 4 pages with a page between them, until the next VMA needs a new
 * chunk: then a split must allocate a VMA, and the tree is deep enough for
 * its nodes to fill. */
#define CROWD(k) (W + (unsigned long)(k) * 5 * PAGE_SIZE)
static void setup_crowded(struct mm *mm)
{
    for (int k = 0; mm->vma_cache || mm->vma_chunk_used < VMA_CHUNK; k++) {
        assert_true(k < 150);
        map_touch(mm, CROWD(k), 4, RW);
    }
}
static long run_crowded_munmap(struct mm *mm) { return mm_munmap(mm, CROWD(20) + PAGE_SIZE, 2 * PAGE_SIZE); }
static long run_crowded_mprotect(struct mm *mm)
{
    return mm_mprotect(mm, CROWD(20) + PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ);
}
static long run_crowded_madvise(struct mm *mm)
{
    return mm_madvise(mm, CROWD(20) + PAGE_SIZE, 2 * PAGE_SIZE, MADV_DONTFORK);
}
static long run_crowded_mlock(struct mm *mm) { return mm_mlock(mm, CROWD(20) + PAGE_SIZE, 2 * PAGE_SIZE, 0); }
static long run_crowded_mmap(struct mm *mm)
{
    return mm_mmap(mm, CROWD(20) + PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ, ANON, NULL, 0);
}
static void setup_thp(struct mm *mm)
{
    assert_int_equal(mm_mmap(mm, W, 4UL << 20, RW, ANON, NULL, 0), (long)W);
}

static long run_mmap_merge(struct mm *mm)
{
    return mm_mmap(mm, W + 16 * PAGE_SIZE, 8 * PAGE_SIZE, RW, ANON, NULL, 0);
}
static long run_mmap_over(struct mm *mm)
{
    return mm_mmap(mm, W + 4 * PAGE_SIZE, 4 * PAGE_SIZE, PROT_READ, ANON, NULL, 0);
}
static long run_mmap_populate(struct mm *mm)
{
    return mm_mmap(mm, W + 32 * PAGE_SIZE, 8 * PAGE_SIZE, RW, ANON | MAP_POPULATE, NULL, 0);
}
static void setup_shared(struct mm *mm)
{
    setup_16(mm);
    assert_int_equal(mm_mmap(mm, W + 32 * PAGE_SIZE, 8 * PAGE_SIZE, RW,
                             MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, NULL, 0), (long)(W + 32 * PAGE_SIZE));
}
static long run_mmap_shared(struct mm *mm)
{
    return mm_mmap(mm, W + 48 * PAGE_SIZE, 8 * PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
}
static long run_write(struct mm *mm, unsigned long addr)
{
    unsigned char c = 9;
    long w = mm_write(mm, addr, &c, 1);
    return w < 0 ? w : 0;
}
static long run_shared_fault(struct mm *mm) { return run_write(mm, W + 33 * PAGE_SIZE); }
static long run_munmap_split(struct mm *mm) { return mm_munmap(mm, W + 4 * PAGE_SIZE, 4 * PAGE_SIZE); }
static long run_mprotect(struct mm *mm) { return mm_mprotect(mm, W + 4 * PAGE_SIZE, 4 * PAGE_SIZE, PROT_READ); }
static long run_madvise_flags(struct mm *mm)
{
    return mm_madvise(mm, W + 4 * PAGE_SIZE, 4 * PAGE_SIZE, MADV_DONTFORK);
}
static long run_madvise_dontneed(struct mm *mm)
{
    return mm_madvise(mm, W + 4 * PAGE_SIZE, 4 * PAGE_SIZE, MADV_DONTNEED);
}
static long run_anon_name(struct mm *mm) { return mm_set_anon_name(mm, W + 4 * PAGE_SIZE, 4 * PAGE_SIZE, "x"); }
static long run_mlock(struct mm *mm) { return mm_mlock(mm, W + 4 * PAGE_SIZE, 4 * PAGE_SIZE, 0); }
static void setup_fresh(struct mm *mm)
{
    setup_16(mm);
    assert_int_equal(mm_mmap(mm, W + 64 * PAGE_SIZE, 4 * PAGE_SIZE, RW, ANON, NULL, 0),
                     (long)(W + 64 * PAGE_SIZE));
}
static long run_fault(struct mm *mm) { return run_write(mm, W + 65 * PAGE_SIZE); }
static long run_thp_fault(struct mm *mm) { return run_write(mm, W + (2UL << 20)); }

/* A fresh host file for each run, written and unlinked: its page cache
 * starts empty, and goes with the mm that maps it. */
static void setup_file(struct mm *mm)
{
    setup_16(mm);
    struct vm_file *f = api_host_file(".", 64 * PAGE_SIZE, O_RDWR);
    assert_non_null(f);
    assert_int_equal(mm_mmap(mm, W + 32 * PAGE_SIZE, 8 * PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED, f, 0),
                     (long)(W + 32 * PAGE_SIZE));
    vm_file_put(f);   /* the VMA's reference is the only one */
}
static long run_file_read(struct mm *mm)
{
    unsigned char c;
    long r = mm_read(mm, W + 35 * PAGE_SIZE, &c, 1);
    return r < 0 ? r : 0;
}
static long run_file_write(struct mm *mm) { return run_write(mm, W + 34 * PAGE_SIZE); }
static long run_file_msync(struct mm *mm)
{
    long r = run_write(mm, W + 33 * PAGE_SIZE);
    return r < 0 ? r : mm_msync(mm, W + 32 * PAGE_SIZE, 8 * PAGE_SIZE, MS_SYNC);
}

static long run_fork(struct mm *mm)
{
    struct mm *child = mm_fork(mm);
    if (!child)
        return -errno;
    api_check_mm(child);
    mmput(child);
    return 0;
}
static long run_mremap_move(struct mm *mm)
{
    long r = mm_mremap(mm, W + 4 * PAGE_SIZE, 4 * PAGE_SIZE, 4 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
                       W + 100 * PAGE_SIZE);
    return r < 0 ? r : 0;
}
static long run_mremap_grow(struct mm *mm)
{
    long r = mm_mremap(mm, W, 16 * PAGE_SIZE, 24 * PAGE_SIZE, MREMAP_MAYMOVE, 0);
    return r < 0 ? r : 0;
}

static const struct op ops[] = {
    { "mm_fork of 16 written pages and shared memory", { 0 }, setup_shared, run_fork, -ENOMEM, -ENOMEM },
    { "mremap moving a VMA's middle", { 0 }, setup_16, run_mremap_move, -ENOMEM, -ENOMEM },
    { "mremap growing a VMA in place", { 0 }, setup_16, run_mremap_grow, -ENOMEM, -ENOMEM },
    { "a read fault on a host file (fault-around)", { 0 }, setup_file, run_file_read, -ENOMEM, -ENOMEM },
    { "a write fault on a host file", { 0 }, setup_file, run_file_write, -ENOMEM, -ENOMEM },
    { "a write fault and msync on a host file", { 0 }, setup_file, run_file_msync, -ENOMEM, -ENOMEM },
    { "mmap merging with its neighbour", { 0 }, setup_16, run_mmap_merge, -ENOMEM, -ENOMEM },
    { "mmap MAP_FIXED over the middle of a VMA", { 0 }, setup_16, run_mmap_over, -ENOMEM, -ENOMEM },
    { "mmap MAP_POPULATE", { 0 }, setup_16, run_mmap_populate, -ENOMEM, -ENOMEM },
    { "mmap MAP_SHARED|MAP_ANONYMOUS", { 0 }, setup_16, run_mmap_shared, -ENOMEM, -ENOMEM },
    { "a write fault on shared memory", { 0 }, setup_shared, run_shared_fault, -ENOMEM, -ENOMEM },
    { "munmap splitting a VMA", { 0 }, setup_16, run_munmap_split, -ENOMEM, -ENOMEM },
    { "mprotect of a VMA's middle", { 0 }, setup_16, run_mprotect, -ENOMEM, -ENOMEM },
    /* madvise says EAGAIN where a split runs out of memory (madvise_vma_behavior). */
    { "madvise(MADV_DONTFORK) of a VMA's middle", { 0 }, setup_16, run_madvise_flags, -EAGAIN, -EAGAIN },
    { "madvise(MADV_DONTNEED)", { 0 }, setup_16, run_madvise_dontneed, -EAGAIN, -EAGAIN },
    { "naming a VMA's middle", { 0 }, setup_16, run_anon_name, -ENOMEM, -EAGAIN },
    { "mlock of a VMA's middle", { 0 }, setup_16, run_mlock, -ENOMEM, -ENOMEM },
    { "munmap splitting a VMA twice, caches empty", { 0 }, setup_crowded, run_crowded_munmap, -ENOMEM, -ENOMEM },
    { "mprotect splitting a VMA twice, caches empty", { 0 }, setup_crowded, run_crowded_mprotect, -ENOMEM,
      -ENOMEM },
    { "madvise splitting a VMA twice, caches empty", { 0 }, setup_crowded, run_crowded_madvise, -EAGAIN,
      -EAGAIN },
    { "mlock splitting a VMA twice, caches empty", { 0 }, setup_crowded, run_crowded_mlock, -ENOMEM, -ENOMEM },
    { "mmap MAP_FIXED inside a VMA, caches empty", { 0 }, setup_crowded, run_crowded_mmap, -ENOMEM, -ENOMEM },
    { "a write fault on a fresh VMA", { 0 }, setup_fresh, run_fault, -ENOMEM, -ENOMEM },
    { "a THP write fault", { .thp = MM_THP_ALWAYS }, setup_thp, run_thp_fault, -ENOMEM, -ENOMEM },
};

/* Run op from a fresh mm with allocation n failing (and, with persist, every
 * later one); -1: none.  Returns the call's result; *allocs: how many
 * allocations the call asked for. */
static long run_once(const struct op *op, long n, bool persist, unsigned long *allocs)
{
    struct mm_config cfg = op->cfg;
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);
    op->setup(mm);
    api_check_mm(mm);
    struct snapshot before, after;
    snap(mm, &before);
    long tables = pgt_tables_in_use();
    vm_fail_nth(n < 0 ? LONG_MAX : n, persist);
    long r = op->run(mm);
    *allocs = vm_alloc_count();
    vm_fail_nth(-1, false);
    api_check_mm(mm);
    if (r < 0) {
        if (r != op->err1 && r != op->err2)
            fail_msg("%s, allocation %ld failing%s: %ld, not %d", op->name, n, persist ? " and after" : "",
                     r, op->err1);
        snap(mm, &after);
        assert_same(&before, &after, op->name, n);
    }
    mmput(mm);
    vm_rcu_barrier();
    /* Tables the call took went back with the mm (the pool's own roots
     * included). */
    assert_true(pgt_tables_in_use() <= tables);
    return r;
}

static void test_every_allocation_fails(void **state)
{
    (void)state;
    unsigned long total_sites = 0, total_failed = 0;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        const struct op *op = &ops[i];
        unsigned long allocs;
        assert_true(run_once(op, -1, false, &allocs) >= 0);
        assert_true(allocs > 0);   /* the operation does allocate: the loop below tests something */
        unsigned long failed = 0;
        for (long n = 0; n < (long)allocs; n++) {
            for (int persist = 0; persist <= 1; persist++) {
                unsigned long a;
                failed += run_once(op, n, persist, &a) < 0;
            }
        }
        print_message("%-44s %3lu allocations, %3lu of %3lu runs failed cleanly\n", op->name, allocs,
                      failed, 2 * allocs);
        total_sites += allocs;
        total_failed += failed;
    }
    /* Failures were really injected and reached the callers. */
    assert_true(total_failed > 0);
    print_message("%lu allocations in all\n", total_sites);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

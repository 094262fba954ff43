/* SPDX-License-Identifier: MIT */
/*
 * The VMA layer on its own, with the memory below it stubbed out, as
 * Linux's tools/testing/vma tests mm/vma.c: this file defines the few
 * functions of lower layers that vma.c and vma_init.c call (splitting a
 * huge PMD, an mm's struct references, a file's references), so the linker
 * takes vma.c, vma_tree.c, vma_init.c and the locks from the library and
 * nothing of the memory layer.  The mm is built by hand, without frames or
 * page tables.
 *
 * What it shows: merges and splits by Linux's rules (new ranges, flag
 * changes across the cases of vma_merge_existing_range), their counts, and
 * that a huge PMD at a new boundary is split only once the VMA it lies in
 * is write-locked, so no fault can map one there after the split looked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mmap_lock.h"
#include "vma.h"
#include "vma_init.h"
#include "huge_memory.h"
#include "rcu.h"

/* ------------------------------------------------------------ the stubs */

#define MAX_SPLITS 8
static unsigned long split_at[MAX_SPLITS];
static bool split_locked[MAX_SPLITS];
static unsigned nsplits;
static struct mm *the_mm;

void split_huge_pmd_at(struct mm *mm, unsigned long addr)
{
    assert_ptr_equal(mm, the_mm);
    assert_true(nsplits < MAX_SPLITS);
    struct vma *vma = vt_find(&mm->mm_mt, addr);
    split_at[nsplits] = addr;
    /* The VMA holding the boundary must be write-locked by now. */
    split_locked[nsplits] = vma && vma->vm_start < addr &&
                            vma->vm_lock_seq == atomic_load(&mm->mm_lock_seq);
    nsplits++;
}

void mmgrab(struct mm *mm) { atomic_fetch_add(&mm->mm_count, 1); }
void mmdrop(struct mm *mm) { atomic_fetch_sub(&mm->mm_count, 1); }
void vm_file_get(struct vm_file *f) { atomic_fetch_add(&f->refcount, 1); }
void vm_file_put(struct vm_file *f) { atomic_fetch_sub(&f->refcount, 1); }
#if defined(VMAREA_DEBUG) && VMAREA_DEBUG >= 2
void validate_mm(struct mm *mm) { assert_int_equal(vt_validate(&mm->mm_mt), 0); }
#endif

/* ------------------------------------------------------------ the mm */

#define RW (VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC)
#define RO (VM_READ | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC)
#define P  0x1000UL

static struct mm *stub_mm(void)
{
    struct mm *mm = aligned_alloc(_Alignof(struct mm), sizeof(*mm));
    assert_non_null(mm);
    memset(mm, 0, sizeof(*mm));
    assert_int_equal(rwsem_init(&mm->mmap_lock), 0);
    pthread_mutex_init(&mm->anon_vma_lock, NULL);
    mm->cfg = (struct mm_config){ .task_size = 0x7ffffffff000UL, .max_map_count = 65530,
                                  .thp = MM_THP_ALWAYS };
    mm->mm_id = 1;
    atomic_init(&mm->mm_users, 1);
    atomic_init(&mm->mm_count, 1);
    /* Tables "exist", so that boundaries reach split_huge_pmd_at. */
    atomic_init(&mm->pgt.bytes, 4096);
    vt_init(&mm->mm_mt);
    vt_set_defer_free(&mm->mm_mt);
    the_mm = mm;
    return mm;
}

static void stub_mm_free(struct mm *mm)
{
    {
        MMAP_WRITE_GUARD(g, mm);
        for (struct vma *v = vt_first(&mm->mm_mt); v; v = vt_first(&mm->mm_mt)) {
            vma_unlink(mm, v);
            vma_free_unused(v);
        }
        mm_free_deferred(mm, true);
    }
    vm_rcu_barrier();
    mm_reclaim(mm);
    vt_destroy(&mm->mm_mt);
    mm_free_vma_cache(mm);
    free(mm);
}

/* A VMA [start, end) with flags, linked.  Mmap write lock held. */
static struct vma *add(struct mm *mm, unsigned long start, unsigned long end, vm_flags_t flags)
{
    struct vma *v = vma_alloc(mm);
    assert_non_null(v);
    v->vm_start = start;
    v->vm_end = end;
    v->vm_flags = flags;
    v->vm_pgoff = start / P;   /* anonymous: pgoff follows the address */
    assert_int_equal(vt_reserve(&mm->mm_mt, 1), 0);
    vma_link(mm, v);
    return v;
}

/* The layout as "start-end:flags" words, for one comparison per case. */
static const char *layout(struct mm *mm)
{
    static char buf[512];
    size_t n = 0;
    buf[0] = 0;
    for (struct vma *v = vt_first(&mm->mm_mt); v; v = vt_next(&mm->mm_mt, v))
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%lx-%lx:%s", n ? " " : "", v->vm_start / P,
                              v->vm_end / P, v->vm_flags == RW ? "rw" : v->vm_flags == RO ? "r" : "?");
    return buf;
}

/* ------------------------------------------------------------ the cases */

static void test_new_range_merges(void **state)
{
    (void)state;
    struct mm *mm = stub_mm();
    {
        MMAP_WRITE_GUARD(g, mm);
        struct vma *prev = add(mm, 0x10 * P, 0x20 * P, RW);
        struct vma *next = add(mm, 0x30 * P, 0x40 * P, RW);
        /* A hole exactly between two compatible VMAs: all three become one. */
        struct vma_merge_struct vmg = { .mm = mm, .prev = prev, .next = next, .start = 0x20 * P,
                                        .end = 0x30 * P, .pgoff = 0x20, .flags = RW };
        assert_ptr_equal(vma_merge_new_range(&vmg), prev);
        assert_string_equal(layout(mm), "10-40:rw");
        assert_int_equal(mm->map_count, 1);
        /* A range whose flags differ merges with nothing. */
        struct vma_merge_struct ro = { .mm = mm, .prev = prev, .start = 0x40 * P, .end = 0x50 * P,
                                       .pgoff = 0x40, .flags = RO };
        assert_null(vma_merge_new_range(&ro));
    }
    stub_mm_free(mm);
}

static void test_modify_middle_splits_after_locking(void **state)
{
    (void)state;
    struct mm *mm = stub_mm();
    struct vma *v;
    {
        MMAP_WRITE_GUARD(g, mm);
        v = add(mm, 0x100 * P, 0x600 * P, RW);   /* 0x100000-0x600000 */
    }
    {
        /* A new write section: v is no longer locked from its birth. */
        MMAP_WRITE_GUARD(g, mm);
        nsplits = 0;
        struct vma *mid = vma_modify_flags(v, v, 0x280 * P, 0x480 * P, RO);
        assert_false(IS_ERR(mid));
        mid->vm_flags = RO;
        assert_string_equal(layout(mm), "100-280:rw 280-480:r 480-600:rw");
        assert_int_equal(mm->map_count, 3);
        /* Both new boundaries are inside a 2 MiB page: both were split, the
         * VMA locked first. */
        assert_int_equal(nsplits, 2);
        assert_int_equal(split_at[0], 0x280 * P);
        assert_int_equal(split_at[1], 0x480 * P);
        assert_true(split_locked[0] && split_locked[1]);
        assert_int_equal(vt_validate(&mm->mm_mt), 0);
    }
    stub_mm_free(mm);
}

static void test_modify_merges_back(void **state)
{
    (void)state;
    struct mm *mm = stub_mm();
    {
        MMAP_WRITE_GUARD(g, mm);
        struct vma *a = add(mm, 0x10 * P, 0x20 * P, RW);
        struct vma *b = add(mm, 0x20 * P, 0x30 * P, RO);
        struct vma *c = add(mm, 0x30 * P, 0x40 * P, RW);
        (void)c;
        /* All of b becomes rw: a, b and c merge (b and c go). */
        struct vma *m = vma_modify_flags(a, b, 0x20 * P, 0x30 * P, RW);
        assert_ptr_equal(m, a);
        assert_string_equal(layout(mm), "10-40:rw");
        assert_int_equal(mm->map_count, 1);
        /* Part of it back to r at the left edge: a split, no merge. */
        struct vma *l = vma_modify_flags(a, a, 0x10 * P, 0x18 * P, RO);
        assert_false(IS_ERR(l));
        l->vm_flags = RO;
        assert_string_equal(layout(mm), "10-18:r 18-40:rw");
        /* Its neighbour's first page becomes r: it joins the left VMA
         * (the middle shrinks, the left one grows). */
        struct vma *prev = vt_find(&mm->mm_mt, 0x10 * P);
        struct vma *mid = vt_find(&mm->mm_mt, 0x18 * P);
        struct vma *j = vma_modify_flags(prev, mid, 0x18 * P, 0x19 * P, RO);
        assert_ptr_equal(j, prev);
        assert_string_equal(layout(mm), "10-19:r 19-40:rw");
        assert_int_equal(vt_validate(&mm->mm_mt), 0);
    }
    stub_mm_free(mm);
}

static void test_anon_vma_keeps_apart(void **state)
{
    (void)state;
    struct mm *mm = stub_mm();
    struct anon_vma av1 = { .refcount = 1 }, av2 = { .refcount = 1 };
    {
        MMAP_WRITE_GUARD(g, mm);
        struct vma *a = add(mm, 0x10 * P, 0x20 * P, RW);
        struct vma *b = add(mm, 0x20 * P, 0x30 * P, RO);
        a->anon_vma = &av1;
        b->anon_vma = &av2;
        /* Flags would allow it, the anon_vmas do not. */
        struct vma *m = vma_modify_flags(a, b, 0x20 * P, 0x30 * P, RW);
        assert_ptr_equal(m, b);
        m->vm_flags = RW;
        assert_int_equal(mm->map_count, 2);
        a->anon_vma = b->anon_vma = NULL;
    }
    stub_mm_free(mm);
}

static void test_split_at_map_count(void **state)
{
    (void)state;
    struct mm *mm = stub_mm();
    mm->cfg.max_map_count = 2;
    {
        MMAP_WRITE_GUARD(g, mm);
        struct vma *v = add(mm, 0x10 * P, 0x40 * P, RW);
        assert_int_equal(split_vma(v, 0x20 * P, 1), 0);
        /* At the limit: split_vma refuses, __split_vma (munmap's) may go one over. */
        assert_int_equal(split_vma(v, 0x30 * P, 0), -ENOMEM);
        assert_string_equal(layout(mm), "10-20:rw 20-40:rw");
        struct vma *e = vma_modify_flags(v, v, 0x28 * P, 0x30 * P, RO);
        assert_true(IS_ERR(e) && PTR_ERR(e) == -ENOMEM);
        assert_int_equal(__split_vma(v, 0x30 * P, 0), 0);
        assert_int_equal(mm->map_count, 3);
    }
    stub_mm_free(mm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_range_merges),
        cmocka_unit_test(test_modify_middle_splits_after_locking),
        cmocka_unit_test(test_modify_merges_back),
        cmocka_unit_test(test_anon_vma_keeps_apart),
        cmocka_unit_test(test_split_at_map_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

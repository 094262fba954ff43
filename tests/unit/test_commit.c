/* SPDX-License-Identifier: MIT */
/*
 * Commit accounting (overcommit.c): what each call charges and gives back,
 * and vm.overcommit_memory 2's limit, which no host comparison can check
 * (the host's count is the whole machine's).  The count is the process's:
 * each case measures from where it starts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "internal.h"

#define W   0x200000000000UL
#define PG  4096UL
#define RW  (PROT_READ | PROT_WRITE)
#define PA  (MAP_PRIVATE | MAP_ANONYMOUS)

static long committed(unsigned long base) { return (long)(mm_committed_pages() - base); }

/*
 * Mode 2 on a machine of 6,096 pages of RAM at ratio 50 and no swap, less
 * the root reserve (8 MiB: 2,048 pages): 1,000 pages, less the process's
 * share, total_vm / 32.
 */
static struct mm *never_mm(void)
{
    struct mm_config cfg = { .overcommit_memory = MM_OVERCOMMIT_NEVER, .ram_pages = 6096,
                             .swap_pages = 0 };
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);
    return mm;
}

static void test_never_limit(void **state)
{
    (void)state;
    struct mm *mm = never_mm();
    unsigned long base = mm_committed_pages();
    /* 900 pages: total_vm 0 when checked, 900 < 1,000. */
    assert_int_equal(mm_mmap(mm, W, 900 * PG, RW, PA | MAP_FIXED, NULL, 0), (long)W);
    assert_int_equal(committed(base), 900);
    /* 100 more: 1,000 is not below 1,000 - 900 / 32. */
    assert_int_equal(mm_mmap(mm, W + 1000 * PG, 100 * PG, RW, PA | MAP_FIXED, NULL, 0), -ENOMEM);
    /* MAP_NORESERVE is not honoured under "never", nor shown. */
    assert_int_equal(mm_mmap(mm, W + 1000 * PG, 100 * PG, RW, PA | MAP_FIXED | MAP_NORESERVE, NULL, 0),
                     -ENOMEM);
    assert_int_equal(committed(base), 900);
    /* 70: 970 < 1,000 - 28. */
    assert_int_equal(mm_mmap(mm, W + 1000 * PG, 70 * PG, RW, PA | MAP_FIXED | MAP_NORESERVE, NULL, 0),
                     (long)(W + 1000 * PG));
    {
        MMAP_READ_GUARD(g, mm);
        assert_false(vma_flags(vma_lookup(&g, W + 1000 * PG)) & VM_NORESERVE);
    }
    /* Read-only memory is not charged, whatever its size... */
    assert_int_equal(mm_mmap(mm, W + 2000 * PG, 5000 * PG, PROT_READ, PA | MAP_FIXED, NULL, 0),
                     (long)(W + 2000 * PG));
    assert_int_equal(committed(base), 970);
    /* ...until it is made writable. */
    assert_int_equal(mm_mprotect(mm, W + 2000 * PG, 10 * PG, RW), -ENOMEM);
    assert_int_equal(mm_munmap(mm, W, 900 * PG), 0);
    assert_int_equal(committed(base), 70);
    assert_int_equal(mm_mprotect(mm, W + 2000 * PG, 10 * PG, RW), 0);
    assert_int_equal(committed(base), 80);
    /* Back to read-only while untouched: given back. */
    assert_int_equal(mm_mprotect(mm, W + 2000 * PG, 10 * PG, PROT_READ), 0);
    assert_int_equal(committed(base), 70);
    /* Touched, it stays charged (its anon_vma may hold pages). */
    assert_int_equal(mm_mprotect(mm, W + 2000 * PG, 10 * PG, RW), 0);
    char c = 1;
    assert_int_equal(mm_write(mm, W + 2000 * PG, &c, 1), 1);
    assert_int_equal(mm_mprotect(mm, W + 2000 * PG, 10 * PG, PROT_READ), 0);
    assert_int_equal(committed(base), 80);
    /* A shared anonymous object is charged its size, until it goes. */
    assert_int_equal(mm_mmap(mm, W + 8000 * PG, 100 * PG, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
                             NULL, 0), (long)(W + 8000 * PG));
    assert_int_equal(committed(base), 180);
    assert_int_equal(mm_munmap(mm, W + 8000 * PG, 100 * PG), 0);
    assert_int_equal(committed(base), 80);
    mmput(mm);
    assert_int_equal(committed(base), 0);
}

/* A MAP_FIXED replacement is charged only what it adds; refused, it leaves
 * the old mapping; the heap charges as it grows. */
static void test_replace_and_brk(void **state)
{
    (void)state;
    struct mm *mm = never_mm();
    unsigned long base = mm_committed_pages();
    assert_int_equal(mm_mmap(mm, W, 600 * PG, RW, PA | MAP_FIXED, NULL, 0), (long)W);
    /* 900 over the 600: 300 more, 900 < 1,000 - 18. */
    assert_int_equal(mm_mmap(mm, W, 900 * PG, RW, PA | MAP_FIXED, NULL, 0), (long)W);
    assert_int_equal(committed(base), 900);
    /* 1,200 over them: 300 more, refused; the old mapping stays. */
    assert_int_equal(mm_mmap(mm, W, 1200 * PG, RW, PA | MAP_FIXED, NULL, 0), -ENOMEM);
    {
        MMAP_READ_GUARD(g, mm);
        const struct vma_ref *v = vma_lookup(&g, W);
        assert_non_null(v);
        assert_int_equal(vma_end(v), W + 900 * PG);
    }
    assert_int_equal(committed(base), 900);
    assert_int_equal(mm_munmap(mm, W, 900 * PG), 0);
    assert_int_equal(committed(base), 0);

    struct mm_layout l = { .start_code = 0x400000, .end_code = 0x401000, .start_data = 0x401000,
                           .end_data = 0x402000, .start_brk = 0x600000, .brk = 0x600000,
                           .start_stack = 0x7ff000000000, .arg_start = 0x7ff000000000,
                           .arg_end = 0x7ff000000100, .env_start = 0x7ff000000100,
                           .env_end = 0x7ff000000200 };
    assert_int_equal(mm_set_layout(mm, &l), 0);
    assert_int_equal(mm_brk(mm, 0x600000 + 500 * PG), 0x600000 + 500 * PG);
    assert_int_equal(committed(base), 500);
    assert_int_equal(mm_brk(mm, 0x600000 + 1500 * PG), 0x600000 + 500 * PG);   /* refused */
    assert_int_equal(mm_brk(mm, 0x600000 + 100 * PG), 0x600000 + 100 * PG);
    assert_int_equal(committed(base), 100);
    mmput(mm);
    assert_int_equal(committed(base), 0);
}

/* The heuristic refuses one request larger than RAM and swap, not a sum;
 * "always" refuses nothing. */
static void test_guess_and_always(void **state)
{
    (void)state;
    struct mm_config cfg = { .ram_pages = 1000, .swap_pages = 24 };
    struct mm *mm = mm_create(&cfg);
    unsigned long base = mm_committed_pages();
    assert_int_equal(mm_mmap(mm, W, 1025 * PG, RW, PA | MAP_FIXED, NULL, 0), -ENOMEM);
    assert_int_equal(mm_mmap(mm, W, 1024 * PG, RW, PA | MAP_FIXED, NULL, 0), (long)W);
    assert_int_equal(mm_mmap(mm, W + 2000 * PG, 1024 * PG, RW, PA | MAP_FIXED, NULL, 0), (long)(W + 2000 * PG));
    assert_int_equal(committed(base), 2048);
    assert_int_equal(mm_mmap(mm, W + 4000 * PG, 5000 * PG, RW, PA | MAP_FIXED | MAP_NORESERVE, NULL, 0),
                     (long)(W + 4000 * PG));
    assert_int_equal(committed(base), 2048);
    mmput(mm);
    cfg.overcommit_memory = MM_OVERCOMMIT_ALWAYS;
    mm = mm_create(&cfg);
    assert_int_equal(mm_mmap(mm, W, 1UL << 40, RW, PA | MAP_FIXED, NULL, 0), (long)W);
    assert_int_equal(committed(base), 1L << 28);
    mmput(mm);
    assert_int_equal(committed(base), 0);
    cfg.overcommit_memory = 3;
    assert_null(mm_create(&cfg));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_never_limit),
        cmocka_unit_test(test_replace_and_brk),
        cmocka_unit_test(test_guess_and_always),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Bad input never crashes, corrupts or leaks: random calls with addresses and
 * lengths drawn from the whole unsigned range (extremes favoured), random
 * flag words, on one mm.  After every call the VMA tree must satisfy its
 * invariants and the mm's counters must match the VMAs.  (Whether each
 * answer is Linux's is the differential tests' job; this one looks for
 * crashes and broken state where a real process cannot be used to compare.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "internal.h"

static unsigned long state = 0x9e3779b97f4a7c15UL;

static unsigned long rnd(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

/* An address or length: mostly near interesting places, sometimes anything. */
static unsigned long pick(void)
{
    static const unsigned long bases[] = {
        0, PAGE_SIZE, DEFAULT_MMAP_MIN_ADDR, 0x200000000000UL, DEFAULT_TASK_SIZE - (128UL << 20),
        DEFAULT_TASK_SIZE, DEFAULT_TASK_SIZE + PAGE_SIZE, ~0UL, ~0UL - PAGE_SIZE + 1, 1UL << 63,
    };
    switch (rnd() % 4) {
    case 0:
        return rnd();
    case 1:
        return bases[rnd() % (sizeof(bases) / sizeof(bases[0]))] + (rnd() % 5) * PAGE_SIZE - 2 * PAGE_SIZE;
    default:
        return 0x200000000000UL + (rnd() % 64) * PAGE_SIZE + (rnd() % 8 == 0 ? rnd() % PAGE_SIZE : 0);
    }
}

static unsigned long pick_len(void)
{
    return rnd() % 3 ? (rnd() % 16) * PAGE_SIZE + (rnd() % 8 == 0 ? rnd() % PAGE_SIZE : 0) : pick();
}

static int count_pte(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    (void)addr;
    (void)ptep;
    if (!pte_special(pte))
        ++*(unsigned long *)arg;
    return 0;
}

/* total_vm and locked_vm must equal what the VMAs add up to, and Rss the
 * pages their page tables map. */
static void check_mm(struct mm *mm)
{
    MMAP_READ_GUARD(g, mm);
    unsigned long mapped = 0;
    pgtable_for_each(&mm->pgt, 0, PGT_ADDR_LIMIT, count_pte, &mapped);
    assert_int_equal(mapped, mm_rss(mm, MM_ANONPAGES) + mm_rss(mm, MM_FILEPAGES) +
                                 mm_rss(mm, MM_SHMEMPAGES));
    assert_int_equal(vt_validate(&mm->mm_mt), 0);
    unsigned long total = 0, locked = 0, count = 0;
    for (struct vma *v = vt_first(&mm->mm_mt); v; v = vt_next(&mm->mm_mt, v)) {
        assert_true(v->vm_start < v->vm_end && offset_in_page(v->vm_start) == 0 &&
                    offset_in_page(v->vm_end) == 0 && v->vm_end <= mm->cfg.task_size);
        total += vma_pages(v);
        if (v->vm_flags & VM_LOCKED)
            locked += vma_pages(v);
        count++;
    }
    assert_int_equal(count, mm->map_count);
    assert_int_equal(total, mm->total_vm);
    assert_int_equal(locked, mm->locked_vm);
}

static void test_random_calls(void **state_)
{
    (void)state_;
    const char *env = getenv("VMAREA_SEED");
    if (env)
        state = strtoul(env, NULL, 0) | 1;
    print_message("seed 0x%lx (set VMAREA_SEED to replay)\n", state);
    /* Reach the map count limit often, and the memory limit: populating
     * a huge mapping must stop at -ENOMEM, not take the host's memory. */
    struct mm_config cfg = { .max_map_count = 200, .memory_limit = 2UL << 20 };
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);
    unsigned long ok = 0, peak = 0;
    for (int i = 0; i < 200000; i++) {
        unsigned long a = pick(), len = pick_len();
        long r = 0;
        int prot = (int)(rnd() % 16) | (rnd() % 16 == 0 ? (int)rnd() : 0);
        int flags = (int)(rnd() % 4 ? MAP_PRIVATE | MAP_ANONYMOUS : rnd());
        if (rnd() % 2)
            flags |= MAP_FIXED;
        switch (rnd() % 10) {
        case 0: case 1:
            r = mm_mmap(mm, a, len, prot, flags, NULL, rnd() % 8 ? 0 : pick());
            break;
        case 2:
            r = mm_munmap(mm, a, len);
            break;
        case 3:
            r = mm_mprotect(mm, a, len, prot);
            break;
        case 4:
            r = mm_madvise(mm, a, len, (int)(rnd() % 30) - 2 + (rnd() % 16 == 0 ? 100 : 0));
            break;
        case 5:
            r = mm_mlock(mm, a, len, (unsigned)(rnd() % 3));
            break;
        case 6:
            r = mm_munlock(mm, a, len);
            break;
        case 7:
            r = mm_set_anon_name(mm, a, len, rnd() % 2 ? "fuzz" : NULL);
            break;
        case 8:
            if (rnd() % 2) {
                static char buf[3 * 4096];
                size_t n = rnd() % 2 ? rnd() % sizeof(buf) : pick_len();
                if (n > sizeof(buf))
                    n = sizeof(buf);
                r = rnd() % 2 ? mm_write(mm, a, buf, n) : mm_read(mm, a, buf, n);
                break;
            }
            if (rnd() % 2) {
                r = mm_fault(mm, a, (unsigned)(rnd() % 0x200));
                break;
            }
            /* fall through */
        default:
            if (rnd() % 64 == 0)
                mm_mlockall(mm, (int)(rnd() % 9));
            else if (rnd() % 64 == 0)
                mm_munlockall(mm);
            else
                mm_brk(mm, pick());
            break;
        }
        ok += r >= 0;
        peak = max(peak, mm->map_count);
        if (i % 64 == 0)
            check_mm(mm);
    }
    check_mm(mm);
    print_message("%lu of 200000 calls succeeded; up to %lu VMAs\n", ok, peak);
    /* the mix must really build layouts and reach the limit */
    assert_true(ok > 50000);
    assert_true(peak > 100);
    /* Unmapping everything gives every frame and table back. */
    assert_int_equal(mm_munmap(mm, 0, mm->cfg.task_size), 0);
    assert_int_equal(page_pool_in_use(&mm->pages), 0);
    assert_int_equal(pgtable_bytes(&mm->pgt), 0);
    mmput(mm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * Bad input never crashes, corrupts or leaks: random calls with addresses and
 * lengths drawn from the whole unsigned range (extremes favoured), random
 * flag words, on one mm.  After every call the VMA tree must satisfy its
 * invariants and the mm's counters must match the VMAs.  (Whether each
 * answer is Linux's is the differential tests' job; this one looks for
 * crashes and broken state where a real process cannot be used to compare.)
 * The calls and checks are api_ops.h's, which tests/fuzz/fuzz_api.c drives
 * from libFuzzer's input instead of this generator.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#define API_CHECK(cond) assert_true(cond)
#define API_CHECK_EQ(a, b) assert_int_equal(a, b)
#include "api_ops.h"

static unsigned long state = 0x9e3779b97f4a7c15UL;

/* xorshift64: a full word whatever the bound; api_draw reduces it. */
static unsigned long rnd(void *arg, unsigned long bound)
{
    (void)arg;
    (void)bound;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

/* n random calls on an mm of cfg with its window at window (0: API_WINDOW),
 * checked every 64; at least min_ok must succeed and peak VMAs be reached,
 * so that the mix really builds layouts and reaches the limits. */
static void random_calls(const struct mm_config *cfg, unsigned long window, int n, unsigned long min_ok,
                         unsigned long min_peak)
{
    struct mm *mm = mm_create(cfg);
    assert_non_null(mm);
    struct api_ops o = { .mm = mm, .next = rnd, .nr_ops = API_OPS_BASIC, .window = window };
    for (int i = 0; i < n; i++) {
        api_op(&o);
        if (i % 64 == 0)
            api_check_mm(mm);
    }
    api_check_mm(mm);
    print_message("%lu of %d calls succeeded; up to %lu VMAs\n", o.ok, n, o.peak);
    assert_true(o.ok > min_ok);
    assert_true(o.peak > min_peak);
    api_check_unmap_all(mm);
    mmput(mm);
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
    random_calls(&cfg, 0, 200000, 50000, 100);
}

/* The same on a five-level mm (LA57), its window beyond 48 bits, where every
 * walk goes through the fifth level, and its task size's edges near. */
static void test_random_calls_five_levels(void **state_)
{
    (void)state_;
    print_message("seed 0x%lx\n", state);
    struct mm_config cfg = { .task_size = LA57_TASK_SIZE, .max_map_count = 200,
                             .memory_limit = 2UL << 20 };
    random_calls(&cfg, (1UL << 52) - 32 * PAGE_SIZE, 100000, 25000, 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_calls),
        cmocka_unit_test(test_random_calls_five_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

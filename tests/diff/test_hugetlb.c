/* SPDX-License-Identifier: MIT */
/*
 * test_hugetlb — anonymous MAP_HUGETLB against the host.  vmarea models a
 * host with 2 MiB huge pages and none free: each call must fail as the
 * host's does, with the same errno from the same check (arguments first,
 * the reservation last), and a failed MAP_FIXED one must have taken away
 * what it would have replaced.  Where the host has free huge pages, or no
 * 2 MiB size, it is not the host vmarea models, and the test skips.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "host_child.h"
#include "vmarea.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

#define B   0x200000000000UL
#define M2  (2UL << 20)
#define A   (MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB)

struct call { const char *name; unsigned long addr, len; int prot, flags; unsigned long off; };

static const struct call calls[] = {
    { "2 MiB", 0, M2, PROT_READ | PROT_WRITE, A, 0 },
    { "length 0", 0, 0, PROT_READ, A, 0 },
    { "length that wraps when rounded", 0, ~0UL - 4095, PROT_READ, A, 0 },
    { "length past the task size", 0, 1UL << 47, PROT_READ, A, 0 },
    { "size 1 MiB", 0, M2, PROT_READ, A | (20 << MAP_HUGE_SHIFT), 0 },
    { "size 2 MiB", 0, M2, PROT_READ, A | (21 << MAP_HUGE_SHIFT), 0 },
    { "size 2^63", 0, M2, PROT_READ, A | (63 << MAP_HUGE_SHIFT), 0 },
    { "fixed, unaligned", B + 4096, M2, PROT_READ, A | MAP_FIXED, 0 },
    { "fixed_noreplace, unaligned", B + 4096, M2, PROT_READ, A | MAP_FIXED_NOREPLACE, 0 },
    { "offset unaligned", 0, M2, PROT_READ, A, 1 },
    { "offset overflows", 0, M2, PROT_READ, A, 0x7ffffffffffff000UL },
    { "shared", 0, M2, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, 0 },
    { "no type", 0, M2, PROT_READ, MAP_ANONYMOUS | MAP_HUGETLB, 0 },
    { "unknown prot bit", 0, M2, 0x100, A, 0 },
    /* Over the mapping at B (8 MiB, written): the first takes its first
     * 2 MiB away, the second one page rounded up to 2 MiB. */
    { "fixed over a mapping", B, M2, PROT_READ, A | MAP_FIXED, 0 },
    { "fixed, one page, over a mapping", B + 2 * M2, 4096, PROT_READ, A | MAP_FIXED, 0 },
    { "fixed_noreplace over a mapping", B + 6 * M2, M2, PROT_READ, A | MAP_FIXED_NOREPLACE, 0 },
};
#define NCALLS (sizeof(calls) / sizeof(calls[0]))

struct outcome { long ret[NCALLS]; unsigned long mapped[4]; };

/* Each call's result, then which of the four 2 MiB pieces of B + 8 MiB are
 * still mapped. */
static void host_run(void *arg, void *out)
{
    (void)arg;
    struct outcome *o = out;
    char *b = mmap((void *)B, 8 * M2, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (b != (char *)B)
        _exit(2);
    memset(b, 1, 8 * M2);
    for (size_t i = 0; i < NCALLS; i++) {
        const struct call *c = &calls[i];
        void *p = mmap((void *)c->addr, c->len, c->prot, c->flags, -1, (off_t)c->off);
        o->ret[i] = p == MAP_FAILED ? -errno : 0;
        if (p != MAP_FAILED && p != (void *)B)
            munmap(p, c->len);
    }
    unsigned char vec;
    for (int k = 0; k < 4; k++)
        o->mapped[k] = mincore((void *)(B + (unsigned long)k * M2), 4096, &vec) == 0;
}

static void test_hugetlb_errors(void **state)
{
    (void)state;
    FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "re");
    unsigned long free_pages = 1;
    if (f) {
        if (fscanf(f, "%lu", &free_pages) != 1)
            free_pages = 1;
        fclose(f);
    }
    if (free_pages) {
        print_message("the host has free 2 MiB huge pages, or no such size: not the host vmarea models\n");
        skip();
    }
    struct outcome h = { 0 };
    assert_int_equal(host_child(host_run, NULL, &h, sizeof(h)), 0);

    struct mm_config cfg;
    mm_config_from_host(&cfg);
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);
    assert_int_equal(mm_mmap(mm, B, 8 * M2, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, NULL, 0), (long)B);
    int bad = 0;
    for (size_t i = 0; i < NCALLS; i++) {
        const struct call *c = &calls[i];
        long r = mm_mmap(mm, c->addr, c->len, c->prot, c->flags, NULL, c->off);
        long v = r < 0 ? r : 0;
        if (v != h.ret[i]) {
            print_message("%s: host %ld, vmarea %ld\n", c->name, h.ret[i], v);
            bad++;
        }
    }
    for (int k = 0; k < 4; k++) {
        MMAP_READ_GUARD(g, mm);
        unsigned long mapped = vma_lookup(&g, B + (unsigned long)k * M2) != NULL;
        if (mapped != h.mapped[k]) {
            print_message("2 MiB piece %d of the old mapping: host %s, vmarea %s\n", k,
                          h.mapped[k] ? "mapped" : "gone", mapped ? "mapped" : "gone");
            bad++;
        }
    }
    mmput(mm);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hugetlb_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

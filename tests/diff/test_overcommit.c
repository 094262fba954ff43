/* SPDX-License-Identifier: MIT */
/*
 * test_overcommit — commit accounting against the host under its own
 * vm.overcommit_memory (the heuristic or "always"): calls too large for this
 * machine's RAM and swap fail where the host's do, MAP_NORESERVE escapes,
 * and a refused MAP_FIXED leaves the mapping it would have replaced.  Under
 * "never" the host's count is the whole machine's: the test skips, and
 * tests/unit/test_commit.c checks that mode's arithmetic.
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

#define B    0x200000000000UL   /* above ASan's shadow, below its allocator (0x600000000000) */
#define HUGE (1UL << 44)    /* 16 TiB: more than any test machine's RAM and swap */
#define RW   (PROT_READ | PROT_WRITE)
#define PA   (MAP_PRIVATE | MAP_ANONYMOUS)

enum kind { MMAP, MPROTECT, MUNMAP, PROBE };
struct call { const char *name; enum kind kind; unsigned long addr, len; int prot, flags; };

/* Each runs after the ones before it; PROBE says whether addr is mapped. */
static const struct call calls[] = {
    { "private writable, too large", MMAP, 0, HUGE, RW, PA },
    { "private writable, too large, MAP_NORESERVE", MMAP, B, HUGE, RW, PA | MAP_FIXED | MAP_NORESERVE },
    { "unmap it", MUNMAP, B, HUGE, 0, 0 },
    { "read-only, too large: not charged", MMAP, B, HUGE, PROT_READ, PA | MAP_FIXED },
    { "made writable: charged, refused", MPROTECT, B, HUGE, RW, 0 },
    { "made writable, one page: charged", MPROTECT, B, 4096, RW, 0 },
    { "unmap it all", MUNMAP, B, HUGE, 0, 0 },
    { "shared anonymous, too large", MMAP, 0, HUGE, RW, MAP_SHARED | MAP_ANONYMOUS },
    { "shared anonymous, too large, MAP_NORESERVE", MMAP, 0, HUGE, RW,
      MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE },
    { "a page to replace", MMAP, B, 4096, RW, PA | MAP_FIXED },
    { "MAP_FIXED over it, too large", MMAP, B, HUGE, RW, PA | MAP_FIXED },
    { "the page is still there", PROBE, B, 0, 0, 0 },
    { "read-only and shared: not charged", MMAP, B + HUGE, HUGE, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED },
    { "unmap everything", MUNMAP, B, 2 * HUGE, 0, 0 },
};
#define NCALLS (sizeof(calls) / sizeof(calls[0]))

static long host_call(const struct call *c)
{
    switch (c->kind) {
    case MMAP: {
        void *p = mmap((void *)c->addr, c->len, c->prot, c->flags, -1, 0);
        if (p == MAP_FAILED)
            return -errno;
        if (!c->addr)
            munmap(p, c->len);   /* placed elsewhere: only the result counts */
        return 0;
    }
    case MPROTECT:
        return mprotect((void *)c->addr, c->len, c->prot) ? -errno : 0;
    case MUNMAP:
        return munmap((void *)c->addr, c->len) ? -errno : 0;
    default: {
        unsigned char v;
        return mincore((void *)c->addr, 4096, &v) == 0;
    }
    }
}

static long model_call(struct mm *mm, const struct call *c)
{
    switch (c->kind) {
    case MMAP: {
        long r = mm_mmap(mm, c->addr, c->len, c->prot, c->flags, NULL, 0);
        if (r < 0)
            return r;
        if (!c->addr)
            mm_munmap(mm, (unsigned long)r, c->len);
        return 0;
    }
    case MPROTECT:
        return mm_mprotect(mm, c->addr, c->len, c->prot);
    case MUNMAP:
        return mm_munmap(mm, c->addr, c->len);
    default: {
        MMAP_READ_GUARD(g, mm);
        return vma_lookup(&g, c->addr) != NULL;
    }
    }
}

static void host_run(void *arg, void *out)
{
    (void)arg;
    long *ret = out;
    for (size_t i = 0; i < NCALLS; i++)
        ret[i] = host_call(&calls[i]);
}

static void test_overcommit_against_host(void **state)
{
    (void)state;
    struct mm_config cfg;
    mm_config_from_host(&cfg);
    if (cfg.overcommit_memory == MM_OVERCOMMIT_NEVER) {
        print_message("vm.overcommit_memory is 2: the host's count is the machine's\n");
        skip();
    }
    long host[NCALLS];
    assert_int_equal(host_child(host_run, NULL, host, sizeof(host)), 0);

    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);
    unsigned long before = mm_committed_pages();
    int bad = 0;
    for (size_t i = 0; i < NCALLS; i++) {
        long r = model_call(mm, &calls[i]);
        if (r != host[i]) {
            print_message("%s: host %ld, vmarea %ld\n", calls[i].name, host[i], r);
            bad++;
        }
    }
    assert_int_equal(mm_committed_pages(), before);   /* all unmapped: all given back */
    mmput(mm);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overcommit_against_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * test_rlimit — RLIMIT_AS and RLIMIT_DATA against the host: a child lowers
 * each to what it has mapped (VmSize, VmData) plus 64 pages, and a vmarea
 * mm, which maps nothing else, gets 64 pages; mmap (over free space and
 * over what it replaces), mremap (grow in place, move with growth,
 * DONTUNMAP) and mprotect must give the same results.  Then, on vmarea
 * alone, what the host's own heap and stack would make fragile to test:
 * brk under RLIMIT_DATA (check_data_rlimit) and a stack's growth under
 * RLIMIT_STACK and RLIMIT_AS.
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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define B      0x200000000000UL
#define PG     4096UL
#define ROOM   64UL                 /* pages under the limit */
#define RW     (PROT_READ | PROT_WRITE)
#define PRIV   (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
#define SHARED (MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)

enum kind { MMAP, MUNMAP, MREMAP, MPROTECT };
struct call {
    const char *name;
    enum kind kind;
    unsigned long page, pages;      /* the range */
    int prot, flags;                /* mmap; mprotect's prot; mremap's flags */
    unsigned long new_pages, to;    /* mremap: new length, target page */
};

/* Each limit's calls, run from an empty window. */
static const struct call as_calls[] = {
    { "map 48", MMAP, 0, 48, RW, PRIV, 0, 0 },
    { "map 17 more: 65 > 64", MMAP, 100, 17, PROT_READ, PRIV, 0, 0 },
    { "map 16 read-only: 64", MMAP, 100, 16, PROT_READ, PRIV, 0, 0 },
    { "map 8 over 8 mapped", MMAP, 0, 8, PROT_NONE, PRIV, 0, 0 },
    { "map 9 over 8 mapped", MMAP, 44, 9, PROT_NONE, PRIV, 0, 0 },
    { "grow 16 by 1 in place", MREMAP, 100, 16, 0, 0, 17, 0 },
    { "unmap 4", MUNMAP, 0, 4, 0, 0, 0, 0 },
    { "grow 16 by 4 in place", MREMAP, 100, 16, 0, 0, 20, 0 },
    { "grow 20 by 1 moving", MREMAP, 100, 20, 0, MREMAP_MAYMOVE | MREMAP_FIXED, 21, 200 },
    { "DONTUNMAP 4: 4 more", MREMAP, 4, 4, 0, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 4, 300 },
    { "unmap 8", MUNMAP, 40, 8, 0, 0, 0, 0 },
    { "DONTUNMAP 4", MREMAP, 4, 4, 0, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 4, 300 },
    { "unmap all", MUNMAP, 0, 400, 0, 0, 0, 0 },
};

static const struct call data_calls[] = {
    { "map 64 private writable", MMAP, 0, 64, RW, PRIV, 0, 0 },
    { "map 1 more: data", MMAP, 100, 1, RW, PRIV, 0, 0 },
    { "map 8 read-only: not data", MMAP, 100, 8, PROT_READ, PRIV, 0, 0 },
    { "map 8 shared writable: not data", MMAP, 120, 8, RW, SHARED, 0, 0 },
    { "mprotect read-only to writable", MPROTECT, 100, 8, RW, 0, 0, 0 },
    { "map 4 over 4 data", MMAP, 0, 4, RW, PRIV, 0, 0 },
    { "grow the data by 1", MREMAP, 0, 64, 0, MREMAP_MAYMOVE, 65, 0 },
    { "unmap 8 data", MUNMAP, 0, 8, 0, 0, 0, 0 },
    { "grow the data by 1 in place", MREMAP, 8, 56, 0, 0, 57, 0 },
    { "grow the read-only 8 by 16", MREMAP, 100, 8, 0, MREMAP_MAYMOVE | MREMAP_FIXED, 24, 200 },
    { "unmap all", MUNMAP, 0, 400, 0, 0, 0, 0 },
};

#define MAX_CALLS 16

static long host_call(const struct call *c)
{
    void *a = (void *)(B + c->page * PG);
    size_t len = c->pages * PG;
    switch (c->kind) {
    case MMAP: {
        void *p = mmap(a, len, c->prot, c->flags, -1, 0);
        return p == MAP_FAILED ? -errno : 0;
    }
    case MUNMAP:
        return munmap(a, len) ? -errno : 0;
    case MPROTECT:
        return mprotect(a, len, c->prot) ? -errno : 0;
    default: {
        void *p = mremap(a, len, c->new_pages * PG, c->flags, (void *)(B + c->to * PG));
        return p == MAP_FAILED ? -errno : (long)((unsigned long)p - B) / (long)PG;
    }
    }
}

static long model_call(struct mm *mm, const struct call *c)
{
    unsigned long a = B + c->page * PG, len = c->pages * PG;
    switch (c->kind) {
    case MMAP: {
        long r = mm_mmap(mm, a, len, c->prot, c->flags, NULL, 0);
        return r < 0 ? r : 0;
    }
    case MUNMAP:
        return mm_munmap(mm, a, len);
    case MPROTECT:
        return mm_mprotect(mm, a, len, c->prot);
    default: {
        long r = mm_mremap(mm, a, len, c->new_pages * PG, c->flags, B + c->to * PG);
        return r < 0 ? r : (r - (long)B) / (long)PG;
    }
    }
}

/* This process's VmSize or VmData, in pages. */
static unsigned long status_pages(const char *key)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    unsigned long kb = 0;
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, key, strlen(key)))
            kb = strtoul(line + strlen(key), NULL, 10);
    if (f)
        fclose(f);
    return kb / 4;
}

struct run { int resource; const struct call *calls; size_t n; };

/* ret[0]: whether the limit could be set; then each call's result.  The
 * limit is set last, from what the process has mapped then. */
static void host_run(void *arg, void *out)
{
    const struct run *run = arg;
    long *ret = out;
    unsigned long have = status_pages(run->resource == RLIMIT_AS ? "VmSize:" : "VmData:");
    struct rlimit rl;
    getrlimit(run->resource, &rl);
    rl.rlim_cur = (have + ROOM) * PG;
    ret[0] = have ? setrlimit(run->resource, &rl) : -1;
    for (size_t i = 0; i < run->n && !ret[0]; i++)
        ret[i + 1] = host_call(&run->calls[i]);
}

static void against_host(int resource, const struct call *calls, size_t n)
{
    struct run run = { resource, calls, n };
    long host[MAX_CALLS + 1];
    assert_true(n <= MAX_CALLS);
    assert_int_equal(host_child(host_run, &run, host, sizeof(host)), 0);
    assert_int_equal(host[0], 0);

    struct mm_config cfg;
    assert_int_equal(mm_config_from_host(&cfg), 0);
    if (resource == RLIMIT_AS)
        cfg.as_limit = ROOM * PG;
    else
        cfg.data_limit = ROOM * PG;
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        long r = model_call(mm, &calls[i]);
        if (r != host[i + 1]) {
            print_message("%s: host %ld, vmarea %ld\n", calls[i].name, host[i + 1], r);
            bad++;
        }
    }
    mmput(mm);
    assert_int_equal(bad, 0);
}

static void test_as_limit(void **state)
{
    (void)state;
    against_host(RLIMIT_AS, as_calls, sizeof(as_calls) / sizeof(as_calls[0]));
}

static void test_data_limit(void **state)
{
    (void)state;
    against_host(RLIMIT_DATA, data_calls, sizeof(data_calls) / sizeof(data_calls[0]));
}

/* brk's check_data_rlimit counts the heap from start_brk and the data
 * segment, on the break asked for; do_brk_flags then asks may_expand_vm. */
static void test_brk_data_limit(void **state)
{
    (void)state;
    struct mm_config cfg = { .data_limit = 16 * PG + 100 };
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);
    const unsigned long code = 0x400000, data = 0x600000, heap = 0x800000;
    struct mm_layout l = { .start_code = code, .end_code = code + PG, .start_data = data,
                           .end_data = data + 4 * PG, .start_brk = heap, .brk = heap,
                           .start_stack = 0x7ff000000000, .arg_start = 0x7ff000000000,
                           .arg_end = 0x7ff000000010, .env_start = 0x7ff000000010,
                           .env_end = 0x7ff000000020 };
    assert_int_equal(mm_set_layout(mm, &l), 0);
    /* 4 pages of data + 12 of heap + 100 bytes: the limit exactly. */
    assert_int_equal(mm_brk(mm, heap + 12 * PG + 100), (long)(heap + 12 * PG + 100));
    assert_int_equal(mm_brk(mm, heap + 12 * PG + 101), (long)(heap + 12 * PG + 100));
    /* The break within its last page moves, within the limit. */
    assert_int_equal(mm_brk(mm, heap + 12 * PG), (long)(heap + 12 * PG));
    assert_int_equal(mm_brk(mm, heap), (long)heap);
    mmput(mm);

    /* Unlimited: the heap grows as far as the address space allows. */
    mm = mm_create(NULL);
    assert_int_equal(mm_set_layout(mm, &l), 0);
    assert_int_equal(mm_brk(mm, heap + 1024 * PG), (long)(heap + 1024 * PG));
    mmput(mm);

    /* RLIMIT_AS also bounds the heap: 8 pages mapped elsewhere leave 8. */
    struct mm_config as = { .as_limit = 16 * PG };
    mm = mm_create(&as);
    assert_int_equal(mm_set_layout(mm, &l), 0);
    assert_int_equal(mm_mmap(mm, B, 8 * PG, PROT_READ, PRIV, NULL, 0), (long)B);
    assert_int_equal(mm_brk(mm, heap + 9 * PG), (long)heap);
    assert_int_equal(mm_brk(mm, heap + 8 * PG), (long)(heap + 8 * PG));
    mmput(mm);
}

/* A stack grows by faults below it up to RLIMIT_STACK, and no further
 * than RLIMIT_AS allows. */
static void test_stack_limits(void **state)
{
    (void)state;
    const unsigned long top = 0x7ff000000000;
    struct mm_config cfg = { .stack_limit = 32 * PG };
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);
    long s = mm_mmap(mm, top - 4 * PG, 4 * PG, RW, PRIV | MAP_GROWSDOWN, NULL, 0);
    assert_int_equal(s, (long)(top - 4 * PG));
    char b = 1;
    assert_int_equal(mm_write(mm, top - 32 * PG, &b, 1), 1);     /* 32 pages: the limit */
    assert_int_equal(mm_write(mm, top - 33 * PG, &b, 1), -EFAULT);
    mmput(mm);

    struct mm_config as = { .as_limit = 20 * PG };
    mm = mm_create(&as);
    assert_int_equal(mm_mmap(mm, top - 4 * PG, 4 * PG, RW, PRIV | MAP_GROWSDOWN, NULL, 0), (long)(top - 4 * PG));
    assert_int_equal(mm_write(mm, top - 20 * PG, &b, 1), 1);
    assert_int_equal(mm_write(mm, top - 21 * PG, &b, 1), -EFAULT);
    mmput(mm);

    /* The default is Linux's 8 MiB. */
    mm = mm_create(NULL);
    assert_int_equal(mm_mmap(mm, top - 4 * PG, 4 * PG, RW, PRIV | MAP_GROWSDOWN, NULL, 0), (long)(top - 4 * PG));
    assert_int_equal(mm_write(mm, top - (8UL << 20), &b, 1), 1);
    assert_int_equal(mm_write(mm, top - (8UL << 20) - PG, &b, 1), -EFAULT);
    mmput(mm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_as_limit),
        cmocka_unit_test(test_data_limit),
        cmocka_unit_test(test_brk_data_limit),
        cmocka_unit_test(test_stack_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * test_memlock — RLIMIT_MEMLOCK against the host: a child without
 * CAP_IPC_LOCK and with a 64 KiB limit locks, maps locked memory and sets
 * MCL_FUTURE, and a vmarea mm with memlock_limit 64 KiB does the same; every
 * result must agree (ENOMEM for mlock past the limit, counting what the range
 * has locked already; EAGAIN for MAP_LOCKED and MCL_FUTURE mappings past it;
 * the limit checked before a length that wraps).
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
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define B      0x200000000000UL
#define PG     4096UL
#define LIMIT  (64 * 1024UL)   /* 16 pages */
#define RW     (PROT_READ | PROT_WRITE)
#define FIXED  (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)

enum kind { MMAP, MLOCK, MUNLOCK, MLOCKALL, MUNLOCKALL, MUNMAP };
struct call { const char *name; enum kind kind; unsigned long page, pages; int flags; };

static const struct call calls[] = {
    { "map 32 pages", MMAP, 0, 32, FIXED },
    { "lock 8", MLOCK, 0, 8, 0 },
    { "lock 16 more: 24 > 16", MLOCK, 8, 16, 0 },
    { "lock 16 of which 8 are locked: 16", MLOCK, 0, 16, 0 },
    { "map 4 locked: 20 > 16", MMAP, 40, 4, FIXED | MAP_LOCKED },
    { "lock a length that wraps: the limit first", MLOCK, 0, ~0UL / PG, 0 },
    { "unlock all", MUNLOCK, 0, 32, 0 },
    { "map 4 locked", MMAP, 40, 4, FIXED | MAP_LOCKED },
    { "map 13 locked: 17 > 16", MMAP, 48, 13, FIXED | MAP_LOCKED },
    { "MCL_FUTURE", MLOCKALL, 0, 0, MCL_FUTURE },
    { "map 12 under MCL_FUTURE: 16", MMAP, 64, 12, FIXED },
    { "map 1 more under MCL_FUTURE", MMAP, 80, 1, FIXED },
    { "munlockall", MUNLOCKALL, 0, 0, 0 },
    { "map 1 after munlockall", MMAP, 80, 1, FIXED },
    { "unmap", MUNMAP, 0, 96, 0 },
};
#define NCALLS (sizeof(calls) / sizeof(calls[0]))

/* The raw system calls: sanitizers' interceptors make mlock a no-op. */
static long host_call(const struct call *c)
{
    void *a = (void *)(B + c->page * PG);
    size_t len = c->pages * PG;
    long r;
    switch (c->kind) {
    case MMAP:
        r = (long)syscall(SYS_mmap, a, len, RW, c->flags, -1, 0);
        return r == -1 ? -errno : 0;
    case MLOCK:
        r = syscall(SYS_mlock, a, len);
        break;
    case MUNLOCK:
        r = syscall(SYS_munlock, a, len);
        break;
    case MLOCKALL:
        r = syscall(SYS_mlockall, c->flags);
        break;
    case MUNLOCKALL:
        r = syscall(SYS_munlockall);
        break;
    default:
        r = syscall(SYS_munmap, a, len);
        break;
    }
    return r == -1 ? -errno : r;
}

static long model_call(struct mm *mm, const struct call *c)
{
    unsigned long a = B + c->page * PG, len = c->pages * PG;
    switch (c->kind) {
    case MMAP: {
        long r = mm_mmap(mm, a, len, RW, c->flags, NULL, 0);
        return r < 0 ? r : 0;
    }
    case MLOCK:
        return mm_mlock(mm, a, len, 0);
    case MUNLOCK:
        return mm_munlock(mm, a, len);
    case MLOCKALL:
        return mm_mlockall(mm, c->flags);
    case MUNLOCKALL:
        return mm_munlockall(mm);
    default:
        return mm_munmap(mm, a, len);
    }
}

/* Drop CAP_IPC_LOCK from the effective set (capset, version 3), then
 * lower the limit: the child is a process the limit binds. */
static int become_limited(void)
{
    struct { uint32_t version; int pid; } hdr = { 0x20080522, 0 };
    struct { uint32_t effective, permitted, inheritable; } data[2];
    if (syscall(SYS_capget, &hdr, data))
        return -1;
    data[0].effective &= ~(1U << 14);   /* CAP_IPC_LOCK */
    if (syscall(SYS_capset, &hdr, data))
        return -1;
    struct rlimit rl;
    getrlimit(RLIMIT_MEMLOCK, &rl);
    rl.rlim_cur = LIMIT;
    return setrlimit(RLIMIT_MEMLOCK, &rl);
}

/* ret[0]: whether the child could become limited; then each call's. */
static void host_run(void *arg, void *out)
{
    (void)arg;
    long *ret = out;
    ret[0] = become_limited();
    for (size_t i = 0; i < NCALLS && !ret[0]; i++)
        ret[i + 1] = host_call(&calls[i]);
}

static void test_memlock_against_host(void **state)
{
    (void)state;
    long host[NCALLS + 1];
    assert_int_equal(host_child(host_run, NULL, host, sizeof(host)), 0);
    if (host[0]) {
        print_message("the child could not drop CAP_IPC_LOCK or lower RLIMIT_MEMLOCK\n");
        skip();
    }

    struct mm_config cfg;
    mm_config_from_host(&cfg);
    cfg.memlock_limit = LIMIT;
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);
    int bad = 0;
    for (size_t i = 0; i < NCALLS; i++) {
        long r = model_call(mm, &calls[i]);
        if (r != host[i + 1]) {
            print_message("%s: host %ld, vmarea %ld\n", calls[i].name, host[i + 1], r);
            bad++;
        }
    }
    mmput(mm);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memlock_against_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

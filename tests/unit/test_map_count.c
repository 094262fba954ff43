/* SPDX-License-Identifier: MIT */
/*
 * max_map_count, against the host kernel.  A child process fills a window
 * with one-page VMAs of alternating protection until mmap refuses, then runs
 * a fixed list of operations that split, merge and unmap at the limit.  A
 * vmarea mm whose limit leaves the same headroom (the host's limit minus the
 * VMAs the child had before) runs the same calls; every return value and the
 * final VMA count must agree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include "vmarea.h"

#define W   0x300000000000UL
#define PG  4096UL

enum op_kind { OP_MMAP, OP_MPROTECT, OP_MUNMAP, OP_MADVISE };
struct op { enum op_kind kind; unsigned long page, npages; int prot; };   /* prot: the advice */

/* Run at the limit, in this order (pages count from W); the comments say
 * what Linux answers, the test checks that vmarea answers the same. */
static const struct op ops[] = {
    { OP_MMAP, 0, 1, PROT_READ },            /* -ENOMEM: map_count is over the limit */
    { OP_MPROTECT, 0, 1, PROT_READ },        /* 0: page 0 merges into page 1 */
    { OP_MPROTECT, 0, 1, PROT_NONE },        /* -ENOMEM: split_vma at the limit */
    /* -EAGAIN: advice that changes flags must split, and madvise says a
     * refused split so */
    { OP_MADVISE, 0, 1, MADV_DONTFORK },
    { OP_MADVISE, 0, 1, MADV_HUGEPAGE },
    { OP_MADVISE, 1, 1, MADV_NOHUGEPAGE },
    { OP_MADVISE, 0, 1, MADV_DONTDUMP },
    { OP_MADVISE, 1, 1, MADV_WIPEONFORK },
    { OP_MADVISE, 0, 1, MADV_SEQUENTIAL },
    { OP_MADVISE, 1, 1, MADV_RANDOM },
    { OP_MADVISE, 0, 2, MADV_DONTFORK },     /* 0: the whole VMA, no split */
    { OP_MADVISE, 1, 1, MADV_DOFORK },       /* -EAGAIN */
    { OP_MADVISE, 0, 2, MADV_DOFORK },       /* 0 */
    { OP_MPROTECT, 0, 1, PROT_READ },        /* 0: nothing to change */
    { OP_MPROTECT, 1, 1, PROT_NONE },        /* 0: merges into page 2 */
    { OP_MUNMAP, 3, 1, 0 },                  /* 0: a whole VMA goes */
    { OP_MMAP, 3, 1, PROT_WRITE },           /* back under the limit: mapped */
    { OP_MPROTECT, 2, 3, PROT_READ },        /* -ENOMEM: a split refused midway */
    { OP_MUNMAP, 3, 1, 0 },
    { OP_MPROTECT, 6, 1, PROT_READ | PROT_WRITE },
    { OP_MMAP, 1u << 20, 1, PROT_READ },     /* a new VMA far away */
    { OP_MMAP, (1u << 20) + 1, 1, PROT_NONE },
    { OP_MUNMAP, 0, 8, 0 },
    { OP_MMAP, 0, 2, PROT_READ },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

struct result {
    long filled;                 /* successful fill mmaps */
    long fill_err;               /* -errno of the failing one */
    long rets[NOPS];
    long vmas_added;             /* VMAs at the end minus VMAs before */
};

/*
 * The VMAs of this process as mm->map_count counts them: the lines of
 * /proc/self/maps, less the [vsyscall] gate area, which maps shows (last)
 * but which is no VMA of the mm.  Raw syscalls: no allocation may add a VMA.
 */
static long count_vmas(void)
{
    static char buf[1 << 16];
    static const char gate[] = "[vsyscall]\n";
    char tail[sizeof(gate)] = "";
    long lines = 0;
    int fd = open("/proc/self/maps", O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
        size_t keep = (size_t)n < sizeof(gate) - 1 ? (size_t)n : sizeof(gate) - 1;
        memmove(tail, tail + keep, sizeof(gate) - 1 - keep);
        memcpy(tail + sizeof(gate) - 1 - keep, buf + n - keep, keep);
    }
    close(fd);
    return lines - (memcmp(tail, gate, sizeof(gate) - 1) == 0);
}

static long sys_ret(long r)
{
    return r == -1 ? -errno : r;
}

static void run_host(struct result *res, long *before)
{
    *before = count_vmas();
    long i = 0;
    for (;; i++) {
        void *p = mmap((void *)(W + i * PG), PG, i % 2 ? PROT_READ : PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p == MAP_FAILED) {
            res->fill_err = -errno;
            break;
        }
    }
    res->filled = i;
    for (size_t k = 0; k < NOPS; k++) {
        const struct op *o = &ops[k];
        void *a = (void *)(W + o->page * PG);
        size_t len = o->npages * PG;
        if (o->kind == OP_MMAP) {
            void *p = mmap(a, len, o->prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            res->rets[k] = p == MAP_FAILED ? -errno : (long)((unsigned long)p - W);
        } else if (o->kind == OP_MPROTECT) {
            res->rets[k] = sys_ret(mprotect(a, len, o->prot));
        } else if (o->kind == OP_MADVISE) {
            res->rets[k] = sys_ret(madvise(a, len, o->prot));
        } else {
            res->rets[k] = sys_ret(munmap(a, len));
        }
    }
    res->vmas_added = count_vmas() - *before;
}

static void run_vmarea(struct result *res, unsigned long max_map_count)
{
    struct mm_config cfg;
    mm_config_from_host(&cfg);
    cfg.max_map_count = max_map_count;
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);
    long i = 0;
    for (;; i++) {
        long r = mm_mmap(mm, W + i * PG, PG, i % 2 ? PROT_READ : PROT_NONE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
        if (r < 0) {
            res->fill_err = r;
            break;
        }
    }
    res->filled = i;
    for (size_t k = 0; k < NOPS; k++) {
        const struct op *o = &ops[k];
        unsigned long a = W + o->page * PG, len = o->npages * PG;
        if (o->kind == OP_MMAP) {
            long r = mm_mmap(mm, a, len, o->prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
            res->rets[k] = r < 0 ? r : (long)((unsigned long)r - W);
        } else if (o->kind == OP_MPROTECT) {
            res->rets[k] = mm_mprotect(mm, a, len, o->prot);
        } else if (o->kind == OP_MADVISE) {
            res->rets[k] = mm_madvise(mm, a, len, o->prot);
        } else {
            res->rets[k] = mm_munmap(mm, a, len);
        }
    }
    struct mm_stats st;
    mm_get_stats(mm, &st);
    res->vmas_added = (long)st.map_count;
    mmput(mm);
}

static void test_map_count_limit(void **state)
{
    (void)state;
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct { struct result r; long before; } out;
        memset(&out, 0, sizeof(out));
        run_host(&out.r, &out.before);
        ssize_t w = write(pfd[1], &out, sizeof(out));
        _exit(w == (ssize_t)sizeof(out) ? 0 : 1);
    }
    close(pfd[1]);
    struct { struct result r; long before; } host;
    ssize_t got = read(pfd[0], &host, sizeof(host));
    close(pfd[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_int_equal(got, (ssize_t)sizeof(host));

    FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
    assert_non_null(f);
    unsigned long max = 0;
    assert_int_equal(fscanf(f, "%lu", &max), 1);
    fclose(f);

    struct result ours;
    memset(&ours, 0, sizeof(ours));
    run_vmarea(&ours, max - (unsigned long)host.before);

    print_message("host: %ld VMAs before, %ld one-page maps until %ld; vmarea: %ld until %ld\n",
                  host.before, host.r.filled, host.r.fill_err, ours.filled, ours.fill_err);
    assert_int_equal(ours.fill_err, host.r.fill_err);
    assert_int_equal(ours.filled, host.r.filled);
    for (size_t k = 0; k < NOPS; k++) {
        print_message("op %zu: host %ld, vmarea %ld\n", k, host.r.rets[k], ours.rets[k]);
        assert_int_equal(ours.rets[k], host.r.rets[k]);
    }
    assert_int_equal(ours.vmas_added, host.r.vmas_added);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_count_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

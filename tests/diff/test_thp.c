/* SPDX-License-Identifier: MIT */
/*
 * Transparent huge pages against the host: short sequences of faults,
 * zaps, splits, advice, mremap and fork on a 16 MiB region (docs/thp.md has what they
 * show), run for real in a child process and on a vmarea mm with the host's
 * THP mode; each VMA's Rss, AnonHugePages and Private_Dirty must agree.
 *
 * The random checker runs with THP off (its windows are too small for a
 * 2 MiB page anyway); these are the THP cases.  A host that could not give
 * a huge page (thp_fault_fallback went up: fragmentation) or refused an
 * mlock skips the case, as does a host with THP "never".
 */
#define _GNU_SOURCE
/* Steps leave unused fields out: zero is right for them. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
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

#include "vmarea.h"

#define BASE 0x300000000000UL
#define M2   (2UL << 20)
#define PG   4096UL
#define LEN  (8 * M2)

/* MOVE: mremap of [off, off + len) to arg (an offset in the region);
 * FORK: a child that maps the region too, until UNFORK or the end. */
enum act { END, WR, RD, ADV, PROT, UNMAP, REMAP, LOCK, UNLOCK, MOVE, FORK, UNFORK };
struct step { enum act a; unsigned long off, len; long arg; };

#define GUARD_INSTALL 102
#define GUARD_REMOVE  103
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

struct scenario {
    const char *name;
    struct step s[8];
};

static const struct scenario scenarios[] = {
    { "write one byte", { { WR, M2 + 5 } } },
    { "read one byte", { { RD, M2 + 5 } } },
    { "read, then write", { { RD, M2 }, { WR, M2 + PG } } },
    { "DONTNEED 4 KiB inside, write there", { { WR, M2 }, { ADV, M2 + PG, PG, MADV_DONTNEED }, { WR, M2 + PG } } },
    { "DONTNEED the whole PMD, write", { { WR, M2 }, { ADV, M2, M2, MADV_DONTNEED }, { WR, M2 + PG } } },
    { "mprotect 4 KiB inside and back", { { WR, M2 }, { PROT, M2 + PG, PG, PROT_READ },
                                          { PROT, M2 + PG, PG, PROT_READ | PROT_WRITE } } },
    { "munmap 4 KiB inside", { { WR, M2 }, { UNMAP, M2 + PG, PG } } },
    { "mlock the PMD, munlock", { { LOCK, M2, M2 }, { UNLOCK, M2, M2 } } },
    { "mprotect the whole PMD", { { WR, M2 }, { PROT, M2, M2, PROT_READ } } },
    { "huge zero page, NOHUGEPAGE, write", { { RD, M2 + 7 * PG }, { ADV, 0, LEN, MADV_NOHUGEPAGE }, { WR, M2 } } },
    { "MADV_FREE the whole PMD, write", { { WR, M2 }, { ADV, M2, M2, MADV_FREE }, { WR, M2 + PG } } },
    { "MADV_FREE 4 KiB", { { WR, M2 }, { ADV, M2, PG, MADV_FREE } } },
    { "MADV_PAGEOUT the whole PMD", { { WR, M2 }, { ADV, M2, M2, MADV_PAGEOUT } } },
    { "MADV_PAGEOUT 4 KiB", { { WR, M2 }, { ADV, M2, PG, MADV_PAGEOUT } } },
    { "MADV_COLD whole, then 4 KiB", { { WR, M2 }, { ADV, M2, M2, MADV_COLD }, { ADV, M2, PG, MADV_COLD } } },
    { "guard 4 KiB inside", { { WR, M2 }, { ADV, M2 + PG, PG, GUARD_INSTALL } } },
    { "huge zero page, DONTNEED 4 KiB, write", { { RD, M2 }, { ADV, M2, PG, MADV_DONTNEED }, { WR, M2 + PG } } },
    { "huge zero page, DONTNEED whole, write", { { RD, M2 }, { ADV, M2, M2, MADV_DONTNEED }, { WR, M2 + PG } } },
    { "THP, then NOHUGEPAGE on the PMD", { { WR, M2 }, { ADV, M2, M2, MADV_NOHUGEPAGE } } },
    { "POPULATE_WRITE 16 KiB", { { ADV, M2, 4 * PG, MADV_POPULATE_WRITE } } },
    { "POPULATE_READ 16 KiB, write", { { ADV, M2, 4 * PG, MADV_POPULATE_READ }, { WR, M2 } } },
    { "mprotect across two THPs", { { WR, M2 - PG }, { WR, M2 }, { PROT, M2 - PG, 2 * PG, PROT_READ } } },
    { "munmap the PMD, map again, write", { { WR, M2 }, { UNMAP, M2, M2 }, { REMAP, M2, M2 }, { WR, M2 + 5 } } },
    { "PMD split, then MADV_FREE 4 KiB", { { WR, M2 }, { PROT, M2 + 8 * PG, PG, PROT_READ },
                                           { ADV, M2 + 20 * PG, PG, MADV_FREE } } },
    { "DONTNEED across two THPs", { { WR, M2 - PG }, { WR, M2 }, { ADV, M2 - 2 * PG, 4 * PG, MADV_DONTNEED } } },
    { "zap whole, read, write", { { WR, M2 }, { ADV, M2, M2, MADV_DONTNEED }, { RD, M2 + 3 * PG }, { WR, M2 } } },
    { "mlock 4 KiB inside", { { WR, M2 }, { LOCK, M2 + PG, PG } } },
    { "guard the whole PMD, remove, write", { { WR, M2 }, { ADV, M2, M2, GUARD_INSTALL },
                                              { ADV, M2, M2, GUARD_REMOVE }, { WR, M2 + PG } } },
    { "MADV_PAGEOUT two THPs", { { WR, M2 }, { WR, 2 * M2 }, { ADV, M2, 2 * M2, MADV_PAGEOUT } } },
    { "COLLAPSE 4 KiB pages", { { ADV, 0, LEN, MADV_NOHUGEPAGE }, { WR, M2 }, { WR, M2 + 3 * PG },
                                { ADV, 0, LEN, MADV_HUGEPAGE }, { ADV, M2, M2, MADV_COLLAPSE } } },
    { "COLLAPSE without a page table", { { ADV, M2, M2, MADV_COLLAPSE } } },
    { "COLLAPSE less than 2 MiB", { { WR, M2 }, { ADV, M2, PG, MADV_COLLAPSE } } },
    { "COLLAPSE after DONTNEED of a page", { { WR, M2 }, { ADV, M2 + PG, PG, MADV_DONTNEED },
                                             { ADV, M2, M2, MADV_COLLAPSE } } },
    { "COLLAPSE an emptied table", { { ADV, 0, LEN, MADV_NOHUGEPAGE }, { WR, M2 },
                                     { ADV, M2, PG, MADV_DONTNEED }, { ADV, 0, LEN, MADV_HUGEPAGE },
                                     { ADV, M2, M2, MADV_COLLAPSE } } },
    { "COLLAPSE with a guard", { { ADV, 0, LEN, MADV_NOHUGEPAGE }, { WR, M2 },
                                 { ADV, M2 + 2 * PG, PG, GUARD_INSTALL }, { ADV, 0, LEN, MADV_HUGEPAGE },
                                 { ADV, M2, M2, MADV_COLLAPSE } } },
    { "COLLAPSE across VMAs", { { WR, M2 }, { PROT, M2 + PG, PG, PROT_READ }, { ADV, M2, M2, MADV_COLLAPSE } } },
    { "COLLAPSE two, one without a table", { { WR, M2 }, { ADV, M2, 2 * M2, MADV_COLLAPSE } } },
    { "COLLAPSE 4 KiB inside a THP", { { WR, M2 }, { ADV, M2 + PG, PG, MADV_COLLAPSE } } },
    { "COLLAPSE 3 MiB, the second without a table", { { WR, M2 }, { ADV, M2, 3 * M2 / 2, MADV_COLLAPSE } } },
    { "mremap a THP to a 2 MiB boundary", { { WR, M2 }, { MOVE, M2, M2, 5 * M2 } } },
    { "mremap a THP off a 2 MiB boundary", { { WR, M2 }, { MOVE, M2, M2, 5 * M2 + PG } } },
    { "mremap 4 KiB out of a THP", { { WR, M2 }, { MOVE, M2 + PG, PG, 6 * M2 } } },
    { "fork, write in the parent", { { WR, M2 }, { FORK }, { WR, M2 + PG } } },
    { "fork, the child goes, write in the parent", { { WR, M2 }, { FORK }, { UNFORK }, { WR, M2 + PG } } },
    { "fork of the huge zero page, write", { { RD, M2 }, { FORK }, { WR, M2 + PG } } },
    { "fork, MADV_FREE the whole PMD", { { WR, M2 }, { FORK }, { ADV, M2, M2, MADV_FREE } } },
    { "fork, MADV_FREE 4 KiB", { { WR, M2 }, { FORK }, { ADV, M2 + PG, PG, MADV_FREE } } },
    { "fork, MADV_PAGEOUT the whole PMD", { { WR, M2 }, { FORK }, { ADV, M2, M2, MADV_PAGEOUT } } },
    { "fork, MADV_COLD 4 KiB", { { WR, M2 }, { FORK }, { ADV, M2 + PG, PG, MADV_COLD } } },
    { "fork, the child goes, MADV_FREE the whole PMD", { { WR, M2 }, { FORK }, { UNFORK },
                                                         { ADV, M2, M2, MADV_FREE } } },
    { "COLLAPSE NOHUGEPAGE", { { WR, M2 }, { ADV, 0, LEN, MADV_NOHUGEPAGE }, { ADV, M2, M2, MADV_COLLAPSE } } },
    { "COLLAPSE read-only, split by COLD", { { ADV, 0, LEN, MADV_NOHUGEPAGE }, { WR, M2 + 5 }, { WR, M2 + 2 * PG },
                                            { ADV, 0, LEN, MADV_HUGEPAGE }, { PROT, 0, LEN, PROT_READ },
                                            { ADV, M2, PG, MADV_COLD }, { ADV, M2, M2, MADV_COLLAPSE } } },
};

/* One VMA as both sides report it. */
struct row { unsigned long start, end, rss, thp, dirty; };
struct result { int n; int skipped; struct row r[16]; long ret[8]; };   /* ret: each step's, -errno */

/* Parse smaps text: the VMAs inside [BASE, BASE + LEN + M2). */
static void parse(FILE *f, struct result *res)
{
    char line[512];
    struct row *cur = NULL;
    res->n = 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned long s, e;
        if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            cur = NULL;
            if (s >= BASE && e <= BASE + LEN + M2 && res->n < 16) {
                cur = &res->r[res->n++];
                *cur = (struct row){ .start = s, .end = e };
            }
            continue;
        }
        if (!cur)
            continue;
        unsigned long v;
        if (sscanf(line, "Rss: %lu kB", &v) == 1)
            cur->rss = v;
        else if (sscanf(line, "AnonHugePages: %lu kB", &v) == 1)
            cur->thp = v;
        else if (sscanf(line, "Private_Dirty: %lu kB", &v) == 1 ||
                 sscanf(line, "Shared_Dirty: %lu kB", &v) == 1)
            cur->dirty += v;   /* after a fork, the pages are shared */
    }
}

static unsigned long vmstat(const char *name)
{
    FILE *f = fopen("/proc/vmstat", "re");
    char key[64];
    unsigned long v, found = 0;
    if (!f)
        return 0;
    while (fscanf(f, "%63s %lu", key, &v) == 2)
        if (!strcmp(key, name))
            found = v;
    fclose(f);
    return found;
}

/* ------------------------------------------------------------ the host */

static void host_run(const struct scenario *sc, int fd)
{
    struct result res = { 0 };
    char *b = (char *)BASE;
    int child_pipe[2];
    pid_t child = -1;
    unsigned long fallback = vmstat("thp_fault_fallback");
    if (mmap(b, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != b)
        _exit(2);
    madvise(b, LEN, MADV_HUGEPAGE);
    for (const struct step *s = sc->s; s->a != END; s++) {
        long *ret = &res.ret[s - sc->s];
        switch (s->a) {
        case WR: b[s->off] = 1; break;
        case RD: (void)*(volatile char *)(b + s->off); break;
        case ADV: *ret = madvise(b + s->off, s->len, s->arg) ? -errno : 0; break;
        case PROT: *ret = mprotect(b + s->off, s->len, s->arg) ? -errno : 0; break;
        case UNMAP: *ret = munmap(b + s->off, s->len) ? -errno : 0; break;
        case REMAP:
            mmap(b + s->off, s->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            madvise(b + s->off, s->len, MADV_HUGEPAGE);
            break;
        case LOCK:
            /* Refused here (a limit, or a sanitizer's reservations counted
             * against it): nothing to compare. */
            if (syscall(SYS_mlock, b + s->off, s->len))
                res.skipped = 1;
            break;
        /* The system calls: ASan's mlock and munlock do nothing. */
        case UNLOCK: syscall(SYS_munlock, b + s->off, s->len); break;
        case MOVE: {
            void *r = mremap(b + s->off, s->len, s->len, MREMAP_MAYMOVE | MREMAP_FIXED, b + s->arg);
            *ret = r == MAP_FAILED ? -errno : 0;
            break;
        }
        case FORK:
            if (pipe(child_pipe) || (child = fork()) < 0)
                _exit(5);
            if (child == 0) {
                char x;
                close(child_pipe[1]);
                while (read(child_pipe[0], &x, 1) > 0)
                    ;
                _exit(0);
            }
            close(child_pipe[0]);
            break;
        case UNFORK:
            close(child_pipe[1]);
            waitpid(child, NULL, 0);
            child = -1;
            break;
        case END: break;
        }
    }
    FILE *f = fopen("/proc/self/smaps", "re");
    if (!f)
        _exit(3);
    parse(f, &res);
    fclose(f);
    if (child > 0) {
        close(child_pipe[1]);
        waitpid(child, NULL, 0);
    }
    res.skipped |= vmstat("thp_fault_fallback") != fallback;
    if (write(fd, &res, sizeof(res)) != (ssize_t)sizeof(res))
        _exit(4);
    _exit(0);
}

static int host(const struct scenario *sc, struct result *res)
{
    int p[2];
    if (pipe(p))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        host_run(sc, p[1]);
    }
    close(p[1]);
    ssize_t n = read(p[0], res, sizeof(*res));
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return n == (ssize_t)sizeof(*res) && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ vmarea */

static void model(const struct scenario *sc, const struct mm_config *cfg, struct result *res)
{
    struct mm *mm = mm_create(cfg);
    assert_non_null(mm);
    struct mm *child = NULL;
    unsigned long b = BASE;
    char c = 1;
    assert_int_equal(mm_mmap(mm, b, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0),
                     (long)b);
    mm_madvise(mm, b, LEN, MADV_HUGEPAGE);
    memset(res->ret, 0, sizeof(res->ret));
    for (const struct step *s = sc->s; s->a != END; s++) {
        long *ret = &res->ret[s - sc->s];
        switch (s->a) {
        case WR: mm_write(mm, b + s->off, &c, 1); break;
        case RD: mm_read(mm, b + s->off, &c, 1); break;
        case ADV: *ret = mm_madvise(mm, b + s->off, s->len, s->arg); break;
        case PROT: *ret = mm_mprotect(mm, b + s->off, s->len, s->arg); break;
        case UNMAP: *ret = mm_munmap(mm, b + s->off, s->len); break;
        case REMAP:
            mm_mmap(mm, b + s->off, s->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
            mm_madvise(mm, b + s->off, s->len, MADV_HUGEPAGE);
            break;
        case LOCK: mm_mlock(mm, b + s->off, s->len, 0); break;
        case UNLOCK: mm_munlock(mm, b + s->off, s->len); break;
        case MOVE: {
            long r = mm_mremap(mm, b + s->off, s->len, s->len, MREMAP_MAYMOVE | MREMAP_FIXED, b + s->arg);
            *ret = r < 0 ? r : 0;
            break;
        }
        case FORK: child = mm_fork(mm); assert_non_null(child); break;
        case UNFORK: mmput(child); child = NULL; break;
        case END: break;
        }
    }
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    mm_show_smaps(mm, f);
    fclose(f);
    f = fmemopen(text, size, "r");
    parse(f, res);
    fclose(f);
    free(text);
    mmput(mm);
    if (child)
        mmput(child);
}

static void print_result(const char *side, const struct result *r)
{
    print_message("    %s returns", side);
    for (int i = 0; i < 8; i++)
        print_message(" %ld", r->ret[i]);
    print_message("\n");
    for (int i = 0; i < r->n; i++)
        print_message("    %s %lx-%lx Rss %lu AnonHugePages %lu Dirty %lu\n", side, r->r[i].start,
                      r->r[i].end, r->r[i].rss, r->r[i].thp, r->r[i].dirty);
}

static bool same_result(const struct result *h, const struct result *m)
{
    bool same = h->n == m->n && !memcmp(h->ret, m->ret, sizeof(h->ret));
    for (int k = 0; same && k < h->n; k++)
        same = !memcmp(&h->r[k], &m->r[k], sizeof(h->r[k]));
    return same;
}

/* The host's model; the test skips where the host has no THP. */
static void host_thp_config(struct mm_config *cfg)
{
    mm_config_from_host(cfg);
    if (cfg->thp == MM_THP_NEVER) {
        print_message("host THP is \"never\": nothing to compare\n");
        skip();
    }
}

static void test_thp_sequences(void **state)
{
    (void)state;
    struct mm_config host_cfg;
    host_thp_config(&host_cfg);
    int bad = 0, skipped = 0;
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
        struct result h, m;
        if (host(&scenarios[i], &h)) {
            print_message("%s: the host run failed (the region at %#lx was not free?)\n",
                          scenarios[i].name, BASE);
            skip();
        }
        if (h.skipped) {
            skipped++;
            continue;
        }
        model(&scenarios[i], &host_cfg, &m);
        if (!same_result(&h, &m)) {
            bad++;
            print_message("  %s: differs\n", scenarios[i].name);
            print_result("linux ", &h);
            print_result("vmarea", &m);
        }
    }
    print_message("%zu THP sequences, %d skipped (no huge page or no mlock on the host), %d differ\n",
                  sizeof(scenarios) / sizeof(scenarios[0]), skipped, bad);
    assert_int_equal(bad, 0);
}

/*
 * The comparison can fail: a model of the host that is wrong in the THP mode
 * differs from the host on a write of one byte; one wrong in whether a read
 * maps the (huge) zero page, on a read; one wrong in whether a split maps
 * the zero page, on a split; one wrong in whether mprotect cleans a THP, on
 * that mprotect.
 */
static void test_wrong_model_differs(void **state)
{
    (void)state;
    struct mm_config host_cfg;
    host_thp_config(&host_cfg);
    /* The THP mode: a write maps 2 MiB or 4 KiB.  (A read cannot tell
     * where there are zero pages: the huge one and the small one alike
     * have no Rss.) */
    const struct scenario *write = &scenarios[0], *read = &scenarios[1];
    struct result h, m;
    if (host(write, &h) || h.skipped) {
        print_message("the host gave no huge page for the write\n");
        skip();
    }
    model(write, &host_cfg, &m);
    assert_true(same_result(&h, &m));
    struct mm_config wrong = host_cfg;
    wrong.thp = MM_THP_NEVER;
    model(write, &wrong, &m);
    assert_false(same_result(&h, &m));

    if (host(read, &h) || h.skipped) {
        print_message("the host gave no huge page for the read\n");
        skip();
    }
    model(read, &host_cfg, &m);
    assert_true(same_result(&h, &m));

    /* Zero pages: the host either maps the huge zero page on a read or
     * allocates a THP; the model that says the other differs. */
    wrong = host_cfg;
    bool huge_zero = !(host_cfg.flags & (MM_CONFIG_NO_ZERO_PAGE | MM_CONFIG_NO_HUGE_ZERO_PAGE));
    if (huge_zero)
        wrong.flags |= MM_CONFIG_NO_HUGE_ZERO_PAGE;
    else
        wrong.flags &= ~(MM_CONFIG_NO_ZERO_PAGE | MM_CONFIG_NO_HUGE_ZERO_PAGE);
    model(read, &wrong, &m);
    assert_false(same_result(&h, &m));

    /* A folio split either maps the zero page over all-zero subpages or
     * keeps them: a THP with one byte written, MADV_FREE of 4 KiB. */
    const struct scenario *split = NULL;
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        if (!strcmp(scenarios[i].name, "MADV_FREE 4 KiB"))
            split = &scenarios[i];
    assert_non_null(split);
    if (host(split, &h) || h.skipped) {
        print_message("the host gave no huge page for the split\n");
        return;
    }
    model(split, &host_cfg, &m);
    assert_true(same_result(&h, &m));
    wrong = host_cfg;
    wrong.flags ^= MM_CONFIG_NO_SPLIT_ZERO_REMAP;
    model(split, &wrong, &m);
    assert_false(same_result(&h, &m));

    /* A written THP made read-only stays dirty, or (soft-dirty x86 hosts of
     * 6.18.15) turns clean. */
    const struct scenario *wrprotect = NULL;
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        if (!strcmp(scenarios[i].name, "mprotect the whole PMD"))
            wrprotect = &scenarios[i];
    assert_non_null(wrprotect);
    if (host(wrprotect, &h) || h.skipped)
        return;
    model(wrprotect, &host_cfg, &m);
    assert_true(same_result(&h, &m));
    wrong = host_cfg;
    wrong.flags ^= MM_CONFIG_THP_WRPROTECT_CLEAN;
    model(wrprotect, &wrong, &m);
    assert_false(same_result(&h, &m));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thp_sequences),
        cmocka_unit_test(test_wrong_model_differs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

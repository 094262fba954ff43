/* SPDX-License-Identifier: MIT */
/*
 * test_checker — the differential checker can fail, and says where.
 *
 * A checker that never reports anything looks exactly like a library with no
 * bugs, so these tests make one side wrong on purpose (the perturb hook) and
 * check that the mismatch is found at the right seed and op, that a crash or
 * a hang of a side is reported instead of taking the checker down, and that
 * the pieces under it (smaps parser, script language, generator, safety
 * rule) do what the checker relies on.
 *
 * Most runs use kernel_vs_kernel (the kernel on both sides), so that they do
 * not depend on how complete the library is today.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "diffcheck.h"
#include "vmarea.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WIN 0x200000000000UL     /* the checker's default window */
#define PWIN 0x100000000000UL    /* the window of the parser samples below */
#define PAGE 4096UL
#define SEED 0x5eedc0ffeeULL

static struct dc_options base_options(unsigned long sequences)
{
    struct dc_options o = { 0 };
    o.seed = SEED;
    o.sequences = sequences;
    o.jobs = 2;
    o.max_reports = 4;
    return o;
}

static void dump(const struct dc_result *r)
{
    for (unsigned i = 0; i < r->ncategories; i++)
        print_message("  %lu  %s  seed 0x%llx\n", r->categories[i].count, r->categories[i].name,
                      (unsigned long long)r->categories[i].seed);
    if (r->nreports && r->reports[0].text)
        fputs(r->reports[0].text, stderr);
}

/* ------------------------------------------------ the oracle agrees with itself */

static void test_kernel_vs_kernel_matches(void **state)
{
    (void)state;
    struct dc_options o = base_options(300);
    o.kernel_vs_kernel = true;
    o.shared_anon = true;
    o.extra_advice = true;
    o.mlockall = true;
    struct dc_result r;
    int rc = dc_run(&o, &r);
    if (rc != 0) {
        print_message("dc_run: %d %s\n", rc, r.error);
        dump(&r);
    }
    unsigned long seqs = r.sequences, ops = r.operations, mismatches = r.mismatches;
    dc_result_free(&r);
    assert_int_equal(rc, 0);
    assert_int_equal(seqs, 300);
    assert_int_equal(ops, 300 * 20);
    assert_int_equal(mismatches, 0);
}

/* ------------------------------------------------- a wrong return value */

static long bad_ret(void *arg, struct mm *mm, uint64_t seed, unsigned index,
                    const struct dc_op *op, long ret)
{
    (void)arg; (void)mm; (void)op;
    if (seed == SEED + 7 && index == 5)
        return ret == -EINVAL ? -ENOMEM : -EINVAL;
    return ret;
}

static void test_wrong_return_value_found(void **state)
{
    (void)state;
    struct dc_options o = base_options(20);
    o.kernel_vs_kernel = true;
    o.perturb = bad_ret;
    struct dc_result r;
    assert_int_equal(dc_run(&o, &r), 1);
    assert_int_equal(r.sequences, 20);
    assert_int_equal(r.mismatches, 1);
    assert_int_equal(r.crashes, 0);
    assert_int_equal(r.nreports, 1);
    assert_int_equal(r.reports[0].seed, SEED + 7);
    assert_int_equal(r.reports[0].index, 7);
    assert_int_equal(r.reports[0].first_op, 5);
    assert_non_null(strstr(r.reports[0].category, "return"));
    assert_non_null(r.reports[0].text);
    /* the report names the seed and a command line that replays it */
    assert_non_null(strstr(r.reports[0].text, "--seed 0x5eedc0fff5 --sequences 1"));
    assert_non_null(strstr(r.reports[0].text, "first difference at op 5 of 20"));
    assert_int_equal(r.ncategories, 1);
    assert_int_equal(r.categories[0].seed, SEED + 7);
    dc_result_free(&r);
}

/* ------------------------------------------------------ a wrong layout */

/* Map a page in the margin below the window: ops never go there, so the
 * layouts must differ from this op on. */
static long extra_vma(void *arg, struct mm *mm, uint64_t seed, unsigned index,
                      const struct dc_op *op, long ret)
{
    (void)arg; (void)op;
    if (seed == SEED + 3 && index == 10) {
        unsigned long a = WIN - 2 * PAGE;
        if (mm)
            mm_mmap(mm, a, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
        else
            syscall(SYS_mmap, a, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    }
    return ret;
}

static void test_wrong_layout_found(void **state)
{
    (void)state;
    struct dc_options o = base_options(10);
    o.kernel_vs_kernel = true;
    o.perturb = extra_vma;
    struct dc_result r;
    assert_int_equal(dc_run(&o, &r), 1);
    assert_int_equal(r.mismatches, 1);
    assert_int_equal(r.reports[0].seed, SEED + 3);
    assert_int_equal(r.reports[0].first_op, 10);
    assert_non_null(strstr(r.reports[0].category, "layout"));
    assert_non_null(strstr(r.reports[0].category, "VMA count"));
    /* the extra VMA is marked as having no twin on the other side */
    assert_non_null(strstr(r.reports[0].text, "* 1fffffffe000-1ffffffff000 r--p"));
    dc_result_free(&r);
}

/* The same hook on the real vmarea side: the checker reports the seed.  The
 * library may already differ earlier in the sequence; not later. */
static void test_wrong_vmarea_layout_found(void **state)
{
    (void)state;
    struct dc_options o = base_options(1);
    o.seed = SEED + 3;
    o.perturb = extra_vma;
    struct dc_result r;
    assert_int_equal(dc_run(&o, &r), 1);
    assert_int_equal(r.mismatches, 1);
    assert_int_equal(r.reports[0].seed, SEED + 3);
    assert_true(r.reports[0].first_op >= 0 && r.reports[0].first_op <= 10);
    dc_result_free(&r);
}

/* A VMA the vmarea side leaves far from the window is found too. */
static long stray_vma(void *arg, struct mm *mm, uint64_t seed, unsigned index,
                      const struct dc_op *op, long ret)
{
    (void)arg; (void)seed; (void)op;
    if (mm && index == 4)
        mm_mmap(mm, 0x300000000000UL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
    return ret;
}

static void test_stray_vmarea_vma_found(void **state)
{
    (void)state;
    struct dc_options o = base_options(1);
    o.perturb = stray_vma;
    struct dc_result r;
    assert_int_equal(dc_run(&o, &r), 1);
    assert_int_equal(r.mismatches, 1);
    assert_true(r.reports[0].first_op >= 0 && r.reports[0].first_op <= 4);
    if (r.reports[0].first_op == 4)
        assert_non_null(strstr(r.reports[0].category, "outside the window"));
    dc_result_free(&r);
}

/* --------------------------------------------------- a side dies or hangs */

static long crash(void *arg, struct mm *mm, uint64_t seed, unsigned index,
                  const struct dc_op *op, long ret)
{
    (void)arg; (void)mm; (void)op;
    if (seed == SEED + 2 && index == 3)
        raise(SIGSEGV);
    return ret;
}

static void test_crash_reported(void **state)
{
    (void)state;
    struct dc_options o = base_options(5);
    o.kernel_vs_kernel = true;
    o.perturb = crash;
    struct dc_result r;
    assert_int_equal(dc_run(&o, &r), 1);
    assert_int_equal(r.sequences, 5);
    assert_int_equal(r.mismatches, 1);
    assert_int_equal(r.crashes, 1);
    assert_int_equal(r.reports[0].seed, SEED + 2);
    assert_int_equal(r.reports[0].first_op, 3);
    assert_non_null(strstr(r.reports[0].category, "SIGSEGV"));
    dc_result_free(&r);
}

static long hang(void *arg, struct mm *mm, uint64_t seed, unsigned index,
                 const struct dc_op *op, long ret)
{
    (void)arg; (void)mm; (void)op; (void)seed;
    if (index == 1)
        for (;;)
            pause();
    return ret;
}

static void test_hang_reported(void **state)
{
    (void)state;
    struct dc_options o = base_options(1);
    o.kernel_vs_kernel = true;
    o.perturb = hang;
    o.timeout_seconds = 1;
    struct dc_result r;
    assert_int_equal(dc_run(&o, &r), 1);
    assert_int_equal(r.crashes, 1);
    assert_int_equal(r.reports[0].first_op, 1);
    assert_non_null(strstr(r.reports[0].category, "hung"));
    dc_result_free(&r);
}

/* -------------------------------------------- stop_after, max_reports */

static long every_third(void *arg, struct mm *mm, uint64_t seed, unsigned index,
                        const struct dc_op *op, long ret)
{
    (void)arg; (void)mm; (void)op;
    if ((seed - SEED) % 3 == 0 && index == 0)
        return ret - 1;
    return ret;
}

static void test_reports_are_the_lowest_seeds(void **state)
{
    (void)state;
    struct dc_options o = base_options(30);
    o.kernel_vs_kernel = true;
    o.perturb = every_third;
    o.max_reports = 3;
    struct dc_result r;
    assert_int_equal(dc_run(&o, &r), 1);
    assert_int_equal(r.mismatches, 10);
    assert_int_equal(r.nreports, 3);
    assert_int_equal(r.reports[0].seed, SEED + 0);
    assert_int_equal(r.reports[1].seed, SEED + 3);
    assert_int_equal(r.reports[2].seed, SEED + 6);
    unsigned long total = 0;
    uint64_t lowest = ~0ULL;
    for (unsigned i = 0; i < r.ncategories; i++) {
        total += r.categories[i].count;
        if (r.categories[i].seed < lowest)
            lowest = r.categories[i].seed;
        if (i)
            assert_true(r.categories[i].count <= r.categories[i - 1].count);
    }
    assert_int_equal(total, 10);
    assert_int_equal(lowest, SEED);
    dc_result_free(&r);

    o.stop_after = 2;
    o.jobs = 1;
    assert_int_equal(dc_run(&o, &r), 1);
    assert_int_equal(r.mismatches, 2);
    assert_true(r.sequences < 30);
    dc_result_free(&r);
}

/* ------------------------------------------------ planted memory faults */

/*
 * A zap the other side does not make: after op 10, the second kernel side
 * drops every page of the window (DONTNEED_LOCKED: locked VMAs too).  The
 * VMAs stay as they are, so only the memory comparison can see it: Rss and
 * the other counters, a later read, or the page contents at the end.
 */
static long zap_window(void *arg, struct mm *mm, uint64_t seed, unsigned index,
                       const struct dc_op *op, long ret)
{
    (void)arg; (void)seed; (void)op;
    if (index == 10 && !mm)
        for (unsigned long a = WIN; a < WIN + 64 * PAGE; a += PAGE)
            syscall(SYS_madvise, a, PAGE, 24 /* MADV_DONTNEED_LOCKED */);
    return ret;
}

static void test_planted_zap_found(void **state)
{
    (void)state;
    struct dc_options o = base_options(40);
    o.kernel_vs_kernel = true;
    o.perturb = zap_window;
    o.max_reports = 40;
    struct dc_result r;
    assert_int_equal(dc_run(&o, &r), 1);
    print_message("planted zap: %lu of 40 sequences differ\n", r.mismatches);
    /* not every sequence has memory in the window by op 10 */
    assert_true(r.mismatches >= 5);
    assert_int_equal(r.crashes, 0);
    for (unsigned i = 0; i < r.nreports; i++) {
        const struct dc_mismatch *m = &r.reports[i];
        if (m->first_op >= 0 && m->first_op < 10)
            fail_msg("seed 0x%llx: difference at op %d, before the zap", (unsigned long long)m->seed,
                     m->first_op);
        bool memory = strstr(m->category, "Rss") || strstr(m->category, "Private_Dirty") ||
                      strstr(m->category, "bytes read") || strstr(m->category, "page contents");
        if (!memory)
            fail_msg("seed 0x%llx: '%s' is no memory difference", (unsigned long long)m->seed,
                     m->category);
    }
    dc_result_free(&r);

    /* without memory ops and counters the zap goes unseen */
    o.no_memory = true;
    assert_int_equal(dc_run(&o, &r), 0);
    dc_result_free(&r);
}

/*
 * One byte changed after the last op, in a page that already held data, so
 * no counter moves: only the comparison of contents at the end sees it (and
 * then names the op after which contents part, by running prefixes).
 */
static long poke_byte(void *arg, struct mm *mm, uint64_t seed, unsigned index,
                      const struct dc_op *op, long ret)
{
    (void)arg; (void)seed; (void)op;
    if (index != 19 || mm)
        return ret;
    for (unsigned long a = WIN; a < WIN + 64 * PAGE; a += PAGE) {
        unsigned char vec;
        uint64_t h;
        if (mincore((void *)a, PAGE, &vec) != 0 || !(vec & 1))
            continue;
        if (dc_kernel_read(a, 1, &h) != 1 || *(volatile unsigned char *)a == 0)
            continue;
        if (dc_kernel_write(a, 1, *(volatile unsigned char *)a ^ 0x80) == 1)
            break;
    }
    return ret;
}

static void test_planted_byte_found(void **state)
{
    (void)state;
    struct dc_options o = base_options(40);
    o.kernel_vs_kernel = true;
    o.perturb = poke_byte;
    o.max_reports = 40;
    struct dc_result r;
    assert_int_equal(dc_run(&o, &r), 1);
    print_message("planted byte: %lu of 40 sequences differ\n", r.mismatches);
    assert_true(r.mismatches >= 5);
    for (unsigned i = 0; i < r.nreports; i++) {
        const struct dc_mismatch *m = &r.reports[i];
        /* found by running prefixes of the sequence: after the last op */
        assert_int_equal(m->first_op, 19);
        assert_non_null(strstr(m->category, "page contents: data differs"));
        assert_non_null(strstr(m->text, "page contents after op 19: 1 page differs"));
    }
    dc_result_free(&r);
}

/* ------------------------------------------------------- minimizing */

/* Wrong on every MADV_COLD, whatever comes before it: a fault that follows
 * an op, not an index, so that it survives the ops around it being dropped. */
static long bad_cold(void *arg, struct mm *mm, uint64_t seed, unsigned index,
                     const struct dc_op *op, long ret)
{
    (void)arg; (void)mm; (void)seed; (void)index;
    return op->kind == DC_MADVISE && op->advice == MADV_COLD ? ret - 1 : ret;
}

static void test_minimize(void **state)
{
    (void)state;
    struct dc_options o = base_options(1);
    o.kernel_vs_kernel = true;
    static struct dc_op ops[DC_MAX_OPS];
    unsigned n = 0, cold = 0;
    uint64_t seed;
    for (seed = SEED; seed < SEED + 1000; seed++) {
        n = dc_generate(&o, seed, ops);
        for (cold = 0; cold < n; cold++)
            if (ops[cold].kind == DC_MADVISE && ops[cold].advice == MADV_COLD)
                break;
        if (cold >= 3 && cold < n)
            break;
    }
    assert_true(cold >= 3 && cold < n);

    char category[96];
    unsigned m = n;
    assert_int_equal(dc_minimize(&o, ops, &m, category, sizeof(category)), 1);  /* no fault: same */
    o.perturb = bad_cold;
    m = n;
    assert_int_equal(dc_minimize(&o, ops, &m, category, sizeof(category)), 0);
    print_message("seed 0x%llx: %u ops, cold at %u, shrunk to %u: %s\n", (unsigned long long)seed,
                  n, cold, m, category);
    assert_true(m >= 1 && m <= 2);   /* the madvise, and maybe the mapping it returns 0 on */
    assert_int_equal(ops[m - 1].kind, DC_MADVISE);
    assert_int_equal(ops[m - 1].advice, MADV_COLD);
    assert_non_null(strstr(category, "madvise(cold): return"));
}

/* ------------------------------------------------ loads, stores, hashes */

static void test_guarded_access(void **state)
{
    (void)state;
    /* rw page, rw page, PROT_NONE page, hole */
    unsigned char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    unsigned long a = (unsigned long)p;
    assert_int_equal(mprotect(p + 2 * PAGE, PAGE, PROT_NONE), 0);
    assert_int_equal(munmap(p + 3 * PAGE, PAGE), 0);

    assert_int_equal(dc_kernel_write(a + 100, 3 * PAGE, 0x5a), 2 * PAGE - 100);
    assert_int_equal(p[100], 0x5a);
    assert_int_equal(p[2 * PAGE - 1], 0x5a);
    assert_int_equal(p[99], 0);
    assert_int_equal(dc_kernel_write(a + 2 * PAGE, 10, 1), -EACCES);
    assert_int_equal(dc_kernel_write(a + 3 * PAGE, 10, 1), -EFAULT);
    assert_int_equal(dc_kernel_write(a, 0, 1), 0);

    uint64_t h, h2;
    assert_int_equal(dc_kernel_read(a + 50, 4 * PAGE, &h), 2 * PAGE - 50);
    assert_true(h == dc_hash_bytes(p + 50, 2 * PAGE - 50));
    assert_int_equal(dc_kernel_read(a + 2 * PAGE + 1, 1, &h2), -EACCES);
    assert_int_equal(dc_kernel_read(a + 3 * PAGE, PAGE, &h2), -EFAULT);
    assert_true(dc_kernel_page_readable(a));
    assert_false(dc_kernel_page_readable(a + 2 * PAGE));
    /* the handler is gone again: the test framework's own is back */
    struct sigaction sa;
    sigaction(SIGSEGV, NULL, &sa);
    assert_true(sa.sa_sigaction != NULL || sa.sa_handler == SIG_DFL);

    /* the hash does not depend on how the bytes are split */
    struct dc_hash s;
    dc_hash_init(&s);
    for (size_t off = 50, k = 1; off < 2 * PAGE; k = k * 3 + 1) {
        size_t n = k % 37;
        if (n > 2 * PAGE - off)
            n = 2 * PAGE - off;
        dc_hash_update(&s, p + off, n);
        off += n;
    }
    assert_true(dc_hash_final(&s) == h);
    assert_true(dc_hash_bytes(p, 7) != dc_hash_bytes(p, 8));   /* the length counts */

    struct dc_page pg;
    dc_page_summarize(p + PAGE, &pg);
    assert_int_equal(pg.fill, 0x5a);
    dc_page_summarize(p, &pg);
    assert_int_equal(pg.fill, DC_PAGE_MIXED);

    /* a ramp: each byte (base + address), so a misplaced byte shows */
    assert_int_equal(dc_kernel_write(a + 10, 2 * PAGE - 10, DC_FILL_RAMP | 0x30), 2 * PAGE - 10);
    assert_int_equal(p[10], (unsigned char)(0x30 + a + 10));
    assert_int_equal(p[PAGE + 7], (unsigned char)(0x30 + 7));
    dc_page_summarize(p + PAGE, &pg);
    assert_int_equal(pg.fill, DC_FILL_RAMP | 0x30);
    p[PAGE + 99]++;
    dc_page_summarize(p + PAGE, &pg);
    assert_int_equal(pg.fill, DC_PAGE_MIXED);
    munmap(p, 3 * PAGE);
}

/* ---------------------------------------------------- window in the way */

static void test_window_busy(void **state)
{
    (void)state;
    char err[256];
    struct dc_options o = base_options(1);
    assert_int_equal(dc_window_check(&o, err, sizeof(err)), 0);
    void *p = mmap((void *)(WIN + 64 * PAGE + 3 * PAGE), PAGE, PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    assert_ptr_equal(p, (void *)(WIN + 67 * PAGE));
    assert_int_equal(dc_window_check(&o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not free"));
    struct dc_result r;
    assert_int_equal(dc_run(&o, &r), -1);
    assert_non_null(strstr(r.error, "not free"));
    dc_result_free(&r);
    munmap(p, PAGE);
}

/* ------------------------------------------------------- smaps parser */

static const char smaps_text[] =
    "0fffffff0000-100000000000 r--p 00000000 00:00 0 \n"
    "Size:                 64 kB\n"
    "VmFlags: rd mr mw me \n"
    "100000000000-100000004000 rw-p 00000000 00:00 0 \n"
    "Size:                 16 kB\n"
    "Rss:                   8 kB\n"
    "Pss:                   8 kB\n"
    "Pss_Dirty:             4 kB\n"
    "Private_Clean:         4 kB\n"
    "Private_Dirty:         4 kB\n"
    "Referenced:            8 kB\n"
    "Anonymous:             8 kB\n"
    "Private_Hugetlb:       0 kB\n"
    "Locked:                4 kB\n"
    "VmFlags: rd wr mr mw me lo ac \n"
    "100000030000-100000032000 rw-s 00001000 00:01 1033                       /dev/zero (deleted)\n"
    "Rss:                   0 kB\n"
    "VmFlags: rd wr sh mr mw me ms\n"
    "555555554000-555555556000 r--p 00000000 fe:00 247498                     /usr/bin/cat\n"
    "VmFlags: rd mr mw me \n";

static void test_smaps_parser(void **state)
{
    (void)state;
    static struct dc_layout a, b;
    assert_int_equal(dc_smaps_parse(smaps_text, strlen(smaps_text), PWIN, PWIN + 0x40000, &a), 0);
    assert_int_equal(a.n, 2);
    assert_int_equal(a.v[0].start, PWIN);
    assert_int_equal(a.v[0].end, PWIN + 0x4000);
    assert_string_equal(a.v[0].perms, "rw-p");
    assert_string_equal(a.v[0].flags, "rd wr mr mw me lo ac");
    assert_string_equal(a.v[0].name, "");
    assert_int_equal(a.v[0].rss_kb, 8);
    assert_int_equal(a.v[0].locked_kb, 4);
    assert_int_equal(a.v[0].anon_kb, 8);
    assert_int_equal(a.v[0].pss_kb, 8);
    assert_int_equal(a.v[0].private_dirty_kb, 4);
    assert_int_equal(a.v[0].private_clean_kb, 4);
    assert_int_equal(a.v[0].referenced_kb, 8);
    assert_string_equal(a.v[1].perms, "rw-s");
    assert_int_equal(a.v[1].offset, 0x1000);
    assert_string_equal(a.v[1].name, "/dev/zero (deleted)");
    assert_string_equal(a.v[1].flags, "rd wr sh mr mw me ms");

    /* fed a byte at a time, the same */
    struct dc_smaps_parser p;
    dc_smaps_begin(&p, PWIN, PWIN + 0x40000, &b);
    for (size_t i = 0; i < strlen(smaps_text); i++)
        dc_smaps_feed(&p, smaps_text + i, 1);
    assert_int_equal(dc_smaps_end(&p), 0);
    assert_true(p.past);
    assert_int_equal(dc_layout_compare(&a, &b, true), DC_SAME);

    /* one flag more, one page less: both seen */
    b.v[0].end -= PAGE;
    strcat(b.v[1].flags, " lo");
    assert_int_equal(dc_layout_compare(&a, &b, false), DC_DIFF_BOUNDS | DC_DIFF_FLAGS);
    /* the memory counters count only when asked for; Referenced never */
    b.v[0].private_dirty_kb = 8;
    b.v[0].referenced_kb = 0;
    assert_int_equal(dc_layout_compare(&a, &b, false), DC_DIFF_BOUNDS | DC_DIFF_FLAGS);
    assert_int_equal(dc_layout_compare(&a, &b, true), DC_DIFF_BOUNDS | DC_DIFF_FLAGS | DC_DIFF_DIRTY);
    b.n = 1;
    assert_true(dc_layout_compare(&a, &b, false) & DC_DIFF_COUNT);

    /* a header it cannot read is an error, not a silent skip */
    const char *bad = "10000000zzzz-100000004000 rw-p 00000000 00:00 0\n";
    assert_int_equal(dc_smaps_parse(bad, strlen(bad), PWIN, PWIN + 0x40000, &a), -1);
}

/* ----------------------------------------------------- script language */

static void test_script_lines(void **state)
{
    (void)state;
    struct dc_op op;
    char err[200];
    assert_int_equal(dc_parse_line("  # just a comment", &op, err, sizeof(err)), 0);
    assert_int_equal(dc_parse_line("", &op, err, sizeof(err)), 0);

    assert_int_equal(dc_parse_line("mmap 0x10000000 16k rw- private anonymous fixed", &op, err, sizeof(err)), 1);
    assert_int_equal(op.kind, DC_MMAP);
    assert_int_equal(op.addr, 0x10000000);
    assert_int_equal(op.len, 16384);
    assert_int_equal(op.prot, PROT_READ | PROT_WRITE);
    assert_int_equal(op.flags, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);

    assert_int_equal(dc_parse_line("MMAP 0x100000000000+3p 2p PROT_READ|PROT_EXEC "
                                   "MAP_SHARED|anon noreplace off=0x2000 # trailing", &op, err, sizeof(err)), 1);
    assert_int_equal(op.addr, PWIN + 3 * PAGE);
    assert_int_equal(op.len, 2 * PAGE);
    assert_int_equal(op.prot, PROT_READ | PROT_EXEC);
    assert_int_equal(op.flags, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
    assert_int_equal(op.offset, 0x2000);

    assert_int_equal(dc_parse_line("mprotect 0x1000 -1 r--|growsdown", &op, err, sizeof(err)), 1);
    assert_int_equal(op.len, ~0UL);
    assert_int_equal(op.prot, PROT_READ | PROT_GROWSDOWN);
    assert_int_equal(dc_parse_line("madvise 0x1000 1m dontfork", &op, err, sizeof(err)), 1);
    assert_int_equal(op.advice, MADV_DONTFORK);
    assert_int_equal(dc_parse_line("madvise 0x1000 1m 999", &op, err, sizeof(err)), 1);
    assert_int_equal(op.advice, 999);
    assert_int_equal(dc_parse_line("mlock 0x1000 4k onfault", &op, err, sizeof(err)), 1);
    assert_int_equal(op.kind, DC_MLOCK2);
    assert_int_equal(op.flags, MLOCK_ONFAULT);
    assert_int_equal(dc_parse_line("mlock 0x1000 4k", &op, err, sizeof(err)), 1);
    assert_int_equal(op.kind, DC_MLOCK);
    assert_int_equal(dc_parse_line("munlock 0x1000 4097", &op, err, sizeof(err)), 1);
    assert_int_equal(op.len, 4097);
    assert_int_equal(dc_parse_line("mlockall current MCL_ONFAULT", &op, err, sizeof(err)), 1);
    assert_int_equal(op.kind, DC_MLOCKALL);
    assert_int_equal(op.flags, MCL_CURRENT | MCL_ONFAULT);
    assert_int_equal(dc_parse_line("munlockall", &op, err, sizeof(err)), 1);
    assert_int_equal(op.kind, DC_MUNLOCKALL);
    assert_int_equal(dc_parse_line("mremap 0x2000 4k 8k maymove|fixed to=0x9000", &op, err, sizeof(err)), 1);
    assert_int_equal(op.kind, DC_MREMAP);
    assert_int_equal(op.addr, 0x2000);
    assert_int_equal(op.len, 4096);
    assert_int_equal(op.new_len, 8192);
    assert_int_equal(op.flags, MREMAP_MAYMOVE | MREMAP_FIXED);
    assert_int_equal(op.new_addr, 0x9000);
    assert_int_equal(dc_parse_line("write 0x2000+5 3p 0x5a", &op, err, sizeof(err)), 1);
    assert_int_equal(op.kind, DC_WRITE);
    assert_int_equal(op.addr, 0x2005);
    assert_int_equal(op.len, 3 * PAGE);
    assert_int_equal(op.fill, 0x5a);
    assert_int_equal(dc_parse_line("write 0x2000 1p 0x5a+", &op, err, sizeof(err)), 1);
    assert_int_equal(op.fill, DC_FILL_RAMP | 0x5a);
    assert_int_equal(dc_parse_line("write 0x2000 1p 0x50+10", &op, err, sizeof(err)), 1);
    assert_int_equal(op.fill, 0x5a);
    assert_int_equal(dc_parse_line("read 0x2000 100", &op, err, sizeof(err)), 1);
    assert_int_equal(op.kind, DC_READ);
    assert_int_equal(op.len, 100);

    static const char *const bad[] = {
        "mmapp 0x1000 4k rw- private",           /* unknown op */
        "mmap 0x1000 4k rw- private anonymouse", /* unknown flag */
        "mmap 0x1000 4k rwz private",            /* bad prot */
        "munmap 0x1000",                          /* too few */
        "munmap 0x1000 4k 4k",                    /* too many */
        "munmap 0xfoo 4k",                        /* bad number */
        "munmap 0x1000 99999999999999999999999",  /* overflow */
        "madvise 0x1000 4k sometimes",            /* unknown advice */
        "mlock 0x1000 4k now",                    /* not onfault */
        "mprotect 0x1000 4k r--|",                /* dangling | */
        "munlockall 0x1000",                      /* takes nothing */
        "mlockall sometimes",                     /* unknown flag */
        "mremap 0x1000 4k",                       /* no new length */
        "mremap 0x1000 4k 8k anywhere",           /* unknown flag */
        "write 0x1000 4k",                        /* no byte */
        "write 0x1000 4k 256",                    /* not a byte */
        "write 0x1000 4k 0x100+",                 /* not a byte either */
        "write 0x1000 4k +",                      /* no byte */
        "read 0x1000",                            /* no length */
        "read 0x1000 4k 0x5a",                    /* reads take no byte */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (dc_parse_line(bad[i], &op, err, sizeof(err)) != -1)
            fail_msg("accepted: %s", bad[i]);
        assert_true(err[0] != '\0');
    }
}

static void test_script_errors_have_line_numbers(void **state)
{
    (void)state;
    static const char text[] =
        "# a script\n"
        "mmap 0x100000000000 16k rw- private anonymous fixed\n"
        "mprotect 0x100000000000 4k rwq\n"
        "\n"
        "munmap 0x100000000000\n"
        "madvise 0x100000000000 4k dontfork\n";
    FILE *in = fmemopen((void *)text, sizeof(text) - 1, "r");
    char *msgs = NULL;
    size_t mlen = 0;
    FILE *errout = open_memstream(&msgs, &mlen);
    struct dc_script s;
    unsigned nerr = 0;
    assert_int_equal(dc_script_read(in, "t.ops", &s, errout, &nerr), -1);
    fclose(errout);
    fclose(in);
    assert_int_equal(nerr, 2);
    assert_int_equal(s.n, 0);
    assert_non_null(strstr(msgs, "t.ops:3: bad protection 'rwq'"));
    assert_non_null(strstr(msgs, "t.ops:5: munmap: expected 'munmap ADDR LEN'"));
    assert_null(strstr(msgs, "t.ops:2:"));
    free(msgs);

    static const char good[] = "mmap 0x100000000000 16k rw- private anonymous fixed\n\n"
                               "madvise 0x100000000000 4k dontfork";
    in = fmemopen((void *)good, sizeof(good) - 1, "r");
    assert_int_equal(dc_script_read(in, "g.ops", &s, NULL, &nerr), 0);
    fclose(in);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.lines[0], 1);
    assert_int_equal(s.lines[1], 3);
    dc_script_free(&s);
}

/* Every generated op prints as a line that reads back as the same op: the
 * ops in a mismatch report can be pasted into a script. */
static void test_generated_ops_round_trip(void **state)
{
    (void)state;
    struct dc_options o = base_options(1);
    o.ops_per_seq = 50;
    o.shared_anon = true;
    o.extra_advice = true;
    o.mlockall = true;
    o.mremap = true;
    static struct dc_op ops[DC_MAX_OPS];
    /* (dc_generate also aborts on an op that dc_op_safe refuses, so this
     * checks the generator against the safety rule in every mlock mode) */
    static const enum dc_mlock_mode modes[] = { DC_MLOCK_FULL, DC_MLOCK_LIMITED, DC_MLOCK_NONE };
    for (uint64_t seed = 0; seed < 600; seed++) {
        o.mlock = modes[seed % 3];
        unsigned n = dc_generate(&o, seed, ops);
        assert_int_equal(n, 50);
        for (unsigned i = 0; i < n; i++) {
            char line[256], err[200];
            struct dc_op back;
            dc_format_op(line, sizeof(line), &ops[i]);
            if (dc_parse_line(line, &back, err, sizeof(err)) != 1)
                fail_msg("'%s' does not parse: %s", line, err);
            if (memcmp(&back, &ops[i], sizeof(back)) != 0)
                fail_msg("'%s' reads back as another op", line);
        }
    }
}

static void test_generator_is_a_function_of_the_seed(void **state)
{
    (void)state;
    struct dc_options o = base_options(1);
    o.mlock = DC_MLOCK_FULL;
    static struct dc_op a[DC_MAX_OPS], b[DC_MAX_OPS];
    dc_generate(&o, 42, a);
    dc_generate(&o, 42, b);
    assert_memory_equal(a, b, 20 * sizeof(a[0]));
    dc_generate(&o, 43, b);
    assert_true(memcmp(a, b, 20 * sizeof(a[0])) != 0);
    /* a fixed sequence, so that a change to the generator is a decision:
     * it changes what every published seed means */
    char line[200];
    dc_format_op(line, sizeof(line), &a[0]);
    print_message("seed 42 op 0: %s\n", line);
}

/* -------------------------------------------------------- safety rule */

static void test_safety_rule(void **state)
{
    (void)state;
    const unsigned long lo = WIN, hi = WIN + 64 * PAGE;
    struct dc_op op = { .kind = DC_MUNMAP, .addr = WIN, .len = 4 * PAGE };
    assert_true(dc_op_safe(&op, lo, hi, true));
    op.len = 1UL << 44;         /* would unmap the program */
    assert_false(dc_op_safe(&op, lo, hi, true));
    op.len = ~0UL;              /* EINVAL before anything */
    assert_true(dc_op_safe(&op, lo, hi, true));

    op = (struct dc_op){ .kind = DC_MADVISE, .addr = WIN, .len = 1UL << 44, .advice = MADV_DONTNEED };
    assert_false(dc_op_safe(&op, lo, hi, true));
    op.advice = 999;
    assert_true(dc_op_safe(&op, lo, hi, true));
    op = (struct dc_op){ .kind = DC_MADVISE, .addr = WIN, .len = PAGE, .advice = 100 /* HWPOISON */ };
    assert_false(dc_op_safe(&op, lo, hi, true));

    op = (struct dc_op){ .kind = DC_MPROTECT, .addr = WIN, .len = 1UL << 44, .prot = PROT_READ };
    assert_true(dc_op_safe(&op, lo, hi, true));     /* stops at the hole above the window */
    op.prot |= PROT_GROWSDOWN;
    assert_false(dc_op_safe(&op, lo, hi, true));

    op = (struct dc_op){ .kind = DC_MLOCK, .addr = WIN, .len = 1UL << 44 };
    assert_true(dc_op_safe(&op, lo, hi, true));
    assert_false(dc_op_safe(&op, lo, hi, false));   /* meets RLIMIT_MEMLOCK */

    op = (struct dc_op){ .kind = DC_MLOCKALL, .flags = MCL_CURRENT };
    assert_false(dc_op_safe(&op, lo, hi, true));    /* faults in the whole process */
    op.flags |= MCL_ONFAULT;
    assert_true(dc_op_safe(&op, lo, hi, true));
    assert_false(dc_op_safe(&op, lo, hi, false));
    op.flags = MCL_ONFAULT;                         /* EINVAL */
    assert_true(dc_op_safe(&op, lo, hi, false));

    op = (struct dc_op){ .kind = DC_MREMAP, .addr = WIN, .len = 8 * PAGE, .new_len = PAGE };
    assert_true(dc_op_safe(&op, lo, hi, true));     /* shrinks: unmaps 7 window pages */
    op.len = 1UL << 40;                             /* would unmap what follows */
    assert_false(dc_op_safe(&op, lo, hi, true));
    op = (struct dc_op){ .kind = DC_MREMAP, .addr = WIN, .len = PAGE, .new_len = 1UL << 40 };
    assert_false(dc_op_safe(&op, lo, hi, true));    /* could grow in place past the window */
    op.flags = MREMAP_MAYMOVE | MREMAP_FIXED;
    op.new_addr = WIN + PAGE;
    assert_false(dc_op_safe(&op, lo, hi, true));    /* unmaps the new range first */
    op.new_len = 4 * PAGE;
    assert_true(dc_op_safe(&op, lo, hi, true));
    op.flags = MREMAP_FIXED;                        /* EINVAL without MAYMOVE */
    op.new_addr = 0x1000;
    assert_true(dc_op_safe(&op, lo, hi, true));

    op = (struct dc_op){ .kind = DC_WRITE, .addr = WIN + PAGE, .len = 63 * PAGE };
    assert_true(dc_op_safe(&op, lo, hi, true));
    op.len++;                   /* one byte past the window */
    assert_false(dc_op_safe(&op, lo, hi, true));
    op = (struct dc_op){ .kind = DC_READ, .addr = WIN - 1, .len = 2 };
    assert_false(dc_op_safe(&op, lo, hi, true));

    op = (struct dc_op){ .kind = DC_MMAP, .addr = WIN, .len = 1UL << 40,
                         .flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED };
    assert_false(dc_op_safe(&op, lo, hi, true));
    op.len = 1UL << 47;         /* beyond TASK_SIZE: ENOMEM */
    assert_true(dc_op_safe(&op, lo, hi, true));
    op = (struct dc_op){ .kind = DC_MMAP, .addr = hi - PAGE + 1, .len = PAGE,
                         .flags = MAP_PRIVATE | MAP_ANONYMOUS };
    assert_false(dc_op_safe(&op, lo, hi, true));    /* the hint rounds up past the window */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smaps_parser),
        cmocka_unit_test(test_script_lines),
        cmocka_unit_test(test_script_errors_have_line_numbers),
        cmocka_unit_test(test_generated_ops_round_trip),
        cmocka_unit_test(test_generator_is_a_function_of_the_seed),
        cmocka_unit_test(test_safety_rule),
        cmocka_unit_test(test_kernel_vs_kernel_matches),
        cmocka_unit_test(test_wrong_return_value_found),
        cmocka_unit_test(test_wrong_layout_found),
        cmocka_unit_test(test_wrong_vmarea_layout_found),
        cmocka_unit_test(test_stray_vmarea_vma_found),
        cmocka_unit_test(test_crash_reported),
        cmocka_unit_test(test_hang_reported),
        cmocka_unit_test(test_reports_are_the_lowest_seeds),
        cmocka_unit_test(test_planted_zap_found),
        cmocka_unit_test(test_planted_byte_found),
        cmocka_unit_test(test_minimize),
        cmocka_unit_test(test_guarded_access),
        cmocka_unit_test(test_window_busy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * test_host_model — each host property mm_config_from_host probes, proved
 * against the host: a script that shows the property matches the host with
 * the probed model and differs from it with that one property set the other
 * way.  So a probe that reads the host wrong fails here, and so does a
 * comparison that cannot see the property.  (THP and the huge zero page:
 * test_thp, whose harness runs huge pages; the checker's runs THP off.)
 *
 * Window: 0x200000000000, the checker's default.
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
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

#define W "0x200000000000"

static struct mm_config host_cfg;

/* 0: the sides match, 1: they differ; the test fails if the run could not. */
static int run(const char *text, const struct mm_config *cfg)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(in);
    struct dc_script s;
    unsigned nerr = 0;
    int r = dc_script_read(in, "script", &s, stderr, &nerr);
    fclose(in);
    assert_int_equal(r, 0);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    struct dc_options o = { .mm_config = cfg };
    int rc = dc_check_ops(&o, s.ops, (unsigned)s.n, f);
    fclose(f);
    dc_script_free(&s);
    if (rc < 0)
        print_message("%s\n", out);
    free(out);
    assert_true(rc == 0 || rc == 1);
    return rc;
}

/* The script matches with the probed model, and not with flag flipped. */
static void prove_flag(const char *text, unsigned flag)
{
    assert_int_equal(run(text, &host_cfg), 0);
    struct mm_config wrong = host_cfg;
    wrong.flags ^= flag;
    assert_int_equal(run(text, &wrong), 1);
}

static void test_zero_page(void **state)
{
    (void)state;
    /* A read of untouched private memory: the zero page (no Rss) or a page
     * of its own. */
    prove_flag("mmap " W " 16k rw- private anonymous fixed\n"
               "read " W " 4k\n", MM_CONFIG_NO_ZERO_PAGE);
}

static void test_soft_dirty(void **state)
{
    (void)state;
    /* A new VMA shows "sd" in VmFlags where the kernel tracks soft-dirty. */
    prove_flag("mmap " W " 16k rw- private anonymous fixed\n", MM_CONFIG_NO_SOFT_DIRTY);
}

static void test_pkeys(void **state)
{
    (void)state;
    /* PROT_EXEC alone is execute-only behind a protection key, where there
     * are keys: a load faults (and smaps has a ProtectionKey line). */
    prove_flag("mmap " W " 16k --x private anonymous fixed\n"
               "read " W " 8\n", MM_CONFIG_NO_PKEYS);
}

static void test_maybe_guard(void **state)
{
    (void)state;
    /* A guard region shows "gu" in its VMA's VmFlags where the kernel has
     * VM_MAYBE_GUARD; before it, a private file VMA took an anon_vma for
     * it, which keeps it from merging with a neighbour that has none. */
    prove_flag("mmap " W " 16k rw- private anonymous fixed\n"
               "madvise " W " 4k guard_install\n", MM_CONFIG_NO_MAYBE_GUARD);
    prove_flag("memfd 64k\n"
               "mmap " W " 16k rw- private fixed memfd\n"
               "madvise " W " 4k guard_install\n"
               "mmap 0x200000004000 16k r-- private fixed memfd off=16k\n"
               "mprotect 0x200000004000 16k rw-\n", MM_CONFIG_NO_MAYBE_GUARD);
}

static void test_fault_around(void **state)
{
    (void)state;
    /* Shared memory whose pages stay in the object after a zap: a read
     * fault maps the cached pages of its window around it. */
    const char *text = "mmap " W " 256k rw- shared anonymous fixed\n"
                       "write " W " 256k 0x5a\n"
                       "madvise " W " 256k dontneed\n"
                       "read 0x200000011000 8\n";
    assert_int_equal(run(text, &host_cfg), 0);
    struct mm_config wrong = host_cfg;
    wrong.fault_around_bytes = host_cfg.fault_around_bytes == 65536 ? 4096 : 65536;
    assert_int_equal(run(text, &wrong), 1);
}

static void test_eof_fault_around(void **state)
{
    (void)state;
    /* Visible on a file system with writeback only (the probe looks for
     * one); where the checker's files would go to tmpfs, nothing shows. */
    const char *dir = getenv("TMPDIR");
    struct statfs sfs;
    if (statfs(dir && *dir ? dir : "/var/tmp", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC) {
        print_message("the checker's file directory is on tmpfs: nothing to prove\n");
        skip();
    }
    /* A fault past the end of a two-page file, where no page table is,
     * with the file's last page the only one of its window in the file:
     * mapped around it or not. */
    prove_flag("file 8k\n"
               "mmap " W " 64k r-- shared fixed file off=4k\n"
               "read 0x200000001000 1\n", MM_CONFIG_EOF_FAULT_AROUND);
}

/* Anonymous VMA names: prctl(PR_SET_VMA) on the host and mm_set_anon_name
 * agree, and a model that says the other does not. */
static int name_result(const struct mm_config *cfg)
{
    struct mm *mm = mm_create(cfg);
    assert_non_null(mm);
    long a = mm_mmap(mm, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
    assert_true(a > 0);
    int r = mm_set_anon_name(mm, (unsigned long)a, 4096, "probe");
    mmput(mm);
    return r;
}

static void test_anon_names(void **state)
{
    (void)state;
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    int host = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, 4096, (unsigned long)"probe")
                   ? -errno : 0;
    munmap(p, 4096);
    assert_int_equal(name_result(&host_cfg), host);
    struct mm_config wrong = host_cfg;
    wrong.flags ^= MM_CONFIG_NO_ANON_NAMES;
    assert_int_not_equal(name_result(&wrong), host);
}

/* Five-level paging: a hint beyond four levels' 48 bits is taken where the
 * host has it, and by an mm whose task size says so. */
static bool high_hint_taken(const struct mm_config *cfg)
{
    struct mm *mm = mm_create(cfg);
    assert_non_null(mm);
    long a = mm_mmap(mm, 1UL << 52, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
    mmput(mm);
    assert_true(a > 0);
    return a == (long)(1UL << 52);
}

static void test_five_level(void **state)
{
    (void)state;
    void *want = (void *)(1UL << 52);
    void *p = mmap(want, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    munmap(p, 4096);
    print_message("five-level paging: %s\n", p == want ? "on" : "off");
    assert_int_equal(high_hint_taken(&host_cfg), p == want);
    struct mm_config wrong = host_cfg;
    wrong.task_size = p == want ? 0 : (1UL << 56) - 4096;
    assert_int_equal(high_hint_taken(&wrong), p != want);
}

/* The host line names every modelled property. */
static void test_host_line(void **state)
{
    (void)state;
    char line[512];
    dc_host_describe(&host_cfg, line, sizeof(line));
    print_message("host: %s\n", line);
    for (const char *const *w = (const char *const[]){ "zero page ", "soft-dirty ", "pkeys ",
                                                        "anon names ", "THP ", "fault-around ",
                                                        "5-level paging ", "guard flag ", "THP write-protect cleans ",
                                                        "memlock ", NULL };
         *w; w++)
        assert_non_null(strstr(line, *w));
    struct mm_config c = host_cfg;
    char err[200];
    assert_int_equal(dc_host_set(&c, "zero-page=on,thp=never,fault-around=16k", err, sizeof(err)), 0);
    assert_false(c.flags & MM_CONFIG_NO_ZERO_PAGE);
    assert_int_equal(c.thp, MM_THP_NEVER);
    assert_int_equal(c.fault_around_bytes, 16384);
    assert_int_equal(dc_host_set(&c, "la57=on", err, sizeof(err)), 0);
    assert_int_equal(c.task_size, (1UL << 56) - 4096);
    assert_int_equal(dc_host_set(&c, "la57=off", err, sizeof(err)), 0);
    assert_int_equal(c.task_size, 0);
    assert_int_equal(dc_host_set(&c, "fault-around=3k", err, sizeof(err)), -1);
    assert_int_equal(dc_host_set(&c, "zero-page=maybe", err, sizeof(err)), -1);
    assert_int_equal(dc_host_set(&c, "colour=blue", err, sizeof(err)), -1);
}

static int setup(void **state)
{
    (void)state;
    return mm_config_from_host(&host_cfg) ? -1 : 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_page),
        cmocka_unit_test(test_soft_dirty),
        cmocka_unit_test(test_pkeys),
        cmocka_unit_test(test_fault_around),
        cmocka_unit_test(test_eof_fault_around),
        cmocka_unit_test(test_anon_names),
        cmocka_unit_test(test_maybe_guard),
        cmocka_unit_test(test_five_level),
        cmocka_unit_test(test_host_line),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

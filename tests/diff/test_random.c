/* SPDX-License-Identifier: MIT */
/*
 * test_random — the project's main differential test: 10,000 random
 * sequences of 20 mmap/munmap/mprotect/madvise/mlock/munlock calls and
 * loads and stores, each run by the host kernel and by vmarea, must agree on
 * every return value and every hash of bytes read, on the VMAs they leave
 * with their memory counters (Rss, Anonymous, Private_Dirty, Locked, ...),
 * and on the contents of every page at the end (tools/diffcheck.h).  Both
 * sides run without THP; huge-page faults are not covered.
 *
 * A second run of 2,000 longer sequences adds MAP_SHARED|MAP_ANONYMOUS,
 * mlockall/munlockall, mremap and a fork (calls in the child after it); a third, of 2,000, a memfd in every
 * sequence; a fourth, of 2,000, a host file on disk or tmpfs (or a memfd)
 * in every sequence, msync'd and mremap'd, with the file's bytes compared.
 *
 * The seed is fixed so that CI is reproducible; VMAREA_SEED=N runs other
 * sequences (VMAREA_SEQUENCES=N another count, VMAREA_NO_MEMORY=1 the
 * VMA-only mix, as `vmarea check --no-memory`).  A failure prints each kind of
 * mismatch with its first seed, and the full report of the first ones;
 * `vmarea check --seed SEED --sequences 1` replays one.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "diffcheck.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_SEED 0x76a7ea5eedULL

static unsigned long env_number(const char *name, unsigned long dflt)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    char *end;
    unsigned long v = strtoul(s, &end, 0);
    if (*end) {
        fprintf(stderr, "test_random: ignoring %s=%s (not a number)\n", name, s);
        return dflt;
    }
    return v;
}

static void run(struct dc_options *o)
{
    o->no_memory = env_number("VMAREA_NO_MEMORY", 0) != 0;
    o->max_reports = 3;
    o->progress = stderr;

    struct dc_result r;
    int rc = dc_run(o, &r);
    print_message("%s: seed 0x%llx: %lu sequences, %lu ops (%lu failed on Linux), %lu mismatches "
                  "(%lu crashes) in %.1f s\n", r.kernel, (unsigned long long)o->seed, r.sequences,
                  r.operations, r.failed, r.mismatches, r.crashes, r.seconds);
    if (rc < 0)
        fail_msg("the checker could not run: %s", r.error);
    if (rc > 0) {
        print_message("mismatches by first difference (sequences, first seed):\n");
        for (unsigned i = 0; i < r.ncategories; i++)
            print_message("  %6lu  %-62s seed 0x%llx\n", r.categories[i].count, r.categories[i].name,
                          (unsigned long long)r.categories[i].seed);
        for (unsigned i = 0; i < r.nreports; i++)
            if (r.reports[i].text)
                print_message("\n%s", r.reports[i].text);
        print_message("\nreplay: vmarea check --seed SEED --sequences 1%s\n", r.replay_flags);
    }
    unsigned long mismatches = r.mismatches, sequences = r.sequences, operations = r.operations,
                  failed = r.failed;
    dc_result_free(&r);
    assert_int_equal(mismatches, 0);
    /* The work was done: every sequence ran to its end, and the mix took
     * both the success and the error paths. */
    assert_int_equal(sequences, o->sequences);
    assert_int_equal(operations, o->sequences * o->ops_per_seq);
    assert_true(failed > operations / 10 && failed < operations - operations / 10);
}

/* The brief's mix: anonymous private mappings, every flag and error path. */
static void test_random_sequences(void **state)
{
    (void)state;
    struct dc_options o = { 0 };
    o.seed = env_number("VMAREA_SEED", DEFAULT_SEED);
    o.sequences = env_number("VMAREA_SEQUENCES", 10000);
    o.ops_per_seq = 20;
    run(&o);
}

/* Fewer, longer sequences that also map MAP_SHARED|MAP_ANONYMOUS and call
 * mlockall/munlockall. */
static void test_random_sequences_extended(void **state)
{
    (void)state;
    struct dc_options o = { 0 };
    o.seed = env_number("VMAREA_SEED", DEFAULT_SEED) ^ 0xe27e;
    o.sequences = env_number("VMAREA_SEQUENCES", 10000) / 5 + 1;
    o.ops_per_seq = 50;
    o.shared_anon = true;
    o.mremap = true;
    o.fork = true;
    o.mlockall = true;
    run(&o);
}

/* Sequences that start with a memfd and map it shared and private, write
 * it, read it past its end and truncate it. */
static void test_random_sequences_memfd(void **state)
{
    (void)state;
    struct dc_options o = { 0 };
    o.seed = env_number("VMAREA_SEED", DEFAULT_SEED) ^ 0x3efd;
    o.sequences = env_number("VMAREA_SEQUENCES", 10000) / 5 + 1;
    o.ops_per_seq = 20;
    o.memfd = true;
    o.shared_anon = true;
    run(&o);
}

/* Sequences that start with a host file (on disk or tmpfs, read-write or
 * read-only) or a memfd, map it, write it, msync it and truncate it; the
 * file's bytes are compared after each msync and at the end. */
static void test_random_sequences_files(void **state)
{
    (void)state;
    struct dc_options o = { 0 };
    o.seed = env_number("VMAREA_SEED", DEFAULT_SEED) ^ 0xf11e;
    o.sequences = env_number("VMAREA_SEQUENCES", 10000) / 5 + 1;
    o.ops_per_seq = 20;
    o.mremap = true;
    o.files = true;
    o.memfd = true;
    o.shared_anon = true;
    run(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_sequences),
        cmocka_unit_test(test_random_sequences_extended),
        cmocka_unit_test(test_random_sequences_memfd),
        cmocka_unit_test(test_random_sequences_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

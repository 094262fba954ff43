/* SPDX-License-Identifier: MIT */
/*
 * test_scripts — hand-written op scripts, each run by the host kernel and by
 * vmarea (dc_check_ops, as `vmarea diff` runs them), which must agree on every
 * result, every VMA with its memory counters, every hash of bytes read, and
 * the contents of every page at the end.
 *
 * Random sequences (test_random) find what nobody thought of; these pin down
 * what somebody did think of, so that a regression names its case: merges of
 * faulted and unfaulted neighbours (after Linux's selftests/mm/merge.c),
 * zaps, populating, locking, protection faults part-way through an access,
 * stack growth, shared anonymous memory.
 *
 * Window: 0x200000000000, 64 pages (the checker's default); W below is it.
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

struct script {
    const char *name;
    const char *text;
};

/* Run one script; on a difference print the report.  True if it matched. */
static bool check(const struct script *sc)
{
    FILE *in = fmemopen((void *)sc->text, strlen(sc->text), "r");
    assert_non_null(in);
    struct dc_script s;
    unsigned nerr = 0;
    int r = dc_script_read(in, sc->name, &s, stderr, &nerr);
    fclose(in);
    if (r < 0) {
        print_message("%s: %u bad lines\n", sc->name, nerr);
        return false;
    }
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    struct dc_options o = { 0 };
    int rc = dc_check_ops(&o, s.ops, (unsigned)s.n, f);
    fclose(f);
    dc_script_free(&s);
    if (rc != 0)
        print_message("%s:\n%s\n", sc->name, out);
    free(out);
    return rc == 0;
}

/* Every script runs; the test fails at the end if any differed. */
static void check_all(const struct script *sc, size_t n)
{
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += !check(&sc[i]);
    if (bad)
        fail_msg("%u of %zu scripts differ (reports above)", bad, n);
}

#define W "0x200000000000"

/* ------------------------------------------------------------- merges */

/*
 * A VMA that has had a write fault has an anon_vma; one that has not can
 * merge with it.  mprotect splits a mapping, a write faults one part, and a
 * second mprotect must put it back together (or not) as Linux does.
 */
static void test_merge_faulted_unfaulted(void **state)
{
    (void)state;
    static const struct script sc[] = {
        { "unfaulted left",
          "mmap " W " 40k rw- private anonymous fixed\n"
          "mprotect " W " 20k r--\n"
          "write " W "+20k 20k 0x11\n"
          "mprotect " W " 20k rw-\n" },
        { "unfaulted right",
          "mmap " W " 40k rw- private anonymous fixed\n"
          "mprotect " W "+20k 20k r--\n"
          "write " W " 20k 0x22\n"
          "mprotect " W "+20k 20k rw-\n" },
        { "unfaulted both sides",
          "mmap " W " 36k rw- private anonymous fixed\n"
          "mprotect " W " 12k r--\n"
          "mprotect " W "+24k 12k r--\n"
          "write " W "+12k 12k 0x33\n"
          "mprotect " W " 36k rw-\n" },
        { "faulted both sides",
          "mmap " W " 36k rw- private anonymous fixed\n"
          "mprotect " W "+12k 12k r--\n"
          "write " W " 4k 0x44\n"
          "write " W "+24k 4k 0x45\n"
          "mprotect " W "+12k 12k rw-\n" },
        { "faulted, then the middle too",
          "mmap " W " 36k rw- private anonymous fixed\n"
          "mprotect " W "+12k 12k r--\n"
          "write " W " 4k 0x44\n"
          "mprotect " W "+12k 12k rw-\n"
          "write " W "+12k 4k 0x46\n" },
        { "new mapping beside a faulted one",
          "mmap " W " 8k rw- private anonymous fixed\n"
          "write " W " 8k 0x55\n"
          "mmap " W "+8k 8k rw- private anonymous fixed\n"
          "mmap " W "+16k 8k rw- private anonymous fixed populate\n"
          "read " W " 24k\n" },
        { "two faulted mappings side by side",
          "mmap " W " 8k rw- private anonymous fixed\n"
          "write " W " 8k 0x56\n"
          "mmap " W "+12k 8k rw- private anonymous fixed\n"
          "write " W "+12k 8k 0x57\n"
          "mmap " W "+8k 4k rw- private anonymous fixed\n"
          "write " W "+8k 4k 0x58\n" },
    };
    check_all(sc, sizeof(sc) / sizeof(sc[0]));
}

/* ------------------------------------------------------------ accesses */

static void test_access(void **state)
{
    (void)state;
    static const struct script sc[] = {
        { "untouched memory reads as zeros and is not resident",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "read " W " 16k\n"
          "mmap " W "+16k 16k r-- private anonymous fixed\n"
          "read " W "+16k 16k\n" },
        { "a write stops at a read-only page, a hole, a PROT_NONE page",
          "mmap " W " 8k rw- private anonymous fixed\n"
          "mprotect " W "+4k 4k r--\n"
          "write " W "+100 8k 0x61\n"
          "write " W "+4k 1 0x62\n"
          "write " W "+8k 1 0x63\n"
          "mmap " W "+12k 4k --- private anonymous fixed\n"
          "write " W "+12k 10 0x64\n"
          "read " W "+12k 10\n"
          "read " W " 16k\n" },
        { "write-only and execute-only memory",
          "mmap " W " 8k -w- private anonymous fixed\n"
          "write " W " 4k 0x71\n"
          "read " W " 8k\n"
          "mmap " W "+8k 8k --x private anonymous fixed\n"
          "read " W "+8k 1\n"
          "write " W "+8k 1 0x72\n" },
        { "data survives mprotect, split and merge",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "write " W " 16k 0x81\n"
          "mprotect " W "+4k 8k r--\n"
          "read " W " 16k\n"
          "mprotect " W "+4k 8k rw-\n"
          "write " W "+6k 4k 0x82\n" },
        { "munmap frees: a new mapping reads zeros",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "write " W " 16k 0x91\n"
          "munmap " W "+4k 8k\n"
          "mmap " W "+4k 8k rw- private anonymous fixed\n"
          "read " W " 16k\n" },
        { "MAP_FIXED over written memory",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "write " W " 16k 0x92\n"
          "mmap " W "+4k 4k rw- private anonymous fixed\n" },
        { "made execute-only after a page was mapped: loads fault (protection key 1)",
          "mmap " W " 4k --x|sem private anonymous fixed\n"
          "read " W " 1\n"
          "mprotect " W " 4k --x\n"
          "read " W " 1\n"
          "mmap " W "+8k 28k --x|sem private anonymous fixed locked\n"
          "mprotect " W "+24k 24k --x\n" },
        { "ramps across pages, unaligned: every byte in its place",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "write " W "+4000 9000 0x10+\n"
          "write " W "+8191 2 0x77+\n"
          "read " W "+4001 5000\n" },
        { "zero bytes",
          "mmap " W " 4k rw- private anonymous fixed\n"
          "write " W " 0 0x93\n"
          "read " W "+8k 0\n" },
    };
    check_all(sc, sizeof(sc) / sizeof(sc[0]));
}

/* ------------------------------------------------------- zap, populate */

static void test_zap_and_populate(void **state)
{
    (void)state;
    static const struct script sc[] = {
        { "MADV_DONTNEED zaps: zeros, Rss down, the VMA whole",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "write " W " 16k 0xa1\n"
          "madvise " W "+4k 8k dontneed\n"
          "read " W " 16k\n" },
        { "MADV_DONTNEED over a hole: ENOMEM after zapping the rest",
          "mmap " W " 8k rw- private anonymous fixed\n"
          "mmap " W "+12k 8k rw- private anonymous fixed\n"
          "write " W " 20k 0xa2\n"
          "write " W "+12k 8k 0xa3\n"
          "madvise " W " 20k dontneed\n" },
        { "MADV_DONTNEED on locked memory: EINVAL; DONTNEED_LOCKED zaps",
          "mmap " W " 8k rw- private anonymous fixed locked\n"
          "write " W " 8k 0xa4\n"
          "madvise " W " 8k dontneed\n"
          "madvise " W " 4k dontneed_locked\n" },
        { "MAP_POPULATE: written-to for rw-, zero page for r--",
          "mmap " W " 16k rw- private anonymous fixed populate\n"
          "mmap " W "+16k 16k r-- private anonymous fixed populate\n"
          "mmap " W "+32k 4k --- private anonymous fixed populate\n" },
        { "MADV_POPULATE_READ and _WRITE",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "madvise " W " 8k populate_read\n"
          "madvise " W "+8k 8k populate_write\n"
          "mmap " W "+16k 8k r-- private anonymous fixed\n"
          "madvise " W "+16k 8k populate_write\n"
          "madvise " W "+16k 8k populate_read\n"
          "mmap " W "+24k 4k --- private anonymous fixed\n"
          "madvise " W "+24k 4k populate_read\n" },
        { "mlock populates, munlock keeps the pages",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "mlock " W "+4k 8k\n"
          "munlock " W "+4k 4k\n"
          "mlock " W "+12k 4k onfault\n"
          "write " W "+12k 1 0xb1\n" },
        { "populating for write dirties a clean present page (GUP's FOLL_TOUCH)",
          "mmap " W " 8k rw- private anonymous fixed\n"
          "write " W " 8k 0xc3\n"
          "madvise " W " 4k free\n"
          "mlock " W " 8k\n"
          "madvise " W "+4k 4k free\n"
          "madvise " W " 8k populate_write\n" },
        { "guard regions: installed over data, faulting, refused on locked memory, removed",
          "mmap " W " 8k rw- private anonymous fixed\n"
          "write " W " 8k 0xc4\n"
          "madvise " W " 4k guard_install\n"
          "read " W " 8k\n"
          "write " W "+4k 1 0xc5\n"
          "madvise " W " 4k guard_remove\n"
          "read " W " 8k\n"
          "mmap " W "+12k 4k rw- private anonymous fixed locked\n"
          "madvise " W "+8k 8k guard_install\n" },
        { "MADV_FREE keeps the data until reclaim; a write redirties",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "write " W " 16k 0xc1\n"
          "madvise " W " 8k free\n"
          "read " W " 16k\n"
          "write " W " 1 0xc2\n" },
    };
    check_all(sc, sizeof(sc) / sizeof(sc[0]));
}

/* ------------------------------------------------------ stack growth */

static void test_stack_growth(void **state)
{
    (void)state;
    static const struct script sc[] = {
        { "an access below a MAP_GROWSDOWN mapping grows it",
          "mmap " W "+64k 4k rw- private anonymous fixed growsdown\n"
          "write " W "+56k 4k 0xe1\n"
          "read " W "+40k 8k\n" },
        { "a PROT_NONE stack grows, then the access fails",
          "mmap " W "+64k 4k --- private anonymous fixed growsdown\n"
          "read " W "+60k 1\n" },
        { "no growth into the guard gap above an accessible mapping",
          "mmap " W " 4k rw- private anonymous fixed\n"
          "mmap " W "+64k 4k rw- private anonymous fixed growsdown\n"
          "write " W "+60k 1 0xe2\n"
          "mprotect " W " 4k ---\n"
          "write " W "+60k 1 0xe3\n" },
        { "a stack may grow right up to another stack",
          "mmap " W "+8k 8k rw- private anonymous fixed growsdown\n"
          "mmap " W "+24k 4k rw- private anonymous fixed growsdown\n"
          "write " W "+8k 20k 0xe4\n" },
    };
    check_all(sc, sizeof(sc) / sizeof(sc[0]));
}

/* ------------------------------------------------------- shared memory */

static void test_shared_anonymous(void **state)
{
    (void)state;
    static const struct script sc[] = {
        { "shared anonymous: written, read back, partly unmapped",
          "mmap " W " 16k rw- shared anonymous fixed\n"
          "write " W " 8k 0xd1\n"
          "read " W " 16k\n"
          "munmap " W "+8k 4k\n"
          "mprotect " W " 4k r--\n"
          "write " W " 4k 0xd2\n" },
        { "shared anonymous: a zap keeps the data, and its dirtiness",
          "mmap " W " 4k rw- shared anonymous fixed\n"
          "write " W " 4k 0xd4\n"
          "madvise " W " 4k dontneed\n"
          "read " W " 1\n" },
        { "shared anonymous: a read fault maps the cached pages around it",
          "mmap " W " 64k rw- shared anonymous fixed\n"
          "write " W " 64k 0xd5\n"
          "madvise " W " 64k dontneed\n"
          "read " W "+20k 1\n" },
        { "shared anonymous: MADV_REMOVE punches a hole",
          "mmap " W " 16k rw- shared anonymous fixed\n"
          "write " W " 16k 0xd3\n"
          "madvise " W "+4k 4k remove\n"
          "read " W " 16k\n" },
    };
    check_all(sc, sizeof(sc) / sizeof(sc[0]));
}

/* ------------------------------------------------------- bad addresses */

/*
 * MAP_FIXED far above the task size: Linux takes only the last 4095 values
 * for errors (IS_ERR_VALUE), so 1 << 63 is an address that does not fit
 * (ENOMEM), while -12 comes back as itself (ENOMEM again) and -4095 as errno
 * 4095.  Found by the fuzzer (tests/fuzz): vmarea returned the address.
 */
/*
 * mremap, after Linux's selftests (mm/mremap_test.c, mremap_dontunmap.c and
 * merge.c's mremap cases): growth in place that merges, moves within and
 * across VMAs, several VMAs moved at once with their gaps, shrinks across
 * holes, DONTUNMAP of private and shared memory, duplicating a shared
 * mapping, and the merges a moved VMA makes or does not.
 */
static void test_mremap(void **state)
{
    (void)state;
    static const struct script sc[] = {
        { "mremap: expand merge (grow in place into the next VMA)",
          "mmap " W " 12k rw- private anonymous fixed\n"
          "munmap " W "+4k 4k\n"
          "mremap " W " 4k 8k\n" },
        { "mremap: expand merge offset (grow the VMA's last page back)",
          "mmap " W " 12k rw- private anonymous fixed\n"
          "munmap " W "+8k 4k\n"
          "mremap " W "+4k 4k 8k\n" },
        { "mremap: grow in place blocked, without and with MAYMOVE",
          "mmap " W " 8k rw- private anonymous fixed\n"
          "mmap " W "+8k 4k r-- private anonymous fixed\n"
          "write " W " 8k 0x31+\n"
          "mremap " W " 8k 16k\n"
          "mremap " W " 8k 16k maymove\n" },
        { "mremap: move within a range keeps the data next to it",
          "mmap " W " 64k rw- private anonymous fixed\n"
          "write " W " 64k 0x40+\n"
          "mremap " W "+4k 8k 8k maymove fixed to=" W "+128k\n"
          "read " W " 64k\n"
          "read " W "+128k 8k\n" },
        { "mremap: several VMAs with gaps moved at once, then behind themselves, then over PROT_NONE",
          "mmap " W " 4k rw- private anonymous fixed\n"
          "mmap " W "+8k 4k rw- private anonymous fixed\n"
          "mmap " W "+16k 4k rw- private anonymous fixed\n"
          "mmap " W "+24k 4k rw- private anonymous fixed\n"
          "write " W " 28k 0x50+\n"
          "mremap " W " 28k 28k maymove fixed to=" W "+64k\n"
          "mremap " W "+64k 28k 28k maymove fixed to=" W "+92k\n"
          "mmap " W "+160k 64k --- private anonymous fixed\n"
          "mremap " W "+92k 28k 28k maymove fixed to=" W "+160k\n"
          "read " W "+160k 28k\n" },
        { "mremap: several VMAs, the range starting and ending inside them",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "mmap " W "+24k 16k rw- private anonymous fixed\n"
          "write " W " 40k 0x60+\n"
          "mremap " W "+8k 24k 24k maymove fixed to=" W "+128k\n"
          "read " W "+128k 24k\n" },
        { "mremap: several VMAs, a hole at the start (EFAULT)",
          "mmap " W "+8k 4k rw- private anonymous fixed\n"
          "mremap " W " 16k 16k maymove fixed to=" W "+128k\n" },
        { "mremap: shrink across VMAs and holes, in place and moving",
          "mmap " W " 4k rw- private anonymous fixed\n"
          "mmap " W "+8k 4k rw- private anonymous fixed\n"
          "mmap " W "+16k 4k rw- private anonymous fixed\n"
          "mremap " W " 40k 4k\n"
          "mmap " W "+64k 4k rw- private anonymous fixed\n"
          "mmap " W "+72k 4k rw- private anonymous fixed\n"
          "write " W "+64k 4k 0x70\n"
          "mremap " W "+64k 40k 4k maymove fixed to=" W "+128k\n"
          "read " W "+128k 4k\n" },
        { "mremap: DONTUNMAP of private anonymous memory leaves it empty",
          "mmap " W " 40k rw- private anonymous fixed\n"
          "write " W " 40k 0x80+\n"
          "mremap " W "+20k 20k 20k maymove dontunmap to=" W "+128k\n"
          "read " W " 40k\n"
          "read " W "+128k 20k\n" },
        { "mremap: DONTUNMAP of shared memory keeps its data at the old place",
          "mmap " W " 16k rw- shared anonymous fixed\n"
          "write " W " 16k 0x90\n"
          "mremap " W " 16k 16k maymove dontunmap fixed to=" W "+64k\n"
          "read " W " 16k\n" },
        { "mremap: DONTUNMAP onto the first half of a mapping",
          "mmap " W " 20k rw- private anonymous fixed\n"
          "write " W " 20k 0xa0\n"
          "mmap " W "+64k 40k rw- private anonymous fixed\n"
          "write " W "+64k 40k 0xa1\n"
          "mremap " W " 20k 20k maymove dontunmap fixed to=" W "+64k\n"
          "read " W "+64k 40k\n" },
        { "mremap: DONTUNMAP of a locked mapping",
          "mmap " W " 16k rw- private anonymous fixed locked\n"
          "mremap " W "+4k 8k 8k maymove dontunmap to=" W "+64k\n" },
        { "mremap: DONTUNMAP unlocks the old VMA, its pages stay mlocked (PAGEOUT keeps them)",
          "memfd 0x6000\n"
          "mmap " W "+64k 32k -wx shared fixed_noreplace locked file\n"
          "write " W "+64k 32k 0x00\n"
          "mremap " W "+72k 20k 20k maymove dontunmap\n"
          "madvise " W "+64k 40k pageout\n" },
        { "mremap: DONTUNMAP's mlocked pages, mlock_count: mlock and munlock leave them mlocked",
          "memfd 0x8000\n"
          "mmap " W "+64k 32k rw- shared fixed locked file\n"
          "write " W "+64k 32k 0x22\n"
          "mremap " W "+72k 20k 20k maymove dontunmap\n"
          "mlock " W "+64k 8k\n"
          "munlock " W "+64k 8k\n"
          "madvise " W "+64k 8k pageout\n" },
        { "mremap: DONTUNMAP's mlocked pages, a reclaim attempt counts 0, munlock then clears",
          "memfd 0x8000\n"
          "mmap " W "+64k 32k rw- shared fixed locked file\n"
          "write " W "+64k 32k 0x22\n"
          "mremap " W "+72k 20k 20k maymove dontunmap\n"
          "madvise " W "+64k 8k pageout\n"
          "mlock " W "+64k 8k\n"
          "munlock " W "+64k 8k\n"
          "madvise " W "+64k 8k pageout\n" },
        { "mremap: DONTUNMAP's mlocked pages, mapped by another locked VMA, count once more",
          "memfd 0x8000\n"
          "mmap " W "+64k 32k rw- shared fixed locked file\n"
          "write " W "+64k 32k 0x22\n"
          "mremap " W "+72k 20k 20k maymove dontunmap\n"
          "mmap " W "+192k 32k rw- shared fixed locked file\n"
          "munlock " W "+192k 32k\n"
          "munmap " W "+192k 32k\n"
          "madvise " W "+64k 8k pageout\n" },
        { "mremap: DONTUNMAP's mlocked anonymous pages are not lazily freed",
          "mmap " W "+64k 32k rw- private anonymous fixed locked\n"
          "write " W "+64k 32k 0x21\n"
          "mremap " W "+72k 20k 20k maymove dontunmap\n"
          "madvise " W "+64k 8k free\n"
          "madvise " W "+64k 8k pageout\n"
          "read " W "+64k 8k\n"
          "mlock " W "+64k 8k\n"
          "munlock " W "+64k 8k\n"
          "madvise " W "+64k 8k pageout\n" },
        { "mremap: old_len 0 duplicates a shared mapping, not a private one",
          "mmap " W " 16k rw- shared anonymous fixed\n"
          "write " W " 16k 0xb0+\n"
          "mremap " W "+4k 0 8k maymove fixed to=" W "+64k\n"
          "read " W "+64k 8k\n"
          "mmap " W "+128k 16k rw- private anonymous fixed\n"
          "mremap " W "+128k 0 8k maymove fixed to=" W "+192k\n" },
        { "mremap: errors (overlap, alignment, flags, no VMA, past the VMA)",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "mremap " W " 16k 16k maymove fixed to=" W "+8k\n"
          "mremap " W " 16k 16k maymove fixed to=" W "+65k\n"
          "mremap " W " 16k 16k fixed to=" W "+64k\n"
          "mremap " W " 16k 8k dontunmap maymove\n"
          "mremap " W "+1 4k 8k maymove\n"
          "mremap " W " 16k 0 maymove\n"
          "mremap " W "+64k 4k 8k maymove\n"
          "mremap " W " 32k 64k maymove\n"
          "mremap " W " 4k 4k 0x10\n" },
        { "mremap: an unfaulted move merges at its new place, a faulted one does not",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "mmap " W "+64k 16k rw- private anonymous fixed\n"
          "mremap " W "+64k 16k 16k maymove fixed to=" W "+16k\n"
          "mmap " W "+128k 16k rw- private anonymous fixed\n"
          "write " W "+128k 16k 0xc0\n"
          "mremap " W "+128k 16k 16k maymove fixed to=" W "+32k\n"
          "mremap " W "+32k 16k 16k maymove fixed to=" W "+128k\n"
          "mmap " W "+144k 4k rw- private anonymous fixed\n"
          "write " W "+144k 4k 0xc1\n" },
        { "mremap: a faulted VMA moved back beside its origin merges again",
          "mmap " W " 32k rw- private anonymous fixed\n"
          "write " W " 32k 0xd0\n"
          "mremap " W "+16k 16k 16k maymove fixed to=" W "+128k\n"
          "mremap " W "+128k 16k 16k maymove fixed to=" W "+16k\n" },
    };
    check_all(sc, sizeof(sc) / sizeof(sc[0]));
}

/*
 * fork and merges, after Linux's selftests/mm/merge.c (forked_target_vma,
 * forked_source_vma): a VMA a child inherited with its anonymous pages has
 * anon_vmas from its parent, and neither lends its anon_vma to a new
 * neighbour nor takes one, where the parent's VMA still merges.
 */
static void test_fork_merges(void **state)
{
    (void)state;
    static const struct script sc[] = {
        { "fork: a new neighbour of an inherited VMA does not merge in the child",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "write " W " 16k 0x11\n"
          "fork\n"
          "child mmap " W "+16k 16k rw- private anonymous fixed\n"
          "child write " W "+16k 4k 0x12\n"
          "mmap " W "+16k 16k rw- private anonymous fixed\n"
          "write " W "+16k 4k 0x13\n" },
        { "fork: mremap next to an inherited VMA does not merge in the child",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "write " W " 16k 0x21\n"
          "fork\n"
          "child mmap " W "+64k 16k rw- private anonymous fixed\n"
          "child mremap " W "+64k 16k 16k maymove fixed to=" W "+16k\n"
          "child mmap " W "+128k 16k rw- private anonymous fixed\n"
          "child write " W "+128k 4k 0x22\n"
          "child mremap " W "+128k 16k 16k maymove fixed to=" W "+32k\n"
          "child mprotect " W " 48k r--\n"
          "child mprotect " W " 48k rw-\n" },
        { "fork: an inherited VMA split and put back together in the child",
          "mmap " W " 32k rw- private anonymous fixed\n"
          "write " W " 32k 0x31\n"
          "fork\n"
          "child mprotect " W "+8k 8k r--\n"
          "child mprotect " W "+8k 8k rw-\n"
          "child write " W "+12k 4k 0x32\n"
          "read " W "+12k 4k\n"
          "child read " W "+12k 4k\n" },
        { "fork: two VMAs moved at once, the second with an inherited anon_vma, stay two",
          "file 256k tmpfs\n"
          "mmap " W "+84k 16k -w- private fixed noreserve file off=28k\n"
          "mlock " W "+96k 4k\n"
          "fork\n"
          "child mremap " W "+84k 16k 16k maymove fixed to=" W "+164k\n" },
        { "fork: calls in the child before a fork are ESRCH",
          "child mmap " W " 16k rw- private anonymous fixed\n"
          "mmap " W " 16k rw- private anonymous fixed\n"
          "fork\n"
          "child munmap " W " 8k\n" },
    };
    check_all(sc, sizeof(sc) / sizeof(sc[0]));
}

/*
 * Dirty pages a fork shares (Linux's folio dirty flag beside the entries'):
 * a populating write through a writable clean entry dirties the page, not
 * the entry; mprotect makes an exclusive page's entry writable at once, so
 * mlock's populating write goes through it; MADV_FREE keeps a dirty page
 * another mm shares as it is, and cleans one that is ours alone, which
 * MADV_PAGEOUT may then drop.
 */
static void test_fork_dirty(void **state)
{
    (void)state;
    static const struct script sc[] = {
        { "fork: a page written through a clean entry stays dirty in the child's MADV_FREE",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "write " W " 16k 0x41\n"
          "madvise " W " 16k free\n"
          "madvise " W " 16k populate_write\n"
          "fork\n"
          "child madvise " W " 16k free\n" },
        { "fork: mlock's populating write after mprotect dirties the page, not the entry",
          "mmap " W " 48k rw- private anonymous fixed\n"
          "write " W " 48k 0x42\n"
          "madvise " W " 48k free\n"
          "mprotect " W " 48k r--\n"
          "mlock " W "+24k 24k\n"
          "mprotect " W "+12k 36k rwx\n"
          "fork\n"
          "child madvise " W "+12k 36k free\n" },
        { "fork: a page the child shares keeps its write fault after mprotect",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "write " W " 16k 0x43\n"
          "madvise " W " 16k free\n"
          "fork\n"
          "mprotect " W " 16k r--\n"
          "mprotect " W " 16k rw-\n"
          "madvise " W " 16k populate_write\n"
          "child madvise " W " 16k free\n" },
        { "fork: a page the child no longer maps is not exclusive until a write fault",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "write " W " 16k 0x46\n"
          "madvise " W " 16k free\n"
          "fork\n"
          "child munmap " W " 16k\n"
          "mprotect " W " 16k r--\n"
          "mprotect " W " 16k rw-\n"
          "madvise " W " 16k populate_write\n"
          "fork\n"
          "child madvise " W " 16k free\n" },
        { "MADV_FREE, then a populating write: the page is dirty, PAGEOUT keeps it",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "write " W " 16k 0x44\n"
          "madvise " W " 16k free\n"
          "madvise " W " 8k populate_write\n"
          "madvise " W " 16k pageout\n"
          "read " W " 16k\n" },
        { "MADV_FREE cleans a page written through a clean entry",
          "mmap " W " 16k rw- private anonymous fixed\n"
          "write " W " 16k 0x45\n"
          "madvise " W " 16k free\n"
          "madvise " W " 16k populate_write\n"
          "madvise " W " 16k free\n"
          "madvise " W " 16k pageout\n" },
    };
    check_all(sc, sizeof(sc) / sizeof(sc[0]));
}

/*
 * Linux's selftests/mm/merge.c mremap_* cases, each as the selftest does it
 * (a 4 KiB page is "p" there; the places it parks VMAs far away are 40 and
 * 50 pages into the window here): an unfaulted VMA moved next to a faulted
 * one takes a pgoff that lets them merge; a faulted one keeps its own.
 */
static void test_mremap_merges(void **state)
{
    (void)state;
    static const struct script sc[] = {
        { "merge.c mremap_unfaulted_to_faulted",
          "mmap " W "+4k 20k rw- private anonymous fixed\n"
          "mmap " W "+28k 20k rw- private anonymous fixed\n"
          "mremap " W "+28k 20k 20k maymove fixed to=" W "+160k\n"
          "write " W "+4k 1 0x78\n"
          "mremap " W "+160k 20k 20k maymove fixed to=" W "+24k\n" },
        { "merge.c mremap_unfaulted_behind_faulted",
          "mmap " W "+24k 20k rw- private anonymous fixed\n"
          "mmap " W "+56k 20k rw- private anonymous fixed\n"
          "mremap " W "+56k 20k 20k maymove fixed to=" W "+160k\n"
          "write " W "+24k 1 0x78\n"
          "mremap " W "+160k 20k 20k maymove fixed to=" W "+4k\n" },
        { "merge.c mremap_unfaulted_between_faulted",
          "mmap " W "+4k 20k rw- private anonymous fixed\n"
          "mmap " W "+28k 20k rw- private anonymous fixed\n"
          "mmap " W "+56k 20k rw- private anonymous fixed\n"
          "mremap " W "+56k 20k 20k maymove fixed to=" W "+200k\n"
          "mremap " W "+28k 20k 20k maymove fixed to=" W "+160k\n"
          "write " W "+4k 1 0x78\n"
          "write " W "+200k 1 0x78\n"
          "mremap " W "+200k 20k 20k maymove fixed to=" W "+44k\n"
          "mremap " W "+160k 20k 20k maymove fixed to=" W "+24k\n" },
        { "merge.c mremap_unfaulted_between_faulted_unfaulted",
          "mmap " W "+4k 20k rw- private anonymous fixed\n"
          "mmap " W "+28k 20k rw- private anonymous fixed\n"
          "mmap " W "+56k 20k rw- private anonymous fixed\n"
          "mremap " W "+56k 20k 20k maymove fixed to=" W "+200k\n"
          "mremap " W "+28k 20k 20k maymove fixed to=" W "+160k\n"
          "write " W "+4k 1 0x78\n"
          "mremap " W "+200k 20k 20k maymove fixed to=" W "+44k\n"
          "mremap " W "+160k 20k 20k maymove fixed to=" W "+24k\n" },
        { "merge.c mremap_unfaulted_between_correctly_placed_faulted",
          "mmap " W "+4k 60k rw- private anonymous fixed\n"
          "write " W "+4k 1 0x78\n"
          "munmap " W "+24k 20k\n"
          "mmap " W "+80k 20k rw- private anonymous fixed\n"
          "mremap " W "+80k 20k 20k maymove fixed to=" W "+24k\n" },
        { "merge.c mremap_correct_placed_faulted",
          "mmap " W "+4k 60k rw- private anonymous fixed\n"
          "write " W "+4k 1 0x78\n"
          "mremap " W "+44k 20k 20k maymove fixed to=" W "+200k\n"
          "mremap " W "+24k 20k 20k maymove fixed to=" W "+160k\n"
          "mremap " W "+160k 20k 20k maymove fixed to=" W "+24k\n"
          "mremap " W "+200k 20k 20k maymove fixed to=" W "+44k\n" },
    };
    check_all(sc, sizeof(sc) / sizeof(sc[0]));
}

static void test_fixed_high_addresses(void **state)
{
    (void)state;
    static const struct script sc[] = {
        { "fixed at 1 << 63",
          "mmap 0x8000000000000000 4k rw- private anonymous fixed\n"
          "mmap 0x8000000000001000 4k rw- private anonymous fixed_noreplace\n" },
        { "fixed at the top pages",
          "mmap 0xffffffffffffe000 4k rw- private anonymous fixed\n"
          "mmap 0xfffffffffffff000 4k rw- private anonymous fixed_noreplace\n" },
        { "fixed at error values",
          "mmap 0xfffffffffffffff4 4k rw- private anonymous fixed\n"
          "mmap 0xfffffffffffff001 4k rw- private anonymous fixed\n" },
    };
    check_all(sc, sizeof(sc) / sizeof(sc[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_faulted_unfaulted),
        cmocka_unit_test(test_access),
        cmocka_unit_test(test_zap_and_populate),
        cmocka_unit_test(test_stack_growth),
        cmocka_unit_test(test_shared_anonymous),
        cmocka_unit_test(test_fixed_high_addresses),
        cmocka_unit_test(test_mremap),
        cmocka_unit_test(test_fork_merges),
        cmocka_unit_test(test_fork_dirty),
        cmocka_unit_test(test_mremap_merges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

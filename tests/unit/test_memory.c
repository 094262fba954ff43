/* SPDX-License-Identifier: MIT */
/*
 * Memory behind the VMAs: faults, access, zaps, mixed maps, limits.  Each
 * case states the Linux behaviour it checks; the differential checker
 * compares the same behaviours with the host on random sequences, these
 * pin the edges one by one (and the ones the host cannot show: warnings,
 * page references, the memory limit, lock fallbacks).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "page.h"
#include "pgtable.h"
#include "rcu.h"

#define W    0x200000000000UL
#define PG   4096UL
#define RW   (PROT_READ | PROT_WRITE)
#define PA   (MAP_PRIVATE | MAP_ANONYMOUS)
#define FX   (PA | MAP_FIXED)
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

static struct mm_stats stats(struct mm *mm)
{
    struct mm_stats st;
    mm_get_stats(mm, &st);
    return st;
}

static bool all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

static unsigned long frames_in_use(struct mm *mm) { return page_pool_in_use(&mm->pages); }

/* Read faults map the zero page (no Rss); the first write gives the page its
 * own zeroed frame (copy-on-write from the zero page). */
static void test_zero_page_then_cow(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    unsigned char buf[2 * PG];
    assert_int_equal(mm_mmap(mm, W, 4 * PG, RW, FX, NULL, 0), (long)W);
    memset(buf, 0xaa, sizeof(buf));
    assert_int_equal(mm_read(mm, W, buf, sizeof(buf)), (long)sizeof(buf));
    assert_true(all_bytes(buf, sizeof(buf), 0));
    assert_int_equal(stats(mm).rss_anon, 0);
    assert_int_equal(stats(mm).faults, 2);
    assert_int_equal(frames_in_use(mm), 0);

    memset(buf, 0x5a, 10);
    assert_int_equal(mm_write(mm, W + PG - 5, buf, 10), 10);   /* spans two pages */
    assert_int_equal(stats(mm).rss_anon, 2);
    assert_int_equal(mm_read(mm, W + PG - 6, buf, 12), 12);
    assert_int_equal(buf[0], 0);
    assert_true(all_bytes(buf + 1, 10, 0x5a));
    assert_int_equal(buf[11], 0);
    /* A private anonymous VMA got its anon_vma at the first write. */
    {
        MMAP_READ_GUARD(g, mm);
        assert_non_null(vt_lookup(&mm->mm_mt, W)->anon_vma);
    }
    mmput(mm);
}

/* -EFAULT where no VMA is (SEGV_MAPERR), -EACCES against the protection
 * (SEGV_ACCERR), and an access stops at the first page it may not touch,
 * returning what it did. */
static void test_access_errors(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    unsigned char buf[3 * PG] = { 0 };
    assert_int_equal(mm_fault(mm, W, 0), -EFAULT);
    assert_int_equal(mm_read(mm, W, buf, 1), -EFAULT);
    assert_int_equal(mm_read(mm, ~0UL - 3, buf, 8), -EFAULT);
    assert_int_equal(mm_read(mm, W, buf, 0), 0);
    assert_int_equal(mm_mmap(mm, W, PG, RW, FX, NULL, 0), (long)W);
    assert_int_equal(mm_mmap(mm, W + PG, PG, PROT_READ, FX, NULL, 0), (long)(W + PG));
    assert_int_equal(mm_mmap(mm, W + 2 * PG, PG, PROT_NONE, FX, NULL, 0), (long)(W + 2 * PG));
    assert_int_equal(mm_mmap(mm, W + 3 * PG, PG, PROT_EXEC, FX, NULL, 0), (long)(W + 3 * PG));

    assert_int_equal(mm_fault(mm, W + PG, FAULT_FLAG_WRITE), -EACCES);
    assert_int_equal(mm_fault(mm, W + PG, FAULT_FLAG_INSTRUCTION), -EACCES);
    assert_int_equal(mm_fault(mm, W + 2 * PG, 0), -EACCES);
    assert_int_equal(mm_fault(mm, W + 3 * PG, FAULT_FLAG_INSTRUCTION), 0);
    /* Execute-only memory: the execute-only protection key keeps reads out,
     * but not remote (foreign) ones. */
    struct mm_config cfg;
    mm_get_config(mm, &cfg);
    if (!(cfg.flags & MM_CONFIG_NO_PKEYS)) {
        assert_int_equal(mm_fault(mm, W + 3 * PG, 0), -EACCES);
        assert_int_equal(mm_fault(mm, W + 3 * PG, FAULT_FLAG_REMOTE), 0);
    }
    /* A write runs through the writable page and stops at the read-only one. */
    assert_int_equal(mm_write(mm, W + 100, buf, 2 * PG), (long)(PG - 100));
    assert_int_equal(mm_write(mm, W + PG, buf, 1), -EACCES);
    /* A read runs through two readable pages and stops at PROT_NONE. */
    assert_int_equal(mm_read(mm, W, buf, sizeof(buf)), (long)(2 * PG));
    /* Execute-only, then past the last VMA: what was done, then nothing. */
    if (!(cfg.flags & MM_CONFIG_NO_PKEYS))
        assert_int_equal(mm_read(mm, W + 3 * PG, buf, 2 * PG), -EACCES);
    else
        assert_int_equal(mm_read(mm, W + 3 * PG, buf, 2 * PG), (long)PG);
    mmput(mm);
}

/* mprotect keeps the pages and their data; write access follows the VMA. */
static void test_mprotect_keeps_pages(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    unsigned char c = 7;
    assert_int_equal(mm_mmap(mm, W, 2 * PG, RW, FX, NULL, 0), (long)W);
    assert_int_equal(mm_write(mm, W, &c, 1), 1);
    assert_int_equal(mm_mprotect(mm, W, 2 * PG, PROT_READ), 0);
    assert_int_equal(mm_write(mm, W, &c, 1), -EACCES);
    c = 0;
    assert_int_equal(mm_read(mm, W, &c, 1), 1);
    assert_int_equal(c, 7);
    assert_int_equal(mm_mprotect(mm, W, PG, PROT_NONE), 0);
    assert_int_equal(mm_read(mm, W, &c, 1), -EACCES);
    assert_int_equal(stats(mm).rss_anon, 1);   /* PROT_NONE pages stay resident */
    assert_int_equal(mm_mprotect(mm, W, 2 * PG, RW), 0);
    c = 9;
    assert_int_equal(mm_write(mm, W, &c, 1), 1);   /* the same page, made writable again */
    assert_int_equal(stats(mm).rss_anon, 1);
    assert_int_equal(frames_in_use(mm), 1);
    mmput(mm);
}

static char warned[256];
static int nwarned;
static void warn_hook(void *arg, struct mm *mm, const char *msg)
{
    (void)arg;
    (void)mm;
    nwarned++;
    snprintf(warned, sizeof(warned), "%s", msg);
}

/* vma_zap_page_range_single: inside the VMA the pages go (zeros on the next
 * read, Rss down, tables and the VMA stay); a range outside or overflowing
 * does nothing and warns once per mm. */
static void test_zap_single(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    mm_set_warn_hook(mm, warn_hook, NULL);
    nwarned = 0;
    unsigned char buf[4 * PG];
    memset(buf, 0x33, sizeof(buf));
    assert_int_equal(mm_mmap(mm, W, 4 * PG, RW, FX, NULL, 0), (long)W);
    assert_int_equal(mm_write(mm, W, buf, sizeof(buf)), (long)sizeof(buf));
    unsigned long tables = stats(mm).pgtable_bytes;
    assert_true(tables > 0);
    {
        MMAP_READ_GUARD(g, mm);
        const struct vma_ref *v = vma_lookup(&g, W);
        vma_zap_page_range_single(v, W + PG + 1, PG);   /* touches pages 1 and 2 */
        vma_zap_page_range_single(v, W + 3 * PG, 2 * PG);   /* past the end */
        vma_zap_page_range_single(v, ~0UL - PG, 2 * PG);    /* overflows */
        vma_zap_page_range_single(v, W - PG, PG);           /* below */
    }
    assert_int_equal(nwarned, 1);
    assert_non_null(strstr(warned, "vma_zap_page_range_single"));
    struct mm_stats st = stats(mm);
    assert_int_equal(st.rss_anon, 2);
    assert_int_equal(st.zapped, 2);
    assert_int_equal(st.map_count, 1);
    assert_int_equal(st.pgtable_bytes, tables);
    assert_int_equal(frames_in_use(mm), 2);
    assert_int_equal(mm_read(mm, W, buf, sizeof(buf)), (long)sizeof(buf));
    assert_true(all_bytes(buf, PG, 0x33));
    assert_true(all_bytes(buf + PG, 2 * PG, 0));
    assert_true(all_bytes(buf + 3 * PG, PG, 0x33));
    mmput(mm);
}

/* MADV_DONTNEED: EINVAL on locked VMAs, ENOMEM for holes after zapping the
 * rest, never a split; shared memory keeps its data (only the mapping goes). */
static void test_dontneed(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    unsigned char c = 1;
    assert_int_equal(mm_mmap(mm, W, PG, RW, FX, NULL, 0), (long)W);
    assert_int_equal(mm_mmap(mm, W + 2 * PG, PG, RW, FX, NULL, 0), (long)(W + 2 * PG));
    assert_int_equal(mm_mmap(mm, W + 4 * PG, PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, NULL, 0),
                     (long)(W + 4 * PG));
    for (unsigned long a = W; a < W + 5 * PG; a += 2 * PG)
        assert_int_equal(mm_write(mm, a, &c, 1), 1);
    struct mm_stats st = stats(mm);
    assert_int_equal(st.rss_anon, 2);
    assert_int_equal(st.rss_shmem, 1);
    assert_int_equal(mm_madvise(mm, W, 5 * PG, MADV_DONTNEED), -ENOMEM);
    st = stats(mm);
    assert_int_equal(st.rss_anon + st.rss_shmem, 0);
    assert_int_equal(st.map_count, 3);
    c = 5;
    assert_int_equal(mm_read(mm, W, &c, 1), 1);
    assert_int_equal(c, 0);
    assert_int_equal(mm_read(mm, W + 4 * PG, &c, 1), 1);
    assert_int_equal(c, 1);
    assert_int_equal(stats(mm).rss_shmem, 1);
    /* MADV_REMOVE punches the hole: now the data is gone. */
    assert_int_equal(mm_madvise(mm, W + 4 * PG, PG, MADV_REMOVE), 0);
    assert_int_equal(mm_read(mm, W + 4 * PG, &c, 1), 1);
    assert_int_equal(c, 0);

    assert_int_equal(mm_mlock(mm, W, PG, 0), 0);
    assert_int_equal(stats(mm).rss_anon, 1);   /* mlock populated it */
    assert_int_equal(mm_madvise(mm, W, PG, MADV_DONTNEED), -EINVAL);
    assert_int_equal(mm_madvise(mm, W, PG, MADV_DONTNEED_LOCKED), 0);
    assert_int_equal(stats(mm).rss_anon, 0);
    mmput(mm);
}

/* munmap frees the pages and the page tables nothing else uses; a table
 * shared with a neighbouring VMA stays. */
static void test_munmap_frees(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    unsigned char c = 1;
    assert_int_equal(mm_mmap(mm, W, 2 * PG, RW, FX, NULL, 0), (long)W);
    assert_int_equal(mm_mmap(mm, W + (1UL << 30), PG, RW, FX, NULL, 0), (long)(W + (1UL << 30)));
    assert_int_equal(mm_write(mm, W, &c, 1), 1);
    assert_int_equal(mm_write(mm, W + PG, &c, 1), 1);
    assert_int_equal(mm_write(mm, W + (1UL << 30), &c, 1), 1);
    unsigned long both = stats(mm).pgtable_bytes;
    /* One page of the first VMA: its PTE table still maps the other. */
    assert_int_equal(mm_munmap(mm, W + PG, PG), 0);
    assert_int_equal(stats(mm).pgtable_bytes, both);
    assert_int_equal(stats(mm).rss_anon, 2);
    /* The whole first VMA: its PTE and PMD tables go (the PUD is shared). */
    assert_int_equal(mm_munmap(mm, W, PG), 0);
    assert_int_equal(stats(mm).pgtable_bytes, both - 2 * PGT_TABLE_SIZE);
    assert_int_equal(mm_munmap(mm, W, 2UL << 30), 0);
    assert_int_equal(stats(mm).pgtable_bytes, 0);
    assert_int_equal(stats(mm).rss_anon, 0);
    assert_int_equal(frames_in_use(mm), 0);
    mmput(mm);
}

/* ------------------------------------------------------------ mixed maps */

struct driver {
    struct vm_page *page;
    int faults;
    bool insert_on_fault;
};

static int drv_fault(const struct vma_ref *v, unsigned long addr, unsigned flags)
{
    (void)flags;
    struct driver *d = vma_private(v);
    d->faults++;
    if (!d->insert_on_fault)
        return 0;   /* promised a page and inserted none: SIGBUS */
    return vma_insert_page(vma_as_mixedmap(v), addr & ~(PG - 1), d->page);
}

static const struct vm_operations drv_ops_nofault = { 0 };
static const struct vm_operations drv_ops_fault = { .fault = drv_fault };

static int drv_mmap(struct vm_file *f, struct vma_new *v)
{
    struct driver *d = vm_file_private(f);
    if (vma_new_try_clear_maywrite(v))
        return -EPERM;
    vma_new_set_dontcopy(v);
    assert_non_null(vma_new_set_mixedmap(v));
    vma_new_set_ops(v, d->insert_on_fault ? &drv_ops_fault : &drv_ops_nofault, d);
    return 0;
}

static const struct vm_file_operations drv_fops = { .mmap = drv_mmap };

static void test_mixed_map(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    struct driver d = { 0 };
    struct vm_file *f = vm_file_create(&drv_fops, &d, "drv");
    d.page = vm_page_alloc(mm);
    assert_non_null(d.page);
    memset(vm_page_address(d.page), 0x77, PG);

    assert_int_equal(mm_mmap(mm, W, 2 * PG, RW, MAP_SHARED | MAP_FIXED, f, 0), -EPERM);
    assert_int_equal(mm_mmap(mm, W, 2 * PG, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0), (long)W);
    assert_int_equal(mm_mprotect(mm, W, PG, RW), -EACCES);   /* VM_MAYWRITE is gone */
    assert_int_equal(mm_fault(mm, W, 0), -EIO);               /* no fault handler: SIGBUS */
    {
        MMAP_READ_GUARD(g, mm);
        const struct vma_ref *v = vma_lookup(&g, W);
        assert_ptr_equal(vma_ops(v), &drv_ops_nofault);
        assert_ptr_equal(vma_private(v), &d);
        assert_true(vma_flags(v) & VM_MIXEDMAP);
        assert_true(vma_flags(v) & VM_DONTCOPY);
        const struct vma_mixedmap *mx = vma_as_mixedmap(v);
        assert_non_null(mx);
        assert_int_equal(vma_insert_page(mx, W + 2 * PG, d.page), -EFAULT);
        assert_int_equal(vma_insert_page(mx, W - 1, d.page), -EFAULT);
        assert_int_equal(vma_insert_page(mx, W, d.page), 0);
        assert_int_equal(vma_insert_page(mx, W, d.page), -EBUSY);
        assert_int_equal(page_count(d.page), 2);
        assert_int_equal(page_mapcount(d.page), 1);
    }
    assert_int_equal(stats(mm).rss_file, 1);
    unsigned char c = 0;
    assert_int_equal(mm_read(mm, W, &c, 1), 1);
    assert_int_equal(c, 0x77);
    assert_int_equal(mm_write(mm, W, &c, 1), -EACCES);
    {
        MMAP_READ_GUARD(g, mm);
        vma_zap_page_range_single(vma_lookup(&g, W), W, 2 * PG);
    }
    /* The mapping went; the owner's reference keeps the page and its data. */
    assert_int_equal(stats(mm).rss_file, 0);
    assert_int_equal(page_count(d.page), 1);
    assert_int_equal(page_mapcount(d.page), 0);
    assert_int_equal(((unsigned char *)vm_page_address(d.page))[0], 0x77);
    assert_int_equal(mm_read(mm, W, &c, 1), -EIO);
    /* Anonymous memory is no mixed map. */
    assert_int_equal(mm_mmap(mm, W + 4 * PG, PG, RW, FX, NULL, 0), (long)(W + 4 * PG));
    {
        MMAP_READ_GUARD(g, mm);
        assert_null(vma_as_mixedmap(vma_lookup(&g, W + 4 * PG)));
    }
    assert_int_equal(mm_munmap(mm, W, 2 * PG), 0);

    /* A fault hook that inserts pages on demand. */
    d.insert_on_fault = true;
    assert_int_equal(mm_mmap(mm, W, 2 * PG, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0), (long)W);
    assert_int_equal(mm_read(mm, W + PG + 5, &c, 1), 1);
    assert_int_equal(c, 0x77);
    assert_int_equal(d.faults, 1);
    assert_int_equal(mm_read(mm, W + PG, &c, 1), 1);
    assert_int_equal(d.faults, 1);   /* present now: no second fault */
    /* The hook inserting into an already mapped address sees -EBUSY. */
    assert_int_equal(mm_munmap(mm, W, 2 * PG), 0);
    assert_int_equal(page_count(d.page), 1);
    vm_file_put(f);
    vm_page_put(d.page);
    assert_int_equal(frames_in_use(mm), 0);
    mmput(mm);
}

/* A fault hook's answer becomes one mm_fault documents: its own -EFAULT,
 * -ENOMEM and -EIO; anything else SIGBUS (-EIO), with one warning. */
static int hook_answer;
static int answer_fault(const struct vma_ref *v, unsigned long addr, unsigned flags)
{
    (void)v, (void)addr, (void)flags;
    return hook_answer;
}
static const struct vm_operations answer_ops = { .fault = answer_fault };
static int answer_mmap(struct vm_file *f, struct vma_new *v)
{
    (void)f;
    vma_new_set_mixedmap(v);
    vma_new_set_ops(v, &answer_ops, NULL);
    return 0;
}
static const struct vm_file_operations answer_fops = { .mmap = answer_mmap };

static void count_warning(void *arg, struct mm *mm, const char *msg)
{
    (void)mm, (void)msg;
    ++*(int *)arg;
}

static void test_fault_hook_answers(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    int warnings = 0;
    mm_set_warn_hook(mm, count_warning, &warnings);
    struct vm_file *f = vm_file_create(&answer_fops, NULL, "answers");
    assert_int_equal(mm_mmap(mm, W, PG, PROT_READ, MAP_SHARED | MAP_FIXED, f, 0), (long)W);
    static const int in[] = { -EFAULT, -ENOMEM, -EIO, 0, -5000, -EAGAIN, 7, -EINTR, -ENOSPC };
    static const int out[] = { -EFAULT, -ENOMEM, -EIO, -EIO, -EIO, -EIO, -EIO, -EIO, -EIO };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        hook_answer = in[i];
        assert_int_equal(mm_fault(mm, W, 0), out[i]);
        char c;
        assert_int_equal(mm_read(mm, W, &c, 1), out[i]);
    }
    assert_int_equal(warnings, 1);
    mm_munmap(mm, W, PG);
    vm_file_put(f);
    mmput(mm);
}

/* Two threads store to and load from one page: a race of the guest's, which
 * the ThreadSanitizer build must not report (halt_on_error would stop it). */
struct racer { struct mm *mm; bool store; };

static void *race_one_page(void *arg)
{
    struct racer *r = arg;
    unsigned long v = 0;
    for (int i = 0; i < 20000; i++) {
        if (r->store) {
            v = (unsigned long)i;
            assert_int_equal(mm_write(r->mm, W + 8, &v, sizeof(v)), sizeof(v));
        } else {
            assert_int_equal(mm_read(r->mm, W + 8, &v, sizeof(v)), sizeof(v));
        }
    }
    return NULL;
}

static void test_guest_race_is_quiet(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    assert_int_equal(mm_mmap(mm, W, PG, RW, FX | MAP_POPULATE, NULL, 0), (long)W);
    struct racer r[2] = { { mm, true }, { mm, false } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, race_one_page, &r[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    mmput(mm);
}

static int drv_mmap_w(struct vm_file *f, struct vma_new *v)
{
    (void)f;
    assert_int_equal(vma_new_try_clear_maywrite(v), -EINVAL);   /* VM_WRITE is set */
    assert_int_equal(vma_new_try_clear_mayexec(v), 0);
    return 0;
}
static const struct vm_file_operations drv_fops_w = { .mmap = drv_mmap_w };

static void test_try_clear(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    struct vm_file *f = vm_file_create(&drv_fops_w, NULL, "w");
    assert_int_equal(mm_mmap(mm, W, PG, RW, MAP_SHARED | MAP_FIXED, f, 0), (long)W);
    assert_int_equal(mm_mprotect(mm, W, PG, PROT_READ | PROT_EXEC), -EACCES);
    /* MAP_SHARED_VALIDATE checks every flag bit against the ones it knows,
     * the MAP_HUGE_ size bits among them (the check once shifted a signed
     * int into its sign bit: UBSan stopped here); bit 21 is no flag. */
    assert_int_equal(mm_mmap(mm, W + PG, PG, RW, MAP_SHARED_VALIDATE | MAP_FIXED | (21 << MAP_HUGE_SHIFT),
                             f, 0), (long)(W + PG));
    assert_int_equal(mm_mmap(mm, W + 2 * PG, PG, RW, MAP_SHARED_VALIDATE | MAP_FIXED | 0x200000, f, 0),
                     -EOPNOTSUPP);
    vm_file_put(f);
    mmput(mm);
}

/* ------------------------------------------------------------ limits */

/* Filling memory to the limit: -ENOMEM, what was done stays, nothing leaks,
 * and after an unmap the memory is there again. */
static void test_memory_limit(void **state)
{
    (void)state;
    struct mm_config cfg = { .memory_limit = 64 * PG };
    struct mm *mm = mm_create(&cfg);
    unsigned long len = 128 * PG;
    assert_int_equal(mm_mmap(mm, W, len, RW, FX, NULL, 0), (long)W);
    unsigned char *buf = malloc(len);
    memset(buf, 0x11, len);
    ssize_t done = mm_write(mm, W, buf, len);
    /* The three tables (PUD, PMD, PTE) count too: 64 - 3 pages of data. */
    assert_int_equal(done, (long)(61 * PG));
    assert_int_equal(mm_fault(mm, W + 100 * PG, FAULT_FLAG_WRITE), -ENOMEM);
    assert_int_equal(mm_write(mm, W + 100 * PG, buf, 1), -ENOMEM);
    /* Reads still work: the zero page costs nothing. */
    assert_int_equal(mm_read(mm, W + 100 * PG, buf, PG), (long)PG);
    /* mlock cannot populate: EAGAIN, as Linux for out of memory. */
    assert_int_equal(mm_mlock(mm, W, len, 0), -EAGAIN);
    assert_int_equal(stats(mm).rss_anon, 61);
    assert_int_equal(mm_munmap(mm, W, 8 * PG), 0);
    assert_int_equal(mm_write(mm, W + 100 * PG, buf, 8 * PG), (long)(8 * PG));
    assert_int_equal(mm_munmap(mm, W, len), 0);
    assert_int_equal(frames_in_use(mm), 0);
    assert_int_equal(stats(mm).pgtable_bytes, 0);
    assert_int_equal(atomic_load(&mm->pages.nr_reserved), 0);
    free(buf);
    mmput(mm);
}

/* Populate: mlock and MAP_POPULATE fault writable private memory in with its
 * own pages, read-only memory with the zero page. */
static void test_populate(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    assert_int_equal(mm_mmap(mm, W, 4 * PG, RW, FX | MAP_POPULATE, NULL, 0), (long)W);
    assert_int_equal(stats(mm).rss_anon, 4);
    assert_int_equal(mm_mmap(mm, W + 8 * PG, 4 * PG, PROT_READ, FX | MAP_POPULATE, NULL, 0),
                     (long)(W + 8 * PG));
    assert_int_equal(stats(mm).rss_anon, 4);
    assert_int_equal(stats(mm).faults, 8);
    assert_int_equal(mm_mmap(mm, W + 16 * PG, 2 * PG, RW, FX | MAP_LOCKED, NULL, 0), (long)(W + 16 * PG));
    assert_int_equal(stats(mm).rss_anon, 6);
    assert_int_equal(mm_madvise(mm, W + 20 * PG, 2 * PG, MADV_POPULATE_WRITE), -ENOMEM);
    assert_int_equal(mm_mmap(mm, W + 20 * PG, 2 * PG, RW, FX, NULL, 0), (long)(W + 20 * PG));
    assert_int_equal(mm_madvise(mm, W + 20 * PG, 2 * PG, MADV_POPULATE_READ), 0);
    assert_int_equal(stats(mm).rss_anon, 6);
    assert_int_equal(mm_madvise(mm, W + 20 * PG, 2 * PG, MADV_POPULATE_WRITE), 0);
    assert_int_equal(stats(mm).rss_anon, 8);
    mmput(mm);
}

/* A fault below a stack grows it; one below anything else is SEGV_MAPERR. */
static void test_stack_growth(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    unsigned long top = W + (64UL << 20);
    assert_int_equal(mm_mmap(mm, top - 4 * PG, 4 * PG, RW, FX | MAP_GROWSDOWN, NULL, 0),
                     (long)(top - 4 * PG));
    unsigned char c = 3;
    assert_int_equal(mm_write(mm, top - 10 * PG + 8, &c, 1), 1);
    {
        MMAP_READ_GUARD(g, mm);
        const struct vma_ref *v = vma_lookup(&g, top - PG);
        assert_int_equal(vma_start(v), top - 10 * PG);
    }
    assert_int_equal(stats(mm).total_vm, 10);
    /* Past RLIMIT_STACK (8 MiB): no growth. */
    assert_int_equal(mm_fault(mm, top - (9UL << 20), FAULT_FLAG_WRITE), -EFAULT);
    /* Below an ordinary mapping: nothing grows. */
    assert_int_equal(mm_mmap(mm, W, PG, RW, FX, NULL, 0), (long)W);
    assert_int_equal(mm_fault(mm, W - PG, 0), -EFAULT);
    mmput(mm);
}

/* ------------------------------------------------------------ threads */

struct race {
    struct mm *mm;
    atomic_bool stop;
    atomic_long bad;
    int id;
};

/* Writers fill their page with their id and read it back: a byte is either
 * the id or 0 (a racing zap took the page), never anything else. */
static void *race_writer(void *arg)
{
    struct race *r = arg;
    unsigned char id = (unsigned char)(0x40 + r->id), buf[256];
    unsigned long addr = W + (unsigned long)r->id * PG;
    while (!atomic_load(&r->stop)) {
        memset(buf, id, sizeof(buf));
        if (mm_write(r->mm, addr, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
            atomic_fetch_add(&r->bad, 1);
        if (mm_read(r->mm, addr, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
            atomic_fetch_add(&r->bad, 1);
        for (size_t i = 0; i < sizeof(buf); i++)
            if (buf[i] != id && buf[i] != 0)
                atomic_fetch_add(&r->bad, 1);
    }
    return NULL;
}

static void test_faults_race_zaps(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    enum { NT = 3 };
    assert_int_equal(mm_mmap(mm, W, NT * PG, RW, FX, NULL, 0), (long)W);
    struct race r[NT];
    pthread_t t[NT];
    for (int i = 0; i < NT; i++) {
        r[i] = (struct race){ .mm = mm, .id = i };
        pthread_create(&t[i], NULL, race_writer, &r[i]);
    }
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(mm_madvise(mm, W, NT * PG, MADV_DONTNEED), 0);
        if (i % 100 == 0) {
            /* A VMA change in the middle: per-VMA readers must fall back. */
            assert_int_equal(mm_mprotect(mm, W + PG, PG, PROT_READ), 0);
            assert_int_equal(mm_mprotect(mm, W + PG, PG, RW), 0);
        }
    }
    for (int i = 0; i < NT; i++)
        atomic_store(&r[i].stop, true);
    long bad = 0;
    for (int i = 0; i < NT; i++) {
        pthread_join(t[i], NULL);
        bad += r[i].id == 1 ? 0 : atomic_load(&r[i].bad);   /* page 1 is read-only at times */
    }
    assert_int_equal(bad, 0);
    assert_int_equal(mm_munmap(mm, W, NT * PG), 0);
    assert_int_equal(frames_in_use(mm), 0);
    assert_int_equal(stats(mm).rss_anon, 0);
    mmput(mm);
}

/* Faults take the VMA's own read lock first; while the mmap write lock holds
 * the VMA (write-locked in this section), they fall back and say so. */
static void test_lock_fallback(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    assert_int_equal(mm_mmap(mm, W, 2 * PG, RW, FX, NULL, 0), (long)W);
    assert_int_equal(mm_fault(mm, W, 0), 0);
    assert_int_equal(stats(mm).lock_fallbacks, 0);
    /* A first write needs the anon_vma, which only the mmap lock may set. */
    assert_int_equal(mm_fault(mm, W, FAULT_FLAG_WRITE), 0);
    assert_int_equal(stats(mm).lock_fallbacks, 1);
    assert_int_equal(mm_fault(mm, W + PG, FAULT_FLAG_WRITE), 0);
    assert_int_equal(stats(mm).lock_fallbacks, 1);
    /* No VMA there: the RCU lookup misses and the mmap lock confirms. */
    assert_int_equal(mm_fault(mm, W + 4 * PG, 0), -EFAULT);
    assert_int_equal(stats(mm).lock_fallbacks, 2);
    mmput(mm);
}

/* Guard regions (MADV_GUARD_INSTALL): accesses fault as unmapped memory,
 * zaps keep them, MADV_GUARD_REMOVE and munmap take them away; the VMA is
 * marked VM_MAYBE_GUARD, a flag merges keep. */
static void test_guard_regions(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    unsigned char buf[4 * PG];
    memset(buf, 0x21, sizeof(buf));
    assert_int_equal(mm_mmap(mm, W, 4 * PG, RW, FX, NULL, 0), (long)W);
    assert_int_equal(mm_write(mm, W, buf, sizeof(buf)), (long)sizeof(buf));
    assert_int_equal(mm_madvise(mm, W + PG, 2 * PG, 102 /* MADV_GUARD_INSTALL */), 0);
    assert_int_equal(stats(mm).rss_anon, 2);   /* the guarded pages went */
    assert_int_equal(mm_read(mm, W + PG, buf, 1), -EFAULT);
    assert_int_equal(mm_write(mm, W, buf, 2 * PG), (long)PG);   /* stops at the guard */
    assert_int_equal(mm_madvise(mm, W, 4 * PG, MADV_DONTNEED), 0);
    assert_int_equal(mm_read(mm, W + 2 * PG, buf, 1), -EFAULT);   /* still guarded */
    assert_int_equal(mm_madvise(mm, W, 4 * PG, MADV_POPULATE_WRITE), -EFAULT);
    assert_int_equal(mm_mlock(mm, W, 4 * PG, 0), -ENOMEM);   /* populate failed at the guard */
    assert_int_equal(mm_madvise(mm, W, PG, 102), -EINVAL);     /* locked now */
    assert_int_equal(mm_munlock(mm, W, 4 * PG), 0);
    assert_int_equal(mm_madvise(mm, W + PG, PG, 103 /* MADV_GUARD_REMOVE */), 0);
    assert_int_equal(mm_read(mm, W + PG, buf, 1), 1);
    assert_int_equal(buf[0], 0);
    assert_int_equal(mm_read(mm, W + 2 * PG, buf, 1), -EFAULT);
    {
        MMAP_READ_GUARD(g, mm);
        assert_true(vma_flags(vma_lookup(&g, W)) & VM_MAYBE_GUARD);
    }
    /* A new neighbour without the flag merges, and the result keeps it. */
    assert_int_equal(mm_mmap(mm, W + 4 * PG, PG, RW, FX, NULL, 0), (long)(W + 4 * PG));
    {
        MMAP_READ_GUARD(g, mm);
        const struct vma_ref *v = vma_lookup(&g, W + 4 * PG);
        assert_int_equal(vma_start(v), W);
        assert_true(vma_flags(v) & VM_MAYBE_GUARD);
    }
    /* munmap takes the markers with the tables; a new mapping is clean. */
    assert_int_equal(mm_munmap(mm, W, 5 * PG), 0);
    assert_int_equal(mm_mmap(mm, W, 4 * PG, RW, FX, NULL, 0), (long)W);
    assert_int_equal(mm_read(mm, W + 2 * PG, buf, 1), 1);
    mmput(mm);
}

/* A task size up to 1 << 48 has four levels of tables; beyond, five, up to
 * 1 << 56; more is refused. */
static void test_task_size_limit(void **state)
{
    (void)state;
    struct mm_config cfg = { .task_size = (1UL << 56) + PG };
    assert_null(mm_create(&cfg));
    unsigned long sizes[] = { 1UL << 48, 1UL << 56 };
    for (unsigned i = 0; i < 2; i++) {
        cfg.task_size = sizes[i];
        struct mm *mm = mm_create(&cfg);
        assert_non_null(mm);
        long a = mm_mmap(mm, 0, PG, RW, PA, NULL, 0);   /* top-down: below the 47-bit window */
        assert_true(a > 0 && (unsigned long)a < 0x7ffffffff000UL);
        unsigned char c = 9;
        assert_int_equal(mm_write(mm, (unsigned long)a, &c, 1), 1);
        assert_int_equal(mm_mmap(mm, sizes[i] - PG, PG, RW, FX, NULL, 0), (long)(sizes[i] - PG));
        assert_int_equal(mm_write(mm, sizes[i] - 1, &c, 1), 1);
        assert_int_equal(mm_read(mm, sizes[i], &c, 1), -EFAULT);
        assert_int_equal(mm_mmap(mm, sizes[i], PG, RW, FX, NULL, 0), -ENOMEM);
        mmput(mm);
    }
}

/*
 * x86-64 with five-level paging (LA57): a process maps up to 2^56 - 4096,
 * but only what asks for an address beyond the 47-bit window goes there
 * (arch_get_unmapped_area_topdown, mmap_address_hint_valid, find_start_end).
 */
static void test_five_level_placement(void **state)
{
    (void)state;
    const unsigned long WIN = 0x7ffffffff000UL, TOP = (1UL << 56) - PG, H = 1UL << 52;
    struct mm_config cfg = { .task_size = TOP };
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);
    struct mm_stats st;
    /* No hint, or a hint below the window: below mmap_base, in the window. */
    long a = mm_mmap(mm, 0, 16 * PG, RW, PA, NULL, 0);
    assert_true(a > 0 && (unsigned long)a + 16 * PG <= WIN - (128UL << 20));
    /* A free hint beyond the window is taken as it is. */
    assert_int_equal(mm_mmap(mm, H, 4 * PG, RW, PA, NULL, 0), (long)H);
    /* Taken: the search runs top-down from mmap_base moved up by what lies
     * above the window, so it lands just below the top of the task. */
    long b = mm_mmap(mm, H, 4 * PG, RW, PA, NULL, 0);
    assert_true((unsigned long)b > WIN);
    assert_int_equal((unsigned long)b, TOP - (WIN - mm->cfg.mmap_base) - 4 * PG);
    /* A hint whose range straddles the window's top is not valid: the
     * mapping goes below mmap_base. */
    long c = mm_mmap(mm, WIN - PG, 2 * PG, RW, PA, NULL, 0);
    assert_true(c > 0 && (unsigned long)c < WIN);
    /* One entirely above is; one reaching past the task size is not, but
     * still beyond the window, so the search covers the whole task. */
    assert_int_equal(mm_mmap(mm, WIN + PG, 2 * PG, RW, PA, NULL, 0), (long)(WIN + PG));
    assert_int_equal(mm_mmap(mm, TOP - PG, 2 * PG, RW, PA, NULL, 0), b - (long)(2 * PG));
    /* A length beyond the window but within the task: only with a high hint. */
    assert_int_equal(mm_mmap(mm, 0, 1UL << 48, RW, PA | MAP_NORESERVE, NULL, 0), -ENOMEM);
    assert_int_equal(mm_mmap(mm, 1UL << 53, 1UL << 48, RW, PA | MAP_NORESERVE, NULL, 0),
                     (long)(1UL << 53));
    /* Memory beyond 48 bits works like any other. */
    unsigned char x = 0x5a, y = 0;
    assert_int_equal(mm_write(mm, H + 3 * PG + 7, &x, 1), 1);
    assert_int_equal(mm_read(mm, H + 3 * PG + 7, &y, 1), 1);
    assert_int_equal(y, 0x5a);
    assert_int_equal(mm_mremap(mm, H, 4 * PG, 8 * PG, MREMAP_MAYMOVE, 0), (long)H);
    assert_int_equal(mm_munmap(mm, 1UL << 53, 1UL << 48), 0);
    assert_int_equal(mm_munmap(mm, H, TOP), -EINVAL);   /* len > TASK_SIZE - start */
    mm_get_stats(mm, &st);
    assert_int_equal(st.rss_anon, 1);
    mmput(mm);
}

/* A driver may keep its pages past the mm's end: they pin the mm's pool. */
static void test_page_outlives_mm(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    struct vm_page *page = vm_page_alloc(mm);
    assert_non_null(page);
    vm_page_get(page);
    mmput(mm);                                 /* the last user and count... */
    memset(vm_page_address(page), 1, PG);      /* ...but the page is still good */
    vm_page_put(page);
    vm_page_put(page);                         /* frees the page, then the mm */
}

/* Huge pages: a THP where an aligned 2 MiB is free of tables, 4 KiB pages
 * when the memory limit leaves no room for 512 frames. */
static void test_thp_fault_and_fallback(void **state)
{
    (void)state;
    struct mm_config cfg = { .thp = MM_THP_ALWAYS };
    struct mm *mm = mm_create(&cfg);
    unsigned long b = W + (64UL << 20);
    char c = 1;
    assert_int_equal(mm_mmap(mm, b, 4UL << 20, RW, FX, NULL, 0), (long)b);
    assert_int_equal(mm_write(mm, b + 5, &c, 1), 1);
    assert_int_equal(stats(mm).rss_anon, 512);
    assert_int_equal(mm_read(mm, b + (2UL << 20), &c, 1), 1);   /* the huge zero page */
    assert_int_equal(stats(mm).rss_anon, 512);
    assert_int_equal(mm_madvise(mm, b, 4UL << 20, MADV_DONTNEED), 0);
    assert_int_equal(stats(mm).rss_anon, 0);
    mmput(mm);

    cfg.memory_limit = 1UL << 20;   /* 256 frames: no THP fits */
    mm = mm_create(&cfg);
    assert_int_equal(mm_mmap(mm, b, 4UL << 20, RW, FX, NULL, 0), (long)b);
    assert_int_equal(mm_write(mm, b + 5, &c, 1), 1);
    assert_int_equal(stats(mm).rss_anon, 1);
    assert_int_equal(mm_munmap(mm, b, 4UL << 20), 0);
    assert_int_equal(frames_in_use(mm), 0);
    mmput(mm);
}

/*
 * A folio split by advice over part of a THP that mprotect had cut into
 * VMAs of different protections: the zero pages it maps over all-zero
 * subpages take each subpage's own VMA's protection.  Both directions, with
 * each advice that splits a folio.
 */
static void test_thp_split_keeps_protection(void **state)
{
    (void)state;
    static const int advice[] = { MADV_COLD, MADV_PAGEOUT, MADV_FREE };
    for (size_t i = 0; i < sizeof(advice) / sizeof(advice[0]); i++) {
        struct mm_config cfg = { .thp = MM_THP_ALWAYS };
        struct mm *mm = mm_create(&cfg);
        unsigned long w = 0x100000600000UL;
        char buf[8];
        /* Readable pages outside the advised range, next to PROT_NONE ones. */
        assert_int_equal(mm_mmap(mm, w, 2UL << 20, RW, FX | MAP_POPULATE, NULL, 0), (long)w);
        assert_int_equal(mm_mprotect(mm, w + 0x37000, 0xdb000, PROT_NONE), 0);
        assert_int_equal(mm_madvise(mm, w + 0x8c000, 0x2000, advice[i]), 0);
        assert_int_equal(mm_fault(mm, w + 0x113000, 0), 0);
        assert_int_equal(mm_read(mm, w + 0x113000, buf, 8), 8);
        assert_int_equal(mm_read(mm, w + 0x8c000, buf, 8), -EACCES);
        assert_int_equal(mm_read(mm, w, buf, 8), 8);
        mmput(mm);

        /* PROT_NONE pages outside the advised range, next to readable ones. */
        mm = mm_create(&cfg);
        static char ones[(2UL << 20) - PG];
        memset(ones, 1, sizeof(ones));
        assert_int_equal(mm_mmap(mm, w, 2UL << 20, RW, FX, NULL, 0), (long)w);
        assert_int_equal(mm_write(mm, w + PG, ones, sizeof(ones)), (long)sizeof(ones));
        assert_int_equal(mm_mprotect(mm, w, PG, PROT_NONE), 0);
        assert_int_equal(mm_madvise(mm, w + (1UL << 20), 2 * PG, advice[i]), 0);
        assert_int_equal(mm_fault(mm, w, 0), -EACCES);
        assert_int_equal(mm_read(mm, w, buf, 1), -EACCES);
        assert_int_equal(mm_read(mm, w + PG, buf, 1), 1);
        mmput(mm);
    }
}

/* MADV_COLLAPSE keeps every byte, takes 512 pages for the 2 MiB, and frees
 * the small pages it copied. */
static void test_collapse_keeps_contents(void **state)
{
    (void)state;
    struct mm_config cfg = { .thp = MM_THP_NEVER };
    struct mm *mm = mm_create(&cfg);
    unsigned long b = 0x100000600000UL;
    assert_int_equal(mm_mmap(mm, b, 2UL << 20, RW, FX, NULL, 0), (long)b);
    for (unsigned long i = 0; i < 512; i += 3) {
        unsigned long v = i * 0x9e3779b97f4a7c15UL;
        assert_int_equal(mm_write(mm, b + i * PG + 40, &v, sizeof(v)), sizeof(v));
    }
    assert_int_equal(stats(mm).rss_anon, 171);
    assert_int_equal(mm_madvise(mm, b, 2UL << 20, MADV_COLLAPSE), 0);
    assert_int_equal(stats(mm).rss_anon, 512);
    for (unsigned long i = 0; i < 512; i++) {
        unsigned long v, want = i % 3 ? 0 : i * 0x9e3779b97f4a7c15UL;
        assert_int_equal(mm_read(mm, b + i * PG + 40, &v, sizeof(v)), sizeof(v));
        assert_int_equal(v, want);
    }
    assert_int_equal(mm_madvise(mm, b, 2UL << 20, MADV_COLLAPSE), 0);   /* already one */
    assert_int_equal(mm_munmap(mm, b, 2UL << 20), 0);
    assert_int_equal(frames_in_use(mm), 0);
    mmput(mm);
}

static int count_mapped(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    (void)addr;
    (void)ptep;
    if (pte_present(pte) && !pte_special(pte))
        ++*(unsigned long *)arg;
    return 0;
}

/* Random THP-sized traffic in a 16 MiB region: faults, zaps, splits, folio
 * splits, advice, unmaps.  Rss must match the entries, and at the end every
 * frame and table must come back. */
static void test_thp_random(void **state)
{
    (void)state;
    struct mm_config cfg = { .thp = MM_THP_MADVISE, .memory_limit = 24UL << 20 };
    struct mm *mm = mm_create(&cfg);
    unsigned long b = W + (128UL << 20), len = 16UL << 20;
    unsigned long x = 0x2545f4914f6cdd1dUL;
    assert_int_equal(mm_mmap(mm, b, len, RW, FX, NULL, 0), (long)b);
    assert_int_equal(mm_madvise(mm, b, len, MADV_HUGEPAGE), 0);
    unsigned long thps = 0;
    static const int advice[] = { MADV_DONTNEED, MADV_FREE, MADV_COLD, MADV_PAGEOUT, MADV_NOHUGEPAGE,
                                  MADV_HUGEPAGE, MADV_POPULATE_WRITE, MADV_POPULATE_READ, 102, 103 };
    for (int i = 0; i < 3000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned long off = (x >> 8) % (len / PG) * PG;
        unsigned long n = ((x >> 40) % 4 == 0 ? (x >> 44) % 1024 : (x >> 44) % 8) * PG + PG;
        if (off + n > len)
            n = len - off;
        char c = (char)x;
        switch ((x >> 3) % 8) {
        case 0: case 1: {
            unsigned long before = stats(mm).rss_anon;
            mm_write(mm, b + off, &c, 1);
            thps += stats(mm).rss_anon >= before + 512;
            break;
        }
        case 2: mm_read(mm, b + off, &c, 1); break;
        case 3: mm_madvise(mm, b + off, n, advice[(x >> 20) % 10]); break;
        case 4: mm_mprotect(mm, b + off, n, (x >> 24) % 2 ? PROT_READ : RW); break;
        case 5: mm_mlock(mm, b + off, n, 0); mm_munlock(mm, b + off, n); break;
        case 6:
            mm_munmap(mm, b + off, n);
            mm_mmap(mm, b + off, n, RW, FX, NULL, 0);
            mm_madvise(mm, b + off, n, MADV_HUGEPAGE);
            break;
        default:   /* a whole aligned 2 MiB: back to "no table", room for a THP */
            mm_madvise(mm, b + (off & ~((2UL << 20) - 1)), 2UL << 20, MADV_DONTNEED);
            break;
        }
        if (i % 100 == 0) {
            MMAP_READ_GUARD(g, mm);
            unsigned long mapped = 0;
            pgtable_for_each(&mm->pgt, 0, pgtable_limit(&mm->pgt), count_mapped, &mapped);
            assert_int_equal(mapped, stats(mm).rss_anon);
        }
    }
    /* The mix must really have made huge pages. */
    print_message("thp random: %lu faults, %lu of them huge pages\n", stats(mm).faults, thps);
    assert_true(thps > 10);
    assert_int_equal(mm_munmap(mm, b, len), 0);
    assert_int_equal(frames_in_use(mm), 0);
    assert_int_equal(stats(mm).pgtable_bytes, 0);
    mmput(mm);
}

/* The frame behind a present entry. */
static uintptr_t frame_at(struct mm *mm, unsigned long addr)
{
    rcu_read_lock();
    pte_t _Atomic *ptep = pgtable_walk(&mm->pgt, addr);
    pte_t pte = ptep ? ptep_get(ptep) : 0;
    rcu_read_unlock();
    assert_true(pte_present(pte));
    return (uintptr_t)page_address(pte_page(pte));
}

/*
 * A zap gives its frames back in the order it met them, so faults that walk
 * up the addresses again get frames in ascending order, as the first time:
 * the host zeroes frames in that order ~130 ns faster each (bench_memory).
 * Through the deferred free (vm_call_rcu) too.
 */
static void test_zap_keeps_frame_order(void **state)
{
    (void)state;
    const unsigned long n = 1024;
    struct mm *mm = mm_create(NULL);
    assert_int_equal(mm_mmap(mm, W, n * PG, RW, FX, NULL, 0), (long)W);
    for (int round = 0; round < 3; round++) {
        for (unsigned long i = 0; i < n; i++)
            assert_int_equal(mm_fault(mm, W + i * PG, FAULT_FLAG_WRITE), 0);
        unsigned long ascending = 0;
        for (unsigned long i = 1; i < n; i++)
            ascending += frame_at(mm, W + i * PG) > frame_at(mm, W + (i - 1) * PG);
        /* Chunks of 512 frames may lie anywhere relative to each other. */
        assert_true(ascending >= n - 1 - n / 512);
        assert_int_equal(mm_madvise(mm, W, n * PG, MADV_DONTNEED), 0);
        vm_rcu_barrier();
    }
    mmput(mm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_page_then_cow),
        cmocka_unit_test(test_access_errors),
        cmocka_unit_test(test_mprotect_keeps_pages),
        cmocka_unit_test(test_zap_single),
        cmocka_unit_test(test_dontneed),
        cmocka_unit_test(test_munmap_frees),
        cmocka_unit_test(test_mixed_map),
        cmocka_unit_test(test_fault_hook_answers),
        cmocka_unit_test(test_guest_race_is_quiet),
        cmocka_unit_test(test_try_clear),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_populate),
        cmocka_unit_test(test_stack_growth),
        cmocka_unit_test(test_faults_race_zaps),
        cmocka_unit_test(test_lock_fallback),
        cmocka_unit_test(test_guard_regions),
        cmocka_unit_test(test_page_outlives_mm),
        cmocka_unit_test(test_task_size_limit),
        cmocka_unit_test(test_five_level_placement),
        cmocka_unit_test(test_thp_fault_and_fallback),
        cmocka_unit_test(test_thp_random),
        cmocka_unit_test(test_thp_split_keeps_protection),
        cmocka_unit_test(test_collapse_keeps_contents),
        cmocka_unit_test(test_zap_keeps_frame_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * Shared memory between address spaces: one memfd mapped by several mms,
 * which the host cannot show in one process (tests/diff/test_memfd.c
 * compares a single process with the host).  Pages are the same pages in
 * every mm, counted as shared by each; an mm that goes first leaves its
 * pages to the others; a truncation or a punched hole reaches every mm; and
 * all of it while other threads fault and write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define A  0x200000000000UL
#define B  0x300000000000UL
#define PG 4096UL
#define RW (PROT_READ | PROT_WRITE)

static struct mm *new_mm(void)
{
    struct mm *mm = mm_create(NULL);
    assert_non_null(mm);
    return mm;
}

static void map(struct mm *mm, unsigned long addr, unsigned long pages, int flags, struct vm_file *f)
{
    assert_int_equal(mm_mmap(mm, addr, pages * PG, RW, flags | MAP_FIXED, f, 0), (long)addr);
}

static char peek(struct mm *mm, unsigned long addr)
{
    char c;
    assert_int_equal(mm_read(mm, addr, &c, 1), 1);
    return c;
}

static void poke(struct mm *mm, unsigned long addr, char c)
{
    assert_int_equal(mm_write(mm, addr, &c, 1), 1);
}

static void test_two_mms_share_pages(void **state)
{
    (void)state;
    struct vm_file *f = vm_file_memfd("shared", 4 * PG);
    assert_non_null(f);
    struct mm *a = new_mm(), *b = new_mm();
    map(a, A, 4, MAP_SHARED, f);
    map(b, B, 4, MAP_SHARED, f);
    map(b, B + 8 * PG, 4, MAP_PRIVATE, f);
    poke(a, A + PG, 'a');
    assert_int_equal(peek(b, B + PG), 'a');
    assert_int_equal(peek(b, B + 9 * PG), 'a');   /* private, before its first write */
    poke(b, B + 9 * PG, 'p');                     /* the private copy */
    poke(b, B + PG, 'b');
    assert_int_equal(peek(a, A + PG), 'b');
    assert_int_equal(peek(b, B + 9 * PG), 'p');
    struct mm_stats sa, sb;
    mm_get_stats(a, &sa);
    mm_get_stats(b, &sb);
    assert_int_equal(sa.rss_shmem, 1);
    assert_int_equal(sb.rss_shmem, 1);
    assert_int_equal(sb.rss_anon, 1);

    /* a goes first: its frames stay for b until the memfd lets them go. */
    mmput(a);
    vm_file_put(f);   /* only the VMAs hold the object now */
    assert_int_equal(peek(b, B + PG), 'b');
    poke(b, B + 2 * PG, 'c');
    assert_int_equal(peek(b, B + 2 * PG), 'c');
    mmput(b);
}

static void test_truncate_reaches_every_mm(void **state)
{
    (void)state;
    struct vm_file *f = vm_file_memfd("t", 4 * PG);
    struct mm *a = new_mm(), *b = new_mm();
    map(a, A, 4, MAP_SHARED, f);
    map(b, B, 4, MAP_SHARED, f);
    for (unsigned long i = 0; i < 4; i++)
        poke(a, A + i * PG, (char)('0' + i));
    assert_int_equal(peek(b, B + 3 * PG), '3');
    assert_int_equal(vm_file_truncate(f, 2 * PG), 0);
    char c;
    assert_int_equal(mm_read(b, B + 3 * PG, &c, 1), -EIO);
    assert_int_equal(mm_read(a, A + 2 * PG, &c, 1), -EIO);
    struct mm_stats s;
    mm_get_stats(b, &s);
    assert_int_equal(s.rss_shmem, 2);   /* fault-around had mapped all four: two stay */
    assert_int_equal(vm_file_truncate(f, 4 * PG), 0);
    assert_int_equal(peek(b, B + 3 * PG), 0);   /* a new, zeroed page */
    assert_int_equal(peek(b, B + 1 * PG), '1');
    assert_int_equal(vm_file_add_seals(f, F_SEAL_SHRINK), 0);
    assert_int_equal(vm_file_truncate(f, PG), -EPERM);
    assert_int_equal(vm_file_add_seals(f, F_SEAL_WRITE), -EBUSY);   /* shared writable mappings */
    mmput(a);
    mmput(b);
    assert_int_equal(vm_file_add_seals(f, F_SEAL_WRITE), 0);
    struct mm *c2 = new_mm();
    assert_int_equal(mm_mmap(c2, A, 4 * PG, RW, MAP_SHARED | MAP_FIXED, f, 0), -EPERM);
    vm_file_put(f);
    mmput(c2);
    assert_null(vm_file_memfd(NULL, PG));
    assert_int_equal(errno, EFAULT);
    char longname[300];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    assert_null(vm_file_memfd(longname, PG));
    assert_int_equal(errno, EINVAL);
    assert_int_equal(vm_file_truncate(NULL, 0), -EINVAL);
}

/* Writers in two mms against punches and truncations from a third thread:
 * every access either succeeds or is SIGBUS past the end, and nothing
 * leaks or breaks (the sanitizer builds run this). */
struct racer {
    struct mm *mm;
    unsigned long base;
    atomic_bool *stop;
    atomic_ulong ok, bus;
};

static void *race_writes(void *arg)
{
    struct racer *r = arg;
    unsigned long i = 0;
    while (!atomic_load(r->stop)) {
        char c = (char)i;
        long n = mm_write(r->mm, r->base + (i % 16) * PG, &c, 1);
        if (n == 1)
            atomic_fetch_add(&r->ok, 1);
        else if (n == -EIO)
            atomic_fetch_add(&r->bus, 1);
        else
            fail_msg("mm_write gave %ld", n);
        i++;
    }
    return NULL;
}

static void test_racing_truncation(void **state)
{
    (void)state;
    struct vm_file *f = vm_file_memfd("race", 16 * PG);
    struct mm *a = new_mm(), *b = new_mm();
    map(a, A, 16, MAP_SHARED, f);
    map(b, B, 16, MAP_SHARED, f);
    atomic_bool stop = false;
    struct racer ra = { a, A, &stop, 0, 0 }, rb = { b, B, &stop, 0, 0 };
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, race_writes, &ra), 0);
    assert_int_equal(pthread_create(&tb, NULL, race_writes, &rb), 0);
    /* At least 2,000 rounds, and on until both writers have run a while
     * (on a loaded machine they may start late). */
    for (int i = 0; i < 2000 || ((atomic_load(&ra.ok) < 1000 || atomic_load(&rb.ok) < 1000) && i < 10000000);
         i++) {
        assert_int_equal(vm_file_truncate(f, (unsigned long)(i % 16) * PG), 0);
        assert_int_equal(vm_file_truncate(f, 16 * PG), 0);
        assert_int_equal(mm_madvise(a, A + (unsigned long)(i % 8) * PG, 2 * PG, MADV_REMOVE), 0);
    }
    atomic_store(&stop, true);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    print_message("writes: %lu + %lu done, %lu + %lu SIGBUS\n", atomic_load(&ra.ok), atomic_load(&rb.ok),
                  atomic_load(&ra.bus), atomic_load(&rb.bus));
    assert_true(atomic_load(&ra.ok) >= 1000 && atomic_load(&rb.ok) >= 1000);
    mmput(a);
    mmput(b);
    vm_file_put(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_mms_share_pages),
        cmocka_unit_test(test_truncate_reaches_every_mm),
        cmocka_unit_test(test_racing_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

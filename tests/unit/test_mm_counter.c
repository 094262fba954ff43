/* SPDX-License-Identifier: MIT */
/*
 * The mm's counters split per thread (src/mm_counter.c): the sums stay exact
 * while threads fault and zap in one mm, move between mms, exit, and outlive
 * an mm their share counted for.  Run under ThreadSanitizer, valgrind and
 * ASan in CI.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sys/wait.h>

#include "internal.h"
#include "rcu.h"

#define NTHREADS 4
#define PAGES_PER_THREAD 256

static struct mm *new_mm(void)
{
    struct mm_config cfg = { .thp = MM_THP_NEVER };
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);
    return mm;
}

static unsigned long map_pages(struct mm *mm, unsigned long pages)
{
    long a = mm_mmap(mm, 0, pages * PAGE_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
    assert_true(a > 0);
    return (unsigned long)a;
}

static struct mm_stats stats_of(struct mm *mm)
{
    struct mm_stats s;
    mm_get_stats(mm, &s);
    return s;
}

struct worker {
    pthread_t thread;
    struct mm *mm;
    unsigned long addr;          /* this worker's PAGES_PER_THREAD pages */
    struct mm *other;            /* if set: alternate with this mm */
    unsigned long other_addr;
    int err;
};

/* Write-fault each page, alternating mms after every page if asked (each
 * switch moves the thread's share), then zap the first half of them. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (unsigned long i = 0; i < PAGES_PER_THREAD && !w->err; i++) {
        w->err = mm_fault(w->mm, w->addr + i * PAGE_SIZE, FAULT_FLAG_WRITE);
        if (w->other && !w->err)
            w->err = mm_fault(w->other, w->other_addr + i * PAGE_SIZE, FAULT_FLAG_WRITE);
    }
    if (!w->err)
        w->err = mm_madvise(w->mm, w->addr, PAGES_PER_THREAD / 2 * PAGE_SIZE, MADV_DONTNEED);
    return NULL;
}

static void run_workers(struct mm *mm, struct mm *other)
{
    struct worker w[NTHREADS];
    unsigned long base = map_pages(mm, NTHREADS * PAGES_PER_THREAD);
    unsigned long other_base = other ? map_pages(other, NTHREADS * PAGES_PER_THREAD) : 0;
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){ .mm = mm, .addr = base + i * PAGES_PER_THREAD * PAGE_SIZE,
                                .other = other,
                                .other_addr = other_base + i * PAGES_PER_THREAD * PAGE_SIZE };
        assert_int_equal(pthread_create(&w[i].thread, NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_join(w[i].thread, NULL), 0);
        assert_int_equal(w[i].err, 0);
    }
}

/* Threads that fault and zap in one mm, then exit: their shares fold into
 * the mm, and the sums are what they did. */
static void test_threads_one_mm(void **state)
{
    (void)state;
    struct mm *mm = new_mm();
    struct mm_stats before = stats_of(mm);
    run_workers(mm, NULL);
    struct mm_stats s = stats_of(mm);
    assert_int_equal(s.rss_anon, NTHREADS * PAGES_PER_THREAD / 2);
    assert_int_equal(s.faults - before.faults, NTHREADS * PAGES_PER_THREAD);
    assert_int_equal(s.zapped - before.zapped, NTHREADS * PAGES_PER_THREAD / 2);
    /* and this thread's own additions on top (it counts through a share too) */
    unsigned long a = map_pages(mm, 8);
    for (unsigned long i = 0; i < 8; i++)
        assert_int_equal(mm_fault(mm, a + i * PAGE_SIZE, FAULT_FLAG_WRITE), 0);
    s = stats_of(mm);
    assert_int_equal(s.rss_anon, NTHREADS * PAGES_PER_THREAD / 2 + 8);
    assert_int_equal(s.faults - before.faults, NTHREADS * PAGES_PER_THREAD + 8);
    mmput(mm);
}

/* Every fault switches the thread to the other mm: each switch folds a
 * share into the mm left behind, and neither sum loses or repeats a count. */
static void test_threads_two_mms(void **state)
{
    (void)state;
    struct mm *a = new_mm(), *b = new_mm();
    run_workers(a, b);
    struct mm_stats sa = stats_of(a), sb = stats_of(b);
    assert_int_equal(sa.rss_anon, NTHREADS * PAGES_PER_THREAD / 2);
    assert_int_equal(sb.rss_anon, NTHREADS * PAGES_PER_THREAD);
    assert_int_equal(sa.faults, NTHREADS * PAGES_PER_THREAD);
    assert_int_equal(sb.faults, NTHREADS * PAGES_PER_THREAD);
    assert_int_equal(sa.zapped, NTHREADS * PAGES_PER_THREAD / 2);
    assert_int_equal(sb.zapped, 0);
    mmput(a);
    mmput(b);
}

/* A thread's share outlives the mm it counted for: the thread goes on in a
 * new mm (reading nothing of the freed one, which valgrind and ASan would
 * see), and the new mm starts from zero. */
static void test_share_outlives_mm(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        struct mm *mm = new_mm();
        unsigned long a = map_pages(mm, 4);
        for (unsigned long i = 0; i < 4; i++)
            assert_int_equal(mm_fault(mm, a + i * PAGE_SIZE, FAULT_FLAG_WRITE), 0);
        struct mm_stats s = stats_of(mm);
        assert_int_equal(s.rss_anon, 4);
        assert_int_equal(s.faults, 4);
        mmput(mm);   /* the last reference: the share is detached */
    }
    struct mm *mm = new_mm();
    struct mm_stats s = stats_of(mm);
    assert_int_equal(s.rss_anon, 0);
    assert_int_equal(s.faults, 0);
    mmput(mm);
}

/* A fork while another thread moves between mms (and so takes the share
 * lock): the child can still count, so the lock was not left held.  The
 * forks begin once the switcher has mapped and made its share, so that it
 * is never inside malloc at a fork: gcc 12's ASan allocator has no fork
 * handlers, and its lock held across a fork hangs the child's malloc. */
static atomic_bool stop_switching, switching;

static void *switcher(void *arg)
{
    struct mm **mms = arg;
    unsigned long addr[2];
    for (int i = 0; i < 2; i++)
        addr[i] = map_pages(mms[i], 1);
    int err = mm_fault(mms[0], addr[0], FAULT_FLAG_WRITE) |
              mm_fault(mms[1], addr[1], FAULT_FLAG_WRITE);
    atomic_store(&switching, true);
    if (err)
        return (void *)1;
    for (unsigned long n = 0; !atomic_load(&stop_switching); n++)
        if (mm_fault(mms[n % 2], addr[n % 2], FAULT_FLAG_WRITE))
            return (void *)1;
    return NULL;
}

static void test_fork_while_switching(void **state)
{
    (void)state;
    struct mm *mms[2] = { new_mm(), new_mm() };
    vm_rcu_barrier();   /* the earlier tests' frees are done */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, switcher, mms), 0);
    while (!atomic_load(&switching))
        sched_yield();
    for (int i = 0; i < 20; i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct mm *mm = new_mm();
            unsigned long a = map_pages(mm, 1);
            int err = mm_fault(mm, a, FAULT_FLAG_WRITE);
            struct mm_stats s = stats_of(mm);
            _exit(err == 0 && s.faults == 1 && s.rss_anon == 1 ? 0 : 1);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    atomic_store(&stop_switching, true);
    void *ret;
    assert_int_equal(pthread_join(t, &ret), 0);
    assert_null(ret);
    mmput(mms[0]);
    mmput(mms[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_one_mm),
        cmocka_unit_test(test_threads_two_mms),
        cmocka_unit_test(test_share_outlives_mm),
        cmocka_unit_test(test_fork_while_switching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * Debug builds check that a VMA accessor runs with a lock held by the calling
 * thread: the mmap lock of the VMA's mm, or that VMA's read lock.  Each case
 * runs in a child, which must die of the failed check (SIGABRT) when
 * VMAREA_DEBUG is on; the same calls with the lock held must pass.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

#define W 0x200000000000UL

static struct mm *make_mm(void)
{
    struct mm *mm = mm_create(NULL);
    assert_non_null(mm);
    assert_true(mm_mmap(mm, W, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0) == (long)W);
    return mm;
}

/* Run fn in a child; return its wait status. */
static int in_child(void (*fn)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    return status;
}

static void after_unlock(void)
{
    struct mm *mm = make_mm();
    struct mmap_read_guard g = mmap_read_lock(mm);
    const struct vma_ref *v = vma_lookup(&g, W);
    mmap_read_unlock(&g);
    (void)vma_start(v);            /* the guard is gone */
}

static void *other_thread(void *arg)
{
    (void)vma_end((const struct vma_ref *)arg);   /* another thread holds the lock */
    return NULL;
}

static void from_other_thread(void)
{
    struct mm *mm = make_mm();
    MMAP_READ_GUARD(g, mm);
    const struct vma_ref *v = vma_lookup(&g, W);
    pthread_t t;
    pthread_create(&t, NULL, other_thread, (void *)v);
    pthread_join(t, NULL);
}

static void after_vma_end_read(void)
{
    struct mm *mm = make_mm();
    const struct vma_ref *v = lock_vma_under_rcu(mm, W);
    if (!v)
        _exit(3);
    vma_end_read(v);
    (void)vma_flags(v);
}

static void correct_use(void)
{
    struct mm *mm = make_mm();
    {
        MMAP_READ_GUARD(g, mm);
        const struct vma_ref *v = vma_lookup(&g, W);
        if (vma_start(v) != W || vma_end(v) != W + PAGE_SIZE)
            _exit(2);
    }
    const struct vma_ref *v = lock_vma_under_rcu(mm, W);
    if (!v || vma_start(v) != W)
        _exit(2);
    vma_end_read(v);
    mmput(mm);
}

static void expect_abort(void (*fn)(void))
{
    int status = in_child(fn);
#ifdef VMAREA_DEBUG
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
#else
    (void)status;
    skip();   /* release builds do not check */
#endif
}

static void test_after_unlock(void **s) { (void)s; expect_abort(after_unlock); }
static void test_other_thread(void **s) { (void)s; expect_abort(from_other_thread); }
static void test_after_end_read(void **s) { (void)s; expect_abort(after_vma_end_read); }

static void test_correct_use(void **s)
{
    (void)s;
    int status = in_child(correct_use);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_correct_use),
        cmocka_unit_test(test_after_unlock),
        cmocka_unit_test(test_other_thread),
        cmocka_unit_test(test_after_end_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

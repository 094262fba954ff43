/* SPDX-License-Identifier: MIT */
/*
 * vm_call_rcu and vm_rcu_barrier (src/rcu.c): callbacks run oldest first,
 * only after every read-side critical section that was running when they
 * were queued, from any number of threads, after the worker has gone to
 * sleep, and in a fork child.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "rcu.h"

struct item {
    struct rcu_head head;
    int index;
};

static int ran[1000];
static atomic_int nran;
static atomic_long counted;

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void record_cb(struct rcu_head *head)
{
    struct item *it = caa_container_of(head, struct item, head);
    ran[atomic_fetch_add(&nran, 1)] = it->index;
    free(it);
}

static void queue_record(int index)
{
    struct item *it = malloc(sizeof(*it));
    assert_non_null(it);
    it->index = index;
    vm_call_rcu(&it->head, record_cb);
}

/* Callbacks run in the order queued, and the barrier waits for all of them. */
static void test_order_and_barrier(void **state)
{
    (void)state;
    atomic_store(&nran, 0);
    for (int i = 0; i < 1000; i++) {
        queue_record(i);
        if (i % 97 == 0)
            sleep_ms(1);   /* spread over several of the worker's batches */
    }
    vm_rcu_barrier();
    assert_int_equal(atomic_load(&nran), 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ran[i], i);
}

static atomic_int reader_phase;   /* 1: inside rcu_read_lock; 2: may leave */

static void *reader(void *arg)
{
    (void)arg;
    rcu_read_lock();
    atomic_store(&reader_phase, 1);
    while (atomic_load(&reader_phase) != 2)
        sleep_ms(1);
    rcu_read_unlock();
    return NULL;
}

static void count_cb(struct rcu_head *head)
{
    atomic_fetch_add(&counted, 1);
    free(head);
}

/* For heads the test frees itself. */
static void count_cb_static(struct rcu_head *head)
{
    (void)head;
    atomic_fetch_add(&counted, 1);
}

static void queue_count(void)
{
    struct rcu_head *h = malloc(sizeof(*h));
    assert_non_null(h);
    vm_call_rcu(h, count_cb);
}

/* A reader inside its critical section when the callback is queued holds
 * the callback back until it leaves. */
static void test_waits_for_reader(void **state)
{
    (void)state;
    pthread_t t;
    atomic_store(&reader_phase, 0);
    atomic_store(&counted, 0);
    assert_int_equal(pthread_create(&t, NULL, reader, NULL), 0);
    while (atomic_load(&reader_phase) != 1)
        sleep_ms(1);
    queue_count();
    sleep_ms(50);   /* many of the worker's polls */
    assert_int_equal(atomic_load(&counted), 0);
    atomic_store(&reader_phase, 2);
    pthread_join(t, NULL);
    vm_rcu_barrier();
    assert_int_equal(atomic_load(&counted), 1);
}

/* After more than its idle spell the worker sleeps on its futex; the next
 * call must wake it (a lost wake-up hangs the barrier). */
static void test_wakes_after_idle(void **state)
{
    (void)state;
    atomic_store(&counted, 0);
    for (int round = 0; round < 3; round++) {
        vm_rcu_barrier();
        sleep_ms(250);
        queue_count();
        vm_rcu_barrier();
        assert_int_equal(atomic_load(&counted), round + 1);
    }
}

static void *queuer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++)
        queue_count();
    return NULL;
}

/* Many threads queue at once: every callback runs exactly once. */
static void test_concurrent_queuers(void **state)
{
    (void)state;
    atomic_store(&counted, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, queuer, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    vm_rcu_barrier();
    assert_int_equal(atomic_load(&counted), 80000);
}

/* The fork child pid exited with status 0. */
static void expect_child_ok(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static atomic_bool stop_queueing, queueing;

/*
 * No thread but the forking one may be inside malloc or free when fork
 * lands: gcc 12's ASan allocator has no fork handlers, and a child forked
 * while another thread held one of its locks hung in its first allocation
 * (the new worker's start), 2 runs in 30.  So the busy queuer's heads are
 * static, and the forks wait until it has left its thread start, where
 * ASan allocates.  glibc's malloc is fork-safe; what this test is about is
 * the library's own fork path.  A head is reused only after its callback
 * ran.
 */
#define BUSY_HEADS 256
static struct rcu_head busy_heads[BUSY_HEADS];
static atomic_bool busy_queued[BUSY_HEADS];

static void busy_cb(struct rcu_head *head)
{
    atomic_store(&busy_queued[head - busy_heads], false);
}

static void *busy_queuer(void *arg)
{
    (void)arg;
    atomic_store(&queueing, true);
    for (unsigned int i = 0; !atomic_load(&stop_queueing); i = (i + 1) % BUSY_HEADS) {
        if (!atomic_exchange(&busy_queued[i], true))
            vm_call_rcu(&busy_heads[i], busy_cb);
        sleep_ms(0);
    }
    return NULL;
}

/*
 * The worker does not survive fork; the child starts its own.  Forks land
 * while a thread keeps the parent's worker busy (a synchronize_rcu every
 * millisecond or so): a fork inside one must not leave liburcu's locks held
 * in the child.  An alarm turns a hang into a failure.
 */
static void test_fork_child(void **state)
{
    (void)state;
#if defined(__SANITIZE_THREAD__)
    skip();   /* TSan refuses to start threads in the child of a threaded fork */
#endif
    vm_rcu_barrier();   /* nothing of the earlier tests' left to free */
    pthread_t t;
    atomic_store(&stop_queueing, false);
    assert_int_equal(pthread_create(&t, NULL, busy_queuer, NULL), 0);
    while (!atomic_load(&queueing))
        sleep_ms(1);
    int status = 0;
    for (int i = 0; i < 40 && status == 0; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            status = -1;
            break;
        }
        if (pid == 0) {
            alarm(10);
            atomic_store(&counted, 0);
            static struct rcu_head h;
            vm_call_rcu(&h, count_cb_static);
            vm_rcu_barrier();
            _exit(atomic_load(&counted) >= 1 ? 0 : 1);
        }
        if (waitpid(pid, &status, 0) != pid)
            status = -1;
        sleep_ms(i % 3);
    }
    /* The queuer stops before any assertion, which would leave it running
     * into the next test. */
    atomic_store(&stop_queueing, true);
    pthread_join(t, NULL);
    vm_rcu_barrier();
    assert_int_equal(status, 0);   /* exited with 0: not killed by the alarm */
}

extern atomic_bool vm_rcu_no_thread_for_tests;   /* rcu.c */

/* Without a worker (no thread to be had) callbacks run in the caller, but
 * never inside a read-side critical section: those wait for a later call. */
static void test_no_worker(void **state)
{
    (void)state;
#if defined(__SANITIZE_THREAD__)
    skip();   /* the test needs a fork child, where TSan starts no threads */
#endif
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(10);
        atomic_store(&vm_rcu_no_thread_for_tests, true);
        atomic_store(&counted, 0);
        struct rcu_head *h = malloc(2 * sizeof(*h));
        if (!h)
            _exit(2);
        vm_call_rcu(&h[0], count_cb_static);
        if (atomic_load(&counted) != 1)
            _exit(3);   /* ran in the call */
        rcu_read_lock();
        vm_call_rcu(&h[1], count_cb_static);
        int inside = atomic_load(&counted);
        rcu_read_unlock();
        if (inside != 1)
            _exit(4);   /* must not run inside the critical section */
        vm_rcu_barrier();
        free(h);
        _exit(atomic_load(&counted) == 2 ? 0 : 5);
    }
    expect_child_ok(pid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_barrier),
        cmocka_unit_test(test_waits_for_reader),
        cmocka_unit_test(test_wakes_after_idle),
        cmocka_unit_test(test_concurrent_queuers),
        cmocka_unit_test(test_fork_child),
        cmocka_unit_test(test_no_worker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * The mmap lock's reader-writer lock (src/rwsem.h): mutual exclusion under
 * contention, read trylock's answers, and writer preference (a stream of
 * readers does not starve a writer).  Run under ThreadSanitizer in CI.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "rwsem.h"

static struct rwsem sem;
static long shared_a, shared_b;          /* equal whenever the lock is free */
static atomic_bool stop;
static atomic_long reads, writes, torn, overlap;
static atomic_int inside_readers, inside_writers;

static void *reader(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        rwsem_down_read(&sem);
        atomic_fetch_add(&inside_readers, 1);
        if (atomic_load(&inside_writers))
            atomic_fetch_add(&overlap, 1);
        if (shared_a != shared_b)
            atomic_fetch_add(&torn, 1);
        atomic_fetch_sub(&inside_readers, 1);
        rwsem_up_read(&sem);
        atomic_fetch_add(&reads, 1);
    }
    return NULL;
}

static void *writer(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        rwsem_down_write(&sem);
        if (atomic_fetch_add(&inside_writers, 1) || atomic_load(&inside_readers))
            atomic_fetch_add(&overlap, 1);
        shared_a++;
        sched_yield();   /* widen the window a reader could see a != b in */
        shared_b++;
        atomic_fetch_sub(&inside_writers, 1);
        rwsem_up_write(&sem);
        atomic_fetch_add(&writes, 1);
    }
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Readers and writers at once: never a writer beside anyone, never a torn
 * pair, and every thread makes progress. */
static void test_exclusion(void **state)
{
    (void)state;
    assert_int_equal(rwsem_init(&sem), 0);
    atomic_store(&stop, false);
    pthread_t r[4], w[2];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&r[i], NULL, reader, NULL), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&w[i], NULL, writer, NULL), 0);
    sleep_ms(500);
    atomic_store(&stop, true);
    for (int i = 0; i < 4; i++)
        pthread_join(r[i], NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    assert_int_equal(atomic_load(&torn), 0);
    assert_int_equal(atomic_load(&overlap), 0);
    assert_true(atomic_load(&reads) > 0);
    assert_true(atomic_load(&writes) > 0);
    assert_int_equal(shared_a, shared_b);
    assert_int_equal(atomic_load(&sem.count), 0);   /* free, no waiter left */
    rwsem_destroy(&sem);
}

static atomic_bool writer_done;

static void *one_writer(void *arg)
{
    (void)arg;
    rwsem_down_write(&sem);
    rwsem_up_write(&sem);
    atomic_store(&writer_done, true);
    return NULL;
}

/* Read trylock fails while a writer holds the lock or waits for it, and a
 * writer waiting behind readers gets the lock even though readers keep
 * coming (they wait behind it). */
static void test_trylock_and_writer_preference(void **state)
{
    (void)state;
    assert_int_equal(rwsem_init(&sem), 0);
    assert_true(rwsem_read_trylock(&sem));
    assert_true(rwsem_read_trylock(&sem));     /* readers share */
    assert_false(rwsem_write_trylock(&sem));
    rwsem_up_read(&sem);
    rwsem_up_read(&sem);
    assert_true(rwsem_write_trylock(&sem));
    assert_false(rwsem_read_trylock(&sem));
    rwsem_up_write(&sem);

    /* A reader holds it; a writer comes and waits. */
    rwsem_down_read(&sem);
    atomic_store(&writer_done, false);
    pthread_t w;
    assert_int_equal(pthread_create(&w, NULL, one_writer, NULL), 0);
    while (!(atomic_load(&sem.count) & RWSEM_WAITERS))
        sleep_ms(1);
    assert_false(rwsem_read_trylock(&sem));   /* the waiting writer goes first */
    /* Readers stream in from other threads meanwhile; they must queue. */
    atomic_store(&stop, false);
    atomic_store(&reads, 0);
    pthread_t r[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&r[i], NULL, reader, NULL), 0);
    sleep_ms(50);
    assert_false(atomic_load(&writer_done));
    assert_int_equal(atomic_load(&reads), 0);
    rwsem_up_read(&sem);                       /* the last reader out wakes the writer */
    pthread_join(w, NULL);
    assert_true(atomic_load(&writer_done));
    sleep_ms(50);
    assert_true(atomic_load(&reads) > 0);      /* and the readers then get in */
    atomic_store(&stop, true);
    for (int i = 0; i < 3; i++)
        pthread_join(r[i], NULL);
    assert_int_equal(atomic_load(&sem.count), 0);
    rwsem_destroy(&sem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exclusion),
        cmocka_unit_test(test_trylock_and_writer_preference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

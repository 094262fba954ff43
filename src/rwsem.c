/* SPDX-License-Identifier: MIT */
/*
 * rwsem.c — the slow paths of the reader-writer lock (rwsem.h): waiting and
 * waking, under wait_lock.  The fast paths are inline in rwsem.h.
 *
 * Writers are preferred: a reader waits while a writer holds the lock or
 * waits for it, so a stream of readers cannot starve a writer (the mmap
 * lock must not let lookups starve munmap).  A writer may still take a lock
 * that has just been freed ahead of one already waiting; the one waiting is
 * woken again by that writer's release.
 */
#include "rwsem.h"

int rwsem_init(struct rwsem *sem)
{
    atomic_init(&sem->count, 0);
    sem->nr_wait_readers = sem->nr_wait_writers = 0;
    int err = pthread_mutex_init(&sem->wait_lock, NULL);
    if (err)
        return err;
    err = pthread_cond_init(&sem->readers_cv, NULL);
    if (err)
        goto no_readers_cv;
    err = pthread_cond_init(&sem->writers_cv, NULL);
    if (err)
        goto no_writers_cv;
    return 0;
no_writers_cv:
    pthread_cond_destroy(&sem->readers_cv);
no_readers_cv:
    pthread_mutex_destroy(&sem->wait_lock);
    return err;
}

void rwsem_destroy(struct rwsem *sem)
{
    pthread_cond_destroy(&sem->writers_cv);
    pthread_cond_destroy(&sem->readers_cv);
    pthread_mutex_destroy(&sem->wait_lock);
}

/* Under wait_lock: the last waiter out clears WAITERS, so the fast paths are
 * fast again. */
static void waiter_leaves(struct rwsem *sem)
{
    if (!sem->nr_wait_readers && !sem->nr_wait_writers)
        atomic_fetch_and_explicit(&sem->count, ~RWSEM_WAITERS, memory_order_relaxed);
}

/*
 * Wait under wait_lock until the lock can be taken, and take it.  A reader
 * may take it when no writer holds it and none waits (writers go first); a
 * writer when nobody holds it.
 */
static void down_slow(struct rwsem *sem, bool write)
{
    pthread_cond_t *cv = write ? &sem->writers_cv : &sem->readers_cv;
    unsigned int *nr_waiting = write ? &sem->nr_wait_writers : &sem->nr_wait_readers;
    pthread_mutex_lock(&sem->wait_lock);
    ++*nr_waiting;
    atomic_fetch_or_explicit(&sem->count, RWSEM_WAITERS, memory_order_relaxed);
    unsigned int old = atomic_load_explicit(&sem->count, memory_order_relaxed);
    for (;;) {
        bool can = write ? !(old & ~RWSEM_WAITERS)
                         : !(old & RWSEM_WRITER) && !sem->nr_wait_writers;
        if (can) {
            unsigned int want = write ? old | RWSEM_WRITER : old + RWSEM_READER;
            if (atomic_compare_exchange_weak_explicit(&sem->count, &old, want,
                                                      memory_order_acquire, memory_order_relaxed))
                break;
            continue;   /* old reloaded */
        }
        pthread_cond_wait(cv, &sem->wait_lock);
        old = atomic_load_explicit(&sem->count, memory_order_relaxed);
    }
    --*nr_waiting;
    waiter_leaves(sem);
    pthread_mutex_unlock(&sem->wait_lock);
}

void rwsem_down_read_slow(struct rwsem *sem)
{
    down_slow(sem, false);
}

void rwsem_down_write_slow(struct rwsem *sem)
{
    down_slow(sem, true);
}

/* The lock has just become free (or readers-only) with WAITERS set: a writer
 * if one waits, else every reader. */
void rwsem_wake(struct rwsem *sem)
{
    pthread_mutex_lock(&sem->wait_lock);
    if (sem->nr_wait_writers)
        pthread_cond_signal(&sem->writers_cv);
    else if (sem->nr_wait_readers)
        pthread_cond_broadcast(&sem->readers_cv);
    pthread_mutex_unlock(&sem->wait_lock);
}

void rwsem_up_write_slow(struct rwsem *sem)
{
    atomic_fetch_and_explicit(&sem->count, ~RWSEM_WRITER, memory_order_release);
    rwsem_wake(sem);
}

/* SPDX-License-Identifier: MIT */
/*
 * rwsem.h — the reader-writer lock behind the mmap lock (Linux's rw_semaphore
 * in spirit): one locked instruction per acquire and per release when there
 * is no contention, writers preferred over new readers, blocking (not
 * spinning) when there is.
 *
 * count holds the whole state:
 *   RWSEM_WRITER   a writer holds the lock;
 *   RWSEM_WAITERS  someone waits in the slow path (set and cleared under
 *                  wait_lock): new readers go to the slow path, and the
 *                  releaser that leaves the lock free wakes the waiters;
 *   readers * RWSEM_READER.
 * Invariant: WRITER and a nonzero reader count are never both set.
 *
 * The waiters' counts live under wait_lock; a waiter sets WAITERS, then
 * checks count, then sleeps on its condition variable, all under wait_lock,
 * and a releaser that saw WAITERS takes wait_lock before it wakes anyone, so
 * a wake-up cannot fall between a waiter's check and its sleep.
 */
#ifndef VMAREA_RWSEM_H
#define VMAREA_RWSEM_H

#include "mm_base.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define RWSEM_WRITER  1U
#define RWSEM_WAITERS 2U
#define RWSEM_READER  4U

struct rwsem {
    atomic_uint count;
    pthread_mutex_t wait_lock;
    pthread_cond_t readers_cv, writers_cv;
    unsigned int nr_wait_readers, nr_wait_writers;   /* under wait_lock */
};

int __must_check rwsem_init(struct rwsem *sem);
void rwsem_destroy(struct rwsem *sem);

void rwsem_down_read_slow(struct rwsem *sem);
void rwsem_down_write_slow(struct rwsem *sem);
void rwsem_wake(struct rwsem *sem);
void rwsem_up_write_slow(struct rwsem *sem);

static inline bool rwsem_read_trylock(struct rwsem *sem)
{
    unsigned int old = atomic_load_explicit(&sem->count, memory_order_relaxed);
    do {
        if (old & (RWSEM_WRITER | RWSEM_WAITERS))
            return false;   /* a writer holds it or waits for it: it goes first */
    } while (!atomic_compare_exchange_weak_explicit(&sem->count, &old, old + RWSEM_READER,
                                                    memory_order_acquire, memory_order_relaxed));
    return true;
}

static inline void rwsem_down_read(struct rwsem *sem)
{
    if (!rwsem_read_trylock(sem))
        rwsem_down_read_slow(sem);
}

static inline void rwsem_up_read(struct rwsem *sem)
{
    unsigned int old = atomic_fetch_sub_explicit(&sem->count, RWSEM_READER, memory_order_release);
    /* The last reader out, with someone waiting: a writer can go now. */
    if (old - RWSEM_READER == RWSEM_WAITERS)
        rwsem_wake(sem);
}

static inline bool rwsem_write_trylock(struct rwsem *sem)
{
    unsigned int free = 0;
    return atomic_compare_exchange_strong_explicit(&sem->count, &free, RWSEM_WRITER,
                                                   memory_order_acquire, memory_order_relaxed);
}

static inline void rwsem_down_write(struct rwsem *sem)
{
    if (!rwsem_write_trylock(sem))
        rwsem_down_write_slow(sem);
}

static inline void rwsem_up_write(struct rwsem *sem)
{
    unsigned int held = RWSEM_WRITER;
    if (!atomic_compare_exchange_strong_explicit(&sem->count, &held, 0, memory_order_release,
                                                 memory_order_relaxed))
        rwsem_up_write_slow(sem);   /* WAITERS is set too */
}

#endif

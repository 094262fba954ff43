/* SPDX-License-Identifier: MIT */
/*
 * rcu.c — vm_call_rcu: callbacks after an RCU grace period, on a worker that
 * polls while there is work about and sleeps when there is none.
 *
 * The queue is a lock-free stack of rcu_heads linked through head->next.next
 * (liburcu's public struct; its own queue never sees these heads).  The
 * worker takes the whole stack, waits for a grace period, and runs the
 * callbacks oldest first.  Between two takes it sleeps POLL_NS, so that one
 * grace period serves everything queued meanwhile; after IDLE_POLLS empty
 * looks it blocks on a futex, and the next vm_call_rcu wakes it.  A program
 * that zaps and unmaps steadily thus never pays a wake-up; one that pauses
 * longer than IDLE_POLLS * POLL_NS pays one, once.  The cost of waiting:
 * memory handed to vm_call_rcu comes back up to POLL_NS plus a grace period
 * later, and an idle process sees IDLE_POLLS short wake-ups after its last
 * free.
 *
 * Worker state (worker_state), read and written sequentially consistent:
 *   WORKER_NONE    no thread: not started yet, or in a fork child, where
 *                  only the forking thread survives (the next call starts one);
 *   WORKER_AWAKE   running or polling, or being started;
 *   WORKER_ASLEEP  blocked, or about to block, on the futex.
 * An enqueuer pushes, then reads the state; the worker stores ASLEEP, then
 * reads the queue.  Each side's store comes before its load in the single
 * total order, so at least one of them sees the other: either the worker
 * finds the item or the enqueuer finds it asleep and wakes it.
 *
 * If no thread can be created (RLIMIT_NPROC, say) the callbacks run in the
 * caller instead, after a synchronize_rcu, when the caller is outside a
 * read-side critical section (else in the next vm_call_rcu or
 * vm_rcu_barrier that is): slower, never dropped.
 */
#include "rcu.h"
#include "host.h"

#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define POLL_NS    1000000L   /* 1 ms between looks at the queue */
#define IDLE_POLLS 100        /* 100 ms without work, then block */

enum { WORKER_NONE, WORKER_AWAKE, WORKER_ASLEEP };

#ifdef VM_RCU_TSAN
void __tsan_acquire(void *addr);
char vm_rcu_tsan_grace;
#endif

static _Atomic(struct rcu_head *) rcu_queue;
atomic_bool vm_rcu_no_thread_for_tests;   /* test hook: pthread_create "fails" */
static atomic_int worker_state;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static inline struct rcu_head *head_next(struct rcu_head *h)
{
    return (struct rcu_head *)h->next.next;
}

/* Take everything queued and run it after a grace period, oldest first.
 * False if the queue was empty. */
static bool rcu_drain(void)
{
    struct rcu_head *h = atomic_exchange(&rcu_queue, NULL);
    if (!h)
        return false;
    struct rcu_head *fifo = NULL;
    while (h) {
        struct rcu_head *next = head_next(h);
        h->next.next = (struct cds_wfcq_node *)fifo;
        fifo = h;
        h = next;
    }
    synchronize_rcu();
#ifdef VM_RCU_TSAN
    __tsan_acquire(&vm_rcu_tsan_grace);   /* see rcu.h */
#endif
    while (fifo) {
        struct rcu_head *next = head_next(fifo);
        fifo->func(fifo);   /* may free fifo */
        fifo = next;
    }
    return true;
}

static void *rcu_worker(void *arg)
{
    (void)arg;
    unsigned int idle = 0;
    for (;;) {
        if (rcu_drain()) {
            idle = 0;
        } else if (++idle > IDLE_POLLS) {
            atomic_store(&worker_state, WORKER_ASLEEP);
            if (!atomic_load(&rcu_queue))
                host_futex_wait(&worker_state, WORKER_ASLEEP);
            atomic_store(&worker_state, WORKER_AWAKE);
            idle = 0;
            continue;
        }
        struct timespec ts = { 0, POLL_NS };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/*
 * fork.  The worker calls synchronize_rcu every millisecond while there is
 * work, and a fork that lands inside one would leave the child with
 * liburcu-bp's grace-period lock held by a thread it does not have: its
 * first synchronize_rcu would hang.  So, once a worker exists, liburcu-bp's
 * own fork handlers run around every fork (they take its locks before, and
 * release them on both sides after, pruning the dead threads' readers in
 * the child).  A program must then not also call urcu_bp_before_fork itself.
 *
 * In the child the worker is gone; what it had taken is lost with it
 * (memory the child would have reused), what was still queued is run by the
 * child's own worker, started by its next vm_call_rcu.
 */
static void rcu_atfork_child(void)
{
    urcu_bp_after_fork_child();
    atomic_store(&worker_state, WORKER_NONE);
}

static void rcu_register_atfork(void)
{
    pthread_atfork(urcu_bp_before_fork, urcu_bp_after_fork_parent, rcu_atfork_child);
}

/* Claimed as AWAKE before the thread exists, so that the state is never
 * written after the worker's own first write: enqueuers meanwhile leave
 * their work in the queue for it. */
static bool rcu_start_worker(void)
{
    int expect = WORKER_NONE;
    if (!atomic_compare_exchange_strong(&worker_state, &expect, WORKER_AWAKE))
        return true;   /* running, or another thread is starting it */
    pthread_once(&atfork_once, rcu_register_atfork);
    /* The worker takes no signals: the program's handlers expect its own
     * threads.  It inherits the mask in force at pthread_create. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_t tid;
    int err = atomic_load(&vm_rcu_no_thread_for_tests) ? EAGAIN : pthread_attr_init(&attr);
    if (!err) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        err = pthread_create(&tid, &attr, rcu_worker, NULL);
        pthread_attr_destroy(&attr);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err)
        atomic_store(&worker_state, WORKER_NONE);
    return !err;
}

void vm_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
    head->func = func;
    struct rcu_head *old = atomic_load_explicit(&rcu_queue, memory_order_relaxed);
    do {
        head->next.next = (struct cds_wfcq_node *)old;
    } while (!atomic_compare_exchange_weak(&rcu_queue, &old, head));

    int state = atomic_load(&worker_state);
    if (likely(state == WORKER_AWAKE))
        return;
    if (state == WORKER_ASLEEP) {
        if (atomic_compare_exchange_strong(&worker_state, &state, WORKER_AWAKE))
            host_futex_wake(&worker_state);
        return;
    }
    if (!rcu_start_worker() && !rcu_read_ongoing())
        rcu_drain();
}

struct rcu_barrier_item {
    struct rcu_head head;
    atomic_int done;   /* 0 waiting, 1 ran (a wake may follow), 2 the waiter may go */
};

static void rcu_barrier_cb(struct rcu_head *head)
{
    struct rcu_barrier_item *b = caa_container_of(head, struct rcu_barrier_item, head);
    atomic_store(&b->done, 1);
    host_futex_wake(&b->done);
    atomic_store(&b->done, 2);   /* the last touch: b lives on the waiter's stack */
}

void vm_rcu_barrier(void)
{
    struct rcu_barrier_item b = { .done = 0 };
    vm_call_rcu(&b.head, rcu_barrier_cb);
    int v;
    while ((v = atomic_load(&b.done)) != 2) {
        if (v == 0 && atomic_load(&worker_state) == WORKER_NONE && !rcu_start_worker())
            rcu_drain();   /* no worker to be had: run the queue here */
        else if (v == 0)
            host_futex_wait(&b.done, 0);
        else
            sched_yield();
    }
}

/* SPDX-License-Identifier: MIT */
/*
 * mm_counter.c — an mm's Rss and event counters, split per thread (Linux
 * keeps rss_stat in a percpu_counter and the fault counts per CPU).
 *
 * A fault used to add to two counters of the mm with locked instructions:
 * 2 ns of a 45 ns fault (without its zeroing) on one thread here, and a
 * cache line every faulting thread of the mm pulls to its CPU in turn.  Now
 * each thread keeps its own share of one mm's counters and adds to it with
 * plain stores; a reader sums the mm's base and every share.  A thread that
 * moves to another mm folds its share into the base of the one it leaves.
 *
 * Locks and invariants:
 *   share_lock (process-wide) guards every mm's share list, each share's mm
 *       and list links, and the folding: a reader summing under it sees each
 *       count once, in the base or in a share.
 *   A share counts for at most one mm, the one whose mm_id it holds
 *       (0: none).  Its counts are written by its thread alone: lock-free
 *       in mm_counter_add while the ids match, under share_lock otherwise.
 *   An mm's shares are detached at its last mmdrop, when no thread can be
 *       adding to it; a thread's share is folded and freed when the thread
 *       exits.  mm_ids are never reused, so a share left with the id of a
 *       freed mm matches no live one.
 * If a share cannot be set up (no memory, no thread key) the thread adds to
 * the mm's base with locked instructions, as before.
 */
#include "mm_counter.h"
#include "host.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

__thread __attribute__((tls_model("initial-exec"))) struct mm_counter_share *mm_counter_mine;

static pthread_mutex_t share_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t share_key;
static pthread_once_t share_once = PTHREAD_ONCE_INIT;
static bool share_key_ok;

/* Fold s into the mm it counts for, and take it off that mm's list.
 * Locks: share_lock. */
static void share_detach(struct mm_counter_share *s)
{
    struct mm *mm = s->mm;
    if (!mm)
        return;
    for (int i = 0; i < NR_MM_COUNTERS_ALL; i++)
        atomic_fetch_add_explicit(&mm->counter_base[i],
                                  atomic_load_explicit(&s->count[i], memory_order_relaxed),
                                  memory_order_relaxed);
    *s->pprev = s->next;
    if (s->next)
        s->next->pprev = s->pprev;
    s->mm = NULL;
    atomic_store_explicit(&s->mm_id, 0, memory_order_relaxed);
}

/* A thread exits: its counts go to its mm, if it still has one. */
static void share_free(void *arg)
{
    struct mm_counter_share *s = arg;
    pthread_mutex_lock(&share_lock);
    share_detach(s);
    pthread_mutex_unlock(&share_lock);
    if (mm_counter_mine == s)
        mm_counter_mine = NULL;
    free(s);
}

/* A fork child has only the forking thread: the lock must not stay held by
 * one that is gone. */
static void share_prepare(void) { pthread_mutex_lock(&share_lock); }
static void share_release(void) { pthread_mutex_unlock(&share_lock); }

static void share_init_once(void)
{
    share_key_ok = pthread_key_create(&share_key, share_free) == 0 &&
                   pthread_atfork(share_prepare, share_release, share_release) == 0;
}

static struct mm_counter_share *share_new(void)
{
    pthread_once(&share_once, share_init_once);
    if (!share_key_ok)
        return NULL;
    struct mm_counter_share *s = vm_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    /* The key only runs share_free at thread exit; the TLS pointer is the
     * fast path's. */
    if (pthread_setspecific(share_key, s)) {
        free(s);
        return NULL;
    }
    mm_counter_mine = s;
    return s;
}

void mm_counter_add_slow(struct mm *mm, int item, long n)
{
    struct mm_counter_share *s = mm_counter_mine;
    if (!s)
        s = share_new();
    if (!s) {
        atomic_fetch_add_explicit(&mm->counter_base[item], n, memory_order_relaxed);
        return;
    }
    pthread_mutex_lock(&share_lock);
    share_detach(s);
    for (int i = 0; i < NR_MM_COUNTERS_ALL; i++)
        atomic_store_explicit(&s->count[i], 0, memory_order_relaxed);
    atomic_store_explicit(&s->count[item], n, memory_order_relaxed);
    s->mm = mm;
    s->next = mm->counter_shares;
    if (s->next)
        s->next->pprev = &s->next;
    s->pprev = &mm->counter_shares;
    mm->counter_shares = s;
    atomic_store_explicit(&s->mm_id, mm->mm_id, memory_order_relaxed);
    pthread_mutex_unlock(&share_lock);
}

void mm_counter_sum_all(struct mm *mm, long sum[NR_MM_COUNTERS_ALL])
{
    pthread_mutex_lock(&share_lock);
    for (int i = 0; i < NR_MM_COUNTERS_ALL; i++)
        sum[i] = atomic_load_explicit(&mm->counter_base[i], memory_order_relaxed);
    for (struct mm_counter_share *s = mm->counter_shares; s; s = s->next)
        for (int i = 0; i < NR_MM_COUNTERS_ALL; i++)
            sum[i] += atomic_load_explicit(&s->count[i], memory_order_relaxed);
    pthread_mutex_unlock(&share_lock);
}

long mm_counter_sum(struct mm *mm, int item)
{
    long sum[NR_MM_COUNTERS_ALL];
    mm_counter_sum_all(mm, sum);
    return sum[item];
}

void mm_counter_destroy(struct mm *mm)
{
    pthread_mutex_lock(&share_lock);
    while (mm->counter_shares)
        share_detach(mm->counter_shares);
    pthread_mutex_unlock(&share_lock);
}

/* ------------------------------------------------------ committed memory */

static atomic_long vm_committed;   /* pages */

long vm_acct_memory(long pages)
{
    return atomic_fetch_add_explicit(&vm_committed, pages, memory_order_relaxed) + pages;
}

unsigned long mm_committed_pages(void)
{
    long v = atomic_load_explicit(&vm_committed, memory_order_relaxed);
    return v > 0 ? (unsigned long)v : 0;
}

/* ------------------------------------------------------------ warnings */

void mm_warn_once(struct mm *mm, unsigned kind, const char *fmt, ...)
{
    if (atomic_fetch_or(&mm->warned, kind) & kind)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (mm->warn_fn)
        mm->warn_fn(mm->warn_arg, mm, msg);
    else
        fprintf(stderr, "vmarea: mm %p: %s\n", (void *)mm, msg);
}

/* SPDX-License-Identifier: MIT */
/*
 * mm_counter.h — what an mm reports: Rss by kind and event counts, each
 * thread adding to a share of its own (mm_counter.c), and warnings given
 * once per mm.
 */
#ifndef VMAREA_MM_COUNTER_H
#define VMAREA_MM_COUNTER_H

#include "mm_types.h"

extern __thread __attribute__((tls_model("initial-exec"))) struct mm_counter_share *mm_counter_mine;
void mm_counter_add_slow(struct mm *mm, int item, long n);
/* The sum of every thread's additions to item.  Locks: none needed; takes
 * the process-wide share lock, so not for hot paths. */
long mm_counter_sum(struct mm *mm, int item);
/* Every counter in one pass (one lock): sum[MM_FILEPAGES..MM_ZAPPED]. */
void mm_counter_sum_all(struct mm *mm, long sum[NR_MM_COUNTERS_ALL]);
/* At the last mmdrop: detach the threads' shares.  No one may add any more. */
void mm_counter_destroy(struct mm *mm);

/* Add n to one of mm's counters: plain stores into this thread's share when
 * it already counts for mm (the common case), else the slow path sets it up.
 * Locks: none; the caller holds a user reference to mm. */
static inline void mm_counter_add(struct mm *mm, int item, long n)
{
    struct mm_counter_share *s = mm_counter_mine;
    if (likely(s && atomic_load_explicit(&s->mm_id, memory_order_relaxed) == mm->mm_id)) {
        long v = atomic_load_explicit(&s->count[item], memory_order_relaxed);
        atomic_store_explicit(&s->count[item], v + n, memory_order_relaxed);
        return;
    }
    mm_counter_add_slow(mm, item, n);
}

/* A summed count as a number of pages: a sum read while other threads
 * update it may dip below zero. */
static inline unsigned long mm_counter_pages(long n)
{
    return n < 0 ? 0 : (unsigned long)n;
}

static inline unsigned long mm_rss(struct mm *mm, int kind)
{
    return mm_counter_pages(mm_counter_sum(mm, kind));
}

/* The process's committed pages (overcommit.c decides what may be
 * charged; a shmem object gives its charge back when it goes).  Returns the
 * new total. */
long vm_acct_memory(long pages);
static inline void vm_unacct_memory(long pages) { vm_acct_memory(-pages); }

#define WARN_ZAP_RANGE  0x1U
#define WARN_FAULT_HOOK 0x2U
void mm_warn_once(struct mm *mm, unsigned kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif

/* SPDX-License-Identifier: MIT */
/*
 * rcu.h — vmarea's own call_rcu: callbacks after a grace period, run by one
 * worker thread that stays awake while work keeps coming.
 *
 * liburcu's call_rcu wakes its worker with a futex whenever the worker has
 * gone to sleep, which it does as soon as its queue is empty.  On a virtual
 * machine that wake costs 15 to 50 µs inside call_rcu (an IPI to an idle
 * vCPU, often a preemption of the caller): more than an 8,192-page zap
 * takes, and a hundred times what a one-page zap should.  vm_call_rcu's
 * worker polls for a while after its last batch instead (see rcu.c), so a
 * caller pays a wake only after an idle spell.
 *
 * Grace periods are liburcu's (synchronize_rcu of the bulletproof flavour):
 * readers keep using rcu_read_lock/rcu_read_unlock.  Callbacks run in the
 * order they were queued, on the worker thread, never in the caller.
 */
#ifndef VMAREA_RCU_H
#define VMAREA_RCU_H

#include "mm_base.h"

#include <stdatomic.h>
/*
 * liburcu's read side inlined: the function-call version costs about 20 ns
 * per rcu_read_lock/unlock pair (a call into the library and a TLS lookup),
 * the inline one about 3.  liburcu allows _LGPL_SOURCE for code under an
 * LGPL- or GPL-compatible license, which vmarea's must therefore stay.
 * Sanitizer builds use the calls (see CMakeLists.txt).
 */
#ifndef VMAREA_URCU_CALLS
#define _LGPL_SOURCE
#endif
#include <urcu/compiler.h>
#include <urcu-bp.h>

/* Run func(head) on the worker after a grace period that starts after this
 * call.  Never blocks; safe from any thread, inside or outside a read-side
 * critical section. */
void vm_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head));

/* Wait until every callback queued before the call has run.  Not from a
 * callback, nor inside a read-side critical section. */
void vm_rcu_barrier(void);

/*
 * ThreadSanitizer does not see grace periods (liburcu is not instrumented),
 * so it would take a lock-free reader's last loads and a later owner's
 * stores into the same freed memory for a race.  A reader calls
 * vm_rcu_reader_done() after its last load of memory freed through
 * vm_call_rcu, and the worker acquires the same address after each grace
 * period, before the callbacks: that is the ordering the grace period
 * gives.  A reader still loading when the memory is freed (a real bug) is
 * still reported.  Nothing in other builds.
 */
#if defined(__SANITIZE_THREAD__)
#define VM_RCU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VM_RCU_TSAN 1
#endif
#endif
#ifdef VM_RCU_TSAN
void __tsan_release(void *addr);
extern char vm_rcu_tsan_grace;
static inline void vm_rcu_reader_done(void) { __tsan_release(&vm_rcu_tsan_grace); }
#else
static inline void vm_rcu_reader_done(void) {}
#endif

#endif

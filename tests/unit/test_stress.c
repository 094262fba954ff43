/* SPDX-License-Identifier: MIT */
/*
 * test_stress — data integrity under concurrent change.  Writer threads
 * store to and load from their own pages of an 8 MiB region (THP always)
 * and check every load against a shadow copy, while disturber threads split
 * and merge its VMAs (mprotect, THP and other flag advice), lock and unlock
 * it, collapse it into THPs and split them (MADV_COLD, MADV_PAGEOUT), and
 * read its smaps.  None of that may change a byte.  The writers also free
 * (MADV_FREE) and zap (MADV_DONTNEED) their own pages, whose contents then
 * follow Linux's rules: zero after a zap; after MADV_FREE either all the old
 * bytes or all zero, until the next store, which keeps the page.
 *
 * Debug builds also check every page-table entry against its VMA whenever
 * the mmap lock is released (debug.c).  VMAREA_STRESS_SECONDS sets how long
 * each configuration runs (default 2; an hour on demand), VMAREA_SEED the
 * seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmarea.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define BASE     0x100000000000UL
#define PG       4096UL
#define NPAGES   2048UL                /* 8 MiB: four 2 MiB pieces */
#define SLOTS    64                    /* 8-byte slots checked at the start of each page */
#define WRITERS  4
#define DISTURBERS 4

/* A writer's view of one of its pages. */
struct shadow {
    uint64_t slot[SLOTS];
    bool freed;     /* MADV_FREE, and not known since whether it was acted on */
    uint64_t fresh; /* slots stored since the MADV_FREE: those hold what was stored */
};

struct stress {
    struct mm *mm;
    atomic_bool stop;
    atomic_ulong stores, loads, ops, refused;
    uint64_t seed;
};

struct writer {
    struct stress *s;
    unsigned id;
    uint64_t rng;
    struct shadow pages[NPAGES / WRITERS];
    char failure[200];
};

static uint64_t next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static unsigned long page_addr(const struct writer *w, unsigned long k)
{
    return BASE + (k * WRITERS + w->id) * PG;   /* pages id, id + WRITERS, ... */
}

/*
 * After MADV_FREE and a store: the slots stored since hold what was stored,
 * and the others either what they held (the free was not acted on) or zero
 * (the page was reclaimed before the first store, which faulted a new one).
 * Decide which, and check that every slot agrees.  0, or -1 with the
 * failure written.
 */
static int resolve_freed(struct writer *w, unsigned long k)
{
    struct shadow *sh = &w->pages[k];
    uint64_t now[SLOTS];
    if (mm_read(w->s->mm, page_addr(w, k), now, sizeof(now)) != (ssize_t)sizeof(now))
        return 0;   /* not readable now (mprotect): decide at the next store */
    int kept = -1;
    for (int i = 0; i < SLOTS; i++) {
        bool fresh = sh->fresh & (1ULL << i);
        if (fresh && now[i] != sh->slot[i]) {
            snprintf(w->failure, sizeof(w->failure),
                     "page %#lx slot %d: stored %#lx after MADV_FREE, loaded %#lx", page_addr(w, k), i,
                     (unsigned long)sh->slot[i], (unsigned long)now[i]);
            return -1;
        }
        if (fresh || sh->slot[i] == 0)
            continue;
        int k_now = now[i] == sh->slot[i] ? 1 : now[i] == 0 ? 0 : -2;
        if (k_now == -2 || (kept >= 0 && k_now != kept)) {
            snprintf(w->failure, sizeof(w->failure),
                     "page %#lx after MADV_FREE and a store: slot %d holds %#lx, neither %#lx nor 0 "
                     "consistently", page_addr(w, k), i, (unsigned long)now[i],
                     (unsigned long)sh->slot[i]);
            return -1;
        }
        kept = k_now;
    }
    for (int i = 0; i < SLOTS; i++)
        if (!(sh->fresh & (1ULL << i)) && kept == 0)
            sh->slot[i] = 0;
    sh->freed = false;
    sh->fresh = 0;
    return 0;
}

static int check_load(struct writer *w, unsigned long k, int i, uint64_t v)
{
    const struct shadow *sh = &w->pages[k];
    bool old = sh->freed && !(sh->fresh & (1ULL << i));
    if (v == sh->slot[i] || (old && v == 0))
        return 0;
    snprintf(w->failure, sizeof(w->failure), "page %#lx slot %d: loaded %#lx, stored %#lx%s",
             page_addr(w, k), i, (unsigned long)v, (unsigned long)sh->slot[i],
             sh->freed ? " (or 0 after MADV_FREE)" : "");
    return -1;
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct mm *mm = w->s->mm;
    const unsigned long n = NPAGES / WRITERS;
    while (!atomic_load_explicit(&w->s->stop, memory_order_relaxed)) {
        unsigned long k = next(&w->rng) % n, a = page_addr(w, k);
        int i = (int)(next(&w->rng) % SLOTS);
        unsigned r = next(&w->rng) % 100;
        struct shadow *sh = &w->pages[k];
        if (r < 45) {
            uint64_t v = next(&w->rng) | 1;
            if (mm_write(mm, a + (unsigned long)i * 8, &v, 8) != 8) {
                atomic_fetch_add_explicit(&w->s->refused, 1, memory_order_relaxed);
                continue;   /* not writable now: nothing stored */
            }
            sh->slot[i] = v;
            atomic_fetch_add_explicit(&w->s->stores, 1, memory_order_relaxed);
            if (sh->freed) {
                sh->fresh |= 1ULL << i;
                if (resolve_freed(w, k))
                    return NULL;
            }
        } else if (r < 90) {
            uint64_t v;
            if (mm_read(mm, a + (unsigned long)i * 8, &v, 8) != 8) {
                atomic_fetch_add_explicit(&w->s->refused, 1, memory_order_relaxed);
                continue;
            }
            atomic_fetch_add_explicit(&w->s->loads, 1, memory_order_relaxed);
            if (check_load(w, k, i, v))
                return NULL;
        } else if (r < 95) {
            /* MADV_FREE refuses a locked VMA (EINVAL): then nothing changed.
             * Not again before the last one is resolved: the page would be
             * one of three things, not two. */
            if (!sh->freed && mm_madvise(mm, a, PG, MADV_FREE) == 0) {
                sh->freed = true;
                sh->fresh = 0;
            }
        } else if (r < 98) {
            if (mm_madvise(mm, a, PG, MADV_DONTNEED) == 0) {
                memset(sh->slot, 0, sizeof(sh->slot));
                sh->freed = false;
                sh->fresh = 0;
            }
        } else {
            mm_fault(mm, a, next(&w->rng) & 1 ? FAULT_FLAG_WRITE : 0);
        }
    }
    return NULL;
}

/* Operations that change the layout, the locks and the THP state, and
 * forks: none changes a byte of the region. */
static void *disturber_main(void *arg)
{
    struct stress *s = arg;
    uint64_t rng = s->seed ^ (uint64_t)(uintptr_t)&rng;
    static const int prots[] = { PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE,
                                 PROT_READ | PROT_WRITE | PROT_EXEC };
    static const int advice[] = { MADV_COLD, MADV_PAGEOUT, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
                                  MADV_COLLAPSE, MADV_DONTFORK, MADV_DOFORK, MADV_RANDOM,
                                  MADV_NORMAL, MADV_WILLNEED, MADV_POPULATE_READ };
    FILE *devnull = fopen("/dev/null", "w");
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        unsigned long first = next(&rng) % NPAGES;
        /* Mostly small ranges (splits), sometimes 2 MiB-aligned ones. */
        unsigned long len = next(&rng) % 4 ? 1 + next(&rng) % 64 : 512;
        if (len == 512)
            first &= ~511UL;
        if (first + len > NPAGES)
            len = NPAGES - first;
        unsigned long a = BASE + first * PG, l = len * PG;
        unsigned r = next(&rng) % 100;
        if (r < 35)
            mm_mprotect(s->mm, a, l, prots[next(&rng) % 4]);
        else if (r < 75)
            mm_madvise(s->mm, a, l, advice[next(&rng) % (sizeof(advice) / sizeof(advice[0]))]);
        else if (r < 85)
            mm_mlock(s->mm, a, l, next(&rng) & 1 ? MLOCK_ONFAULT : 0);
        else if (r < 93)
            mm_munlock(s->mm, a, l);
        else if (r < 97) {
            /* A fork: the writers' pages become shared and read-only, and
             * their next stores copy them (or reuse them once the child is
             * gone); the child reads what it got. */
            struct mm *child = mm_fork(s->mm);
            if (child) {
                uint64_t v;
                mm_read(child, a, &v, sizeof(v));
                mmput(child);
            }
        } else if (devnull) {
            mm_show_smaps(s->mm, devnull);
        }
        atomic_fetch_add_explicit(&s->ops, 1, memory_order_relaxed);
    }
    if (devnull)
        fclose(devnull);
    return NULL;
}

/* Every slot of every page, once the disturbers have stopped and the region
 * is readable again. */
static void final_check(struct writer *w)
{
    for (unsigned long k = 0; k < NPAGES / WRITERS && !w->failure[0]; k++) {
        uint64_t now[SLOTS];
        assert_int_equal(mm_read(w->s->mm, page_addr(w, k), now, sizeof(now)), sizeof(now));
        if (w->pages[k].freed) {
            /* Old bytes or all zero, one or the other, but for what was
             * stored since. */
            bool old = true, zero = true;
            for (int i = 0; i < SLOTS; i++) {
                if (w->pages[k].fresh & (1ULL << i)) {
                    old &= now[i] == w->pages[k].slot[i];
                    zero &= now[i] == w->pages[k].slot[i];
                    continue;
                }
                old &= now[i] == w->pages[k].slot[i];
                zero &= now[i] == 0;
            }
            if (!old && !zero)
                snprintf(w->failure, sizeof(w->failure), "page %#lx after MADV_FREE: torn",
                         page_addr(w, k));
            continue;
        }
        for (int i = 0; i < SLOTS && !w->failure[0]; i++)
            check_load(w, k, i, now[i]);
    }
}

static void run(unsigned flags, double seconds, uint64_t seed)
{
    struct mm_config cfg = { .thp = MM_THP_ALWAYS, .flags = flags };
    static struct stress s;
    memset(&s, 0, sizeof(s));
    s.mm = mm_create(&cfg);
    s.seed = seed;
    assert_non_null(s.mm);
    assert_int_equal(mm_mmap(s.mm, BASE, NPAGES * PG, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0), (long)BASE);
    static struct writer w[WRITERS];
    pthread_t wt[WRITERS], dt[DISTURBERS];
    for (unsigned i = 0; i < WRITERS; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i] = (struct writer){ .s = &s, .id = i, .rng = seed + 0x9e3779b97f4a7c15ULL * (i + 1) };
        assert_int_equal(pthread_create(&wt[i], NULL, writer_main, &w[i]), 0);
    }
    for (unsigned i = 0; i < DISTURBERS; i++)
        assert_int_equal(pthread_create(&dt[i], NULL, disturber_main, &s), 0);
    struct timespec ts = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
    nanosleep(&ts, NULL);
    atomic_store(&s.stop, true);
    for (unsigned i = 0; i < DISTURBERS; i++)
        pthread_join(dt[i], NULL);
    for (unsigned i = 0; i < WRITERS; i++)
        pthread_join(wt[i], NULL);

    assert_int_equal(mm_munlock(s.mm, BASE, NPAGES * PG), 0);
    assert_int_equal(mm_mprotect(s.mm, BASE, NPAGES * PG, PROT_READ | PROT_WRITE), 0);
    for (unsigned i = 0; i < WRITERS; i++)
        if (!w[i].failure[0])
            final_check(&w[i]);
    print_message("flags %#x: %lu stores, %lu loads checked, %lu refused by protection, "
                  "%lu layout/lock/THP operations\n", flags, atomic_load(&s.stores),
                  atomic_load(&s.loads), atomic_load(&s.refused), atomic_load(&s.ops));
    for (unsigned i = 0; i < WRITERS; i++)
        if (w[i].failure[0])
            fail_msg("writer %u (seed %#llx): %s", i, (unsigned long long)seed, w[i].failure);
    /* The work was done: every kind of thread got through a good many. */
    assert_true(atomic_load(&s.stores) > 100 && atomic_load(&s.loads) > 100);
    assert_true(atomic_load(&s.ops) > 100);
    mmput(s.mm);
}

static double stress_seconds(void)
{
    const char *e = getenv("VMAREA_STRESS_SECONDS");
    double v = e ? strtod(e, NULL) : 0;
    return v > 0 ? v : 2.0;
}

static uint64_t stress_seed(void)
{
    const char *e = getenv("VMAREA_SEED");
    uint64_t seed = e ? strtoull(e, NULL, 0) : (uint64_t)time(NULL);
    print_message("seed %#llx (set VMAREA_SEED to replay the draws; the interleaving differs)\n",
                  (unsigned long long)seed);
    return seed | 1;
}

static void test_stress_zero_page(void **state)
{
    (void)state;
    run(0, stress_seconds(), stress_seed());
}

static void test_stress_no_zero_page(void **state)
{
    (void)state;
    run(MM_CONFIG_NO_ZERO_PAGE, stress_seconds(), stress_seed());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress_zero_page),
        cmocka_unit_test(test_stress_no_zero_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

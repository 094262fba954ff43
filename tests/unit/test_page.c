/* SPDX-License-Identifier: MIT */
/*
 * Page frames (page.c): reference and map counts, zeroing, the memory limit,
 * the zero page, many threads at once, and the fast path's cost (printed,
 * not asserted: this runs on shared VMs).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "page.h"

#define CHUNK_FRAMES (PMD_SIZE / PAGE_SIZE)

static bool all_zero(const void *p)
{
    const unsigned long *w = p;
    for (size_t i = 0; i < PAGE_SIZE / sizeof(*w); i++)
        if (w[i])
            return false;
    return true;
}

/* Every frame is either in use or on the free list, none twice. */
static void assert_balanced(struct page_pool *pool)
{
    assert_int_equal(page_pool_count_free(pool) + page_pool_in_use(pool), page_pool_frames(pool));
}

static void test_alloc_get_put(void **state)
{
    (void)state;
    struct page_pool pool;
    assert_int_equal(page_pool_init(&pool, 0), 0);
    assert_int_equal(page_pool_frames(&pool), 0);   /* no host memory until needed */

    struct vm_page *p = page_alloc(&pool);
    assert_non_null(p);
    assert_int_equal(page_count(p), 1);
    assert_int_equal(page_mapcount(p), 0);
    assert_int_equal((uintptr_t)page_address(p) % PAGE_SIZE, 0);
    assert_true(all_zero(page_address(p)));
    assert_int_equal(page_pool_in_use(&pool), 1);
    assert_int_equal(page_pool_frames(&pool), CHUNK_FRAMES);

    page_get(p);
    assert_int_equal(page_count(p), 2);
    page_put(p);
    assert_int_equal(page_count(p), 1);
    assert_int_equal(page_pool_in_use(&pool), 1);   /* a reference remains */

    /* A mapping holds a reference and a map count of its own. */
    page_get(p);
    page_mapcount_inc(p);
    assert_int_equal(page_mapcount(p), 1);
    page_put(p);                                    /* the owner lets go */
    assert_int_equal(page_pool_in_use(&pool), 1);   /* the mapping keeps it */
    page_mapcount_dec(p);
    page_put(p);                                    /* unmapped: freed */
    assert_int_equal(page_pool_in_use(&pool), 0);
    assert_balanced(&pool);

    /* Distinct frames, distinct memory. */
    struct vm_page *a = page_alloc(&pool), *b = page_alloc(&pool);
    assert_ptr_not_equal(a, b);
    assert_ptr_not_equal(page_address(a), page_address(b));
    page_put(a);
    page_put(b);
    assert_int_equal(page_pool_destroy(&pool), 0);
}

static void test_zeroing(void **state)
{
    (void)state;
    struct page_pool pool;
    assert_int_equal(page_pool_init(&pool, 0), 0);

    /* Dirty a frame and free it; the free list is LIFO, so it comes back. */
    struct vm_page *p = page_alloc_nozero(&pool);
    assert_non_null(p);
    void *addr = page_address(p);
    memset(addr, 0xa5, PAGE_SIZE);
    page_put(p);

    struct vm_page *q = page_alloc(&pool);
    assert_ptr_equal(q, p);                 /* the same, reused frame... */
    assert_true(all_zero(page_address(q))); /* ...zeroed */
    memset(page_address(q), 0x5a, PAGE_SIZE);
    page_put(q);

    /* The non-zeroing allocator leaves the old contents (the point of it). */
    struct vm_page *r = page_alloc_nozero(&pool);
    assert_ptr_equal(r, p);
    assert_int_equal(((unsigned char *)page_address(r))[100], 0x5a);
    page_put(r);

    /* Fresh frames of a new chunk are zero without any memset. */
    struct vm_page *many[CHUNK_FRAMES + 8];
    for (size_t i = 0; i < CHUNK_FRAMES + 8; i++) {
        many[i] = page_alloc(&pool);
        assert_non_null(many[i]);
        assert_true(all_zero(page_address(many[i])));
        memset(page_address(many[i]), (int)i | 1, PAGE_SIZE);
    }
    assert_int_equal(page_pool_frames(&pool), 2 * CHUNK_FRAMES);
    for (size_t i = 0; i < CHUNK_FRAMES + 8; i++)
        page_put(many[i]);
    for (size_t i = 0; i < CHUNK_FRAMES + 8; i++) {
        many[i] = page_alloc(&pool);
        assert_true(all_zero(page_address(many[i])));
    }
    for (size_t i = 0; i < CHUNK_FRAMES + 8; i++)
        page_put(many[i]);
    assert_balanced(&pool);
    assert_int_equal(page_pool_destroy(&pool), 0);
}

/* A destroyed pool's memory goes to the next pool (the chunk cache), dirty:
 * the zeroing allocator must still zero every frame of it. */
static void test_reuse_after_destroy(void **state)
{
    (void)state;
    enum { N = 3 * CHUNK_FRAMES };
    static struct vm_page *v[N];
    for (int round = 0; round < 3; round++) {
        struct page_pool pool;
        assert_int_equal(page_pool_init(&pool, 0), 0);
        for (size_t i = 0; i < N; i++) {
            v[i] = page_alloc(&pool);
            assert_non_null(v[i]);
            assert_true(all_zero(page_address(v[i])));
            memset(page_address(v[i]), 0x77, PAGE_SIZE);
        }
        assert_int_equal(page_pool_frames(&pool), N);
        for (size_t i = 0; i < N; i++)
            page_put(v[i]);
        assert_balanced(&pool);
        assert_int_equal(page_pool_destroy(&pool), 0);
    }
}

static void fill_to_limit(unsigned long nframes, unsigned long extra_bytes)
{
    struct page_pool pool;
    assert_int_equal(page_pool_init(&pool, nframes * PAGE_SIZE + extra_bytes), 0);
    struct vm_page **v = calloc(nframes + 1, sizeof(*v));
    assert_non_null(v);
    for (unsigned long i = 0; i < nframes; i++) {
        v[i] = page_alloc(&pool);
        assert_non_null(v[i]);
    }
    assert_int_equal(page_pool_in_use(&pool), nframes);

    /* At the limit: both allocators fail and change nothing. */
    unsigned long frames = page_pool_frames(&pool);
    assert_null(page_alloc(&pool));
    assert_null(page_alloc_nozero(&pool));
    assert_int_equal(page_pool_in_use(&pool), nframes);
    assert_int_equal(page_pool_frames(&pool), frames);
    assert_balanced(&pool);

    if (nframes) {
        /* Free one, and one can be had again, but not two. */
        page_put(v[nframes / 2]);
        v[nframes / 2] = page_alloc(&pool);
        assert_non_null(v[nframes / 2]);
        assert_true(all_zero(page_address(v[nframes / 2])));
        assert_null(page_alloc(&pool));
    }
    for (unsigned long i = 0; i < nframes; i++)
        page_put(v[i]);
    assert_int_equal(page_pool_in_use(&pool), 0);
    assert_balanced(&pool);
    free(v);
    assert_int_equal(page_pool_destroy(&pool), 0);
}

static void test_limit(void **state)
{
    (void)state;
    fill_to_limit(100, 0);
    fill_to_limit(100, PAGE_SIZE - 1);       /* bytes round down to frames */
    fill_to_limit(CHUNK_FRAMES, 0);          /* exactly one chunk */
    fill_to_limit(CHUNK_FRAMES + 1, 0);      /* the limit in the second chunk */
    fill_to_limit(0, 1);                     /* less than a frame: nothing */
}

static void test_destroy_reports_leak(void **state)
{
    (void)state;
    struct page_pool pool;
    assert_int_equal(page_pool_init(&pool, 0), 0);
    struct vm_page *p = page_alloc(&pool);
    assert_non_null(p);
    page_get(p);
    page_put(p);
    assert_int_equal(page_pool_destroy(&pool), 1);   /* memory returned all the same */
}

static void test_zero_page(void **state)
{
    (void)state;
    struct vm_page *z = zero_page();
    assert_true(is_zero_page(z));
    assert_null(z->pool);
    assert_int_equal((uintptr_t)page_address(z) % PAGE_SIZE, 0);
    assert_true(all_zero(page_address(z)));
    assert_int_equal(page_count(z), 1);

    struct page_pool pool;
    assert_int_equal(page_pool_init(&pool, 0), 0);
    struct vm_page *p = page_alloc(&pool);
    assert_false(is_zero_page(p));
    assert_ptr_not_equal(page_address(p), page_address(z));
    page_put(p);
    assert_int_equal(page_pool_destroy(&pool), 0);

    /* Read-only on the host: a stray write faults rather than corrupting it. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);       /* cmocka's handler would catch it */
        *(volatile char *)page_address(z) = 1;
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
}

#if defined(VMAREA_DEBUG) && !defined(NDEBUG)   /* VM_BUG_ON is assert() */
/* Freeing a still-mapped frame is a bug, caught in debug builds. */
static void test_free_mapped_asserts(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGABRT, SIG_DFL);
        struct page_pool pool;
        page_pool_init(&pool, 0);
        struct vm_page *p = page_alloc(&pool);
        page_mapcount_inc(p);
        close(2);                        /* keep the assertion text out of the log */
        page_put(p);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}
#endif

/* Frames freed by one thread land on its shard; another thread takes them
 * from there (whole list) rather than carving more, and their "dirty" mark
 * travels with them, so the zeroing allocator still zeroes them. */
#define STEAL_N (CHUNK_FRAMES + 100)
static struct vm_page *steal_v[STEAL_N];

static void *put_all(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < STEAL_N; i += 2)      /* half dirty, half... */
        page_put(steal_v[i]);
    return NULL;
}

static void test_free_in_other_thread(void **state)
{
    (void)state;
    struct page_pool pool;
    assert_int_equal(page_pool_init(&pool, 0), 0);
    for (size_t i = 0; i < STEAL_N; i++) {
        steal_v[i] = page_alloc_nozero(&pool);
        assert_non_null(steal_v[i]);
        memset(page_address(steal_v[i]), 0xee, PAGE_SIZE);
    }
    for (size_t i = 1; i < STEAL_N; i += 2)      /* ...freed here */
        page_put(steal_v[i]);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, put_all, NULL), 0);
    pthread_join(t, NULL);
    assert_int_equal(page_pool_in_use(&pool), 0);
    unsigned long frames = page_pool_frames(&pool);
    for (size_t i = 0; i < STEAL_N; i++) {
        steal_v[i] = page_alloc(&pool);
        assert_non_null(steal_v[i]);
        assert_true(all_zero(page_address(steal_v[i])));
    }
    assert_int_equal(page_pool_frames(&pool), frames);   /* nothing new carved */
    for (size_t i = 0; i < STEAL_N; i++)
        page_put(steal_v[i]);
    assert_balanced(&pool);
    assert_int_equal(page_pool_destroy(&pool), 0);
}

/* ---------------------------------------------------------------- threads */

#define NTHREADS 4
#define ROUNDS   20000
#define BATCH    48

struct worker {
    struct page_pool *pool;
    unsigned long id;
    unsigned long failed, bad, done;
};

static void *worker(void *arg)
{
    struct worker *w = arg;
    struct vm_page *held[BATCH];
    unsigned long s = w->id * 0x9e3779b97f4a7c15UL | 1;
    for (unsigned long r = 0; r < ROUNDS; r++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        unsigned n = 1 + s % BATCH, got = 0;
        bool zero = s & 0x100;
        for (unsigned i = 0; i < n; i++) {
            struct vm_page *p = zero ? page_alloc(w->pool) : page_alloc_nozero(w->pool);
            if (!p) {
                w->failed++;
                continue;
            }
            if (zero && !all_zero(page_address(p)))
                w->bad++;
            if (page_count(p) != 1 || page_mapcount(p) != 0)
                w->bad++;
            /* Stamp it: a frame handed to two threads at once shows. */
            unsigned long *words = page_address(p);
            words[0] = w->id;
            words[PAGE_SIZE / sizeof(long) - 1] = r;
            held[got++] = p;
        }
        for (unsigned i = 0; i < got; i++) {
            unsigned long *words = page_address(held[i]);
            if (words[0] != w->id || words[PAGE_SIZE / sizeof(long) - 1] != r)
                w->bad++;
            if (s & 0x200) {          /* sometimes through an extra reference */
                page_get(held[i]);
                page_put(held[i]);
            }
            page_put(held[i]);
            w->done++;
        }
    }
    return NULL;
}

static void run_threads(unsigned long limit_frames)
{
    struct page_pool pool;
    assert_int_equal(page_pool_init(&pool, limit_frames * PAGE_SIZE), 0);
    pthread_t t[NTHREADS];
    struct worker w[NTHREADS];
    for (unsigned long i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){ .pool = &pool, .id = i + 1 };
        assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
    }
    unsigned long failed = 0;
    for (unsigned long i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].bad, 0);
        failed += w[i].failed;
    }
    assert_int_equal(page_pool_in_use(&pool), 0);
    assert_balanced(&pool);
    if (limit_frames) {
        /* Carving is driven by empty free lists, not by failures at the
         * limit: a few chunks at most (a race may carve one more than
         * needed while a list moves between shards; page.h). */
        assert_true(page_pool_frames(&pool) <= 4 * CHUNK_FRAMES);
        assert_true(failed > 0);
    } else {
        assert_int_equal(failed, 0);
    }
    assert_int_equal(page_pool_destroy(&pool), 0);
}

static void test_threads(void **state)
{
    (void)state;
    run_threads(0);
    run_threads(BATCH / 2);       /* below one thread's batch: some surely fail */
}

/* -------------------------------------------------------------- benchmark */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

#define BENCH_N 200000

struct bench_arg {
    struct page_pool *pool;
    pthread_barrier_t *start;
    bool zeroed;
    double ns;
};

static double now_ns(void);

static void *bench_thread(void *arg)
{
    struct bench_arg *a = arg;
    pthread_barrier_wait(a->start);
    double t0 = now_ns();
    for (int i = 0; i < BENCH_N; i++) {
        struct vm_page *p = a->zeroed ? page_alloc(a->pool) : page_alloc_nozero(a->pool);
        ((char *)page_address(p))[i & (PAGE_SIZE - 1)] = 1;
        page_put(p);
    }
    a->ns = (now_ns() - t0) / BENCH_N;
    return NULL;
}

/* Two threads allocating and freeing from one pool at once: the free list's
 * head and the in-use count bounce between CPUs. */
static double bench_contended(struct page_pool *pool, bool zeroed)
{
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    pthread_t t[2];
    struct bench_arg a[2];
    for (int i = 0; i < 2; i++) {
        a[i] = (struct bench_arg){ .pool = pool, .start = &start, .zeroed = zeroed };
        pthread_create(&t[i], NULL, bench_thread, &a[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    return max(a[0].ns, a[1].ns);
}

static void test_bench(void **state)
{
    (void)state;
    struct page_pool pool;
    assert_int_equal(page_pool_init(&pool, 0), 0);
    struct vm_page *warm = page_alloc(&pool);   /* carve the first chunk outside the timing */
    page_put(warm);

    double best_nz = 1e9, best_z = 1e9, best_ms = 1e9, best_mx = 1e9, best_2t = 1e9, best_2tz = 1e9;
    static char buf[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
    pthread_mutex_t mx = PTHREAD_MUTEX_INITIALIZER;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_ns();
        for (int i = 0; i < BENCH_N; i++) {
            struct vm_page *p = page_alloc_nozero(&pool);
            page_put(p);
        }
        double t1 = now_ns();
        for (int i = 0; i < BENCH_N; i++) {
            struct vm_page *p = page_alloc(&pool);   /* reused, dirty: memset */
            ((char *)page_address(p))[i & (PAGE_SIZE - 1)] = 1;
            page_put(p);
        }
        double t2 = now_ns();
        for (int i = 0; i < BENCH_N; i++) {
            memset(buf, 0, PAGE_SIZE);
            __asm__ volatile("" : : "r"(buf) : "memory");
            buf[i & (PAGE_SIZE - 1)] = 1;
        }
        double t3 = now_ns();
        for (int i = 0; i < BENCH_N; i++) {
            pthread_mutex_lock(&mx);
            pthread_mutex_unlock(&mx);
        }
        double t4 = now_ns();
        best_nz = min(best_nz, (t1 - t0) / BENCH_N);
        best_z = min(best_z, (t2 - t1) / BENCH_N);
        best_ms = min(best_ms, (t3 - t2) / BENCH_N);
        best_mx = min(best_mx, (t4 - t3) / BENCH_N);
        best_2t = min(best_2t, bench_contended(&pool, false));
        best_2tz = min(best_2tz, bench_contended(&pool, true));
    }
    printf("page: alloc_nozero+put %.1f ns; alloc(zeroed)+put %.1f ns; "
           "4 KiB memset %.1f ns; (uncontended mutex lock+unlock %.1f ns); "
           "in each of 2 threads at once: alloc_nozero+put %.1f ns, alloc(zeroed)+put %.1f ns\n",
           best_nz, best_z, best_ms, best_mx, best_2t, best_2tz);
    assert_int_equal(page_pool_destroy(&pool), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_get_put),
        cmocka_unit_test(test_zeroing),
        cmocka_unit_test(test_reuse_after_destroy),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_destroy_reports_leak),
        cmocka_unit_test(test_zero_page),
#if defined(VMAREA_DEBUG) && !defined(NDEBUG)   /* VM_BUG_ON is assert() */
        cmocka_unit_test(test_free_mapped_asserts),
#endif
        cmocka_unit_test(test_free_in_other_thread),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_bench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

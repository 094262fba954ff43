/* SPDX-License-Identifier: MIT */
/*
 * bench.h — what every benchmark here shares: timing, medians over
 * interleaved runs, a random number source, VMAs to look up and the timed
 * lookups, and the table it prints.
 *
 * Include it after setting BENCH_NAME (used in error messages).  Everything
 * is static: each benchmark is one program.
 */
#ifndef VMAREA_BENCH_H
#define VMAREA_BENCH_H

#include <vmarea.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static int opt_runs = 7;                 /* runs per figure; the median is kept */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct variant {
    double (*fn)(void *ctx);      /* one run: ns per operation */
    void *ctx;
    double result;                /* median over the runs */
};

#define MAX_VARIANTS 8

/*
 * Run every variant opt_runs times, round-robin (A B C A B C ...), so that
 * whatever else the machine is doing slows them alike, and keep each one's
 * median.
 */
static void measure(struct variant *v, int nv)
{
    double t[MAX_VARIANTS][64];
    int runs = opt_runs < 64 ? opt_runs : 64;
    for (int r = 0; r < runs; r++)
        for (int i = 0; i < nv && i < MAX_VARIANTS; i++)
            t[i][r] = v[i].fn(v[i].ctx);
    for (int i = 0; i < nv && i < MAX_VARIANTS; i++) {
        qsort(t[i], (size_t)runs, sizeof(double), cmp_double);
        v[i].result = runs % 2 ? t[i][runs / 2] : (t[i][runs / 2 - 1] + t[i][runs / 2]) / 2;
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
    /* xorshift64*: quick, and good enough to scatter addresses */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static void die(const char *what, long err)
{
    fprintf(stderr, "%s: %s failed (%ld: %s)\n", BENCH_NAME, what, err,
            err < 0 ? strerror((int)-err) : "unexpected result");
    exit(1);
}

/* ------------------------------------------------ VMAs to look up, timed */

/*
 * Both benchmarks time lookups at random addresses inside VMAs built the
 * same way: these are the one copy of that.  static inline: a benchmark that
 * does not use one is not warned about it.
 */
static volatile uintptr_t sink;          /* keeps results alive */

struct range { unsigned long start, end; };

/* nr VMAs of 1 to 4 pages, placed top-down by mm_mmap itself, alternating
 * read-only and read-write so that neighbours never merge. */
static inline void vmas_map(struct mm *mm, unsigned long nr, unsigned long page)
{
    for (unsigned long i = 0; i < nr; i++) {
        int prot = i % 2 ? PROT_READ : PROT_READ | PROT_WRITE;
        unsigned long len = (1 + rng() % 4) * page;
        long a = mm_mmap(mm, 0, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
        if (a < 0)
            die("mm_mmap while building the VMAs", a);
    }
    struct mm_stats st;
    mm_get_stats(mm, &st);
    if (st.map_count != nr)
        die("building unmerged VMAs (VMAs in the mm)", (long)st.map_count);
}

/* The mm's VMAs, ascending: exactly nr of them, in a malloc'd array. */
static inline struct range *vmas_ranges(struct mm *mm, unsigned long nr)
{
    struct range *r = malloc(nr * sizeof(*r));
    if (!r)
        die("malloc", 0);
    MMAP_READ_GUARD(g, mm);
    unsigned long i = 0;
    for (const struct vma_ref *v = vma_find(&g, 0); v; v = vma_next(&g, v), i++) {
        if (i == nr)
            die("walking the VMAs (too many)", (long)i);
        r[i].start = vma_start(v);
        r[i].end = vma_end(v);
    }
    if (i != nr)
        die("walking the VMAs", (long)i);
    return r;
}

/* n addresses, each inside a VMA picked at random. */
static inline unsigned long *random_addrs(const struct range *r, unsigned long nr, long n)
{
    unsigned long *a = malloc((size_t)n * sizeof(*a));
    if (!a)
        die("malloc", 0);
    for (long i = 0; i < n; i++) {
        const struct range *v = &r[rng() % nr];
        a[i] = v->start + rng() % (v->end - v->start);
    }
    return a;
}

/* mmap_read_lock + vma_lookup + mmap_read_unlock: the VMA's address. */
static inline uintptr_t locked_lookup(struct mm *mm, unsigned long addr)
{
    struct mmap_read_guard g = mmap_read_lock(mm);
    uintptr_t v = (uintptr_t)vma_lookup(&g, addr);
    mmap_read_unlock(&g);
    return v;
}

/* locked_lookup per address: ns each. */
static inline double time_locked_lookups(struct mm *mm, const unsigned long *addrs, long n)
{
    uintptr_t acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        acc ^= locked_lookup(mm, addrs[i]);
    double t1 = now_ns();
    sink = acc;
    return (t1 - t0) / (double)n;
}

/* lock_vma_under_rcu + vma_end_read per address, falling back to the mmap
 * read lock as a caller must when it gives up (counted): ns each. */
static inline double time_per_vma_locks(struct mm *mm, const unsigned long *addrs, long n,
                                        unsigned long *fallbacks)
{
    uintptr_t acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        const struct vma_ref *v = lock_vma_under_rcu(mm, addrs[i]);
        if (v) {
            acc ^= (uintptr_t)v;
            vma_end_read(v);
        } else {
            ++*fallbacks;
            acc ^= locked_lookup(mm, addrs[i]);
        }
    }
    double t1 = now_ns();
    sink = acc;
    return (t1 - t0) / (double)n;
}

/* ---------------------------------------------------------------- the table */

struct row {
    char op[56];
    double ours;          /* ns per op, or bytes */
    const char *unit;
    char baselines[112];
    char goal[40];
    const char *met;      /* "yes", "NO", or "-" */
};

static struct row rows[32];
static int nrows;

static struct row *add_row(const char *op, double ours, const char *unit)
{
    struct row *r = &rows[nrows++];
    memset(r, 0, sizeof(*r));
    snprintf(r->op, sizeof(r->op), "%s", op);
    r->ours = ours;
    r->unit = unit;
    r->met = "-";
    snprintf(r->goal, sizeof(r->goal), "-");
    return r;
}

/* The table, columns as wide as the benchmark's longest entries. */
static void print_table(int op_w, int ours_w, int base_w, int goal_w)
{
    printf("%-*s %*s  %-*s %-*s %s\n", op_w, "operation", ours_w, "vmarea", base_w,
           "baseline(s), same run", goal_w, "goal", "met");
    for (int i = 0; i < nrows; i++) {
        char v[32];
        snprintf(v, sizeof(v), "%.1f %s", rows[i].ours, rows[i].unit);
        printf("%-*s %*s  %-*s %-*s %s\n", op_w, rows[i].op, ours_w, v, base_w, rows[i].baselines,
               goal_w, rows[i].goal, rows[i].met);
    }
}

#endif

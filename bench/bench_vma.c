/* SPDX-License-Identifier: MIT */
/*
 * bench_vma — vmarea's VMA operations side by side with baselines measured
 * in the same run, against the goals in shared/DESIGN.md ("Fast where it
 * matters").  Prints one table; every figure is the median of several runs,
 * the variants of a row taking turns so that they share the machine's mood.
 *
 *   bench_vma [--quick] [--runs N]
 *   bench_vma --only mmap|mprotect|rcu1k|rcu100k|lookup1k|lookup100k --ops N
 *
 * Baselines:
 *   - a binary search over a sorted array of (start, end) pairs: the fastest
 *     a lookup can reasonably be, and what a lockless lookup should approach;
 *   - a pthread rwlock around a red-black tree (libbsd's <sys/tree.h>), the
 *     lock taken per lookup: the classic design vmarea should beat;
 *   - the host kernel's own mmap/munmap/mprotect system calls.
 * The lookup baselines index exactly the VMAs vmarea holds, and every variant
 * looks up the same random addresses in the same order.
 */
#define _GNU_SOURCE
#include "internal.h"

#define BENCH_NAME "bench_vma"
#include "bench.h"

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifdef LIBBSD_OVERLAY
#ifndef __unused      /* tree.h's RB_GENERATE_STATIC uses the BSD spelling */
#define __unused __attribute__((unused))
#endif
#include <sys/tree.h>
#define HAVE_RB_BASELINE 1
#endif

#define PG 4096UL

static long opt_lookups = 1L << 20;     /* random addresses per lookup run */
static long opt_ops = 100000;           /* mmap / mprotect pairs per run */

/* ------------------------------------------------------- an address space */

struct space {
    struct mm *mm;
    unsigned long nr;             /* VMAs */
    struct range *sorted;         /* the VMAs, ascending */
    unsigned long *addrs;         /* opt_lookups random addresses inside VMAs */
#ifdef HAVE_RB_BASELINE
    struct rb_vma *rb_nodes;      /* allocated one by one; kept to free them */
#endif
    size_t malloc_bytes;          /* heap growth while the VMAs were created */
    size_t node_bytes;            /* vt_node_bytes() afterwards */
};

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void space_build(struct space *s, unsigned long nr)
{
    struct mm_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_map_count = nr + 1000;
    s->mm = mm_create(&cfg);
    if (!s->mm)
        die("mm_create", 0);
    s->nr = nr;
    size_t before = heap_in_use();
    vmas_map(s->mm, nr, PG);
    s->malloc_bytes = heap_in_use() - before;
    s->sorted = vmas_ranges(s->mm, nr);
    {
        MMAP_READ_GUARD(g, s->mm);
        s->node_bytes = vt_node_bytes(&s->mm->mm_mt);
    }
    s->addrs = random_addrs(s->sorted, nr, opt_lookups);
}

/* ------------------------------------------------------------- lookups */

static double lookup_held(void *p)
{
    struct space *s = p;
    uintptr_t acc = 0;
    MMAP_READ_GUARD(g, s->mm);
    double t0 = now_ns();
    for (long i = 0; i < opt_lookups; i++)
        acc ^= (uintptr_t)vma_lookup(&g, s->addrs[i]);
    double t1 = now_ns();
    sink = acc;
    return (t1 - t0) / (double)opt_lookups;
}

static double lookup_locked(void *p)
{
    struct space *s = p;
    return time_locked_lookups(s->mm, s->addrs, opt_lookups);
}

static unsigned long rcu_fallbacks;

static double lookup_per_vma_lock(void *p)
{
    struct space *s = p;
    return time_per_vma_locks(s->mm, s->addrs, opt_lookups, &rcu_fallbacks);
}

static const struct range *array_lookup(const struct range *a, unsigned long n, unsigned long addr)
{
    unsigned long lo = 0, hi = n;
    while (lo < hi) {
        unsigned long mid = lo + (hi - lo) / 2;
        if (a[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo].start <= addr ? &a[lo] : NULL;
}

static double lookup_array(void *p)
{
    struct space *s = p;
    uintptr_t acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < opt_lookups; i++)
        acc ^= (uintptr_t)array_lookup(s->sorted, s->nr, s->addrs[i]);
    double t1 = now_ns();
    sink = acc;
    return (t1 - t0) / (double)opt_lookups;
}

#ifdef HAVE_RB_BASELINE
struct rb_vma {
    RB_ENTRY(rb_vma) link;
    unsigned long start, end;
    struct rb_vma *next_alloc;
};
static int rb_vma_cmp(struct rb_vma *a, struct rb_vma *b)
{
    return (a->start > b->start) - (a->start < b->start);
}
RB_HEAD(rb_vmas, rb_vma);
RB_GENERATE_STATIC(rb_vmas, rb_vma, link, rb_vma_cmp)

struct rb_space {
    pthread_rwlock_t lock;
    struct rb_vmas head;
    struct space *s;
};

static void rb_build(struct rb_space *rs, struct space *s)
{
    pthread_rwlock_init(&rs->lock, NULL);
    RB_INIT(&rs->head);
    rs->s = s;
    s->rb_nodes = NULL;
    /* in the order vmarea created its VMAs (top-down: highest first), one
     * allocation each, as a kernel-style VMA tree would have them */
    for (unsigned long i = s->nr; i-- > 0;) {
        struct rb_vma *n = malloc(sizeof(*n));
        n->start = s->sorted[i].start;
        n->end = s->sorted[i].end;
        n->next_alloc = s->rb_nodes;
        s->rb_nodes = n;
        RB_INSERT(rb_vmas, &rs->head, n);
    }
}

static void rb_free(struct rb_space *rs)
{
    for (struct rb_vma *n = rs->s->rb_nodes, *next; n; n = next) {
        next = n->next_alloc;
        free(n);
    }
    pthread_rwlock_destroy(&rs->lock);
}

static const struct rb_vma *rb_lookup(struct rb_vmas *head, unsigned long addr)
{
    struct rb_vma *n = RB_ROOT(head);
    while (n) {
        if (addr < n->start)
            n = RB_LEFT(n, link);
        else if (addr >= n->end)
            n = RB_RIGHT(n, link);
        else
            return n;
    }
    return NULL;
}

static double lookup_rb(void *p)
{
    struct rb_space *rs = p;
    struct space *s = rs->s;
    uintptr_t acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < opt_lookups; i++)
        acc ^= (uintptr_t)rb_lookup(&rs->head, s->addrs[i]);
    double t1 = now_ns();
    sink = acc;
    return (t1 - t0) / (double)opt_lookups;
}

static double lookup_rb_locked(void *p)
{
    struct rb_space *rs = p;
    struct space *s = rs->s;
    uintptr_t acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < opt_lookups; i++) {
        pthread_rwlock_rdlock(&rs->lock);
        acc ^= (uintptr_t)rb_lookup(&rs->head, s->addrs[i]);
        pthread_rwlock_unlock(&rs->lock);
    }
    double t1 = now_ns();
    sink = acc;
    return (t1 - t0) / (double)opt_lookups;
}
#endif

static void check_lookups(struct space *s)
{
    /* every variant must agree before any of them is timed */
    MMAP_READ_GUARD(g, s->mm);
    for (long i = 0; i < opt_lookups && i < 100000; i++) {
        const struct vma_ref *v = vma_lookup(&g, s->addrs[i]);
        const struct range *r = array_lookup(s->sorted, s->nr, s->addrs[i]);
        if (!v || !r || vma_start(v) != r->start || vma_end(v) != r->end)
            die("vma_lookup agreeing with the sorted array", (long)i);
    }
}

static void bench_lookups(unsigned long nr, const char *label)
{
    struct space s;
    space_build(&s, nr);
    check_lookups(&s);

    struct variant v[6] = {
        { lookup_held, &s, 0 },
        { lookup_locked, &s, 0 },
        { lookup_per_vma_lock, &s, 0 },
        { lookup_array, &s, 0 },
    };
    int nv = 4;
#ifdef HAVE_RB_BASELINE
    struct rb_space rs;
    rb_build(&rs, &s);
    v[nv++] = (struct variant){ lookup_rb_locked, &rs, 0 };
    v[nv++] = (struct variant){ lookup_rb, &rs, 0 };
#endif
    rcu_fallbacks = 0;
    measure(v, nv);
#ifdef HAVE_RB_BASELINE
    rb_free(&rs);
#endif
    double held = v[0].result, locked = v[1].result, pervma = v[2].result, array = v[3].result;
    double rb = nv > 4 ? v[4].result : 0, rb_bare = nv > 5 ? v[5].result : 0;
    char op[48];
    struct row *r;

    snprintf(op, sizeof(op), "vma_lookup, guard held, %s VMAs", label);
    r = add_row(op, held, "ns");
    snprintf(r->baselines, sizeof(r->baselines), "sorted array %.1f ns (ours %.2fx)", array,
             held / array);
    if (rb_bare > 0)
        snprintf(r->baselines + strlen(r->baselines), sizeof(r->baselines) - strlen(r->baselines),
                 ", RB tree %.1f ns", rb_bare);
    snprintf(r->goal, sizeof(r->goal), "<= sorted array");
    r->met = held <= array ? "yes" : "NO";

    snprintf(op, sizeof(op), "read lock+vma_lookup+unlock, %s VMAs", label);
    r = add_row(op, locked, "ns");
#ifdef HAVE_RB_BASELINE
    snprintf(r->baselines, sizeof(r->baselines), "rwlock+RB tree %.1f ns (%.2fx faster)", rb,
             rb / locked);
    if (nr >= 100000) {
        snprintf(r->goal, sizeof(r->goal), ">= 2x faster than rwlock+RB");
        r->met = rb >= 2 * locked ? "yes" : "NO";
    }
#else
    (void)rb;
    snprintf(r->baselines, sizeof(r->baselines), "(no libbsd: rwlock+RB not built)");
#endif

    snprintf(op, sizeof(op), "lock_vma_under_rcu+vma_end_read, %s VMAs", label);
    r = add_row(op, pervma, "ns");
    snprintf(r->baselines, sizeof(r->baselines), "guard held %.1f ns", held);
    if (rcu_fallbacks)
        snprintf(r->baselines + strlen(r->baselines), sizeof(r->baselines) - strlen(r->baselines),
                 " (%lu fell back to the mmap lock)", rcu_fallbacks);
    if (nr == 1000) {
        /* the per-VMA lock's goal */
        snprintf(r->goal, sizeof(r->goal), "<= 40 ns");
        r->met = pervma <= 40 ? "yes" : "NO";
    }

    if (nr >= 100000) {
        double per = (double)s.malloc_bytes / (double)nr;
        snprintf(op, sizeof(op), "bytes per VMA incl. tree, %s VMAs", label);
        r = add_row(op, per, "B");
        snprintf(r->baselines, sizeof(r->baselines),
                 "tree %.1f B/VMA, struct vma %zu B, RB node %zu B",
                 (double)s.node_bytes / (double)nr, sizeof(struct vma),
#ifdef HAVE_RB_BASELINE
                 sizeof(struct rb_vma)
#else
                 (size_t)0
#endif
                 );
        snprintf(r->goal, sizeof(r->goal), "<= 128 B");
        r->met = per <= 128 ? "yes" : "NO";
    }

    mmput(s.mm);
    free(s.sorted);
    free(s.addrs);
}

/* -------------------------------------------------------- mmap + munmap */

static double mmap_ours(void *p)
{
    struct mm *mm = p;
    double t0 = now_ns();
    for (long i = 0; i < opt_ops; i++) {
        long a = mm_mmap(mm, 0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
        if (a < 0)
            die("mm_mmap", a);
        int err = mm_munmap(mm, (unsigned long)a, PG);
        if (err)
            die("mm_munmap", err);
    }
    return (now_ns() - t0) / (double)opt_ops;
}

static double mmap_host(void *p)
{
    (void)p;
    double t0 = now_ns();
    for (long i = 0; i < opt_ops; i++) {
        void *a = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (a == MAP_FAILED)
            die("host mmap", -1);
        munmap(a, PG);
    }
    return (now_ns() - t0) / (double)opt_ops;
}

static void bench_mmap(void)
{
    struct mm *mm = mm_create(NULL);
    if (!mm)
        die("mm_create", 0);
    struct variant v[2] = { { mmap_ours, mm, 0 }, { mmap_host, NULL, 0 } };
    measure(v, 2);
    mmput(mm);
    double ours = v[0].result, host = v[1].result;

    struct row *r = add_row("mm_mmap+mm_munmap, 1 anon page", ours, "ns");
    snprintf(r->baselines, sizeof(r->baselines), "host mmap+munmap %.1f ns", host);
    snprintf(r->goal, sizeof(r->goal), "<= 200 ns");
    r->met = ours <= 200 ? "yes" : "NO";
}

/* ------------------------------------------------ mprotect split + merge */

struct mprot_ctx {
    struct mm *mm;
    unsigned long addr;
};

static double mprotect_ours(void *p)
{
    struct mprot_ctx *c = p;
    unsigned long mid = c->addr + PG;
    double t0 = now_ns();
    for (long i = 0; i < opt_ops; i++) {
        int e1 = mm_mprotect(c->mm, mid, PG, PROT_READ);
        int e2 = mm_mprotect(c->mm, mid, PG, PROT_READ | PROT_WRITE);
        if (e1 || e2)
            die("mm_mprotect", e1 ? e1 : e2);
    }
    return (now_ns() - t0) / (double)opt_ops;
}

static double mprotect_host(void *p)
{
    char *mid = (char *)p + PG;
    double t0 = now_ns();
    for (long i = 0; i < opt_ops; i++) {
        if (mprotect(mid, PG, PROT_READ) || mprotect(mid, PG, PROT_READ | PROT_WRITE))
            die("host mprotect", -1);
    }
    return (now_ns() - t0) / (double)opt_ops;
}

static unsigned long map_count(struct mm *mm)
{
    struct mm_stats st;
    mm_get_stats(mm, &st);
    return st.map_count;
}

static void bench_mprotect(void)
{
    struct mprot_ctx c;
    c.mm = mm_create(NULL);
    if (!c.mm)
        die("mm_create", 0);
    long a = mm_mmap(c.mm, 0, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
    if (a < 0)
        die("mm_mmap", a);
    c.addr = (unsigned long)a;
    /* the operation must really split into three and merge back into one */
    if (mm_mprotect(c.mm, c.addr + PG, PG, PROT_READ) || map_count(c.mm) != 3 ||
        mm_mprotect(c.mm, c.addr + PG, PG, PROT_READ | PROT_WRITE) || map_count(c.mm) != 1)
        die("mm_mprotect splitting and merging back", (long)map_count(c.mm));
    void *h = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (h == MAP_FAILED)
        die("host mmap", -1);
    struct variant v[2] = { { mprotect_ours, &c, 0 }, { mprotect_host, h, 0 } };
    measure(v, 2);
    mmput(c.mm);
    munmap(h, 3 * PG);
    double ours = v[0].result, host = v[1].result;

    struct row *r = add_row("mm_mprotect split+merge back (2 calls)", ours, "ns");
    snprintf(r->baselines, sizeof(r->baselines), "host mprotect x2 %.1f ns", host);
    snprintf(r->goal, sizeof(r->goal), "<= 300 ns");
    r->met = ours <= 300 ? "yes" : "NO";
}

/*
 * --only OP --ops N: run N operations of one kind and print only their time, for
 * an instruction count (valgrind --tool=callgrind; per operation, the
 * difference between two values of N divided by their difference, so that
 * set-up costs cancel).  OP: mmap, mprotect, rcu1k and rcu100k
 * (lock_vma_under_rcu + vma_end_read at 1,000 or 100,000 VMAs), lookup1k
 * and lookup100k (vma_lookup, guard held).
 */
static int run_only(const char *op)
{
    double ns;

    if (!strcmp(op, "mmap")) {
        struct mm *mm = mm_create(NULL);
        ns = mmap_ours(mm);
        mmput(mm);
    } else if (!strcmp(op, "mprotect")) {
        struct mprot_ctx c = { .mm = mm_create(NULL) };
        long a = mm_mmap(c.mm, 0, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
        if (a < 0)
            die("mm_mmap", a);
        c.addr = (unsigned long)a;
        ns = mprotect_ours(&c);
        mmput(c.mm);
    } else if (!strcmp(op, "rcu1k") || !strcmp(op, "lookup1k") || !strcmp(op, "rcu100k") ||
               !strcmp(op, "lookup100k")) {
        struct space s;
        opt_lookups = opt_ops;
        space_build(&s, strstr(op, "100k") ? 100000 : 1000);
        ns = op[0] == 'r' ? lookup_per_vma_lock(&s) : lookup_held(&s);
        mmput(s.mm);
        free(s.sorted);
        free(s.addrs);
    } else {
        fprintf(stderr, "bench_vma: unknown --only %s\n", op);
        return 2;
    }
    printf("%s: %.1f ns per op (one run)\n", op, ns);
    return 0;
}

int main(int argc, char **argv)
{
    const char *only = NULL;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = argv[++i];
        } else if (!strcmp(argv[i], "--ops") && i + 1 < argc) {
            opt_ops = atol(argv[++i]);
            if (opt_ops < 1)
                opt_ops = 1;
        } else if (!strcmp(argv[i], "--quick")) {
            opt_runs = 3;
            opt_lookups = 1L << 17;
            opt_ops = 20000;
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            opt_runs = atoi(argv[++i]);
            if (opt_runs < 1 || opt_runs > 64)
                opt_runs = 7;
        } else {
            fprintf(stderr, "usage: %s [--quick] [--runs N] [--only OP --ops N]\n", argv[0]);
            return argv[i][0] == '-' && argv[i][1] == 'h' ? 0 : 2;
        }
    }
    if (only)
        return run_only(only);

    bench_lookups(1000, "1,000");
    bench_lookups(100000, "100,000");
    bench_mmap();
    bench_mprotect();

    printf("vmarea bench_vma: median of %d runs; %ld lookups, %ld mmap/mprotect pairs per run\n",
           opt_runs, opt_lookups, opt_ops);
    print_table(46, 10, 52, 28);

    int missed = 0;
    for (int i = 0; i < nrows; i++)
        missed += !strcmp(rows[i].met, "NO");
    printf("%d of the goals missed\n", missed);
    return 0;
}

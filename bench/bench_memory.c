/* SPDX-License-Identifier: MIT */
/*
 * bench_memory — the memory behind vmarea's VMAs (faults, zaps, access, the
 * per-VMA read lock) side by side with baselines measured in the same run,
 * against their goals.  Prints one table; every figure is the
 * median of several runs, the variants of a row taking turns so that they
 * share the machine's mood.
 *
 *   bench_memory [--quick] [--runs N]
 *   bench_memory --only fault|zap|read|rcu1k --ops N   (for callgrind)
 *
 * Rows and their baselines:
 *   - anonymous write fault (mm_fault with FAULT_FLAG_WRITE on fresh pages of
 *     a private anonymous mapping), against memset of 4 KiB pages spread over
 *     the same amount of memory (in the same loop, 64 pages of each in turn),
 *     and against the host kernel faulting fresh pages of an mmap'd region.  Reported in the steady state: each run
 *     faults every page, then MADV_DONTNEED gives the frames back to the pool,
 *     so the next run's faults take recycled frames that must be zeroed again
 *     (the host does the same: madvise, then fault).  A first fault in a new
 *     mm is shown apart.
 *   - zap of populated anonymous pages, through mm_madvise(MADV_DONTNEED) and
 *     through vma_zap_page_range_single under the mmap read lock, against the
 *     host's madvise(MADV_DONTNEED) on populated pages.
 *   - mm_read of one byte from a present page, against a memcpy of one byte
 *     and against the host reading one byte of its own memory through
 *     process_vm_readv and through pread on /proc/self/mem.
 *   - shared memory (a memfd): a read fault on cached pages, per page it
 *     maps with fault-around (every 16th page faulted, the others mapped
 *     around it), against the host doing the same to its own memfd and
 *     against pread of the pages; a shared write fault on a cached page and
 *     a private one that copies it, against the host's; and the page
 *     cache's own memory per cached page, besides the frame.
 *   - lock_vma_under_rcu + vma_end_read at 1,000 VMAs, random addresses,
 *     against a pthread rwlock taken around vma_lookup (what a plain
 *     reader-writer mmap lock would cost) and against vmarea's own
 *     mmap_read_lock + vma_lookup + mmap_read_unlock.
 *
 * Uses the public header, as a user's program would, and two internals:
 * vm_rcu_barrier (src/rcu.h), to wait for deferred frees between runs, and
 * the size of a memfd's page cache (struct vm_file, src/mm_types.h).
 */
#define _GNU_SOURCE
#include <vmarea.h>

#define BENCH_NAME "bench_memory"
#include "bench.h"
#include "mm_types.h"   /* struct vm_file: the page cache's tables */
#include "rcu.h"        /* vm_rcu_barrier */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG 4096UL

static unsigned long opt_pages = 8192;   /* pages per fault / zap run (32 MiB) */
static long opt_reads = 1L << 21;        /* mm_read / memcpy calls per run */
static long opt_syscalls = 100000;       /* host reads per run */
static long opt_lookups = 1L << 20;      /* per-VMA lock round trips per run */

/* Without transparent huge pages: the rows are about 4 KiB pages (a THP
 * fault zeroes 2 MiB at once), and the host's own baselines get none either
 * unless asked. */
static struct mm *new_mm(void)
{
    struct mm_config cfg = { .thp = MM_THP_NEVER };
    struct mm *mm = mm_create(&cfg);
    if (!mm)
        die("mm_create", 0);
    return mm;
}

static unsigned long map_anon(struct mm *mm, unsigned long len)
{
    long a = mm_mmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
    if (a < 0)
        die("mm_mmap", a);
    return (unsigned long)a;
}

static void *host_map(unsigned long len, int advice)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("host mmap", -errno);
    if (advice)
        madvise(p, len, advice);   /* a hint: its failure changes nothing measured */
    return p;
}

static void fault_range(struct mm *mm, unsigned long addr, unsigned long npages)
{
    for (unsigned long i = 0; i < npages; i++) {
        int err = mm_fault(mm, addr + i * PG, FAULT_FLAG_WRITE);
        if (err)
            die("mm_fault", err);
    }
}

static void zap_range(struct mm *mm, unsigned long addr, unsigned long npages)
{
    int err = mm_madvise(mm, addr, npages * PG, MADV_DONTNEED);
    if (err)
        die("mm_madvise(MADV_DONTNEED)", err);
}

/*
 * Zapped frames go back to the pool's free list only after an RCU grace
 * period (a lock-free mm_read may still be copying from them).  Waiting for
 * that makes the next faults take recycled frames, which must be zeroed,
 * rather than fresh ones carved from new chunks, which need not be: the
 * steady state of a program that keeps faulting and zapping.
 */
static void wait_deferred_frees(void)
{
    vm_rcu_barrier();
}

static unsigned long rss_anon(struct mm *mm)
{
    struct mm_stats st;
    mm_get_stats(mm, &st);
    return st.rss_anon;
}

/* ------------------------------------------------------ anonymous faults */

struct fault_ctx {
    struct mm *mm;
    unsigned long addr;           /* opt_pages pages, private anonymous */
    char *zero;                   /* opt_pages pages of host memory, for memset */
    double memset_ns[64];         /* memset's figure from each run */
    int run;
};

#define PAIR_BATCH 64UL           /* pages faulted, then as many memset, in turn */

/* The baseline is the C library's memset, called: gcc would otherwise
 * inline a constant 4 KiB memset as rep stosq, about 30 ns slower here than
 * the rep stosb glibc's memset (and vmarea's clear_frame) use at this size. */
static void *(*volatile libc_memset)(void *, int, size_t) = memset;

/*
 * Steady state: the previous run (or the warm-up) zapped every page, so
 * these faults take recycled frames from the pool.  The memset baseline runs
 * in the same loop, PAIR_BATCH pages of one then of the other: the goal is a
 * difference of the two, and on a shared machine two separate runs of them
 * can see speeds a factor of two apart.
 */
static double fault_steady(void *p)
{
    struct fault_ctx *c = p;
    double tf = 0, tm = 0;
    for (unsigned long b = 0; b < opt_pages; b += PAIR_BATCH) {
        unsigned long n = opt_pages - b < PAIR_BATCH ? opt_pages - b : PAIR_BATCH;
        double t0 = now_ns();
        fault_range(c->mm, c->addr + b * PG, n);
        double t1 = now_ns();
        for (unsigned long i = b; i < b + n; i++)
            libc_memset(c->zero + i * PG, 0, PG);
        double t2 = now_ns();
        tf += t1 - t0;
        tm += t2 - t1;
    }
    sink = (uintptr_t)c->zero[rng() % (opt_pages * PG)];
    zap_range(c->mm, c->addr, opt_pages);
    wait_deferred_frees();
    if (c->run < 64)
        c->memset_ns[c->run++] = tm / (double)opt_pages;
    return tf / (double)opt_pages;
}

/* The first faults of a new address space: its pool starts empty. */
static double fault_new_mm(void *p)
{
    (void)p;
    struct mm *mm = new_mm();
    unsigned long addr = map_anon(mm, opt_pages * PG);
    double t0 = now_ns();
    fault_range(mm, addr, opt_pages);
    double t1 = now_ns();
    mmput(mm);
    return (t1 - t0) / (double)opt_pages;
}

struct host_ctx {
    char *mem;                    /* opt_pages pages */
};

/* The same page over and over: zeroing from the L1 cache. */
static double memset_hot(void *p)
{
    struct host_ctx *c = p;
    double t0 = now_ns();
    for (unsigned long i = 0; i < opt_pages; i++) {
        libc_memset(c->mem, (int)i, PG);
        __asm__ volatile("" ::"r"(c->mem) : "memory");   /* each memset happens */
    }
    double t1 = now_ns();
    sink = (uintptr_t)c->mem[0];
    return (t1 - t0) / (double)opt_pages;
}

/* The host kernel's fault on fresh anonymous pages, in the same steady state
 * as ours: touch every page, then give them back with MADV_DONTNEED. */
static double host_fault(void *p)
{
    struct host_ctx *c = p;
    double t0 = now_ns();
    for (unsigned long i = 0; i < opt_pages; i++)
        ((volatile char *)c->mem)[i * PG] = 1;
    double t1 = now_ns();
    madvise(c->mem, opt_pages * PG, MADV_DONTNEED);
    return (t1 - t0) / (double)opt_pages;
}

static void bench_faults(void)
{
    struct fault_ctx fc = { 0 };
    fc.mm = new_mm();
    fc.addr = map_anon(fc.mm, opt_pages * PG);
    /* Warm-up, and a check that the cycle does what it says: every fault
     * maps a page, every zap takes it away. */
    fault_range(fc.mm, fc.addr, opt_pages);
    if (rss_anon(fc.mm) != opt_pages)
        die("faulting every page (Rss)", (long)rss_anon(fc.mm));
    zap_range(fc.mm, fc.addr, opt_pages);
    if (rss_anon(fc.mm) != 0)
        die("zapping every page (Rss)", (long)rss_anon(fc.mm));
    wait_deferred_frees();

    /* memset's region is as large as the faulted one, so that the zeroing
     * meets the same caches the fault's zeroing meets.  Frames come from
     * 2 MiB chunks the pool asks THP for: the region gets the same page
     * size, so only the zeroing differs. */
    struct host_ctx zero = { host_map(opt_pages * PG, MADV_HUGEPAGE) };
    memset(zero.mem, 1, opt_pages * PG);
    fc.zero = zero.mem;
    /* 4 KiB pages for the host's faults, whatever THP is set to: the row is
     * about a fault per page. */
    struct host_ctx hf = { host_map(opt_pages * PG, MADV_NOHUGEPAGE) };
    host_fault(&hf);

    struct variant v[4] = {
        { fault_steady, &fc, 0 },
        { memset_hot, &zero, 0 },
        { host_fault, &hf, 0 },
        { fault_new_mm, NULL, 0 },
    };
    fault_steady(&fc);   /* one untimed round: the first touches can be slow */
    fc.run = 0;
    measure(v, 4);
    qsort(fc.memset_ns, (size_t)fc.run, sizeof(double), cmp_double);
    double ms = fc.run % 2 ? fc.memset_ns[fc.run / 2]
                           : (fc.memset_ns[fc.run / 2 - 1] + fc.memset_ns[fc.run / 2]) / 2;

    /* The last run left the pages zapped: fault once more and check that
     * the recycled frames read as zeros. */
    fault_range(fc.mm, fc.addr, opt_pages);
    for (unsigned long i = 0; i < opt_pages; i += 97) {
        uint64_t word = 1;
        ssize_t n = mm_read(fc.mm, fc.addr + i * PG + (rng() % (PG / 8)) * 8, &word, 8);
        if (n != 8 || word != 0)
            die("a recycled frame reading as zeros", (long)n);
    }
    struct mm_stats st;
    mm_get_stats(fc.mm, &st);
    mmput(fc.mm);
    munmap(zero.mem, opt_pages * PG);
    munmap(hf.mem, opt_pages * PG);

    double ours = v[0].result, hot = v[1].result, host = v[2].result;
    struct row *r = add_row("anon write fault, steady (fault,zap,fault)", ours, "ns");
    snprintf(r->baselines, sizeof(r->baselines),
             "memset 4K %.1f ns (hot %.1f), host fault %.1f ns (ours %.2fx)", ms, hot, host,
             ours / host);
    snprintf(r->goal, sizeof(r->goal), "<= memset+50 = %.0f ns", ms + 50);
    r->met = ours <= ms + 50 ? "yes" : "NO";
    if (st.lock_fallbacks * 100 > st.faults) {   /* more than the first fault's */
        size_t n = strlen(r->baselines);
        snprintf(r->baselines + n, sizeof(r->baselines) - n, "; %lu of %lu faults fell back",
                 st.lock_fallbacks, st.faults);
    }

    r = add_row("anon write fault, first in a new mm", v[3].result, "ns");
    snprintf(r->baselines, sizeof(r->baselines), "(pool grows: chunks from freed pools, zeroed)");
}

/* ---------------------------------------------------------- shared memory */

/* A memfd of opt_pages pages, all cached (written through a shared mapping
 * of their own), and a second mapping, shared or private, whose entries each
 * run faults in and then zaps (MADV_DONTNEED drops only the mapping). */
struct shm_ctx {
    struct mm *mm;
    struct vm_file *f;
    unsigned long addr;          /* the timed mapping */
    int fd;                      /* the host's memfd or file */
    char *host;                  /* the host's timed mapping */
    char *buf;                   /* pread's buffer */
    bool write;
    bool disk;                   /* files on the disk's file system, not memfds */
    unsigned long dirty;         /* msync rows: pages dirtied before each msync */
};

#define AROUND 16   /* pages fault-around maps at its default 64 KiB */

static double shm_fault_ours(void *p)
{
    struct shm_ctx *c = p;
    unsigned step = c->write ? 1 : AROUND;
    double t0 = now_ns();
    for (unsigned long i = 0; i < opt_pages; i += step) {
        int err = mm_fault(c->mm, c->addr + i * PG, c->write ? FAULT_FLAG_WRITE : 0);
        if (err)
            die("mm_fault on a memfd mapping", err);
    }
    double t1 = now_ns();
    zap_range(c->mm, c->addr, opt_pages);
    wait_deferred_frees();
    return (t1 - t0) / (double)opt_pages;   /* per page mapped */
}

static double shm_fault_host(void *p)
{
    struct shm_ctx *c = p;
    unsigned step = c->write ? 1 : AROUND;
    double t0 = now_ns();
    for (unsigned long i = 0; i < opt_pages; i += step) {
        if (c->write)
            ((volatile char *)c->host)[i * PG] = 1;
        else
            sink += ((volatile char *)c->host)[i * PG];
    }
    double t1 = now_ns();
    madvise(c->host, opt_pages * PG, MADV_DONTNEED);
    return (t1 - t0) / (double)opt_pages;
}

static double shm_pread(void *p)
{
    struct shm_ctx *c = p;
    double t0 = now_ns();
    for (unsigned long i = 0; i < opt_pages; i++)
        if (pread(c->fd, c->buf, PG, (off_t)(i * PG)) != (ssize_t)PG)
            die("pread of the host's memfd", -errno);
    double t1 = now_ns();
    return (t1 - t0) / (double)opt_pages;
}

/* The timed mappings start on a page table's first entry, as fault-around's
 * window is clipped to the faulting page's table: every fault then maps
 * AROUND pages, on both sides. */
#define SHM_FILL 0x300000000000UL
#define SHM_AT   0x310000000000UL
#define SHM_HOST 0x320000000000UL

/* A file of opt_pages pages on the disk's file system ($TMPDIR, else
 * /var/tmp), written and synced (every page cached and clean), unlinked:
 * its descriptor. */
static int disk_file(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/vmarea-bench-XXXXXX", dir && *dir ? dir : "/var/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        die("mkstemp", -errno);
    unlink(path);
    char *page = host_map(PG, 0);
    memset(page, 1, PG);
    for (unsigned long i = 0; i < opt_pages; i++)
        if (write(fd, page, PG) != (ssize_t)PG)
            die("writing a file", -errno);
    munmap(page, PG);
    if (fsync(fd))
        die("fsync", -errno);
    return fd;
}

static void shm_setup(struct shm_ctx *c, int flags, unsigned long slot)
{
    c->mm = new_mm();
    if (c->disk) {
        int fd = disk_file();
        c->f = vm_file_open(fd);
        close(fd);
    } else {
        c->f = vm_file_memfd("bench", opt_pages * PG);
    }
    if (!c->f)
        die("vm_file_memfd / vm_file_open", -errno);
    long fill = mm_mmap(c->mm, SHM_FILL, opt_pages * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                        c->f, 0);
    long a = mm_mmap(c->mm, SHM_AT, opt_pages * PG, PROT_READ | PROT_WRITE, flags | MAP_FIXED, c->f, 0);
    if (fill < 0 || a < 0)
        die("mm_mmap of a memfd", fill < 0 ? fill : a);
    fault_range(c->mm, (unsigned long)fill, opt_pages);   /* every page cached */
    c->addr = (unsigned long)a;
    c->fd = c->disk ? disk_file() : memfd_create("bench", 0);
    if (c->fd < 0 || (!c->disk && ftruncate(c->fd, (off_t)(opt_pages * PG))))
        die("the host's memfd", -errno);
    char *hfill = mmap(NULL, opt_pages * PG, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
    c->host = mmap((void *)(SHM_HOST + slot * 0x1000000000UL), opt_pages * PG, PROT_READ | PROT_WRITE,
                   flags | MAP_FIXED_NOREPLACE, c->fd, 0);
    if (hfill == MAP_FAILED || c->host == MAP_FAILED)
        die("host mmap of a memfd", -errno);
    memset(hfill, 1, opt_pages * PG);
    munmap(hfill, opt_pages * PG);
    c->buf = host_map(PG, 0);
}

static void shm_teardown(struct shm_ctx *c)
{
    mmput(c->mm);
    vm_file_put(c->f);
    munmap(c->host, opt_pages * PG);
    munmap(c->buf, PG);
    close(c->fd);
}

/* msync(MS_SYNC) of c->dirty pages just written through the shared
 * mapping: the msync alone is timed, per call.  Each variant starts from a
 * quiet file system (syncfs before its writes, untimed), so that none pays
 * for the journal another left behind. */
static double msync_ours(void *p)
{
    struct shm_ctx *c = p;
    char b = 2;
    syncfs(c->fd);
    for (unsigned long i = 0; i < c->dirty; i++)
        if (mm_write(c->mm, c->addr + i * PG, &b, 1) != 1)
            die("mm_write", 0);
    double t0 = now_ns();
    int err = mm_msync(c->mm, c->addr, c->dirty * PG, MS_SYNC);
    double t1 = now_ns();
    if (err)
        die("mm_msync", err);
    return t1 - t0;
}

static double msync_host(void *p)
{
    struct shm_ctx *c = p;
    syncfs(c->fd);
    for (unsigned long i = 0; i < c->dirty; i++)
        ((volatile char *)c->host)[i * PG] = 2;
    double t0 = now_ns();
    int err = msync(c->host, c->dirty * PG, MS_SYNC) ? -errno : 0;
    double t1 = now_ns();
    if (err)
        die("msync", err);
    return t1 - t0;
}

/* pwrite of the same pages and fdatasync: the same writeback by hand. */
static double msync_pwrite(void *p)
{
    struct shm_ctx *c = p;
    memset(c->buf, 2, PG);
    syncfs(c->fd);
    for (unsigned long i = 0; i < c->dirty; i++)
        if (pwrite(c->fd, c->buf, PG, (off_t)(i * PG)) != (ssize_t)PG)
            die("pwrite", -errno);
    double t0 = now_ns();
    int err = fdatasync(c->fd) ? -errno : 0;
    double t1 = now_ns();
    if (err)
        die("fdatasync", err);
    return t1 - t0;
}

static void bench_shmem_kind(bool disk)
{
    const char *what = disk ? "file" : "memfd";
    struct shm_ctx rd = { .disk = disk }, sw = { .write = true, .disk = disk },
                   pw = { .write = true, .disk = disk };
    shm_setup(&rd, MAP_SHARED, disk ? 3 : 0);
    shm_setup(&sw, MAP_SHARED, disk ? 4 : 1);
    shm_setup(&pw, MAP_PRIVATE, disk ? 5 : 2);
    /* The read row's claim: each fault maps AROUND pages. */
    shm_fault_ours(&rd);
    if (mm_fault(rd.mm, rd.addr, 0))
        die("mm_fault", 0);
    struct mm_stats st;
    mm_get_stats(rd.mm, &st);
    if ((disk ? st.rss_file : st.rss_shmem) != opt_pages + AROUND)
        die("fault-around mapping 16 pages (Rss past the filled mapping)", (long)st.rss_shmem);
    zap_range(rd.mm, rd.addr, opt_pages);
    struct variant v[7] = {
        { shm_fault_ours, &rd, 0 }, { shm_fault_host, &rd, 0 }, { shm_pread, &rd, 0 },
        { shm_fault_ours, &sw, 0 }, { shm_fault_host, &sw, 0 },
        { shm_fault_ours, &pw, 0 }, { shm_fault_host, &pw, 0 },
    };
    measure(v, 7);
    /* What the cache itself costs: its radix tree's tables, per page (and
     * a host file's chunks: their address, index and list entry, three
     * words per 2 MiB). */
    struct vm_file *m = vm_file_mapping(rd.f);
    double bytes = (double)(pgtable_bytes(m->cache) + PGT_TABLE_SIZE) / (double)opt_pages +
                   (disk ? 3.0 * sizeof(void *) / 512 : 0);

    /* msync(MS_SYNC) of 64 dirty pages, on the read row's files. */
    double sync[3] = { 0 };
    if (disk) {
        rd.dirty = 64;
        fault_range(rd.mm, rd.addr, rd.dirty);
        struct variant ms[3] = { { msync_ours, &rd, 0 }, { msync_host, &rd, 0 }, { msync_pwrite, &rd, 0 } };
        /* Writeback to a disk is noisy: three times the runs. */
        int runs = opt_runs;
        opt_runs = runs * 3 > 63 ? 63 : runs * 3;
        measure(ms, 3);
        opt_runs = runs;
        for (int i = 0; i < 3; i++)
            sync[i] = ms[i].result;
    }
    shm_teardown(&rd);
    shm_teardown(&sw);
    shm_teardown(&pw);

    char name[96];
    snprintf(name, sizeof(name), "%s read fault, cached, per page mapped", what);
    struct row *r = add_row(name, v[0].result, "ns");
    snprintf(r->baselines, sizeof(r->baselines), "host %.1f ns/page (ours %.2fx), pread 4K %.1f ns",
             v[1].result, v[0].result / v[1].result, v[2].result);
    snprintf(r->goal, sizeof(r->goal), "<= 40 ns/page");
    r->met = v[0].result <= 40 ? "yes" : "NO";
    snprintf(name, sizeof(name), "%s shared write fault, cached page", what);
    r = add_row(name, v[3].result, "ns");
    snprintf(r->baselines, sizeof(r->baselines), "host %.1f ns (ours %.2fx)", v[4].result,
             v[3].result / v[4].result);
    snprintf(name, sizeof(name), "%s private write fault (copy)", what);
    r = add_row(name, v[5].result, "ns");
    snprintf(r->baselines, sizeof(r->baselines), "host %.1f ns (ours %.2fx)", v[6].result,
             v[5].result / v[6].result);
    snprintf(name, sizeof(name), "%s page cache bytes per cached page", what);
    r = add_row(name, bytes, "B");
    snprintf(r->baselines, sizeof(r->baselines), "besides the 4096-byte frame and its descriptor");
    snprintf(r->goal, sizeof(r->goal), "<= 16 B");
    r->met = bytes <= 16 ? "yes" : "NO";
    if (disk) {
        r = add_row("file msync(MS_SYNC) of 64 dirty pages", sync[0] / 1000, "us");
        snprintf(r->baselines, sizeof(r->baselines), "host msync %.1f us (ours %.2fx), pwrite+fdatasync %.1f us",
                 sync[1] / 1000, sync[0] / sync[1], sync[2] / 1000);
        snprintf(r->goal, sizeof(r->goal), "<= 1.10x host");
        r->met = sync[0] <= 1.10 * sync[1] ? "yes" : "NO";
    }
}

static void bench_shmem(void)
{
    bench_shmem_kind(false);
    bench_shmem_kind(true);
}

/* ------------------------------------------------------------------ zaps */

static double zap_madvise(void *p)
{
    struct fault_ctx *c = p;
    fault_range(c->mm, c->addr, opt_pages);
    double t0 = now_ns();
    zap_range(c->mm, c->addr, opt_pages);
    double t1 = now_ns();
    wait_deferred_frees();   /* the next populate recycles, as it would in the long run */
    return (t1 - t0) / (double)opt_pages;
}

static double zap_single(void *p)
{
    struct fault_ctx *c = p;
    fault_range(c->mm, c->addr, opt_pages);
    double t0 = now_ns();
    {
        MMAP_READ_GUARD(g, c->mm);
        const struct vma_ref *vma = vma_lookup(&g, c->addr);
        if (!vma)
            die("vma_lookup", 0);
        vma_zap_page_range_single(vma, c->addr, opt_pages * PG);
    }
    double t1 = now_ns();
    wait_deferred_frees();
    return (t1 - t0) / (double)opt_pages;
}

static double zap_host(void *p)
{
    struct host_ctx *c = p;
    for (unsigned long i = 0; i < opt_pages; i++)
        ((volatile char *)c->mem)[i * PG] = 1;
    double t0 = now_ns();
    madvise(c->mem, opt_pages * PG, MADV_DONTNEED);
    double t1 = now_ns();
    return (t1 - t0) / (double)opt_pages;
}

static void bench_zaps(void)
{
    struct fault_ctx fc = { 0 };
    fc.mm = new_mm();
    fc.addr = map_anon(fc.mm, opt_pages * PG);
    /* Both zaps must really empty the range before either is timed. */
    zap_single(&fc);
    if (rss_anon(fc.mm) != 0)
        die("vma_zap_page_range_single emptying the range (Rss)", (long)rss_anon(fc.mm));
    zap_madvise(&fc);
    if (rss_anon(fc.mm) != 0)
        die("MADV_DONTNEED emptying the range (Rss)", (long)rss_anon(fc.mm));

    struct host_ctx hz = { host_map(opt_pages * PG, MADV_NOHUGEPAGE) };
    struct variant v[3] = {
        { zap_madvise, &fc, 0 },
        { zap_single, &fc, 0 },
        { zap_host, &hz, 0 },
    };
    measure(v, 3);
    mmput(fc.mm);
    munmap(hz.mem, opt_pages * PG);

    char op[56];
    struct row *r;
    snprintf(op, sizeof(op), "zap, mm_madvise(DONTNEED), %lu pages", opt_pages);
    r = add_row(op, v[0].result, "ns/pg");
    snprintf(r->baselines, sizeof(r->baselines), "host madvise(DONTNEED) %.1f ns/page (ours %.2fx)",
             v[2].result, v[0].result / v[2].result);
    snprintf(r->goal, sizeof(r->goal), "<= 10 ns/page");
    r->met = v[0].result <= 10 ? "yes" : "NO";

    snprintf(op, sizeof(op), "zap, vma_zap_page_range_single, %lu pages", opt_pages);
    r = add_row(op, v[1].result, "ns/pg");
    snprintf(r->baselines, sizeof(r->baselines), "(incl. mmap_read_lock + vma_lookup)");
    snprintf(r->goal, sizeof(r->goal), "<= 10 ns/page");
    r->met = v[1].result <= 10 ? "yes" : "NO";
}

/* ------------------------------------------------------------- mremap */

/*
 * mremap back and forth between two places (MREMAP_MAYMOVE|MREMAP_FIXED):
 * opt_pages present pages with both places off a 2 MiB boundary (each
 * entry moves on its own), per page; and 1 GiB with both places on a 2 MiB
 * boundary, where whole page tables move, per 2 MiB (one page present in
 * each 2 MiB: a table moves alike whatever it holds, and 1 GiB of pages on
 * both sides would be memory for nothing); and a grow in place by one page
 * (the shrink back is not timed).  Against the host's mremap of its own
 * memory, made alike, and a memcpy of the same bytes (what moving by
 * copying would cost).
 */
#define MR_TABLES 512UL   /* 2 MiB pieces in the aligned move */
#define MR_A 0x400000000000UL
#define MR_B 0x410000000000UL

struct mremap_ctx {
    struct mm *mm;               /* ours, or NULL for the host */
    unsigned long a, b;          /* the two places */
    unsigned long len;           /* bytes moved */
    bool sparse;                 /* a page per 2 MiB present, not all */
    char *rb;                    /* the host's: the reservation around b */
    bool there;                  /* at b now */
    char *src, *dst;             /* memcpy's */
};

static double mremap_move(void *p)
{
    struct mremap_ctx *c = p;
    unsigned long from = c->there ? c->b : c->a, to = c->there ? c->a : c->b, len = c->len;
    double t0 = now_ns();
    long r = c->mm ? mm_mremap(c->mm, from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to)
                   : (long)mremap((void *)from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)to);
    double t1 = now_ns();
    if (r != (long)to)
        die("mremap move", c->mm ? r : -errno);
    c->there = !c->there;
    return (t1 - t0) / (double)(len / (c->sparse ? PMD_SIZE : PG));
}

static double mremap_memcpy(void *p)
{
    struct mremap_ctx *c = p;
    double t0 = now_ns();
    memcpy(c->dst, c->src, opt_pages * PG);
    double t1 = now_ns();
    sink += c->dst[PG];
    return (t1 - t0) / (double)opt_pages;
}

static double mremap_grow(void *p)
{
    struct mremap_ctx *c = p;
    unsigned long len = c->len;
    double t0 = now_ns();
    long r = c->mm ? mm_mremap(c->mm, c->a, len, len + PG, 0, 0) : (long)mremap((void *)c->a, len, len + PG, 0);
    double t1 = now_ns();
    if (r != (long)c->a)
        die("mremap grow in place", c->mm ? r : -errno);
    r = c->mm ? mm_mremap(c->mm, c->a, len + PG, len, 0, 0) : (long)mremap((void *)c->a, len + PG, len, 0);
    if (r != (long)c->a)
        die("mremap shrink", c->mm ? r : -errno);
    return t1 - t0;
}

/* opt_pages populated pages (sparse: MR_TABLES times 2 MiB, a page in each)
 * at a (+ off), room at b (+ off). */
static void mremap_setup(struct mremap_ctx *c, bool ours, unsigned long off, bool sparse)
{
    unsigned long len = sparse ? MR_TABLES * PMD_SIZE : opt_pages * PG, step = sparse ? PMD_SIZE : PG;
    c->len = len;
    c->sparse = sparse;
    c->a = MR_A + off;
    c->b = MR_B + off;
    c->there = false;
    if (ours) {
        c->mm = new_mm();
        if (mm_mmap(c->mm, c->a, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0) !=
            (long)c->a)
            die("mm_mmap", 0);
        for (unsigned long o = 0; o < len; o += step)
            fault_range(c->mm, c->a + o, 1);
        return;
    }
    c->mm = NULL;
    /* The host's own places: free ranges it chose, the same offsets. */
    char *ra = mmap(NULL, len + 4 * PMD_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    char *rb = mmap(NULL, len + 4 * PMD_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ra == MAP_FAILED || rb == MAP_FAILED)
        die("host mmap", -errno);
    c->a = (((uintptr_t)ra + PMD_SIZE - 1) & ~(PMD_SIZE - 1)) + off;
    c->b = (((uintptr_t)rb + PMD_SIZE - 1) & ~(PMD_SIZE - 1)) + off;
    /* b's reservation stays (a fixed move replaces it): no later mapping
     * may land there. */
    c->rb = rb;
    if (mmap((void *)c->a, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
        MAP_FAILED)
        die("host mmap", -errno);
    /* The rest of the reservation goes: room to grow into. */
    if (c->a > (uintptr_t)ra)
        munmap(ra, c->a - (uintptr_t)ra);
    munmap((void *)(c->a + len), (uintptr_t)ra + len + 4 * PMD_SIZE - (c->a + len));
    madvise((void *)c->a, len, MADV_NOHUGEPAGE);
    for (unsigned long o = 0; o < len; o += step)
        ((volatile char *)c->a)[o] = 1;
}

static void mremap_teardown(struct mremap_ctx *c)
{
    if (c->mm) {
        mmput(c->mm);
    } else {
        munmap((void *)(c->there ? c->b : c->a), c->len);
        munmap(c->rb, c->len + 4 * PMD_SIZE);
    }
}

static void bench_mremap(void)
{
    struct mremap_ctx ou, hu, oa, ha, og, hg, cp = { 0 };
    mremap_setup(&ou, true, PG, false);
    mremap_setup(&hu, false, PG, false);
    mremap_setup(&oa, true, 0, true);
    mremap_setup(&ha, false, 0, true);
    mremap_setup(&og, true, PG, false);
    mremap_setup(&hg, false, PG, false);
    cp.src = host_map(opt_pages * PG, MADV_NOHUGEPAGE);
    cp.dst = host_map(opt_pages * PG, MADV_NOHUGEPAGE);
    memset(cp.src, 1, opt_pages * PG);
    memset(cp.dst, 2, opt_pages * PG);
    struct variant v[7] = {
        { mremap_move, &ou, 0 }, { mremap_move, &hu, 0 }, { mremap_memcpy, &cp, 0 },
        { mremap_move, &oa, 0 }, { mremap_move, &ha, 0 },
        { mremap_grow, &og, 0 }, { mremap_grow, &hg, 0 },
    };
    measure(v, 7);
    /* The moves carried the pages: nothing was faulted or copied anew. */
    if (rss_anon(ou.mm) != opt_pages || rss_anon(oa.mm) != MR_TABLES)
        die("a move keeping Rss", (long)rss_anon(ou.mm));
    mremap_teardown(&ou);
    mremap_teardown(&hu);
    mremap_teardown(&oa);
    mremap_teardown(&ha);
    mremap_teardown(&og);
    mremap_teardown(&hg);
    munmap(cp.src, opt_pages * PG);
    munmap(cp.dst, opt_pages * PG);

    char op[64];
    snprintf(op, sizeof(op), "mremap move, %lu pages, off 2 MiB", opt_pages);
    struct row *r = add_row(op, v[0].result, "ns/pg");
    snprintf(r->baselines, sizeof(r->baselines), "host %.1f ns/page (ours %.2fx), memcpy %.1f ns/page",
             v[1].result, v[0].result / v[1].result, v[2].result);
    snprintf(r->goal, sizeof(r->goal), "<= 3 ns/page");
    r->met = v[0].result <= 3 ? "yes" : "NO";
    snprintf(op, sizeof(op), "mremap move, %lu x 2 MiB, 2 MiB-aligned", MR_TABLES);
    double per2m = v[3].result, host2m = v[4].result;
    r = add_row(op, per2m, "ns/2M");
    snprintf(r->baselines, sizeof(r->baselines), "host %.1f ns/2 MiB (ours %.2fx), memcpy %.0f ns/2 MiB", host2m,
             per2m / host2m, v[2].result * 512);
    snprintf(r->goal, sizeof(r->goal), "<= 50 ns/2 MiB");
    r->met = per2m <= 50 ? "yes" : "NO";
    r = add_row("mremap grow in place by a page", v[5].result, "ns");
    snprintf(r->baselines, sizeof(r->baselines), "host %.1f ns (ours %.2fx)", v[6].result,
             v[5].result / v[6].result);
}

/* --------------------------------------------------------------- fork */

/*
 * mm_fork of an mm with opt_pages present private pages, per page (the
 * child is put untimed), against the host's fork of this process with the
 * same pages present in an extra mapping, per page of it (the fork of the
 * process without them subtracted: the rest of this process is not the
 * row's business); then a write fault in the child on each page, which
 * copies it, against a memcpy of 4 KiB (the goal: memcpy + 60 ns).
 */
struct fork_ctx {
    struct mm *mm;
    unsigned long addr;
    char *host;                  /* the host's pages, NULL: none */
    char *src, *dst;             /* memcpy's */
};

static double fork_ours(void *p)
{
    struct fork_ctx *c = p;
    double t0 = now_ns();
    struct mm *child = mm_fork(c->mm);
    double t1 = now_ns();
    if (!child)
        die("mm_fork", -errno);
    mmput(child);
    wait_deferred_frees();
    return (t1 - t0) / (double)opt_pages;
}

static double fork_host_once(void)
{
    double t0 = now_ns();
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    double t1 = now_ns();
    if (pid < 0)
        die("fork", -errno);
    waitpid(pid, NULL, 0);
    return t1 - t0;
}

static double fork_host(void *p)
{
    struct fork_ctx *c = p;
    /* With the pages, then without them (unmapped by the child's twin). */
    double with = fork_host_once();
    madvise(c->host, opt_pages * PG, MADV_DONTNEED);
    double without = fork_host_once();
    memset(c->host, 1, opt_pages * PG);
    return (with - without) / (double)opt_pages;
}

static double cow_ours(void *p)
{
    struct fork_ctx *c = p;
    struct mm *child = mm_fork(c->mm);
    if (!child)
        die("mm_fork", -errno);
    double t0 = now_ns();
    for (unsigned long i = 0; i < opt_pages; i++) {
        int err = mm_fault(child, c->addr + i * PG, FAULT_FLAG_WRITE);
        if (err)
            die("mm_fault (copy-on-write)", err);
    }
    double t1 = now_ns();
    mmput(child);
    wait_deferred_frees();
    return (t1 - t0) / (double)opt_pages;
}

static double cow_memcpy(void *p)
{
    struct fork_ctx *c = p;
    double t0 = now_ns();
    for (unsigned long i = 0; i < opt_pages; i++)
        memcpy(c->dst + i * PG, c->src + i * PG, PG);
    double t1 = now_ns();
    sink += c->dst[PG];
    return (t1 - t0) / (double)opt_pages;
}

/* The same copy, each page published by a locked instruction before the
 * next, as a fault publishes its copy: the stores must drain first. */
static double cow_memcpy_published(void *p)
{
    struct fork_ctx *c = p;
    static _Atomic unsigned long flag;
    double t0 = now_ns();
    for (unsigned long i = 0; i < opt_pages; i++) {
        memcpy(c->dst + i * PG, c->src + i * PG, PG);
        atomic_fetch_add(&flag, 1);
    }
    double t1 = now_ns();
    sink += c->dst[PG];
    return (t1 - t0) / (double)opt_pages;
}

static void bench_fork(void)
{
    struct fork_ctx c = { 0 };
    c.mm = new_mm();
    c.addr = map_anon(c.mm, opt_pages * PG);
    fault_range(c.mm, c.addr, opt_pages);
    c.host = host_map(opt_pages * PG, MADV_NOHUGEPAGE);
    memset(c.host, 1, opt_pages * PG);
    c.src = host_map(opt_pages * PG, MADV_NOHUGEPAGE);
    c.dst = host_map(opt_pages * PG, MADV_NOHUGEPAGE);
    memset(c.src, 1, opt_pages * PG);
    memset(c.dst, 2, opt_pages * PG);
    /* The host's forks last, on their own: each leaves this process's
     * memory (the pools included) write-protected for the host's
     * copy-on-write, and the first store to each page after one costs a
     * host fault. */
    struct variant v[5] = {
        { fork_ours, &c, 0 }, { cow_ours, &c, 0 }, { cow_memcpy, &c, 0 }, { cow_memcpy_published, &c, 0 },
        { fork_host, &c, 0 },
    };
    measure(v, 4);
    measure(v + 4, 1);
    mmput(c.mm);
    munmap(c.host, opt_pages * PG);
    munmap(c.src, opt_pages * PG);
    munmap(c.dst, opt_pages * PG);

    char op[64];
    snprintf(op, sizeof(op), "mm_fork, %lu present pages", opt_pages);
    struct row *r = add_row(op, v[0].result, "ns/pg");
    snprintf(r->baselines, sizeof(r->baselines), "host fork %.1f ns/page (ours %.2fx)", v[4].result,
             v[0].result / v[4].result);
    snprintf(r->goal, sizeof(r->goal), "<= 20 ns/page");
    r->met = v[0].result <= 20 ? "yes" : "NO";
    r = add_row("copy-on-write fault after mm_fork", v[1].result, "ns");
    snprintf(r->baselines, sizeof(r->baselines), "memcpy 4K %.1f ns; with a locked op after each %.1f ns",
             v[2].result, v[3].result);
    snprintf(r->goal, sizeof(r->goal), "<= memcpy+60 = %.0f ns", v[2].result + 60);
    r->met = v[1].result <= v[2].result + 60 ? "yes" : "NO";
}

/* ------------------------------------------------------- one-byte reads */

#define READ_PAGES 64
#define READ_ADDRS 4096           /* a power of two */

struct read_ctx {
    struct mm *mm;
    unsigned long addr;           /* READ_PAGES present pages */
    unsigned long off[READ_ADDRS];/* random offsets into them */
    char *local;                  /* the same bytes in host memory */
    int memfd;                    /* /proc/self/mem */
};

static double read_ours(void *p)
{
    struct read_ctx *c = p;
    uintptr_t acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < opt_reads; i++) {
        char b;
        if (mm_read(c->mm, c->addr + c->off[i & (READ_ADDRS - 1)], &b, 1) != 1)
            die("mm_read", 0);
        acc += (unsigned char)b;
    }
    double t1 = now_ns();
    sink = acc;
    return (t1 - t0) / (double)opt_reads;
}

/* Called through a volatile pointer so that it stays a real call to the C
 * library's memcpy, not a single load the compiler folded it into. */
static void *(*volatile memcpy_fn)(void *, const void *, size_t) = memcpy;

static double read_memcpy(void *p)
{
    struct read_ctx *c = p;
    uintptr_t acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < opt_reads; i++) {
        char b;
        memcpy_fn(&b, c->local + c->off[i & (READ_ADDRS - 1)], 1);
        acc += (unsigned char)b;
    }
    double t1 = now_ns();
    sink = acc;
    return (t1 - t0) / (double)opt_reads;
}

static double read_process_vm_readv(void *p)
{
    struct read_ctx *c = p;
    pid_t self = getpid();
    uintptr_t acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < opt_syscalls; i++) {
        char b;
        struct iovec local = { &b, 1 };
        struct iovec remote = { c->local + c->off[i & (READ_ADDRS - 1)], 1 };
        if (process_vm_readv(self, &local, 1, &remote, 1, 0) != 1)
            die("process_vm_readv", -errno);
        acc += (unsigned char)b;
    }
    double t1 = now_ns();
    sink = acc;
    return (t1 - t0) / (double)opt_syscalls;
}

static double read_proc_mem(void *p)
{
    struct read_ctx *c = p;
    uintptr_t acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < opt_syscalls; i++) {
        char b;
        off_t at = (off_t)(uintptr_t)(c->local + c->off[i & (READ_ADDRS - 1)]);
        if (pread(c->memfd, &b, 1, at) != 1)
            die("pread /proc/self/mem", -errno);
        acc += (unsigned char)b;
    }
    double t1 = now_ns();
    sink = acc;
    return (t1 - t0) / (double)opt_syscalls;
}

static void read_setup(struct read_ctx *c)
{
    c->mm = new_mm();
    c->addr = map_anon(c->mm, READ_PAGES * PG);
    c->local = host_map(READ_PAGES * PG, 0);
    for (unsigned long i = 0; i < READ_PAGES * PG; i++)
        c->local[i] = (char)(rng() >> 56);
    /* mm_write faults every page in: all reads below find them present. */
    if (mm_write(c->mm, c->addr, c->local, READ_PAGES * PG) != (ssize_t)(READ_PAGES * PG))
        die("mm_write", 0);
    for (int i = 0; i < READ_ADDRS; i++)
        c->off[i] = rng() % (READ_PAGES * PG);
    for (int i = 0; i < READ_ADDRS; i++) {
        char b;
        if (mm_read(c->mm, c->addr + c->off[i], &b, 1) != 1 || b != c->local[c->off[i]])
            die("mm_read agreeing with what mm_write wrote", i);
    }
    c->memfd = open("/proc/self/mem", O_RDONLY);
}

static void read_teardown(struct read_ctx *c)
{
    mmput(c->mm);
    munmap(c->local, READ_PAGES * PG);
    if (c->memfd >= 0)
        close(c->memfd);
}

static void bench_reads(void)
{
    static struct read_ctx c;
    read_setup(&c);
    struct variant v[4] = {
        { read_ours, &c, 0 },
        { read_memcpy, &c, 0 },
        { read_process_vm_readv, &c, 0 },
    };
    int nv = 3;
    if (c.memfd >= 0)
        v[nv++] = (struct variant){ read_proc_mem, &c, 0 };
    measure(v, nv);
    read_teardown(&c);

    struct row *r = add_row("mm_read, 1 byte of a present page", v[0].result, "ns");
    int n = snprintf(r->baselines, sizeof(r->baselines),
                     "memcpy 1 B %.1f ns; host process_vm_readv %.0f ns", v[1].result, v[2].result);
    if (nv > 3)
        snprintf(r->baselines + n, sizeof(r->baselines) - (size_t)n,
                 ", pread /proc/self/mem %.0f ns", v[3].result);
    snprintf(r->goal, sizeof(r->goal), "<= 25 ns");
    r->met = v[0].result <= 25 ? "yes" : "NO";
}

/* ------------------------------------------------- per-VMA read lock */

#define NR_VMAS 1000

struct lock_ctx {
    struct mm *mm;
    unsigned long *addrs;         /* opt_lookups random addresses inside VMAs */
    pthread_rwlock_t rwlock;
    unsigned long fallbacks;
};

static double lock_per_vma(void *p)
{
    struct lock_ctx *c = p;
    return time_per_vma_locks(c->mm, c->addrs, opt_lookups, &c->fallbacks);
}

/* A plain reader-writer lock in place of the per-VMA one: the lookup runs
 * under a read guard held for the whole run, so the pthread lock is the only
 * lock cost per lookup. */
static double lock_rwlock(void *p)
{
    struct lock_ctx *c = p;
    uintptr_t acc = 0;
    MMAP_READ_GUARD(g, c->mm);
    double t0 = now_ns();
    for (long i = 0; i < opt_lookups; i++) {
        pthread_rwlock_rdlock(&c->rwlock);
        acc ^= (uintptr_t)vma_lookup(&g, c->addrs[i]);
        pthread_rwlock_unlock(&c->rwlock);
    }
    double t1 = now_ns();
    sink = acc;
    return (t1 - t0) / (double)opt_lookups;
}

static double lock_mmap(void *p)
{
    struct lock_ctx *c = p;
    return time_locked_lookups(c->mm, c->addrs, opt_lookups);
}

static void lock_setup(struct lock_ctx *c)
{
    memset(c, 0, sizeof(*c));
    c->mm = new_mm();
    pthread_rwlock_init(&c->rwlock, NULL);
    /* the VMAs bench_vma looks up at 1,000 */
    vmas_map(c->mm, NR_VMAS, PG);
    struct range *vmas = vmas_ranges(c->mm, NR_VMAS);
    c->addrs = random_addrs(vmas, NR_VMAS, opt_lookups);
    free(vmas);
    /* the per-VMA lock must find the VMA the address is in */
    for (long i = 0; i < opt_lookups && i < 10000; i++) {
        const struct vma_ref *v = lock_vma_under_rcu(c->mm, c->addrs[i]);
        if (!v)
            continue;
        bool ok = vma_start(v) <= c->addrs[i] && c->addrs[i] < vma_end(v);
        vma_end_read(v);
        if (!ok)
            die("lock_vma_under_rcu finding the right VMA", i);
    }
}

static void lock_teardown(struct lock_ctx *c)
{
    mmput(c->mm);
    pthread_rwlock_destroy(&c->rwlock);
    free(c->addrs);
}

static void bench_vma_lock(void)
{
    struct lock_ctx c;
    lock_setup(&c);
    struct variant v[3] = {
        { lock_per_vma, &c, 0 },
        { lock_rwlock, &c, 0 },
        { lock_mmap, &c, 0 },
    };
    measure(v, 3);
    lock_teardown(&c);

    struct row *r = add_row("lock_vma_under_rcu+vma_end_read, 1,000 VMAs", v[0].result, "ns");
    int n = snprintf(r->baselines, sizeof(r->baselines),
                     "rwlock+vma_lookup %.1f ns; mmap_read_lock+vma_lookup %.1f ns", v[1].result,
                     v[2].result);
    if (c.fallbacks)
        snprintf(r->baselines + n, sizeof(r->baselines) - (size_t)n, " (%lu fell back)",
                 c.fallbacks);
    snprintf(r->goal, sizeof(r->goal), "<= 40 ns");
    r->met = v[0].result <= 40 ? "yes" : "NO";
}

/*
 * --only OP --ops N: set up, then run N operations of one kind inside one
 * function named only_OP, and print their time.  For an instruction count
 * of exactly those N operations, without the set-up:
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='only_*' \
 *       bench_memory --only fault --ops 10000
 * and divide the total by N (a pattern, because the compiler may rename
 * only_OP to a clone such as only_read.isra.0).  OP: fault (steady-state
 * write faults on pages zapped before), zap (MADV_DONTNEED of N populated
 * pages), read (mm_read of one byte of a present page), rcu1k
 * (lock_vma_under_rcu + vma_end_read at 1,000 VMAs).  rcu1k and read include
 * their loop (a few instructions per op).
 */
static __attribute__((noinline)) void only_fault(struct mm *mm, unsigned long addr, long n)
{
    fault_range(mm, addr, (unsigned long)n);
}

static __attribute__((noinline)) void only_zap(struct mm *mm, unsigned long addr, long n)
{
    zap_range(mm, addr, (unsigned long)n);
}

/* The empty asm keeps each call out of tail position: a tail call would
 * leave only_OP before the work, and callgrind would stop counting. */
static __attribute__((noinline)) double only_read(struct read_ctx *c)
{
    double ns = read_ours(c);
    __asm__ volatile("");
    return ns;
}

static __attribute__((noinline)) double only_rcu1k(struct lock_ctx *c)
{
    double ns = lock_per_vma(c);
    __asm__ volatile("");
    return ns;
}

static int run_only(const char *op, long n)
{
    double t0, t1;

    if (!strcmp(op, "fault") || !strcmp(op, "zap")) {
        struct mm *mm = new_mm();
        unsigned long addr = map_anon(mm, (unsigned long)n * PG);
        fault_range(mm, addr, (unsigned long)n);
        if (op[0] == 'f') {
            zap_range(mm, addr, (unsigned long)n);   /* steady state: recycled frames */
            wait_deferred_frees();
            t0 = now_ns();
            only_fault(mm, addr, n);
        } else {
            t0 = now_ns();
            only_zap(mm, addr, n);
        }
        t1 = now_ns();
        mmput(mm);
    } else if (!strcmp(op, "cow")) {
        struct mm *mm = new_mm();
        unsigned long addr = map_anon(mm, (unsigned long)n * PG);
        fault_range(mm, addr, (unsigned long)n);
        struct mm *child = mm_fork(mm);   /* a first child warms the frame pool */
        if (!child)
            die("mm_fork", -errno);
        fault_range(child, addr, (unsigned long)n);
        mmput(child);
        wait_deferred_frees();
        child = mm_fork(mm);
        if (!child)
            die("mm_fork", -errno);
        t0 = now_ns();
        only_fault(child, addr, n);
        t1 = now_ns();
        mmput(child);
        mmput(mm);
    } else if (!strcmp(op, "read")) {
        static struct read_ctx c;
        read_setup(&c);
        opt_reads = n;
        t0 = now_ns();
        only_read(&c);
        t1 = now_ns();
        read_teardown(&c);
    } else if (!strcmp(op, "rcu1k")) {
        struct lock_ctx c;
        opt_lookups = n;
        lock_setup(&c);
        t0 = now_ns();
        only_rcu1k(&c);
        t1 = now_ns();
        lock_teardown(&c);
    } else {
        fprintf(stderr, "bench_memory: unknown --only %s\n", op);
        return 2;
    }
    printf("%s: %.1f ns per op (one run of %ld)\n", op, (t1 - t0) / (double)n, n);
    return 0;
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    long ops = 10000;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = argv[++i];
        } else if (!strcmp(argv[i], "--ops") && i + 1 < argc) {
            ops = atol(argv[++i]);
            if (ops < 1)
                ops = 1;
        } else if (!strcmp(argv[i], "--quick")) {
            opt_runs = 3;
            opt_pages = 2048;
            opt_reads = 1L << 18;
            opt_syscalls = 20000;
            opt_lookups = 1L << 17;
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
        return run_only(only, ops);

    bench_faults();
    bench_zaps();
    bench_mremap();
    bench_shmem();
    bench_reads();
    bench_vma_lock();
    bench_fork();   /* last: the host's forks write-protect this process's memory */

    printf("vmarea bench_memory: median of %d runs; %lu pages per fault/zap run, %ld reads "
           "(%ld host syscalls), %ld per-VMA lock round trips per run\n",
           opt_runs, opt_pages, opt_reads, opt_syscalls, opt_lookups);
    print_table(48, 12, 78, 24);

    int missed = 0;
    for (int i = 0; i < nrows; i++)
        missed += !strcmp(rows[i].met, "NO");
    printf("%d of the goals missed\n", missed);
    return 0;
}

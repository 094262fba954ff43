/* SPDX-License-Identifier: MIT */
/*
 * host_config.c — mm_config_from_host: the properties of the running kernel
 * that change what a process sees, each found by behaviour where behaviour
 * shows it (map, touch, read /proc/self/smaps), else from /proc/sys.
 *
 * Every probe maps its own small region inside PROT_NONE margins, so that
 * its VMA merges with nothing of the caller's and smaps speaks of it alone,
 * and unmaps it before returning.
 */
#define _GNU_SOURCE   /* memfd_create */
#include "host.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define MADV_POPULATE_READ_ 22
#define MADV_GUARD_INSTALL_ 102
#define TMPFS_MAGIC_ 0x01021994

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

/* What smaps says of the VMA that starts at start. */
struct smaps_vma {
    unsigned long rss_kb, anon_huge_kb, private_dirty_kb;
    bool soft_dirty, pkey_line, named, maybe_guard;
};

static int smaps_of(unsigned long start, struct smaps_vma *out)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen("/proc/self/smaps", "re");
    if (!f)
        return -errno;
    char line[512];
    bool inside = false;
    int ret = -ENOENT;
    while (fgets(line, sizeof(line), f)) {
        unsigned long s, e;
        /* Field lines start with a name and a colon, never "hex-hex". */
        if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {
            if (inside)
                break;
            inside = s == start;
            if (inside)
                out->named = strstr(line, "[anon:") != NULL;
            continue;
        }
        if (!inside)
            continue;
        unsigned long kb;
        if (sscanf(line, "Rss: %lu kB", &kb) == 1)
            out->rss_kb = kb;
        else if (sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
            out->anon_huge_kb = kb;
        else if (sscanf(line, "Private_Dirty: %lu kB", &kb) == 1)
            out->private_dirty_kb = kb;
        else if (strncmp(line, "ProtectionKey:", 14) == 0)
            out->pkey_line = true;
        else if (strncmp(line, "VmFlags:", 8) == 0) {
            out->soft_dirty = strstr(line, " sd ") != NULL;
            out->maybe_guard = strstr(line, " gu ") != NULL;
            ret = 0;
        }
    }
    fclose(f);
    return ret;
}

/*
 * A region of len bytes at a multiple of align, inside PROT_NONE margins of
 * one page, made accessible with prot.  *base and *total are what to unmap.
 */
static void *probe_region(size_t len, size_t align, int prot, void **base, size_t *total)
{
    *total = len + align + 2 * PAGE_SIZE;
    char *b = mmap(NULL, *total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (b == MAP_FAILED)
        return NULL;
    char *p = (char *)(((uintptr_t)b + PAGE_SIZE + align - 1) & ~(uintptr_t)(align - 1));
    if (mprotect(p, len, prot)) {
        munmap(b, *total);
        return NULL;
    }
    *base = b;
    return p;
}

/*
 * One page read once: does the read map the zero page (no Rss) or allocate?
 * The same VMA tells soft-dirty ("sd" on a new VMA), protection keys (a
 * ProtectionKey line) and, after PR_SET_VMA, anonymous VMA names.
 */
static int probe_small_page(struct mm_config *cfg)
{
    void *base;
    size_t total;
    volatile char *p = probe_region(PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE, &base, &total);
    if (!p)
        return -errno;
    (void)p[0];
    bool named = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, PAGE_SIZE,
                       (unsigned long)"vmarea-probe") == 0;
    struct smaps_vma s;
    int ret = smaps_of((unsigned long)p, &s);
    munmap(base, total);
    if (ret)
        return ret;
    if (s.rss_kb)
        cfg->flags |= MM_CONFIG_NO_ZERO_PAGE;
    if (!s.soft_dirty)
        cfg->flags |= MM_CONFIG_NO_SOFT_DIRTY;
    if (!s.pkey_line)
        cfg->flags |= MM_CONFIG_NO_PKEYS;
    if (!named || !s.named)
        cfg->flags |= MM_CONFIG_NO_ANON_NAMES;
    return 0;
}

/*
 * A read of an aligned 2 MiB the VMA allows a THP in: the huge zero page
 * (no Rss), or a THP (AnonHugePages).  Anything else (the allocation fell
 * back to small pages, THP disabled for this process) says nothing, and the
 * flag stays as the small-page probe left it.
 */
/* An aligned, writable 2 MiB that may hold a THP (MADV_HUGEPAGE), or NULL. */
static volatile char *thp_region(void **base, size_t *total)
{
    volatile char *p = probe_region(PMD_SIZE, PMD_SIZE, PROT_READ | PROT_WRITE, base, total);
    if (p && madvise((void *)p, PMD_SIZE, MADV_HUGEPAGE)) {
        munmap(*base, *total);
        p = NULL;
    }
    return p;
}

static void probe_huge_zero_page(struct mm_config *cfg)
{
    if (cfg->thp == MM_THP_NEVER || (cfg->flags & MM_CONFIG_NO_ZERO_PAGE))
        return;
    void *base;
    size_t total;
    volatile char *p = thp_region(&base, &total);
    if (!p)
        return;
    (void)p[0];
    struct smaps_vma s;
    if (smaps_of((unsigned long)p, &s) == 0 && s.anon_huge_kb >= PMD_SIZE >> 10)
        cfg->flags |= MM_CONFIG_NO_HUGE_ZERO_PAGE;
    munmap(base, total);
}

/*
 * Does mprotect that takes write away from a whole THP clean it?  A THP
 * written, then made read-only: Private_Dirty 0 says yes.  No THP says
 * nothing.
 */
static void probe_thp_wrprotect_clean(struct mm_config *cfg)
{
    if (cfg->thp == MM_THP_NEVER)
        return;
    void *base;
    size_t total;
    volatile char *p = thp_region(&base, &total);
    if (!p)
        return;
    p[0] = 1;
    struct smaps_vma s;
    if (smaps_of((unsigned long)p, &s) == 0 && s.anon_huge_kb >= PMD_SIZE >> 10 &&
        mprotect((void *)p, PMD_SIZE, PROT_READ) == 0 && smaps_of((unsigned long)p, &s) == 0 &&
        s.anon_huge_kb >= PMD_SIZE >> 10 && s.private_dirty_kb == 0)
        cfg->flags |= MM_CONFIG_THP_WRPROTECT_CLEAN;
    munmap(base, total);
}

/*
 * Does splitting a huge page map the zero page over its all-zero subpages
 * (Linux 6.12 and later)?  A THP with one byte written, split by MADV_COLD
 * of one page: Rss 4 kB says yes, 2 MiB no; no THP at all, or no split
 * (AnonHugePages still there), says nothing.
 */
static void probe_split_zero_remap(struct mm_config *cfg)
{
    if (cfg->thp == MM_THP_NEVER)
        return;
    /* The split itself may fail for a while (a new folio still held by the
     * per-CPU LRU batch it was added to): then the answer is another try's,
     * and with none, the default (6.12 and later remap). */
    for (int tries = 0; tries < 8; tries++) {
        void *base;
        size_t total;
        volatile char *p = thp_region(&base, &total);
        if (!p)
            return;
        struct smaps_vma s;
        p[0] = 1;
        int decided = -1;   /* 1: no remap, 0: remap */
        if (smaps_of((unsigned long)p, &s) == 0 && s.anon_huge_kb >= PMD_SIZE >> 10 &&
            madvise((void *)(p + PAGE_SIZE), PAGE_SIZE, MADV_COLD) == 0 && smaps_of((unsigned long)p, &s) == 0 &&
            s.anon_huge_kb == 0)
            decided = s.rss_kb >= PMD_SIZE >> 10;
        munmap(base, total);
        if (decided >= 0) {
            if (decided)
                cfg->flags |= MM_CONFIG_NO_SPLIT_ZERO_REMAP;
            return;
        }
    }
}

/*
 * How many pages a read fault on a shared mapping maps around it
 * (fault_around_bytes): a memfd of 512 pages, all in its page cache, mapped
 * at a 2 MiB boundary; the Rss after one read of the first page is the
 * window (the window is aligned to its own size, so it starts there).
 */
static void probe_fault_around(struct mm_config *cfg)
{
    int fd = memfd_create("vmarea-probe", MFD_CLOEXEC);
    if (fd < 0)
        return;
    void *base;
    size_t total;
    char *p = NULL;
    if (ftruncate(fd, PMD_SIZE) == 0)
        p = probe_region(PMD_SIZE, PMD_SIZE, PROT_NONE, &base, &total);
    if (p && mmap(p, PMD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == p) {
        for (size_t off = 0; off < PMD_SIZE; off += PAGE_SIZE)
            p[off] = 1;
        /* A fresh mapping of the same pages: no entries yet. */
        if (mmap(p, PMD_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == p) {
            (void)*(volatile char *)p;
            struct smaps_vma s;
            if (smaps_of((unsigned long)p, &s) == 0 && s.rss_kb)
                cfg->fault_around_bytes = s.rss_kb << 10;
        }
    }
    if (p)
        munmap(base, total);
    close(fd);
}

/*
 * Does a fault past the end of a file (on a file system with writeback,
 * not tmpfs) map the file's last page around it when the fault finds no
 * page table?  Linux 6.18 does not (filemap_map_pages installs a table
 * only for a first folio that ends inside the file); earlier kernels do.  A
 * file of 2 pages, its second mapped 16 pages long alone in a 2 MiB
 * region, and a populate of the page after it (EFAULT, not SIGBUS): Rss
 * says.  No file system with
 * writeback where a temporary file can go: left at the default.
 */
static void probe_eof_fault_around(struct mm_config *cfg)
{
    static const char *const dirs[] = { "TMPDIR", "/var/tmp", "/tmp" };
    int fd = -1;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && fd < 0; i++) {
        const char *d = i == 0 ? getenv(dirs[0]) : dirs[i];
        struct statfs sfs;
        if (!d || !*d || (fd = open(d, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0)
            continue;
        if (fstatfs(fd, &sfs) || sfs.f_type == TMPFS_MAGIC_) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0)
        return;
    static const char page[PAGE_SIZE];
    void *base;
    size_t total;
    char *p = NULL;
    if (write(fd, page, PAGE_SIZE) == PAGE_SIZE && write(fd, page, PAGE_SIZE) == PAGE_SIZE)
        p = probe_region(PMD_SIZE, PMD_SIZE, PROT_NONE, &base, &total);
    if (p && mmap(p, 16 * PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, fd, PAGE_SIZE) == p) {
        struct smaps_vma s;
        if (madvise(p + PAGE_SIZE, PAGE_SIZE, MADV_POPULATE_READ_) && smaps_of((unsigned long)p, &s) == 0 &&
            s.rss_kb)
            cfg->flags |= MM_CONFIG_EOF_FAULT_AROUND;
    }
    if (p)
        munmap(base, total);
    close(fd);
}

/* The vsyscall page as this process's maps shows it: execute-only (the
 * default), readable (vsyscall=emulate), or absent (vsyscall=none). */
static void probe_vsyscall(struct mm_config *cfg)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return;
    char line[512];
    bool seen = false;
    while (fgets(line, sizeof(line), f)) {
        if (!strstr(line, "[vsyscall]"))
            continue;
        seen = true;
        const char *perms = strchr(line, ' ');
        if (perms && perms[1] == 'r')
            cfg->flags |= MM_CONFIG_VSYSCALL_EMULATE;
    }
    fclose(f);
    if (!seen)
        cfg->flags |= MM_CONFIG_NO_VSYSCALL;
}

/* VM_MAYBE_GUARD: a guard region marks its VMA "gu" in VmFlags.  A kernel
 * without guard regions (before 6.13) refuses the advice and shows nothing. */
static void probe_maybe_guard(struct mm_config *cfg)
{
    void *base;
    size_t total;
    volatile char *p = probe_region(PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE, &base, &total);
    if (!p)
        return;
    struct smaps_vma s;
    if (madvise((void *)p, PAGE_SIZE, MADV_GUARD_INSTALL_) == 0 && smaps_of((unsigned long)p, &s) == 0 &&
        !s.maybe_guard)
        cfg->flags |= MM_CONFIG_NO_MAYBE_GUARD;
    munmap(base, total);
}

/* Five-level paging (LA57): a page mapped at MAP_FIXED_NOREPLACE above the
 * 48-bit limit of four levels succeeds only there (ENOMEM otherwise).  Then
 * the task size is TASK_SIZE_MAX. */
static void probe_task_size(struct mm_config *cfg)
{
    void *want = (void *)(1UL << 52);
    void *p = mmap(want, PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                   -1, 0);
    if (p == MAP_FAILED)
        return;
    munmap(p, PAGE_SIZE);
    if (p == want)
        cfg->task_size = LA57_TASK_SIZE;
}

int mm_config_from_host(struct mm_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    unsigned long v;
    if (host_read_ulong("/proc/sys/vm/max_map_count", &v) == 0 && v)
        cfg->max_map_count = v;
    if (host_read_ulong("/proc/sys/vm/mmap_min_addr", &v) == 0 && v)
        cfg->mmap_min_addr = v;
    if (host_read_ulong("/proc/sys/vm/overcommit_memory", &v) == 0 && v <= MM_OVERCOMMIT_NEVER)
        cfg->overcommit_memory = (int)v;
    if (host_read_ulong("/proc/sys/vm/overcommit_ratio", &v) == 0)
        cfg->overcommit_ratio = v;
    if (host_read_ulong("/proc/sys/vm/overcommit_kbytes", &v) == 0)
        cfg->overcommit_kbytes = v;
    if (host_read_ulong("/proc/sys/vm/admin_reserve_kbytes", &v) == 0)
        cfg->admin_reserve_kbytes = v;
    if (host_read_ulong("/proc/sys/vm/user_reserve_kbytes", &v) == 0)
        cfg->user_reserve_kbytes = v;
    host_memory_pages(&cfg->ram_pages, &cfg->swap_pages);
    cfg->memlock_limit = host_memlock_limit();
    probe_task_size(cfg);
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0)
        cfg->as_limit = rl.rlim_cur;
    if (getrlimit(RLIMIT_DATA, &rl) == 0)
        cfg->data_limit = rl.rlim_cur;
    if (getrlimit(RLIMIT_STACK, &rl) == 0)
        cfg->stack_limit = rl.rlim_cur;

    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
    if (f) {
        char buf[128] = "";
        if (fgets(buf, sizeof(buf), f)) {
            if (strstr(buf, "[madvise]"))
                cfg->thp = MM_THP_MADVISE;
            else if (strstr(buf, "[never]"))
                cfg->thp = MM_THP_NEVER;
        }
        fclose(f);
    } else {
        cfg->thp = MM_THP_NEVER;   /* no THP support in this kernel */
    }

    int ret = probe_small_page(cfg);
    probe_huge_zero_page(cfg);
    probe_split_zero_remap(cfg);
    probe_thp_wrprotect_clean(cfg);
    probe_fault_around(cfg);
    probe_eof_fault_around(cfg);
    probe_vsyscall(cfg);
    probe_maybe_guard(cfg);
    return ret;
}

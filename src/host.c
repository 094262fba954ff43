/* SPDX-License-Identifier: MIT */
/*
 * host.c — the calls to the host OS (host.h says which), and the injected
 * allocation failures every internal allocation passes through.
 */
#define _GNU_SOURCE
#include "host.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

void *host_alloc_chunk(size_t size)
{
    /* Twice the size, then trimmed to the aligned part. */
    size_t len = 2 * size;
    char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    char *start = (char *)(((uintptr_t)raw + size - 1) & ~(uintptr_t)(size - 1));
    if (start > raw)
        munmap(raw, start - raw);
    if (raw + len > start + size)
        munmap(start + size, raw + len - (start + size));
#ifdef MADV_HUGEPAGE
    madvise(start, size, MADV_HUGEPAGE);      /* a hint; THP may be off */
#endif
#ifdef MADV_POPULATE_WRITE
    /* Linux >= 5.14; where it fails the first touch of each frame faults
     * instead, which is slower but correct. */
    madvise(start, size, MADV_POPULATE_WRITE);
#endif
    return start;
}

void *host_alloc_pages(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void host_free(void *p, size_t size)
{
    munmap(p, size);
}

void host_futex_wait(atomic_int *addr, int val)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

void host_futex_wake(atomic_int *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

int host_read_ulong(const char *path, unsigned long *out)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    int ok = fscanf(f, "%lu", out) == 1;
    fclose(f);
    return ok ? 0 : -EIO;
}

int host_memory_pages(unsigned long *ram, unsigned long *swap)
{
    struct sysinfo si;
    if (sysinfo(&si))
        return -errno;
    unsigned long unit = si.mem_unit ? si.mem_unit : 1;
    *ram = si.totalram * unit >> PAGE_SHIFT;
    *swap = si.totalswap * unit >> PAGE_SHIFT;
    return 0;
}

/* None with CAP_IPC_LOCK in the effective set (capget, whose first word
 * holds capabilities 0 to 31) or an infinite limit; else the soft limit. */
unsigned long host_memlock_limit(void)
{
    struct { uint32_t version; int pid; } hdr = { 0x20080522, 0 };   /* _LINUX_CAPABILITY_VERSION_3 */
    struct { uint32_t effective, permitted, inheritable; } data[2];
    if (syscall(SYS_capget, &hdr, data) == 0 && (data[0].effective & (1U << 14)))   /* CAP_IPC_LOCK */
        return 0;
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    return rl.rlim_cur ? rl.rlim_cur : 1;   /* 0 would say "no limit": one byte locks nothing */
}

ssize_t host_pread(int fd, void *buf, size_t len, unsigned long off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return done ? (ssize_t)done : -errno;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/*
 * RESOLVE_IN_ROOT treats root as "/" for the whole walk, absolute symlinks
 * included, as a process chrooted there would see its interpreter; a
 * kernel without openat2 (before 5.6) gets the two paths joined instead.
 */
int host_open_exec(const char *root, const char *path)
{
    int fd;
    if (!root || !strcmp(root, "/")) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
    }
    int dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return -errno;
    struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
    fd = (int)syscall(SYS_openat2, dir, path, &how, sizeof(how));
    int err = fd < 0 ? errno : 0;
    close(dir);
    if (fd >= 0 || err != ENOSYS)
        return fd < 0 ? -err : fd;
    char *joined;
    if (asprintf(&joined, "%s/%s", root, path) < 0)
        return -ENOMEM;
    fd = open(joined, O_RDONLY | O_CLOEXEC);
    err = errno;
    free(joined);
    return fd < 0 ? -err : fd;
}

void host_close(int fd)
{
    close(fd);
}

/*
 * /proc/self/auxv rather than getauxval: glibc answers AT_HWCAP on x86-64
 * with a platform bit of its own, not the kernel's CPUID word.
 */
bool host_auxv(unsigned long type, unsigned long *value)
{
    unsigned long pair[2];
    int fd = open("/proc/self/auxv", O_RDONLY | O_CLOEXEC);
    bool found = false;
    while (fd >= 0 && read(fd, pair, sizeof(pair)) == (ssize_t)sizeof(pair) && pair[0] != AT_NULL) {
        if (pair[0] == type) {
            *value = pair[1];
            found = true;
            break;
        }
    }
    if (fd >= 0)
        close(fd);
    return found;
}

void host_creds(unsigned long ids[4])
{
    ids[0] = getuid();
    ids[1] = geteuid();
    ids[2] = getgid();
    ids[3] = getegid();
}

int host_own_mapping(const char *name, unsigned long *start, unsigned long *end)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return -errno;
    char line[512];
    int ret = -ENOENT;
    while (fgets(line, sizeof(line), f)) {
        unsigned long s, e;
        int at = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &s, &e, &at) != 2 || !at)
            continue;
        line[strcspn(line, "\n")] = '\0';
        if (!strcmp(line + at, name)) {
            *start = s;
            *end = e;
            ret = 0;
            break;
        }
    }
    fclose(f);
    return ret;
}

void host_copy_own(void *dst, unsigned long src, size_t len)
{
    memcpy(dst, (const void *)src, len);
}

#ifdef VMAREA_DEBUG
void vmarea_bug(const char *cond, const char *file, int line)
{
    fprintf(stderr, "vmarea: %s:%d: VM_BUG_ON(%s)\n", file, line, cond);
    abort();
}
#endif

/* ------------------------------------------------- failure injection */

/* >= 0: allocations left before the one that fails; -1: none fails.
 * -2 after a failure with persist: every one fails. */
_Atomic long vm_fail_countdown = -1;
static atomic_bool fail_persist;
static atomic_ulong alloc_count;

bool vm_alloc_fails_slow(void)
{
    atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed);
    long n = atomic_load_explicit(&vm_fail_countdown, memory_order_relaxed);
    while (n >= 0) {
        long next = n > 0 ? n - 1 : (fail_persist ? 0 : -1);
        if (atomic_compare_exchange_weak_explicit(&vm_fail_countdown, &n, next, memory_order_relaxed,
                                                  memory_order_relaxed))
            return n == 0;
    }
    return false;
}

void vm_fail_nth(long n, bool persist)
{
    fail_persist = persist;
    atomic_store_explicit(&alloc_count, 0, memory_order_relaxed);
    atomic_store_explicit(&vm_fail_countdown, n < 0 ? -1 : n, memory_order_relaxed);
}

unsigned long vm_alloc_count(void)
{
    return atomic_load_explicit(&alloc_count, memory_order_relaxed);
}

void *vm_malloc(size_t size)
{
    return vm_alloc_fails() ? NULL : malloc(size);
}

void *vm_calloc(size_t n, size_t size)
{
    return vm_alloc_fails() ? NULL : calloc(n, size);
}

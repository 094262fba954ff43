/* SPDX-License-Identifier: MIT */
/*
 * host.c — the calls to the host OS (host.h says which), and the injected
 * allocation failures every internal allocation passes through.
 */
#define _GNU_SOURCE
#include "host.h"

#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

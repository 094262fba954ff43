/* SPDX-License-Identifier: MIT */
/*
 * host.h — every call vmarea makes to the host OS, in one small layer (as
 * mimalloc's prim): memory for frames and tables, futexes, files under /proc
 * and /sys, resource limits, and the injected allocation failures of tests.
 * Above this layer nothing includes <sys/mman.h> for its own use.
 */
#ifndef VMAREA_HOST_H
#define VMAREA_HOST_H

#include "mm_base.h"

#include <stdatomic.h>
#include <stddef.h>

/* size bytes of zeroed host memory at a size-aligned address, with a
 * transparent-huge-page hint, faulted in now (frames: one host fault per
 * chunk instead of one per frame later).  NULL on failure. */
void *host_alloc_chunk(size_t size);
/* size bytes of zeroed host memory, page-aligned, faulted in now (tables).
 * NULL on failure. */
void *host_alloc_pages(size_t size);

/* Give back what host_alloc_chunk or host_alloc_pages returned. */
void host_free(void *p, size_t size);

void host_futex_wait(atomic_int *addr, int val);
void host_futex_wake(atomic_int *addr);

/* The unsigned number at the start of a file (/proc/sys/...): 0 or -errno. */
int host_read_ulong(const char *path, unsigned long *out);
/* This machine's RAM and swap in pages (sysinfo): 0 or -errno. */
int host_memory_pages(unsigned long *ram, unsigned long *swap);
/* RLIMIT_MEMLOCK as it binds this process, in bytes; 0 for none
 * (CAP_IPC_LOCK, or an infinite limit). */
unsigned long host_memlock_limit(void);

/* A loader's file access (kernel_read, open_exec).  host_pread reads len
 * bytes at off, fewer only at the end of the file: the bytes read, or
 * -errno if none were.  host_open_exec opens path read-only, resolved with
 * root as its "/" (NULL or "/": the host's own): a descriptor or -errno. */
ssize_t host_pread(int fd, void *buf, size_t len, unsigned long off);
int host_open_exec(const char *root, const char *path);
void host_close(int fd);
/* This process's auxiliary vector entry of that type: false if it has none. */
bool host_auxv(unsigned long type, unsigned long *value);
/* uid, euid, gid, egid of this process. */
void host_creds(unsigned long ids[4]);
/* Where this process maps the special mapping of that name ("[vdso]"):
 * 0, or -ENOENT if it has none, or -errno. */
int host_own_mapping(const char *name, unsigned long *start, unsigned long *end);
/* Copy len bytes of this process's own memory at src (a mapping that
 * host_own_mapping found, and that reads without a fault). */
void host_copy_own(void *dst, unsigned long src, size_t len);

/*
 * Allocation failure injection (tests).  vm_fail_nth(n, persist): the
 * internal allocation n from now (0 is the next) fails, and with persist
 * every one after it too; vm_fail_nth(-1, false) stops.  Every allocation
 * vmarea makes for its own structures passes through vm_alloc_fails():
 * VMAs, anon_vmas, names, tree nodes, page tables, frames, RCU batches,
 * counter shares, shmem objects and their reverse maps.
 * vm_alloc_count() counts the allocations asked since the last vm_fail_nth.
 */
extern _Atomic long vm_fail_countdown;
bool vm_alloc_fails_slow(void);
static inline bool vm_alloc_fails(void)
{
    return unlikely(atomic_load_explicit(&vm_fail_countdown, memory_order_relaxed) >= 0) &&
           vm_alloc_fails_slow();
}
void vm_fail_nth(long n, bool persist);
unsigned long vm_alloc_count(void);
/* malloc and calloc, failing when injected. */
void *vm_malloc(size_t size);
void *vm_calloc(size_t n, size_t size);

#endif

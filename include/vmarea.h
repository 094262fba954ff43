/* SPDX-License-Identifier: MIT */
/*
 * vmarea — a Linux-compatible address space for a program of its own.
 *
 * The one public header.  Every name here is part of the contract in
 * shared/API.md; internal types live under src/.
 *
 * Conventions, once for the whole header:
 *  - Functions that can fail return -errno, with the value Linux returns for
 *    the same failure, or NULL.
 *  - PROT_*, MAP_*, MADV_*, MREMAP_*, MS_* and MCL_* are the host's
 *    <sys/mman.h> values, so a guest's syscall arguments pass straight through.
 *  - Each comment ends with what must be held: "Locks:".
 */
#ifndef VMAREA_H
#define VMAREA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/types.h>

/*
 * A strict C build (-std=c11 without _DEFAULT_SOURCE) gets only POSIX's part
 * of <sys/mman.h>; the Linux x86-64 values of the rest, which the calls
 * below take, are supplied here where the C library left them out.
 */
#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS       0x20
#endif
#ifndef MAP_GROWSDOWN
#define MAP_GROWSDOWN       0x00100
#define MAP_DENYWRITE       0x00800
#define MAP_EXECUTABLE      0x01000
#define MAP_LOCKED          0x02000
#define MAP_NORESERVE       0x04000
#define MAP_POPULATE        0x08000
#define MAP_NONBLOCK        0x10000
#define MAP_STACK           0x20000
#define MAP_HUGETLB         0x40000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT      26
#define MAP_HUGE_MASK       0x3f
#endif
#ifndef MADV_NORMAL
#define MADV_NORMAL         0
#define MADV_RANDOM         1
#define MADV_SEQUENTIAL     2
#define MADV_WILLNEED       3
#define MADV_DONTNEED       4
#endif
#ifndef MADV_FREE
#define MADV_FREE           8
#endif
#ifndef MADV_REMOVE
#define MADV_REMOVE         9
#define MADV_DONTFORK       10
#define MADV_DOFORK         11
#define MADV_MERGEABLE      12
#define MADV_UNMERGEABLE    13
#define MADV_HUGEPAGE       14
#define MADV_NOHUGEPAGE     15
#define MADV_DONTDUMP       16
#define MADV_DODUMP         17
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK     18
#define MADV_KEEPONFORK     19
#endif
#ifndef MADV_COLD
#define MADV_COLD           20
#define MADV_PAGEOUT        21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ  22
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE       25
#endif
#ifndef MADV_HWPOISON
#define MADV_HWPOISON       100
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL  102
#define MADV_GUARD_REMOVE   103
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT         4
#endif
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE      1
#define MREMAP_FIXED        2
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP    4
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with -fvisibility=hidden; what this header declares is
 * its exported interface. */
#pragma GCC visibility push(default)

#define VMAREA_VERSION_MAJOR 0
#define VMAREA_VERSION_MINOR 1
#define VMAREA_VERSION_PATCH 0
/* The version's one home: CMakeLists.txt reads it from these lines. */
#define VMAREA_VERSION_STR_(x) #x
#define VMAREA_VERSION_STR(a, b, c) VMAREA_VERSION_STR_(a) "." VMAREA_VERSION_STR_(b) "." VMAREA_VERSION_STR_(c)
#define VMAREA_VERSION VMAREA_VERSION_STR(VMAREA_VERSION_MAJOR, VMAREA_VERSION_MINOR, VMAREA_VERSION_PATCH)

/* ------------------------------------------------------------------ flags */

typedef unsigned long vm_flags_t;

/* Linux x86-64 values (include/linux/mm.h). */
#define VM_NONE         0x00000000UL
#define VM_READ         0x00000001UL
#define VM_WRITE        0x00000002UL
#define VM_EXEC         0x00000004UL
#define VM_SHARED       0x00000008UL
#define VM_MAYREAD      0x00000010UL
#define VM_MAYWRITE     0x00000020UL
#define VM_MAYEXEC      0x00000040UL
#define VM_MAYSHARE     0x00000080UL
#define VM_GROWSDOWN    0x00000100UL
#define VM_UFFD_MISSING 0x00000200UL
#define VM_PFNMAP       0x00000400UL
#define VM_MAYBE_GUARD  0x00000800UL   /* may hold guard regions (MADV_GUARD_INSTALL) */
#define VM_UFFD_WP      0x00001000UL
#define VM_LOCKED       0x00002000UL
#define VM_IO           0x00004000UL
#define VM_SEQ_READ     0x00008000UL
#define VM_RAND_READ    0x00010000UL
#define VM_DONTCOPY     0x00020000UL
#define VM_DONTEXPAND   0x00040000UL
#define VM_LOCKONFAULT  0x00080000UL
#define VM_ACCOUNT      0x00100000UL
#define VM_NORESERVE    0x00200000UL
#define VM_HUGETLB      0x00400000UL
#define VM_SYNC         0x00800000UL
#define VM_ARCH_1       0x01000000UL
#define VM_WIPEONFORK   0x02000000UL
#define VM_DONTDUMP     0x04000000UL
#define VM_SOFTDIRTY    0x08000000UL
#define VM_MIXEDMAP     0x10000000UL
#define VM_HUGEPAGE     0x20000000UL
#define VM_NOHUGEPAGE   0x40000000UL
#define VM_MERGEABLE    0x80000000UL
#define VM_PKEY_SHIFT   32                       /* x86 protection key: bits 32-35 */
#define VM_PKEY_BIT0    (1UL << 32)
#define VM_PKEY_BIT1    (1UL << 33)
#define VM_PKEY_BIT2    (1UL << 34)
#define VM_PKEY_BIT3    (1UL << 35)
#define VM_UFFD_MINOR   (1UL << 41)
#define VM_SHADOW_STACK (1UL << 37)
#define VM_DROPPABLE    (1UL << 40)
#define VM_SEALED       (1UL << 42)
#define VM_PAT          VM_ARCH_1
#define VM_SPECIAL      (VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP)

/* Fault flags for mm_fault (Linux's enum fault_flag values). */
#define FAULT_FLAG_WRITE        0x001U
#define FAULT_FLAG_USER         0x040U
#define FAULT_FLAG_REMOTE       0x080U
#define FAULT_FLAG_INSTRUCTION  0x100U

/* mm_mlock flags: MLOCK_ONFAULT is the host's value. */
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01U
#endif

/* ---------------------------------------------------------- address spaces */

struct mm;
struct vm_file;
struct vm_page;
struct vma_ref;
struct vma_new;
struct vma_mixedmap;

/* Transparent huge page policy, as /sys/kernel/mm/transparent_hugepage/enabled. */
enum mm_thp_mode { MM_THP_ALWAYS = 0, MM_THP_MADVISE = 1, MM_THP_NEVER = 2 };

/* mm_config.flags */
#define MM_CONFIG_NO_SOFT_DIRTY 0x1U  /* a kernel without CONFIG_MEM_SOFT_DIRTY: new VMAs lack "sd" */
#define MM_CONFIG_NO_PKEYS      0x2U  /* no memory protection keys: PROT_EXEC alone is not execute-only */
#define MM_CONFIG_NO_ZERO_PAGE  0x4U  /* read faults on private anonymous memory allocate a zeroed
                                         page (and a THP), as on kernels that forbid the zero page */
#define MM_CONFIG_NO_HUGE_ZERO_PAGE 0x8U /* THP read faults allocate a THP instead of mapping the
                                         huge zero page (transparent_hugepage/use_zero_page 0) */
#define MM_CONFIG_NO_ANON_NAMES 0x10U /* a kernel without CONFIG_ANON_VMA_NAME: mm_set_anon_name
                                         fails with -EINVAL */
#define MM_CONFIG_NO_SPLIT_ZERO_REMAP 0x20U /* splitting a huge page keeps its all-zero subpages
                                         (kernels before 6.12) instead of mapping the zero page */
#define MM_CONFIG_EOF_FAULT_AROUND 0x40U /* a fault past the end of a file maps the file's last page
                                         around it even where no page table was (kernels before
                                         6.18) */
#define MM_CONFIG_NO_VSYSCALL   0x80U /* maps and smaps end without the [vsyscall] line
                                         (vsyscall=none); by default they show x86-64's
                                         execute-only one, "--xp" */
#define MM_CONFIG_VSYSCALL_EMULATE 0x100U /* the [vsyscall] line is readable, "r-xp"
                                         (vsyscall=emulate) */
#define MM_CONFIG_NO_MAYBE_GUARD 0x200U /* a kernel before VM_MAYBE_GUARD (6.19 and the stable
                                         kernels it went back to): a guard region gives any VMA
                                         an anon_vma, which is also what makes fork copy its
                                         entries, and VmFlags never shows "gu" */
#define MM_CONFIG_THP_WRPROTECT_CLEAN 0x400U /* mprotect that takes write away from a whole
                                         transparent huge page also clears its dirty bit, so
                                         smaps counts it clean (seen on x86-64 6.18.15 with
                                         soft-dirty tracking, whose huge entries are soft-dirty) */

struct mm_config {                       /* a zero field means Linux x86-64's default */
    unsigned long task_size;             /* 0x7ffffffff000; at most 1 << 56.  Beyond 1 << 48 the mm
                                            has five levels of tables and is x86-64 with LA57
                                            (TASK_SIZE_MAX 2^56 - 4096): mmap places beyond the
                                            47-bit window only for a hint beyond it, and the
                                            stack, mmap_base and exec's bases stay below it */
    unsigned long mmap_min_addr;         /* 65536 */
    unsigned long mmap_base;             /* min(task_size, 0x7ffffffff000) - 128 MiB; top-down
                                            placement starts below it */
    unsigned long max_map_count;         /* 65530 */
    unsigned long memory_limit;          /* bytes of page frames; 0: no limit */
    unsigned int flags;                  /* MM_CONFIG_* */
    enum mm_thp_mode thp;                /* MM_THP_ALWAYS */
    unsigned long fault_around_bytes;    /* 65536: what a read fault on a file or shared mapping
                                            maps around it; a power of two, 4096 to 2 MiB */
    /* Commit accounting, as vm.overcommit_*: private writable and shared anonymous
       memory is charged when mapped (mm_committed_pages) and refused with ENOMEM as
       the policy says.  MAP_NORESERVE escapes it except under MM_OVERCOMMIT_NEVER. */
    int overcommit_memory;               /* MM_OVERCOMMIT_GUESS */
    unsigned long overcommit_ratio;      /* 50: percent of RAM committable under NEVER */
    unsigned long overcommit_kbytes;     /* 0: the ratio applies; else RAM committable under NEVER */
    unsigned long ram_pages, swap_pages; /* ram_pages 0: this machine's RAM and swap (sysinfo) */
    unsigned long admin_reserve_kbytes;  /* 8192: kept back for an administrator under NEVER */
    unsigned long user_reserve_kbytes;   /* 131072: under NEVER a process keeps min(its size / 32,
                                            this) back */
    unsigned long memlock_limit;         /* RLIMIT_MEMLOCK in bytes, for a process without
                                            CAP_IPC_LOCK: mlock, mlockall and MAP_LOCKED beyond
                                            it fail as Linux's do; 0: no limit (CAP_IPC_LOCK) */
    /* Resource limits in bytes, as getrlimit's soft limits; RLIM_INFINITY
     * (~0UL): none.  RLIMIT_AS bounds the mapped total (mmap, brk, mremap,
     * stack growth: ENOMEM); RLIMIT_DATA the private writable part of it and
     * the heap (brk keeps the old break); RLIMIT_STACK a stack's growth. */
    unsigned long as_limit;              /* 0: RLIM_INFINITY */
    unsigned long data_limit;            /* 0: RLIM_INFINITY */
    unsigned long stack_limit;           /* 0: 8 MiB, Linux's _STK_LIM */
    /* more fields may follow; callers zero the struct first */
};

/* mm_config.overcommit_memory */
enum { MM_OVERCOMMIT_GUESS = 0, MM_OVERCOMMIT_ALWAYS = 1, MM_OVERCOMMIT_NEVER = 2 };

/* Pages committed by every mm of this process (Linux's Committed_AS for one
 * process).  Locks: none. */
unsigned long mm_committed_pages(void);

/*
 * Fill *cfg with the defaults, then with what the running kernel shows of its
 * build and settings, each found by behaviour where it shows one (a probe
 * maps, touches and reads its own smaps): the zero page and the huge zero
 * page, soft-dirty tracking, protection keys, anonymous VMA names, the THP
 * mode, the fault-around size, max_map_count and mmap_min_addr, five-level
 * paging (the task size), the overcommit policy with RAM and swap.  So an mm
 * behaves like a process of this host.  Returns 0, or -errno if the main
 * probe could not run (then the flags it decides stay clear).
 * Locks: none.  It maps and unmaps a few pages of the calling process.
 */
int mm_config_from_host(struct mm_config *cfg);

/* NULL cfg: defaults; one user reference.  NULL with errno EINVAL (a field out
 * of range, an unknown flag) or ENOMEM.  Locks: none. */
struct mm *mm_create(const struct mm_config *cfg);
/* Reference counts.  Locks: none, except that the last mmput takes the mmap
 * write lock to tear the address space down: hold no lock of this mm then. */
bool mmget_not_zero(struct mm *mm);      /* take a user reference unless the last one is gone */
void mmput(struct mm *mm);               /* drop a user reference; the last one tears the
                                            address space down */
void mmgrab(struct mm *mm);              /* keep the struct alive (not its mappings) */
void mmdrop(struct mm *mm);

/* Effective configuration (defaults filled in). Locks: none. */
void mm_get_config(struct mm *mm, struct mm_config *out);

/*
 * Where warnings go (a zap outside its VMA, and the like): once per mm and
 * kind, fn(arg, message).  NULL fn restores the default, one line on stderr.
 * Locks: none; do not race with the mm's own operations.
 */
typedef void (*mm_warn_fn)(void *arg, struct mm *mm, const char *message);
void mm_set_warn_hook(struct mm *mm, mm_warn_fn fn, void *arg);

/* --------------------------------------------------------- locks (the seed) */

/*
 * The mmap lock: a reader-writer lock over the VMA set.  A guard is the proof
 * that its holder owns the lock; functions that need the lock take the guard,
 * so the type you hold is the access you have.  The write guard's first
 * member is a read guard: &w.read gives read access.
 */
struct mmap_read_guard  { struct mm *mm; };
struct mmap_write_guard { struct mmap_read_guard read; };

/* Locks: take or release the mmap lock (a lock never taken twice by one
 * thread: a reader that waits behind a writer would wait forever); the
 * caller holds a user reference. */
struct mmap_read_guard  mmap_read_lock(struct mm *mm);
bool                    mmap_read_trylock(struct mm *mm, struct mmap_read_guard *out);
void                    mmap_read_unlock(struct mmap_read_guard *g);
struct mmap_write_guard mmap_write_lock(struct mm *mm);
void                    mmap_write_unlock(struct mmap_write_guard *g);

/* Debug aid: does the calling thread hold mm's mmap lock (read or write)?
 * Locks: none. */
bool mmap_lock_is_held(struct mm *mm);
bool mmap_lock_is_write_held(struct mm *mm);

/* The VMA holding addr (vma_lookup), or the first that ends above it
 * (vma_find, Linux's find_vma), or NULL.  Locks: the guard's, read or write;
 * the VMA is valid while it is held. */
struct vma_ref;
const struct vma_ref *vma_lookup(const struct mmap_read_guard *g, unsigned long addr);
const struct vma_ref *vma_find(const struct mmap_read_guard *g, unsigned long addr);
/* Neighbours in address order, NULL at either end.  Locks: the guard's. */
const struct vma_ref *vma_next(const struct mmap_read_guard *g, const struct vma_ref *vma);
const struct vma_ref *vma_prev(const struct mmap_read_guard *g, const struct vma_ref *vma);

/* The VMA holding addr with its own read lock taken, without the mmap lock;
 * NULL when that cannot be had now (no VMA, or it is being changed): then
 * take the mmap read lock and look again.  vma_end_read releases it.
 * Locks: none held by the caller on this mm but a user reference; the VMA
 * read lock taken and released. */
const struct vma_ref *lock_vma_under_rcu(struct mm *mm, unsigned long addr);
void                  vma_end_read(const struct vma_ref *vma);

/* A VMA's fields.  Locks: read access to the VMA: the mmap lock it was found
 * under, or its own read lock (debug builds check). */
unsigned long   vma_start(const struct vma_ref *vma);   /* inclusive */
unsigned long   vma_end(const struct vma_ref *vma);     /* exclusive */
vm_flags_t      vma_flags(const struct vma_ref *vma);
struct mm      *vma_mm(const struct vma_ref *vma);
unsigned long   vma_pgoff(const struct vma_ref *vma);
struct vm_file *vma_file(const struct vma_ref *vma);    /* NULL for anonymous */
const struct vm_operations *vma_ops(const struct vma_ref *vma);
void           *vma_private(const struct vma_ref *vma);
/* Unmap the pages of [address, address + size) inside vma; outside it,
 * nothing happens but a warning.  Locks: read access to the VMA. */
void vma_zap_page_range_single(const struct vma_ref *vma, unsigned long address, unsigned long size);

/* ------------------------------------------- mappable files, devices, pages */

struct vm_file_operations {
    /* Called by mm_mmap with the mmap write lock held, before the VMA is
     * visible.  Return 0 or -errno (the mapping then fails with it). */
    int  (*mmap)(struct vm_file *f, struct vma_new *vma);
    /* Called when the last reference to the file is dropped. */
    void (*release)(struct vm_file *f);
};

struct vm_operations {
    void (*open)(const struct vma_ref *vma);    /* a copy of the VMA appeared (split, fork) */
    void (*close)(const struct vma_ref *vma);   /* a VMA goes away */
    /* A fault on an empty entry, under the VMA's read lock or the mmap read
     * lock: insert a page (vma_insert_page) and return 0, or fail the fault
     * with -EFAULT (SIGSEGV), -ENOMEM (out of memory) or -EIO (SIGBUS), as
     * a driver's VM_FAULT_SIGSEGV, _OOM and _SIGBUS do.  Any other value,
     * and 0 without a page, is SIGBUS (-EIO), with a warning once per mm. */
    int  (*fault)(const struct vma_ref *vma, unsigned long addr, unsigned flags);
    const char *(*name)(const struct vma_ref *vma);   /* shown in maps; NULL: none */
};

/* A driver's mappable object, one reference.  Locks: none; the last put runs
 * the release hook in the caller's context. */
struct vm_file *vm_file_create(const struct vm_file_operations *ops, void *priv, const char *name);
void            vm_file_get(struct vm_file *f);
void            vm_file_put(struct vm_file *f);
void           *vm_file_private(struct vm_file *f);
const char     *vm_file_name(struct vm_file *f);

/*
 * A host file, open at fd, to map (Linux's struct file): the vm_file keeps
 * an open of its own (a dup of fd, with fd's access mode), so the caller may
 * close fd.  Every open of one file (device and inode) shares one page
 * cache, and that page cache is the host's: a mapping's bytes are the
 * host's page-cache pages, so read(2), write(2), the host's own mappings
 * and every mm see the same bytes at all times, and mm_msync writes them
 * back.  mm_mmap follows the open's mode: EACCES for a shared writable
 * mapping of a file open read-only and for any mapping of a write-only one
 * (a shared mapping of a read-only open never becomes writable), EPERM for
 * PROT_EXEC on a noexec mount, ENODEV for what has no mmap (a directory, a
 * pipe, a device).  A file on a host tmpfs is shmem (RssShmem; msync
 * writes nothing).  A read fault maps the cached pages around it
 * (fault-around); a page wholly past the end of the file is SIGBUS (-EIO).
 * The file must not be shrunk on the host while vmarea maps it, except by
 * vm_file_truncate.  Returns one reference, or NULL with errno EBADF (fd
 * not open, or O_PATH) or ENOMEM.  Locks: none.
 */
struct vm_file *vm_file_open(int fd);
/*
 * Shared memory, as memfd_create(name, MFD_ALLOW_SEALING) followed by
 * ftruncate(size): a shmem object that maps show as "/memfd:NAME (deleted)"
 * on device 00:01.  Mapped MAP_SHARED by one mm or several, its pages are
 * the same pages in each (a write through one is seen by all at once, and
 * smaps counts them by map count); MAP_PRIVATE copies a page at its first
 * write.  A page wholly past size is SIGBUS (-EIO).  Returns one reference,
 * or NULL with errno EFAULT (no name), EINVAL (a name longer than 249
 * bytes) or ENOMEM.  Locks: none.
 */
struct vm_file *vm_file_memfd(const char *name, size_t size);
/*
 * fcntl(F_ADD_SEALS) on a memfd: seals are <fcntl.h>'s F_SEAL_SEAL,
 * F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE and
 * F_SEAL_EXEC.  0, or -EINVAL (not a memfd, or an unknown seal), -EPERM
 * (F_SEAL_SEAL is set) or -EBUSY (F_SEAL_WRITE while a shared writable
 * mapping exists).  With F_SEAL_WRITE or F_SEAL_FUTURE_WRITE set, a
 * MAP_SHARED mapping with PROT_WRITE fails with EPERM, and one without may
 * never gain it (mprotect: EACCES).  Locks: none.
 */
int             vm_file_add_seals(struct vm_file *f, int seals);
/*
 * ftruncate on a host file, a memfd, or the shmem object of a shared
 * anonymous mapping:
 * the new size in bytes.  Shrinking zeroes the last page past the end and
 * removes the pages wholly past it from every mapping of every mm (the
 * copies private mappings made of them too, as unmap_mapping_range), after
 * which an access there is SIGBUS (-EIO).  A host file's size changes on
 * the host.  0, or -EINVAL (no page cache, or a file not open for
 * writing), -EFBIG (past LONG_MAX, or the host's limit), -EPERM
 * (F_SEAL_SHRINK or F_SEAL_GROW), or the host's ftruncate error.
 * Locks: none; takes no mmap lock.
 */
int             vm_file_truncate(struct vm_file *f, unsigned long size);

/* Locks: valid only inside the mmap hook, under the mmap write lock that
 * mm_mmap holds. */
struct vma_new;
const struct vma_ref       *vma_new_ref(struct vma_new *vma);
const struct vma_mixedmap  *vma_new_set_mixedmap(struct vma_new *vma);
void vma_new_set_io(struct vma_new *vma);
void vma_new_set_dontexpand(struct vma_new *vma);
void vma_new_set_dontcopy(struct vma_new *vma);
void vma_new_set_dontdump(struct vma_new *vma);
int  vma_new_try_clear_mayread(struct vma_new *vma);   /* -EINVAL if VM_READ is set */
int  vma_new_try_clear_maywrite(struct vma_new *vma);  /* -EINVAL if VM_WRITE is set */
int  vma_new_try_clear_mayexec(struct vma_new *vma);   /* -EINVAL if VM_EXEC is set */
void vma_new_set_ops(struct vma_new *vma, const struct vm_operations *ops, void *priv);

/* Map a driver's page at addr in a VM_MIXEDMAP VMA (the entry takes a
 * reference of its own): 0, -EFAULT outside the VMA, -EBUSY where a page is
 * mapped, -EINVAL for a page without references, -ENOMEM.  Locks: read
 * access to the VMA. */
struct vma_mixedmap;
const struct vma_mixedmap *vma_as_mixedmap(const struct vma_ref *vma); /* NULL unless VM_MIXEDMAP */
int vma_insert_page(const struct vma_mixedmap *vma, unsigned long addr, struct vm_page *page);

/* A driver's pages.  Locks: none. */
struct vm_page *vm_page_alloc(struct mm *mm);   /* zeroed, one reference */
void           *vm_page_address(struct vm_page *page);
void            vm_page_get(struct vm_page *page);
void            vm_page_put(struct vm_page *page);

/* --------------------------------------------------- what a process does */

/* The system calls.  Locks: each takes the mmap lock itself, as the syscall
 * does (the write lock; madvise's zaps and reclaim advice the read lock);
 * the caller holds no lock of this mm. */
long mm_mmap(struct mm *mm, unsigned long addr, unsigned long len, int prot, int flags,
             struct vm_file *file, unsigned long offset);       /* address, or -errno */
int  mm_munmap(struct mm *mm, unsigned long addr, unsigned long len);
int  mm_mprotect(struct mm *mm, unsigned long addr, unsigned long len, int prot);
int  mm_madvise(struct mm *mm, unsigned long addr, unsigned long len, int advice);
int  mm_mlock(struct mm *mm, unsigned long addr, unsigned long len, unsigned flags);
int  mm_munlock(struct mm *mm, unsigned long addr, unsigned long len);
int  mm_mlockall(struct mm *mm, int flags);
int  mm_munlockall(struct mm *mm);
long mm_brk(struct mm *mm, unsigned long brk);
/*
 * mremap, as Linux 6.18 does it: shrink in place; grow in place where the
 * space after the VMA is free (merging with the next VMA where it may),
 * else move with MREMAP_MAYMOVE; MREMAP_FIXED to new_addr (what is there is
 * unmapped first; with old_len == new_len the range may span several VMAs,
 * which keep their gaps); MREMAP_DONTUNMAP keeps the old VMA, emptied;
 * old_len 0 duplicates a shared mapping.  A move carries the pages (no
 * copy).  The grown part of a locked mapping is faulted in.  Returns the
 * address, or -EINVAL, -EFAULT (no VMA at old_addr, or the range past it),
 * -ENOMEM (no room, or a limit), -EAGAIN (RLIMIT_MEMLOCK), in Linux's order
 * of checks.  Takes the mmap write lock.
 */
long mm_mremap(struct mm *mm, unsigned long old_addr, unsigned long old_len, unsigned long new_len, int flags,
               unsigned long new_addr);
/*
 * fork's copy of an address space (dup_mmap): every VMA but VM_DONTCOPY
 * ones, VM_WIPEONFORK ones empty, without VM_LOCKED; private pages shared by
 * both mms, read-only, and copied at the first write on either side (a page
 * only one mm still maps is reused); shared and file pages the same pages.
 * The child is a new mm with one user (mmput it); parent and child may be
 * put in any order.  NULL with errno ENOMEM.  Takes the parent's mmap write
 * lock.
 */
struct mm *mm_fork(struct mm *mm);
/* msync: MS_SYNC writes the range's shared file mappings back to their
 * files and waits (and their pages' next stores fault, to be dirtied
 * again); MS_ASYNC does nothing more (the host writes back in its time);
 * MS_INVALIDATE over a locked VMA is -EBUSY.  -EINVAL for unknown flags,
 * an unaligned start, or MS_SYNC with MS_ASYNC; -ENOMEM for a hole in the
 * range, after doing the mapped parts; -EIO for a failed write.  Takes the
 * mmap read lock, dropped while writing. */
int  mm_msync(struct mm *mm, unsigned long addr, unsigned long len, int flags);

/* Faults and access: return 0 (mm_read, mm_write: the bytes done, if any),
   or -EFAULT (no VMA: SEGV_MAPERR), -EACCES (protection: SEGV_ACCERR),
   -ENOMEM (out of memory), -EIO (SIGBUS).  Locks: none for an access the
   page tables allow (RCU only); else the VMA's read lock, or the mmap read
   lock (the write lock to grow a stack), taken and released inside; the
   caller holds no lock of this mm. */
int     mm_fault(struct mm *mm, unsigned long addr, unsigned flags);
ssize_t mm_read(struct mm *mm, unsigned long addr, void *buf, size_t len);
ssize_t mm_write(struct mm *mm, unsigned long addr, const void *buf, size_t len);

/* The process image, for loaders; and anonymous VMA names.  Locks: the mmap
 * write lock, taken inside. */
struct mm_layout { unsigned long start_code, end_code, start_data, end_data,
                   start_brk, brk, start_stack, arg_start, arg_end, env_start, env_end; };
int  mm_set_layout(struct mm *mm, const struct mm_layout *layout);
/*
 * A mapping the kernel makes for itself, as Linux's _install_special_mapping
 * makes [vdso], [vvar] and [vvar_vclock]: len bytes at addr (0: where
 * mmap would put them, top-down), with flags (VM_READ, VM_WRITE with
 * VM_SHARED, VM_EXEC, VM_MAY*, VM_IO, VM_DONTDUMP, VM_DONTCOPY, VM_PFNMAP)
 * and VM_DONTEXPAND added, the name shown in maps.  pages holds len / 4096
 * entries (NULL, or a NULL entry: an access there is SIGBUS); the mapping
 * takes a reference on each, dropped when its last VMA goes.  A page maps at
 * its first access, counted in RssFile, or with VM_PFNMAP as a raw frame
 * counted nowhere (as [vvar]'s).  The VMA never merges and never splits
 * (munmap, mprotect, madvise or mremap of part of it: -EINVAL); mremap
 * moves it whole, fork copies it, and a write after mprotect(PROT_WRITE)
 * copies the page.  Returns the address, or -EINVAL (bad flags, length or
 * address), -ENOMEM (the range is not free, no room, or max_map_count
 * passed, as mmap's).
 */
long mm_install_special_mapping(struct mm *mm, unsigned long addr, unsigned long len, vm_flags_t flags,
                                const char *name, struct vm_page **pages);
int  mm_set_anon_name(struct mm *mm, unsigned long addr, unsigned long len, const char *name);

/*
 * execve of an ELF executable into an empty mm, as Linux 6.18 x86-64's
 * load_elf_binary builds the image: PT_LOAD segments mapped from the file
 * (MAP_PRIVATE, the last file page's tail zeroed, the bss anonymous), a
 * PIE at 2/3 of the task size (0x555555554000 without randomization), the
 * interpreter named by PT_INTERP (opened under root, as if chrooted there)
 * top-down below mmap_base, the vDSO, the stack VMA grown 128 KiB beyond
 * the arguments, and on it argc, argv, envp, the auxiliary vector and the
 * strings byte for byte; the brk and the other addresses of mm_set_layout.
 * The mm's mmap_base is set as exec sets it, below the room mm_config's
 * stack_limit (RLIMIT_STACK) keeps for the stack.
 * Randomization (unless MM_EXEC_NO_RANDOMIZE) and AT_RANDOM's 16 bytes come
 * from seed; AT_HWCAP, AT_HWCAP2, AT_MINSIGSTKSZ and the rseq entries are
 * this host's, AT_UID..AT_EGID this process's.  Returns 0 and *out, or
 * -EINVAL (NULL arguments, unknown flags), -EBUSY (the mm has mappings),
 * -E2BIG (strings past the stack's argument limit), -EACCES (not a
 * regular file, or on a noexec mount), -ENOEXEC (not an x86-64 ELF
 * executable), -ELIBBAD (a bad interpreter), the error of opening the
 * interpreter, or of a mapping (then the mm is empty again).
 * Locks: takes the mmap lock as each step needs; the caller holds none.
 */
struct mm_exec_args {
    struct vm_file *file;                /* the executable (vm_file_open) */
    const char *const *argv, *const *envp;   /* NULL-terminated; NULL: none */
    const char *execfn;                  /* AT_EXECFN; NULL: argv[0] */
    const char *root;                    /* where PT_INTERP's path resolves; NULL: "/" */
    unsigned flags;                      /* MM_EXEC_NO_RANDOMIZE */
    unsigned long seed;                  /* randomization and AT_RANDOM's bytes */
};
#define MM_EXEC_NO_RANDOMIZE 0x1U        /* personality(ADDR_NO_RANDOMIZE) */
struct mm_exec_result {
    unsigned long entry;                 /* the first instruction: the interpreter's, if any */
    unsigned long sp;                    /* the stack pointer: argc is there */
    unsigned long load_bias;             /* added to the executable's addresses (0: ET_EXEC) */
    unsigned long interp_base;           /* the interpreter's load address (AT_BASE); 0: none */
};
int  mm_exec(struct mm *mm, const struct mm_exec_args *args, struct mm_exec_result *out);

/* Introspection.  Locks: maps and smaps take the mmap read lock; stats take
 * none (counters read as they are). */
int mm_show_maps(struct mm *mm, FILE *out);        /* /proc/PID/maps text */
int mm_show_smaps(struct mm *mm, FILE *out);       /* /proc/PID/smaps text */
struct mm_stats { unsigned long map_count,            /* VMAs */
                  rss_anon, rss_file, rss_shmem,       /* pages, as Linux's MM_*PAGES counters */
                  total_vm, locked_vm,                 /* pages */
                  pgtable_bytes,                       /* bytes */
                  faults, zapped,                      /* events since mm_create: faults
                                                          resolved (populate's too), pages zapped */
                  lock_fallbacks; };                   /* lock_vma_under_rcu misses: faults
                                                          that fell back to the mmap lock */
void mm_get_stats(struct mm *mm, struct mm_stats *out);

/* ------------------------------------------- typed access, checked by the compiler
 *
 * In C, these macros shadow the functions of the same name.  Each accepts
 * exactly the types that carry the access the function needs, so that
 * handing it a weaker one is a compile error whatever the warning flags
 * ( _Generic with no matching association ).  A write guard gives read
 * access too.  Taking a function's address (&vma_lookup) still reaches the
 * function itself.  C++ gets the same checks from its own type rules and the
 * overloads at the end of this header.
 */
#ifndef __cplusplus
#define VMAREA_READ_GUARD_(g) _Generic((g), \
    struct mmap_read_guard *: (const struct mmap_read_guard *)(g), \
    const struct mmap_read_guard *: (const struct mmap_read_guard *)(g), \
    struct mmap_write_guard *: (const struct mmap_read_guard *)(const void *)(g), \
    const struct mmap_write_guard *: (const struct mmap_read_guard *)(const void *)(g))
#define VMAREA_MIXEDMAP_(v) _Generic((v), \
    struct vma_mixedmap *: (const struct vma_mixedmap *)(v), \
    const struct vma_mixedmap *: (v))
#define VMAREA_WRITE_GUARD_(g) _Generic((g), struct mmap_write_guard *: (g))
/* VmaNew access exists only inside a mappable's mmap hook. */
#define VMAREA_NEW_(v) _Generic((v), struct vma_new *: (v))
#define VMAREA_ONLY_READ_GUARD_(g) _Generic((g), struct mmap_read_guard *: (g))

#define vma_lookup(g, addr)      (vma_lookup)(VMAREA_READ_GUARD_(g), (addr))
#define vma_find(g, addr)        (vma_find)(VMAREA_READ_GUARD_(g), (addr))
#define vma_next(g, v)           (vma_next)(VMAREA_READ_GUARD_(g), (v))
#define vma_prev(g, v)           (vma_prev)(VMAREA_READ_GUARD_(g), (v))
#define mmap_write_unlock(g)     (mmap_write_unlock)(VMAREA_WRITE_GUARD_(g))
#define mmap_read_unlock(g)      (mmap_read_unlock)(VMAREA_ONLY_READ_GUARD_(g))
#define vma_insert_page(v, a, p) (vma_insert_page)(VMAREA_MIXEDMAP_(v), (a), (p))
#define vma_new_ref(v)                (vma_new_ref)(VMAREA_NEW_(v))
#define vma_new_set_mixedmap(v)       (vma_new_set_mixedmap)(VMAREA_NEW_(v))
#define vma_new_set_io(v)             (vma_new_set_io)(VMAREA_NEW_(v))
#define vma_new_set_dontexpand(v)     (vma_new_set_dontexpand)(VMAREA_NEW_(v))
#define vma_new_set_dontcopy(v)       (vma_new_set_dontcopy)(VMAREA_NEW_(v))
#define vma_new_set_dontdump(v)       (vma_new_set_dontdump)(VMAREA_NEW_(v))
#define vma_new_try_clear_mayread(v)  (vma_new_try_clear_mayread)(VMAREA_NEW_(v))
#define vma_new_try_clear_maywrite(v) (vma_new_try_clear_maywrite)(VMAREA_NEW_(v))
#define vma_new_try_clear_mayexec(v)  (vma_new_try_clear_mayexec)(VMAREA_NEW_(v))
#define vma_new_set_ops(v, o, p)      (vma_new_set_ops)(VMAREA_NEW_(v), (o), (p))
#endif /* !__cplusplus */

/* Scoped guards: the lock is released when NAME goes out of scope, on every
 * path out of the block (as the kernel's guard(mmap_read_lock)). */
static inline void vmarea_read_guard_cleanup_(struct mmap_read_guard *g)
{
    if (g->mm)
        (mmap_read_unlock)(g);
}
static inline void vmarea_write_guard_cleanup_(struct mmap_write_guard *g)
{
    if (g->read.mm)
        (mmap_write_unlock)(g);
}
/* unused: a guard that is only there for its scope is not a warning (clang
 * would call it an unused variable, and -Werror builds would fail). */
#define MMAP_READ_GUARD(NAME, mm) \
    struct mmap_read_guard NAME __attribute__((cleanup(vmarea_read_guard_cleanup_), unused)) = \
        mmap_read_lock(mm)
#define MMAP_WRITE_GUARD(NAME, mm) \
    struct mmap_write_guard NAME __attribute__((cleanup(vmarea_write_guard_cleanup_), unused)) = \
        mmap_write_lock(mm)

#pragma GCC visibility pop

#ifdef __cplusplus
}

/* A write guard gives read access: the lookups take one too.  Every other
 * function takes exactly its own access type, which C++ enforces as it is. */
inline const struct vma_ref *vma_lookup(const struct mmap_write_guard *g, unsigned long addr)
{
    return vma_lookup(&g->read, addr);
}
inline const struct vma_ref *vma_find(const struct mmap_write_guard *g, unsigned long addr)
{
    return vma_find(&g->read, addr);
}
inline const struct vma_ref *vma_next(const struct mmap_write_guard *g, const struct vma_ref *vma)
{
    return vma_next(&g->read, vma);
}
inline const struct vma_ref *vma_prev(const struct mmap_write_guard *g, const struct vma_ref *vma)
{
    return vma_prev(&g->read, vma);
}
#endif
#endif /* VMAREA_H */

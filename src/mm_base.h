/* SPDX-License-Identifier: MIT */
/*
 * mm_base.h — the bottom of every layer: page geometry, the defaults a
 * configuration starts from, compiler helpers, debug checks, and the one
 * error convention.
 *
 * Layers (docs/architecture.md draws them; tools/check_layers.sh enforces
 * them): a file includes headers of its own layer or those below it, never
 * one above.
 *
 *   operations  mm.h task_mmu.h          mmap.c mprotect.c madvise.c mlock.c
 *                                        gup.c fault.c overcommit.c mm.c
 *                                        task_mmu.c debug.c
 *   VMA         vma.h                    vma.c vma_tree.c
 *   memory      memory.h huge_memory.h   memory.c huge_memory.c anon_vma.c
 *               anon_vma.h shmem.h       filemap.c
 *   types       mm_types.h mmap_lock.h   mm_counter.c mmap_lock.c vma_init.c
 *               mm_counter.h mmdebug.h
 *   page tables pgtable.h                pgtable.c
 *   frames      page.h                   page.c
 *   host        host.h rcu.h rwsem.h     host.c host_config.c rcu.c rwsem.c
 *               vma_tree.h
 *   base        mm_base.h
 *
 * Errors: a function that can fail returns 0 or -errno (Linux's
 * convention), or a pointer that is valid or ERR_PTR(-errno) (IS_ERR tells
 * them apart).  Fallible functions are __must_check.
 */
#ifndef VMAREA_MM_BASE_H
#define VMAREA_MM_BASE_H

#include "vmarea.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1UL << PAGE_SHIFT)
#define PAGE_MASK  (~(PAGE_SIZE - 1))
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & PAGE_MASK)
#define PMD_SIZE   (1UL << 21)
#define offset_in_page(x) ((unsigned long)(x) & (PAGE_SIZE - 1))

#define DEFAULT_TASK_SIZE      0x7ffffffff000UL
/* x86-64 with five-level paging (LA57): TASK_SIZE_MAX.  A process may map up
 * to it, but what it maps without asking for an address beyond the 47-bit
 * DEFAULT_MAP_WINDOW stays below that (its stack, mmap_base, the ELF
 * bases), so programs that keep tags in pointer bits above 47 still work. */
#define LA57_TASK_SIZE         ((1UL << 56) - PAGE_SIZE)
#define DEFAULT_MAP_WINDOW     DEFAULT_TASK_SIZE
#define MAX_TASK_SIZE          (1UL << 56)
#define DEFAULT_MMAP_MIN_ADDR  65536UL
#define DEFAULT_MAX_MAP_COUNT  65530UL
#define DEFAULT_STACK_GAP      (128UL << 20)
#define DEFAULT_FAULT_AROUND_BYTES 65536UL
#define DEFAULT_OVERCOMMIT_RATIO   50UL
#define DEFAULT_ADMIN_RESERVE_KB   8192UL
#define DEFAULT_USER_RESERVE_KB    131072UL
#define MM_CONFIG_ALL (MM_CONFIG_NO_SOFT_DIRTY | MM_CONFIG_NO_PKEYS | MM_CONFIG_NO_ZERO_PAGE | \
                       MM_CONFIG_NO_HUGE_ZERO_PAGE | MM_CONFIG_NO_ANON_NAMES | MM_CONFIG_NO_SPLIT_ZERO_REMAP | \
                       MM_CONFIG_EOF_FAULT_AROUND | MM_CONFIG_NO_VSYSCALL | MM_CONFIG_VSYSCALL_EMULATE | \
                       MM_CONFIG_NO_MAYBE_GUARD | MM_CONFIG_THP_WRPROTECT_CLEAN)
#define STACK_GUARD_GAP        (256UL << PAGE_SHIFT)  /* stack_guard_gap: 256 pages */

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#define __must_check __attribute__((warn_unused_result))

/* A pointer or an error in one word (Linux's ERR_PTR): the top 4095
 * addresses are never an object's. */
#define MAX_ERRNO 4095
static inline void *ERR_PTR(long err) { return (void *)(intptr_t)err; }
static inline long PTR_ERR(const void *p) { return (long)(intptr_t)p; }
static inline bool IS_ERR(const void *p) { return (uintptr_t)p >= (uintptr_t)-MAX_ERRNO; }

/* Internal results in the -errno space, as Linux's -ERESTARTSYS: above
 * every errno a user sees, below MAX_ERRNO, never returned by a public
 * function. */
#define EFAULT_RETRY    530   /* the fault needs the mmap lock: redo it under that */
#define EFAULT_FALLBACK 531   /* no huge page here: fault a 4 KiB page instead */

/*
 * Debug checks.  Not assert(): a debug build may still define NDEBUG (CMake's
 * RelWithDebInfo does), and the lock checks must run there too.
 * VMAREA_DEBUG=1: assertions and lock checks; VMAREA_DEBUG=2 also validates
 * the VMA tree, the mm's counters and its page tables at every mmap write
 * unlock (mmdebug.h).  In release builds the condition is type-checked,
 * never evaluated.
 */
#ifdef VMAREA_DEBUG
void vmarea_bug(const char *cond, const char *file, int line) __attribute__((noreturn, cold));
#define VM_BUG_ON(cond) do { if (__builtin_expect(!!(cond), 0)) vmarea_bug(#cond, __FILE__, __LINE__); } while (0)
#else
#define VM_BUG_ON(cond) ((void)sizeof(!!(cond)))   /* type-checked, never evaluated */
#endif

#endif

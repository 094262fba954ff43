/* SPDX-License-Identifier: MIT */
/*
 * mmdebug.h — the checks of debug builds (Linux's mmdebug.h).
 *
 * VMAREA_DEBUG=1: lock assertions (mmap_lock.c) and, at the end of every
 * operation, the page-table entries it changed against their VMAs
 * (debug.c).  VMAREA_DEBUG=2 adds validate_mm at every mmap write unlock:
 * the VMA tree's structure, the mm's counters recomputed from its VMAs, and
 * every page-table entry of the address space (at every unlock while the mm
 * is small, spread over several once it is large: debug.c).  Release builds
 * have none of it (the lock assertions were calls on every VMA operation).
 */
#ifndef VMAREA_MMDEBUG_H
#define VMAREA_MMDEBUG_H

#include "mm_types.h"

#ifdef VMAREA_DEBUG
void mmap_assert_locked(struct mm *mm);
void mmap_assert_write_locked(struct mm *mm);
void vma_assert_readable(const struct vma *vma);
void vma_assert_write_locked(const struct vma *vma);
/* The page-table entries of [start, end), widened to whole 2 MiB pieces,
 * against their VMAs; the mmap lock held, or the read lock of the one VMA
 * the range lies in. */
void mm_validate_range(struct mm *mm, unsigned long start, unsigned long end);
void mm_validate_fault(struct vma *vma, unsigned long addr);
struct mm_validate_scope { struct mm *mm; const unsigned long *start, *end; bool len; };
void mm_validate_scope_end(const struct mm_validate_scope *s);
/*
 * Check the range an operation changed when the scope it names ends, which
 * is before the lock guard declared earlier in the scope releases: declare
 * it after the guard.  end is an end, or with _LEN a length from start; both
 * are read at the end, so an operation may move them (placement).
 */
#define MM_VALIDATE_ON_EXIT(mm, startp, endp)                                              \
    struct mm_validate_scope vm_validate_scope_                                           \
        __attribute__((cleanup(mm_validate_scope_end), unused)) = { (mm), (startp), (endp), false }
#define MM_VALIDATE_ON_EXIT_LEN(mm, startp, lenp)                                          \
    struct mm_validate_scope vm_validate_scope_                                           \
        __attribute__((cleanup(mm_validate_scope_end), unused)) = { (mm), (startp), (lenp), true }
#else
static inline void mmap_assert_locked(struct mm *mm) { (void)mm; }
static inline void mmap_assert_write_locked(struct mm *mm) { (void)mm; }
static inline void vma_assert_readable(const struct vma *vma) { (void)vma; }
static inline void vma_assert_write_locked(const struct vma *vma) { (void)vma; }
static inline void mm_validate_range(struct mm *mm, unsigned long start, unsigned long end)
{
    (void)mm, (void)start, (void)end;
}
static inline void mm_validate_fault(struct vma *vma, unsigned long addr) { (void)vma, (void)addr; }
#define MM_VALIDATE_ON_EXIT(mm, startp, endp) ((void)(mm), (void)(startp), (void)(endp))
#define MM_VALIDATE_ON_EXIT_LEN(mm, startp, lenp) ((void)(mm), (void)(startp), (void)(lenp))
#endif

#if defined(VMAREA_DEBUG) && VMAREA_DEBUG >= 2
/* The whole mm, at a write unlock (the lock still held): aborts with a
 * description of the first broken invariant. */
void validate_mm(struct mm *mm);
#else
static inline void validate_mm(struct mm *mm) { (void)mm; }
#endif

#endif

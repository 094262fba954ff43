/* SPDX-License-Identifier: MIT */
/*
 * mm.h — what the operations (mmap.c, mremap.c, mprotect.c, madvise.c,
 * mlock.c, msync.c, gup.c, fault.c, overcommit.c, mm.c) share with each
 * other.
 */
#ifndef VMAREA_MM_H
#define VMAREA_MM_H

#include "huge_memory.h"
#include "mmap_lock.h"
#include "shmem.h"
#include "vma.h"
#include "vma_init.h"

/* ---- mm.c */
/* Fills zero fields of *cfg with defaults; -EINVAL if the result is unusable. */
int __must_check mm_config_resolve(struct mm_config *cfg);
/* The VmSize/VmData/VmExe/VmStk counters as Linux's vm_stat_account keeps
 * them (inline: mmap, munmap and mprotect each call it). */
static inline void vm_stat_account(struct mm *mm, vm_flags_t flags, long npages)
{
    mm->total_vm += npages;
    if ((flags & (VM_EXEC | VM_WRITE | VM_GROWSDOWN)) == VM_EXEC)
        mm->exec_vm += npages;
    else if ((flags & VM_GROWSDOWN) == VM_GROWSDOWN)
        mm->stack_vm += npages;
    else if ((flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) == VM_WRITE)
        mm->data_vm += npages;
}

/* ---- mmap.c */
#define VSYSCALL_ADDR 0xffffffffff600000UL   /* x86-64's vsyscall page */
/* Does maps end with the [vsyscall] line, and with which flags?  Locks: none. */
bool gate_vma_shown(const struct mm *mm, vm_flags_t *flags);

/* ---- mmap.c */
/* may_expand_vm: npages more within RLIMIT_AS, and within RLIMIT_DATA for
 * a private writable mapping that is not a stack. */
static inline bool may_expand_vm(const struct mm *mm, vm_flags_t flags, unsigned long npages)
{
    if (mm->total_vm + npages > mm->cfg.as_limit >> PAGE_SHIFT)
        return false;
    return (flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) != VM_WRITE ||
           mm->data_vm + npages <= mm->cfg.data_limit >> PAGE_SHIFT;
}
static inline unsigned long task_size(const struct mm *mm) { return mm->cfg.task_size; }
/* The VMA at addr without VM_SOFTDIRTY, as clear_refs' soft-dirty reset
 * leaves one, and as exec's setup_arg_pages leaves the stack (its flags are
 * set afresh).  For mm_exec, and for a tool mirroring a process whose
 * kernel cleared it.  Locks: takes the mmap write lock. */
void vma_clear_soft_dirty(struct mm *mm, unsigned long addr);
/* DEFAULT_MAP_WINDOW, or the task size below it: what a placement without a
 * hint beyond it, the stack and the ELF bases stay under (x86's
 * task_size_64bit(0)).  Only an mm with five-level paging has more. */
static inline unsigned long map_window(const struct mm *mm)
{
    return min(mm->cfg.task_size, DEFAULT_MAP_WINDOW);
}
/* __get_unmapped_area: where a mapping of len bytes goes (flags: MAP_FIXED,
 * MAP_SHARED), or -errno.  Mmap lock held. */
long get_unmapped_area(struct mm *mm, struct vm_file *file, unsigned long addr, unsigned long len,
                       unsigned long pgoff, int flags);
/* Remove every VMA inside [start, end), splitting the ones across its edges
 * (do_vmi_align_munmap, after munmap's argument checks): 0 or -ENOMEM.
 * Mmap write lock held. */
int munmap_range(struct mm *mm, unsigned long start, unsigned long end);
/* The pages of [start, end) that VMAs with flag cover (the charged ones of a
 * replaced range, the locked ones of an mlock).  Mmap lock held. */
unsigned long vma_pages_flagged(struct mm *mm, unsigned long start, unsigned long end, vm_flags_t flag);
/* Grow a VM_GROWSDOWN VMA down to address (a fault below it): 0 or -errno.
 * Mmap write lock held. */
int __must_check expand_downwards(struct vma *vma, unsigned long address);
/* vm_brk_flags: brk's anonymous memory over [addr, addr + request),
 * replacing what was there (a loader's bss); flags may add VM_EXEC only.
 * 0 or -errno.  Takes the mmap write lock. */
int vm_brk_flags(struct mm *mm, unsigned long addr, unsigned long request, vm_flags_t flags);
/* exit_mmap: remove every VMA.  Mmap write lock held. */
void mm_unmap_all(struct mm *mm);

/* ---- mlock.c */
/* mlock_future_ok: may VM_LOCKED memory of bytes more be added?  Mmap
 * write lock held. */
bool mlock_future_ok(struct mm *mm, vm_flags_t flags, unsigned long bytes);

/* ---- overcommit.c */
/* Charge pages to the process's commit count, or refuse (-ENOMEM, nothing
 * charged) as mm's policy says (security_vm_enough_memory_mm). */
int __must_check vm_enough_memory(struct mm *mm, long pages);

/* ---- gup.c */
/* Fault in what an access of this kind would fault in [start, end) of vma:
 * 0 or -errno.  Mmap lock held. */
int __must_check populate_vma_range(struct vma *vma, unsigned long start, unsigned long end, bool write);
/* mlock's and MAP_POPULATE's population of [start, end).  Mmap write lock. */
int mm_populate_locked(struct mm *mm, unsigned long start, unsigned long end, bool ignore_errors);

/* ---- task_mmu.c */
const char *vma_special_name(const struct vma *vma);

#endif

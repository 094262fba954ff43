/* SPDX-License-Identifier: MIT */
/*
 * diffcheck_safe.c — which ops may run for real in the checker's child.
 *
 * The child is a copy of the checker: its code, heap, stack and libraries sit
 * outside the window, and a syscall that reaches them (munmap of a huge
 * length, madvise(DONTNEED) over the whole address space) kills it or, worse,
 * makes it report nonsense.  Besides, a result that depends on what lies
 * outside the window (the child has a program there, the vmarea mm has
 * nothing) is not comparable.  So each op kind is allowed a range inside the
 * window, plus the out-of-range cases in which Linux fails before it looks
 * at, or changes, anything outside (checked against mm/mmap.c, mm/mprotect.c,
 * mm/madvise.c, mm/mlock.c of Linux 6.x):
 *
 *  mmap, MAP_FIXED or MAP_FIXED_NOREPLACE: an unaligned address (EINVAL), a
 *      zero length (EINVAL), a length that rounds up to 0 or beyond TASK_SIZE,
 *      or addr + len beyond TASK_SIZE (ENOMEM): all before any unmapping.
 *  mmap with a hint: the hinted range inside the window, rounded either way
 *      (x86 rounds a hint down, the generic code up), or no hint at all; or
 *      a length the kernel rejects.  Where the mapping lands when the hint is
 *      taken by another mapping is not compared (DC_RET_ELSEWHERE).
 *  munmap: unaligned, or len > TASK_SIZE - addr, or rounding to 0 (EINVAL).
 *  mprotect: the range wrapping (ENOMEM), or a start inside the window and
 *      no PROT_GROWSDOWN: the walk stops with ENOMEM at the first hole, and
 *      the free margin above the window is one.  (With PROT_GROWSDOWN the
 *      first VMA above start decides, and in the child that may be the
 *      program's own text above the window.)
 *  madvise: only inside the window, or wrapping (EINVAL): it walks every VMA
 *      of the range, holes or not.
 *  mlock, mlock2, munlock: wrapping (EINVAL, or 0 when the rounded length is
 *      0), or a start inside the window: like mprotect they stop at a hole.
 *      But mlock checks a huge length against RLIMIT_MEMLOCK before it
 *      checks the wrap, so without CAP_IPC_LOCK only a range inside the
 *      window, or a length that rounds to 0, gives a comparable result.
 *  mlockall, munlockall: they change every VMA of the process, but only
 *      lock or unlock: nothing is unmapped or zapped.  Whether they succeed
 *      depends on the process's other mappings only through RLIMIT_MEMLOCK,
 *      so mlockall needs CAP_IPC_LOCK too.  But MCL_CURRENT without
 *      MCL_ONFAULT faults in every page of the process, and a process may
 *      have terabytes reserved (AddressSanitizer's shadow): never that.
 *
 *  mremap: invalid flags, an unaligned address, a new length of 0 or beyond
 *      TASK_SIZE (EINVAL first).  Otherwise the old range inside the window
 *      (shrinking unmaps its tail, moving unmaps all of it, whatever VMAs it
 *      spans); with MREMAP_FIXED the new range inside the window (it is
 *      unmapped first); without it, addr + new length inside the window, so
 *      that growing in place meets the same free space on both sides (the
 *      child's program lies beyond); a move without MREMAP_FIXED lands
 *      where get_unmapped_area puts it, outside: DC_RET_ELSEWHERE.
 *
 *  write, read: only inside the window.  They are the process's own loads
 *      and stores.  One touches what lies outside: an access below a
 *      VM_GROWSDOWN VMA grows the VMA only if no other VMA ends within
 *      stack_guard_gap (1 MiB) below the access; dc_window_check, when
 *      memory ops are on, makes sure no VMA of the checker's process is
 *      there.
 *
 * MAP_HUGETLB, MAP_32BIT and the madvise advices that act on physical pages
 * of the machine (HWPOISON, SOFT_OFFLINE) are never safe.
 */
#include "diffcheck_internal.h"

#include <sys/mman.h>

/* [a, a + len) inside [lo, hi), without overflow. */
static bool inside(unsigned long a, unsigned long len, unsigned long lo, unsigned long hi)
{
    return a >= lo && a <= hi && len <= hi - a;
}

static bool mmap_safe(const struct dc_op *op, unsigned long lo, unsigned long hi)
{
    unsigned long a = op->addr, len = page_align(op->len);
    if (op->flags & (MAP_HUGETLB | MAP_32BIT))
        return false;
    if (op->len == 0 || len == 0 || len > TASK_SIZE)
        return true;
    if (op->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
        if (a & (PAGE - 1))
            return true;
        if (a > TASK_SIZE - len)
            return true;
        return inside(a, len, lo, hi);
    }
    if (a == 0)
        return true;
    return inside(a & ~(PAGE - 1), len, lo, hi) && inside(page_align(a), len, lo, hi);
}

bool dc_op_safe(const struct dc_op *op, unsigned long lo, unsigned long hi, bool mlock_unlimited)
{
    unsigned long a = op->addr, len;

    switch (op->kind) {
    case DC_MMAP:
        return mmap_safe(op, lo, hi);
    case DC_MUNMAP:
        if (a & (PAGE - 1) || a > TASK_SIZE || op->len > TASK_SIZE - a)
            return true;
        len = page_align(op->len);
        return len == 0 || inside(a, len, lo, hi);
    case DC_MPROTECT:
        if ((op->prot & (PROT_GROWSDOWN | PROT_GROWSUP)) == (PROT_GROWSDOWN | PROT_GROWSUP))
            return true;
        if (a & (PAGE - 1) || op->len == 0)
            return true;
        len = page_align(op->len);
        if (a + len <= a)
            return true;
        if (inside(a, len, lo, hi))
            return true;
        return !(op->prot & PROT_GROWSDOWN) && a >= lo && a < hi;
    case DC_MADVISE:
        if (op->advice == 100 || op->advice == 101)   /* HWPOISON, SOFT_OFFLINE */
            return false;
        if (!dc_advice_name(op->advice) || a & (PAGE - 1) || op->len == 0)
            return true;
        len = page_align(op->len);
        if (len == 0 || a + len < a)
            return true;
        return inside(a, len, lo, hi);
    case DC_MLOCK2:
        if (op->flags & ~MLOCK_ONFAULT)
            return true;
        /* fall through */
    case DC_MLOCK:
    case DC_MUNLOCK: {
        unsigned long start = a & ~(PAGE - 1);
        len = page_align(op->len + (a & (PAGE - 1)));
        if (len == 0)
            return true;
        if (op->kind != DC_MUNLOCK && !mlock_unlimited)
            return inside(start, len, lo, hi);
        if (start + len <= start)
            return true;
        if (inside(start, len, lo, hi))
            return true;
        if (!(start >= lo && start < hi))
            return false;
        return op->kind == DC_MUNLOCK || mlock_unlimited;
    }
    case DC_MLOCKALL:
        if (!(op->flags & (MCL_CURRENT | MCL_FUTURE)) || (op->flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)))
            return true;    /* EINVAL */
        if ((op->flags & MCL_CURRENT) && !(op->flags & MCL_ONFAULT))
            return false;
        return mlock_unlimited;
    case DC_MUNLOCKALL:
    case DC_FORK:
        return true;
    case DC_MREMAP: {
        unsigned long oldl = page_align(op->len), newl = page_align(op->new_len);
        if (op->flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
            return true;
        if ((op->flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) && !(op->flags & MREMAP_MAYMOVE))
            return true;
        if (a & (PAGE - 1) || newl == 0 || newl > TASK_SIZE || op->new_len > TASK_SIZE)
            return true;
        if (op->len > TASK_SIZE || !inside(a, oldl, lo, hi))
            return false;
        if (op->flags & MREMAP_FIXED)
            return (op->new_addr & (PAGE - 1)) || inside(op->new_addr, newl, lo, hi);
        return inside(a, newl, lo, hi);
    }
    case DC_WRITE:
    case DC_READ:
        return inside(a, op->len, lo, hi);
    case DC_MEMFD:
    case DC_TRUNCATE:
        return op->len <= (1UL << 30);   /* a file that costs nothing until touched */
    case DC_FILE:
        return op->len <= (1UL << 24);   /* written whole: keep it small */
    case DC_MSYNC:
        /* Only the VMAs of the range are looked at (holes are ENOMEM). */
        if (op->flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) || a & (PAGE - 1))
            return true;
        len = page_align(op->len);
        if (len == 0 || a + len < a)
            return true;
        return inside(a, len, lo, hi);
    default:
        return false;
    }
}

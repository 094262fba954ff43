/* SPDX-License-Identifier: MIT */
/*
 * msync.c — mm_msync (Linux's mm/msync.c): write a range's shared file
 * mappings back to their files.
 */
#include "mm.h"

#include <sys/mman.h>

/*
 * sys_msync, in its order of checks.  A hole in the range is skipped and
 * reported as ENOMEM at the end, after the mapped parts were done, except
 * with MS_ASYNC alone, which can do nothing anyway and stops at the first
 * hole.  MS_INVALIDATE over a locked VMA is EBUSY.  MS_SYNC writes each
 * shared file mapping's part back (vfs_fsync_range) with the mmap lock
 * dropped, as Linux does: the file is held, and the next VMA is looked up
 * again after.
 */
int mm_msync(struct mm *mm, unsigned long start, unsigned long len, int flags)
{
    if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC))
        return -EINVAL;
    if (offset_in_page(start))
        return -EINVAL;
    if ((flags & MS_ASYNC) && (flags & MS_SYNC))
        return -EINVAL;
    len = PAGE_ALIGN(len);
    unsigned long end = start + len;
    if (end < start)
        return -ENOMEM;
    if (end == start)
        return 0;

    int unmapped = 0, err;
    struct mmap_read_guard g = mmap_read_lock(mm);
    struct vma *vma = vt_find(&mm->mm_mt, start);
    for (;;) {
        err = -ENOMEM;
        if (!vma)
            break;
        if (start < vma->vm_start) {
            if (flags == MS_ASYNC)
                break;
            start = vma->vm_start;
            if (start >= end)
                break;
            unmapped = -ENOMEM;
        }
        if ((flags & MS_INVALIDATE) && (vma->vm_flags & VM_LOCKED)) {
            err = -EBUSY;
            break;
        }
        struct vm_file *file = vma->vm_file;
        unsigned long first = vma->vm_pgoff + ((start - vma->vm_start) >> PAGE_SHIFT);
        unsigned long n = (min(end, vma->vm_end) - start) >> PAGE_SHIFT;
        start = vma->vm_end;
        if ((flags & MS_SYNC) && file && (vma->vm_flags & VM_SHARED)) {
            vm_file_get(file);
            mmap_read_unlock(&g);
            err = filemap_write_and_wait_range(file, first, n);
            vm_file_put(file);
            if (err || start >= end)
                return err ? err : unmapped;
            g = mmap_read_lock(mm);
            vma = vt_find(&mm->mm_mt, start);
        } else {
            if (start >= end) {
                err = 0;
                break;
            }
            vma = vt_find(&mm->mm_mt, start);
        }
    }
    mmap_read_unlock(&g);
    return err ? err : unmapped;
}

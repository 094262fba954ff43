/* SPDX-License-Identifier: MIT */
/*
 * anon_vma.c — giving a VMA the identity of its anonymous pages (Linux's
 * __anon_vma_prepare in mm/rmap.c).  A VMA gets one on its first private
 * anonymous page; reusing a mergeable neighbour's keeps the two VMAs
 * mergeable, which is why the choice is Linux's, exactly.
 */
#include "anon_vma.h"
#include "host.h"
#include "mmdebug.h"

/*
 * anon_vma_compatible: could a and b (a just below b) have been one VMA
 * that was split?  Then b may share a's anon_vma.
 */
static bool anon_vma_compatible(const struct vma *a, const struct vma *b)
{
    return a->vm_end == b->vm_start && a->vm_file == b->vm_file &&
           !((a->vm_flags ^ b->vm_flags) & ~(VM_ACCESS_FLAGS | VM_IGNORE_MERGE)) &&
           b->vm_pgoff == a->vm_pgoff + ((b->vm_start - a->vm_start) >> PAGE_SHIFT);
}

/* find_mergeable_anon_vma: reuse a neighbour's anon_vma when the two VMAs
 * could merge one day, and the neighbour's was not inherited through fork. */
static struct anon_vma *find_mergeable_anon_vma(struct mm *mm, struct vma *vma)
{
    struct vma *next = vt_next(&mm->mm_mt, vma);
    if (next && anon_vma_compatible(vma, next) && next->anon_vma && !next->anon_vma->forked)
        return next->anon_vma;
    struct vma *prev = vt_prev(&mm->mm_mt, vma);
    if (prev && anon_vma_compatible(prev, vma) && prev->anon_vma && !prev->anon_vma->forked)
        return prev->anon_vma;
    return NULL;
}

int anon_vma_prepare(struct vma *vma)
{
    struct mm *mm = vma->vm_mm;
    mmap_assert_locked(mm);
    if (vma_anon_vma(vma))
        return 0;
    int err = 0;
    pthread_mutex_lock(&mm->anon_vma_lock);
    if (!vma->anon_vma) {
        struct anon_vma *av = find_mergeable_anon_vma(mm, vma);
        if (!av)
            av = vm_calloc(1, sizeof(*av));
        if (av) {
            av->refcount++;
            /* Release: a fault that sees it may map pages under it at once. */
            __atomic_store_n(&vma->anon_vma, av, __ATOMIC_RELEASE);
        } else {
            err = -ENOMEM;
        }
    }
    pthread_mutex_unlock(&mm->anon_vma_lock);
    return err;
}

/*
 * gup.c — populating ranges (Linux's __mm_populate and
 * populate_vma_page_range in mm/gup.c), for mlock, MAP_POPULATE, MAP_LOCKED
 * and mlockall.
 *
 * Until page tables exist, populating has one visible effect, and it matters
 * for merging: a write fault on private anonymous memory gives the VMA an
 * anon_vma (anon_vma_prepare), and from then on mprotect keeps VM_ACCOUNT and
 * the VMA merges only with neighbours whose anon_vma is compatible.
 */
#include "internal.h"

#include <stdlib.h>

/*
 * anon_vma_compatible: could a and b (a just below b) have been one VMA
 * that was split?  Then b may share a's anon_vma.
 */
static bool anon_vma_compatible(const struct vma *a, const struct vma *b)
{
    return a->vm_end == b->vm_start && a->vm_file == b->vm_file &&
           !((a->vm_flags ^ b->vm_flags) & ~(VM_ACCESS_FLAGS | VM_SOFTDIRTY)) &&
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
    if (vma->anon_vma)
        return 0;
    struct anon_vma *av = find_mergeable_anon_vma(vma->vm_mm, vma);
    if (!av) {
        av = calloc(1, sizeof(*av));
        if (!av)
            return -ENOMEM;
    }
    av->refcount++;
    vma_start_write(vma);
    vma->anon_vma = av;
    return 0;
}

/*
 * Fault in [start, end) as mlock and MAP_POPULATE do.  VMAs that lock on
 * fault only, and VM_IO/VM_PFNMAP VMAs, are skipped.  An inaccessible VMA
 * (PROT_NONE, or execute-only behind its protection key, which keeps even the
 * kernel's reads out) fails with -EFAULT unless ignore_errors.
 * Mmap write lock held.
 */
int mm_populate_locked(struct mm *mm, unsigned long start, unsigned long end, bool ignore_errors)
{
    mmap_assert_write_locked(mm);
    if (start >= end)
        return 0;
    for (struct vma *vma = vt_find(&mm->mm_mt, start); vma && vma->vm_start < end;
         vma = vt_next(&mm->mm_mt, vma)) {
        vm_flags_t f = vma->vm_flags;
        if (f & (VM_IO | VM_PFNMAP))
            continue;
        if (f & VM_LOCKONFAULT)
            continue;
        if (!(f & VM_ACCESS_FLAGS) ||
            (!(f & (VM_READ | VM_WRITE)) && vma_pkey_of(f) == EXECUTE_ONLY_PKEY)) {
            if (ignore_errors)
                continue;
            return -EFAULT;
        }
        /* Private writable memory is populated by write faults. */
        if ((f & (VM_WRITE | VM_SHARED)) == VM_WRITE && vma_is_anonymous(vma)) {
            int err = anon_vma_prepare(vma);
            if (err) {
                if (ignore_errors)
                    continue;
                return err;
            }
        }
    }
    return 0;
}

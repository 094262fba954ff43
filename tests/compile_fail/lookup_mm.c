/* SPDX-License-Identifier: MIT */
/* vma_lookup needs a guard (proof that the mmap lock is held), not the mm. */
#include <vmarea.h>

const struct vma_ref *f(struct mm *mm, unsigned long addr)
{
#ifdef CF_BAD
    return vma_lookup(mm, addr);
#else
    struct mmap_read_guard g = mmap_read_lock(mm);
    const struct vma_ref *vma = vma_lookup(&g, addr);
    mmap_read_unlock(&g);
    return vma;
#endif
}

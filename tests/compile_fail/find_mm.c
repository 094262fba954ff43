/* SPDX-License-Identifier: MIT */
/* vma_find, like vma_lookup, needs a guard. */
#include <vmarea.h>

const struct vma_ref *f(struct mm *mm, const struct mmap_read_guard *g, unsigned long addr)
{
#ifdef CF_BAD
    (void)g;
    return vma_find(mm, addr);
#else
    (void)mm;
    return vma_find(g, addr);
#endif
}

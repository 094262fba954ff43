/* SPDX-License-Identifier: MIT */
/* vma_next's first argument is the guard; a VMA in its place is refused. */
#include <vmarea.h>

const struct vma_ref *f(const struct mmap_read_guard *g, const struct vma_ref *vma)
{
#ifdef CF_BAD
    (void)g;
    return vma_next(vma, vma);
#else
    return vma_next(g, vma);
#endif
}

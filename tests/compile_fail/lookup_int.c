/* SPDX-License-Identifier: MIT */
/* Any other pointer type is refused too. */
#include <vmarea.h>

const struct vma_ref *f(int *p, struct mmap_read_guard *g, unsigned long addr)
{
#ifdef CF_BAD
    (void)g;
    return vma_lookup(p, addr);
#else
    (void)p;
    return vma_lookup(g, addr);
#endif
}

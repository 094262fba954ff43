/* SPDX-License-Identifier: MIT */
/* A VmaRef (lookup result) may not use VmaNew setters: those exist only
 * inside a mappable's mmap hook, before the VMA is visible. */
#include <vmarea.h>

void f(struct vma_new *vn, const struct mmap_read_guard *g, unsigned long addr)
{
#ifdef CF_BAD
    vma_new_set_io(vma_lookup(g, addr));
#else
    (void)g, (void)addr;
    vma_new_set_io(vn);
#endif
}

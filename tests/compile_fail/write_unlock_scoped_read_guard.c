/* SPDX-License-Identifier: MIT */
/* The same through the scoped form: MMAP_READ_GUARD gives a read guard. */
#include <vmarea.h>

unsigned long f(struct mm *mm, unsigned long addr)
{
    MMAP_READ_GUARD(g, mm);
    const struct vma_ref *vma = vma_lookup(&g, addr);
    unsigned long end = vma ? vma_end(vma) : 0;
#ifdef CF_BAD
    mmap_write_unlock(&g);
    g.mm = NULL;
#else
    mmap_read_unlock(&g);
    g.mm = NULL;
#endif
    return end;
}

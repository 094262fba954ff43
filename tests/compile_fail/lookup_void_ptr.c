/* SPDX-License-Identifier: MIT */
/* A void pointer (or NULL) carries no proof of the lock either. */
#include <vmarea.h>

const struct vma_ref *f(void *p, struct mmap_write_guard *w, unsigned long addr)
{
#ifdef CF_BAD
    (void)w;
    return vma_lookup(p, addr);
#else
    (void)p;
    return vma_lookup(w, addr);     /* a write guard gives read access */
#endif
}

/* SPDX-License-Identifier: MIT */
/* A VmaNew is not a VmaMixedMap until vma_new_set_mixedmap says so. */
#include <vmarea.h>

int f(struct vma_new *vma, unsigned long addr, struct vm_page *page)
{
#ifdef CF_BAD
    return vma_insert_page(vma, addr, page);
#else
    return vma_insert_page(vma_new_set_mixedmap(vma), addr, page);
#endif
}

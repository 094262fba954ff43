/* SPDX-License-Identifier: MIT */
/* vma_insert_page needs VmaMixedMap access; a plain VmaRef must not do. */
#include <vmarea.h>

int f(const struct vma_ref *vma, struct vm_page *page)
{
#ifdef CF_BAD
    return vma_insert_page(vma, vma_start(vma), page);
#else
    const struct vma_mixedmap *mm = vma_as_mixedmap(vma);
    return mm ? vma_insert_page(mm, vma_start(vma), page) : -1;
#endif
}

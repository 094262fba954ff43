/* SPDX-License-Identifier: MIT */
/*
 * special_mapping.c — the lifetime and name of a special mapping's VMAs
 * ([vdso], [vvar]; struct special_mapping in mm_types.h).  mmap.c installs
 * one, memory.c faults its pages in, vma.c refuses to split it.
 */
#include "mm_types.h"

#include <stdlib.h>

static struct special_mapping *sm_of(const struct vma_ref *ref)
{
    return to_vma(ref)->vm_private_data;
}

void special_mapping_put(struct special_mapping *sm)
{
    if (atomic_fetch_sub_explicit(&sm->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (unsigned long i = 0; i < sm->npages; i++)
        if (sm->pages[i])
            page_put(sm->pages[i]);
    free(sm->name);
    free(sm);
}

static void special_mapping_open(const struct vma_ref *ref)
{
    atomic_fetch_add_explicit(&sm_of(ref)->refs, 1, memory_order_relaxed);
}

static void special_mapping_close(const struct vma_ref *ref)
{
    special_mapping_put(sm_of(ref));
}

static const char *special_mapping_name(const struct vma_ref *ref)
{
    return sm_of(ref)->name;
}

const struct vm_operations special_mapping_vmops = {
    .open = special_mapping_open,
    .close = special_mapping_close,
    .name = special_mapping_name,
};

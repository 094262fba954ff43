/* SPDX-License-Identifier: MIT */
/* A write guard is released with mmap_write_unlock, not mmap_read_unlock. */
#include <vmarea.h>

void f(struct mm *mm)
{
    struct mmap_write_guard g = mmap_write_lock(mm);
#ifdef CF_BAD
    mmap_read_unlock(&g);
#else
    mmap_write_unlock(&g);
#endif
}

/* SPDX-License-Identifier: MIT */
/* A read guard cannot release the lock as if it were held for writing. */
#include <vmarea.h>

void f(struct mm *mm)
{
    struct mmap_read_guard g = mmap_read_lock(mm);
#ifdef CF_BAD
    mmap_write_unlock(&g);
#else
    mmap_read_unlock(&g);
#endif
}

/* SPDX-License-Identifier: MIT */
/* A consumer of the installed package: map, split, look up under a guard. */
#include <stdio.h>
#include <vmarea.h>

int main(void)
{
    struct mm *mm = mm_create(NULL);
    if (!mm)
        return 1;
    long addr = mm_mmap(mm, 0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
    if (addr < 0 || mm_mprotect(mm, (unsigned long)addr + 4096, 4096, PROT_READ))
        return 1;
    int ok;
    {
        MMAP_READ_GUARD(g, mm);
        const struct vma_ref *vma = vma_lookup(&g, (unsigned long)addr + 4096);
        ok = vma && vma_start(vma) == (unsigned long)addr + 4096 && !(vma_flags(vma) & VM_WRITE);
    }
    struct mm_stats st;
    mm_get_stats(mm, &st);
    mmput(mm);
    printf("C: vmarea %s, %lu VMAs\n", VMAREA_VERSION, st.map_count);
    return ok && st.map_count == 3 ? 0 : 1;
}

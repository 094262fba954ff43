/* SPDX-License-Identifier: MIT */
/* The same from C++: the header's typed access holds there too. */
#include <cstdio>
#include <vmarea.h>

int main()
{
    struct mm *mm = mm_create(nullptr);
    if (!mm)
        return 1;
    long addr = mm_mmap(mm, 0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, nullptr, 0);
    if (addr < 0 || mm_mprotect(mm, (unsigned long)addr + 4096, 4096, PROT_READ))
        return 1;
    bool ok;
    {
        MMAP_WRITE_GUARD(g, mm);   /* a write guard does a read guard's lookups */
        const struct vma_ref *vma = vma_lookup(&g, (unsigned long)addr + 4096);
        ok = vma && vma_start(vma) == (unsigned long)addr + 4096 && !(vma_flags(vma) & VM_WRITE);
    }
    mmput(mm);
    std::printf("C++: vmarea %s\n", VMAREA_VERSION);
    return ok ? 0 : 1;
}

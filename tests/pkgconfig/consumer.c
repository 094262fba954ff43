/* SPDX-License-Identifier: MIT */
/*
 * A program outside the project, built only with what `pkg-config vmarea`
 * gives it: create an address space, map a page, look it up under the mmap
 * read lock, print the maps.  Exit 0 when everything is as Linux would have
 * it.
 */
#include <vmarea.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096UL

static int fail(const char *what)
{
    fprintf(stderr, "consumer: %s\n", what);
    return 1;
}

int main(void)
{
    struct mm *mm = mm_create(NULL);
    if (!mm)
        return fail("mm_create failed");

    long addr = mm_mmap(mm, 0, PAGE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
    if (addr < 0) {
        fprintf(stderr, "consumer: mm_mmap: %s\n", strerror((int)-addr));
        return 1;
    }

    int bad = 0;
    {
        MMAP_READ_GUARD(g, mm);
        const struct vma_ref *vma = vma_lookup(&g, (unsigned long)addr + 100);
        if (!vma)
            return fail("vma_lookup found nothing at the mapped page");
        vm_flags_t want = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
        if (vma_start(vma) != (unsigned long)addr)
            bad = fail("vma_start is not the mapped address");
        if (vma_end(vma) != (unsigned long)addr + PAGE)
            bad = fail("vma_end is not one page further");
        if ((vma_flags(vma) & want) != want)
            bad = fail("vma_flags lacks read/write/may*");
        if (vma_flags(vma) & (VM_EXEC | VM_SHARED | VM_MAYSHARE))
            bad = fail("vma_flags has exec or shared");
        if (vma_file(vma) != NULL)
            bad = fail("an anonymous mapping has a file");
        if (vma_lookup(&g, (unsigned long)addr + PAGE) != NULL)
            bad = fail("vma_lookup found a VMA past the end");
    }

    /* maps: the line for the page, then x86-64's vsyscall page, as
     * /proc/PID/maps shows them */
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f || mm_show_maps(mm, f) < 0 || fclose(f) != 0)
        return fail("mm_show_maps failed");
    char want_line[128];
    snprintf(want_line, sizeof(want_line), "%08lx-%08lx rw-p 00000000 00:00 0",
             (unsigned long)addr, (unsigned long)addr + PAGE);
    const char *gate = "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0"
                       "                  [vsyscall]\n";
    const char *nl = strchr(text, '\n');
    if (strncmp(text, want_line, strlen(want_line)) != 0 || !nl || strcmp(nl + 1, gate) != 0)
        bad = fail("maps is not the page's line and the vsyscall line");
    fputs(text, stdout);
    free(text);

    if (mm_munmap(mm, (unsigned long)addr, PAGE) != 0)
        bad = fail("mm_munmap failed");
    mmput(mm);
    if (!bad)
        puts("consumer: ok");
    return bad;
}

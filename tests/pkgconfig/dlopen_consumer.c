/* SPDX-License-Identifier: MIT */
/*
 * A program that loads libvmarea.so with dlopen, not at startup: the library
 * reaches liburcu-bp's thread-local reader record with the initial-exec TLS
 * model (CMakeLists.txt), which then needs room in the static TLS block that
 * glibc keeps for dlopen.  Maps a page, writes, reads back.
 *   dlopen_consumer PATH_TO_LIBVMAREA_SO
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>

struct mm;
struct mm_config;
struct vm_file;

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s LIBVMAREA_SO\n", argv[0]);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    struct mm *(*create)(const struct mm_config *) = (struct mm *(*)(const struct mm_config *))dlsym(lib, "mm_create");
    long (*map)(struct mm *, unsigned long, unsigned long, int, int, struct vm_file *, unsigned long) =
        (long (*)(struct mm *, unsigned long, unsigned long, int, int, struct vm_file *, unsigned long))dlsym(lib, "mm_mmap");
    ssize_t (*wr)(struct mm *, unsigned long, const void *, size_t) =
        (ssize_t (*)(struct mm *, unsigned long, const void *, size_t))dlsym(lib, "mm_write");
    ssize_t (*rd)(struct mm *, unsigned long, void *, size_t) =
        (ssize_t (*)(struct mm *, unsigned long, void *, size_t))dlsym(lib, "mm_read");
    void (*put)(struct mm *) = (void (*)(struct mm *))dlsym(lib, "mmput");
    if (!create || !map || !wr || !rd || !put) {
        fprintf(stderr, "dlsym: %s\n", dlerror());
        return 1;
    }
    struct mm *mm = create(NULL);
    long addr = mm ? map(mm, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0) : -1;
    char out[6] = { 0 };
    if (addr < 0 || wr(mm, (unsigned long)addr, "hello", 5) != 5 || rd(mm, (unsigned long)addr, out, 5) != 5 ||
        strcmp(out, "hello") != 0) {
        fprintf(stderr, "dlopen consumer: map, write or read failed\n");
        return 1;
    }
    put(mm);
    printf("dlopen: wrote and read back \"%s\"\n", out);
    return 0;
}

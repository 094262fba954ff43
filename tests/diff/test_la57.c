/* SPDX-License-Identifier: MIT */
/*
 * test_la57 — five-level paging against the host, where the host has it
 * (skipped elsewhere): the same calls beyond the 47-bit window in this
 * process and in a vmarea mm configured by mm_config_from_host, with their
 * results and the maps lines of what they leave there compared.  Nothing of
 * this process lives beyond the window, so the two sides start alike there;
 * below it, where this process has its program, a placement is compared
 * only by the side of the window it lands on.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmarea.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG   4096UL
#define WIN  0x7ffffffff000UL               /* DEFAULT_MAP_WINDOW */
#define TOP  ((1UL << 56) - PG)             /* TASK_SIZE_MAX with five levels */
#define H    (1UL << 52)
#define RW   (PROT_READ | PROT_WRITE)
#define PA   (MAP_PRIVATE | MAP_ANONYMOUS)
#define NR   (PA | MAP_NORESERVE)

/* How a placement is compared: the exact address, or the side of the window. */
enum cmp { EXACT, SIDE };

enum kind { MMAP, MUNMAP, MREMAP, MPROTECT, WRITE };
struct call {
    const char *name;
    enum kind kind;
    unsigned long addr, len;
    int prot, flags;                /* mmap; mprotect's prot; mremap's flags */
    unsigned long new_len, to;      /* mremap */
    enum cmp cmp;
};

static const struct call calls[] = {
    { "free hint beyond the window", MMAP, H, 4 * PG, RW, PA, 0, 0, EXACT },
    { "the same hint, taken: searched up to the top", MMAP, H, 4 * PG, RW, PA, 0, 0, SIDE },
    { "hint across the window's top", MMAP, WIN - PG, 2 * PG, RW, PA, 0, 0, SIDE },
    { "hint past the task size", MMAP, TOP - PG, 2 * PG, RW, PA, 0, 0, SIDE },
    { "hint just above the window", MMAP, WIN + PG, 2 * PG, RW, PA, 0, 0, EXACT },
    { "fixed at 2^55", MMAP, 1UL << 55, 8 * PG, PROT_READ, PA | MAP_FIXED, 0, 0, EXACT },
    { "fixed at the last page", MMAP, TOP - PG, PG, RW, PA | MAP_FIXED, 0, 0, EXACT },
    { "fixed at the task size", MMAP, TOP, PG, RW, PA | MAP_FIXED, 0, 0, EXACT },
    { "fixed_noreplace over the first", MMAP, H, 16 * PG, RW, PA | MAP_FIXED_NOREPLACE, 0, 0, EXACT },
    { "2^48 bytes without a hint", MMAP, 0, 1UL << 48, RW, NR, 0, 0, EXACT },
    { "2^48 bytes at a high hint", MMAP, 1UL << 53, 1UL << 48, RW, NR, 0, 0, EXACT },
    { "store beyond 48 bits", WRITE, H + 3 * PG + 7, 1, 0, 0, 0, 0, EXACT },
    { "grow in place", MREMAP, H, 4 * PG, 0, MREMAP_MAYMOVE, 8 * PG, 0, EXACT },
    { "move to 2^54", MREMAP, H, 8 * PG, 0, MREMAP_MAYMOVE | MREMAP_FIXED, 8 * PG, 1UL << 54, EXACT },
    { "move past the task size", MREMAP, 1UL << 54, PG, 0, MREMAP_MAYMOVE | MREMAP_FIXED, PG, TOP, EXACT },
    { "mprotect the moved pages", MPROTECT, (1UL << 54) + PG, 2 * PG, PROT_READ, 0, 0, 0, EXACT },
    { "munmap past the task size", MUNMAP, H, TOP, 0, 0, 0, 0, EXACT },
    { "munmap the 2^48 bytes", MUNMAP, 1UL << 53, 1UL << 48, 0, 0, 0, 0, EXACT },
};

/* Not instrumented: AddressSanitizer's shadow covers 47 bits only. */
__attribute__((no_sanitize_address)) static long host_call(const struct call *c)
{
    long r = 0;
    switch (c->kind) {
    case MMAP: {
        void *p = mmap((void *)c->addr, c->len, c->prot, c->flags, -1, 0);
        r = p == MAP_FAILED ? -errno : (long)p;
        break;
    }
    case MUNMAP:
        r = munmap((void *)c->addr, c->len) ? -errno : 0;
        break;
    case MREMAP: {
        void *p = mremap((void *)c->addr, c->len, c->new_len, c->flags, (void *)c->to);
        r = p == MAP_FAILED ? -errno : (long)p;
        break;
    }
    case MPROTECT:
        r = mprotect((void *)c->addr, c->len, c->prot) ? -errno : 0;
        break;
    case WRITE:
        *(volatile unsigned char *)c->addr = 0x5a;
        r = *(volatile unsigned char *)c->addr;
        break;
    }
    return r;
}

static long vm_call(struct mm *mm, const struct call *c)
{
    switch (c->kind) {
    case MMAP:
        return mm_mmap(mm, c->addr, c->len, c->prot, c->flags, NULL, 0);
    case MUNMAP:
        return mm_munmap(mm, c->addr, c->len);
    case MREMAP:
        return mm_mremap(mm, c->addr, c->len, c->new_len, c->flags, c->to);
    case MPROTECT:
        return mm_mprotect(mm, c->addr, c->len, c->prot);
    case WRITE: {
        unsigned char v = 0x5a;
        long r = mm_write(mm, c->addr, &v, 1);
        if (r != 1)
            return r;
        r = mm_read(mm, c->addr, &v, 1);
        return r == 1 ? v : r;
    }
    }
    return -ENOSYS;
}

/* The maps lines of VMAs that start beyond the window and below 2^55 + 2^54,
 * one string: where the calls compared exactly leave theirs.  (Above it,
 * near the top of the task, lie the placements of the searches, which
 * depend on each side's mmap_base.) */
static char *high_lines(FILE *in)
{
    char *out = NULL, line[512];
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    while (fgets(line, sizeof(line), in)) {
        unsigned long s;
        if (sscanf(line, "%lx-", &s) == 1 && s > WIN && s < (1UL << 55) + (1UL << 54))
            fputs(line, f);
    }
    fclose(f);
    return out;
}

static char *host_maps(void)
{
    FILE *in = fopen("/proc/self/maps", "re");
    assert_non_null(in);
    char *s = high_lines(in);
    fclose(in);
    return s;
}

static char *vm_maps(struct mm *mm)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(mm_show_maps(mm, f), 0);
    fclose(f);
    FILE *in = fmemopen(text, len, "r");
    assert_non_null(in);
    char *s = high_lines(in);
    fclose(in);
    free(text);
    return s;
}

static bool same(const struct call *c, long host, long vm)
{
    if (host < 0 || vm < 0 || c->cmp == EXACT)
        return host == vm;
    return ((unsigned long)host > WIN) == ((unsigned long)vm > WIN);
}

static void test_beyond_the_window(void **state)
{
    (void)state;
    void *p = mmap((void *)H, PG, PROT_NONE, PA | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED)
        skip();   /* four-level paging: nothing beyond the window to compare */
    munmap(p, PG);
    struct mm_config cfg;
    assert_int_equal(mm_config_from_host(&cfg), 0);
    assert_int_equal(cfg.task_size, TOP);
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);

    unsigned bad = 0;
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        const struct call *c = &calls[i];
        long h = host_call(c), v = vm_call(mm, c);
        bool ok = same(c, h, v);
        print_message("%-46s host %#lx  vmarea %#lx%s\n", c->name, (unsigned long)h,
                      (unsigned long)v, ok ? "" : "   DIFFERENT");
        bad += !ok;
        char *hm = host_maps(), *vm = vm_maps(mm);
        if (c->cmp == EXACT && strcmp(hm, vm)) {
            print_message("after \"%s\", beyond the window:\nhost:\n%svmarea:\n%s", c->name, hm, vm);
            bad++;
        }
        free(hm);
        free(vm);
    }
    munmap((void *)(WIN + PG), TOP - WIN - PG);
    mmput(mm);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_beyond_the_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

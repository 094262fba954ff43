/* SPDX-License-Identifier: MIT */
/*
 * Special mappings against the host: a child of this process does each
 * scenario to its own [vvar], [vvar_vclock] and [vdso], and an mm with the
 * same three installed by mm_install_special_mapping (same addresses, same
 * flags, the vDSO's bytes copied) does the same.  Every call's result and
 * the VMAs around them (bounds, permissions, VmFlags, name, Anonymous,
 * Private_Dirty) must agree.  Rss, Pss and the Shared_ counters are left
 * out: the host's vDSO pages are shared with every process and mapped as
 * its own calls touched them.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "diffcheck.h"
#include "host_child.h"
#include "vmarea.h"

#define PG 4096UL
#define MAX_STEPS 6

struct special { unsigned long start, end; char name[16]; };
static struct special host_sp[3];   /* [vvar], [vvar_vclock], [vdso], as this process has them */
static int nsp;
static unsigned long lo, hi;        /* the view: the three */
static unsigned long tgt;           /* 1 MiB free in this process, to move them into */

enum { VVAR, VCLOCK, VDSO };

/* One call, addresses given relative to a special mapping's start. */
enum kind { MUNMAP, MPROTECT, MREMAP, MADVISE, MLOCK, WRITE };
struct step {
    enum kind kind;
    int sp;                          /* which mapping addr is relative to */
    long off, len, arg, arg2;        /* arg: prot, flags, advice, new_len; arg2: target offset
                                        from lo (mremap FIXED) */
};
struct scenario { const char *name; int n; struct step s[MAX_STEPS]; };

struct result { long ret[MAX_STEPS]; struct dc_layout layout; };

static void find_specials(void)
{
    FILE *f = fopen("/proc/self/maps", "re");
    assert_non_null(f);
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        static const char *const names[] = { "[vvar]", "[vvar_vclock]", "[vdso]" };
        for (int i = 0; i < 3; i++) {
            size_t n = strlen(names[i]);
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            size_t len = strlen(line);
            if (len < n || strcmp(line + len - n, names[i]))
                continue;
            sscanf(line, "%lx-%lx", &host_sp[i].start, &host_sp[i].end);
            strcpy(host_sp[i].name, names[i]);
            nsp++;
        }
    }
    fclose(f);
}

static unsigned long addr_of(const struct special *sp, const struct step *s)
{
    return sp[s->sp].start + (unsigned long)s->off;
}

static long host_step(const struct step *s)
{
    unsigned long a = addr_of(host_sp, s);
    long r = -EINVAL;
    switch (s->kind) {
    case MUNMAP:   r = munmap((void *)a, (size_t)s->len); break;
    case MPROTECT: r = mprotect((void *)a, (size_t)s->len, (int)s->arg); break;
    case MADVISE:  r = madvise((void *)a, (size_t)s->len, (int)s->arg); break;
    case MLOCK:    r = mlock((void *)a, (size_t)s->len); break;
    case WRITE:    *(volatile char *)a = 1; return 0;
    case MREMAP: {
        void *p = mremap((void *)a, (size_t)s->len, (size_t)s->arg, (int)s->arg2 ? MREMAP_MAYMOVE | MREMAP_FIXED : 0,
                         (void *)(tgt + (unsigned long)s->arg2 - 0x1000000));
        return p == MAP_FAILED ? -errno : (long)p;
    }
    }
    return r ? -errno : 0;
}

/* The VMAs of the target, then those of the three's place. */
static int parse_views(const char *text, size_t len, struct dc_layout *l)
{
    static struct dc_layout second;
    if (dc_smaps_parse(text, len, tgt, tgt + 0x100000, l) < 0 ||
        dc_smaps_parse(text, len, lo, hi, &second) < 0)
        return -1;
    for (unsigned i = 0; i < second.n && l->n < DC_MAX_VMAS; i++)
        l->v[l->n++] = second.v[i];
    return 0;
}

/* In the child, without malloc: a buffer grown by mmap would land in the
 * target's free space and show in its view. */
static void host_run(void *arg, void *out)
{
    static char text[1 << 20];
    const struct scenario *sc = arg;
    struct result *res = out;
    munmap((void *)tgt, 0x100000);   /* the parent's reservation of the target */
    for (int i = 0; i < sc->n; i++)
        res->ret[i] = host_step(&sc->s[i]);
    int fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
    size_t len = 0;
    ssize_t n;
    while (fd >= 0 && len < sizeof(text) && (n = read(fd, text + len, sizeof(text) - len)) > 0)
        len += (size_t)n;
    if (fd < 0 || len == sizeof(text) || parse_views(text, len, &res->layout) < 0)
        _exit(2);
    close(fd);
}

static long ours_step(struct mm *mm, const struct special *sp, const struct step *s)
{
    unsigned long a = addr_of(sp, s);
    switch (s->kind) {
    case MUNMAP:   return mm_munmap(mm, a, (unsigned long)s->len);
    case MPROTECT: return mm_mprotect(mm, a, (unsigned long)s->len, (int)s->arg);
    case MADVISE:  return mm_madvise(mm, a, (unsigned long)s->len, (int)s->arg);
    case MLOCK:    return mm_mlock(mm, a, (unsigned long)s->len, 0);
    case WRITE: {
        char one = 1;
        long r = mm_write(mm, a, &one, 1);
        return r == 1 ? 0 : r;
    }
    case MREMAP:
        return mm_mremap(mm, a, (unsigned long)s->len, (unsigned long)s->arg,
                         s->arg2 ? MREMAP_MAYMOVE | MREMAP_FIXED : 0, tgt + (unsigned long)s->arg2 - 0x1000000);
    }
    return -EINVAL;
}

/* The three, as x86-64's map_vdso installs them. */
static struct mm *ours_mm(void)
{
    struct mm_config cfg;
    assert_int_equal(mm_config_from_host(&cfg), 0);
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);
    for (int i = 0; i < 3; i++) {
        const struct special *sp = &host_sp[i];
        unsigned long len = sp->end - sp->start, npages = len / PG;
        struct vm_page **pages = calloc(npages, sizeof(*pages));
        assert_non_null(pages);
        vm_flags_t flags = VM_READ | VM_MAYREAD | VM_IO | VM_DONTDUMP | VM_PFNMAP;
        if (i == VDSO) {
            flags = VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
            for (unsigned long p = 0; p < npages; p++) {
                pages[p] = vm_page_alloc(mm);
                assert_non_null(pages[p]);
                memcpy(vm_page_address(pages[p]), (void *)(sp->start + p * PG), PG);
            }
        }
        assert_int_equal(mm_install_special_mapping(mm, sp->start, len, flags, sp->name, pages),
                         (long)sp->start);
        for (unsigned long p = 0; p < npages; p++)
            if (pages[p])
                vm_page_put(pages[p]);   /* the mapping holds its own */
        free(pages);
    }
    return mm;
}

static void layout_of(struct mm *mm, struct dc_layout *l)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(mm_show_smaps(mm, f), 0);
    fclose(f);
    assert_int_equal(parse_views(text, len, l), 0);
    free(text);
}

static void expect_same_vmas(const char *name, const struct dc_layout *h, const struct dc_layout *o)
{
    bool same = h->n == o->n;
    for (unsigned i = 0; same && i < h->n; i++) {
        const struct dc_vma *a = &h->v[i], *b = &o->v[i];
        same = a->start == b->start && a->end == b->end && !strcmp(a->perms, b->perms) &&
               !strcmp(a->flags, b->flags) && !strcmp(a->name, b->name) && a->anon_kb == b->anon_kb &&
               a->private_dirty_kb == b->private_dirty_kb;
    }
    if (same)
        return;
    fprintf(stderr, "%s: layouts differ\n", name);
    for (int side = 0; side < 2; side++) {
        const struct dc_layout *l = side ? o : h;
        fprintf(stderr, "  %s:\n", side ? "vmarea" : "linux");
        for (unsigned i = 0; i < l->n; i++)
            fprintf(stderr, "    %lx-%lx %s [%s] %s anon %lu dirty %lu\n", (unsigned long)l->v[i].start,
                    (unsigned long)l->v[i].end, l->v[i].perms, l->v[i].flags, l->v[i].name,
                    (unsigned long)l->v[i].anon_kb, (unsigned long)l->v[i].private_dirty_kb);
    }
    fail();
}

static void run_scenario(const struct scenario *sc)
{
    static struct result host;
    memset(&host, 0, sizeof(host));
    assert_int_equal(host_child((void (*)(void *, void *))host_run, (void *)sc, &host, sizeof(host)), 0);

    struct mm *mm = ours_mm();
    long ret[MAX_STEPS];
    for (int i = 0; i < sc->n; i++) {
        ret[i] = ours_step(mm, host_sp, &sc->s[i]);
        if (ret[i] != host.ret[i]) {
            fprintf(stderr, "%s: step %d: linux %ld, vmarea %ld\n", sc->name, i, host.ret[i], ret[i]);
            fail();
        }
    }
    static struct dc_layout ours;
    layout_of(mm, &ours);
    expect_same_vmas(sc->name, &host.layout, &ours);
    mmput(mm);
}

static void test_special_mappings(void **state)
{
    (void)state;
    if (nsp != 3)
        skip();   /* a host without this vDSO layout: nothing to compare with */
    long vdso_len = (long)(host_sp[VDSO].end - host_sp[VDSO].start);
    long vvar_len = (long)(host_sp[VVAR].end - host_sp[VVAR].start);
    const long to = 0x1000000;   /* arg2 != 0: MREMAP_FIXED to tgt + arg2 - to */
    const struct scenario scenarios[] = {
        { "munmap a part, then the whole", 3,
          { { MUNMAP, VDSO, (long)PG, (long)PG, 0, 0 }, { MUNMAP, VDSO, 0, (long)PG, 0, 0 },
            { MUNMAP, VDSO, 0, vdso_len, 0, 0 } } },
        { "mprotect a part, then the whole, then write (copy-on-write)", 4,
          { { MPROTECT, VDSO, 0, (long)PG, PROT_READ, 0 },
            { MPROTECT, VDSO, 0, vdso_len, PROT_READ, 0 },
            { MPROTECT, VDSO, 0, vdso_len, PROT_READ | PROT_WRITE, 0 },
            { WRITE, VDSO, 0, 1, 0, 0 } } },
        { "mprotect [vvar] writable", 2,
          { { MPROTECT, VVAR, 0, vvar_len, PROT_READ | PROT_WRITE, 0 },
            { MPROTECT, VVAR, 0, vvar_len, PROT_NONE, 0 } } },
        { "mremap: grow, shrink, move a part, move the whole", 4,
          { { MREMAP, VDSO, 0, vdso_len, vdso_len + (long)PG, 0 },
            { MREMAP, VDSO, 0, vdso_len, (long)PG, 0 },
            { MREMAP, VDSO, (long)PG, (long)PG, (long)PG, to + 0x30000 },
            { MREMAP, VDSO, 0, vdso_len, vdso_len, to + 0x10000 } } },
        { "mremap [vvar] away", 1,
          { { MREMAP, VVAR, 0, vvar_len, vvar_len, to + 0x20000 } } },
        { "madvise", 5,
          { { MADVISE, VVAR, 0, vvar_len, MADV_DONTNEED, 0 },
            { MADVISE, VDSO, 0, (long)PG, MADV_DONTFORK, 0 },
            { MADVISE, VDSO, 0, vdso_len, MADV_DONTFORK, 0 },
            { MADVISE, VDSO, 0, vdso_len, MADV_DONTNEED, 0 },
            { MADVISE, VCLOCK, 0, (long)PG, MADV_DONTDUMP, 0 } } },
        { "mlock leaves them unlocked", 2,
          { { MLOCK, VDSO, 0, vdso_len, 0, 0 }, { MLOCK, VVAR, 0, vvar_len, 0, 0 } } },
    };
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        run_scenario(&scenarios[i]);
}

/* mm_install_special_mapping's own checks, and what a fork and the pages do. */
static void test_install_rules(void **state)
{
    (void)state;
    struct mm *mm = mm_create(NULL);
    assert_non_null(mm);
    const vm_flags_t RX = VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
    const unsigned long A = 0x300000000000UL;
    assert_int_equal(mm_install_special_mapping(mm, A + 1, PG, RX, "[x]", NULL), -EINVAL);
    assert_int_equal(mm_install_special_mapping(mm, A, PG + 1, RX, "[x]", NULL), -EINVAL);
    assert_int_equal(mm_install_special_mapping(mm, A, 0, RX, "[x]", NULL), -EINVAL);
    assert_int_equal(mm_install_special_mapping(mm, A, PG, RX | VM_WRITE, "[x]", NULL), -EINVAL);
    assert_int_equal(mm_install_special_mapping(mm, A, PG, RX | VM_GROWSDOWN, "[x]", NULL), -EINVAL);
    assert_int_equal(mm_install_special_mapping(mm, A, PG, RX, NULL, NULL), -EINVAL);

    struct vm_page *pages[2] = { vm_page_alloc(mm), NULL };
    assert_non_null(pages[0]);
    memset(vm_page_address(pages[0]), 0x42, PG);
    assert_int_equal(mm_install_special_mapping(mm, A, 2 * PG, RX, "[x]", pages), (long)A);
    vm_page_put(pages[0]);
    /* Overlap: the range must be free; next to it, no merge. */
    assert_int_equal(mm_install_special_mapping(mm, A + PG, PG, RX, "[y]", NULL), -ENOMEM);
    assert_int_equal(mm_install_special_mapping(mm, A + 2 * PG, PG, RX, "[x]", NULL), (long)(A + 2 * PG));
    struct mm_stats st;
    mm_get_stats(mm, &st);
    assert_int_equal(st.map_count, 2);
    /* Address 0: where mmap would place it, top-down. */
    long where = mm_install_special_mapping(mm, 0, PG, RX, "[z]", NULL);
    assert_true(where > 0);
    assert_int_equal(mm_mmap(mm, (unsigned long)where, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                             NULL, 0), -EEXIST);

    /* The page reads as given, counted in RssFile; no page: SIGBUS. */
    unsigned char b = 0;
    assert_int_equal(mm_read(mm, A, &b, 1), 1);
    assert_int_equal(b, 0x42);
    mm_get_stats(mm, &st);
    assert_int_equal(st.rss_file, 1);
    assert_int_equal(mm_read(mm, A + PG, &b, 1), -EIO);
    assert_int_equal(mm_write(mm, A, &b, 1), -EACCES);

    /* A fork copies the mapping; the page is still the same. */
    struct mm *child = mm_fork(mm);
    assert_non_null(child);
    b = 0;
    assert_int_equal(mm_read(child, A, &b, 1), 1);
    assert_int_equal(b, 0x42);
    mmput(mm);   /* the parent first: the child keeps the pages */
    b = 0;
    assert_int_equal(mm_read(child, A, &b, 1), 1);
    assert_int_equal(b, 0x42);
    mmput(child);
}

static int setup(void **state)
{
    (void)state;
    find_specials();
    unsigned long first = ~0UL, last = 0;
    for (int i = 0; i < nsp; i++) {
        first = host_sp[i].start < first ? host_sp[i].start : first;
        last = host_sp[i].end > last ? host_sp[i].end : last;
    }
    lo = first;
    hi = last;
    /* Reserved here, freed by each host child before its steps: nothing
     * else of this process lands in it. */
    void *p = mmap(NULL, 0x100000, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    tgt = (unsigned long)p;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_special_mappings),
        cmocka_unit_test(test_install_rules),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

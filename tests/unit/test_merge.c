/* SPDX-License-Identifier: MIT */
/*
 * test_merge — VMA merge, split and modify rules.
 *
 * The cases are those of Linux's tools/testing/vma (tests/merge.c,
 * tests/mmap.c, tests/vma.c) and tools/testing/selftests/mm/merge.c, ported
 * onto vmarea's public API.  Linux's userspace VMA tests call internal
 * functions (vma_merge_new_range, vma_modify_flags, vma_expand, vma_shrink);
 * each case here performs the public operation that runs the same rule:
 *
 *   Linux (internal)              vmarea (public)
 *   merge_new / try_merge_new_vma mm_mmap(MAP_FIXED) next to existing VMAs
 *   merge_existing / vma_modify   mm_mprotect / mm_madvise / mm_mlock of part
 *                                 or all of a VMA (see struct modifier)
 *   vma_expand                    a mapping placed right after a VMA
 *   vma_shrink                    mm_munmap of part of a VMA
 *   VMG_FLAG_JUST_EXPAND          mm_brk growing the heap in place
 *   vm_ops->close, VM_SPECIAL     vm_file_create whose mmap hook calls
 *                                 vma_new_set_ops / vma_new_set_io / ...
 *
 * The host kernel is the oracle.  Every case is a list of operations (struct
 * op).  Where the host can run them (anonymous and host-file mappings,
 * mprotect, madvise, mlock, brk, faults, fork), the same list runs first in
 * a forked child at the same fixed addresses; the child reports the VMAs of
 * its /proc/self/smaps inside the window, and the test asserts that they
 * equal the expected layout too, so no expectation is merely assumed.  Cases
 * that need vm_file_create (special flags, close hooks) have no host
 * equivalent: their expectations follow mm/vma.c and say so.
 *
 * Layouts are drawn as in Linux's tests: one character per page from the
 * window start, one letter per VMA, ' ' for a hole, e.g. "AA B   DD  C".
 * The expectations assert the VMA count, bounds, pgoff and flags, walking the
 * mm with vma_find/vma_next under MMAP_READ_GUARD.  The host shows no pgoff
 * for anonymous VMAs (Linux prints 0 there since 6.x), so for those the
 * pgoff (addr >> PAGE_SHIFT at creation, carried through splits) is checked
 * on vmarea only.
 *
 * Elsewhere: merge.c's mremap_* cases of Linux 6.18 (mremap_unfaulted_to_faulted,
 * mremap_unfaulted_behind_faulted, mremap_unfaulted_between_faulted,
 * mremap_unfaulted_between_faulted_unfaulted,
 * mremap_unfaulted_between_correctly_placed_faulted,
 * mremap_correct_placed_faulted) are scripts in tests/diff/test_scripts.c,
 * run against the host.
 *
 * Not ported, and why:
 *   - tools/testing/vma test_merge_extend and test_copy_vma: they drive
 *     vma_merge_extend and copy_vma with a VMA state this harness cannot
 *     build; mremap's growth and moves exercise both (test_scripts, and
 *     vmarea check --mremap).
 *   - merge.c handle_uprobe_upon_merged_vma: uprobes and mremap.
 *   - merge.c ksm_merge, second half: PR_SET_MEMORY_MERGE has no vmarea
 *     equivalent; the first half (plain adjacent merges) is ported, and
 *     MADV_MERGEABLE is one of the modifiers below.
 *   - "sticky" flag permutations of __test_merge_new/__test_merge_existing:
 *     the sticky flags are VM_SOFTDIRTY and VM_MAYBE_GUARD; neither can be
 *     set apart from the rest through the public API.
 *   - VM_PFNMAP of test_vma_merge_special_flags: no vma_new setter sets it.
 *
 *   - A driver hook that changes non-special flags (vma_new_set_dontdump)
 *     next to a compatible VMA: Linux 6.12-6.16 retried the merge after the
 *     hook ("retry_merge"), newer kernels removed that; left out until the
 *     project picks a version for it.
 *
 * Cases that fork run the rest in the child, on the host as on vmarea
 * (mm_fork), the parent kept to the end; cases that map a host file map
 * the same file on both (vm_file_open).
 * (merge_existing/mlock needs no mm_fault: mlock's own population gives the
 * neighbours their distinct anon_vmas, which changes its "merge both" case.)
 *
 * Beyond Linux's cases, the same machinery checks further mm/vma.c and
 * mprotect/madvise/mlock rules against the host: MAP_FIXED over the middle of
 * a VMA, VM_ACCOUNT/VM_NORESERVE in the comparison (an unfaulted VMA made
 * read-only is uncharged), ranges with holes, mlockall(MCL_FUTURE), shared
 * anonymous mappings, file offsets, PROT_NONE; and, vmarea-only, splits of a
 * VMA with a close hook and anon_vma_name.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <linux/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#define MADV_KEEPONFORK 19
#endif

#define PG 4096UL
/* A window free in this process (and so in a forked child), with margins. */
#define WIN      0x200000000000UL
#define SCAN_LO  (WIN - 256 * PG)
#define SCAN_HI  (WIN + 0x1000000UL + 256 * PG)
#define P(n)     (WIN + (unsigned long)(n) * PG)


/* ------------------------------------------------------------ flags */

/* Expectation-only bits, never real VM_* flags. */
#define F_MOD     (1UL << 63)   /* "with the case's modifier applied" */
#define F_UNKNOWN (1UL << 62)   /* a VmFlags mnemonic this test does not know */

#define F_MAY   (VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC)
/* Private anonymous, mapped PROT_READ|PROT_WRITE: "rd wr mr mw me ac". */
#define F_RW    (VM_READ | VM_WRITE | F_MAY | VM_ACCOUNT)
/*
 * Made read-only by mprotect after being faulted: keeps VM_ACCOUNT.  (An
 * unfaulted private anonymous VMA made read-only is uncharged and loses it,
 * mprotect_fixup since Linux 6.x: it looks like F_RO0 then.)
 */
#define F_RO    (VM_READ | F_MAY | VM_ACCOUNT)
/* Mapped read-only, or made read-only before any fault: no VM_ACCOUNT. */
#define F_RO0   (VM_READ | F_MAY)
/* MAP_NORESERVE: VM_NORESERVE instead of VM_ACCOUNT. */
#define F_RWNR  (VM_READ | VM_WRITE | F_MAY | VM_NORESERVE)
#define F_RONR  (VM_READ | F_MAY | VM_NORESERVE)
#define F_RWXNR (VM_READ | VM_WRITE | VM_EXEC | F_MAY | VM_NORESERVE)
/* MAP_SHARED of a read-write file. */
#define F_SH    (VM_READ | VM_WRITE | VM_SHARED | F_MAY | VM_MAYSHARE)
#define F_SHRO  (VM_READ | VM_SHARED | F_MAY | VM_MAYSHARE)

#define RW  (PROT_READ | PROT_WRITE)
#define RO  PROT_READ
#define RWX (PROT_READ | PROT_WRITE | PROT_EXEC)

static const struct { const char *mn; vm_flags_t flag; } mnemonics[] = {
    { "rd", VM_READ }, { "wr", VM_WRITE }, { "ex", VM_EXEC }, { "sh", VM_SHARED },
    { "mr", VM_MAYREAD }, { "mw", VM_MAYWRITE }, { "me", VM_MAYEXEC },
    { "ms", VM_MAYSHARE }, { "gd", VM_GROWSDOWN }, { "pf", VM_PFNMAP },
    { "lo", VM_LOCKED }, { "io", VM_IO }, { "sr", VM_SEQ_READ },
    { "rr", VM_RAND_READ }, { "dc", VM_DONTCOPY }, { "de", VM_DONTEXPAND },
    { "lf", VM_LOCKONFAULT }, { "ac", VM_ACCOUNT }, { "nr", VM_NORESERVE },
    { "ht", VM_HUGETLB }, { "sf", VM_SYNC }, { "ar", VM_ARCH_1 },
    { "wf", VM_WIPEONFORK }, { "dd", VM_DONTDUMP }, { "sd", VM_SOFTDIRTY },
    { "mm", VM_MIXEDMAP }, { "hg", VM_HUGEPAGE }, { "nh", VM_NOHUGEPAGE },
    { "mg", VM_MERGEABLE }, { "um", VM_UFFD_MISSING }, { "uw", VM_UFFD_WP },
};

static vm_flags_t mnemonic_flag(const char *s)
{
    for (size_t i = 0; i < sizeof(mnemonics) / sizeof(mnemonics[0]); i++)
        if (s[0] == mnemonics[i].mn[0] && s[1] == mnemonics[i].mn[1])
            return mnemonics[i].flag;
    return F_UNKNOWN;
}

static const char *flags_str(vm_flags_t f, char *buf, size_t len)
{
    size_t n = 0;

    buf[0] = 0;
    for (size_t i = 0; i < sizeof(mnemonics) / sizeof(mnemonics[0]); i++)
        if ((f & mnemonics[i].flag) && n + 4 < len)
            n += (size_t)snprintf(buf + n, len - n, "%s ", mnemonics[i].mn);
    if ((f & F_UNKNOWN) && n + 4 < len)
        n += (size_t)snprintf(buf + n, len - n, "?? ");
    if (n)
        buf[n - 1] = 0;
    return buf;
}

/* ------------------------------------------------------------ layouts */

/* One VMA, as expected or as found. */
struct vx {
    unsigned long start, end;
    vm_flags_t flags;
    long pgoff;          /* expected: -1 means "by rule" (see pgoff_rule) */
    long anon_kb;        /* -1: not checked / not known */
    bool is_file;
    bool pgoff_known;
};

/*
 * An expected layout: map[i] is page base+i; runs of one letter are one VMA.
 * Per-letter attributes are indexed by order of first appearance.
 */
struct expect {
    const char *map;
    long base;
    const vm_flags_t *flags;   /* NULL: the scenario's default */
    const long *anon_kb;       /* NULL: not checked */
    const long *pgoff;         /* NULL or -1 entries: by rule */
    const struct vx *vmas;     /* instead of map: explicit, ended by end == 0 */
};

#define FLAGS(...)  .flags = (const vm_flags_t[]){ __VA_ARGS__ }
#define ANON(...)   .anon_kb = (const long[]){ __VA_ARGS__ }
#define PGOFF(...)  .pgoff = (const long[]){ __VA_ARGS__ }

/* ------------------------------------------------------------ operations */

enum op_kind {
    OP_END, OP_MMAP, OP_MMAP_FILE, OP_MMAP_DEV, OP_MUNMAP, OP_MPROTECT,
    OP_MADVISE, OP_MLOCK, OP_MUNLOCK, OP_FAULT, OP_FORK, OP_BRK_INIT, OP_BRK,
    OP_RESET, OP_APPLY, OP_UNDO, OP_DEV_SET, OP_DEV_EXPECT, OP_CHECK,
    OP_MLOCKALL, OP_MUNLOCKALL, OP_ANON_NAME,
};

struct op {
    enum op_kind kind;
    long page, npages;        /* relative to WIN */
    int arg, arg2;            /* prot & extra MAP_ flags, advice, mlock flags, dev field & value */
    long off;                 /* file offset in pages */
    int ret;                  /* expected result: 0 or -errno */
    const struct expect *expect;
    const char *str;          /* OP_ANON_NAME */
};

#define END                    { .kind = OP_END }
#define MMAP(pg, n, prot, ...) { .kind = OP_MMAP, .page = (pg), .npages = (n), .arg = (prot), __VA_ARGS__ }
#define MMAP_NR(pg, n, prot)   MMAP(pg, n, prot, .arg2 = MAP_NORESERVE)
#define MMAP_SHARED(pg, n, prot) MMAP(pg, n, prot, .arg2 = MAP_SHARED)
#define MMAP_FILE(pg, n, prot, o, ...) \
    { .kind = OP_MMAP_FILE, .page = (pg), .npages = (n), .arg = (prot), .off = (o), __VA_ARGS__ }
#define MMAP_DEV(pg, n, prot)  { .kind = OP_MMAP_DEV, .page = (pg), .npages = (n), .arg = (prot), .off = (pg) }
#define MUNMAP(pg, n)          { .kind = OP_MUNMAP, .page = (pg), .npages = (n) }
#define MPROTECT(pg, n, prot, ...) { .kind = OP_MPROTECT, .page = (pg), .npages = (n), .arg = (prot), __VA_ARGS__ }
#define MADVISE(pg, n, adv, ...) { .kind = OP_MADVISE, .page = (pg), .npages = (n), .arg = (adv), __VA_ARGS__ }
#define MLOCK(pg, n, ...)      { .kind = OP_MLOCK, .page = (pg), .npages = (n), __VA_ARGS__ }
#define MUNLOCK(pg, n)         { .kind = OP_MUNLOCK, .page = (pg), .npages = (n) }
#define FAULT(pg)              { .kind = OP_FAULT, .page = (pg) }
#define FORK()                 { .kind = OP_FORK }
#define BRK_INIT(pg)           { .kind = OP_BRK_INIT, .page = (pg) }
#define BRK(pg, ...)           { .kind = OP_BRK, .page = (pg), __VA_ARGS__ }
#define RESET()                { .kind = OP_RESET }
#define MLOCKALL(fl)           { .kind = OP_MLOCKALL, .arg = (fl) }
#define MUNLOCKALL()           { .kind = OP_MUNLOCKALL }
#define ANON_NAME(pg, n, s)    { .kind = OP_ANON_NAME, .page = (pg), .npages = (n), .str = (s) }
#define APPLY(pg, n)           { .kind = OP_APPLY, .page = (pg), .npages = (n) }
#define UNDO(pg, n)            { .kind = OP_UNDO, .page = (pg), .npages = (n) }
#define DEV_SET(f, v)          { .kind = OP_DEV_SET, .arg = (f), .arg2 = (v) }
#define DEV_EXPECT(f, v)       { .kind = OP_DEV_EXPECT, .arg = (f), .arg2 = (v) }
#define CHECK(m, ...)          { .kind = OP_CHECK, .expect = &(const struct expect){ .map = (m), __VA_ARGS__ } }
#define CHECKV(...)            { .kind = OP_CHECK, .expect = &(const struct expect){ \
                                 .vmas = (const struct vx[]){ __VA_ARGS__, { .end = 0 } } } }

/*
 * A modifier: one way to change the flags of part of a VMA (Linux's
 * vma_modify_* callers), and the way back.  merge_existing and
 * simple_modify run once per modifier.
 */
struct modifier {
    const char *name;
    enum op_kind kind;
    int arg;
    enum op_kind undo_kind;    /* OP_END: no way back */
    int undo_arg;
    vm_flags_t set, clear;
    bool populates;            /* faults the range in (mlock without MLOCK_ONFAULT) */
    bool host_ok;              /* the host accepts it (probed at start) */
};

static struct modifier modifiers[] = {
    /* Unfaulted, so made read-only it is uncharged too (see F_RO). */
    { "mprotect", OP_MPROTECT, RO, OP_MPROTECT, RW, 0, VM_WRITE | VM_ACCOUNT, false, false },
    { "madv_dontfork", OP_MADVISE, MADV_DONTFORK, OP_MADVISE, MADV_DOFORK, VM_DONTCOPY, 0, false, false },
    { "madv_dontdump", OP_MADVISE, MADV_DONTDUMP, OP_MADVISE, MADV_DODUMP, VM_DONTDUMP, 0, false, false },
    { "madv_wipeonfork", OP_MADVISE, MADV_WIPEONFORK, OP_MADVISE, MADV_KEEPONFORK, VM_WIPEONFORK, 0, false, false },
    { "madv_sequential", OP_MADVISE, MADV_SEQUENTIAL, OP_MADVISE, MADV_NORMAL, VM_SEQ_READ, 0, false, false },
    { "madv_random", OP_MADVISE, MADV_RANDOM, OP_MADVISE, MADV_NORMAL, VM_RAND_READ, 0, false, false },
    { "madv_hugepage", OP_MADVISE, MADV_HUGEPAGE, OP_END, 0, VM_HUGEPAGE, 0, false, false },
    { "madv_nohugepage", OP_MADVISE, MADV_NOHUGEPAGE, OP_END, 0, VM_NOHUGEPAGE, 0, false, false },
    { "madv_mergeable", OP_MADVISE, MADV_MERGEABLE, OP_MADVISE, MADV_UNMERGEABLE, VM_MERGEABLE, 0, false, false },
    { "mlock", OP_MLOCK, 0, OP_MUNLOCK, 0, VM_LOCKED, 0, true, false },
    { "mlock_onfault", OP_MLOCK, MLOCK_ONFAULT, OP_MUNLOCK, 0, VM_LOCKED | VM_LOCKONFAULT, 0, false, false },
};
#define NR_MODIFIERS (sizeof(modifiers) / sizeof(modifiers[0]))

/* A mappable device for the cases the host cannot run. */
enum dev_special { DEV_PLAIN, DEV_IO, DEV_DONTEXPAND, DEV_MIXEDMAP };
enum dev_field { DEV_SPECIAL, DEV_CLOSE_HOOK, DEV_ZERO_COUNTS, DEV_MMAP_CALLS, DEV_OPENS, DEV_CLOSES };

struct dev {
    int special;          /* enum dev_special, for the next mappings */
    bool close_hook;      /* the next mappings get vm_operations with open/close */
    int mmap_calls, opens, closes;
};

struct scenario {
    const char *name;
    const struct op *ops;
    vm_flags_t dflt;                  /* flags of letters without FLAGS() */
    vm_flags_t mask;                  /* flag bits compared; 0: all */
    const struct modifier *mod;       /* for APPLY/UNDO */
    bool no_host;                     /* vm_file_create: the host has no equivalent */
    bool drop_faults;                 /* FAULT ops are no-ops (unfaulted variant) */
    struct dev *dev;
};

/* ------------------------------------------------------------ shared state */

static struct mm_config g_cfg;
static vm_flags_t g_sd;        /* VM_SOFTDIRTY if the host marks new VMAs soft-dirty */
static int g_fd = -1;          /* a read-write host file for OP_MMAP_FILE */

/*
 * Turn APPLY/UNDO into the concrete operation.  Returns false when the
 * modifier has no way back; the runner then skips up to the next CHECK.
 */
static bool resolve(const struct scenario *sc, const struct op *o, struct op *out)
{
    *out = *o;
    if (o->kind == OP_APPLY) {
        out->kind = sc->mod->kind;
        out->arg = sc->mod->arg;
    } else if (o->kind == OP_UNDO) {
        if (sc->mod->undo_kind == OP_END)
            return false;
        out->kind = sc->mod->undo_kind;
        out->arg = sc->mod->undo_arg;
    }
    return true;
}

static vm_flags_t resolve_flags(const struct scenario *sc, vm_flags_t f)
{
    if (f & F_MOD) {
        f &= ~F_MOD;
        if (sc->mod)
            f = (f | sc->mod->set) & ~sc->mod->clear;
    }
    return f | g_sd;
}

/* ------------------------------------------------------------ smaps parsing */

/*
 * Parse smaps text, keeping the VMAs that overlap [lo, hi).  Used on the
 * host's /proc/self/smaps (in the child, so no allocation) and on vmarea's
 * mm_show_smaps.
 */
static int parse_smaps(char *text, size_t len, struct vx *out, int max, char *unknown, size_t ulen)
{
    int n = -1;
    bool keep = false;
    char *line = text, *end = text + len;

    if (unknown)
        unknown[0] = 0;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        unsigned long s, e, off, ino;
        unsigned maj, min;
        char perms[8];

        if (!nl)
            nl = end;
        *nl = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &s, &e, perms, &off, &maj, &min, &ino) == 7) {
            keep = s < SCAN_HI && e > SCAN_LO && n + 1 < max;
            if (keep) {
                n++;
                out[n] = (struct vx){ .start = s, .end = e, .pgoff = (long)(off / PG), .anon_kb = -1,
                                      .is_file = ino != 0, .pgoff_known = ino != 0 };
            }
        } else if (keep && !strncmp(line, "Anonymous:", 10)) {
            out[n].anon_kb = strtol(line + 10, NULL, 10);
        } else if (keep && !strncmp(line, "VmFlags:", 8)) {
            for (char *p = line + 8; *p; p++) {
                if (*p == ' ' || !p[1])
                    continue;
                vm_flags_t f = mnemonic_flag(p);
                out[n].flags |= f;
                if (f == F_UNKNOWN && unknown && strlen(unknown) + 4 < ulen) {
                    strncat(unknown, p, 2);
                    strcat(unknown, " ");
                }
                p++;
            }
        }
        line = nl + 1;
    }
    return n + 1;
}

/* MAP_PRIVATE unless the case asks for MAP_SHARED. */
static int anon_map_flags(const struct op *o)
{
    return (o->arg2 & MAP_SHARED ? 0 : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED | o->arg2;
}

/* ------------------------------------------------------------ the host half */

#define MAXV 64
#define MAXCHECK 48

struct host_result {
    bool ran;
    int nchecks;
    int nv[MAXCHECK];
    struct vx v[MAXCHECK][MAXV];
    char unknown[MAXCHECK][64];
    char errors[4096];
};

static char child_buf[1 << 21];

static void child_write(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void child_write(int fd, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0 && write(fd, line, (size_t)n) != n)
        _exit(3);
}

static int child_snapshot(struct vx *v, char *unknown, size_t ulen)
{
    int fd = open("/proc/self/smaps", O_RDONLY);
    size_t len = 0;
    ssize_t r;

    if (fd < 0)
        return -1;
    while ((r = read(fd, child_buf + len, sizeof(child_buf) - 1 - len)) > 0)
        len += (size_t)r;
    close(fd);
    return parse_smaps(child_buf, len, v, MAXV, unknown, ulen);
}

/*
 * The child issues raw system calls: sanitizer runtimes intercept some libc
 * wrappers (ASan makes mlock, munlock, mlockall and munlockall no-ops).
 */
static long sys(long r)
{
    return r == -1 ? -errno : r;
}

/*
 * Move the child's heap into the window.  PR_SET_MM_MAP, unlike the single
 * PR_SET_MM_* fields, needs no CAP_SYS_RESOURCE; it takes the whole layout,
 * read from /proc/self/stat (fields 26-28 and 45-51).
 */
static long child_set_brk(unsigned long addr)
{
    struct prctl_mm_map m = { .exe_fd = (__u32)-1 };
    unsigned long f[53] = { 0 };
    int fd = open("/proc/self/stat", O_RDONLY), i = 3;
    ssize_t len;
    char *p;

    if (fd < 0)
        return -errno;
    len = read(fd, child_buf, 4095);
    close(fd);
    if (len <= 0)
        return -EIO;
    child_buf[len] = 0;
    p = strrchr(child_buf, ')');
    if (!p)
        return -EIO;
    for (p += 2; *p && i < 53; i++) {
        f[i] = strtoul(p, NULL, 10);     /* 0 for field 3, the state letter */
        while (*p && *p != ' ')
            p++;
        while (*p == ' ')
            p++;
    }
    m.start_code = f[26];
    m.end_code = f[27];
    m.start_stack = f[28];
    m.start_data = f[45];
    m.end_data = f[46];
    m.arg_start = f[48];
    m.arg_end = f[49];
    m.env_start = f[50];
    m.env_end = f[51];
    m.start_brk = addr;
    m.brk = addr;
    return sys(syscall(SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, &m, sizeof(m), 0));
}

static long host_do(const struct op *o)
{
    unsigned long addr = P(o->page);
    size_t len = (size_t)o->npages * PG;
    long r;

    switch (o->kind) {
    case OP_MMAP:
        r = sys(syscall(SYS_mmap, addr, len, o->arg, anon_map_flags(o), -1, 0));
        return r < 0 ? r : ((unsigned long)r == addr ? 0 : -EFAULT);
    case OP_MMAP_FILE:
        r = sys(syscall(SYS_mmap, addr, len, o->arg, (o->arg2 ? o->arg2 : MAP_PRIVATE) | MAP_FIXED, g_fd,
                        o->off * (long)PG));
        return r < 0 ? r : ((unsigned long)r == addr ? 0 : -EFAULT);
    case OP_MUNMAP:
        return sys(syscall(SYS_munmap, addr, len));
    case OP_MPROTECT:
        return sys(syscall(SYS_mprotect, addr, len, o->arg));
    case OP_MADVISE:
        return sys(syscall(SYS_madvise, addr, len, o->arg));
    case OP_MLOCK:
        return sys(syscall(SYS_mlock2, addr, len, o->arg));
    case OP_MUNLOCK:
        return sys(syscall(SYS_munlock, addr, len));
    case OP_MLOCKALL:
        return sys(syscall(SYS_mlockall, o->arg));
    case OP_MUNLOCKALL:
        return sys(syscall(SYS_munlockall));
    case OP_FAULT:
        *(volatile char *)addr = 'x';
        return 0;
    case OP_BRK_INIT:
        return child_set_brk(addr);
    case OP_BRK:
        r = syscall(SYS_brk, addr);
        return (unsigned long)r == addr ? 0 : -ENOMEM;
    case OP_RESET:
        return sys(syscall(SYS_munmap, SCAN_LO, SCAN_HI - SCAN_LO));
    default:
        return 0;
    }
}

static void host_child(const struct scenario *sc, int fd)
{
    static struct vx v[MAXV];
    char unknown[64];
    int ci = 0;

    if (child_snapshot(v, unknown, sizeof(unknown)) != 0) {
        child_write(fd, "X the window is not free in the child\n");
        _exit(0);
    }
    for (int i = 0; sc->ops[i].kind != OP_END; i++) {
        struct op o;
        long r;

        if (!resolve(sc, &sc->ops[i], &o)) {
            while (sc->ops[i + 1].kind != OP_END && sc->ops[i + 1].kind != OP_CHECK)
                i++;
            if (sc->ops[i + 1].kind == OP_CHECK) {
                i++;
                child_write(fd, "C %d skip\n", ci++);
            }
            continue;
        }
        if (o.kind == OP_FAULT && sc->drop_faults)
            continue;
        if (o.kind == OP_CHECK) {
            int n = child_snapshot(v, unknown, sizeof(unknown));

            child_write(fd, "C %d\n", ci++);
            for (int k = 0; k < n; k++)
                child_write(fd, "V %lx %lx %lx %lx %ld %d\n", v[k].start, v[k].end, (unsigned long)v[k].pgoff,
                            v[k].flags, v[k].anon_kb, v[k].is_file);
            if (unknown[0])
                child_write(fd, "U %s\n", unknown);
            continue;
        }
        if (o.kind == OP_FORK) {
            pid_t pid = fork();

            if (pid < 0) {
                child_write(fd, "E %d %d %d\n", i, -errno, 0);
            } else if (pid > 0) {
                int st;
                waitpid(pid, &st, 0);
                _exit(0);
            }
            continue;
        }
        r = host_do(&o);
        if (r != o.ret)
            child_write(fd, "E %d %ld %d\n", i, r, o.ret);
    }
    child_write(fd, "D\n");
    _exit(0);
}

static void host_run(const struct scenario *sc, struct host_result *hr)
{
    int pfd[2];
    pid_t pid;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t r;
    int ci = -1, st;
    size_t elen = 0;

    memset(hr, 0, sizeof(*hr));
    assert_non_null(buf);
    assert_int_equal(pipe(pfd), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        host_child(sc, pfd[1]);
    }
    close(pfd[1]);
    while ((r = read(pfd[0], buf + len, cap - len - 1)) > 0) {
        len += (size_t)r;
        if (cap - len < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    close(pfd[0]);
    waitpid(pid, &st, 0);
    buf[len] = 0;

    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == 'C') {
            ci++;
            if (ci >= MAXCHECK)
                break;
            hr->nchecks = ci + 1;
            hr->nv[ci] = strstr(line, "skip") ? -1 : 0;
        } else if (line[0] == 'V' && ci >= 0 && hr->nv[ci] < MAXV) {
            struct vx *v = &hr->v[ci][hr->nv[ci]++];
            int is_file = 0;
            unsigned long pgoff = 0;

            sscanf(line, "V %lx %lx %lx %lx %ld %d", &v->start, &v->end, &pgoff, &v->flags, &v->anon_kb, &is_file);
            v->pgoff = (long)pgoff;
            v->is_file = is_file;
            v->pgoff_known = is_file;
        } else if (line[0] == 'U' && ci >= 0) {
            snprintf(hr->unknown[ci], sizeof(hr->unknown[ci]), "%s", line + 2);
        } else if (line[0] == 'E' || line[0] == 'X') {
            int i = 0, want = 0;
            long got = 0;

            if (line[0] == 'E' && sscanf(line, "E %d %ld %d", &i, &got, &want) == 3)
                elen += (size_t)snprintf(hr->errors + elen, sizeof(hr->errors) - elen,
                                         "  host: op #%d returned %ld, expected %d\n", i, got, want);
            else
                elen += (size_t)snprintf(hr->errors + elen, sizeof(hr->errors) - elen, "  host: %s\n", line + 2);
            if (elen >= sizeof(hr->errors))
                elen = sizeof(hr->errors) - 1;
        } else if (line[0] == 'D') {
            hr->ran = true;
        }
    }
    if (!hr->ran && elen < sizeof(hr->errors))
        snprintf(hr->errors + elen, sizeof(hr->errors) - elen, "  host: the child did not finish (status %#x)\n", st);
    free(buf);
}

/* ------------------------------------------------------------ the vmarea half */

struct vctx {
    const struct scenario *sc;
    struct mm *mm;
    struct mm *old[8];          /* parents left behind by FORK, alive to the end */
    int nold;
    struct vm_file *devfile;
    struct vm_file *file;       /* g_fd's, for OP_MMAP_FILE */
};

static void dev_vma_open(const struct vma_ref *vma)
{
    ((struct dev *)vma_private(vma))->opens++;
}

static void dev_vma_close(const struct vma_ref *vma)
{
    ((struct dev *)vma_private(vma))->closes++;
}

static const struct vm_operations dev_close_ops = {
    .open = dev_vma_open,
    .close = dev_vma_close,
};

static int dev_mmap(struct vm_file *f, struct vma_new *vma)
{
    struct dev *d = vm_file_private(f);

    d->mmap_calls++;
    switch (d->special) {
    case DEV_IO:
        vma_new_set_io(vma);
        break;
    case DEV_DONTEXPAND:
        vma_new_set_dontexpand(vma);
        break;
    case DEV_MIXEDMAP:
        (void)vma_new_set_mixedmap(vma);
        break;
    default:
        break;
    }
    if (d->close_hook)
        vma_new_set_ops(vma, &dev_close_ops, d);
    return 0;
}

static const struct vm_file_operations dev_fops = { .mmap = dev_mmap };

static long mmap_result(long r, unsigned long addr)
{
    return r < 0 ? r : ((unsigned long)r == addr ? 0 : -EFAULT);
}

static long vm_do(struct vctx *c, const struct op *o, char *msg, size_t mlen)
{
    unsigned long addr = P(o->page), len = (unsigned long)o->npages * PG;
    struct dev *d = c->sc->dev;
    long r;

    switch (o->kind) {
    case OP_MMAP:
        return mmap_result(mm_mmap(c->mm, addr, len, o->arg, anon_map_flags(o), NULL, 0), addr);
    case OP_MMAP_FILE:
        if (!c->file && !(c->file = vm_file_open(g_fd)))
            return -errno;
        return mmap_result(mm_mmap(c->mm, addr, len, o->arg, (o->arg2 ? o->arg2 : MAP_PRIVATE) | MAP_FIXED,
                                   c->file, (unsigned long)o->off * PG), addr);
    case OP_MMAP_DEV:
        return mmap_result(mm_mmap(c->mm, addr, len, o->arg, MAP_SHARED | MAP_FIXED, c->devfile,
                                   (unsigned long)o->off * PG), addr);
    case OP_MUNMAP:
        return mm_munmap(c->mm, addr, len);
    case OP_MPROTECT:
        return mm_mprotect(c->mm, addr, len, o->arg);
    case OP_MADVISE:
        return mm_madvise(c->mm, addr, len, o->arg);
    case OP_MLOCK:
        return mm_mlock(c->mm, addr, len, (unsigned)o->arg);
    case OP_MUNLOCK:
        return mm_munlock(c->mm, addr, len);
    case OP_MLOCKALL:
        return mm_mlockall(c->mm, o->arg);
    case OP_MUNLOCKALL:
        return mm_munlockall(c->mm);
    case OP_ANON_NAME:
        return mm_set_anon_name(c->mm, addr, len, o->str);
    case OP_FAULT:
        return mm_fault(c->mm, addr, FAULT_FLAG_WRITE | FAULT_FLAG_USER);
    case OP_FORK: {
        /* The child goes on, as on the host; the parent waits to the end. */
        struct mm *child = mm_fork(c->mm);
        if (!child)
            return -errno;
        assert_true(c->nold < (int)(sizeof(c->old) / sizeof(c->old[0])));
        c->old[c->nold++] = c->mm;
        c->mm = child;
        return 0;
    }
    case OP_BRK_INIT: {
        struct mm_layout l = {
            .start_code = 0x400000, .end_code = 0x401000, .start_data = 0x401000, .end_data = 0x402000,
            .start_brk = addr, .brk = addr, .start_stack = 0x7ffffffde000UL,
            .arg_start = 0x7ffffffde000UL, .arg_end = 0x7ffffffde000UL,
            .env_start = 0x7ffffffde000UL, .env_end = 0x7ffffffde000UL,
        };
        return mm_set_layout(c->mm, &l);
    }
    case OP_BRK:
        r = mm_brk(c->mm, addr);
        return (unsigned long)r == addr ? 0 : (r < 0 ? r : -ENOMEM);
    case OP_RESET:
        return mm_munmap(c->mm, SCAN_LO, SCAN_HI - SCAN_LO);
    case OP_DEV_SET:
        switch (o->arg) {
        case DEV_SPECIAL: d->special = o->arg2; break;
        case DEV_CLOSE_HOOK: d->close_hook = o->arg2; break;
        case DEV_ZERO_COUNTS: d->mmap_calls = d->opens = d->closes = 0; break;
        }
        return 0;
    case OP_DEV_EXPECT: {
        static const char *const names[] = { [DEV_MMAP_CALLS] = "mmap hook calls", [DEV_OPENS] = "open calls",
                                             [DEV_CLOSES] = "close calls" };
        int got = o->arg == DEV_MMAP_CALLS ? d->mmap_calls : o->arg == DEV_OPENS ? d->opens : d->closes;

        if (got != o->arg2) {
            snprintf(msg, mlen, "%s: %d, expected %d", names[o->arg], got, o->arg2);
            return -EBADMSG;
        }
        return 0;
    }
    default:
        return 0;
    }
}

static int vm_snapshot(struct mm *mm, struct vx *out)
{
    int n = 0;
    MMAP_READ_GUARD(g, mm);

    for (const struct vma_ref *v = vma_find(&g, SCAN_LO); v && vma_start(v) < SCAN_HI; v = vma_next(&g, v)) {
        if (n == MAXV)
            break;
        out[n++] = (struct vx){ .start = vma_start(v), .end = vma_end(v), .flags = vma_flags(v),
                                .pgoff = (long)vma_pgoff(v), .anon_kb = -1, .is_file = vma_file(v) != NULL,
                                .pgoff_known = true };
    }
    return n;
}

/* Anonymous kB per VMA, from vmarea's own smaps text. */
static void vm_fill_anon(struct mm *mm, struct vx *v, int n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    static struct vx s[MAXV];
    int ns;

    assert_non_null(f);
    mm_show_smaps(mm, f);
    fclose(f);
    ns = parse_smaps(text, len, s, MAXV, NULL, 0);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < ns; k++)
            if (s[k].start == v[i].start && s[k].end == v[i].end)
                v[i].anon_kb = s[k].anon_kb;
    free(text);
}

/* ------------------------------------------------------------ comparison */

static int build_expected(const struct scenario *sc, const struct expect *e, struct vx *out)
{
    int n = 0;

    if (e->vmas) {
        for (; e->vmas[n].end; n++) {
            out[n] = e->vmas[n];
            out[n].flags = resolve_flags(sc, out[n].flags ? out[n].flags : sc->dflt);
        }
        return n;
    }

    char letters[32];
    int nl = 0;

    for (int i = 0; e->map[i];) {
        char ch = e->map[i];
        int j = i, li;

        if (ch == ' ') {
            i++;
            continue;
        }
        while (e->map[j] == ch)
            j++;
        for (li = 0; li < nl && letters[li] != ch; li++)
            ;
        if (li == nl) {
            assert_true(nl < 32);
            letters[nl++] = ch;
        }
        out[n] = (struct vx){
            .start = P(e->base + i), .end = P(e->base + j),
            .flags = resolve_flags(sc, e->flags ? e->flags[li] : sc->dflt),
            .pgoff = e->pgoff ? e->pgoff[li] : -1,
            .anon_kb = e->anon_kb ? e->anon_kb[li] : -1,
        };
        n++;
        i = j;
    }
    return n;
}

/* Draw a found layout the way the expectations are written, when it fits. */
static void draw(const struct vx *v, int n, long base, char *buf, size_t len)
{
    size_t w = 0;

    for (int i = 0; i < n; i++) {
        if (v[i].start < P(base) || v[i].end > P(base) + (len - 1) * PG) {
            snprintf(buf, len, "(outside the drawing)");
            return;
        }
        size_t s = (v[i].start - P(base)) / PG, e = (v[i].end - P(base)) / PG;
        while (w < s)
            buf[w++] = ' ';
        for (; w < e; w++)
            buf[w] = (char)('A' + i % 26);
    }
    buf[w] = 0;
}

static void print_layout(const char *who, const struct vx *v, int n, long base)
{
    char pic[512], fl[160];

    draw(v, n, base, pic, sizeof(pic));
    print_message("      %-8s \"%s\"\n", who, pic);
    for (int i = 0; i < n; i++) {
        char pg[40] = "", anon[40] = "";

        if (v[i].pgoff >= 0 && (v[i].pgoff_known || !strcmp(who, "expected")))
            snprintf(pg, sizeof(pg), " pgoff %#lx", (unsigned long)v[i].pgoff);
        if (v[i].anon_kb >= 0)
            snprintf(anon, sizeof(anon), "  Anonymous %ld kB", v[i].anon_kb);
        print_message("        [%#lx, %#lx) = pages [%ld, %ld)%s  %s%s\n", v[i].start, v[i].end,
                      (long)(v[i].start - WIN) / (long)PG, (long)(v[i].end - WIN) / (long)PG, pg,
                      flags_str(v[i].flags, fl, sizeof(fl)), anon);
    }
}

static long rule_pgoff(const struct vx *got)
{
    /* Anonymous: addr >> PAGE_SHIFT.  Files and devices in these cases are
     * mapped at page p with offset p unless the case says otherwise. */
    return got->is_file ? (long)((got->start - WIN) / PG) : (long)(got->start / PG);
}

static int compare(const struct scenario *sc, const char *who, int ci, const struct expect *e,
                   const struct vx *want, int nw, const struct vx *got, int ng)
{
    vm_flags_t mask = sc->mask ? sc->mask : ~0UL;
    char why[200] = "";

    if (nw != ng)
        snprintf(why, sizeof(why), "%d VMAs, expected %d", ng, nw);
    for (int i = 0; !why[0] && i < nw; i++) {
        long wp = want[i].pgoff >= 0 ? want[i].pgoff : rule_pgoff(&got[i]);
        char f1[160], f2[160];

        if (got[i].start != want[i].start || got[i].end != want[i].end)
            snprintf(why, sizeof(why), "VMA %d spans [%#lx, %#lx), expected [%#lx, %#lx)", i, got[i].start,
                     got[i].end, want[i].start, want[i].end);
        else if ((got[i].flags & mask) != (want[i].flags & mask))
            snprintf(why, sizeof(why), "VMA %d flags \"%s\", expected \"%s\"", i,
                     flags_str(got[i].flags & mask, f1, sizeof(f1)), flags_str(want[i].flags & mask, f2, sizeof(f2)));
        else if (got[i].pgoff_known && got[i].pgoff != wp)
            snprintf(why, sizeof(why), "VMA %d pgoff %#lx, expected %#lx", i, (unsigned long)got[i].pgoff,
                     (unsigned long)wp);
        else if (want[i].anon_kb >= 0 && got[i].anon_kb != want[i].anon_kb)
            snprintf(why, sizeof(why), "VMA %d Anonymous %ld kB, expected %ld kB", i, got[i].anon_kb,
                     want[i].anon_kb);
    }
    if (!why[0])
        return 0;
    print_message("    [%s] check %d, %s: %s\n", sc->name, ci, who, why);
    print_layout("expected", want, nw, e->map ? e->base : 0);
    print_layout(who, got, ng, e->map ? e->base : 0);
    return 1;
}

static bool needs_anon(const struct vx *want, int n)
{
    for (int i = 0; i < n; i++)
        if (want[i].anon_kb >= 0)
            return true;
    return false;
}

/* ------------------------------------------------------------ the runner */

static void run(const struct scenario *sc)
{
    static struct host_result hr;
    static struct vx want[MAXV], got[MAXV];
    bool use_host = !sc->no_host && (!sc->mod || sc->mod->host_ok);
    int bad = 0, host_bad = 0;

    if (use_host) {
        host_run(sc, &hr);
        if (hr.errors[0]) {
            print_message("    [%s] the host disagrees with the operations' expected results:\n%s", sc->name,
                          hr.errors);
            host_bad++;
        }
        for (int i = 0, ci = 0; sc->ops[i].kind != OP_END; i++) {
            if (sc->ops[i].kind != OP_CHECK)
                continue;
            if (ci < hr.nchecks && hr.nv[ci] >= 0) {
                int nw = build_expected(sc, sc->ops[i].expect, want);

                if (hr.unknown[ci][0])
                    print_message("    [%s] check %d: host VmFlags has unknown mnemonics: %s\n", sc->name, ci,
                                  hr.unknown[ci]);
                host_bad += compare(sc, "host", ci, sc->ops[i].expect, want, nw, hr.v[ci], hr.nv[ci]);
            } else if (ci >= hr.nchecks) {
                print_message("    [%s] check %d: the host never got there\n", sc->name, ci);
                host_bad++;
            }
            ci++;
        }
        if (host_bad)
            fail_msg("[%s] %d disagreement(s) between the host and the expectation: the test is wrong", sc->name,
                     host_bad);
    }
    struct vctx c = { .sc = sc };
    struct mm_config cfg = g_cfg;
    /* A scenario the host cannot run tests mm/vma.c's rules, which need
     * every feature there is (anonymous VMA names too). */
    if (sc->no_host)
        cfg.flags &= ~MM_CONFIG_NO_ANON_NAMES;

    c.mm = mm_create(&cfg);
    assert_non_null(c.mm);
    if (sc->dev) {
        memset(sc->dev, 0, sizeof(*sc->dev));
        c.devfile = vm_file_create(&dev_fops, sc->dev, "merge-dev");
        assert_non_null(c.devfile);
    }

    for (int i = 0, ci = 0; sc->ops[i].kind != OP_END; i++) {
        struct op o;
        char msg[160] = "";
        long r;

        if (!resolve(sc, &sc->ops[i], &o)) {
            while (sc->ops[i + 1].kind != OP_END && sc->ops[i + 1].kind != OP_CHECK)
                i++;
            if (sc->ops[i + 1].kind == OP_CHECK) {
                i++;
                ci++;
            }
            continue;
        }
        if (o.kind == OP_FAULT && sc->drop_faults)
            continue;
        if (o.kind == OP_CHECK) {
            int nw = build_expected(sc, o.expect, want);
            int ng = vm_snapshot(c.mm, got);

            if (needs_anon(want, nw))
                vm_fill_anon(c.mm, got, ng);
            bad += compare(sc, "vmarea", ci, o.expect, want, nw, got, ng);
            ci++;
            continue;
        }
        r = vm_do(&c, &o, msg, sizeof(msg));
        if (r != o.ret) {
            if (msg[0])
                print_message("    [%s] op #%d: %s\n", sc->name, i, msg);
            else
                print_message("    [%s] op #%d (kind %d, pages [%ld, %ld)): vmarea returned %ld (%s), "
                              "expected %d\n", sc->name, i, o.kind, o.page, o.page + o.npages, r,
                              r < 0 ? strerror((int)-r) : "", o.ret);
            bad++;
        }
    }

    mmput(c.mm);
    for (int i = 0; i < c.nold; i++)
        mmput(c.old[i]);
    if (c.devfile)
        vm_file_put(c.devfile);
    if (c.file)
        vm_file_put(c.file);
    if (bad)
        fail_msg("[%s] %d mismatch(es) between vmarea and the expectation%s", sc->name, bad,
                 use_host ? " (which the host kernel confirmed)" : " (mm/vma.c rules; no host equivalent)");
}

#define RUN(...) run(&(const struct scenario){ __VA_ARGS__ })

/* ================================================================ cases */

/* tools/testing/vma test_simple_merge: a new VMA between two neighbours. */
static void simple_merge(void **state)
{
    (void)state;
    const struct op ops[] = {
        /*
         * 012
         * A*B    ->  AAA
         */
        MMAP(0, 1, RW), MMAP(2, 1, RW),
        CHECK("A B", FLAGS(F_RW, F_RW)),
        MMAP(1, 1, RW),
        CHECK("AAA"),
        END
    };
    RUN(.name = "simple_merge", .ops = ops, .dflt = F_RW);
}

/*
 * tools/testing/vma test_simple_modify: changing the middle page splits the
 * VMA in three, each keeping its pgoff; changing it back merges all three.
 * Run once per modifier.
 */
static void simple_modify(void **state)
{
    const struct modifier *mod = *state;
    const struct op ops[] = {
        MMAP(0, 3, RW),
        /*
         *  <>
         * 012
         * AAA    ->  ABC  (B modified; pgoffs 0, 1, 2 from the window)
         */
        APPLY(1, 1),
        CHECK("ABC", FLAGS(F_RW, F_RW | F_MOD, F_RW)),
        /* ABC    ->  AAA */
        UNDO(1, 1),
        CHECK("AAA"),
        END
    };
    char name[64];

    snprintf(name, sizeof(name), "simple_modify/%s", mod->name);
    RUN(.name = name, .ops = ops, .dflt = F_RW, .mod = mod);
}

/* tools/testing/vma test_simple_expand: vma_expand is what a mapping placed
 * right after a VMA does to it. */
static void simple_expand(void **state)
{
    (void)state;
    const struct op ops[] = {
        /*
         * 012
         * A**    ->  AAA
         */
        MMAP(0, 1, RW),
        MMAP(1, 2, RW),
        CHECK("AAA"),
        END
    };
    RUN(.name = "simple_expand", .ops = ops, .dflt = F_RW);
}

/* tools/testing/vma test_simple_shrink, plus shrinking from the front and a
 * hole punched in the middle (pgoff moves with the start). */
static void simple_shrink(void **state)
{
    (void)state;
    const struct op ops[] = {
        /* AAA  ->  A */
        MMAP(0, 3, RW),
        MUNMAP(1, 2),
        CHECK("A"),
        /* AAAAA  ->  " AAAA"  ->  " A BB" */
        RESET(),
        MMAP(0, 5, RW),
        MUNMAP(0, 1),
        CHECK(" AAAA"),
        MUNMAP(2, 1),
        CHECK(" A BB"),
        END
    };
    RUN(.name = "simple_shrink", .ops = ops, .dflt = F_RW);
}

/*
 * tools/testing/vma test_merge_new: new mappings merging with the previous
 * VMA, the next VMA, both, or neither.  (Linux's vm_ops "should have no
 * impact" lines are the close-hook cases, in merge_new_with_close.)
 */
static const struct op merge_new_ops[] = {
    /*
     * 0123456789ab
     * AA B       C
     */
    MMAP(0x0, 2, RW), MMAP(0x3, 1, RW), MMAP(0xb, 1, RW),
    CHECK("AA B       C"),
    /* NO merge: AA B   **  C */
    MMAP(0x7, 2, RW),
    CHECK("AA B   DD  C"),
    /* Merge BOTH sides: AA*B   DD  C */
    MMAP(0x2, 1, RW),
    CHECK("AAAA   DD  C"),
    /* Merge to PREVIOUS VMA: AAAA*  DD  C */
    MMAP(0x4, 1, RW),
    CHECK("AAAAA  DD  C"),
    /* Merge to NEXT VMA: AAAAA *DD  C */
    MMAP(0x6, 1, RW),
    CHECK("AAAAA DDD  C"),
    /* Merge BOTH sides: AAAAA*DDD  C */
    MMAP(0x5, 1, RW),
    CHECK("AAAAAAAAA  C"),
    /* Merge to NEXT VMA: AAAAAAAAA *C */
    MMAP(0xa, 1, RW),
    CHECK("AAAAAAAAA CC"),
    /* Merge BOTH sides: AAAAAAAAA*CC */
    MMAP(0x9, 1, RW),
    CHECK("AAAAAAAAAAAA"),
    END
};

static void merge_new(void **state)
{
    (void)state;
    RUN(.name = "merge_new", .ops = merge_new_ops, .dflt = F_RW);
}

/*
 * test_merge_new with Linux's anon_vma on B: B faulted, everything else
 * unfaulted.  A faulted and an unfaulted neighbour always merge, so the
 * sequence ends in one VMA holding B's page.
 */
static void merge_new_faulted(void **state)
{
    (void)state;
    const struct op ops[] = {
        MMAP(0x0, 2, RW), MMAP(0x3, 1, RW), MMAP(0xb, 1, RW),
        FAULT(0x3),
        MMAP(0x7, 2, RW),
        CHECK("AA B   DD  C", ANON(0, 4, 0, 0)),
        MMAP(0x2, 1, RW),
        CHECK("AAAA   DD  C", ANON(4, 0, 0)),
        MMAP(0x4, 1, RW), MMAP(0x6, 1, RW), MMAP(0x5, 1, RW), MMAP(0xa, 1, RW), MMAP(0x9, 1, RW),
        CHECK("AAAAAAAAAAAA", ANON(4)),
        END
    };
    RUN(.name = "merge_new_faulted", .ops = ops, .dflt = F_RW);
}

/*
 * tools/testing/vma test_vma_merge_special_flags.  No host equivalent: the
 * special flags come from a driver's mmap hook.  mm/vma.c: vma_merge_new_range
 * and vma_merge_existing_range refuse any VM_SPECIAL VMA (IO, DONTEXPAND,
 * PFNMAP, MIXEDMAP); the control run (no special flag) merges.
 */
static struct dev special_dev;

static void merge_special_flags(void **state)
{
    int special = (int)(intptr_t)*state;
    static const vm_flags_t bit[] = { [DEV_PLAIN] = 0, [DEV_IO] = VM_IO, [DEV_DONTEXPAND] = VM_DONTEXPAND,
                                      [DEV_MIXEDMAP] = VM_MIXEDMAP };
    static const char *const names[] = { "none (control)", "VM_IO", "VM_DONTEXPAND", "VM_MIXEDMAP" };
    vm_flags_t s = bit[special];
    bool merges = special == DEV_PLAIN;
    const struct op ops[] = {
        DEV_SET(DEV_SPECIAL, special),
        /*
         * 01234
         * AAA*     1. a new VMA that would otherwise merge
         */
        MMAP_DEV(0, 3, RW),
        MMAP_DEV(3, 1, RW),
        CHECK(merges ? "AAAA" : "AAAB", FLAGS(F_SH | s, F_SH | s)),
        /*
         * 01234
         * AAAB     2. B modified (mprotect to A's protection) so that it
         *             would otherwise merge
         */
        RESET(),
        MMAP_DEV(0, 3, RW),
        MMAP_DEV(3, 1, RO),
        CHECK("AAAB", FLAGS(F_SH | s, F_SHRO | s)),
        MPROTECT(3, 1, RW),
        CHECK(merges ? "AAAA" : "AAAB", FLAGS(F_SH | s, F_SH | s)),
        END
    };
    char name[64];

    snprintf(name, sizeof(name), "vma_merge_special_flags/%s", names[special]);
    RUN(.name = name, .ops = ops, .no_host = true, .dev = &special_dev,
        .mask = VM_READ | VM_WRITE | VM_EXEC | VM_SHARED | VM_MAYSHARE | VM_SPECIAL);
}

/*
 * tools/testing/vma test_vma_merge_with_close and the "should have no
 * impact" close hooks of test_merge_existing.  No host equivalent; mm/vma.c
 * rules: a VMA with vm_ops->close may be extended or shrunk by a merge but
 * never removed by one; when removing next is refused, the merge is reduced
 * to prev (and middle); when removing middle is refused, there is no merge.
 * The device's hook gives the next mappings a close hook or not
 * (DEV_CLOSE_HOOK), so P, V and N below differ only in that.
 */
static struct dev close_dev;

#define CLOSE_MASK (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED | VM_MAYSHARE | VM_SPECIAL)

static void merge_with_close(void **state)
{
    (void)state;
    const struct op ops[] = {
        /*
         * New range between P and N, N with close: removing N is refused,
         * so only P is extended; no hook runs for the merged range.
         *
         * 0123456789
         * PPP**NNNN   ->  PPPPPNNNN
         */
        DEV_SET(DEV_CLOSE_HOOK, 0), MMAP_DEV(0, 3, RW),
        DEV_SET(DEV_CLOSE_HOOK, 1), MMAP_DEV(5, 4, RW),
        DEV_SET(DEV_CLOSE_HOOK, 0), MMAP_DEV(3, 2, RW),
        CHECK("PPPPPNNNN", FLAGS(F_SH, F_SH)),
        DEV_EXPECT(DEV_MMAP_CALLS, 2), DEV_EXPECT(DEV_CLOSES, 0),

        /*
         * V (close) modified to match P over all of V: V would be removed,
         * which is refused: no merge.
         *
         *    <>
         * 0123456789
         * PPPVV        ->  PPPVV
         */
        RESET(), DEV_SET(DEV_ZERO_COUNTS, 0),
        DEV_SET(DEV_CLOSE_HOOK, 0), MMAP_DEV(0, 3, RW),
        DEV_SET(DEV_CLOSE_HOOK, 1), MMAP_DEV(3, 2, RO),
        MPROTECT(3, 2, RW),
        CHECK("PPPVV", FLAGS(F_SH, F_SH)),
        DEV_EXPECT(DEV_CLOSES, 0),

        /*
         * Mirrored with next.
         *
         *    <>
         * 0123456789
         *    VVNNNN    ->  VVNNNN
         */
        RESET(), DEV_SET(DEV_ZERO_COUNTS, 0),
        DEV_SET(DEV_CLOSE_HOOK, 1), MMAP_DEV(3, 2, RO),
        DEV_SET(DEV_CLOSE_HOOK, 0), MMAP_DEV(5, 4, RW),
        MPROTECT(3, 2, RW),
        CHECK("   VVNNNN", FLAGS(F_SH, F_SH)),
        DEV_EXPECT(DEV_CLOSES, 0),

        /*
         * Both sides, V with close: no merge.
         *
         *    <>
         * 0123456789
         * PPPVVNNNN    ->  PPPVVNNNN
         */
        RESET(), DEV_SET(DEV_ZERO_COUNTS, 0),
        DEV_SET(DEV_CLOSE_HOOK, 0), MMAP_DEV(0, 3, RW),
        DEV_SET(DEV_CLOSE_HOOK, 1), MMAP_DEV(3, 2, RO),
        DEV_SET(DEV_CLOSE_HOOK, 0), MMAP_DEV(5, 4, RW),
        MPROTECT(3, 2, RW),
        CHECK("PPPVVNNNN", FLAGS(F_SH, F_SH, F_SH)),
        DEV_EXPECT(DEV_CLOSES, 0),

        /*
         * Both sides, N with close: reduced to merging P and V.
         *
         *    <>
         * 0123456789
         * PPPVVNNNN    ->  PPPPPNNNN
         */
        RESET(), DEV_SET(DEV_ZERO_COUNTS, 0),
        DEV_SET(DEV_CLOSE_HOOK, 0), MMAP_DEV(0, 3, RW), MMAP_DEV(3, 2, RO),
        CHECK("PPPVV", FLAGS(F_SH, F_SHRO)),
        DEV_SET(DEV_CLOSE_HOOK, 1), MMAP_DEV(5, 4, RW),
        MPROTECT(3, 2, RW),
        CHECK("PPPPPNNNN", FLAGS(F_SH, F_SH)),
        DEV_EXPECT(DEV_CLOSES, 0),
        END
    };
    RUN(.name = "vma_merge_with_close", .ops = ops, .no_host = true, .dev = &close_dev, .mask = CLOSE_MASK);
}

/*
 * tools/testing/vma test_vma_merge_new_with_close: P and N both have close
 * hooks; a new range between them extends P and leaves N alone.
 *
 *        New VMA
 *    A  v-------v  B
 * |-----|       |-----|        ->  |------------||-----|
 *  close         close              close         close
 */
static void merge_new_with_close(void **state)
{
    (void)state;
    const struct op ops[] = {
        DEV_SET(DEV_CLOSE_HOOK, 1),
        MMAP_DEV(0, 2, RW), MMAP_DEV(5, 2, RW),
        CHECK("AA   BB", FLAGS(F_SH, F_SH)),
        MMAP_DEV(2, 3, RW),
        CHECK("AAAAABB", FLAGS(F_SH, F_SH)),
        DEV_EXPECT(DEV_MMAP_CALLS, 2), DEV_EXPECT(DEV_CLOSES, 0), DEV_EXPECT(DEV_OPENS, 0),
        END
    };
    RUN(.name = "vma_merge_new_with_close", .ops = ops, .no_host = true, .dev = &close_dev, .mask = CLOSE_MASK);
}

/*
 * test_merge_new's vm_ops lines: a close hook on the VMA that is extended
 * "should have no impact"; one on the VMA that would be removed "would
 * otherwise degrade the merge" to extending prev only.
 */
static void merge_new_close_ops(void **state)
{
    (void)state;
    const struct op ops[] = {
        /*
         * 0123456789
         * AA*B         A with close, B without: B is removed   ->  AAAA
         */
        DEV_SET(DEV_CLOSE_HOOK, 1), MMAP_DEV(0, 2, RW),
        DEV_SET(DEV_CLOSE_HOOK, 0), MMAP_DEV(3, 1, RW),
        MMAP_DEV(2, 1, RW),
        CHECK("AAAA", FLAGS(F_SH)),
        /*
         * AAAA  *DD    D with close is only extended           ->  AAAA  DDD
         */
        DEV_SET(DEV_CLOSE_HOOK, 1), MMAP_DEV(7, 2, RW),
        MMAP_DEV(6, 1, RW),
        CHECK("AAAA  DDD", FLAGS(F_SH, F_SH)),
        /*
         * AAAA**DDD    removing D is refused: A alone extends  ->  AAAAAADDD
         */
        MMAP_DEV(4, 2, RW),
        CHECK("AAAAAADDD", FLAGS(F_SH, F_SH)),
        DEV_EXPECT(DEV_MMAP_CALLS, 3), DEV_EXPECT(DEV_CLOSES, 0), DEV_EXPECT(DEV_OPENS, 0),
        END
    };
    RUN(.name = "merge_new_close_ops", .ops = ops, .no_host = true, .dev = &close_dev, .mask = CLOSE_MASK);
}

/*
 * The partial and full spans of test_merge_existing with Linux's close hooks
 * on V and N ("should have no impact"): nothing with a close hook is removed
 * in them, so they merge as without hooks; no open/close runs.
 */
static void merge_existing_with_close(void **state)
{
    (void)state;
    const struct op ops[] = {
        /*
         * Merge right, partial span; V and N have close.
         *
         *    <->
         * 0123456789
         *   VVVVNNN    ->  VNNNNNN
         */
        DEV_SET(DEV_CLOSE_HOOK, 1),
        MMAP_DEV(2, 4, RW), MMAP_DEV(6, 3, RO),
        MPROTECT(3, 3, RO),
        CHECK("  VNNNNNN", FLAGS(F_SH, F_SHRO)),
        DEV_EXPECT(DEV_OPENS, 0), DEV_EXPECT(DEV_CLOSES, 0),

        /*
         * Merge right, full span; N has close, V not (V is removed).
         *
         *   <-->
         * 0123456789
         *   VVVVNNN    ->  NNNNNNN
         */
        RESET(), DEV_SET(DEV_ZERO_COUNTS, 0),
        DEV_SET(DEV_CLOSE_HOOK, 0), MMAP_DEV(2, 4, RW),
        DEV_SET(DEV_CLOSE_HOOK, 1), MMAP_DEV(6, 3, RO),
        MPROTECT(2, 4, RO),
        CHECK("  NNNNNNN", FLAGS(F_SHRO)),
        DEV_EXPECT(DEV_CLOSES, 0),

        /*
         * Merge left, partial span; P and V have close.
         *
         *    <->
         * 0123456789
         * PPPVVVV      ->  PPPPPPV
         */
        RESET(), DEV_SET(DEV_ZERO_COUNTS, 0),
        DEV_SET(DEV_CLOSE_HOOK, 1), MMAP_DEV(0, 3, RO), MMAP_DEV(3, 4, RW),
        MPROTECT(3, 3, RO),
        CHECK("PPPPPPV", FLAGS(F_SHRO, F_SH)),
        DEV_EXPECT(DEV_OPENS, 0), DEV_EXPECT(DEV_CLOSES, 0),

        /*
         * Merge left, full span; P has close, V not (V is removed).
         *
         *    <-->
         * 0123456789
         * PPPVVVV      ->  PPPPPPP
         */
        RESET(), DEV_SET(DEV_ZERO_COUNTS, 0),
        DEV_SET(DEV_CLOSE_HOOK, 1), MMAP_DEV(0, 3, RO),
        DEV_SET(DEV_CLOSE_HOOK, 0), MMAP_DEV(3, 4, RW),
        MPROTECT(3, 4, RO),
        CHECK("PPPPPPP", FLAGS(F_SHRO)),
        DEV_EXPECT(DEV_CLOSES, 0),

        /*
         * Merge both; P has close, V and N not (both removed).
         *
         *    <-->
         * 0123456789
         * PPPVVVVNNN   ->  PPPPPPPPPP
         */
        RESET(), DEV_SET(DEV_ZERO_COUNTS, 0),
        DEV_SET(DEV_CLOSE_HOOK, 1), MMAP_DEV(0, 3, RO),
        DEV_SET(DEV_CLOSE_HOOK, 0), MMAP_DEV(3, 4, RW), MMAP_DEV(7, 3, RO),
        MPROTECT(3, 4, RO),
        CHECK("PPPPPPPPPP", FLAGS(F_SHRO)),
        DEV_EXPECT(DEV_CLOSES, 0),
        END
    };
    RUN(.name = "merge_existing_with_close", .ops = ops, .no_host = true, .dev = &close_dev, .mask = CLOSE_MASK);
}

/*
 * tools/testing/vma test_merge_existing, once per modifier: modifying part
 * or all of V merges it with a neighbour that already has the new flags.
 */
static void merge_existing(void **state)
{
    const struct modifier *mod = *state;
    const vm_flags_t M = F_RW | F_MOD;
    const struct op ops[] = {
        /*
         * Merge right case - partial span.
         *
         *    <->
         * 0123456789
         *   VVVVNNN
         *            ->
         * 0123456789
         *   VNNNNNN
         */
        MMAP(2, 7, RW), APPLY(6, 3),
        CHECK("  VVVVNNN", FLAGS(F_RW, M)),
        APPLY(3, 3),
        CHECK("  VNNNNNN", FLAGS(F_RW, M)),

        /*
         * Merge right case - full span.
         *
         *   <-->
         * 0123456789
         *   VVVVNNN
         *            ->
         * 0123456789
         *   NNNNNNN
         */
        RESET(), MMAP(2, 7, RW), APPLY(6, 3),
        APPLY(2, 4),
        CHECK("  NNNNNNN", FLAGS(M)),

        /*
         * Merge left case - partial span.
         *
         *    <->
         * 0123456789
         * PPPVVVV
         *            ->
         * 0123456789
         * PPPPPPV
         */
        RESET(), MMAP(0, 7, RW), APPLY(0, 3),
        CHECK("PPPVVVV", FLAGS(M, F_RW)),
        APPLY(3, 3),
        CHECK("PPPPPPV", FLAGS(M, F_RW)),

        /*
         * Merge left case - full span.
         *
         *    <-->
         * 0123456789
         * PPPVVVV
         *            ->
         * 0123456789
         * PPPPPPP
         */
        RESET(), MMAP(0, 7, RW), APPLY(0, 3),
        APPLY(3, 4),
        CHECK("PPPPPPP", FLAGS(M)),

        /*
         * Merge both case.
         *
         *    <-->
         * 0123456789
         * PPPVVVVNNN
         *             ->
         * 0123456789
         * PPPPPPPPPP
         *
         * A modifier that populates (mlock) faults P and N in apart, so
         * they have different anon_vmas and cannot become one: the merge
         * is reduced to P and V (test_anon_vma_non_mergeable's rule).
         */
        RESET(), MMAP(0, 10, RW), APPLY(0, 3), APPLY(7, 3),
        CHECK("PPPVVVVNNN", FLAGS(M, F_RW, M)),
        APPLY(3, 4),
        CHECK(mod->populates ? "PPPPPPPNNN" : "PPPPPPPPPP", FLAGS(M, M)),

        /*
         * Non-merge ranges: strictly inside V, touching neither P nor N.
         *
         *     -
         *      -
         *       -
         *     <->
         *     <>
         *      <>
         * 0123456789
         * PPPVVVVVNN
         */
        RESET(), MMAP(0, 10, RW), APPLY(0, 3), APPLY(8, 2),
        CHECK("PPPVVVVVNN", FLAGS(M, F_RW, M)),
        APPLY(4, 1),
        CHECK("PPPVXWWWNN", FLAGS(M, F_RW, M, F_RW, M)),
        RESET(), MMAP(0, 10, RW), APPLY(0, 3), APPLY(8, 2), APPLY(5, 1),
        CHECK("PPPVVXWWNN", FLAGS(M, F_RW, M, F_RW, M)),
        RESET(), MMAP(0, 10, RW), APPLY(0, 3), APPLY(8, 2), APPLY(6, 1),
        CHECK("PPPVVVXWNN", FLAGS(M, F_RW, M, F_RW, M)),
        RESET(), MMAP(0, 10, RW), APPLY(0, 3), APPLY(8, 2), APPLY(4, 3),
        CHECK("PPPVXXXWNN", FLAGS(M, F_RW, M, F_RW, M)),
        RESET(), MMAP(0, 10, RW), APPLY(0, 3), APPLY(8, 2), APPLY(4, 2),
        CHECK("PPPVXXWWNN", FLAGS(M, F_RW, M, F_RW, M)),
        RESET(), MMAP(0, 10, RW), APPLY(0, 3), APPLY(8, 2), APPLY(5, 2),
        CHECK("PPPVVXXWNN", FLAGS(M, F_RW, M, F_RW, M)),
        END
    };
    char name[64];

    snprintf(name, sizeof(name), "merge_existing/%s", mod->name);
    RUN(.name = name, .ops = ops, .dflt = F_RW, .mod = mod);
}

/*
 * tools/testing/vma test_anon_vma_non_mergeable: P and N were faulted apart,
 * so their anon_vmas differ; V, unfaulted, can merge with either but the
 * three cannot become one: the merge is reduced to P and V.
 */
static void anon_vma_non_mergeable(void **state)
{
    (void)state;
    const struct op ops[] = {
        /*
         *    <-->
         * 0123456789
         * PPPVVVVNN
         *            ->
         * 0123456789
         * PPPPPPPNN
         */
        MMAP(0, 3, RW), FAULT(0), MMAP(7, 2, RW), FAULT(7),
        MMAP(3, 4, RO),
        CHECK("PPPVVVVNN", FLAGS(F_RW, F_RO0, F_RW), ANON(4, 0, 4)),
        MPROTECT(3, 4, RW),
        CHECK("PPPPPPPNN", FLAGS(F_RW, F_RW), ANON(4, 4)),

        /*
         * The new VMA case: a new mapping in the gap.
         *
         *    <-->
         * 0123456789
         * PPP****NN
         *            ->
         * 0123456789
         * PPPPPPPNN
         */
        RESET(),
        MMAP(0, 3, RW), FAULT(0), MMAP(7, 2, RW), FAULT(7),
        MMAP(3, 4, RW),
        CHECK("PPPPPPPNN", FLAGS(F_RW, F_RW), ANON(4, 4)),
        END
    };
    RUN(.name = "anon_vma_non_mergeable", .ops = ops, .dflt = F_RW);
}

/*
 * tools/testing/vma test_dup_anon_vma: when a merge removes or shrinks a
 * faulted VMA, the VMA that grows over its pages takes its anon_vma.  The
 * pages themselves show as Anonymous in the grown VMA.
 */
static void dup_anon_vma(void **state)
{
    (void)state;
    const struct op ops[] = {
        /*
         * next has the anon_vma; prev extends over vma and next.
         *
         *         |<----->|
         * |-------*********-------|
         *   prev     vma     next
         *  extend   delete  delete
         */
        MMAP(5, 3, RW), FAULT(5),
        MMAP(0, 3, RW), MMAP(3, 2, RO),
        CHECK("PPPVVNNN", FLAGS(F_RW, F_RO0, F_RW), ANON(0, 0, 4)),
        MPROTECT(3, 2, RW),
        CHECK("PPPPPPPP", ANON(4)),

        /*
         * vma has the anon_vma; prev extends over vma and next.
         */
        RESET(),
        MMAP(3, 2, RW), FAULT(3), MPROTECT(3, 2, RO),
        MMAP(0, 3, RW), MMAP(5, 3, RW),
        CHECK("PPPVVNNN", FLAGS(F_RW, F_RO, F_RW), ANON(0, 4, 0)),
        MPROTECT(3, 2, RW),
        CHECK("PPPPPPPP", ANON(4)),

        /*
         * vma has the anon_vma; prev extends over part of vma.
         *
         *         |<----->|
         * |-------*************
         *   prev       vma
         *  extend shrink/delete
         */
        RESET(),
        MMAP(3, 5, RW), FAULT(3), MPROTECT(3, 5, RO),
        MMAP(0, 3, RW),
        CHECK("PPPVVVVV", FLAGS(F_RW, F_RO), ANON(0, 4)),
        MPROTECT(3, 2, RW),
        CHECK("PPPPPVVV", FLAGS(F_RW, F_RO), ANON(4, 0)),

        /*
         * vma has the anon_vma; next extends backwards over part of vma.
         *
         *     |<----->|
         * *************-------|
         *      vma       next
         * shrink/delete extend
         */
        RESET(),
        MMAP(0, 5, RW), FAULT(4), MPROTECT(0, 5, RO),
        MMAP(5, 3, RW),
        CHECK("VVVVVNNN", FLAGS(F_RO, F_RW), ANON(4, 0)),
        MPROTECT(3, 2, RW),
        CHECK("VVVNNNNN", FLAGS(F_RO, F_RW), ANON(0, 4)),
        END
    };
    RUN(.name = "dup_anon_vma", .ops = ops, .dflt = F_RW);
}

/*
 * tools/testing/vma test_vmi_prealloc_fail: a merge that runs out of memory
 * must not leave the anon_vma it was giving prev behind.  Every allocation
 * fails (vm_fail_nth) from the call on.
 *
 *   mprotect of vma, merging it into prev (vma_merge_existing_range):
 *   vmarea's tree only frees nodes when a VMA goes, so the merge needs no
 *   memory and succeeds, prev taking vma's anon_vma.
 *
 *   mmap of the hole between prev and next, merging all three (vma_expand):
 *   next leaves the tree as prev grows over it, which again frees and
 *   allocates nothing, and prev takes next's anon_vma.
 *
 * Where Linux's preallocation fails, vmarea's needs none; the merges that
 * do allocate are tests/unit/test_alloc_fail.c's.
 */
static struct vma *vma_at(struct mm *mm, unsigned long addr)
{
    MMAP_READ_GUARD(g, mm);
    const struct vma_ref *v = vma_lookup(&g, addr);
    return v ? to_vma(v) : NULL;
}

static void map_fixed(struct mm *mm, unsigned long addr, unsigned long pages, int prot)
{
    assert_int_equal(mm_mmap(mm, addr, pages * PG, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0),
                     (long)addr);
}

static void vmi_prealloc_fail(void **state)
{
    (void)state;
    const int rw = PROT_READ | PROT_WRITE;
    char c = 1;
    struct mm_config cfg = g_cfg;
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);

    /* prev [0, 3) untouched; vma [3, 5) written (its anon_vma), then read-only. */
    map_fixed(mm, P(3), 2, rw);
    assert_int_equal(mm_write(mm, P(3), &c, 1), 1);
    assert_int_equal(mm_mprotect(mm, P(3), 2 * PG, PROT_READ), 0);
    map_fixed(mm, P(0), 3, rw);
    struct anon_vma *av = vma_at(mm, P(3))->anon_vma;
    assert_non_null(av);
    assert_null(vma_at(mm, P(0))->anon_vma);
    vm_fail_nth(0, true);
    int r = mm_mprotect(mm, P(3), 2 * PG, rw);
    vm_fail_nth(-1, false);
    assert_int_equal(r, 0);
    struct vma *m = vma_at(mm, P(0));
    assert_true(m == vma_at(mm, P(4)) && m->vm_end == P(5));
    assert_ptr_equal(m->anon_vma, av);
    assert_int_equal(mm_munmap(mm, P(0), 5 * PG), 0);

    /* prev [0, 3) untouched, next [5, 8) written; the hole between mapped. */
    map_fixed(mm, P(5), 3, rw);
    assert_int_equal(mm_write(mm, P(5), &c, 1), 1);
    map_fixed(mm, P(0), 3, rw);
    av = vma_at(mm, P(5))->anon_vma;
    vm_fail_nth(0, true);
    long e = mm_mmap(mm, P(3), 2 * PG, rw, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
    vm_fail_nth(-1, false);
    assert_int_equal(e, (long)P(3));
    m = vma_at(mm, P(0));
    assert_true(m == vma_at(mm, P(7)) && m->vm_end == P(8));
    assert_ptr_equal(m->anon_vma, av);
    mmput(mm);
}

/*
 * tools/testing/vma test_expand_only_mode (VMG_FLAG_JUST_EXPAND), whose
 * public user is brk: the heap grows in place and the VMA before it is not
 * looked at.
 */
static void expand_only_mode(void **state)
{
    (void)state;
    const struct op ops[] = {
        /*
         * 0123456789
         * AA H****      ->  AA HHHHHH
         */
        BRK_INIT(3),
        MMAP(0, 2, RW),
        BRK(5),
        CHECK("AA HH"),
        BRK(9),
        CHECK("AA HHHHHH"),
        END
    };
    RUN(.name = "expand_only_mode", .ops = ops, .dflt = F_RW);
}

/*
 * brk's first VMA does not merge with an anonymous VMA that ends exactly at
 * start_brk: do_brk_flags only looks for a previous VMA at or above
 * start_brk (vma_prev_limit).  The host decides.
 */
static void brk_below_start_brk(void **state)
{
    (void)state;
    const struct op ops[] = {
        MMAP(0, 3, RW),
        BRK_INIT(3),
        BRK(5),
        CHECK("AAAHH"),
        BRK(6),
        CHECK("AAAHHH"),
        END
    };
    RUN(.name = "brk_below_start_brk", .ops = ops, .dflt = F_RW);
}

/* tools/testing/vma tests/mmap.c test_mmap_region_basic. */
static void mmap_region_basic(void **state)
{
    (void)state;
    const struct op ops[] = {
        /* Map at 0x300000, length 0x3000. */
        MMAP(0x300, 3, RW),
        /* Map at 0x250000, length 0x3000. */
        MMAP(0x250, 3, RW),
        /* Map at 0x303000, merging to 0x300000 of length 0x6000. */
        MMAP(0x303, 3, RW),
        /* Map at 0x24d000, merging to 0x250000 of length 0x6000. */
        MMAP(0x24d, 3, RW),
        CHECKV({ .start = P(0x24d), .end = P(0x253), .pgoff = (long)(P(0x24d) / PG), .anon_kb = -1 },
               { .start = P(0x300), .end = P(0x306), .pgoff = (long)(P(0x300) / PG), .anon_kb = -1 }),
        END
    };
    RUN(.name = "mmap_region_basic", .ops = ops, .dflt = F_RW);
}

/*
 * selftests/mm/merge.c mprotect_* cases: a faulted and an unfaulted VMA
 * merge when mprotect makes them compatible.  MAP_NORESERVE as there, so
 * VM_ACCOUNT plays no part.  Each runs twice: as written (faulted; vmarea
 * half waits for faults) and with the faults left out (runs now).
 */
static const struct op mprotect_unfaulted_left_ops[] = {
    /*      RO          RW                     RO
     * |-----------|-----------|   ->   |-----------------------|
     * | unfaulted |  faulted  |        |        faulted        |
     */
    MMAP_NR(1, 10, RW),
    MPROTECT(1, 5, RO),
    FAULT(6),
    MPROTECT(6, 5, RO),
    CHECK(" AAAAAAAAAA", FLAGS(F_RONR)),
    END
};

static const struct op mprotect_unfaulted_right_ops[] = {
    /*      RW          RO                     RO
     * |-----------|-----------|   ->   |-----------------------|
     * |  faulted  | unfaulted |        |        faulted        |
     */
    MMAP_NR(1, 10, RW),
    MPROTECT(6, 5, RO),
    FAULT(1),
    MPROTECT(1, 5, RO),
    CHECK(" AAAAAAAAAA", FLAGS(F_RONR)),
    END
};

static const struct op mprotect_unfaulted_both_ops[] = {
    /*      RO          RW          RO                     RO
     * |-----------|-----------|-----------|  ->  |-----------------------|
     * | unfaulted |  faulted  | unfaulted |      |        faulted        |
     */
    MMAP_NR(2, 9, RW),
    MPROTECT(2, 3, RO),
    MPROTECT(8, 3, RO),
    FAULT(5),
    MPROTECT(5, 3, RO),
    CHECK("  AAAAAAAAA", FLAGS(F_RONR)),
    END
};

static const struct op mprotect_faulted_left_unfaulted_right_ops[] = {
    /*      RO          RW          RO
     * |-----------|-----------|-----------|  ->  one RO VMA
     * |  faulted  |  faulted  | unfaulted |
     */
    MMAP_NR(2, 9, RW),
    MPROTECT(8, 3, RO),
    FAULT(2),
    MPROTECT(2, 3, RO),
    MPROTECT(5, 3, RO),
    CHECK("  AAAAAAAAA", FLAGS(F_RONR)),
    END
};

static const struct op mprotect_unfaulted_left_faulted_right_ops[] = {
    /*      RO          RW          RO
     * |-----------|-----------|-----------|  ->  one RO VMA
     * | unfaulted |  faulted  |  faulted  |
     */
    MMAP_NR(2, 9, RW),
    MPROTECT(2, 3, RO),
    FAULT(5),
    MPROTECT(8, 3, RO),
    MPROTECT(5, 3, RO),
    CHECK("  AAAAAAAAA", FLAGS(F_RONR)),
    END
};

struct selftest_case {
    const char *name;
    const struct op *ops;
    bool faulted;
};

static const struct selftest_case mprotect_cases[] = {
    { "mprotect_unfaulted_left", mprotect_unfaulted_left_ops, true },
    { "mprotect_unfaulted_left/nofault", mprotect_unfaulted_left_ops, false },
    { "mprotect_unfaulted_right", mprotect_unfaulted_right_ops, true },
    { "mprotect_unfaulted_right/nofault", mprotect_unfaulted_right_ops, false },
    { "mprotect_unfaulted_both", mprotect_unfaulted_both_ops, true },
    { "mprotect_unfaulted_both/nofault", mprotect_unfaulted_both_ops, false },
    { "mprotect_faulted_left_unfaulted_right", mprotect_faulted_left_unfaulted_right_ops, true },
    { "mprotect_faulted_left_unfaulted_right/nofault", mprotect_faulted_left_unfaulted_right_ops, false },
    { "mprotect_unfaulted_left_faulted_right", mprotect_unfaulted_left_faulted_right_ops, true },
    { "mprotect_unfaulted_left_faulted_right/nofault", mprotect_unfaulted_left_faulted_right_ops, false },
};

static void selftest_mprotect(void **state)
{
    const struct selftest_case *t = *state;

    RUN(.name = t->name, .ops = t->ops, .dflt = F_RONR, .drop_faults = !t->faulted);
}

/*
 * selftests/mm/merge.c forked_target_vma: a VMA whose anon_vma came through
 * fork does not merge with a new neighbour.
 */
static void forked_target_vma(void **state)
{
    (void)state;
    const struct op ops[] = {
        /*     forked
         * |-----------|-----------|
         * |  faulted  | unfaulted |     (not merged)
         */
        MMAP(1, 5, RW), FAULT(1),
        FORK(),
        FAULT(1), FAULT(2), FAULT(3), FAULT(4), FAULT(5),
        MMAP(6, 5, RW),
        CHECK(" AAAAABBBBB", FLAGS(F_RW, F_RW), ANON(20, 0)),
        END
    };
    RUN(.name = "forked_target_vma", .ops = ops, .dflt = F_RW);
}

/* selftests/mm/merge.c forked_source_vma: nor when it is the one modified. */
static void forked_source_vma(void **state)
{
    (void)state;
    const struct op ops[] = {
        MMAP_NR(1, 5, RW), FAULT(1),
        FORK(),
        FAULT(1), FAULT(2), FAULT(3), FAULT(4), FAULT(5),
        /*   forked RW      RWX
         * |-----------|-----------|
         * |  faulted  | unfaulted |
         */
        MMAP(6, 5, RWX, .arg2 = MAP_NORESERVE),
        CHECK(" AAAAABBBBB", FLAGS(F_RWNR, F_RWXNR)),
        /*  forked RWX      RWX
         * |-----------|-----------|   not merged: ptr was forked
         */
        MPROTECT(1, 5, RWX),
        CHECK(" AAAAABBBBB", FLAGS(F_RWXNR, F_RWXNR)),
        END
    };
    RUN(.name = "forked_source_vma", .ops = ops, .dflt = F_RWNR);
}

/* selftests/mm/merge.c ksm_merge, without the PR_SET_MEMORY_MERGE half. */
static void ksm_merge_plain(void **state)
{
    (void)state;
    const struct op ops[] = {
        /* Two R/W adjacent mappings merge:  |  ptr  |  ptr2  | */
        MMAP(1, 1, RW), MMAP(2, 1, RW),
        CHECK(" AA"),
        /* Unmap the second half of this merged VMA. */
        MUNMAP(2, 1),
        CHECK(" A"),
        /* Made mergeable by madvise, it no longer merges with a plain neighbour. */
        MADVISE(1, 1, MADV_MERGEABLE),
        MMAP(2, 1, RW),
        CHECK(" AB", FLAGS(F_RW | VM_MERGEABLE, F_RW)),
        /* Unmapped altogether and mapped again: merges. */
        MUNMAP(1, 2),
        MMAP(1, 1, RW), MMAP(2, 1, RW),
        CHECK(" AA"),
        END
    };
    RUN(.name = "ksm_merge_plain", .ops = ops, .dflt = F_RW);
}

/* ---------------------------------------------------- further mm/vma.c rules, host-checked */

/* MAP_FIXED over the middle of a VMA: the unmap splits, then the new range
 * merges back with both halves when compatible. */
static void mmap_fixed_over_middle(void **state)
{
    (void)state;
    const struct op ops[] = {
        /* AAAAAAAAA, map ** at 3 with the same protection  ->  AAAAAAAAA */
        MMAP(0, 9, RW),
        MMAP(3, 2, RW),
        CHECK("AAAAAAAAA"),
        /* ... with another protection  ->  AAABBCCCC */
        MMAP(3, 2, RO),
        CHECK("AAABBCCCC", FLAGS(F_RW, F_RO0, F_RW)),
        /* over the tail of A and the head of C: merges with A  ->  AAAAAAACC */
        RESET(),
        MMAP(0, 3, RW), MMAP(4, 3, RO),
        CHECK("AAA BBB", FLAGS(F_RW, F_RO0)),
        MMAP(2, 3, RW),
        CHECK("AAAAABB", FLAGS(F_RW, F_RO0)),
        END
    };
    RUN(.name = "mmap_fixed_over_middle", .ops = ops, .dflt = F_RW);
}

/* One mprotect over several VMAs merges them all. */
static void mprotect_spanning(void **state)
{
    (void)state;
    const struct op ops[] = {
        MMAP(0, 9, RW),
        MPROTECT(3, 3, RO),
        CHECK("AAABBBCCC", FLAGS(F_RW, F_RO0, F_RW)),
        MPROTECT(0, 9, RO),
        CHECK("AAAAAAAAA", FLAGS(F_RO0)),
        MPROTECT(0, 9, RW),
        CHECK("AAAAAAAAA", FLAGS(F_RW)),
        /* Half of A, all of B and half of C. */
        MPROTECT(3, 3, RO),
        MPROTECT(1, 7, RWX),
        CHECK("ABBBBBBBC", FLAGS(F_RW, F_RW | VM_EXEC, F_RW)),
        END
    };
    RUN(.name = "mprotect_spanning", .ops = ops, .dflt = F_RW);
}

/*
 * VM_ACCOUNT and VM_NORESERVE take part in the flag comparison.  An
 * unfaulted private anonymous VMA made read-only is uncharged (mprotect_fixup
 * drops VM_ACCOUNT when there is no anon_vma yet), so it merges with one
 * mapped read-only; made writable again it is charged again.
 */
static void account_flags(void **state)
{
    (void)state;
    const struct op ops[] = {
        /* Mapped read-only next to mapped-writable-then-read-only: the same. */
        MMAP(0, 3, RO), MMAP(3, 3, RW),
        CHECK("AAABBB", FLAGS(F_RO0, F_RW)),
        MPROTECT(3, 3, RO),
        CHECK("AAAAAA", FLAGS(F_RO0)),
        /* Half made writable: charged. */
        MPROTECT(0, 3, RW),
        CHECK("AAABBB", FLAGS(F_RW, F_RO0)),
        MPROTECT(3, 3, RW),
        CHECK("AAAAAA", FLAGS(F_RW)),
        /* MAP_NORESERVE next to an accounted mapping. */
        RESET(),
        MMAP_NR(0, 3, RW), MMAP(3, 3, RW),
        CHECK("AAABBB", FLAGS(F_RWNR, F_RW)),
        /* Made read-only, both lose their difference. */
        MPROTECT(0, 6, RO),
        CHECK("AAABBB", FLAGS(F_RONR, F_RO0)),
        END
    };
    RUN(.name = "account_flags", .ops = ops, .dflt = F_RW);
}

/* Faulted, a VMA made read-only stays charged, and no longer merges with one
 * that was never charged. */
static void account_flags_faulted(void **state)
{
    (void)state;
    const struct op ops[] = {
        MMAP(0, 3, RO), MMAP(3, 3, RW), FAULT(3),
        MPROTECT(3, 3, RO),
        CHECK("AAABBB", FLAGS(F_RO0, F_RO), ANON(0, 4)),
        MPROTECT(0, 3, RW),
        MPROTECT(3, 3, RW),
        CHECK("AAAAAA", FLAGS(F_RW), ANON(4)),
        END
    };
    RUN(.name = "account_flags_faulted", .ops = ops, .dflt = F_RW);
}

/* madvise(MADV_DONTNEED) zaps and never splits. */
static void dontneed_never_splits(void **state)
{
    (void)state;
    const struct op ops[] = {
        MMAP(0, 6, RW),
        MADVISE(2, 2, MADV_DONTNEED),
        CHECK("AAAAAA"),
        END
    };
    RUN(.name = "dontneed_never_splits", .ops = ops, .dflt = F_RW);
}

/*
 * Ranges with a hole: mprotect and mlock change the VMAs before the hole and
 * stop with ENOMEM; madvise goes on past it and returns ENOMEM at the end;
 * munmap does not care.
 */
static void ranges_with_holes(void **state)
{
    (void)state;
    const struct op ops[] = {
        MMAP(0, 3, RW), MMAP(4, 3, RW),
        MPROTECT(1, 5, RO, .ret = -ENOMEM),
        CHECK("ABB CCC", FLAGS(F_RW, F_RO0, F_RW)),
        RESET(), MMAP(0, 3, RW), MMAP(4, 3, RW),
        MLOCK(1, 5, .ret = -ENOMEM),
        CHECK("ABB CCC", FLAGS(F_RW, F_RW | VM_LOCKED, F_RW)),
        RESET(), MMAP(0, 3, RW), MMAP(4, 3, RW),
        MADVISE(1, 5, MADV_DONTDUMP, .ret = -ENOMEM),
        CHECK("ABB CCD", FLAGS(F_RW, F_RW | VM_DONTDUMP, F_RW | VM_DONTDUMP, F_RW)),
        RESET(), MMAP(0, 3, RW), MMAP(4, 3, RW),
        MUNMAP(1, 5),
        CHECK("A     C"),
        END
    };
    RUN(.name = "ranges_with_holes", .ops = ops, .dflt = F_RW);
}

/* File mappings merge only when their offsets are contiguous. */
static void file_pgoff_contiguity(void **state)
{
    (void)state;
    const struct op ops[] = {
        /* offsets 0-1 then 2-3: contiguous */
        MMAP_FILE(0, 2, RW, 0, .arg2 = MAP_SHARED), MMAP_FILE(2, 2, RW, 2, .arg2 = MAP_SHARED),
        CHECK("AAAA", PGOFF(0)),
        /* offset 10 after offset 3: not contiguous */
        MMAP_FILE(4, 2, RW, 10, .arg2 = MAP_SHARED),
        CHECK("AAAABB", PGOFF(0, 10)),
        /* offset 12 after offset 11: contiguous */
        MMAP_FILE(6, 2, RW, 12, .arg2 = MAP_SHARED),
        CHECK("AAAABBBB", PGOFF(0, 10)),
        /* offset 9 before offset 10: contiguous, merges both ways */
        MUNMAP(0, 4),
        MMAP_FILE(3, 1, RW, 9, .arg2 = MAP_SHARED),
        CHECK("   BBBBB", PGOFF(9)),
        /* an anonymous neighbour, and a private mapping of the same file */
        MMAP(8, 2, RW),
        MMAP_FILE(1, 2, RW, 7, .arg2 = MAP_PRIVATE),
        CHECK(" CCBBBBBAA", FLAGS(F_RW, F_SH, F_RW), PGOFF(7, 9, -1)),
        END
    };
    RUN(.name = "file_pgoff_contiguity", .ops = ops, .dflt = F_SH);
}

/*
 * mlockall(MCL_FUTURE) puts VM_LOCKED in the mm's default flags: new
 * mappings do not merge with older unlocked neighbours; munlockall clears
 * every VMA's lock flags through the modify path, so they merge.
 */
static void mlockall_future(void **state)
{
    (void)state;
    const struct op ops[] = {
        MMAP(0, 2, RW),
        MLOCKALL(MCL_FUTURE | MCL_ONFAULT),
        MMAP(2, 2, RW),
        CHECK("AABB", FLAGS(F_RW, F_RW | VM_LOCKED | VM_LOCKONFAULT)),
        MMAP(4, 1, RW),
        CHECK("AABBB", FLAGS(F_RW, F_RW | VM_LOCKED | VM_LOCKONFAULT)),
        MUNLOCKALL(),
        CHECK("AAAAA"),
        END
    };
    RUN(.name = "mlockall_future", .ops = ops, .dflt = F_RW);
}

/*
 * Shared anonymous mappings: each mmap is its own shmem object (pgoff 0), so
 * neighbours never merge; the pieces of one mapping merge back after a split.
 */
static void shared_anon(void **state)
{
    (void)state;
    const struct op ops[] = {
        MMAP_SHARED(0, 2, RW), MMAP_SHARED(2, 2, RW),
        CHECK("AABB", FLAGS(F_SH, F_SH), PGOFF(0, 0)),
        MPROTECT(1, 2, RO),
        CHECK("ABCD", FLAGS(F_SH, F_SHRO, F_SHRO, F_SH), PGOFF(0, 1, 0, 1)),
        MPROTECT(1, 2, RW),
        CHECK("AABB", FLAGS(F_SH, F_SH), PGOFF(0, 0)),
        END
    };
    RUN(.name = "shared_anon", .ops = ops, .dflt = F_SH);
}

/* PROT_NONE is a protection like any other: split, then merged back. */
static void mprotect_prot_none(void **state)
{
    (void)state;
    const struct op ops[] = {
        MMAP(0, 4, RW),
        MPROTECT(1, 2, PROT_NONE),
        CHECK("ABBC", FLAGS(F_RW, F_MAY, F_RW)),
        MPROTECT(1, 2, RW),
        CHECK("AAAA"),
        END
    };
    RUN(.name = "mprotect_prot_none", .ops = ops, .dflt = F_RW);
}

/* One madvise over several VMAs merges what it makes equal. */
static void madvise_spanning(void **state)
{
    (void)state;
    const struct op ops[] = {
        MMAP(0, 6, RW),
        MADVISE(2, 2, MADV_DONTDUMP),
        CHECK("AABBCC", FLAGS(F_RW, F_RW | VM_DONTDUMP, F_RW)),
        MADVISE(0, 6, MADV_DONTDUMP),
        CHECK("AAAAAA", FLAGS(F_RW | VM_DONTDUMP)),
        MADVISE(1, 4, MADV_DODUMP),
        CHECK("ABBBBC", FLAGS(F_RW | VM_DONTDUMP, F_RW, F_RW | VM_DONTDUMP)),
        MADVISE(0, 6, MADV_DODUMP),
        CHECK("AAAAAA"),
        END
    };
    RUN(.name = "madvise_spanning", .ops = ops, .dflt = F_RW);
}

/*
 * A VMA with vm_ops: a split calls open on the new piece (__split_vma), an
 * unmap calls close, a merge never removes a VMA with close, so the pieces
 * of a split never merge back.  No host equivalent; mm/vma.c rules.
 */
static void split_with_close(void **state)
{
    (void)state;
    const struct op ops[] = {
        DEV_SET(DEV_CLOSE_HOOK, 1),
        MMAP_DEV(0, 4, RW),
        /*  <>
         * AAAA  ->  ABCC: two splits, two opens */
        MPROTECT(1, 1, RO),
        CHECK("ABCC", FLAGS(F_SH, F_SHRO, F_SH)),
        DEV_EXPECT(DEV_OPENS, 2), DEV_EXPECT(DEV_CLOSES, 0),
        /* back to RW: B would be removed by the merge, which is refused */
        MPROTECT(1, 1, RW),
        CHECK("ABCC", FLAGS(F_SH, F_SH, F_SH)),
        DEV_EXPECT(DEV_OPENS, 2), DEV_EXPECT(DEV_CLOSES, 0),
        MUNMAP(1, 1),
        CHECK("A CC", FLAGS(F_SH, F_SH)),
        DEV_EXPECT(DEV_CLOSES, 1),
        MUNMAP(0, 4),
        CHECK(""),
        DEV_EXPECT(DEV_CLOSES, 3), DEV_EXPECT(DEV_MMAP_CALLS, 1),
        END
    };
    RUN(.name = "split_with_close", .ops = ops, .no_host = true, .dev = &close_dev, .mask = CLOSE_MASK);
}

/*
 * The anon_vma_name is part of is_mergeable_vma: equal names merge,
 * different names (or named and unnamed) do not.  No host check: this host
 * lacks CONFIG_ANON_VMA_NAME (PR_SET_VMA gives EINVAL); mm/vma.c rules.
 */
static void anon_name(void **state)
{
    (void)state;
    const struct op ops[] = {
        MMAP(0, 6, RW),
        ANON_NAME(2, 2, "x"),
        CHECK("AABBCC"),
        ANON_NAME(0, 2, "x"),
        CHECK("AAAABB"),
        ANON_NAME(4, 2, "y"),
        CHECK("AAAABB"),
        ANON_NAME(4, 2, "x"),
        CHECK("AAAAAA"),
        /* a new unnamed neighbour */
        MMAP(6, 2, RW),
        CHECK("AAAAAABB"),
        /* all unnamed again */
        ANON_NAME(0, 8, NULL),
        CHECK("AAAAAAAA"),
        END
    };
    RUN(.name = "anon_name", .ops = ops, .dflt = F_RW, .no_host = true);
}

/* ================================================================ setup */

/* What flags does a fresh mapping of this host carry?  Soft-dirty or not. */
static vm_flags_t host_new_vma_flags(void)
{
    static struct vx v[MAXV];
    static char text[1 << 21];
    void *p = mmap((void *)WIN, PG, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    vm_flags_t f = 0;
    int fd, n;
    size_t len = 0;
    ssize_t r;

    if (p == MAP_FAILED)
        return 0;
    fd = open("/proc/self/smaps", O_RDONLY);
    while (fd >= 0 && (r = read(fd, text + len, sizeof(text) - 1 - len)) > 0)
        len += (size_t)r;
    if (fd >= 0)
        close(fd);
    n = parse_smaps(text, len, v, MAXV, NULL, 0);
    if (n == 1)
        f = v[0].flags;
    munmap(p, PG);
    return f;
}

static int group_setup(void **state)
{
    (void)state;
    int r = mm_config_from_host(&g_cfg);
    vm_flags_t hf = host_new_vma_flags();
    vm_flags_t cfg_sd = (g_cfg.flags & MM_CONFIG_NO_SOFT_DIRTY) ? 0 : VM_SOFTDIRTY;

    if (r)
        print_message("mm_config_from_host: %d\n", r);
    if (!hf) {
        print_message("the window %#lx is not free in this process\n", WIN);
        return -1;
    }
    g_sd = hf & VM_SOFTDIRTY;
    if (cfg_sd != g_sd) {
        print_message("BUG: mm_config_from_host says soft-dirty %s, the host's new VMAs %s \"sd\"; "
                      "following the host\n", cfg_sd ? "on" : "off", g_sd ? "show" : "lack");
        if (g_sd)
            g_cfg.flags &= ~MM_CONFIG_NO_SOFT_DIRTY;
        else
            g_cfg.flags |= MM_CONFIG_NO_SOFT_DIRTY;
    }

    /* Which modifiers does the host accept (CONFIG_KSM, THP, ...)? */
    void *p = mmap(NULL, 2 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    for (size_t i = 0; i < NR_MODIFIERS; i++) {
        struct modifier *m = &modifiers[i];
        int e = 0;

        if (m->kind == OP_MADVISE)
            e = madvise(p, PG, m->arg);
        else if (m->kind == OP_MLOCK)
            e = mlock2(p, PG, (unsigned)m->arg);
        m->host_ok = e == 0;
        if (!m->host_ok)
            print_message("host refuses %s (%s): its cases run on vmarea only\n", m->name, strerror(errno));
        if (m->kind == OP_MADVISE && m->undo_kind == OP_MADVISE)
            madvise(p, PG, m->undo_arg);
        munlock(p, 2 * PG);
    }
    munmap(p, 2 * PG);

    /* A read-write host file for file_pgoff_contiguity; a memfd if /tmp
     * cannot give an unnamed one. */
    g_fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
    if (g_fd < 0)
        g_fd = memfd_create("test_merge", 0);
    if (g_fd < 0 || ftruncate(g_fd, 64 * PG))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (g_fd >= 0)
        close(g_fd);
    return 0;
}

#define T(fn) { #fn, fn, NULL, NULL, NULL }

int main(void)
{
    static const struct CMUnitTest fixed_head[] = {
        T(simple_merge), T(simple_expand), T(simple_shrink), T(merge_new), T(merge_new_faulted),
    };
    static const struct CMUnitTest fixed_tail[] = {
        T(merge_with_close), T(merge_new_with_close), T(merge_new_close_ops), T(merge_existing_with_close),
        T(anon_vma_non_mergeable), T(dup_anon_vma), T(vmi_prealloc_fail),
        T(expand_only_mode), T(brk_below_start_brk), T(mmap_region_basic),
        T(forked_target_vma), T(forked_source_vma), T(ksm_merge_plain),
        T(mmap_fixed_over_middle), T(mprotect_spanning), T(account_flags), T(account_flags_faulted),
        T(dontneed_never_splits), T(ranges_with_holes), T(file_pgoff_contiguity),
        T(mlockall_future), T(shared_anon), T(mprotect_prot_none), T(madvise_spanning),
        T(split_with_close), T(anon_name),
    };
    size_t nhead = sizeof(fixed_head) / sizeof(fixed_head[0]);
    size_t ntail = sizeof(fixed_tail) / sizeof(fixed_tail[0]);
    size_t nmp = sizeof(mprotect_cases) / sizeof(mprotect_cases[0]);
    size_t max = nhead + ntail + 2 * NR_MODIFIERS + 4 + nmp;
    struct CMUnitTest *tests = calloc(max, sizeof(*tests));
    size_t n = 0;

    if (!tests)
        return 1;
    for (size_t i = 0; i < nhead; i++)
        tests[n++] = fixed_head[i];
    for (size_t i = 0; i < NR_MODIFIERS; i++) {
        char *name;

        if (asprintf(&name, "simple_modify/%s", modifiers[i].name) < 0)
            return 1;
        tests[n++] = (struct CMUnitTest){ name, simple_modify, NULL, NULL, &modifiers[i] };
    }
    for (size_t i = 0; i < NR_MODIFIERS; i++) {
        char *name;

        if (asprintf(&name, "merge_existing/%s", modifiers[i].name) < 0)
            return 1;
        tests[n++] = (struct CMUnitTest){ name, merge_existing, NULL, NULL, &modifiers[i] };
    }
    static const char *const special_names[] = {
        "vma_merge_special_flags/control", "vma_merge_special_flags/VM_IO",
        "vma_merge_special_flags/VM_DONTEXPAND", "vma_merge_special_flags/VM_MIXEDMAP",
    };
    for (int s = DEV_PLAIN; s <= DEV_MIXEDMAP; s++)
        tests[n++] = (struct CMUnitTest){ special_names[s], merge_special_flags, NULL, NULL, (void *)(intptr_t)s };
    for (size_t i = 0; i < nmp; i++)
        tests[n++] = (struct CMUnitTest){ mprotect_cases[i].name, selftest_mprotect, NULL, NULL,
                                          (void *)&mprotect_cases[i] };
    for (size_t i = 0; i < ntail; i++)
        tests[n++] = fixed_tail[i];

    return _cmocka_run_group_tests("merge", tests, n, group_setup, group_teardown);
}

/* SPDX-License-Identifier: MIT */
/*
 * test_task_mmu — the maps/smaps text, byte for byte against the host kernel.
 *
 * Three layers:
 *  1. The pieces alone (VmFlags text, names, THP rule) with hand-made VMAs.
 *  2. The formatter against a real process: a forked child maps a zoo of
 *     VMAs at fixed addresses and sends back its whole /proc/self/smaps; every
 *     entry is parsed back into a hand-made struct vma (flags from VmFlags,
 *     file, name, layout for [heap]/[stack]) and printed again by vma_show_smap.
 *     The text must come out identical.
 *  3. The library end to end: the same operations through mm_mmap /
 *     mm_mprotect / mm_madvise ... and, in a child, through the real system
 *     calls; mm_show_smaps must equal the child's smaps for the window.
 *
 * Everywhere, a memory counter (Rss, Pss, ...) may differ only where the host
 * counts pages (the child touched them, or MAP_LOCKED populated them) and we
 * print 0: vmarea has no page tables yet.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "task_mmu.h"

/* A window no test process uses; the child maps here with MAP_FIXED.  It
 * lies above AddressSanitizer's shadow (which ends at 0x10007fff7fff), so
 * the test also runs in VMAREA_SANITIZE builds. */
#define WIN      0x200000000000UL
#define WIN_SIZE 0x10000000UL
#define MiB      (1UL << 20)
#define KiB      (1UL << 10)

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

/* ------------------------------------------------------------ utilities */

static char *show_to_string(void (*show)(const struct vma *, FILE *), const struct vma *vma)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    show(vma, f);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static struct mm *fake_mm(enum mm_thp_mode thp, unsigned int cfg_flags)
{
    struct mm *mm = calloc(1, sizeof(*mm));

    assert_non_null(mm);
    mm->cfg.thp = thp;
    mm->cfg.flags = cfg_flags;
    return mm;
}

static struct vma anon_vma_at(struct mm *mm, unsigned long start, unsigned long end, vm_flags_t flags)
{
    struct vma v;

    memset(&v, 0, sizeof(v));
    v.vm_start = start;
    v.vm_end = end;
    v.vm_mm = mm;
    v.vm_flags = flags;
    v.vm_pgoff = start >> PAGE_SHIFT;   /* what Linux gives anonymous VMAs */
    return v;
}

static struct anon_name *make_anon_name(const char *s)
{
    struct anon_name *n = malloc(sizeof(*n) + strlen(s) + 1);

    assert_non_null(n);
    atomic_init(&n->refcount, 1);
    strcpy(n->name, s);
    return n;
}

#define RW_ANON (VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT)

/* ----------------------------------------------------- 1. pieces alone */

static void test_flags_text(void **state)
{
    char buf[VMA_FLAGS_TEXT_MAX];
    size_t n;

    (void)state;
    n = vma_flags_text(RW_ANON, true, buf, sizeof(buf));
    assert_string_equal(buf, "rd wr mr mw me ac ");
    assert_int_equal(n, strlen(buf));

    n = vma_flags_text(0, true, buf, sizeof(buf));
    assert_string_equal(buf, "");
    assert_int_equal(n, 0);

    /* every named low bit, in bit order */
    vma_flags_text(0xffffffffUL, true, buf, sizeof(buf));
    assert_string_equal(buf, "rd wr ex sh mr mw me ms gd um pf gu uw lo io sr rr dc de lf ac nr ht sf "
                             "ar wf dd sd mm hg nh mg ");
    /* bit 43 has no code: "??", as Linux prints for an unknown bit */
    vma_flags_text(VM_READ | (1UL << 43), true, buf, sizeof(buf));
    assert_string_equal(buf, "rd ?? ");
    /* soft-dirty hidden when the kernel has none */
    vma_flags_text(VM_READ | VM_SOFTDIRTY, false, buf, sizeof(buf));
    assert_string_equal(buf, "rd ");
    /* protection-key bits print nothing; the named high bits in order */
    vma_flags_text(VM_READ | (0xfUL << 32) | (1UL << 37) | (1UL << 40) | (1UL << 41) | (1UL << 42),
                   true, buf, sizeof(buf));
    assert_string_equal(buf, "rd ss dp ui sl ");
    vma_flags_text((1UL << 36) | (1UL << 63), true, buf, sizeof(buf));
    assert_string_equal(buf, "?? ?? ");

    /* truncation behaves as snprintf */
    n = vma_flags_text(RW_ANON, true, buf, 5);
    assert_string_equal(buf, "rd w");
    assert_int_equal(n, 18);
    n = vma_flags_text(RW_ANON, true, NULL, 0);
    assert_int_equal(n, 18);
    /* the worst case fits the advertised maximum */
    n = vma_flags_text(~0UL, true, buf, sizeof(buf));
    assert_true(n < sizeof(buf));
}

static const char *ops_name_hook(const struct vma_ref *ref)
{
    return to_vma(ref)->vm_private_data;
}

static const struct vm_operations named_ops = { .name = ops_name_hook };

static void test_names(void **state)
{
    struct mm *mm = fake_mm(MM_THP_MADVISE, 0);
    struct vma v;
    char *s;

    (void)state;
    mm->layout.start_brk = 0x600000;
    mm->layout.brk = 0x621000;
    mm->layout.start_stack = 0x7ffd428d3ae0;

    /* anonymous without a name: the line ends right after "0 " */
    v = anon_vma_at(mm, 0x100000, 0x101000, RW_ANON);
    s = show_to_string(vma_show_map, &v);
    assert_string_equal(s, "00100000-00101000 rw-p 00000000 00:00 0 \n");
    assert_null(vma_special_name(&v));
    free(s);

    /* [heap]: overlaps [start_brk, brk) */
    v = anon_vma_at(mm, 0x600000, 0x621000, RW_ANON);
    assert_string_equal(vma_special_name(&v), "[heap]");
    s = show_to_string(vma_show_map, &v);
    assert_string_equal(s, "00600000-00621000 rw-p 00000000 00:00 0"
                           "                                  [heap]\n");
    free(s);
    /* strictly: ending at start_brk or starting at brk is not the heap */
    v = anon_vma_at(mm, 0x5ff000, 0x600000, RW_ANON);
    assert_null(vma_special_name(&v));
    v = anon_vma_at(mm, 0x621000, 0x622000, RW_ANON);
    assert_null(vma_special_name(&v));
    /* and nothing is the heap while brk == start_brk */
    mm->layout.brk = mm->layout.start_brk;
    v = anon_vma_at(mm, 0x600000, 0x601000, RW_ANON);
    assert_null(vma_special_name(&v));
    mm->layout.brk = 0x621000;

    /* [stack]: contains start_stack, inclusive at both ends */
    v = anon_vma_at(mm, 0x7ffd428b4000, 0x7ffd428d5000, RW_ANON | VM_GROWSDOWN);
    assert_string_equal(vma_special_name(&v), "[stack]");
    s = show_to_string(vma_show_map, &v);
    assert_string_equal(s, "7ffd428b4000-7ffd428d5000 rw-p 00000000 00:00 0"
                           "                          [stack]\n");
    free(s);
    mm->layout.start_stack = 0x7ffd428d5000;
    assert_string_equal(vma_special_name(&v), "[stack]");
    mm->layout.start_stack = 0x7ffd428b4000;
    assert_string_equal(vma_special_name(&v), "[stack]");

    /* [anon:NAME] */
    v = anon_vma_at(mm, 0x100000, 0x101000, RW_ANON);
    v.anon_name = make_anon_name("my buffer");
    s = show_to_string(vma_show_map, &v);
    assert_string_equal(s, "00100000-00101000 rw-p 00000000 00:00 0"
                           "                                  [anon:my buffer]\n");
    assert_null(vma_special_name(&v));
    free(s);
    /* the heap wins over an anon name, as in Linux's get_vma_name() */
    v.vm_start = 0x600000;
    v.vm_end = 0x601000;
    s = show_to_string(vma_show_map, &v);
    assert_non_null(strstr(s, " [heap]\n"));
    free(s);
    free(v.anon_name);

    /* an ops name hook wins over heap and stack; NULL from it falls through */
    v = anon_vma_at(mm, 0x600000, 0x601000, VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC);
    v.vm_ops = &named_ops;
    v.vm_private_data = "[vdso]";
    assert_string_equal(vma_special_name(&v), "[vdso]");
    s = show_to_string(vma_show_map, &v);
    assert_string_equal(s, "00600000-00601000 r-xp 00000000 00:00 0"
                           "                                  [vdso]\n");
    free(s);
    v.vm_private_data = NULL;
    assert_string_equal(vma_special_name(&v), "[heap]");

    /* a file: its device, inode, offset, and '\n' escaped in the path */
    struct vm_file f;
    memset(&f, 0, sizeof(f));
    f.fd = -1;
    f.name = "/tmp/a b\nc";
    f.dev = makedev(0xfe, 0);
    f.ino = 861;
    v = anon_vma_at(mm, 0x600000, 0x602000, VM_READ | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC);
    v.vm_file = &f;
    v.vm_pgoff = 5;
    assert_null(vma_special_name(&v));   /* a file VMA is never [heap] */
    s = show_to_string(vma_show_map, &v);
    assert_string_equal(s, "00600000-00602000 r--p 00005000 fe:00 861"
                           "                                /tmp/a b\\012c\n");
    free(s);
    /* a big minor number and a 20-bit one */
    f.dev = makedev(8, 0x12345);
    s = show_to_string(vma_show_map, &v);
    assert_non_null(strstr(s, " 08:12345 861 "));
    free(s);
    /* an anon name on a file VMA (shmem) */
    v.anon_name = make_anon_name("shm");
    f.dev = makedev(0, 1);
    s = show_to_string(vma_show_map, &v);
    assert_non_null(strstr(s, "00:01 861                                [anon_shmem:shm]\n"));
    free(s);
    free(v.anon_name);

    /* shared anonymous memory without a file is shown as Linux's shmem file */
    v = anon_vma_at(mm, 0x100000, 0x102000, VM_READ | VM_SHARED | VM_MAYREAD | VM_MAYWRITE |
                                                VM_MAYEXEC | VM_MAYSHARE);
    v.vm_pgoff = 1;
    s = show_to_string(vma_show_map, &v);
    assert_string_equal(s, "00100000-00102000 r--s 00001000 00:01 0"
                           "                                  /dev/zero (deleted)\n");
    free(s);

    /* a header longer than the pad width: the name follows the space */
    v = anon_vma_at(mm, 0xffffffffff600000UL, 0xffffffffff601000UL, VM_EXEC);
    v.vm_file = &f;
    v.vm_pgoff = 0xfffffffffUL;
    f.dev = makedev(0xfff, 0xfffff);
    f.ino = 18446744073709551615UL;
    f.name = "/x";
    s = show_to_string(vma_show_map, &v);
    assert_string_equal(s, "ffffffffff600000-ffffffffff601000 --xp fffffffff000 fff:fffff "
                           "18446744073709551615  /x\n");
    free(s);
    free(mm);
}

static void test_thp_rule(void **state)
{
    struct mm *mm = fake_mm(MM_THP_MADVISE, 0);
    struct vma v;
    struct vm_file f;

    (void)state;
    memset(&f, 0, sizeof(f));
    f.fd = -1;
    /* madvise mode: needs VM_HUGEPAGE and an aligned 2 MiB inside */
    v = anon_vma_at(mm, WIN, WIN + 4 * MiB, RW_ANON);
    assert_false(vma_thp_eligible(&v));
    v.vm_flags |= VM_HUGEPAGE;
    assert_true(vma_thp_eligible(&v));
    v.vm_end = WIN + 2 * MiB;
    assert_true(vma_thp_eligible(&v));
    v.vm_end = WIN + 2 * MiB - PAGE_SIZE;
    assert_false(vma_thp_eligible(&v));
    v.vm_start = WIN + PAGE_SIZE;
    v.vm_end = WIN + 2 * MiB + PAGE_SIZE;
    assert_false(vma_thp_eligible(&v));     /* 2 MiB long, not aligned */
    v.vm_end = WIN + 4 * MiB;
    assert_true(vma_thp_eligible(&v));
    v.vm_flags = VM_HUGEPAGE | VM_MAYREAD;  /* PROT_NONE still eligible */
    assert_true(vma_thp_eligible(&v));
    v.vm_flags |= VM_NOHUGEPAGE;
    assert_false(vma_thp_eligible(&v));
    v.vm_flags = RW_ANON | VM_HUGEPAGE | VM_IO;   /* smaps skips the special test */
    assert_true(vma_thp_eligible(&v));
    v.vm_flags = RW_ANON | VM_HUGEPAGE;
    v.vm_file = &f;                         /* files never (no huge_fault) */
    assert_false(vma_thp_eligible(&v));
    v.vm_file = NULL;
    v.vm_ops = &named_ops;                  /* not anonymous in Linux's sense */
    assert_false(vma_thp_eligible(&v));
    v.vm_ops = NULL;
    v.vm_flags |= VM_SHARED | VM_MAYSHARE;  /* shmem: shmem_enabled=never */
    assert_false(vma_thp_eligible(&v));

    /* always mode: everything big enough unless VM_NOHUGEPAGE */
    mm->cfg.thp = MM_THP_ALWAYS;
    v = anon_vma_at(mm, WIN, WIN + 4 * MiB, RW_ANON);
    assert_true(vma_thp_eligible(&v));
    v.vm_flags |= VM_NOHUGEPAGE;
    assert_false(vma_thp_eligible(&v));
    /* never mode: nothing, even with VM_HUGEPAGE */
    mm->cfg.thp = MM_THP_NEVER;
    v = anon_vma_at(mm, WIN, WIN + 4 * MiB, RW_ANON | VM_HUGEPAGE);
    assert_false(vma_thp_eligible(&v));
    /* the top of the address space does not wrap */
    mm->cfg.thp = MM_THP_ALWAYS;
    v = anon_vma_at(mm, 0x1000, 0x3000, RW_ANON);
    assert_false(vma_thp_eligible(&v));
    free(mm);
}

static void test_smap_layout(void **state)
{
    struct mm *mm = fake_mm(MM_THP_MADVISE, MM_CONFIG_NO_SOFT_DIRTY);
    struct vma v = anon_vma_at(mm, WIN, WIN + 4 * MiB, RW_ANON | VM_HUGEPAGE | VM_SOFTDIRTY);
    char *s;

    (void)state;
    s = show_to_string(vma_show_smap, &v);
    assert_string_equal(s,
        "200000000000-200000400000 rw-p 00000000 00:00 0 \n"
        "Size:               4096 kB\n"
        "KernelPageSize:        4 kB\n"
        "MMUPageSize:           4 kB\n"
        "Rss:                   0 kB\n"
        "Pss:                   0 kB\n"
        "Pss_Dirty:             0 kB\n"
        "Shared_Clean:          0 kB\n"
        "Shared_Dirty:          0 kB\n"
        "Private_Clean:         0 kB\n"
        "Private_Dirty:         0 kB\n"
        "Referenced:            0 kB\n"
        "Anonymous:             0 kB\n"
        "KSM:                   0 kB\n"
        "LazyFree:              0 kB\n"
        "AnonHugePages:         0 kB\n"
        "ShmemPmdMapped:        0 kB\n"
        "FilePmdMapped:         0 kB\n"
        "Shared_Hugetlb:        0 kB\n"
        "Private_Hugetlb:       0 kB\n"
        "Swap:                  0 kB\n"
        "SwapPss:               0 kB\n"
        "Locked:                0 kB\n"
        "THPeligible:           1\n"
        "ProtectionKey:         0\n"
        "VmFlags: rd wr mr mw me ac hg \n");
    free(s);
    /* a size wider than 8 digits just grows, as seq_put_decimal_ull_width */
    v.vm_end = WIN + 0x2000000000UL;
    mm->cfg.flags = 0;
    s = show_to_string(vma_show_smap, &v);
    assert_non_null(strstr(s, "\nSize:           134217728 kB\n"));
    assert_non_null(strstr(s, "\nVmFlags: rd wr mr mw me ac sd hg \n"));
    free(s);
    free(mm);
}

/* --------------------------------------------- the host's smaps, parsed */

/* What a child sends back: its layout, then its whole /proc/self/smaps. */
struct host_dump {
    unsigned long start_brk, brk, start_stack;
    char *smaps;
    size_t len;
};

static const char *const counter_labels[] = {
    "Rss:", "Pss:", "Pss_Dirty:", "Shared_Clean:", "Shared_Dirty:", "Private_Clean:",
    "Private_Dirty:", "Referenced:", "Anonymous:", "KSM:", "LazyFree:", "AnonHugePages:",
    "ShmemPmdMapped:", "FilePmdMapped:", "Shared_Hugetlb:", "Private_Hugetlb:", "Swap:",
    "SwapPss:", "Locked:",
};

static bool is_header(const char *line)
{
    unsigned long s, e;
    char perms[5];
    int n = 0;

    return sscanf(line, "%lx-%lx %4s %n", &s, &e, perms, &n) == 3 && n > 0 &&
           strlen(perms) == 4 && (perms[3] == 'p' || perms[3] == 's');
}

/* Read the smaps of the calling process without malloc, so that reading
 * it does not move brk or change the heap it describes. */
static size_t read_own_smaps(char *buf, size_t size)
{
    int fd = open("/proc/self/smaps", O_RDONLY);
    size_t len = 0;
    ssize_t r;

    if (fd < 0)
        return 0;
    while (len + 1 < size && (r = read(fd, buf + len, size - len - 1)) > 0)
        len += (size_t)r;
    close(fd);
    buf[len] = '\0';
    return len;
}

static bool write_all(int fd, const void *p, size_t len)
{
    const char *c = p;

    while (len) {
        ssize_t w = write(fd, c, len);

        if (w <= 0)
            return false;
        c += w;
        len -= (size_t)w;
    }
    return true;
}

static unsigned long stat_field(const char *stat, int field)
{
    const char *p = strrchr(stat, ')');
    int f = 2;

    if (!p)
        return 0;
    p++;
    while (*p && f < field) {
        while (*p == ' ')
            p++;
        f++;
        if (f == field)
            return strtoul(p, NULL, 10);
        while (*p && *p != ' ')
            p++;
    }
    return 0;
}

/*
 * Fork; the child runs setup(arg) (mmap etc. with real system calls), then
 * sends its layout and smaps back.  Nothing in the child may malloc after
 * setup: the smaps buffer is mapped before.
 */
static void host_run(void (*setup)(void *), void *arg, struct host_dump *out)
{
    int pfd[2];
    pid_t pid;
    FILE *in;
    int status;

    assert_int_equal(pipe(pfd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        size_t size = 4 * MiB, len;
        char *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        char stat[1024], head[256];
        int fd, n;

        /* A crash must end the child, not return into the test runner. */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        signal(SIGILL, SIG_DFL);
        signal(SIGFPE, SIG_DFL);
        signal(SIGABRT, SIG_DFL);
        close(pfd[0]);
        if (buf == MAP_FAILED)
            _exit(2);
        memset(buf, 0, size);
        setup(arg);
        fd = open("/proc/self/stat", O_RDONLY);
        n = fd >= 0 ? (int)read(fd, stat, sizeof(stat) - 1) : -1;
        if (n <= 0)
            _exit(3);
        stat[n] = '\0';
        close(fd);
        n = snprintf(head, sizeof(head), "%lu %lu %lu\n", stat_field(stat, 47),
                     (unsigned long)syscall(SYS_brk, 0), stat_field(stat, 28));
        len = read_own_smaps(buf, size);
        if (!write_all(pfd[1], head, (size_t)n) || !write_all(pfd[1], buf, len))
            _exit(4);
        _exit(0);
    }
    close(pfd[1]);
    in = fdopen(pfd[0], "r");
    assert_non_null(in);
    assert_int_equal(fscanf(in, "%lu %lu %lu\n", &out->start_brk, &out->brk, &out->start_stack), 3);
    {
        char *buf = NULL;
        size_t cap = 0, len = 0, r;

        do {
            if (cap - len < 65536) {
                cap = cap ? 2 * cap : 1 << 20;
                buf = realloc(buf, cap);
                assert_non_null(buf);
            }
            r = fread(buf + len, 1, cap - len - 1, in);
            len += r;
        } while (r > 0);
        buf[len] = '\0';
        out->smaps = buf;
        out->len = len;
    }
    fclose(in);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* One entry of an smaps text: [text, text + len), starting at a header. */
struct entry {
    const char *text;
    size_t len;
    unsigned long start, end;
};

/* Split smaps text into entries; returns how many (at most max). */
static size_t split_entries(const char *s, struct entry *e, size_t max)
{
    size_t n = 0;
    const char *line = s;

    while (*line) {
        const char *nl = strchr(line, '\n');
        const char *next = nl ? nl + 1 : line + strlen(line);

        if (is_header(line)) {
            assert_true(n < max);
            e[n].text = line;
            sscanf(line, "%lx-%lx", &e[n].start, &e[n].end);
            n++;
        }
        if (n)
            e[n - 1].len = (size_t)(next - e[n - 1].text);
        line = next;
    }
    return n;
}

static bool is_counter_line(const char *line, size_t len, const char **label)
{
    for (size_t i = 0; i < sizeof(counter_labels) / sizeof(counter_labels[0]); i++) {
        size_t l = strlen(counter_labels[i]);

        if (len > l && !strncmp(line, counter_labels[i], l)) {
            *label = counter_labels[i];
            return true;
        }
    }
    return false;
}

/*
 * Compare an entry we printed with the host's, line by line.  A memory
 * counter may be nonzero on the host where ours is 0 (pages the host has and
 * vmarea does not model yet); any other difference fails, printing both.
 * With mask_shmem_ino, the inode of a 00:01 (shmem) header is not compared:
 * Linux numbers shmem inodes from a global counter.
 */
static void compare_entry(const char *ours, size_t ours_len, const char *host, size_t host_len,
                          bool mask_shmem_ino)
{
    const char *a = ours, *b = host;
    const char *ae = ours + ours_len, *be = host + host_len;
    bool first = true;

    while (a < ae && b < be) {
        const char *an = memchr(a, '\n', (size_t)(ae - a));
        const char *bn = memchr(b, '\n', (size_t)(be - b));
        size_t al, bl;
        const char *la, *lb;

        an = an ? an + 1 : ae;
        bn = bn ? bn + 1 : be;
        al = (size_t)(an - a);
        bl = (size_t)(bn - b);
        if (!(al == bl && !memcmp(a, b, al))) {
            bool ok = false;

            if (is_counter_line(a, al, &la) && is_counter_line(b, bl, &lb) && la == lb) {
                unsigned long va = strtoul(a + strlen(la), NULL, 10);

                ok = va == 0 && al == bl;
            } else if (first && mask_shmem_ino) {
                /* compare the header with both inode fields blanked */
                char ha[512], hb[512];
                unsigned maj, min;
                unsigned long ia, ib;
                int pa = 0, pb = 0, qa = 0, qb = 0;

                if (al < sizeof(ha) && bl < sizeof(hb) &&
                    sscanf(a, "%*s %*s %*s %x:%x %n%lu%n", &maj, &min, &pa, &ia, &qa) == 3 &&
                    sscanf(b, "%*s %*s %*s %x:%x %n%lu%n", &maj, &min, &pb, &ib, &qb) == 3 &&
                    maj == 0 && min == 1) {
                    /* the name column moves with the inode's width; strip
                     * the padding too */
                    const char *ra = a + qa, *rb = b + qb;

                    while (*ra == ' ')
                        ra++;
                    while (*rb == ' ')
                        rb++;
                    ok = pa == pb && !memcmp(a, b, (size_t)pa) &&
                         (size_t)(an - ra) == (size_t)(bn - rb) && !memcmp(ra, rb, (size_t)(an - ra));
                }
            }
            if (!ok) {
                print_error("line differs\n ours: %.*s host: %.*s", (int)al, a, (int)bl, b);
                print_error("--- our entry:\n%.*s--- host entry:\n%.*s", (int)ours_len, ours,
                            (int)host_len, host);
                fail();
            }
        }
        a = an;
        b = bn;
        first = false;
    }
    if (a != ae || b != be) {
        print_error("--- our entry:\n%.*s--- host entry:\n%.*s", (int)ours_len, ours,
                    (int)host_len, host);
        fail_msg("entries have different numbers of lines");
    }
}

/* ---------------------------------------- 2. the formatter vs the host */

/* VmFlags codes back to bits: the test's own copy of Linux's table. */
static const struct { const char code[3]; unsigned int bit; } flag_codes[] = {
    {"rd", 0}, {"wr", 1}, {"ex", 2}, {"sh", 3}, {"mr", 4}, {"mw", 5}, {"me", 6}, {"ms", 7},
    {"gd", 8}, {"um", 9}, {"pf", 10}, {"uw", 12}, {"lo", 13}, {"io", 14}, {"sr", 15},
    {"rr", 16}, {"dc", 17}, {"de", 18}, {"lf", 19}, {"ac", 20}, {"nr", 21}, {"ht", 22},
    {"sf", 23}, {"ar", 24}, {"wf", 25}, {"dd", 26}, {"sd", 27}, {"mm", 28}, {"hg", 29},
    {"nh", 30}, {"mg", 31}, {"ss", 37}, {"dp", 40}, {"ui", 41}, {"sl", 42},
};

static vm_flags_t parse_vmflags(const char *entry, size_t len)
{
    const char *p = memmem(entry, len, "\nVmFlags:", 9);
    vm_flags_t flags = 0;

    assert_non_null(p);
    p += 9;
    while (*p && *p != '\n') {
        while (*p == ' ')
            p++;
        if (*p == '\n' || !*p)
            break;
        bool found = false;
        for (size_t i = 0; i < sizeof(flag_codes) / sizeof(flag_codes[0]); i++) {
            if (!strncmp(p, flag_codes[i].code, 2)) {
                flags |= 1UL << flag_codes[i].bit;
                found = true;
            }
        }
        if (!found)
            fail_msg("unknown VmFlags code %.2s", p);
        p += 2;
    }
    return flags;
}

/* seq_path's escape, undone: "\ooo" back to the byte. */
static char *unescape_path(const char *s, size_t len)
{
    char *out = malloc(len + 1), *o = out;

    assert_non_null(out);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 3 < len + 1 && s[i + 1] >= '0' && s[i + 1] <= '3') {
            *o++ = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
            i += 3;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* Everything a rebuilt VMA points at, freed together. */
struct rebuilt {
    struct vma vma;
    struct vm_file file;
    struct anon_name *anon_name;
    char *name;
};

static void rebuild_vma(struct rebuilt *r, struct mm *mm, const struct entry *e)
{
    unsigned long start, end, ino;
    unsigned long long pgoff;
    unsigned maj, min;
    char perms[5];
    int n = 0;
    const char *nl = memchr(e->text, '\n', e->len);
    const char *name;
    size_t name_len;

    memset(r, 0, sizeof(*r));
    assert_int_equal(sscanf(e->text, "%lx-%lx %4s %llx %x:%x %lu %n", &start, &end, perms, &pgoff,
                            &maj, &min, &ino, &n), 7);
    name = e->text + n;
    if (name > nl)
        name = nl;
    name_len = (size_t)(nl - name);

    r->vma.vm_start = start;
    r->vma.vm_end = end;
    r->vma.vm_mm = mm;
    r->vma.vm_flags = parse_vmflags(e->text, e->len);
    {
        /* The protection key is in the flags too (x86: bits 32-35), but
         * smaps shows it on its own line, not in VmFlags. */
        const char *pk = memmem(e->text, e->len, "\nProtectionKey:", 15);

        if (pk)
            r->vma.vm_flags |= strtoul(pk + 15, NULL, 10) << 32;
    }
    assert_int_equal(perms[3] == 's', !!(r->vma.vm_flags & VM_MAYSHARE));

    if (maj || min || ino) {
        r->name = unescape_path(name, name_len);
        r->file.name = r->name;
        r->file.fd = -1;
        r->file.dev = makedev(maj, min);
        r->file.ino = ino;
        r->vma.vm_file = &r->file;
        r->vma.vm_pgoff = (unsigned long)(pgoff >> PAGE_SHIFT);
        return;
    }
    r->vma.vm_pgoff = start >> PAGE_SHIFT;
    assert_int_equal(pgoff, 0);
    if (name_len == 0 || (name_len == 6 && !memcmp(name, "[heap]", 6)) ||
        (name_len == 7 && !memcmp(name, "[stack]", 7)))
        return;   /* plain anonymous: the layout names it */
    if (name_len > 7 && !memcmp(name, "[anon:", 6)) {
        char tmp[256];

        snprintf(tmp, sizeof(tmp), "%.*s", (int)(name_len - 7), name + 6);
        r->anon_name = make_anon_name(tmp);
        r->vma.anon_name = r->anon_name;
        return;
    }
    /* [vdso], [vvar], [uprobes]...: a special mapping with a name hook */
    r->name = strndup(name, name_len);
    r->vma.vm_ops = &named_ops;
    r->vma.vm_private_data = r->name;
}

static void zoo_setup(void *arg)
{
    const char *path = arg;
    int RW = PROT_READ | PROT_WRITE, A = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    char *w = (char *)WIN;
    int fd;

    mmap(w, 4 * KiB, RW, A, -1, 0);
    mmap(w + 0x10000, 4 * KiB, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    mmap(w + 0x20000, 4 * KiB, PROT_NONE, A, -1, 0);
    mmap(w + 0x30000, 8 * KiB, RW, A | MAP_GROWSDOWN, -1, 0);
    mmap(w + 0x40000, 8 * KiB, RW, A | MAP_NORESERVE | MAP_STACK, -1, 0);
    mmap(w + 0x50000, 8 * KiB, RW | PROT_EXEC, A, -1, 0);
    madvise(w + 0x50000, 8 * KiB, MADV_DONTDUMP);
    madvise(w + 0x50000, 8 * KiB, MADV_DONTFORK);
    madvise(w + 0x50000, 8 * KiB, MADV_RANDOM);
    madvise(w + 0x50000, 8 * KiB, MADV_WIPEONFORK);
    mmap(w + 0x60000, 8 * KiB, RW, A, -1, 0);
    madvise(w + 0x60000, 8 * KiB, MADV_SEQUENTIAL);
    mmap(w + 0x70000, 16 * KiB, RW, A | MAP_LOCKED, -1, 0);   /* populated: counters */
    mmap(w + 0x80000, 8 * KiB, RW, A, -1, 0);
    w[0x80000] = 1;                                            /* touched */
    mmap(w + 0x90000, 8 * KiB, PROT_EXEC, A, -1, 0);           /* execute-only: key 1 */
    mmap(w + 0xa0000, 8 * KiB, PROT_READ, A, -1, 0);
    mprotect(w + 0xa0000, 4 * KiB, PROT_EXEC);
    /* THP: sizes and alignments around 2 MiB */
    mmap(w + 8 * MiB, 4 * MiB, RW, A, -1, 0);
    mmap(w + 16 * MiB, 4 * MiB, RW, A, -1, 0);
    madvise(w + 16 * MiB, 4 * MiB, MADV_HUGEPAGE);
    mmap(w + 24 * MiB, 2 * MiB, RW, A, -1, 0);
    madvise(w + 24 * MiB, 2 * MiB, MADV_HUGEPAGE);
    mmap(w + 28 * MiB + 4096, 2 * MiB, RW, A, -1, 0);
    madvise(w + 28 * MiB + 4096, 2 * MiB, MADV_HUGEPAGE);
    mmap(w + 32 * MiB + 4096, 4 * MiB - 4096, RW, A, -1, 0);
    madvise(w + 32 * MiB + 4096, 4 * MiB - 4096, MADV_HUGEPAGE);
    mmap(w + 40 * MiB, 4 * MiB, PROT_NONE, A, -1, 0);
    madvise(w + 40 * MiB, 4 * MiB, MADV_HUGEPAGE);
    mmap(w + 48 * MiB, 4 * MiB, RW, A, -1, 0);
    madvise(w + 48 * MiB, 4 * MiB, MADV_NOHUGEPAGE);
    mmap(w + 56 * MiB, 4 * MiB, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    madvise(w + 56 * MiB, 4 * MiB, MADV_HUGEPAGE);
    mmap(w + 64 * MiB, 4 * MiB, RW, A | MAP_STACK, -1, 0);
    mmap(w + 72 * MiB, 4 * MiB, RW, A | MAP_GROWSDOWN, -1, 0);
    madvise(w + 72 * MiB, 4 * MiB, MADV_HUGEPAGE);
    /* a split shared anonymous mapping: offsets in the later parts */
    mmap(w + 80 * MiB, 16 * 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    mprotect(w + 80 * MiB + 4 * 4096, 4096, RW);
    /* files: private, shared, at an offset, through /dev/zero, memfd */
    fd = open(path, O_RDWR);
    if (fd >= 0) {
        mmap(w + 88 * MiB, 16 * 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
        mprotect(w + 88 * MiB + 4 * 4096, 4096, PROT_READ | PROT_EXEC);
        mmap(w + 89 * MiB, 8 * 4096, RW, MAP_SHARED | MAP_FIXED, fd, 3 * 4096);
        mmap(w + 90 * MiB, 4 * MiB, RW, MAP_PRIVATE | MAP_FIXED, fd, 0);
        madvise(w + 90 * MiB, 4 * MiB, MADV_HUGEPAGE);
        close(fd);
    }
    fd = open("/dev/zero", O_RDWR);
    if (fd >= 0) {
        mmap(w + 96 * MiB, 2 * 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
        mmap(w + 97 * MiB, 2 * 4096, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
        close(fd);
    }
    fd = memfd_create("task mmu", 0);
    if (fd >= 0 && ftruncate(fd, 8 * MiB) == 0) {
        mmap(w + 100 * MiB, 2 * 4096, RW, MAP_SHARED | MAP_FIXED, fd, 4096);
        mmap(w + 104 * MiB, 4 * MiB, RW, MAP_SHARED | MAP_FIXED, fd, 0);
        madvise(w + 104 * MiB, 4 * MiB, MADV_HUGEPAGE);
        close(fd);
    }
}

/* A file with a newline in its name, unlinked or not, for the zoo. */
static char *make_zoo_file(bool unlink_it)
{
    char *path = strdup(unlink_it ? "/tmp/vmarea task_mmu XXXXXX" : "/tmp/vmarea\ntask_mmu XXXXXX");
    int fd;

    assert_non_null(path);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 8 * MiB), 0);
    close(fd);
    return path;
}

static void check_formatter_against(const struct host_dump *d, struct mm *mm, size_t *checked)
{
    static struct entry entries[4096];
    size_t n = split_entries(d->smaps, entries, 4096);

    assert_true(n > 10);
    for (size_t i = 0; i < n; i++) {
        const struct entry *e = &entries[i];
        struct rebuilt r;
        char *ours;

        /* The vsyscall page is the gate VMA: no mm, not in the VMA tree. */
        if (memmem(e->text, e->len, "[vsyscall]", 10))
            continue;
        rebuild_vma(&r, mm, e);
        ours = show_to_string(vma_show_smap, &r.vma);
        compare_entry(ours, strlen(ours), e->text, e->len, false);
        free(ours);
        free(r.anon_name);
        free(r.name);
        (*checked)++;
    }
}

/*
 * Every VMA of a real process (its own binary, libraries, heap, stack,
 * [vdso] and [vvar], plus the zoo in the window), rebuilt and printed again.
 */
static void test_formatter_vs_host(void **state)
{
    struct mm_config cfg;
    struct host_dump d;
    struct mm *mm;
    size_t checked = 0;
    char *kept = make_zoo_file(false), *gone = make_zoo_file(true);

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(mm_config_from_host(&cfg), 0);
    mm = fake_mm(cfg.thp, cfg.flags);

    host_run(zoo_setup, kept, &d);
    mm->layout.start_brk = d.start_brk;
    mm->layout.brk = d.brk;
    mm->layout.start_stack = d.start_stack;
    check_formatter_against(&d, mm, &checked);
    /* [heap] exists unless malloc avoids brk (it does under ASan) */
    assert_non_null(strstr(d.smaps, "[stack]"));
    assert_non_null(strstr(d.smaps, "THPeligible:           1"));
    assert_non_null(strstr(d.smaps, "\\012task_mmu"));
    free(d.smaps);

    /* a file unlinked after mapping: " (deleted)" is part of its name */
    unlink(gone);
    host_run(zoo_setup, gone, &d);
    check_formatter_against(&d, mm, &checked);
    free(d.smaps);

    print_message("checked %zu host smaps entries\n", checked);
    unlink(kept);
    free(kept);
    free(gone);
    free(mm);
}

/* ------------------------------------- 3. the library end to end vs host */

enum op_kind { OP_MMAP, OP_MUNMAP, OP_MPROTECT, OP_MADVISE, OP_MLOCK };

struct op {
    enum op_kind kind;
    unsigned long off, len;
    int prot, flags;        /* OP_MADVISE: the advice in flags */
    bool file;              /* OP_MMAP: map the scenario's file at file_off */
    unsigned long file_off;
};

struct scenario {
    const char *name;
    const struct op *ops;
    size_t nops;
    const char *path;   /* the file for ops with .file */
};

static void scenario_host(void *arg)
{
    const struct scenario *sc = arg;
    int fd = sc->path ? open(sc->path, O_RDWR) : -1;

    for (size_t i = 0; i < sc->nops; i++) {
        const struct op *o = &sc->ops[i];
        void *a = (void *)(WIN + o->off);

        switch (o->kind) {
        case OP_MMAP:
            if (mmap(a, o->len, o->prot, o->flags | MAP_FIXED, o->file ? fd : -1,
                     (off_t)o->file_off) == MAP_FAILED)
                _exit(10);
            break;
        case OP_MUNMAP:
            munmap(a, o->len);
            break;
        case OP_MPROTECT:
            mprotect(a, o->len, o->prot);
            break;
        case OP_MADVISE:
            madvise(a, o->len, o->flags);
            break;
        case OP_MLOCK:
            mlock(a, o->len);
            break;
        }
    }
    if (fd >= 0)
        close(fd);
}

static void scenario_ours(struct mm *mm, const struct scenario *sc, struct vm_file *file)
{
    for (size_t i = 0; i < sc->nops; i++) {
        const struct op *o = &sc->ops[i];
        unsigned long a = WIN + o->off;
        long r = 0;

        switch (o->kind) {
        case OP_MMAP:
            r = mm_mmap(mm, a, o->len, o->prot, o->flags | MAP_FIXED, o->file ? file : NULL,
                        o->file_off);
            if (r >= 0) {
                assert_int_equal((unsigned long)r, a);
                r = 0;
            }
            break;
        case OP_MUNMAP:
            r = mm_munmap(mm, a, o->len);
            break;
        case OP_MPROTECT:
            r = mm_mprotect(mm, a, o->len, o->prot);
            break;
        case OP_MADVISE:
            r = mm_madvise(mm, a, o->len, o->flags);
            break;
        case OP_MLOCK:
            r = mm_mlock(mm, a, o->len, 0);
            break;
        }
        if (r)
            fail_msg("%s: op %zu failed: %ld", sc->name, i, r);
    }
}

/* The entries of an smaps text that lie in the window. */
static size_t window_entries(const char *text, struct entry *e, size_t max)
{
    static struct entry all[4096];
    size_t n = split_entries(text, all, 4096), k = 0;

    for (size_t i = 0; i < n; i++) {
        if (all[i].start >= WIN && all[i].end <= WIN + WIN_SIZE) {
            assert_true(k < max);
            e[k++] = all[i];
        }
    }
    return k;
}

static void run_scenario(const struct scenario *sc)
{
    struct mm_config cfg;
    struct host_dump d;
    struct mm *mm;
    static struct entry host_e[256], our_e[256];
    size_t nh, no;
    char *ours = NULL;
    size_t ours_len = 0;
    FILE *f;

    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(mm_config_from_host(&cfg), 0);
    mm = mm_create(&cfg);
    assert_non_null(mm);
    /* A host file cannot be mapped on the vmarea side: the library has no
     * vm_file_open. */
    assert_null(sc->path);
    scenario_ours(mm, sc, NULL);
    host_run(scenario_host, (void *)sc, &d);

    f = open_memstream(&ours, &ours_len);
    assert_non_null(f);
    assert_int_equal(mm_show_smaps(mm, f), 0);
    assert_int_equal(fclose(f), 0);

    nh = window_entries(d.smaps, host_e, 256);
    no = window_entries(ours, our_e, 256);
    if (nh != no) {
        print_error("%s: host has %zu VMAs in the window, vmarea %zu\n--- host:\n", sc->name, nh, no);
        for (size_t i = 0; i < nh; i++)
            print_error("%.*s", (int)(strchr(host_e[i].text, '\n') - host_e[i].text + 1), host_e[i].text);
        print_error("--- vmarea:\n");
        for (size_t i = 0; i < no; i++)
            print_error("%.*s", (int)(strchr(our_e[i].text, '\n') - our_e[i].text + 1), our_e[i].text);
        fail();
    }
    for (size_t i = 0; i < nh; i++)
        compare_entry(our_e[i].text, our_e[i].len, host_e[i].text, host_e[i].len, true);

    /* maps is the first line of each smaps entry, nothing else */
    {
        char *maps = NULL;
        size_t maps_len = 0;
        size_t k = 0;

        f = open_memstream(&maps, &maps_len);
        assert_non_null(f);
        assert_int_equal(mm_show_maps(mm, f), 0);
        assert_int_equal(fclose(f), 0);
        for (const char *l = maps; *l; l = strchr(l, '\n') + 1) {
            static struct entry all[4096];
            size_t n = split_entries(ours, all, 4096);

            assert_true(k < n);
            assert_memory_equal(l, all[k].text, (size_t)(strchr(l, '\n') - l + 1));
            k++;
        }
        free(maps);
    }

    free(ours);
    free(d.smaps);
    mmput(mm);
}

#define RW (PROT_READ | PROT_WRITE)
#define PA (MAP_PRIVATE | MAP_ANONYMOUS)
#define SA (MAP_SHARED | MAP_ANONYMOUS)
#define OPS(...) (const struct op[]){ __VA_ARGS__ }, sizeof((const struct op[]){ __VA_ARGS__ }) / sizeof(struct op)

static void test_api_anon(void **state)
{
    (void)state;
    struct scenario sc = { "anon", OPS(
        { OP_MMAP, 0x0, 4 * KiB, RW, PA, false, 0 },
        { OP_MMAP, 0x10000, 4 * KiB, PROT_NONE, PA, false, 0 },
        { OP_MMAP, 0x20000, 8 * KiB, RW, PA | MAP_GROWSDOWN, false, 0 },
        { OP_MMAP, 0x30000, 8 * KiB, RW, PA | MAP_NORESERVE, false, 0 },
        { OP_MMAP, 0x40000, 8 * KiB, RW, PA | MAP_STACK, false, 0 },
        { OP_MMAP, 0x50000, 8 * KiB, RW | PROT_EXEC, PA, false, 0 },
        { OP_MADVISE, 0x50000, 8 * KiB, 0, MADV_DONTDUMP, false, 0 },
        { OP_MADVISE, 0x50000, 8 * KiB, 0, MADV_DONTFORK, false, 0 },
        { OP_MADVISE, 0x50000, 8 * KiB, 0, MADV_RANDOM, false, 0 },
        { OP_MADVISE, 0x50000, 8 * KiB, 0, MADV_WIPEONFORK, false, 0 },
        { OP_MMAP, 0x60000, 16 * KiB, RW, PA, false, 0 },
        { OP_MADVISE, 0x61000, 4 * KiB, 0, MADV_SEQUENTIAL, false, 0 },
        { OP_MMAP, 0x70000, 16 * 4096, PROT_READ, PA, false, 0 },
        { OP_MPROTECT, 0x74000, 4096, RW, 0, false, 0 },
        { OP_MMAP, 0x90000, 16 * 4096, PROT_READ, SA, false, 0 },
        { OP_MPROTECT, 0x94000, 4096, RW, 0, false, 0 },
        { OP_MMAP, 0xb0000, 16 * KiB, RW, PA | MAP_LOCKED, false, 0 },
        /* execute-only memory gets protection key 1 where keys exist */
        { OP_MMAP, 0xc0000, 8 * KiB, PROT_EXEC, PA, false, 0 },
        { OP_MMAP, 0xd0000, 8 * KiB, PROT_READ, PA, false, 0 },
        { OP_MPROTECT, 0xd0000, 4 * KiB, PROT_EXEC, 0, false, 0 },
        { OP_MMAP, 0xe0000, 8 * KiB, PROT_EXEC, PA, false, 0 },
        { OP_MPROTECT, 0xe0000, 8 * KiB, PROT_READ | PROT_EXEC, 0, false, 0 },
    ), NULL };
    run_scenario(&sc);
}

static void test_api_thp(void **state)
{
    (void)state;
    struct scenario sc = { "thp", OPS(
        { OP_MMAP, 8 * MiB, 4 * MiB, RW, PA, false, 0 },
        { OP_MMAP, 16 * MiB, 4 * MiB, RW, PA, false, 0 },
        { OP_MADVISE, 16 * MiB, 4 * MiB, 0, MADV_HUGEPAGE, false, 0 },
        { OP_MMAP, 24 * MiB, 2 * MiB, RW, PA, false, 0 },
        { OP_MADVISE, 24 * MiB, 2 * MiB, 0, MADV_HUGEPAGE, false, 0 },
        { OP_MMAP, 28 * MiB + 4096, 2 * MiB, RW, PA, false, 0 },
        { OP_MADVISE, 28 * MiB + 4096, 2 * MiB, 0, MADV_HUGEPAGE, false, 0 },
        { OP_MMAP, 32 * MiB + 4096, 4 * MiB - 4096, RW, PA, false, 0 },
        { OP_MADVISE, 32 * MiB + 4096, 4 * MiB - 4096, 0, MADV_HUGEPAGE, false, 0 },
        { OP_MMAP, 40 * MiB, 4 * MiB, PROT_NONE, PA, false, 0 },
        { OP_MADVISE, 40 * MiB, 4 * MiB, 0, MADV_HUGEPAGE, false, 0 },
        { OP_MMAP, 48 * MiB, 4 * MiB, RW, PA, false, 0 },
        { OP_MADVISE, 48 * MiB, 4 * MiB, 0, MADV_NOHUGEPAGE, false, 0 },
        { OP_MMAP, 56 * MiB, 4 * MiB, RW, SA, false, 0 },
        { OP_MADVISE, 56 * MiB, 4 * MiB, 0, MADV_HUGEPAGE, false, 0 },
        { OP_MMAP, 64 * MiB, 4 * MiB, RW, PA | MAP_STACK, false, 0 },
        { OP_MMAP, 72 * MiB, 4 * MiB, RW, PA | MAP_STACK, false, 0 },
        { OP_MADVISE, 72 * MiB, 4 * MiB, 0, MADV_HUGEPAGE, false, 0 },
        /* a hugepage range split by mprotect: the middle part is too small */
        { OP_MMAP, 80 * MiB, 6 * MiB, RW, PA, false, 0 },
        { OP_MADVISE, 80 * MiB, 6 * MiB, 0, MADV_HUGEPAGE, false, 0 },
        { OP_MPROTECT, 81 * MiB, 3 * MiB, PROT_READ, 0, false, 0 },
    ), NULL };
    run_scenario(&sc);
}

static void test_api_heap_stack(void **state)
{
    struct mm_config cfg;
    struct mm *mm;
    struct mm_layout l;
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(mm_config_from_host(&cfg), 0);
    mm = mm_create(&cfg);
    assert_non_null(mm);
    /* prctl(PR_SET_MM_MAP) rules: every field a valid user address */
    l.start_code = WIN + 0x1000;
    l.end_code = WIN + 0x2000;
    l.start_data = WIN + 0x3000;
    l.end_data = WIN + 0x4000;
    l.arg_start = l.arg_end = WIN + 0x8ff000;
    l.env_start = l.env_end = WIN + 0x8ff800;
    l.start_brk = WIN + 0x100000;
    l.brk = WIN + 0x121000;
    l.start_stack = WIN + 0x8fffe0;
    assert_int_equal(mm_set_layout(mm, &l), 0);
    assert_int_equal(mm_mmap(mm, WIN + 0x100000, 0x21000, RW, PA | MAP_FIXED, NULL, 0),
                     (long)(WIN + 0x100000));
    assert_int_equal(mm_mmap(mm, WIN + 0x800000, 0x100000, RW, PA | MAP_FIXED | MAP_GROWSDOWN,
                             NULL, 0), (long)(WIN + 0x800000));
    f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(mm_show_maps(mm, f), 0);
    assert_int_equal(fclose(f), 0);
    assert_non_null(strstr(text, "200000100000-200000121000 rw-p 00000000 00:00 0"
                                 "                          [heap]\n"));
    assert_non_null(strstr(text, "200000800000-200000900000 rw-p 00000000 00:00 0"
                                 "                          [stack]\n"));
    free(text);
    mmput(mm);
}

static void test_api_anon_name(void **state)
{
    struct mm *mm = mm_create(NULL);
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    (void)state;
    assert_non_null(mm);
    assert_int_equal(mm_mmap(mm, WIN, 3 * 4096, RW, PA | MAP_FIXED, NULL, 0), (long)WIN);
    assert_int_equal(mm_set_anon_name(mm, WIN + 4096, 4096, "buf"), 0);
    f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(mm_show_maps(mm, f), 0);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(text,
        "200000000000-200000001000 rw-p 00000000 00:00 0 \n"
        "200000001000-200000002000 rw-p 00000000 00:00 0                          [anon:buf]\n"
        "200000002000-200000003000 rw-p 00000000 00:00 0 \n"
        "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n");
    free(text);
    mmput(mm);
}

static void test_stats_and_errors(void **state)
{
    struct mm *mm = mm_create(NULL);
    struct mm_stats st;
    FILE *full;

    (void)state;
    assert_non_null(mm);
    mm_get_stats(mm, &st);
    assert_int_equal(st.map_count, 0);
    assert_int_equal(st.total_vm, 0);
    assert_int_equal(mm_mmap(mm, WIN, 4 * 4096, RW, PA | MAP_FIXED, NULL, 0), (long)WIN);
    assert_int_equal(mm_mmap(mm, WIN + 0x10000, 2 * 4096, RW, PA | MAP_FIXED | MAP_LOCKED, NULL, 0),
                     (long)(WIN + 0x10000));
    mm_get_stats(mm, &st);
    assert_int_equal(st.map_count, 2);
    assert_int_equal(st.total_vm, 6);
    assert_int_equal(st.locked_vm, 2);
    /* MAP_LOCKED populates private writable memory with its own pages. */
    assert_int_equal(st.rss_anon, 2);
    assert_int_equal(st.rss_file + st.rss_shmem, 0);

    /* an empty mm prints nothing; a failing stream is -EIO */
    full = fopen("/dev/full", "w");
    if (full) {
        assert_int_equal(mm_show_smaps(mm, full), -EIO);
        fclose(full);
        full = fopen("/dev/full", "w");
        assert_int_equal(mm_show_maps(mm, full), -EIO);
        fclose(full);
    }
    assert_int_equal(mm_show_maps(NULL, stdout), -EINVAL);
    assert_int_equal(mm_show_smaps(mm, NULL), -EINVAL);
    mm_get_stats(NULL, &st);
    assert_int_equal(st.map_count, 0);
    mmput(mm);

    /* An mm without VMAs shows nothing, or only the vsyscall page. */
    struct mm_config cfg = { .flags = MM_CONFIG_NO_VSYSCALL };
    mm = mm_create(&cfg);
    {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        assert_int_equal(mm_show_smaps(mm, f), 0);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(len, 0);
        free(text);
    }
    mmput(mm);
}

static char *show_text(struct mm *mm, bool smaps)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(smaps ? mm_show_smaps(mm, f) : mm_show_maps(mm, f), 0);
    assert_int_equal(fclose(f), 0);
    return text;
}

/* This process's own smaps entry for its vsyscall page, or NULL. */
static char *host_gate_entry(void)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    assert_non_null(f);
    char *entry = NULL, line[512];
    size_t len = 0;
    FILE *out = NULL;
    while (fgets(line, sizeof(line), f)) {
        bool header = strchr("0123456789abcdef", line[0]) && strchr(line, '-') &&
                      strchr(line, '-') < strchr(line, ' ');
        if (header && out)
            break;
        if (header && strstr(line, "[vsyscall]"))
            out = open_memstream(&entry, &len);
        if (out)
            fputs(line, out);
    }
    fclose(f);
    if (out)
        fclose(out);
    return entry;
}

/* The vsyscall page ends maps and smaps, as on x86-64 (the gate VMA, in no
 * tree): execute-only by default, readable in emulate mode, absent with
 * vsyscall=none; and on this host, the modelled entry is the host's own,
 * byte for byte. */
static void test_vsyscall_gate(void **state)
{
    (void)state;
    struct mm_config cfg = { 0 };
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);
    assert_int_equal(mm_mmap(mm, WIN, 4096, RW, PA | MAP_FIXED, NULL, 0), (long)WIN);
    char *text = show_text(mm, false);
    assert_string_equal(text, "200000000000-200000001000 rw-p 00000000 00:00 0 \n"
                              "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0"
                              "                  [vsyscall]\n");
    free(text);
    struct mm_stats st;
    mm_get_stats(mm, &st);
    assert_int_equal(st.map_count, 1);   /* the gate is no VMA */
    assert_int_equal(st.total_vm, 1);
    assert_int_equal(mm_read(mm, 0xffffffffff600000UL, &st, 8), -EFAULT);
    mmput(mm);

    cfg.flags = MM_CONFIG_VSYSCALL_EMULATE;
    mm = mm_create(&cfg);
    text = show_text(mm, true);
    assert_non_null(strstr(text, "ffffffffff600000-ffffffffff601000 r-xp 00000000 00:00 0"));
    assert_non_null(strstr(text, "VmFlags: rd ex \n"));
    free(text);
    mmput(mm);

    assert_int_equal(mm_config_from_host(&cfg), 0);
    mm = mm_create(&cfg);
    text = show_text(mm, true);
    char *host = host_gate_entry();
    if (host)
        assert_string_equal(text, host);
    else
        assert_string_equal(text, "");
    assert_true(!host == !!(cfg.flags & MM_CONFIG_NO_VSYSCALL));
    free(host);
    free(text);
    mmput(mm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_text),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_thp_rule),
        cmocka_unit_test(test_smap_layout),
        cmocka_unit_test(test_formatter_vs_host),
        cmocka_unit_test(test_api_anon),
        cmocka_unit_test(test_api_thp),
        cmocka_unit_test(test_api_heap_stack),
        cmocka_unit_test(test_api_anon_name),
        cmocka_unit_test(test_stats_and_errors),
        cmocka_unit_test(test_vsyscall_gate),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * trace.c — `vmarea trace [--exec] [--every N] -- PROGRAM [ARGS...]`: run a
 * real program under ptrace and keep a vmarea mm beside each of its address
 * spaces.
 *
 * At each execve the mm is built from the image the kernel built (its
 * smaps: files through /proc/PID/map_files, anonymous memory, the stack, the
 * vDSO with its bytes), or with --exec by mm_exec and checked against it;
 * the mm has the limits the process exec'd with.  Then every memory system
 * call a thread makes is made on the mm too, with mmap's own file
 * description (pidfd_getfd), and its result compared when the kernel's
 * returns.  fork and clone without CLONE_VM are mm_fork; threads and vfork
 * children share their parent's mm.  The layouts (bounds, permissions,
 * offset, device, inode, path, VmFlags) are compared at every exec, fork
 * and exit, and every N calls with --every N.  The first difference ends
 * the run with a report; otherwise a summary, and exit status 0.
 *
 * What ptrace does not show is made up for where the kernel shows it: a
 * stack the kernel grew by faults is grown the same before each
 * comparison, and where the kernel has an anonymous page in a VMA a call
 * may meet, the mm faults there first (an anon_vma decides merges and what
 * a fork inherits).  Threads' memory calls are serialized: one that enters
 * while another thread of its mm is inside one waits at its entry, so that
 * both sides apply them in one order.  The program runs without address
 * randomization (personality ADDR_NO_RANDOMIZE), so that placements can be
 * compared.
 */
#define _GNU_SOURCE
#include "trace.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmarea.h"
/* The library's own page macros, not <sys/user.h>'s; and vma_clear_soft_dirty,
 * for what the kernel changes without a system call to mirror. */
#undef PAGE_SHIFT
#undef PAGE_SIZE
#undef PAGE_MASK
#include "mm.h"

#ifndef CLONE_VM
#define CLONE_VM 0x00000100
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

#define HISTORY 12                 /* calls shown before a difference */

/* PAGEMAP_SCAN (Linux 6.7), for headers that lack it. */
struct tr_page_region { uint64_t start, end, categories; };
struct tr_pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define TR_PAGEMAP_SCAN    _IOWR('f', 16, struct tr_pm_scan_arg)
#define TR_PAGE_IS_FILE    (1 << 2)
#define TR_PAGE_IS_PRESENT (1 << 3)
#define TR_PAGE_IS_SWAPPED (1 << 4)
#define TR_PAGE_IS_PFNZERO (1 << 5)

/* One address space of the traced family, and its vmarea twin. */
struct tmm {
    struct mm *mm;
    int pagemap;                   /* /proc/PID/pagemap of a process that has it, or -1 */
    int users;                     /* threads (and vfork children) that share it */
    pid_t busy;                    /* a thread inside a memory call, or 0 */
    unsigned long calls;
    char history[HISTORY][160];    /* the last calls, a ring */
};

/* A traced thread. */
struct tthread {
    pid_t tid, tgid;
    struct tmm *m;                 /* NULL before the first exec, or until its fork event */
    bool in_call;                  /* between a mirrored call's entry and exit */
    bool held;                     /* stopped at an entry, waiting for its mm */
    bool started;                  /* its first stop (a new child's SIGSTOP) was seen */
    bool pending;                  /* seen stopped before the event that made it */
    uint64_t nr, args[6];
    struct vm_file *file;          /* mmap's, opened at entry */
    int file_err;                  /* why there is none: -EBADF and the like */
};

/* A file description the program mapped, and the vm_file for it: the same
 * description (the same struct file) must give the same vm_file, which
 * is what lets adjacent mappings of one open merge. */
struct tfile {
    struct vm_file *f;
    int fd;                        /* ours, of the same description (pidfd_getfd) */
};

struct trace {
    bool exec;                     /* --exec: images by mm_exec, checked against the kernel's */
    struct tthread **t;
    size_t n, cap;
    struct tfile *files;
    size_t nfiles, files_cap;
    unsigned long every;           /* layout checkpoint every N calls; 0: none */
    struct mm_config cfg;
    unsigned long processes, calls, same_calls, checkpoints, same_checkpoints, unmirrored;
    bool failed;
    bool progress;
    time_t last_progress;
};

static const char *prog = "vmarea";

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: trace: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* ------------------------------------------------------------ threads */

static void release_held(struct trace *tr, struct tmm *m);

static struct tthread *find_thread(struct trace *tr, pid_t tid)
{
    for (size_t i = 0; i < tr->n; i++)
        if (tr->t[i]->tid == tid)
            return tr->t[i];
    return NULL;
}

static struct tthread *add_thread(struct trace *tr, pid_t tid)
{
    if (tr->n == tr->cap) {
        tr->cap = tr->cap ? 2 * tr->cap : 16;
        tr->t = realloc(tr->t, tr->cap * sizeof(*tr->t));
        if (!tr->t)
            die("out of memory");
    }
    struct tthread *t = calloc(1, sizeof(*t));
    if (!t)
        die("out of memory");
    t->tid = t->tgid = tid;
    tr->t[tr->n++] = t;
    return t;
}

static void tmm_put(struct tmm *m)
{
    if (m && --m->users == 0) {
        mmput(m->mm);
        if (m->pagemap >= 0)
            close(m->pagemap);
        free(m);
    }
}

static struct tmm *tmm_new(struct mm *mm, pid_t pid)
{
    struct tmm *m = calloc(1, sizeof(*m));
    if (!m || !mm)
        die("%s", mm ? "out of memory" : strerror(errno));
    m->mm = mm;
    m->users = 1;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
    m->pagemap = open(path, O_RDONLY | O_CLOEXEC);
    return m;
}

/* The first anonymous page (present or swapped) the kernel has in
 * [start, end), if any. */
static bool kernel_anon_page(int pagemap, unsigned long start, unsigned long end, unsigned long *at)
{
    struct tr_page_region r;
    struct tr_pm_scan_arg a = {
        .size = sizeof(a), .start = start, .end = end, .vec = (uintptr_t)&r, .vec_len = 1, .max_pages = 1,
        .category_inverted = TR_PAGE_IS_FILE | TR_PAGE_IS_PFNZERO,
        .category_mask = TR_PAGE_IS_FILE | TR_PAGE_IS_PFNZERO,
        .category_anyof_mask = TR_PAGE_IS_PRESENT | TR_PAGE_IS_SWAPPED,
        .return_mask = TR_PAGE_IS_PRESENT | TR_PAGE_IS_SWAPPED,
    };
    long n = ioctl(pagemap, TR_PAGEMAP_SCAN, &a);
    if (n >= 0) {
        if (n > 0)
            *at = r.start;
        return n > 0;
    }
    /* Before 6.7: the entries themselves, a page at a time, for at most the
     * VMA's first 64 MiB.  An exclusive anonymous page, or a swapped one
     * (the zero page, which looks anonymous too, is never exclusive). */
    uint64_t e[512];
    for (unsigned long p = start; p < end && p < start + (64UL << 20); p += sizeof(e) / 8 * 4096) {
        unsigned long pages = (end - p) / 4096 < 512 ? (end - p) / 4096 : 512;
        ssize_t got = pread(pagemap, e, pages * 8, (off_t)(p / 4096 * 8));
        for (ssize_t i = 0; i < got / 8; i++) {
            bool present = e[i] >> 63 & 1, swapped = e[i] >> 62 & 1, file = e[i] >> 61 & 1;
            bool exclusive = e[i] >> 56 & 1;
            if (!file && (swapped || (present && exclusive))) {
                *at = p + (unsigned long)i * 4096;
                return true;
            }
        }
        if (got <= 0)
            break;
    }
    return false;
}

/*
 * The program's stores are faults ptrace does not show, and the first in a
 * private VMA gives it an anon_vma, which decides merges (two VMAs with
 * anon_vmas of their own never merge) and what a fork's child inherits.
 * Where the kernel has an anonymous page in a VMA, the twin is made to
 * fault there too: a store where the VMA is writable, else a load.
 */
static void sync_anon_range(struct tmm *m, unsigned long lo, unsigned long hi)
{
    if (m->pagemap < 0)
        return;
    enum { MAX = 1024 };
    static unsigned long at[MAX];
    static bool wr[MAX];
    size_t n = 0;
    struct mmap_read_guard g = mmap_read_lock(m->mm);
    for (const struct vma_ref *v = vma_find(&g, lo); v && vma_start(v) < hi && n < MAX; v = vma_next(&g, v)) {
        if ((vma_flags(v) & (VM_MAYSHARE | VM_PFNMAP | VM_IO | VM_MIXEDMAP)) || vma_ops(v))
            continue;
        if (kernel_anon_page(m->pagemap, vma_start(v), vma_end(v), &at[n]))
            wr[n++] = vma_flags(v) & VM_WRITE;
    }
    mmap_read_unlock(&g);
    for (size_t i = 0; i < n; i++)
        mm_fault(m->mm, at[i], wr[i] ? FAULT_FLAG_WRITE : 0);
}

static void sync_anon(struct tmm *m)
{
    sync_anon_range(m, 0, ~0UL);
}

/* The VMAs a call over [addr, addr + len) may merge with or change: those
 * it covers and its neighbours (a page on either side reaches them). */
static void sync_anon_around(struct tmm *m, unsigned long addr, unsigned long len)
{
    unsigned long lo = addr >= 4096 ? addr - 4096 : 0, hi = addr + len + 4096;
    sync_anon_range(m, lo, hi < addr ? ~0UL : hi);
}

/* Before a memory call: the VMAs it may meet, where they are known now. */
static void sync_before(struct tmm *m, const struct tthread *t)
{
    const uint64_t *a = t->args;
    switch (t->nr) {
    case SYS_mmap:
        if (a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE))
            sync_anon_around(m, a[0], a[1]);
        break;   /* else after: where it went */
    case SYS_mremap:
        sync_anon_around(m, a[0], a[1]);
        if (a[3] & MREMAP_FIXED)
            sync_anon_around(m, a[4], a[2]);
        break;
    case SYS_munmap: case SYS_mprotect: case SYS_pkey_mprotect: case SYS_madvise: case SYS_msync:
    case SYS_mlock: case SYS_mlock2: case SYS_munlock:
        sync_anon_around(m, a[0], a[1]);
        break;
    case SYS_prctl:
        sync_anon_around(m, a[2], a[3]);
        break;
    default:
        sync_anon(m);   /* brk, mlockall, and what cannot be mirrored */
        break;
    }
}

/* After the kernel placed a mapping: its neighbours there. */
static void sync_after(struct tmm *m, const struct tthread *t, long kernel)
{
    const uint64_t *a = t->args;
    if (kernel < 0)
        return;
    if (t->nr == SYS_mmap && !(a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE)))
        sync_anon_around(m, (unsigned long)kernel, a[1]);
    else if (t->nr == SYS_mremap && (a[3] & MREMAP_MAYMOVE) && !(a[3] & MREMAP_FIXED))
        sync_anon_around(m, (unsigned long)kernel, a[2]);
}

static void remove_thread(struct trace *tr, struct tthread *t)
{
    for (size_t i = 0; i < tr->n; i++) {
        if (tr->t[i] != t)
            continue;
        tr->t[i] = tr->t[--tr->n];
        break;
    }
    if (t->file)
        vm_file_put(t->file);
    struct tmm *m = t->m;
    bool was_busy = m && m->busy == t->tid;
    if (was_busy)
        m->busy = 0;   /* killed inside a memory call: it never returns */
    if (was_busy && m->users > 1)
        release_held(tr, m);
    tmm_put(m);
    free(t);
}

/* ------------------------------------------------------------ layouts */

/* A VMA as maps and smaps show it: what the two sides must agree on. */
struct tvma {
    unsigned long start, end, offset, inode;
    char perms[5], dev[16], name[256], flags[128];
};

struct tlayout {
    struct tvma *v;
    size_t n;
};

static void layout_free(struct tlayout *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Parse smaps text: header lines and VmFlags; the counters are not compared. */
static void layout_parse(const char *text, struct tlayout *l)
{
    size_t cap = 0;
    l->v = NULL;
    l->n = 0;
    for (const char *p = text; *p; ) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[600];
        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        p += len + (eol ? 1 : 0);
        if (!strncmp(line, "VmFlags:", 8) && l->n) {
            char *f = line + 8;
            while (*f == ' ')
                f++;
            size_t fl = strlen(f);
            while (fl && f[fl - 1] == ' ')
                f[--fl] = '\0';
            snprintf(l->v[l->n - 1].flags, sizeof(l->v[0].flags), "%s", f);
            continue;
        }
        struct tvma v = { 0 };
        int name_at = 0;
        if (!isxdigit((unsigned char)line[0]) ||
            sscanf(line, "%lx-%lx %4s %lx %15s %lu %n", &v.start, &v.end, v.perms, &v.offset, v.dev,
                   &v.inode, &name_at) < 6)
            continue;
        if (name_at)
            snprintf(v.name, sizeof(v.name), "%s", line + name_at);
        if (l->n == cap) {
            cap = cap ? 2 * cap : 64;
            l->v = realloc(l->v, cap * sizeof(*l->v));
            if (!l->v)
                die("out of memory");
        }
        l->v[l->n++] = v;
    }
}

static char *slurp(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 4096) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    close(fd);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static void kernel_layout(pid_t pid, struct tlayout *l)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
    char *text = slurp(path);
    if (!text)
        die("cannot read %s: %s", path, strerror(errno));
    layout_parse(text, l);
    free(text);
}

static void vmarea_layout(struct mm *mm, struct tlayout *l)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f || mm_show_smaps(mm, f) < 0 || fclose(f))
        die("mm_show_smaps failed");
    layout_parse(text, l);
    free(text);
}

/* Shared anonymous memory's inode is the kernel's own shmem object, which
 * no other mm can have. */
static bool vma_same(const struct tvma *a, const struct tvma *b)
{
    bool shmem = !strcmp(a->name, "/dev/zero (deleted)") || !strncmp(a->name, "/SYSV", 5);
    return a->start == b->start && a->end == b->end && !strcmp(a->perms, b->perms) &&
           a->offset == b->offset && !strcmp(a->dev, b->dev) && (shmem || a->inode == b->inode) &&
           !strcmp(a->name, b->name) && !strcmp(a->flags, b->flags);
}

static bool layout_has(const struct tlayout *l, const struct tvma *v)
{
    for (size_t i = 0; i < l->n; i++)
        if (vma_same(&l->v[i], v))
            return true;
    return false;
}

static void layout_print(FILE *out, const char *side, const struct tlayout *l, const struct tlayout *other)
{
    fprintf(out, "  layout, %s:\n", side);
    for (size_t i = 0; i < l->n; i++) {
        const struct tvma *v = &l->v[i];
        fprintf(out, "  %c %012lx-%012lx %s %08lx %s %-8lu %-40s [%s]\n", layout_has(other, v) ? ' ' : '*',
                v->start, v->end, v->perms, v->offset, v->dev, v->inode, v->name, v->flags);
    }
}

/* A stack the kernel grew by faults (which ptrace does not show) grows here
 * by a fault at the same place. */
static void sync_stacks(struct mm *mm, const struct tlayout *k)
{
    struct tlayout ours;
    vmarea_layout(mm, &ours);
    for (size_t i = 0; i < k->n; i++) {
        if (!strstr(k->v[i].flags, "gd"))
            continue;
        for (size_t j = 0; j < ours.n; j++)
            if (ours.v[j].end == k->v[i].end && ours.v[j].start > k->v[i].start && strstr(ours.v[j].flags, "gd"))
                mm_fault(mm, k->v[i].start, FAULT_FLAG_WRITE);
    }
    layout_free(&ours);
}

static void report_history(FILE *out, const struct tmm *m)
{
    unsigned long first = m->calls > HISTORY ? m->calls - HISTORY : 0;
    if (first < m->calls)
        fprintf(out, "  the calls before it (of %lu in this address space):\n", m->calls);
    for (unsigned long i = first; i < m->calls; i++)
        fprintf(out, "    %s\n", m->history[i % HISTORY]);
}

/* Compare the whole layout of pid's address space with its twin's. */
static bool checkpoint(struct trace *tr, pid_t pid, struct tmm *m, const char *when)
{
    struct tlayout k, o;
    kernel_layout(pid, &k);
    sync_stacks(m->mm, &k);
    vmarea_layout(m->mm, &o);
    bool same = k.n == o.n;
    for (size_t i = 0; same && i < k.n; i++)
        same = vma_same(&k.v[i], &o.v[i]);
    tr->checkpoints++;
    if (same) {
        tr->same_checkpoints++;
    } else {
        fprintf(stderr, "MISMATCH in process %d: the layouts differ at %s\n", pid, when);
        report_history(stderr, m);
        fprintf(stderr, "  ('*': no identical VMA on the other side)\n");
        layout_print(stderr, "linux", &k, &o);
        layout_print(stderr, "vmarea", &o, &k);
        tr->failed = true;
    }
    layout_free(&k);
    layout_free(&o);
    return same;
}

/* ------------------------------------------------------------ the image at exec */

static long read_stat_field(pid_t pid, int field, unsigned long *out)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    char *text = slurp(path);
    if (!text)
        return -1;
    /* Fields after the command name, which may hold spaces: from the last ')'. */
    char *p = strrchr(text, ')');
    int f = 2;
    while (p && f < field) {
        p = strchr(p + 1, ' ');
        f++;
    }
    long r = p ? (sscanf(p + 1, "%lu", out) == 1 ? 0 : -1) : -1;
    free(text);
    return r;
}

static vm_flags_t flags_of(const char *text)
{
    static const struct { const char *name; vm_flags_t flag; } names[] = {
        { "rd", VM_READ }, { "wr", VM_WRITE }, { "ex", VM_EXEC }, { "sh", VM_SHARED },
        { "mr", VM_MAYREAD }, { "mw", VM_MAYWRITE }, { "me", VM_MAYEXEC }, { "ms", VM_MAYSHARE },
        { "pf", VM_PFNMAP }, { "io", VM_IO }, { "dd", VM_DONTDUMP }, { "dc", VM_DONTCOPY },
        { "sd", VM_SOFTDIRTY },
    };
    vm_flags_t f = 0;
    for (const char *p = text; *p; ) {
        while (*p == ' ')
            p++;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (!strncmp(p, names[i].name, 2) && (p[2] == ' ' || !p[2]))
                f |= names[i].flag;
        while (*p && *p != ' ')
            p++;
    }
    return f;
}

static int prot_of(const char *perms)
{
    return (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
           (perms[2] == 'x' ? PROT_EXEC : 0);
}

/* A soft limit of /proc/PID/limits, in bytes; ~0UL for unlimited. */
static unsigned long limit_of(const char *text, const char *name, unsigned long dflt)
{
    const char *p = strstr(text, name);
    if (!p)
        return dflt;
    p += strlen(name);
    while (*p == ' ')
        p++;
    if (!strncmp(p, "unlimited", 9))
        return ~0UL;
    return strtoul(p, NULL, 10);
}

/* The configuration of the mm for pid's new image: the host's, with the
 * limits the process execs under (a shell's ulimit before exec), and the
 * mmap_base those put the image's mappings under: Linux's mmap_base()
 * without randomization, the stack's limit and guard gap below the top,
 * at least 128 MiB and at most five sixths of the address space. */
static struct mm_config config_of(const struct trace *tr, pid_t pid)
{
    struct mm_config cfg = tr->cfg;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/limits", pid);
    char *text = slurp(path);
    if (!text)
        die("cannot read %s", path);
    cfg.as_limit = limit_of(text, "Max address space", cfg.as_limit);
    cfg.data_limit = limit_of(text, "Max data size", cfg.data_limit);
    cfg.stack_limit = limit_of(text, "Max stack size", cfg.stack_limit);
    free(text);
    if (cfg.stack_limit == ~0UL)
        die("process %d has no stack limit, so Linux lays it out bottom-up, which vmarea does not model", pid);
    unsigned long task = 0x7ffffffff000UL;   /* task_size_64bit(0): with five levels too */
    unsigned long gap = cfg.stack_limit, pad = 256UL << 12;
    if (gap + pad > gap)
        gap += pad;
    if (gap < (128UL << 20))
        gap = 128UL << 20;
    if (gap > task / 6 * 5)
        gap = task / 6 * 5;
    cfg.mmap_base = (task - gap) & ~4095UL;
    return cfg;
}

/* The twin of pid's address space just after execve: the kernel's VMAs,
 * made one by one, and the layout of its image. */
static struct tmm *image_of(struct trace *tr, pid_t pid)
{
    struct mm_config cfg = config_of(tr, pid);
    struct tmm *m = tmm_new(mm_create(&cfg), pid);
    struct tlayout k;
    kernel_layout(pid, &k);
    struct { struct vm_file *f; unsigned long inode; char dev[16]; } opened[64];
    size_t nopen = 0;
    for (size_t i = 0; i < k.n; i++) {
        const struct tvma *v = &k.v[i];
        unsigned long len = v->end - v->start;
        int prot = prot_of(v->perms);
        bool shared = v->perms[3] == 's';
        long r;
        if (!strcmp(v->name, "[vsyscall]")) {
            continue;   /* the gate: every mm shows it */
        } else if (!strcmp(v->name, "[vvar]") || !strcmp(v->name, "[vvar_vclock]") ||
                   !strcmp(v->name, "[vdso]")) {
            unsigned long npages = len / 4096;
            struct vm_page **pages = calloc(npages, sizeof(*pages));
            vm_flags_t flags = flags_of(v->flags);
            for (unsigned long p = 0; pages && !(flags & VM_PFNMAP) && p < npages; p++) {
                pages[p] = vm_page_alloc(m->mm);
                struct iovec local = { vm_page_address(pages[p]), 4096 };
                struct iovec remote = { (void *)(v->start + p * 4096), 4096 };
                if (!pages[p] || process_vm_readv(pid, &local, 1, &remote, 1, 0) != 4096)
                    die("cannot copy %s from process %d", v->name, pid);
            }
            /* What the installing adds itself: VM_DONTEXPAND, and
             * VM_SOFTDIRTY where the host tracks it. */
            r = mm_install_special_mapping(m->mm, v->start, len, flags & ~(VM_DONTEXPAND | VM_SOFTDIRTY), v->name,
                                           pages);
            for (unsigned long p = 0; pages && p < npages; p++)
                if (pages[p])
                    vm_page_put(pages[p]);
            free(pages);
        } else if (v->inode && v->name[0] == '/') {
            /* execve maps each ELF file through one open: its VMAs share it. */
            struct vm_file *f = NULL;
            for (size_t j = 0; j < nopen; j++)
                if (opened[j].inode == v->inode && !strcmp(opened[j].dev, v->dev))
                    f = opened[j].f;
            if (!f) {
                char path[96];
                snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, v->start, v->end);
                int fd = open(path, (shared && (prot & PROT_WRITE) ? O_RDWR : O_RDONLY) | O_CLOEXEC);
                f = fd >= 0 ? vm_file_open(fd) : NULL;
                if (fd >= 0)
                    close(fd);
                if (!f || nopen == sizeof(opened) / sizeof(opened[0]))
                    die("cannot open %s (%s)", path, v->name);
                opened[nopen].f = f;
                opened[nopen].inode = v->inode;
                snprintf(opened[nopen].dev, sizeof(opened[0].dev), "%s", v->dev);
                nopen++;
            }
            r = mm_mmap(m->mm, v->start, len, prot, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED, f, v->offset);
        } else {
            int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED;
            if (strstr(v->flags, "gd"))
                flags |= MAP_GROWSDOWN;
            r = mm_mmap(m->mm, v->start, len, prot, flags, NULL, 0);
        }
        if (r < 0)
            die("cannot build %lx-%lx %s of process %d: %s", v->start, v->end, v->name, pid, strerror((int)-r));
        /* Made soft-dirty as every new VMA is; the kernel shows the stack
         * without it (setup_arg_pages sets its flags afresh). */
        if (!(cfg.flags & MM_CONFIG_NO_SOFT_DIRTY) && !(flags_of(v->flags) & VM_SOFTDIRTY))
            vma_clear_soft_dirty(m->mm, v->start);
    }
    layout_free(&k);
    for (size_t j = 0; j < nopen; j++)
        vm_file_put(opened[j].f);

    struct mm_layout l = { 0 };
    static const int fields[] = { 26, 27, 45, 46, 47, 28, 48, 49, 50, 51 };
    unsigned long *slots[] = { &l.start_code, &l.end_code, &l.start_data, &l.end_data, &l.start_brk,
                               &l.start_stack, &l.arg_start, &l.arg_end, &l.env_start, &l.env_end };
    bool ok = true;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        ok &= read_stat_field(pid, fields[i], slots[i]) == 0;
    l.brk = l.start_brk;   /* execve leaves the break at its start */
    if (!ok || mm_set_layout(m->mm, &l))
        die("cannot read the layout of process %d", pid);
    return m;
}

static bool read_string(pid_t pid, uint64_t addr, char *buf, size_t size);

/* A NUL-separated /proc file as a NULL-terminated vector (one allocation). */
static char **string_vector(const char *path, char **text)
{
    *text = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf && (n = read(fd, buf + len, cap - len)) > 0)
        if ((len += (size_t)n) == cap)
            buf = realloc(buf, cap *= 2);
    close(fd);
    if (!buf)
        return NULL;
    size_t count = 0;
    for (size_t i = 0; i < len; i++)
        count += !buf[i];
    char **v = calloc(count + 1, sizeof(*v));
    for (size_t i = 0, k = 0, at = 0; v && i < len; i++)
        if (!buf[i]) {
            v[k++] = buf + at;
            at = i + 1;
        }
    *text = buf;
    return v;
}

/* An entry of pid's auxiliary vector, 0 if absent. */
static unsigned long auxv_entry(pid_t pid, unsigned long type)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    unsigned long e[2], v = 0;
    while (fd >= 0 && read(fd, e, sizeof(e)) == sizeof(e) && e[0])
        if (e[0] == type)
            v = e[1];
    if (fd >= 0)
        close(fd);
    return v;
}

/*
 * --exec: the image by mm_exec from the program's file, arguments and
 * environment, then checked against the kernel's: the layout (as at any
 * checkpoint), the entry point and stack pointer, and the stack's bytes
 * from the stack pointer to its top, AT_RANDOM's 16 aside.
 */
static struct tmm *exec_image(struct trace *tr, pid_t pid)
{
    struct mm_config cfg = config_of(tr, pid);
    struct tmm *m = tmm_new(mm_create(&cfg), pid);
    char path[64], *args_text, *env_text;
    snprintf(path, sizeof(path), "/proc/%d/exe", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct vm_file *exe = fd >= 0 ? vm_file_open(fd) : NULL;
    if (fd >= 0)
        close(fd);
    snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
    char **argv = string_vector(path, &args_text);
    snprintf(path, sizeof(path), "/proc/%d/environ", pid);
    char **envp = string_vector(path, &env_text);
    char execfn[4096];
    unsigned long fn = auxv_entry(pid, 31 /* AT_EXECFN */);
    if (!exe || !argv || !envp || !fn || !read_string(pid, fn, execfn, sizeof(execfn)))
        die("cannot read the program of process %d", pid);
    struct mm_exec_args a = { .file = exe, .argv = (const char *const *)argv,
                              .envp = (const char *const *)envp, .execfn = execfn,
                              .flags = MM_EXEC_NO_RANDOMIZE };
    struct mm_exec_result res;
    int r = mm_exec(m->mm, &a, &res);
    vm_file_put(exe);
    free(argv);
    free(envp);
    free(args_text);
    free(env_text);
    if (r)
        die("mm_exec for process %d: %s", pid, strerror(-r));

    struct user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, pid, 0, &regs))
        die("PTRACE_GETREGS: %s", strerror(errno));
    bool same = regs.rip == res.entry && regs.rsp == res.sp;
    unsigned long top = 0, random = auxv_entry(pid, 25 /* AT_RANDOM */);
    struct tlayout k;
    kernel_layout(pid, &k);
    for (size_t i = 0; i < k.n; i++)
        if (k.v[i].start <= regs.rsp && regs.rsp < k.v[i].end)
            top = k.v[i].end;
    layout_free(&k);
    size_t len = top > regs.rsp ? top - regs.rsp : 0;
    char *theirs = malloc(len + 1), *ours = malloc(len + 1);
    struct iovec local = { theirs, len }, remote = { (void *)regs.rsp, len };
    if (!theirs || !ours || process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)len ||
        mm_read(m->mm, regs.rsp, ours, len) != (ssize_t)len)
        same = false;
    else if (random >= regs.rsp && random + 16 <= top) {
        memset(theirs + (random - regs.rsp), 0, 16);
        memset(ours + (random - regs.rsp), 0, 16);
    }
    size_t differ = len;
    for (size_t i = 0; same && i < len; i++)
        if (theirs[i] != ours[i]) {
            differ = i;
            same = false;
        }
    free(theirs);
    free(ours);
    tr->checkpoints++;
    if (same) {
        tr->same_checkpoints++;
    } else {
        fprintf(stderr, "MISMATCH in process %d: mm_exec's image differs from execve's\n", pid);
        fprintf(stderr, "  entry linux %#llx | vmarea %#lx, stack pointer linux %#llx | vmarea %#lx\n",
                regs.rip, res.entry, regs.rsp, res.sp);
        if (differ < len)
            fprintf(stderr, "  the stack's bytes differ first at %#lx\n", (unsigned long)regs.rsp + differ);
        tr->failed = true;
    }
    return m;
}

/* ------------------------------------------------------------ calls */

static bool is_memory_call(uint64_t nr, const uint64_t *a)
{
    switch (nr) {
    case SYS_mmap: case SYS_munmap: case SYS_mprotect: case SYS_mremap: case SYS_madvise:
    case SYS_brk: case SYS_msync: case SYS_mlock: case SYS_munlock: case SYS_mlockall:
    case SYS_munlockall: case SYS_mlock2: case SYS_pkey_mprotect: case SYS_shmat: case SYS_shmdt:
    case SYS_remap_file_pages:
        return true;
#ifdef SYS_mseal
    case SYS_mseal:
        return true;
#endif
    case SYS_prctl:
        return a[0] == PR_SET_VMA;
    default:
        return false;
    }
}

static const char *call_name(uint64_t nr)
{
    switch (nr) {
    case SYS_mmap: return "mmap";
    case SYS_munmap: return "munmap";
    case SYS_mprotect: return "mprotect";
    case SYS_mremap: return "mremap";
    case SYS_madvise: return "madvise";
    case SYS_brk: return "brk";
    case SYS_msync: return "msync";
    case SYS_mlock: return "mlock";
    case SYS_munlock: return "munlock";
    case SYS_mlockall: return "mlockall";
    case SYS_munlockall: return "munlockall";
    case SYS_mlock2: return "mlock2";
    case SYS_pkey_mprotect: return "pkey_mprotect";
    case SYS_prctl: return "prctl";
    case SYS_shmat: return "shmat";
    case SYS_shmdt: return "shmdt";
    default: return "call";
    }
}

/* mmap's file: the thread's own description (pidfd_getfd), and the vm_file
 * made for it the first time it was mapped. */
static void open_call_file(struct trace *tr, struct tthread *t)
{
    t->file = NULL;
    t->file_err = 0;
    if (t->nr != SYS_mmap || (t->args[3] & MAP_ANONYMOUS))
        return;
    int pidfd = (int)syscall(SYS_pidfd_open, t->tgid, 0);
    int fd = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, (int)t->args[4], 0);
    int err = errno;
    if (pidfd >= 0)
        close(pidfd);
    if (fd < 0) {
        t->file_err = err == EBADF || pidfd >= 0 ? -EBADF : -err;
        return;
    }
    for (size_t i = 0; i < tr->nfiles; i++) {
        if (syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, fd, tr->files[i].fd) == 0) {
            close(fd);
            vm_file_get(tr->files[i].f);
            t->file = tr->files[i].f;
            return;
        }
    }
    struct vm_file *f = vm_file_open(fd);
    if (!f) {
        t->file_err = errno == EBADF ? -EBADF : -ENODEV;
        close(fd);
        return;
    }
    if (tr->nfiles == tr->files_cap) {
        tr->files_cap = tr->files_cap ? 2 * tr->files_cap : 32;
        tr->files = realloc(tr->files, tr->files_cap * sizeof(*tr->files));
        if (!tr->files)
            die("out of memory");
    }
    tr->files[tr->nfiles++] = (struct tfile){ f, fd };
    vm_file_get(f);
    t->file = f;
}

static bool read_string(pid_t pid, uint64_t addr, char *buf, size_t size)
{
    struct iovec local = { buf, size - 1 }, remote = { (void *)(uintptr_t)addr, size - 1 };
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return memchr(buf, '\0', (size_t)n) != NULL;
}

/* The call on the twin; *mirrored false for what vmarea cannot do. */
static long mirror(struct tthread *t, bool *mirrored)
{
    struct mm *mm = t->m->mm;
    const uint64_t *a = t->args;
    *mirrored = true;
    switch (t->nr) {
    case SYS_mmap:
        if (!(a[3] & MAP_ANONYMOUS) && !t->file)
            return t->file_err;
        return mm_mmap(mm, a[0], a[1], (int)a[2], (int)a[3], (a[3] & MAP_ANONYMOUS) ? NULL : t->file, a[5]);
    case SYS_munmap: return mm_munmap(mm, a[0], a[1]);
    case SYS_mprotect: return mm_mprotect(mm, a[0], a[1], (int)a[2]);
    case SYS_pkey_mprotect:
        if ((int)a[3] == -1)
            return mm_mprotect(mm, a[0], a[1], (int)a[2]);
        break;
    case SYS_mremap: return mm_mremap(mm, a[0], a[1], a[2], (int)a[3], a[4]);
    case SYS_madvise: return mm_madvise(mm, a[0], a[1], (int)a[2]);
    case SYS_brk: return mm_brk(mm, a[0]);
    case SYS_msync: return mm_msync(mm, a[0], a[1], (int)a[2]);
    case SYS_mlock: return mm_mlock(mm, a[0], a[1], 0);
    case SYS_mlock2: return mm_mlock(mm, a[0], a[1], (unsigned)a[2]);
    case SYS_munlock: return mm_munlock(mm, a[0], a[1]);
    case SYS_mlockall: return mm_mlockall(mm, (int)a[0]);
    case SYS_munlockall: return mm_munlockall(mm);
    case SYS_prctl:
        if (a[1] == PR_SET_VMA_ANON_NAME) {
            char name[96];
            if (!a[4])
                return mm_set_anon_name(mm, a[2], a[3], NULL);
            if (read_string(t->tid, a[4], name, sizeof(name)))
                return mm_set_anon_name(mm, a[2], a[3], name);
        }
        break;
    default:
        break;
    }
    *mirrored = false;
    return -ENOSYS;
}

static void call_text(char *buf, size_t size, const struct tthread *t, long kernel, long ours)
{
    const uint64_t *a = t->args;
    int n = snprintf(buf, size, "%d: %s(%#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ")",
                     t->tid, call_name(t->nr), a[0], a[1], a[2], a[3], a[4], a[5]);
    if (n > 0 && (size_t)n < size) {
        if (kernel == ours)
            snprintf(buf + n, size - (size_t)n, " = %#lx", (unsigned long)kernel);
        else if (kernel >= 0 && ours >= 0)
            snprintf(buf + n, size - (size_t)n, " = linux %#lx | vmarea %#lx", (unsigned long)kernel,
                     (unsigned long)ours);
        else if (kernel >= 0)
            snprintf(buf + n, size - (size_t)n, " = linux %#lx | vmarea %ld", (unsigned long)kernel, ours);
        else
            snprintf(buf + n, size - (size_t)n, " = linux %ld | vmarea %#lx", kernel, (unsigned long)ours);
    }
}

static void call_exit(struct trace *tr, struct tthread *t, long kernel)
{
    struct tmm *m = t->m;
    bool mirrored;
    sync_after(m, t, kernel);
    long ours = mirror(t, &mirrored);
    if (t->file) {
        vm_file_put(t->file);
        t->file = NULL;
    }
    t->in_call = false;
    m->busy = 0;
    char text[sizeof(m->history[0])];
    call_text(text, sizeof(text), t, kernel, ours);
    tr->calls++;
    if (!mirrored) {
        tr->unmirrored++;
        fprintf(stderr, "MISMATCH in process %d: vmarea cannot mirror %s\n", t->tgid, text);
        report_history(stderr, m);
        tr->failed = true;
        return;
    }
    snprintf(m->history[m->calls % HISTORY], sizeof(m->history[0]), "%s", text);
    m->calls++;
    if (kernel != ours) {
        fprintf(stderr, "MISMATCH in process %d: a call's result differs\n", t->tgid);
        report_history(stderr, m);
        struct tlayout k, o;
        kernel_layout(t->tgid, &k);
        vmarea_layout(m->mm, &o);
        fprintf(stderr, "  ('*': no identical VMA on the other side)\n");
        layout_print(stderr, "linux", &k, &o);
        layout_print(stderr, "vmarea", &o, &k);
        layout_free(&k);
        layout_free(&o);
        tr->failed = true;
        return;
    }
    tr->same_calls++;
    if (tr->every && tr->calls % tr->every == 0) {
        char when[64];
        snprintf(when, sizeof(when), "call %lu", tr->calls);
        checkpoint(tr, t->tgid, m, when);
    }
}

/* ------------------------------------------------------------ the loop */

static void resume(struct tthread *t, int sig)
{
    if (ptrace(PTRACE_SYSCALL, t->tid, 0, (void *)(uintptr_t)sig) && errno != ESRCH)
        die("PTRACE_SYSCALL %d: %s", t->tid, strerror(errno));
}

/* A thread held at a memory call's entry goes on once its mm is free. */
static void release_held(struct trace *tr, struct tmm *m)
{
    for (size_t i = 0; i < tr->n && !m->busy; i++) {
        struct tthread *t = tr->t[i];
        if (t->held && t->m == m) {
            t->held = false;
            t->in_call = true;
            m->busy = t->tid;
            sync_before(m, t);
            open_call_file(tr, t);
            resume(t, 0);
        }
    }
}

static void on_syscall_stop(struct trace *tr, struct tthread *t)
{
    struct __ptrace_syscall_info info;
    if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, sizeof(info), &info) <= 0)
        die("PTRACE_GET_SYSCALL_INFO: %s", strerror(errno));
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
        t->nr = info.entry.nr;
        memcpy(t->args, info.entry.args, sizeof(t->args));
        if (t->m && is_memory_call(t->nr, t->args)) {
            if (t->m->busy && t->m->busy != t->tid) {
                t->held = true;   /* resumed by release_held */
                return;
            }
            t->in_call = true;
            t->m->busy = t->tid;
            sync_before(t->m, t);
            open_call_file(tr, t);
        }
    } else if (info.op == PTRACE_SYSCALL_INFO_EXIT && t->in_call) {
        call_exit(tr, t, info.exit.rval);
        release_held(tr, t->m);
    }
    resume(t, 0);
}

static void progress(struct trace *tr)
{
    if (!tr->progress)
        return;
    time_t now = time(NULL);
    if (now == tr->last_progress)
        return;
    tr->last_progress = now;
    fprintf(stderr, "\r%lu processes, %lu calls mirrored, %lu checkpoints ", tr->processes, tr->calls,
            tr->checkpoints);
}

/* A new child's mm, at the fork, vfork or clone event of its parent.  Its
 * first stop may have come first (then it waits for this) or may follow. */
static void on_new_child(struct trace *tr, struct tthread *parent, pid_t child, int event)
{
    struct tthread *c = find_thread(tr, child);
    bool stopped = c != NULL;
    if (!c)
        c = add_thread(tr, child);
    bool share = event == PTRACE_EVENT_VFORK, thread = false;
    if (event == PTRACE_EVENT_CLONE) {
        uint64_t flags = parent->args[0];
        if (parent->nr == SYS_clone3) {
            struct iovec local = { &flags, sizeof(flags) }, remote = { (void *)(uintptr_t)parent->args[0], 8 };
            if (process_vm_readv(parent->tid, &local, 1, &remote, 1, 0) != 8)
                flags = 0;
        }
        share = flags & CLONE_VM;
        thread = flags & 0x00010000;   /* CLONE_THREAD */
    }
    c->tgid = thread ? parent->tgid : child;
    if (parent->m && share) {
        c->m = parent->m;
        c->m->users++;
    } else if (parent->m) {
        sync_anon(parent->m);
        c->m = tmm_new(mm_fork(parent->m->mm), child);
    }
    if (!thread)
        tr->processes++;
    if (stopped) {
        c->pending = false;
        if (c->m && !share)
            checkpoint(tr, child, c->m, "fork");
        resume(c, 0);
    }
}

int vmarea_trace(int argc, char **argv)
{
    struct trace tr = { 0 };
    static const struct option longopts[] = {
        { "every", required_argument, NULL, 'e' },
        { "exec", no_argument, NULL, 'x' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+e:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'x':
            tr.exec = true;
            break;
        case 'e': {
            char *end;
            tr.every = strtoul(optarg, &end, 10);
            if (*end || end == optarg)
                die("--every wants a number, not '%s'", optarg);
            break;
        }
        case 'h':
            printf("usage: vmarea trace [--exec] [--every N] -- PROGRAM [ARGS...]\n");
            return 0;
        default:
            return 2;
        }
    }
    if (optind >= argc)
        die("no program to trace (vmarea trace [--exec] [--every N] -- PROGRAM [ARGS...])");
    if (mm_config_from_host(&tr.cfg))
        die("cannot probe the host");
    tr.progress = isatty(STDERR_FILENO);

    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        personality(ADDR_NO_RANDOMIZE);
        if (ptrace(PTRACE_TRACEME, 0, 0, 0)) {
            fprintf(stderr, "%s: trace: ptrace is not allowed here: %s\n", prog, strerror(errno));
            _exit(127);
        }
        raise(SIGSTOP);
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "%s: trace: cannot run %s: %s\n", prog, argv[optind], strerror(errno));
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
        die("the program did not start");
    long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
                PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL;
    if (ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)opts))
        die("PTRACE_SETOPTIONS: %s", strerror(errno));
    struct tthread *first = add_thread(&tr, pid);
    first->started = true;
    tr.processes = 1;
    resume(first, 0);

    int exit_status = 0;
    while (tr.n && !tr.failed) {
        pid_t tid = waitpid(-1, &st, __WALL);
        if (tid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        struct tthread *t = find_thread(&tr, tid);
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            if (tid == pid)
                exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            if (t)
                remove_thread(&tr, t);
            continue;
        }
        if (!WIFSTOPPED(st))
            continue;
        if (!t) {
            /* A new child's first stop, before its parent's event. */
            t = add_thread(&tr, tid);
            t->pending = true;
            t->started = true;
            continue;
        }
        int sig = WSTOPSIG(st), event = st >> 16;
        if (sig == (SIGTRAP | 0x80)) {
            on_syscall_stop(&tr, t);
        } else if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE) {
            unsigned long child;
            ptrace(PTRACE_GETEVENTMSG, tid, 0, &child);
            on_new_child(&tr, t, (pid_t)child, event);
            resume(t, 0);
        } else if (event == PTRACE_EVENT_EXEC) {
            unsigned long old;
            ptrace(PTRACE_GETEVENTMSG, tid, 0, &old);
            if ((pid_t)old != tid) {
                /* A thread other than the leader ran execve: it is the leader now. */
                struct tthread *o = find_thread(&tr, (pid_t)old);
                if (o && o != t) {
                    o->tid = -1;
                    remove_thread(&tr, o);
                }
            }
            tmm_put(t->m);
            t->m = tr.exec ? exec_image(&tr, tid) : image_of(&tr, tid);
            t->tgid = tid;
            t->in_call = false;
            checkpoint(&tr, tid, t->m, "exec");
            resume(t, 0);
        } else if (event == PTRACE_EVENT_EXIT) {
            if (t->m && t->m->users == 1)
                checkpoint(&tr, t->tgid, t->m, "exit");
            resume(t, 0);
        } else if (sig == SIGSTOP && !t->started) {
            /* A new child's first stop, after its parent's event. */
            t->started = true;
            if (t->m && t->m->users == 1 && t->tgid == t->tid)
                checkpoint(&tr, t->tid, t->m, "fork");
            resume(t, 0);
        } else {
            /* A stop signal's second report is the group-stop itself (no
             * siginfo): passing the signal again would stop it forever. */
            siginfo_t si;
            bool group_stop = (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) &&
                              ptrace(PTRACE_GETSIGINFO, tid, 0, &si) && errno == EINVAL;
            resume(t, sig == SIGTRAP || group_stop ? 0 : sig);
        }
        progress(&tr);
    }
    if (tr.progress)
        fputc('\n', stderr);
    if (tr.failed) {
        kill(pid, SIGKILL);
        for (size_t i = 0; i < tr.n; i++)
            kill(tr.t[i]->tid, SIGKILL);
    }
    while (tr.n)
        remove_thread(&tr, tr.t[tr.n - 1]);
    free(tr.t);
    for (size_t i = 0; i < tr.nfiles; i++) {
        vm_file_put(tr.files[i].f);
        close(tr.files[i].fd);
    }
    free(tr.files);
    if (!tr.failed && exit_status)
        fprintf(stderr, "vmarea trace: %s exited with status %d\n", argv[optind], exit_status);
    fprintf(stderr, "vmarea trace: %lu processes, %lu calls mirrored, %lu identical; %lu layout checkpoints, "
           "%lu identical%s\n", tr.processes, tr.calls, tr.same_calls, tr.checkpoints, tr.same_checkpoints,
           tr.failed ? "" : ": the same address spaces");
    return tr.failed ? 1 : 0;
}

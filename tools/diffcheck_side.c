/* SPDX-License-Identifier: MIT */
/*
 * diffcheck_side.c — the two sides of a comparison.  Each is a child
 * process forked to run one op list: the linux side runs the ops as
 * syscalls on its own address space and parses /proc/self/smaps; the vmarea
 * side runs them as mm_* calls on a fresh mm and parses mm_show_smaps.  Each
 * writes its results to a pipe, and the parent decodes that stream here.
 *
 * Both sides run in children so that neither a crash nor a hang in the
 * library, nor a syscall gone wrong, can take the checker down: the parent
 * sees a short stream and the child's wait status, and reports the seed.
 * The children are forked from a process with threads; they use only
 * syscalls and the allocation-free parser (linux side), or start from a
 * fresh mm of their own (vmarea side; glibc's fork leaves malloc usable).
 *
 * The wire format child -> parent is a stream of records, native byte order:
 *   'R' int64 ret, uint64 aux          one per op, in order; aux is the hash
 *                                      of the bytes a DC_READ read, else 0
 *   'L' uint32 n, uint32 truncated, uint32 outside, n * struct dc_vma
 *                                      a layout: after every op (replay), or
 *                                      once after the last op
 *   'H' uint32 n, n * struct dc_page   the contents of the view's pages after
 *                                      the last layout (memory ops on)
 *   'F' uint64 hash                    the file's bytes once nothing maps it
 *   'E' char msg[160]                  the side could not run; stop
 *   'D'                                done (absent: the child died)
 */
#define _GNU_SOURCE
#include "diffcheck_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* ----------------------------------------------------- one op, each side */

static long vmarea_access(struct mm *mm, const struct dc_op *op, uint64_t *aux)
{
    void *buf = malloc(op->len ? op->len : 1);
    if (!buf)
        return -ENOMEM;
    long r;
    if (op->kind == DC_WRITE) {
        for (unsigned long i = 0; i < op->len; i++)
            ((unsigned char *)buf)[i] = dc_fill_byte(op->fill, op->addr + i);
        r = mm_write(mm, op->addr, buf, op->len);
    } else {
        r = mm_read(mm, op->addr, buf, op->len);
        if (r >= 0 && aux)
            *aux = dc_hash_bytes(buf, (size_t)r);
    }
    free(buf);
    return r;
}

/*
 * The sequence's memfd or file, on each side (each runs in a process of its
 * own).  A file is created by the side itself, in a directory of the
 * options' choice (disk) or in /dev/shm (tmpfs), named after the side's
 * pid, and unlinked at once, so that nothing is left behind whatever
 * happens to the child; maps name it "DIR/vmarea-check-PID (deleted)",
 * which child_snapshot shows as "DIR/vmarea-check (deleted)" on both
 * sides.  obj_fd is the
 * side's own descriptor of the file, to read its bytes.
 */
static struct vm_file *vmarea_obj;
static int kernel_obj = -1, obj_fd = -1;

/* DC_FILE: the file, filled, synced (every page cached and clean),
 * unlinked, and open as asked; its descriptor or -errno.  Syscalls only. */
static const char *disk_dir;

void dc_file_dir_set(const char *dir)
{
    disk_dir = dir;
}

static int file_create(const struct dc_op *op)
{
    const char *dir = op->flags & DC_FILE_TMPFS ? "/dev/shm" : disk_dir ? disk_dir : "/var/tmp";
    char obj_path[512];
    snprintf(obj_path, sizeof(obj_path), "%s/vmarea-check-%d", dir, (int)getpid());
    unlink(obj_path);
    int fd = open(obj_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    unsigned char page[PAGE];
    int err = 0;
    for (unsigned long off = 0; off < op->len && !err; off += PAGE) {
        unsigned long n = op->len - off < PAGE ? op->len - off : PAGE;
        memset(page, dc_file_byte(off / PAGE), n);
        if (write(fd, page, n) != (ssize_t)n)   /* page by page: small folios */
            err = -EIO;
    }
    if (!err && fdatasync(fd))
        err = -errno;
    int ofd = err ? -1 : (op->flags & DC_FILE_RDONLY) ? open(obj_path, O_RDONLY | O_CLOEXEC) : dup(fd);
    if (!err && ofd < 0)
        err = -errno;
    /* An open of its own to read the bytes back, without read-ahead: a
     * read-ahead would fill the page cache with large folios, which the
     * mappings would then fault in by the folio. */
    if (!err && (obj_fd = open(obj_path, O_RDONLY | O_CLOEXEC)) >= 0)
        posix_fadvise(obj_fd, 0, 0, POSIX_FADV_RANDOM);
    unlink(obj_path);
    close(fd);
    return err ? err : ofd;
}

/* FNV-1a of the file's bytes now; 0 with no file. */
static uint64_t file_hash(void)
{
    if (obj_fd < 0)
        return 0;
    uint64_t h = 14695981039346656037ULL;
    unsigned char buf[PAGE];
    ssize_t n;
    for (off_t off = 0; (n = pread(obj_fd, buf, sizeof(buf), off)) > 0; off += n)
        for (ssize_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 1099511628211ULL;
    return h ^ (uint64_t)lseek(obj_fd, 0, SEEK_END);
}

static void obj_drop(void)
{
    if (vmarea_obj)
        vm_file_put(vmarea_obj);
    vmarea_obj = NULL;
    if (kernel_obj >= 0)
        close(kernel_obj);
    kernel_obj = -1;
    if (obj_fd >= 0)
        close(obj_fd);
    obj_fd = -1;
}

/* The sequence's forked child, on the vmarea side. */
static struct mm *vmarea_child;

uint64_t dc_vmarea_end(void)
{
    if (vmarea_child)
        mmput(vmarea_child);   /* after the parent: it may hold the parent's pages */
    vmarea_child = NULL;
    if (vmarea_obj)
        vm_file_put(vmarea_obj);
    vmarea_obj = NULL;
    uint64_t h = file_hash();
    obj_drop();
    return h;
}

/* DC_FILE on the vmarea side: the file, through vm_file_open. */
static long vmarea_file(const struct dc_op *op)
{
    obj_drop();
    int fd = file_create(op);
    if (fd < 0)
        return fd;
    vmarea_obj = vm_file_open(fd);
    long r = vmarea_obj ? 0 : -errno;
    close(fd);   /* the vm_file has its own */
    return r;
}

long dc_vmarea_apply(struct mm *mm, const struct dc_op *op, uint64_t *aux)
{
    if (aux)
        *aux = 0;
    if (op->child) {
        if (op->kind == DC_FORK || op->kind == DC_MEMFD || op->kind == DC_FILE || op->kind == DC_TRUNCATE)
            return -EINVAL;   /* the sequence's child forks nothing, and shares its file */
        if (!vmarea_child)
            return -ESRCH;
        mm = vmarea_child;
    }
    switch (op->kind) {
    case DC_FORK:
        if (vmarea_child)
            mmput(vmarea_child);
        vmarea_child = mm_fork(mm);
        return vmarea_child ? 0 : -errno;
    case DC_MMAP:
        return mm_mmap(mm, op->addr, op->len, op->prot, op->flags, op->file ? vmarea_obj : NULL,
                       op->offset);
    case DC_MEMFD:
        obj_drop();
        vmarea_obj = vm_file_memfd("dc", op->len);
        return vmarea_obj ? 0 : -errno;
    case DC_TRUNCATE:
        return vmarea_obj ? vm_file_truncate(vmarea_obj, op->len) : -EBADF;
    case DC_FILE:
        return vmarea_file(op);
    case DC_MSYNC: {
        long r = mm_msync(mm, op->addr, op->len, op->flags);
        if (aux)
            *aux = file_hash();
        return r;
    }
    case DC_MUNMAP:
        return mm_munmap(mm, op->addr, op->len);
    case DC_MPROTECT:
        return mm_mprotect(mm, op->addr, op->len, op->prot);
    case DC_MADVISE:
        return mm_madvise(mm, op->addr, op->len, op->advice);
    case DC_MLOCK:
        return mm_mlock(mm, op->addr, op->len, 0);
    case DC_MLOCK2:
        return mm_mlock(mm, op->addr, op->len, (unsigned)op->flags);
    case DC_MUNLOCK:
        return mm_munlock(mm, op->addr, op->len);
    case DC_MLOCKALL:
        return mm_mlockall(mm, op->flags);
    case DC_MUNLOCKALL:
        return mm_munlockall(mm);
    case DC_MREMAP:
        return mm_mremap(mm, op->addr, op->len, op->new_len, op->flags, op->new_addr);
    case DC_WRITE:
    case DC_READ:
        return vmarea_access(mm, op, aux);
    default:
        return -EINVAL;
    }
}

static long sysret(long r)
{
    return r == -1 ? -errno : r;
}

/*
 * The sequence's forked child, on the kernel side: a process of its own,
 * which runs the ops it is sent (a struct dc_op; the answer is int64 ret,
 * uint64 aux) and, sent an op of kind DC_NR_OP_KINDS, its layout of the
 * view (struct dc_layout).  It exits when the pipe closes.
 */
static pid_t kchild = -1;
static int kchild_to = -1, kchild_from = -1;
static struct child *kself;   /* the side running this sequence */

static long kernel_apply(const struct dc_op *op, uint64_t *aux);
static __attribute__((noreturn)) void kernel_child_loop(int in, int out);

static void kernel_child_end(void)
{
    if (kchild < 0)
        return;
    close(kchild_to);
    close(kchild_from);
    waitpid(kchild, NULL, 0);
    kchild = -1;
}

static bool io_all(int fd, void *p, size_t n, bool out)
{
    for (size_t done = 0; done < n; ) {
        ssize_t k = out ? write(fd, (const char *)p + done, n - done) : read(fd, (char *)p + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        done += (size_t)k;
    }
    return true;
}

static long kernel_fork(void)
{
    kernel_child_end();
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC))
        return -errno;
    if (pipe2(from, O_CLOEXEC)) {
        close(to[0]);
        close(to[1]);
        return -errno;
    }
    pid_t pid = fork();
    if (pid < 0) {
        long e = -errno;
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        return e;
    }
    if (pid == 0) {
        close(to[1]);
        close(from[0]);
        kernel_child_loop(to[0], from[1]);
    }
    close(to[0]);
    close(from[1]);
    kchild = pid;
    kchild_to = to[1];
    kchild_from = from[0];
    return 0;
}

/* An op for the child: sent, and its answer read (-ESRCH: no child). */
static long kernel_child_apply(const struct dc_op *op, uint64_t *aux)
{
    int64_t r;
    if (kchild < 0)
        return -ESRCH;
    if (!io_all(kchild_to, (void *)op, sizeof(*op), true) || !io_all(kchild_from, &r, sizeof(r), false) ||
        !io_all(kchild_from, aux, sizeof(*aux), false))
        return -ECHILD;
    return (long)r;
}

static long kernel_apply(const struct dc_op *op, uint64_t *aux)
{
    *aux = 0;
    if (op->child && (op->kind == DC_FORK || op->kind == DC_MEMFD || op->kind == DC_FILE || op->kind == DC_TRUNCATE))
        return -EINVAL;
    if (op->child)
        return kernel_child_apply(op, aux);
    switch (op->kind) {
    case DC_FORK:
        return kernel_fork();
    case DC_MMAP:
        return sysret(syscall(SYS_mmap, op->addr, op->len, op->prot, op->flags, op->file ? kernel_obj : -1,
                              op->offset));
    case DC_MEMFD:
        obj_drop();
        kernel_obj = (int)sysret(syscall(SYS_memfd_create, "dc", MFD_ALLOW_SEALING));
        if (kernel_obj < 0)
            return kernel_obj;
        return sysret(syscall(SYS_ftruncate, kernel_obj, op->len));
    case DC_TRUNCATE:
        return kernel_obj < 0 ? -EBADF : sysret(syscall(SYS_ftruncate, kernel_obj, op->len));
    case DC_FILE:
        obj_drop();
        if ((kernel_obj = file_create(op)) < 0)
            return kernel_obj;
        return 0;
    case DC_MSYNC: {
        long r = sysret(syscall(SYS_msync, op->addr, op->len, op->flags));
        *aux = file_hash();
        return r;
    }
    case DC_MUNMAP:
        return sysret(syscall(SYS_munmap, op->addr, op->len));
    case DC_MPROTECT:
        return sysret(syscall(SYS_mprotect, op->addr, op->len, op->prot));
    case DC_MADVISE:
        return sysret(syscall(SYS_madvise, op->addr, op->len, op->advice));
    case DC_MLOCK:
        return sysret(syscall(SYS_mlock, op->addr, op->len));
    case DC_MLOCK2:
        return sysret(syscall(SYS_mlock2, op->addr, op->len, op->flags));
    case DC_MUNLOCK:
        return sysret(syscall(SYS_munlock, op->addr, op->len));
    case DC_MLOCKALL:
        return sysret(syscall(SYS_mlockall, op->flags));
    case DC_MUNLOCKALL:
        return sysret(syscall(SYS_munlockall));
    case DC_MREMAP:
        return sysret(syscall(SYS_mremap, op->addr, op->len, op->new_len, op->flags, op->new_addr));
    case DC_WRITE:
        return dc_kernel_write(op->addr, op->len, op->fill);
    case DC_READ:
        return dc_kernel_read(op->addr, op->len, aux);
    default:
        return -EINVAL;
    }
}

/* ------------------------------------------------------------ the child */

/* Memory a child uses, allocated by the parent before fork. */
struct scratch {
    struct dc_layout layout;
    struct dc_layout child_layout;   /* the forked child's, appended to layout */
    struct dc_page pages[MAX_VIEW_PAGES];
    unsigned char pagebuf[PAGE];
    char rbuf[4096];            /* /proc/self/smaps, a few VMAs at a time */
    size_t olen;
    char obuf[1 << 17];         /* records not yet written */
};

struct scratch *dc_scratch_new(void)
{
    return malloc(sizeof(struct scratch));
}

struct child {
    const struct cfg *c;
    struct scratch *s;
    int fd;
    bool vmarea;                /* else the kernel */
    bool perturbed;             /* the side the perturb hook applies to */
    struct mm *mm;
};

static void child_flush(struct child *ch)
{
    size_t off = 0;
    while (off < ch->s->olen) {
        ssize_t n = write(ch->fd, ch->s->obuf + off, ch->s->olen - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(3);
        off += (size_t)n;
    }
    ch->s->olen = 0;
}

static void child_put(struct child *ch, const void *p, size_t len)
{
    const char *src = p;
    while (len) {
        if (ch->s->olen == sizeof(ch->s->obuf))
            child_flush(ch);
        size_t n = sizeof(ch->s->obuf) - ch->s->olen;
        if (n > len)
            n = len;
        memcpy(ch->s->obuf + ch->s->olen, src, n);
        ch->s->olen += n;
        src += n;
        len -= n;
    }
}

static void child_tag(struct child *ch, char tag)
{
    uint32_t t = (uint32_t)tag;
    child_put(ch, &t, sizeof(t));
}

static __attribute__((noreturn)) void child_fail(struct child *ch, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    memset(msg, 0, sizeof(msg));
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    child_tag(ch, 'E');
    child_put(ch, msg, sizeof(msg));
    child_flush(ch);
    _exit(0);
}

static void kernel_snapshot_into(struct child *ch, struct dc_layout *l)
{
    struct dc_smaps_parser p;
    int fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        child_fail(ch, "cannot open /proc/self/smaps: %s", dc_errno_name(errno));
    dc_smaps_begin(&p, ch->c->view_lo, ch->c->view_hi, l);
    /* smaps lists VMAs in address order, and the kernel formats only as
     * much as a read asks for: reading a few VMAs at a time and stopping
     * past the view spares formatting the rest of the process (most of the
     * cost of a sequence when the window lies below the program). */
    while (!p.past) {
        ssize_t n = read(fd, ch->s->rbuf, 4096);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            child_fail(ch, "reading /proc/self/smaps: %s", dc_errno_name(errno));
        if (n == 0)
            break;
        dc_smaps_feed(&p, ch->s->rbuf, (size_t)n);
    }
    close(fd);
    if (dc_smaps_end(&p) < 0)
        child_fail(ch, "linux: unparsable line in /proc/self/smaps");
}

static void vmarea_snapshot_into(struct child *ch, struct mm *mm, struct dc_layout *l)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        child_fail(ch, "open_memstream failed");
    int r = mm_show_smaps(mm, f);
    fclose(f);
    if (r < 0) {
        free(text);
        child_fail(ch, "mm_show_smaps returned -%s", dc_errno_name(-r));
    }
    int pr = dc_smaps_parse(text, len, ch->c->view_lo, ch->c->view_hi, l);
    free(text);
    if (pr < 0)
        child_fail(ch, "vmarea: unparsable header line in mm_show_smaps output");
    /* The mm's Rss counters (kept per thread, src/mm_counter.c) must add up
     * to what smaps counts from the page tables VMA by VMA, which the
     * comparison then holds against the kernel's.  The mm maps nothing
     * outside the view, so the VMAs parsed are all of them. */
    if (!l->truncated && !l->outside) {
        uint64_t kb = 0;
        for (unsigned i = 0; i < l->n; i++)
            kb += l->v[i].rss_kb;
        struct mm_stats st;
        mm_get_stats(mm, &st);
        uint64_t counted = (uint64_t)(st.rss_anon + st.rss_file + st.rss_shmem) * 4;
        if (counted != kb)
            child_fail(ch, "vmarea: mm_get_stats counts %llu kB of Rss, smaps %llu kB",
                       (unsigned long long)counted, (unsigned long long)kb);
    }
}

/* The forked child's side of the pipes (kernel_fork). */
static void kernel_child_loop(int in, int out)
{
    struct dc_op op;
    kchild = -1;   /* a fork of its own would be a grandchild: none is made */
    while (io_all(in, &op, sizeof(op), false)) {
        if (op.kind == DC_NR_OP_KINDS) {
            kernel_snapshot_into(kself, &kself->s->child_layout);
            if (!io_all(out, &kself->s->child_layout, sizeof(kself->s->child_layout), true))
                _exit(3);
            continue;
        }
        op.child = false;
        uint64_t aux;
        int64_t r = kernel_apply(&op, &aux);
        if (!io_all(out, &r, sizeof(r), true) || !io_all(out, &aux, sizeof(aux), true))
            _exit(3);
    }
    _exit(0);
}

/* The forked child's layout, its VMAs appended to the parent's with their
 * addresses moved up by DC_CHILD_OFFSET. */
static void child_of_snapshot(struct child *ch)
{
    struct dc_layout *l = &ch->s->layout, *c = &ch->s->child_layout;
    if (ch->vmarea) {
        if (!vmarea_child)
            return;
        vmarea_snapshot_into(ch, vmarea_child, c);
    } else {
        if (kchild < 0)
            return;
        struct dc_op snap = { .kind = DC_NR_OP_KINDS };
        if (!io_all(kchild_to, &snap, sizeof(snap), true) || !io_all(kchild_from, c, sizeof(*c), false))
            child_fail(ch, "linux: the forked child gave no layout");
        c->outside = 0;
    }
    for (unsigned i = 0; i < c->n; i++) {
        if (l->n == DC_MAX_VMAS) {
            l->truncated = true;
            break;
        }
        l->v[l->n] = c->v[i];
        l->v[l->n].start += DC_CHILD_OFFSET;
        l->v[l->n].end += DC_CHILD_OFFSET;
        l->n++;
    }
    l->truncated |= c->truncated;
    l->outside += c->outside;
}

static void child_snapshot(struct child *ch)
{
    if (ch->vmarea)
        vmarea_snapshot_into(ch, ch->mm, &ch->s->layout);
    else
        kernel_snapshot_into(ch, &ch->s->layout);
    child_of_snapshot(ch);
    struct dc_layout *l = &ch->s->layout;
    /* The vmarea mm holds nothing but what the ops mapped in the window (a
     * mapping that lands elsewhere is unmapped at once), so any VMA outside
     * the view is a bug.  The process on the kernel side has its program
     * out there, and reads only as far as the view: it counts none. */
    if (!ch->vmarea)
        l->outside = 0;
    /* Each side's files have paths of their own, DIR/vmarea-check-PID:
     * both show as DIR/vmarea-check. */
    for (unsigned i = 0; i < l->n; i++) {
        char *name = l->v[i].name, *p = strstr(name, "/vmarea-check-");
        char *end = p ? p + strlen("/vmarea-check-") : NULL;
        if (!p || strtol(end, &end, 10) != (long)getpid())
            continue;
        memmove(p + strlen("/vmarea-check"), end, strlen(end) + 1);
    }
    uint32_t hdr[3] = { l->n, l->truncated, l->outside };
    child_tag(ch, 'L');
    child_put(ch, hdr, sizeof(hdr));
    child_put(ch, l->v, l->n * sizeof(l->v[0]));
}

/* Nothing mapped in the view: map all of it with MAP_FIXED_NOREPLACE, which
 * fails (or, before Linux 4.17, lands elsewhere) if anything is in the way. */
static void kernel_begin(struct child *ch)
{
    unsigned long lo = ch->c->view_lo, len = ch->c->view_hi - lo;
    long r = sysret(syscall(SYS_mmap, lo, len, PROT_NONE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0));
    if (r >= 0)
        syscall(SYS_munmap, r, len);
    if (r != (long)lo)
        child_fail(ch, "linux: the window %#lx-%#lx is not free in the child (%s)", lo, lo + len,
                   r < 0 ? dc_errno_name((int)-r) : "MAP_FIXED_NOREPLACE unsupported");
    /* vmarea does not model huge-page faults yet: with memory ops both
     * sides are a Linux without THP (the vmarea mm is created with
     * MM_THP_NEVER, which shows THPeligible 0 as this does). */
    if (ch->c->memory && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
        child_fail(ch, "linux: prctl(PR_SET_THP_DISABLE): %s", dc_errno_name(errno));
}

/*
 * The contents of every page of the view that a VMA of the last snapshot
 * covers: read after that snapshot, because reading maps pages (the zero
 * page; a shared anonymous page is even allocated).  Pages outside every
 * VMA are not touched: a load below a VM_GROWSDOWN VMA would grow it.
 */
static void child_pages(struct child *ch)
{
    const struct cfg *c = ch->c;
    const struct dc_layout *l = &ch->s->layout;
    struct dc_page *pages = ch->s->pages;
    unsigned n = c->view_pages;
    for (unsigned i = 0; i < n; i++)
        pages[i] = (struct dc_page){ .fill = DC_PAGE_UNREADABLE };
    for (unsigned k = 0; k < l->n; k++) {
        unsigned long s = l->v[k].start < c->view_lo ? c->view_lo : l->v[k].start;
        unsigned long e = l->v[k].end > c->view_hi ? c->view_hi : l->v[k].end;
        for (unsigned long a = s; a < e; a += PAGE) {
            struct dc_page *pg = &pages[(a - c->view_lo) / PAGE];
            if (ch->vmarea) {
                if (mm_read(ch->mm, a, ch->s->pagebuf, PAGE) != (ssize_t)PAGE)
                    continue;
                dc_page_summarize(ch->s->pagebuf, pg);
            } else {
                if (!dc_kernel_page_readable(a))
                    continue;
                dc_page_summarize((const void *)a, pg);
            }
        }
    }
    uint32_t hdr = n;
    child_tag(ch, 'H');
    child_put(ch, &hdr, sizeof(hdr));
    child_put(ch, pages, n * sizeof(pages[0]));
}

static __attribute__((noreturn)) void child_main(struct child *ch, const struct dc_op *ops,
                                                 unsigned n, uint64_t seed, bool per_op)
{
    const struct cfg *c = ch->c;
    kself = ch;
    alarm(c->o.timeout_seconds);
    if (ch->vmarea) {
        ch->mm = mm_create(&c->mmcfg);
        if (!ch->mm)
            child_fail(ch, "vmarea: mm_create failed");
    } else {
        kernel_begin(ch);
    }
    for (unsigned i = 0; i < n; i++) {
        const struct dc_op *op = &ops[i];
        uint64_t aux = 0, unused;
        long ret = ch->vmarea ? dc_vmarea_apply(ch->mm, op, &aux) : kernel_apply(op, &aux);
        if ((op->kind == DC_MMAP || op->kind == DC_MREMAP) && ret >= 0 &&
            ((unsigned long)ret < c->view_lo || (unsigned long)ret >= c->view_hi)) {
            unsigned long len = op->kind == DC_MMAP ? op->len : op->new_len;
            struct dc_op un = { .kind = DC_MUNMAP, .addr = (unsigned long)ret, .len = page_align(len),
                                .child = op->child };
            if (ch->vmarea)
                dc_vmarea_apply(ch->mm, &un, &unused);
            else
                kernel_apply(&un, &unused);
            ret = DC_RET_ELSEWHERE;
        }
        if (ch->perturbed && c->o.perturb)
            ret = c->o.perturb(c->o.perturb_arg, ch->mm, seed, i, op, ret);
        int64_t r64 = ret;
        child_tag(ch, 'R');
        child_put(ch, &r64, sizeof(r64));
        child_put(ch, &aux, sizeof(aux));
        if (per_op) {
            child_snapshot(ch);
            child_flush(ch);
        }
    }
    if (!per_op)
        child_snapshot(ch);
    if (c->memory)
        child_pages(ch);
    child_flush(ch);
    /* The file's bytes once everything that mapped it is gone. */
    uint64_t fh;
    if (ch->vmarea) {
        mmput(ch->mm);      /* teardown bugs show as "died after the last op" */
        fh = dc_vmarea_end();
    } else {
        syscall(SYS_munmap, c->view_lo, c->view_hi - c->view_lo);
        kernel_child_end();
        fh = file_hash();
        obj_drop();
    }
    child_tag(ch, 'F');
    child_put(ch, &fh, sizeof(fh));
    child_tag(ch, 'D');
    child_flush(ch);
    _exit(0);
}

static void close_other_fds(int keep)
{
    if (keep > 3)
        syscall(SYS_close_range, 3, keep - 1, 0);
    if (syscall(SYS_close_range, keep + 1, ~0U, 0) == 0)
        return;
    for (int fd = 3; fd < 1024; fd++)   /* before Linux 5.9 */
        if (fd != keep)
            close(fd);
}

/* A crash must kill the child, whatever handlers the caller installed (a
 * test framework catches SIGSEGV, for one), and the alarm must fire. */
static void reset_signals(void)
{
    sigset_t all;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
}

/* Linux's LRU batches are per CPU: a folio MADV_FREE has just marked waits
 * in its CPU's batch, off the LRU, and MADV_PAGEOUT drains only its own
 * CPU's, so a kernel side that moved between CPUs reclaims less.  It stays
 * on one CPU for the sequence, and so does its forked child. */
static void pin_to_this_cpu(void)
{
    int cpu = sched_getcpu();
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);   /* if refused, as before */
}

pid_t dc_side_spawn(const struct cfg *c, struct scratch *scratch, int s, const struct dc_op *ops,
                    unsigned n, uint64_t seed, bool per_op, int *rfd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        /* Other threads' pipes must not stay open here, or their reader
         * would wait for this child's exit to see end-of-file. */
        close_other_fds(p[1]);
        reset_signals();
        struct child ch = {
            .c = c, .s = scratch, .fd = p[1],
            .vmarea = s == 1 && !c->o.kernel_vs_kernel,
            .perturbed = s == 1,
        };
        if (!ch.vmarea)
            pin_to_this_cpu();
        scratch->olen = 0;
        child_main(&ch, ops, n, seed, per_op);
    }
    close(p[1]);
    *rfd = p[0];
    return pid;
}

/* --------------------------------------------- decoding a child's stream */

static struct dc_layout *next_layout(struct side_out *o)
{
    if (o->nlayouts == o->cap_layouts)
        return NULL;
    return &o->layouts[o->nlayouts++];
}

bool dc_side_decode(struct side_out *o, const char *b, size_t len)
{
    size_t i = 0;
    o->nrets = 0;
    o->nlayouts = 0;
    o->npages = 0;
    o->file_hash = 0;
    o->msg[0] = '\0';
    o->status = SIDE_DIED;
    while (len - i >= 4) {
        uint32_t tag;
        memcpy(&tag, b + i, 4);
        i += 4;
        switch (tag) {
        case 'R': {
            int64_t r;
            if (len - i < 16 || o->nrets >= DC_MAX_OPS)
                return false;
            memcpy(&r, b + i, 8);
            memcpy(&o->aux[o->nrets], b + i + 8, 8);
            i += 16;
            o->rets[o->nrets++] = (long)r;
            break;
        }
        case 'H': {
            uint32_t np;
            if (len - i < 4)
                return false;
            memcpy(&np, b + i, 4);
            i += 4;
            if (np > MAX_VIEW_PAGES || len - i < np * sizeof(struct dc_page))
                return false;
            memcpy(o->pages, b + i, np * sizeof(struct dc_page));
            o->npages = np;
            i += np * sizeof(struct dc_page);
            break;
        }
        case 'L': {
            uint32_t hdr[3];
            if (len - i < 12)
                return false;
            memcpy(hdr, b + i, 12);
            i += 12;
            if (hdr[0] > DC_MAX_VMAS || len - i < hdr[0] * sizeof(struct dc_vma))
                return false;
            struct dc_layout *l = next_layout(o);
            if (!l)
                return false;
            l->n = hdr[0];
            l->truncated = hdr[1];
            l->outside = hdr[2];
            memcpy(l->v, b + i, hdr[0] * sizeof(struct dc_vma));
            i += hdr[0] * sizeof(struct dc_vma);
            break;
        }
        case 'F':
            if (len - i < 8)
                return false;
            memcpy(&o->file_hash, b + i, 8);
            i += 8;
            break;
        case 'E':
            if (len - i < sizeof(o->msg))
                return false;
            memcpy(o->msg, b + i, sizeof(o->msg));
            o->msg[sizeof(o->msg) - 1] = '\0';
            o->status = SIDE_ERROR;
            return false;
        case 'D':
            o->status = SIDE_OK;
            return true;
        default:
            return false;
        }
    }
    return false;
}

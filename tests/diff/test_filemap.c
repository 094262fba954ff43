/* SPDX-License-Identifier: MIT */
/*
 * test_filemap — memfds and host files against the host.  Each scenario is
 * a list of steps: make a memfd of some size, or a file on the disk's file
 * system or on tmpfs (written page by page and synced, so that every page
 * is cached and clean), open it again, map it shared or private at fixed
 * pages of a window, write and read bytes, mprotect, madvise, msync, add
 * seals, truncate, unmap.  The host runs them for real in a child
 * (memfd_create with MFD_ALLOW_SEALING, open, ftruncate, mmap...), vmarea
 * with vm_file_memfd, vm_file_open and the mm_* calls, each on a file of
 * its own at the same path; every step's result, every byte read, the
 * window's smaps (layout, VmFlags, names, every counter) and each file's
 * bytes at the end must be the same.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "diffcheck.h"
#include "host_child.h"
#include "scenario.h"
#include "vmarea.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define WIN    0x200000000000UL
#define PG     4096UL
#define WPAGES 64
#define AT(p)  (WIN + (unsigned long)(p) * PG)

enum kind { MEMFD, FILE_, OPEN, MAP, WRITE, READ, PROTECT, ADVISE, SYNC, SEAL, UNMAP, TRUNC, END };

/* a: the memfd or file (MEMFD, FILE_, OPEN, MAP, SEAL, TRUNC) or page
 * (WRITE, READ, PROTECT, ADVISE, SYNC, UNMAP); b: size in pages (MEMFD,
 * FILE_), the file to open again (OPEN), first page (MAP), the byte
 * (WRITE), the offset in the page (READ), pages (PROTECT, ADVISE, SYNC,
 * UNMAP), seals (SEAL), size in bytes (TRUNC); c: where (FILE_: DISK,
 * TMPFS, or DIR for a directory), the open's O_ACCMODE (OPEN), pages (MAP),
 * prot (PROTECT), advice (ADVISE), msync flags (SYNC), the offset in the
 * page (WRITE); d: the open's O_ACCMODE (FILE_), prot (MAP); e: flags
 * (MAP); f: offset in pages (MAP).  A READ or WRITE that faults gives -EIO
 * for SIGBUS, -EFAULT for SIGSEGV. */
struct step { enum kind k; long a, b, c, d, e, f; };
/* A step names only the fields it uses. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define NFD 3
#define MAXSTEPS 32
enum where { DISK, TMPFS, DIR_ };
#define RW (PROT_READ | PROT_WRITE)
#define SH MAP_SHARED
#define PV MAP_PRIVATE

struct scenario { const char *name; struct step s[MAXSTEPS]; };

static const struct scenario scenarios[] = {
    { "shared, written and read",
      { { MEMFD, 0, 8 }, { MAP, 0, 0, 8, RW, SH, 0 }, { WRITE, 0, 1 }, { WRITE, 3, 2 }, { READ, 3 },
        { READ, 5 }, { END } } },
    { "two shared mappings of one memfd see the same pages",
      { { MEMFD, 0, 8 }, { MAP, 0, 0, 8, RW, SH, 0 }, { MAP, 0, 16, 4, RW, SH, 2 }, { WRITE, 18, 7 },
        { READ, 2 }, { WRITE, 3, 9 }, { READ, 17 }, { END } } },
    { "private: reads share the page, a write copies it",
      { { MEMFD, 0, 8 }, { MAP, 0, 0, 8, RW, SH, 0 }, { WRITE, 1, 5 }, { MAP, 0, 16, 8, RW, PV, 0 },
        { READ, 17 }, { READ, 18 }, { WRITE, 17, 6 }, { READ, 1 }, { READ, 17 }, { WRITE, 20, 8 },
        { WRITE, 2, 3 }, { READ, 18 }, { END } } },
    { "private read-only, then mprotect",
      { { MEMFD, 0, 4 }, { MAP, 0, 0, 4, PROT_READ, PV, 0 }, { READ, 0 }, { PROTECT, 0, 2, RW },
        { WRITE, 1, 4 }, { READ, 1 }, { END } } },
    { "offsets: contiguous ones merge, others do not",
      { { MEMFD, 0, 16 }, { MAP, 0, 0, 4, RW, SH, 0 }, { MAP, 0, 4, 4, RW, SH, 4 },
        { MAP, 0, 10, 2, RW, SH, 0 }, { MAP, 0, 12, 2, RW, SH, 8 }, { WRITE, 5, 1 }, { END } } },
    { "MADV_DONTNEED drops the mapping, MADV_REMOVE the pages",
      { { MEMFD, 0, 8 }, { MAP, 0, 0, 8, RW, SH, 0 }, { MAP, 0, 16, 8, RW, SH, 0 }, { WRITE, 0, 1 },
        { WRITE, 1, 2 }, { WRITE, 2, 3 }, { ADVISE, 0, 1, MADV_DONTNEED }, { READ, 16 }, { READ, 0 },
        { ADVISE, 1, 1, MADV_REMOVE }, { READ, 17 }, { ADVISE, 18, 1, MADV_REMOVE }, { READ, 2 },
        { MAP, 0, 32, 2, RW, PV, 0 }, { ADVISE, 32, 1, MADV_REMOVE }, { END } } },
    { "a page past the end of a shorter memfd",
      { { MEMFD, 0, 2 }, { MAP, 0, 0, 4, RW, SH, 0 }, { WRITE, 1, 1 }, { READ, 1 }, { END } } },
    { "write seals",
      { { MEMFD, 0, 4 }, { MAP, 0, 0, 4, RW, SH, 0 }, { SEAL, 0, F_SEAL_WRITE }, { UNMAP, 0, 4 },
        { SEAL, 0, F_SEAL_WRITE }, { MAP, 0, 0, 4, RW, SH, 0 }, { MAP, 0, 0, 4, PROT_READ, SH, 0 },
        { PROTECT, 0, 4, RW }, { MAP, 0, 8, 4, RW, PV, 0 }, { WRITE, 8, 1 }, { READ, 8 },
        { MEMFD, 1, 4 }, { MAP, 1, 16, 4, RW, SH, 0 }, { SEAL, 1, F_SEAL_FUTURE_WRITE }, { WRITE, 16, 2 },
        { MAP, 1, 24, 4, RW, SH, 0 }, { MAP, 1, 24, 4, PROT_READ, SH, 0 }, { READ, 16 },
        { SEAL, 1, F_SEAL_SEAL }, { SEAL, 1, F_SEAL_GROW }, { SEAL, 2, F_SEAL_GROW }, { END } } },
    { "unknown seals and read-only shared mappings",
      { { MEMFD, 0, 4 }, { SEAL, 0, 0x100 }, { MAP, 0, 0, 4, PROT_READ, SH, 0 }, { PROTECT, 0, 4, RW },
        { WRITE, 0, 3 }, { READ, 0 }, { SEAL, 0, F_SEAL_WRITE }, { END } } },
    { "truncation: the tail of the last page, SIGBUS past it, private copies too",
      { { MEMFD, 0, 4 }, { MAP, 0, 0, 4, RW, SH, 0 }, { MAP, 0, 8, 4, RW, PV, 0 }, { WRITE, 0, 1 },
        { WRITE, 1, 2 }, { WRITE, 1, 3, 3000 }, { WRITE, 2, 4 }, { WRITE, 10, 5 }, { READ, 9 },
        { TRUNC, 0, PG + 2048 }, { READ, 1 }, { READ, 1, 3000 }, { READ, 2 }, { READ, 9, 3000 },
        { READ, 10 }, { WRITE, 3, 6 }, { TRUNC, 0, 3 * PG }, { READ, 2 }, { READ, 10 }, { WRITE, 10, 7 },
        { READ, 2 }, { END } } },
    { "truncation seals",
      { { MEMFD, 0, 2 }, { SEAL, 0, F_SEAL_SHRINK }, { TRUNC, 0, PG }, { TRUNC, 0, 4 * PG },
        { SEAL, 0, F_SEAL_GROW }, { TRUNC, 0, 5 * PG }, { TRUNC, 0, 4 * PG }, { MAP, 0, 0, 4, RW, SH, 0 },
        { WRITE, 3, 1 }, { READ, 3 }, { END } } },
    { "a file: reads map the cached pages around, private and shared",
      { { FILE_, 0, 40, DISK, O_RDWR }, { MAP, 0, 0, 20, PROT_READ, PV, 0 }, { READ, 5 }, { READ, 17 },
        { MAP, 0, 24, 12, RW, SH, 4 }, { READ, 30 }, { WRITE, 26, 'x' }, { READ, 6, 1 }, { END } } },
    { "shared writes reach the file; MS_SYNC cleans them, the next store dirties again",
      { { FILE_, 0, 8, DISK, O_RDWR }, { MAP, 0, 0, 8, RW, SH, 0 }, { WRITE, 1, 'A' }, { WRITE, 3, 'B' },
        { SYNC, 0, 8, MS_SYNC }, { READ, 1 }, { WRITE, 5, 'C' }, { WRITE, 3, 'D' }, { SYNC, 4, 2, MS_ASYNC },
        { MAP, 0, 16, 8, PROT_READ, SH, 0 }, { READ, 19 }, { END } } },
    { "private copies never reach the file",
      { { FILE_, 0, 8, DISK, O_RDWR }, { MAP, 0, 0, 8, RW, PV, 0 }, { READ, 2 }, { WRITE, 2, 'p' },
        { READ, 2 }, { SYNC, 0, 8, MS_SYNC }, { MAP, 0, 16, 8, PROT_READ, SH, 0 }, { READ, 18 }, { END } } },
    { "open modes: EACCES, and a read-only shared mapping never writes",
      { { FILE_, 0, 4, DISK, O_RDONLY }, { MAP, 0, 0, 4, RW, SH, 0 }, { MAP, 0, 0, 4, PROT_READ, SH, 0 },
        { PROTECT, 0, 4, RW }, { READ, 1 }, { MAP, 0, 8, 4, RW, PV, 0 }, { WRITE, 9, 'w' }, { READ, 9 },
        { OPEN, 1, 0, O_WRONLY }, { MAP, 1, 16, 4, PROT_READ, PV, 0 }, { MAP, 1, 16, 4, RW, SH, 0 },
        { TRUNC, 0, PG }, { FILE_, 2, 0, DIR_, O_RDONLY }, { MAP, 2, 24, 1, PROT_READ, PV, 0 }, { END } } },
    { "msync's errors and holes",
      { { FILE_, 0, 8, DISK, O_RDWR }, { MAP, 0, 0, 2, RW, SH, 0 }, { MAP, 0, 4, 2, RW, SH, 4 },
        { WRITE, 0, 'a' }, { WRITE, 4, 'b' }, { SYNC, 0, 2, 8 }, { SYNC, 0, 2, MS_SYNC | MS_ASYNC },
        { SYNC, 0, 6, MS_ASYNC }, { SYNC, 0, 6, MS_SYNC }, { SYNC, 2, 1, MS_SYNC }, { SYNC, 0, 0, MS_SYNC },
        { MAP, 0, 8, 2, RW, SH | MAP_LOCKED, 0 }, { SYNC, 8, 2, MS_INVALIDATE }, { SYNC, 8, 2, MS_SYNC },
        { SYNC, 0, 2, MS_INVALIDATE | MS_SYNC }, { END } } },
    { "a file truncated: the tail reads zero, SIGBUS past the end",
      { { FILE_, 0, 4, DISK, O_RDWR }, { MAP, 0, 0, 4, RW, SH, 0 }, { MAP, 0, 8, 4, RW, PV, 0 },
        { WRITE, 3, 'z' }, { WRITE, 10, 'q' }, { TRUNC, 0, PG + 100 }, { READ, 1, 50 }, { READ, 1, 200 },
        { READ, 3 }, { READ, 10 }, { TRUNC, 0, 4 * PG }, { READ, 3 }, { READ, 11 }, { END } } },
    { "two opens of one file share one page cache",
      { { FILE_, 0, 4, DISK, O_RDWR }, { OPEN, 1, 0, O_RDWR }, { MAP, 0, 0, 4, RW, SH, 0 },
        { MAP, 1, 8, 4, RW, SH, 0 }, { WRITE, 1, 'S' }, { READ, 9 }, { WRITE, 10, 'T' }, { READ, 2 },
        { END } } },
    { "MADV_DONTNEED keeps a file's bytes, MADV_REMOVE punches them",
      { { FILE_, 0, 8, DISK, O_RDWR }, { MAP, 0, 0, 8, RW, SH, 0 }, { WRITE, 0, 'k' }, { WRITE, 1, 'r' },
        { ADVISE, 0, 1, MADV_DONTNEED }, { READ, 0 }, { ADVISE, 1, 1, MADV_REMOVE }, { READ, 1 },
        { MAP, 0, 16, 2, RW, PV, 0 }, { ADVISE, 16, 1, MADV_REMOVE }, { END } } },
    { "past the end of a shorter file",
      { { FILE_, 0, 2, DISK, O_RDWR }, { MAP, 0, 0, 4, RW, SH, 0 }, { READ, 1 }, { READ, 2 },
        { WRITE, 3, 'e' }, { END } } },
    { "a file on tmpfs is shmem",
      { { FILE_, 0, 8, TMPFS, O_RDWR }, { MAP, 0, 0, 8, RW, SH, 0 }, { READ, 0 }, { WRITE, 2, 'm' },
        { SYNC, 0, 8, MS_SYNC }, { MAP, 0, 16, 8, RW, PV, 0 }, { READ, 20 }, { WRITE, 21, 'n' },
        { TRUNC, 0, 6 * PG }, { READ, 7 }, { END } } },
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

/* The host child's accesses: SIGBUS and SIGSEGV come back here. */
static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_sig;

static void on_fault(int sig)
{
    fault_sig = sig;
    siglongjmp(fault_jmp, 1);
}

static long host_access(unsigned long addr, bool write, char byte)
{
    if (sigsetjmp(fault_jmp, 1))
        return fault_sig == SIGBUS ? -EIO : -EFAULT;
    if (write) {
        *(volatile char *)addr = byte;
        return 0;
    }
    return *(volatile char *)addr;
}

struct outcome {
    long ret[MAXSTEPS];
    struct dc_layout layout;
    unsigned long file_sum[NFD];   /* each file's bytes at the end (FNV-1a), 0 if none */
};

/* ------------------------------------------------------------- files */

/* The same path on both sides (the host child runs first, then vmarea):
 * slot i in the current directory (on the disk's file system) or in
 * /dev/shm (tmpfs). */
static char file_path[NFD][4096];

static int make_file(int slot, long pages, int where)
{
    char dir[4000];
    if (where == DIR_) {
        snprintf(file_path[slot], sizeof(file_path[slot]), ".");
        return 0;
    }
    if (where == TMPFS)
        snprintf(dir, sizeof(dir), "/dev/shm");
    else if (!getcwd(dir, sizeof(dir)))
        return -errno;
    snprintf(file_path[slot], sizeof(file_path[slot]), "%s/vmarea-filemap-%d", dir, slot);
    unlink(file_path[slot]);
    int fd = open(file_path[slot], O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -errno;
    /* Page by page: small folios, as a program's writes make them. */
    char page[PG];
    for (long p = 0; p < pages; p++) {
        memset(page, 'a' + (int)((p + slot) % 26), sizeof(page));
        if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page)) {
            close(fd);
            return -EIO;
        }
    }
    int r = fsync(fd) ? -errno : 0;
    close(fd);
    return r;
}

static unsigned long file_sum(int slot)
{
    if (!file_path[slot][0] || !strcmp(file_path[slot], "."))
        return 0;
    int fd = open(file_path[slot], O_RDONLY);
    if (fd < 0)
        return 1;
    unsigned long h = 14695981039346656037UL;
    unsigned char buf[PG];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        for (ssize_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 1099511628211UL;
    close(fd);
    return h;
}

static void files_done(struct outcome *out)
{
    for (int i = 0; i < NFD; i++) {
        out->file_sum[i] = file_sum(i);
        if (file_path[i][0] && strcmp(file_path[i], "."))
            unlink(file_path[i]);
        file_path[i][0] = '\0';
    }
}

/* ------------------------------------------------------------- the host */

static void host_run(void *arg, void *out_)
{
    const struct scenario *sc = arg;
    struct outcome *out = out_;
    int fd[NFD] = { -1, -1, -1 };
    struct sigaction sa = { .sa_handler = on_fault };
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    for (int i = 0; sc->s[i].k != END; i++) {
        const struct step *s = &sc->s[i];
        long r = 0;
        switch (s->k) {
        case MEMFD:
            fd[s->a] = memfd_create("t", MFD_ALLOW_SEALING);
            r = fd[s->a] < 0 || ftruncate(fd[s->a], s->b * (long)PG) ? -errno : 0;
            break;
        case FILE_:
            r = make_file((int)s->a, s->b, (int)s->c);
            if (!r && (fd[s->a] = open(file_path[s->a], (int)s->d)) < 0)
                r = -errno;
            break;
        case OPEN:
            fd[s->a] = open(file_path[s->b], (int)s->c);
            r = fd[s->a] < 0 ? -errno : 0;
            break;
        case SYNC:
            r = msync((void *)AT(s->a), s->b * PG, (int)s->c) ? -errno : 0;
            break;
        case MAP: {
            void *p = mmap((void *)AT(s->b), s->c * PG, (int)s->d, (int)s->e | MAP_FIXED, fd[s->a], s->f * (long)PG);
            r = p == MAP_FAILED ? -errno : 0;
            break;
        }
        case WRITE:
            r = host_access(AT(s->a) + (unsigned long)s->c, true, (char)s->b);
            break;
        case READ:
            r = host_access(AT(s->a) + (unsigned long)s->b, false, 0);
            break;
        case TRUNC:
            r = ftruncate(fd[s->a], s->b) ? -errno : 0;
            break;
        case PROTECT:
            r = mprotect((void *)AT(s->a), s->b * PG, (int)s->c) ? -errno : 0;
            break;
        case ADVISE:
            r = madvise((void *)AT(s->a), s->b * PG, (int)s->c) ? -errno : 0;
            break;
        case SEAL:
            r = fd[s->a] < 0 ? -EINVAL : fcntl(fd[s->a], F_ADD_SEALS, (int)s->b) ? -errno : 0;
            break;
        case UNMAP:
            r = munmap((void *)AT(s->a), s->b * PG) ? -errno : 0;
            break;
        case END:
            break;
        }
        out->ret[i] = r;
    }
    static char buf[1 << 16];
    int f = open("/proc/self/smaps", O_RDONLY);
    size_t n = 0;
    ssize_t k;
    while (f >= 0 && n < sizeof(buf) && (k = read(f, buf + n, sizeof(buf) - n)) > 0)
        n += (size_t)k;
    dc_smaps_parse(buf, n, AT(0), AT(WPAGES), &out->layout);
    munmap((void *)AT(0), WPAGES * PG);
    files_done(out);
}

/* ------------------------------------------------------------- vmarea */

static void vmarea_run(const struct scenario *sc, struct outcome *out)
{
    struct mm_config cfg;
    assert_int_equal(mm_config_from_host(&cfg), 0);
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);
    struct vm_file *fd[NFD] = { NULL };
    for (int i = 0; sc->s[i].k != END; i++) {
        const struct step *s = &sc->s[i];
        long r = 0;
        char c;
        switch (s->k) {
        case MEMFD:
            fd[s->a] = vm_file_memfd("t", (size_t)s->b * PG);
            r = fd[s->a] ? 0 : -errno;
            break;
        case FILE_:
        case OPEN: {
            r = s->k == FILE_ ? make_file((int)s->a, s->b, (int)s->c) : 0;
            int hfd = r ? -1 : open(file_path[s->k == FILE_ ? s->a : s->b], (int)(s->k == FILE_ ? s->d : s->c));
            if (!r && hfd < 0)
                r = -errno;
            if (hfd >= 0) {
                fd[s->a] = vm_file_open(hfd);
                r = fd[s->a] ? 0 : -errno;
                close(hfd);   /* the vm_file has its own */
            }
            break;
        }
        case SYNC:
            r = mm_msync(mm, AT(s->a), s->b * PG, (int)s->c);
            break;
        case MAP:
            r = mm_mmap(mm, AT(s->b), s->c * PG, (int)s->d, (int)s->e | MAP_FIXED, fd[s->a], s->f * PG);
            r = r < 0 ? r : 0;
            break;
        case WRITE:
            c = (char)s->b;
            r = mm_write(mm, AT(s->a) + (unsigned long)s->c, &c, 1);
            r = r < 0 ? r : 0;
            break;
        case READ:
            r = mm_read(mm, AT(s->a) + (unsigned long)s->b, &c, 1);
            r = r < 0 ? r : c;
            break;
        case TRUNC:
            r = vm_file_truncate(fd[s->a], (unsigned long)s->b);
            break;
        case PROTECT:
            r = mm_mprotect(mm, AT(s->a), s->b * PG, (int)s->c);
            break;
        case ADVISE:
            r = mm_madvise(mm, AT(s->a), s->b * PG, (int)s->c);
            break;
        case SEAL:
            r = vm_file_add_seals(fd[s->a], (int)s->b);
            break;
        case UNMAP:
            r = mm_munmap(mm, AT(s->a), s->b * PG);
            break;
        case END:
            break;
        }
        out->ret[i] = r;
    }
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    assert_non_null(f);
    mm_show_smaps(mm, f);
    fclose(f);
    dc_smaps_parse(text, size, AT(0), AT(WPAGES), &out->layout);
    free(text);
    mmput(mm);
    for (int i = 0; i < NFD; i++)
        if (fd[i])
            vm_file_put(fd[i]);
    files_done(out);
}

static void test_scenarios(void **state)
{
    (void)state;
    static struct outcome host, ours;
    int bad = 0;
    for (size_t n = 0; n < NSCEN; n++) {
        const struct scenario *sc = &scenarios[n];
        memset(&host, 0, sizeof(host));
        memset(&ours, 0, sizeof(ours));
        assert_int_equal(host_child(host_run, (void *)sc, &host, sizeof(host)), 0);
        vmarea_run(sc, &ours);
        int nsteps = 0;
        while (sc->s[nsteps].k != END)
            nsteps++;
        int diff = scenario_rets_differ(sc->name, host.ret, ours.ret, nsteps);
        for (int i = 0; i < NFD; i++)
            if (host.file_sum[i] != ours.file_sum[i]) {
                print_message("[%s] file %d's bytes differ at the end\n", sc->name, i);
                diff++;
            }
        diff += scenario_layout_differs(sc->name, "", &host.layout, &ours.layout);
        print_message("%-56s %s (%u VMAs)\n", sc->name, diff ? "DIFFERS" : "same", host.layout.n);
        bad += diff != 0;
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenarios),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * Page caches shared between address spaces: one memfd, or one host file
 * (on the disk's file system or on tmpfs), mapped by several mms, which the
 * host cannot show in one process (tests/diff/test_filemap.c compares a
 * single process with the host).  Pages are the same pages in every mm,
 * counted as shared by each; an mm that goes first leaves its pages to the
 * others; a truncation or a punched hole reaches every mm; and all of it
 * while other threads fault and write.  Then what only host files have:
 * coherence with read(2) and write(2), the open's mode, names, writeback.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"

#define A  0x200000000000UL
#define B  0x300000000000UL
#define PG 4096UL
#define RW (PROT_READ | PROT_WRITE)

/* What the shared tests run on: a memfd, or a host file of the same size
 * (created, opened read-write, handed to vm_file_open, and unlinked). */
enum kind { MEMFD, DISK, TMPFS };
static const enum kind kinds[] = { MEMFD, DISK, TMPFS };

static struct vm_file *make(enum kind k, const char *name, unsigned long size)
{
    if (k == MEMFD)
        return vm_file_memfd(name, size);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/vmarea-test-%s-%d", k == TMPFS ? "/dev/shm" : ".", name, (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    /* Written, so that every page is cached (a hole is read cold, and
     * what the host reads around it is its business). */
    static const char zeros[PG];
    for (unsigned long off = 0; off < size; off += PG)
        assert_int_equal(write(fd, zeros, PG), (ssize_t)PG);
    unlink(path);
    struct vm_file *f = vm_file_open(fd);
    close(fd);
    assert_non_null(f);
    return f;
}

/* The Rss a page of the kind counts in. */
static unsigned long rss_of(struct mm *mm, enum kind k)
{
    struct mm_stats s;
    mm_get_stats(mm, &s);
    return k == DISK ? s.rss_file : s.rss_shmem;
}

static struct mm *new_mm(void)
{
    struct mm *mm = mm_create(NULL);
    assert_non_null(mm);
    return mm;
}

static void map(struct mm *mm, unsigned long addr, unsigned long pages, int flags, struct vm_file *f)
{
    assert_int_equal(mm_mmap(mm, addr, pages * PG, RW, flags | MAP_FIXED, f, 0), (long)addr);
}

static char peek(struct mm *mm, unsigned long addr)
{
    char c;
    assert_int_equal(mm_read(mm, addr, &c, 1), 1);
    return c;
}

static void poke(struct mm *mm, unsigned long addr, char c)
{
    assert_int_equal(mm_write(mm, addr, &c, 1), 1);
}

static void test_two_mms_share_pages(void **state)
{
    enum kind k = *(const enum kind *)*state;
    struct vm_file *f = make(k, "shared", 4 * PG);
    assert_non_null(f);
    struct mm *a = new_mm(), *b = new_mm();
    map(a, A, 4, MAP_SHARED, f);
    map(b, B, 4, MAP_SHARED, f);
    map(b, B + 8 * PG, 4, MAP_PRIVATE, f);
    poke(a, A + PG, 'a');
    assert_int_equal(peek(b, B + PG), 'a');
    assert_int_equal(peek(b, B + 9 * PG), 'a');   /* private, before its first write */
    poke(b, B + 9 * PG, 'p');                     /* the private copy */
    poke(b, B + PG, 'b');
    assert_int_equal(peek(a, A + PG), 'b');
    assert_int_equal(peek(b, B + 9 * PG), 'p');
    struct mm_stats sb;
    mm_get_stats(b, &sb);
    assert_int_equal(sb.rss_anon, 1);
    /* a: the page written (no fault-around for a write); b: that one, and
     * read faults map a host file's cached pages around it, in both
     * mappings (the private one less its copy); a memfd had no others. */
    assert_int_equal(rss_of(a, k), 1);
    assert_int_equal(rss_of(b, k), k == MEMFD ? 1 : 7);

    /* a goes first: its frames stay for b until the memfd lets them go. */
    mmput(a);
    vm_file_put(f);   /* only the VMAs hold the object now */
    assert_int_equal(peek(b, B + PG), 'b');
    poke(b, B + 2 * PG, 'c');
    assert_int_equal(peek(b, B + 2 * PG), 'c');
    mmput(b);
}

static void test_truncate_reaches_every_mm(void **state)
{
    enum kind k = *(const enum kind *)*state;
    struct vm_file *f = make(k, "t", 4 * PG);
    struct mm *a = new_mm(), *b = new_mm();
    map(a, A, 4, MAP_SHARED, f);
    map(b, B, 4, MAP_SHARED, f);
    for (unsigned long i = 0; i < 4; i++)
        poke(a, A + i * PG, (char)('0' + i));
    assert_int_equal(peek(b, B + 3 * PG), '3');
    assert_int_equal(vm_file_truncate(f, 2 * PG), 0);
    char c;
    assert_int_equal(mm_read(b, B + 3 * PG, &c, 1), -EIO);
    assert_int_equal(mm_read(a, A + 2 * PG, &c, 1), -EIO);
    assert_int_equal(rss_of(b, k), 2);   /* fault-around had mapped all four: two stay */
    assert_int_equal(vm_file_truncate(f, 4 * PG), 0);
    assert_int_equal(peek(b, B + 3 * PG), 0);   /* a new, zeroed page */
    assert_int_equal(peek(b, B + 1 * PG), '1');
    if (k != MEMFD) {
        /* Seals are a memfd's. */
        assert_int_equal(vm_file_add_seals(f, F_SEAL_SHRINK), -EINVAL);
        mmput(a);
        mmput(b);
        vm_file_put(f);
        return;
    }
    assert_int_equal(vm_file_add_seals(f, F_SEAL_SHRINK), 0);
    assert_int_equal(vm_file_truncate(f, PG), -EPERM);
    assert_int_equal(vm_file_add_seals(f, F_SEAL_WRITE), -EBUSY);   /* shared writable mappings */
    mmput(a);
    mmput(b);
    assert_int_equal(vm_file_add_seals(f, F_SEAL_WRITE), 0);
    struct mm *c2 = new_mm();
    assert_int_equal(mm_mmap(c2, A, 4 * PG, RW, MAP_SHARED | MAP_FIXED, f, 0), -EPERM);
    vm_file_put(f);
    mmput(c2);
    assert_null(vm_file_memfd(NULL, PG));
    assert_int_equal(errno, EFAULT);
    char longname[300];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    assert_null(vm_file_memfd(longname, PG));
    assert_int_equal(errno, EINVAL);
    assert_int_equal(vm_file_truncate(NULL, 0), -EINVAL);
}

/* Writers in two mms against punches and truncations from a third thread:
 * every access either succeeds or is SIGBUS past the end, and nothing
 * leaks or breaks (the sanitizer builds run this). */
struct racer {
    struct mm *mm;
    unsigned long base;
    atomic_bool *stop;
    atomic_ulong ok, bus;
};

static void *race_writes(void *arg)
{
    struct racer *r = arg;
    unsigned long i = 0;
    while (!atomic_load(r->stop)) {
        char c = (char)i;
        long n = mm_write(r->mm, r->base + (i % 16) * PG, &c, 1);
        if (n == 1)
            atomic_fetch_add(&r->ok, 1);
        else if (n == -EIO)
            atomic_fetch_add(&r->bus, 1);
        else
            fail_msg("mm_write gave %ld", n);
        i++;
    }
    return NULL;
}

static void test_racing_truncation(void **state)
{
    enum kind k = *(const enum kind *)*state;
    struct vm_file *f = make(k, "race", 16 * PG);
    struct mm *a = new_mm(), *b = new_mm();
    map(a, A, 16, MAP_SHARED, f);
    map(b, B, 16, MAP_SHARED, f);
    atomic_bool stop = false;
    struct racer ra = { a, A, &stop, 0, 0 }, rb = { b, B, &stop, 0, 0 };
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, race_writes, &ra), 0);
    assert_int_equal(pthread_create(&tb, NULL, race_writes, &rb), 0);
    /* At least 2,000 rounds, and on until both writers have run a while
     * (on a loaded machine they may start late). */
    for (int i = 0; i < 2000 || ((atomic_load(&ra.ok) < 1000 || atomic_load(&rb.ok) < 1000) && i < 10000000);
         i++) {
        assert_int_equal(vm_file_truncate(f, (unsigned long)(i % 16) * PG), 0);
        assert_int_equal(vm_file_truncate(f, 16 * PG), 0);
        assert_int_equal(mm_madvise(a, A + (unsigned long)(i % 8) * PG, 2 * PG, MADV_REMOVE), 0);
    }
    atomic_store(&stop, true);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    print_message("writes: %lu + %lu done, %lu + %lu SIGBUS\n", atomic_load(&ra.ok), atomic_load(&rb.ok),
                  atomic_load(&ra.bus), atomic_load(&rb.bus));
    assert_true(atomic_load(&ra.ok) >= 1000 && atomic_load(&rb.ok) >= 1000);
    mmput(a);
    mmput(b);
    vm_file_put(f);
}

/* ------------------------------------------------------- host files only */

static char *maps_of(struct mm *mm)
{
    char *text = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&text, &n);
    assert_int_equal(mm_show_maps(mm, out), 0);
    fclose(out);
    return text;
}

/* vm_file_open's errors and the open's mode in mmap; maps shows the
 * file's device, inode and path, " (deleted)" once it is unlinked. */
static void test_open_and_modes(void **state)
{
    (void)state;
    errno = 0;
    assert_null(vm_file_open(-1));
    assert_int_equal(errno, EBADF);
    int pfd = open(".", O_PATH);
    assert_null(vm_file_open(pfd));
    assert_int_equal(errno, EBADF);
    close(pfd);

    struct mm *mm = new_mm();
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    struct vm_file *dir = vm_file_open(dfd);
    close(dfd);
    assert_non_null(dir);
    assert_int_equal(mm_mmap(mm, A, PG, PROT_READ, MAP_PRIVATE, dir, 0), -ENODEV);
    vm_file_put(dir);

    char cwd[PATH_MAX], path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/vmarea-test-modes-%d", getcwd(cwd, sizeof(cwd)) ? cwd : ".", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_int_equal(ftruncate(fd, 2 * (off_t)PG), 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY);
    struct vm_file *fro = vm_file_open(ro), *fwo = vm_file_open(wo), *frw = vm_file_open(fd);
    close(ro);
    close(wo);
    assert_true(fro && fwo && frw);
    assert_int_equal(mm_mmap(mm, A, PG, RW, MAP_SHARED | MAP_FIXED, fro, 0), -EACCES);
    assert_int_equal(mm_mmap(mm, A, PG, PROT_READ, MAP_SHARED | MAP_FIXED, fro, 0), (long)A);
    assert_int_equal(mm_mprotect(mm, A, PG, RW), -EACCES);   /* never writable */
    assert_int_equal(mm_mmap(mm, A + PG, PG, RW, MAP_PRIVATE | MAP_FIXED, fro, 0), (long)(A + PG));
    assert_int_equal(mm_mmap(mm, A + 4 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fwo, 0), -EACCES);
    assert_int_equal(vm_file_truncate(fro, PG), -EINVAL);    /* not open for writing */
    assert_int_equal(mm_mmap(mm, A + 8 * PG, 2 * PG, RW, MAP_SHARED | MAP_FIXED, frw, 0), (long)(A + 8 * PG));

    /* One page cache for the three opens: a store through the read-write
     * one is what the read-only mapping reads, and what read(2) reads. */
    poke(mm, A + 8 * PG, 'w');
    assert_int_equal(peek(mm, A), 'w');
    char c = 0;
    assert_int_equal(pread(fd, &c, 1, 0), 1);
    assert_int_equal(c, 'w');
    /* And write(2) is what the mappings read, at once. */
    assert_int_equal(pwrite(fd, "h", 1, PG), 1);
    assert_int_equal(peek(mm, A + 9 * PG), 'h');
    assert_int_equal(peek(mm, A + PG), 'w');   /* the private mapping: page 0 of the file */
    poke(mm, A + PG, 'p');                   /* its own copy */
    assert_int_equal(pread(fd, &c, 1, 0), 1);
    assert_int_equal(c, 'w');

    char want[PATH_MAX + 128], *text = maps_of(mm);
    snprintf(want, sizeof(want), "%02x:%02x %lu", major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino);
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, path));
    assert_null(strstr(text, "(deleted)"));
    free(text);
    unlink(path);
    text = maps_of(mm);
    snprintf(want, sizeof(want), "%s (deleted)", path);
    assert_non_null(strstr(text, want));
    free(text);

    mmput(mm);
    vm_file_put(fro);
    vm_file_put(fwo);
    vm_file_put(frw);
    close(fd);
}

/* Where a mapping of a file goes without MAP_FIXED: where the host's file
 * system places mappings for huge pages (ext4, xfs), a range holding a
 * whole 2 MiB of the file is 2 MiB-aligned to it, and a hint is taken only
 * if 2 MiB more than the length is free there.  The same calls on the host
 * and on vmarea must agree. */
static void test_placement(void **state)
{
    (void)state;
    char cwd[PATH_MAX], path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/vmarea-test-place-%d", getcwd(cwd, sizeof(cwd)) ? cwd : ".", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(ftruncate(fd, 8 << 20), 0);
    struct vm_file *f = vm_file_open(fd);
    assert_non_null(f);
    struct mm *mm = new_mm();
    const unsigned long len = 4UL << 20, mask = (2UL << 20) - 1;

    char *h = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, PG);
    assert_true(h != MAP_FAILED);
    long a = mm_mmap(mm, 0, len, PROT_READ, MAP_SHARED, f, PG);
    assert_true(a > 0);
    assert_int_equal(((uintptr_t)h & mask) == PG, ((unsigned long)a & mask) == PG);
    munmap(h, len);

    /* A hint with room for the length but not for 2 MiB more: at a place
     * the host just had free (a sanitizer's process may not map just
     * anywhere). */
    char *res = mmap(NULL, 4 * len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    assert_true(res != MAP_FAILED);
    munmap(res, 4 * len);
    const unsigned long H = ((uintptr_t)res + mask) & ~mask;
    void *blk = mmap((void *)(H + len + (1UL << 20)), PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
                     MAP_FIXED_NOREPLACE, -1, 0);
    assert_true(blk == (void *)(H + len + (1UL << 20)));
    assert_int_equal(mm_mmap(mm, H + len + (1UL << 20), PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                             NULL, 0), (long)(H + len + (1UL << 20)));
    h = mmap((void *)H, len, PROT_READ, MAP_SHARED, fd, 0);
    a = mm_mmap(mm, H, len, PROT_READ, MAP_SHARED, f, 0);
    assert_int_equal(h == (void *)H, a == (long)H);
    munmap(h, len);
    munmap(blk, PG);
    print_message("the host %s mappings of this file for huge pages\n",
                  vm_file_mapping(f)->thp_align ? "places" : "does not place");
    mmput(mm);
    vm_file_put(f);
    close(fd);
}

/* MS_SYNC writes back and cleans the pages in every mm; the next store
 * dirties again.  Teardown loses nothing: the bytes are the host's. */
static void test_writeback(void **state)
{
    (void)state;
    struct vm_file *f = make(DISK, "wb", 4 * PG);
    struct mm *a = new_mm(), *b = new_mm();
    map(a, A, 4, MAP_SHARED, f);
    map(b, B, 4, MAP_SHARED, f);
    poke(a, A, 'x');
    assert_int_equal(peek(b, B), 'x');
    char *text = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&text, &n);
    assert_int_equal(mm_show_smaps(b, out), 0);
    fclose(out);
    assert_non_null(strstr(text, "Shared_Dirty:          4 kB"));
    free(text);
    assert_int_equal(mm_msync(a, A, 4 * PG, MS_SYNC), 0);
    out = open_memstream(&text, &n);
    assert_int_equal(mm_show_smaps(b, out), 0);   /* b's entry is clean too */
    fclose(out);
    assert_non_null(strstr(text, "Shared_Dirty:          0 kB"));
    assert_non_null(strstr(text, "Shared_Clean:          4 kB"));
    free(text);
    poke(b, B + PG, 'y');
    assert_int_equal(mm_msync(a, A, 8 * PG, MS_SYNC), -ENOMEM);   /* past the mapping */
    assert_int_equal(mm_msync(a, A + 1, PG, MS_SYNC), -EINVAL);
    assert_int_equal(mm_msync(a, A, PG, MS_SYNC | MS_ASYNC), -EINVAL);
    assert_int_equal(mm_msync(a, A, 0, MS_SYNC), 0);
    mmput(a);
    mmput(b);
    vm_file_put(f);
}

int main(void)
{
#define EACH_KIND(t) cmocka_unit_test_prestate(t, (void *)&kinds[0]), \
                     cmocka_unit_test_prestate(t, (void *)&kinds[1]), \
                     cmocka_unit_test_prestate(t, (void *)&kinds[2])
    const struct CMUnitTest tests[] = {
        EACH_KIND(test_two_mms_share_pages),
        EACH_KIND(test_truncate_reaches_every_mm),
        EACH_KIND(test_racing_truncation),
        cmocka_unit_test(test_open_and_modes),
        cmocka_unit_test(test_writeback),
        cmocka_unit_test(test_placement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

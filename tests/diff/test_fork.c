/* SPDX-License-Identifier: MIT */
/*
 * test_fork — mm_fork against the host's fork.  Each scenario is a list of
 * steps run in a parent and, after a FORK step, in its child, each step
 * naming the side it runs on: map, write, read, mprotect, madvise, unmap.
 * On the host a child process runs the steps (and forks the child for
 * real), the two processes taking turns through pipes; on vmarea an mm and
 * its mm_fork.  Every step's result, every byte read, and both sides'
 * smaps of the window (layout, VmFlags, every counter: Rss, Pss, Shared_*
 * and Private_*, Anonymous, Locked) must be the same.
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
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define WIN    0x200000000000UL
#define PG     4096UL
#define WPAGES 64
#define AT(p)  (WIN + (unsigned long)(p) * PG)

enum kind { FORK, MAP, WRITE, READ, PROTECT, ADVISE, UNMAP, MEMFD, END };
enum side { P, C };   /* parent, child */

/* s: the side; a: page (WRITE, READ, PROTECT, ADVISE, UNMAP, MAP) or size in
 * pages (MEMFD); b: pages (MAP, PROTECT, ADVISE, UNMAP), the byte (WRITE);
 * c: prot (MAP, PROTECT), advice (ADVISE); d: flags (MAP; with MAP_ANONYMOUS
 * absent, the memfd at offset 0).  A READ gives the byte, or -EFAULT /
 * -EIO / -EACCES for a fault. */
struct step { enum kind k; enum side s; long a, b, c, d; };
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define MAXSTEPS 32
#define RW (PROT_READ | PROT_WRITE)
#define PA (MAP_PRIVATE | MAP_ANONYMOUS)
#define SA (MAP_SHARED | MAP_ANONYMOUS)

struct scenario { const char *name; struct step s[MAXSTEPS]; };

static const struct scenario scenarios[] = {
    { "private memory: shared after fork, copied at the first write on either side",
      { { MAP, P, 0, 8, RW, PA }, { WRITE, P, 0, 1 }, { WRITE, P, 1, 2 }, { WRITE, P, 2, 3 }, { FORK },
        { WRITE, C, 0, 4 }, { WRITE, P, 1, 5 }, { READ, C, 0 }, { READ, C, 1 }, { READ, P, 0 }, { READ, P, 1 },
        { READ, C, 2 }, { READ, C, 5 }, { END } } },
    { "a page only one side still maps is reused on a write",
      { { MAP, P, 0, 4, RW, PA }, { WRITE, P, 0, 1 }, { WRITE, P, 1, 1 }, { FORK }, { ADVISE, C, 0, 1, MADV_DONTNEED },
        { WRITE, P, 0, 2 }, { UNMAP, P, 1, 1 }, { WRITE, C, 1, 3 }, { READ, C, 0 }, { END } } },
    { "DONTCOPY, WIPEONFORK and locked VMAs",
      { { MAP, P, 0, 4, RW, PA }, { WRITE, P, 0, 1 }, { ADVISE, P, 0, 4, MADV_DONTFORK },
        { MAP, P, 8, 4, RW, PA }, { WRITE, P, 8, 2 }, { ADVISE, P, 8, 4, MADV_WIPEONFORK },
        { MAP, P, 16, 4, RW, PA | MAP_LOCKED }, { MAP, P, 24, 4, RW, PA }, { WRITE, P, 25, 3 }, { FORK },
        { READ, C, 0 }, { READ, C, 8 }, { READ, C, 25 }, { READ, P, 8 }, { END } } },
    { "shared anonymous memory stays shared",
      { { MAP, P, 0, 4, RW, SA }, { WRITE, P, 0, 1 }, { FORK }, { WRITE, C, 0, 7 }, { READ, P, 0 },
        { WRITE, P, 1, 8 }, { READ, C, 1 }, { END } } },
    { "a memfd, shared and private, across fork",
      { { MEMFD, P, 8 }, { MAP, P, 0, 8, RW, MAP_SHARED }, { MAP, P, 16, 8, RW, MAP_PRIVATE },
        { WRITE, P, 0, 1 }, { WRITE, P, 17, 2 }, { READ, P, 18 }, { FORK }, { WRITE, C, 1, 3 },
        { READ, P, 1 }, { WRITE, C, 17, 4 }, { READ, P, 17 }, { READ, C, 19 }, { END } } },
    { "read-only and PROT_NONE memory, and mprotect after fork",
      { { MAP, P, 0, 4, RW, PA }, { WRITE, P, 0, 1 }, { PROTECT, P, 0, 2, PROT_READ }, { MAP, P, 8, 4, RW, PA },
        { WRITE, P, 8, 2 }, { PROTECT, P, 8, 4, PROT_NONE }, { FORK }, { PROTECT, C, 0, 2, RW },
        { WRITE, C, 0, 3 }, { READ, P, 0 }, { PROTECT, C, 8, 4, RW }, { READ, C, 8 }, { END } } },
    { "merges after fork: the child's anon_vmas are its own",
      { { MAP, P, 0, 4, RW, PA }, { WRITE, P, 0, 1 }, { FORK }, { MAP, C, 4, 4, RW, PA }, { MAP, P, 4, 4, RW, PA },
        { WRITE, C, 5, 2 }, { MAP, C, 12, 4, RW, PA }, { PROTECT, C, 12, 4, PROT_READ },
        { PROTECT, C, 12, 4, RW }, { PROTECT, C, 1, 1, PROT_READ }, { PROTECT, C, 1, 1, RW }, { END } } },
    { "the child maps and writes on its own",
      { { MAP, P, 0, 4, RW, PA }, { WRITE, P, 0, 1 }, { FORK }, { WRITE, C, 1, 2 }, { READ, C, 0 },
        { MAP, C, 8, 2, RW, PA }, { WRITE, C, 8, 3 }, { END } } },
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

struct outcome {
    long ret[MAXSTEPS];
    struct dc_layout layout[2];   /* parent, child */
};

/* ------------------------------------------------------------- the host */

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_sig, fault_code;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    fault_sig = sig;
    fault_code = si->si_code;
    siglongjmp(fault_jmp, 1);
}

static long host_access(unsigned long addr, bool write, char byte)
{
    if (sigsetjmp(fault_jmp, 1))
        return fault_sig == SIGBUS ? -EIO : fault_code == SEGV_ACCERR ? -EACCES : -EFAULT;
    if (write) {
        *(volatile char *)addr = byte;
        return 0;
    }
    return *(volatile char *)addr;
}

static int memfd = -1;

static long host_step(const struct step *s)
{
    switch (s->k) {
    case MAP: {
        void *p = mmap((void *)AT(s->a), s->b * PG, (int)s->c, (int)s->d | MAP_FIXED,
                       s->d & MAP_ANONYMOUS ? -1 : memfd, 0);
        return p == MAP_FAILED ? -errno : 0;
    }
    case MEMFD:
        memfd = memfd_create("f", 0);
        return memfd < 0 || ftruncate(memfd, s->a * (long)PG) ? -errno : 0;
    case WRITE:
        return host_access(AT(s->a), true, (char)s->b);
    case READ:
        return host_access(AT(s->a), false, 0);
    case PROTECT:
        return mprotect((void *)AT(s->a), s->b * PG, (int)s->c) ? -errno : 0;
    case ADVISE:
        return madvise((void *)AT(s->a), s->b * PG, (int)s->c) ? -errno : 0;
    case UNMAP:
        return munmap((void *)AT(s->a), s->b * PG) ? -errno : 0;
    default:
        return 0;
    }
}

static void host_layout(struct dc_layout *l)
{
    static char buf[1 << 16];
    int f = open("/proc/self/smaps", O_RDONLY);
    size_t n = 0;
    ssize_t k;
    while (f >= 0 && n < sizeof(buf) && (k = read(f, buf + n, sizeof(buf) - n)) > 0)
        n += (size_t)k;
    close(f);
    dc_smaps_parse(buf, n, AT(0), AT(WPAGES), l);
}

static void write_all(int fd, const void *p, size_t n)
{
    for (size_t done = 0; done < n; ) {
        ssize_t k = write(fd, (const char *)p + done, n - done);
        if (k <= 0)
            _exit(3);
        done += (size_t)k;
    }
}

static void read_all(int fd, void *p, size_t n)
{
    for (size_t done = 0; done < n; ) {
        ssize_t k = read(fd, (char *)p + done, n - done);
        if (k <= 0)
            _exit(4);
        done += (size_t)k;
    }
}

/*
 * The parent runs the steps up to FORK, forks, and then hands each child
 * step to the child (to_child: the step's index; the child answers with
 * its result), running its own; at the end the child sends its layout.
 */
static void host_run(void *arg, void *out_)
{
    const struct scenario *sc = arg;
    struct outcome *out = out_;
    struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    /* THP off, as on the vmarea side (mm_config .thp = NEVER). */
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    int to_child[2] = { -1, -1 }, to_parent[2] = { -1, -1 };
    pid_t pid = -1;
    for (int i = 0; sc->s[i].k != END; i++) {
        const struct step *s = &sc->s[i];
        if (s->k == FORK) {
            if (pipe(to_child) || pipe(to_parent))
                _exit(5);
            pid = fork();
            if (pid == 0) {
                for (;;) {
                    int j;
                    read_all(to_child[0], &j, sizeof(j));
                    if (j < 0) {
                        struct dc_layout l;
                        host_layout(&l);
                        write_all(to_parent[1], &l, sizeof(l));
                        _exit(0);
                    }
                    long r = host_step(&sc->s[j]);
                    write_all(to_parent[1], &r, sizeof(r));
                }
            }
            out->ret[i] = pid < 0 ? -errno : 0;
            continue;
        }
        if (s->s == C) {
            write_all(to_child[1], &i, sizeof(i));
            read_all(to_parent[0], &out->ret[i], sizeof(out->ret[i]));
        } else {
            out->ret[i] = host_step(s);
        }
    }
    host_layout(&out->layout[0]);
    if (pid > 0) {
        int done = -1;
        write_all(to_child[1], &done, sizeof(done));
        read_all(to_parent[0], &out->layout[1], sizeof(out->layout[1]));
    }
}

/* ------------------------------------------------------------- vmarea */

static void vmarea_layout(struct mm *mm, struct dc_layout *l)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    assert_non_null(f);
    mm_show_smaps(mm, f);
    fclose(f);
    dc_smaps_parse(text, size, AT(0), AT(WPAGES), l);
    free(text);
}

static void vmarea_run(const struct scenario *sc, struct outcome *out)
{
    struct mm_config cfg;
    assert_int_equal(mm_config_from_host(&cfg), 0);
    cfg.thp = MM_THP_NEVER;
    struct mm *mm[2] = { mm_create(&cfg), NULL };
    assert_non_null(mm[0]);
    struct vm_file *f = NULL;
    for (int i = 0; sc->s[i].k != END; i++) {
        const struct step *s = &sc->s[i];
        struct mm *m = mm[s->s];
        long r = 0;
        char c;
        switch (s->k) {
        case FORK:
            mm[1] = mm_fork(mm[0]);
            r = mm[1] ? 0 : -errno;
            break;
        case MEMFD:
            f = vm_file_memfd("f", (size_t)s->a * PG);
            r = f ? 0 : -errno;
            break;
        case MAP:
            r = mm_mmap(m, AT(s->a), s->b * PG, (int)s->c, (int)s->d | MAP_FIXED,
                        s->d & MAP_ANONYMOUS ? NULL : f, 0);
            r = r < 0 ? r : 0;
            break;
        case WRITE:
            c = (char)s->b;
            r = mm_write(m, AT(s->a), &c, 1);
            r = r < 0 ? r : 0;
            break;
        case READ:
            r = mm_read(m, AT(s->a), &c, 1);
            r = r < 0 ? r : c;
            break;
        case PROTECT:
            r = mm_mprotect(m, AT(s->a), s->b * PG, (int)s->c);
            break;
        case ADVISE:
            r = mm_madvise(m, AT(s->a), s->b * PG, (int)s->c);
            break;
        case UNMAP:
            r = mm_munmap(m, AT(s->a), s->b * PG);
            break;
        case END:
            break;
        }
        out->ret[i] = r;
    }
    vmarea_layout(mm[0], &out->layout[0]);
    if (mm[1])
        vmarea_layout(mm[1], &out->layout[1]);
    /* Parent first: the child keeps the pages it shares alive. */
    mmput(mm[0]);
    if (mm[1])
        mmput(mm[1]);
    if (f)
        vm_file_put(f);
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
        diff += scenario_layout_differs(sc->name, "parent's ", &host.layout[0], &ours.layout[0]);
        diff += scenario_layout_differs(sc->name, "child's ", &host.layout[1], &ours.layout[1]);
        print_message("%-72s %s\n", sc->name, diff ? "DIFFERS" : "same");
        bad += diff != 0;
    }
    assert_int_equal(bad, 0);
}

/* Teardown in either order, and a grandchild: nothing leaks (the sanitizer
 * builds run this), and every mm reads what it should to the end. */
static void test_teardown_orders(void **state)
{
    (void)state;
    for (int order = 0; order < 6; order++) {
        struct mm_config cfg = { .thp = MM_THP_NEVER };
        struct mm *a = mm_create(&cfg);
        assert_int_equal(mm_mmap(a, AT(0), 4 * PG, RW, PA | MAP_FIXED, NULL, 0), (long)AT(0));
        char c = 'a';
        for (int i = 0; i < 4; i++)
            assert_int_equal(mm_write(a, AT(i), &c, 1), 1);
        struct mm *b = mm_fork(a);
        assert_non_null(b);
        c = 'b';
        assert_int_equal(mm_write(b, AT(1), &c, 1), 1);
        struct mm *g = mm_fork(b);
        assert_non_null(g);
        struct mm *mms[3] = { a, b, g };
        static const int perm[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
        for (int k = 0; k < 3; k++) {
            struct mm *m = mms[perm[order][k]];
            mmput(m);
            for (int j = k + 1; j < 3; j++) {
                struct mm *o = mms[perm[order][j]];
                char want = o == a ? 'a' : 'b', got = 0;
                assert_int_equal(mm_read(o, AT(1), &got, 1), 1);
                assert_int_equal(got, want);
                assert_int_equal(mm_read(o, AT(3), &got, 1), 1);
                assert_int_equal(got, 'a');
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenarios),
        cmocka_unit_test(test_teardown_orders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

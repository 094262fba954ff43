/* SPDX-License-Identifier: MIT */
/*
 * test_exec — mm_exec against the host's execve.  Each program runs on the
 * host under ptrace with ASLR off (personality ADDR_NO_RANDOMIZE) and
 * RLIMIT_STACK at 8 MiB, and is stopped at its first instruction (the
 * SIGTRAP a PTRACE_TRACEME child gets from execve); vmarea builds the same
 * image with MM_EXEC_NO_RANDOMIZE in an mm configured like the host.  Both
 * must show the same smaps, every VMA and every line, the same entry point
 * and stack pointer, and the same stack bytes from the stack pointer to the
 * stack's top: argc, argv, envp, the auxiliary vector, the random bytes'
 * and platform string's place and the strings, all but AT_RANDOM's 16
 * bytes, which are random on the host.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmarea.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef EXEC_PROG_DIR
#error "EXEC_PROG_DIR: where the build put exec_prog's variants"
#endif

/* What one side built. */
struct image {
    char *smaps;
    size_t smaps_len;
    unsigned long entry, sp, top;    /* top: the stack VMA's end */
    unsigned char *stack;            /* [sp, top) */
};

static void image_free(struct image *im)
{
    free(im->smaps);
    free(im->stack);
    memset(im, 0, sizeof(*im));
}

/* The [stack] line's end address, 0 if none. */
static unsigned long stack_end(const char *smaps)
{
    for (const char *l = smaps; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        unsigned long s, e;
        const char *eol = strchr(l, '\n');
        size_t n = eol ? (size_t)(eol - l) : strlen(l);
        if (n > 7 && !memcmp(l + n - 7, "[stack]", 7) && sscanf(l, "%lx-%lx", &s, &e) == 2)
            return e;
    }
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    ssize_t k;
    while (buf && (k = read(fd, buf + n, cap - n)) > 0) {
        n += (size_t)k;
        if (n == cap)
            buf = realloc(buf, (cap *= 2) + 1);
    }
    close(fd);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* ------------------------------------------------------------- the host */

static int host_exec(const char *path, char *const argv[], char *const envp[], struct image *im)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* The layout depends on RLIMIT_STACK (mmap_base, the argument
         * limit); vmarea models a process that never changed it. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_STACK, &rl) == 0) {
            rl.rlim_cur = 8UL << 20;
            if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
                rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_STACK, &rl);
        }
        if (personality(ADDR_NO_RANDOMIZE) < 0 || ptrace(PTRACE_TRACEME, 0, NULL, NULL))
            _exit(126);
        execve(path, argv, envp);
        _exit(errno & 0x7f);
    }
    int st, ret = -1;
    if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP)
        goto out;
    struct user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, pid, NULL, &regs))
        goto out;
    im->entry = regs.rip;
    im->sp = regs.rsp;
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/%d/smaps", (int)pid);
    if (!(im->smaps = read_file(proc, &im->smaps_len)))
        goto out;
    im->top = stack_end(im->smaps);
    if (!im->top || im->top <= im->sp)
        goto out;
    snprintf(proc, sizeof(proc), "/proc/%d/mem", (int)pid);
    int fd = open(proc, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        goto out;
    size_t n = im->top - im->sp;
    im->stack = malloc(n);
    if (im->stack && pread(fd, im->stack, n, (off_t)im->sp) == (ssize_t)n)
        ret = 0;
    close(fd);
out:
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return ret;
}

/* ------------------------------------------------------------- vmarea */

static struct mm *new_mm(void)
{
    struct mm_config cfg;
    assert_int_equal(mm_config_from_host(&cfg), 0);
    struct mm *mm = mm_create(&cfg);
    assert_non_null(mm);
    return mm;
}

static int vmarea_exec(const char *path, char *const argv[], char *const envp[], struct image *im)
{
    struct mm *mm = new_mm();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct vm_file *f = vm_file_open(fd);
    close(fd);
    assert_non_null(f);
    struct mm_exec_args args = {
        .file = f, .argv = (const char *const *)argv, .envp = (const char *const *)envp,
        .execfn = path, .flags = MM_EXEC_NO_RANDOMIZE, .seed = 1,
    };
    struct mm_exec_result res;
    int err = mm_exec(mm, &args, &res);
    vm_file_put(f);
    if (err) {
        print_message("mm_exec(%s): %d\n", path, err);
        mmput(mm);
        return err;
    }
    im->entry = res.entry;
    im->sp = res.sp;
    FILE *out = open_memstream(&im->smaps, &im->smaps_len);
    assert_non_null(out);
    assert_int_equal(mm_show_smaps(mm, out), 0);
    fclose(out);
    im->top = stack_end(im->smaps);
    int ret = -1;
    if (im->top > im->sp) {
        size_t n = im->top - im->sp;
        im->stack = malloc(n);
        if (im->stack && mm_read(mm, im->sp, im->stack, n) == (ssize_t)n)
            ret = 0;
    }
    mmput(mm);
    return ret;
}

/* ------------------------------------------------------------- compare */

/* AT_RANDOM's offset in the stack bytes, found by walking past argc, argv
 * and envp to the auxiliary vector; -1 if none. */
static long at_random_offset(const struct image *im)
{
    size_t n = im->top - im->sp, w = 0;
    const unsigned char *s = im->stack;
    unsigned long word;
#define WORD(i) (memcpy(&word, s + (i) * 8, 8), word)
    if (n < 8)
        return -1;
    w = 1 + WORD(0) + 1;                 /* argc, argv, NULL */
    while ((w + 1) * 8 <= n && WORD(w))  /* envp */
        w++;
    for (w++; (w + 2) * 8 <= n; w += 2) {
        unsigned long type = WORD(w), val;
        if (type == AT_NULL)
            break;
        val = WORD(w + 1);
        if (type == AT_RANDOM)
            return val >= im->sp && val + 16 <= im->top ? (long)(val - im->sp) : -1;
    }
#undef WORD
    return -1;
}

static void print_smaps_diff(const char *a, const char *b)
{
    int shown = 0, line = 1;
    while (*a || *b) {
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        size_t na = ea ? (size_t)(ea - a) : strlen(a), nb = eb ? (size_t)(eb - b) : strlen(b);
        if ((na != nb || memcmp(a, b, na)) && shown++ < 12)
            print_message("  line %d\n    host:   %.*s\n    vmarea: %.*s\n", line, (int)na, a, (int)nb, b);
        a += na + (ea != NULL);
        b += nb + (eb != NULL);
        line++;
    }
}

static int compare(const char *what, const struct image *host, const struct image *ours)
{
    int bad = 0;
    if (host->smaps_len != ours->smaps_len || memcmp(host->smaps, ours->smaps, host->smaps_len)) {
        print_message("[%s] smaps differ\n", what);
        print_smaps_diff(host->smaps, ours->smaps);
        bad++;
    }
    if (host->entry != ours->entry || host->sp != ours->sp) {
        print_message("[%s] entry %#lx sp %#lx on the host, %#lx %#lx in vmarea\n", what, host->entry, host->sp,
                      ours->entry, ours->sp);
        bad++;
    }
    if (host->top != ours->top || host->sp != ours->sp)
        return bad + 1;
    long r = at_random_offset(host);
    if (r < 0 || at_random_offset(ours) != r) {
        print_message("[%s] AT_RANDOM not found or not at the same place\n", what);
        return bad + 1;
    }
    size_t n = host->top - host->sp;
    for (size_t i = 0; i < n; i++) {
        if ((long)i >= r && (long)i < r + 16)
            continue;
        if (host->stack[i] != ours->stack[i]) {
            size_t at = i & ~7UL;
            unsigned long h, o;
            memcpy(&h, host->stack + at, 8);
            memcpy(&o, ours->stack + at, 8);
            print_message("[%s] stack differs at %#lx (sp + %zu): host %#018lx, vmarea %#018lx\n", what,
                          host->sp + at, at, h, o);
            bad++;
            break;
        }
    }
    return bad;
}

static void run(const char *path, char *const argv[])
{
    char *const envp[] = { "A=1", "PATH=/usr/bin:/bin", "EMPTY=", "LONGER_VARIABLE=with some spaces in it", NULL };
    struct image host = { 0 }, ours = { 0 };
    assert_int_equal(host_exec(path, argv, envp, &host), 0);
    assert_int_equal(vmarea_exec(path, argv, envp, &ours), 0);
    int bad = compare(path, &host, &ours);
    print_message("%-60s %s\n", path, bad ? "DIFFERS" : "same");
    if (bad)
        printf("host:\n%s\nvmarea:\n%s\n", host.smaps, ours.smaps);
    image_free(&host);
    image_free(&ours);
    assert_int_equal(bad, 0);
}

static void test_dynamic_pie(void **state)
{
    (void)state;
    char *argv[] = { "/bin/true", "one", "two words", "", NULL };
    run("/bin/true", argv);
}

static void test_dynamic_pie_ls(void **state)
{
    (void)state;
    char *argv[] = { "ls", "-l", NULL };
    run("/bin/ls", argv);
}

static void test_static(void **state)
{
    (void)state;
    char *argv[] = { "exec_prog_static", "x", NULL };
    run(EXEC_PROG_DIR "/exec_prog_static", argv);
}

static void test_static_pie(void **state)
{
    (void)state;
    char *argv[] = { "exec_prog_static_pie", NULL };
    run(EXEC_PROG_DIR "/exec_prog_static_pie", argv);
}

static void test_dynamic_no_pie(void **state)
{
    (void)state;
    char *argv[] = { EXEC_PROG_DIR "/exec_prog_no_pie", "a", "b", "c", NULL };
    run(EXEC_PROG_DIR "/exec_prog_no_pie", argv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dynamic_pie),
        cmocka_unit_test(test_dynamic_pie_ls),
        cmocka_unit_test(test_static),
        cmocka_unit_test(test_static_pie),
        cmocka_unit_test(test_dynamic_no_pie),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

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
 * bytes, which are random on the host; and the same addresses in
 * /proc/PID/stat (start_code ... env_end, start_brk) as the mm's layout.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "internal.h"   /* the mm's layout, which /proc/PID/stat shows */

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
#include <sys/stat.h>
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
    struct mm_layout layout;         /* what /proc/PID/stat shows of it (not brk) */
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

/* RLIMIT_STACK on both sides: it places mmap_base and bounds the
 * arguments. */
static unsigned long stack_limit = 8UL << 20;

/* ------------------------------------------------------------- the host */

/* The layout fields of /proc/PID/stat: 26-28 and 45-51 (proc(5)), counted
 * after the command's closing parenthesis. */
static int stat_layout(pid_t pid, struct mm_layout *l)
{
    char path[64];
    size_t len;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *text = read_file(path, &len);
    char *p = text ? strrchr(text, ')') : NULL;
    unsigned long f[53] = { 0 };
    int n = 2;
    for (char *tok = p ? strtok(p + 1, " ") : NULL; tok && n < 52; tok = strtok(NULL, " "))
        f[++n] = strtoul(tok, NULL, 10);
    free(text);
    if (n < 51)
        return -1;
    *l = (struct mm_layout){ .start_code = f[26], .end_code = f[27], .start_stack = f[28],
                             .start_data = f[45], .end_data = f[46], .start_brk = f[47],
                             .arg_start = f[48], .arg_end = f[49], .env_start = f[50], .env_end = f[51] };
    return 0;
}

static int host_exec(const char *path, char *const argv[], char *const envp[], struct image *im)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_STACK, &rl) == 0) {
            rl.rlim_cur = stack_limit;
            if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
                _exit(125);
            setrlimit(RLIMIT_STACK, &rl);
        }
        if (personality(ADDR_NO_RANDOMIZE) < 0 || ptrace(PTRACE_TRACEME, 0, NULL, NULL))
            _exit(126);
        execve(path, argv, envp);
        _exit(127);
    }
    int st, ret = -1;
    if (waitpid(pid, &st, 0) != pid)
        goto out;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 126)
        return -2;   /* no ptrace here (a seccomp policy, Yama's scope 3) */
    if (WIFEXITED(st) && WEXITSTATUS(st) == 125)
        return -3;   /* the hard RLIMIT_STACK is below what the test asks */
    if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP)
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
    if (!im->top || im->top <= im->sp || stat_layout(pid, &im->layout))
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
    cfg.stack_limit = stack_limit;
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
    {
        MMAP_READ_GUARD(g, mm);
        im->layout = mm->layout;
        im->layout.brk = 0;
    }
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
    if (memcmp(&host->layout, &ours->layout, sizeof(host->layout))) {
        const unsigned long *h = (const unsigned long *)&host->layout, *o = (const unsigned long *)&ours->layout;
        static const char *const names[] = { "start_code", "end_code", "start_data", "end_data", "start_brk",
                                             "brk", "start_stack", "arg_start", "arg_end", "env_start", "env_end" };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (h[i] != o[i])
                print_message("[%s] %s: host %#lx, vmarea %#lx\n", what, names[i], h[i], o[i]);
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

static char *const default_env[] = { "A=1", "PATH=/usr/bin:/bin", "EMPTY=", "LONGER_VARIABLE=with some spaces in it",
                                     NULL };

static void run_env(const char *path, char *const argv[], char *const envp[])
{
    struct image host = { 0 }, ours = { 0 };
    int hret = host_exec(path, argv, envp, &host);
    if (hret == -2 || hret == -3) {
        print_message(hret == -2 ? "ptrace is not allowed here: the host side cannot run\n"
                                 : "RLIMIT_STACK cannot be raised that far here\n");
        skip();
    }
    assert_int_equal(hret, 0);
    assert_int_equal(vmarea_exec(path, argv, envp, &ours), 0);
    int bad = compare(path, &host, &ours);
    print_message("%-60s %s\n", path, bad ? "DIFFERS" : "same");
    if (bad)
        printf("host:\n%s\nvmarea:\n%s\n", host.smaps, ours.smaps);
    image_free(&host);
    image_free(&ours);
    assert_int_equal(bad, 0);
}

static void run(const char *path, char *const argv[])
{
    run_env(path, argv, default_env);
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

/* A dynamic PIE whose bss goes past its last file page. */
static void test_dynamic_pie_bss(void **state)
{
    (void)state;
    char *argv[] = { "exec_prog_pie", NULL };
    run(EXEC_PROG_DIR "/exec_prog_pie", argv);
}

/* Segments aligned to 2 MiB: the PIE's base is rounded down to it, and
 * the static PIE is placed by a trial mapping of its whole span. */
static void test_aligned_2m(void **state)
{
    (void)state;
    char *argv[] = { "exec_prog_pie_2m", NULL };
    run(EXEC_PROG_DIR "/exec_prog_pie_2m", argv);
    char *argv2[] = { "exec_prog_static_pie_2m", NULL };
    run(EXEC_PROG_DIR "/exec_prog_static_pie_2m", argv2);
}

/* An empty argv: the kernel supplies "" as argv[0] (argc 1). */
static void test_empty_argv(void **state)
{
    (void)state;
    char *argv[] = { NULL };
    run(EXEC_PROG_DIR "/exec_prog_static", argv);
}

/* Strings over several pages: the stack VMA grows under them first, then
 * by 128 KiB. */
static void test_large_environment(void **state)
{
    (void)state;
    enum { N = 300 };
    static char bufs[N][400];
    char *envp[N + 1];
    for (int i = 0; i < N; i++) {
        snprintf(bufs[i], sizeof(bufs[i]), "VAR%d=%0*d", i, 300 + i % 50, i);
        envp[i] = bufs[i];
    }
    envp[N] = NULL;
    char *argv[] = { "/bin/true", "x", NULL };
    run_env("/bin/true", argv, envp);
}

/* A 1 GiB RLIMIT_STACK keeps 1 GiB for the stack: mmap_base moves down;
 * 64 KiB keeps the argument space at its 128 KiB minimum and the stack at
 * the limit. */
static void test_stack_limits(void **state)
{
    (void)state;
    char *argv[] = { "/bin/true", NULL };
    stack_limit = 1UL << 30;
    run("/bin/true", argv);
    stack_limit = 64UL << 10;
    run("/bin/true", argv);
    stack_limit = 8UL << 20;
}

/* PT_GNU_STACK with PF_X: the stack is executable. */
static void test_exec_stack(void **state)
{
    (void)state;
    char *argv[] = { "exec_prog_execstack", NULL };
    run(EXEC_PROG_DIR "/exec_prog_execstack", argv);
}

/* ------------------------------------------------- vmarea on its own */

struct loaded {
    struct mm *mm;
    struct mm_exec_result res;
    int err;
};

static struct loaded load(const char *path, const char *root, unsigned flags, unsigned long seed,
                          char *const argv[], char *const envp[])
{
    struct loaded l = { .mm = new_mm() };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct vm_file *f = vm_file_open(fd);
    close(fd);
    assert_non_null(f);
    struct mm_exec_args args = {
        .file = f, .argv = (const char *const *)argv, .envp = (const char *const *)envp,
        .root = root, .flags = flags, .seed = seed,
    };
    l.err = mm_exec(l.mm, &args, &l.res);
    vm_file_put(f);
    return l;
}

static unsigned long map_count(struct mm *mm)
{
    struct mm_stats st;
    mm_get_stats(mm, &st);
    return st.map_count;
}

static char *maps_text(struct mm *mm)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    assert_int_equal(mm_show_maps(mm, out), 0);
    fclose(out);
    return text;
}

/* The failures before the point of no return leave the mm empty; so do
 * those after it, which Linux answers with SIGSEGV. */
static void test_errors(void **state)
{
    (void)state;
    char *argv[] = { "x", NULL };
    /* Not an ELF file. */
    struct loaded l = load(__FILE__, NULL, MM_EXEC_NO_RANDOMIZE, 0, argv, NULL);
    assert_int_equal(l.err, -ENOEXEC);
    assert_int_equal(map_count(l.mm), 0);
    mmput(l.mm);

    /* A string longer than MAX_ARG_STRLEN (32 pages). */
    size_t n = 32 * 4096 + 1;
    char *huge = malloc(n);
    assert_non_null(huge);
    memset(huge, 'a', n - 1);
    huge[n - 1] = '\0';
    char *big_argv[] = { "x", huge, NULL };
    l = load("/bin/true", NULL, MM_EXEC_NO_RANDOMIZE, 0, big_argv, NULL);
    assert_int_equal(l.err, -E2BIG);
    assert_int_equal(map_count(l.mm), 0);
    free(huge);

    /* A non-empty mm; unknown flags; no file. */
    struct mm_exec_result res;
    int fd = open("/bin/true", O_RDONLY | O_CLOEXEC);
    struct vm_file *f = vm_file_open(fd);
    close(fd);
    struct mm_exec_args args = { .file = f, .argv = (const char *const *)argv, .flags = MM_EXEC_NO_RANDOMIZE };
    assert_int_equal(mm_exec(l.mm, &args, &res), 0);
    assert_int_equal(mm_exec(l.mm, &args, &res), -EBUSY);
    mmput(l.mm);
    l.mm = new_mm();
    args.flags = 0x80;
    assert_int_equal(mm_exec(l.mm, &args, &res), -EINVAL);
    args.flags = 0;
    args.file = NULL;
    assert_int_equal(mm_exec(l.mm, &args, &res), -EINVAL);
    assert_int_equal(map_count(l.mm), 0);
    vm_file_put(f);
    mmput(l.mm);

    /* A segment whose file offset and address disagree within a page:
     * its mmap fails after the stack and the first segment were made. */
    size_t len;
    char *elf = read_file(EXEC_PROG_DIR "/exec_prog_static", &len);
    assert_non_null(elf);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)elf;
    Elf64_Phdr *ph = (Elf64_Phdr *)(elf + eh->e_phoff);
    int loads = 0;
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && ++loads == 2)
            ph[i].p_offset += 8;
    char bad[] = "/tmp/vmarea_exec_XXXXXX";
    fd = mkstemp(bad);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, elf, len), (ssize_t)len);
    close(fd);
    free(elf);
    l = load(bad, NULL, MM_EXEC_NO_RANDOMIZE, 0, argv, NULL);
    assert_int_equal(l.err, -EINVAL);
    assert_int_equal(map_count(l.mm), 0);
    mmput(l.mm);
    unlink(bad);

    /* An interpreter that is not there under root. */
    char dir[] = "/tmp/vmarea_exec_XXXXXX";
    assert_non_null(mkdtemp(dir));
    l = load("/bin/true", dir, MM_EXEC_NO_RANDOMIZE, 0, argv, NULL);
    assert_int_equal(l.err, -ENOENT);
    assert_int_equal(map_count(l.mm), 0);
    mmput(l.mm);
    rmdir(dir);
}

/* The interpreter resolves under root: a copy of the host's there is the
 * one mapped, where the host's own would be. */
static void test_root(void **state)
{
    (void)state;
    char dir[] = "/tmp/vmarea_exec_XXXXXX", path[256], interp[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/lib64", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(interp, sizeof(interp), "%s/lib64/ld-linux-x86-64.so.2", dir);
    size_t len;
    char *bytes = read_file("/lib64/ld-linux-x86-64.so.2", &len);
    assert_non_null(bytes);
    int fd = open(interp, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    close(fd);
    free(bytes);

    char *argv[] = { "true", NULL };
    struct loaded mine = load("/bin/true", dir, MM_EXEC_NO_RANDOMIZE, 0, argv, NULL);
    struct loaded host = load("/bin/true", NULL, MM_EXEC_NO_RANDOMIZE, 0, argv, NULL);
    assert_int_equal(mine.err, 0);
    assert_int_equal(host.err, 0);
    assert_int_equal(mine.res.interp_base, host.res.interp_base);
    assert_int_equal(mine.res.entry, host.res.entry);
    char *text = maps_text(mine.mm);
    assert_non_null(strstr(text, interp));
    free(text);
    mmput(mine.mm);
    mmput(host.mm);
    unlink(interp);
    rmdir(path);
    rmdir(dir);
}

/* With randomization: a function of the seed, inside the kernel's ranges
 * (the PIE 2^28 pages above ELF_ET_DYN_BASE at most, the stack up to
 * 16 GiB and 8 KiB below the top, the brk within 1 GiB past the bss),
 * and the program's AT_RANDOM bytes differ from seed to seed. */
static void test_randomized(void **state)
{
    (void)state;
    char *argv[] = { "true", NULL };
    struct loaded a = load("/bin/true", NULL, 0, 7, argv, NULL);
    struct loaded b = load("/bin/true", NULL, 0, 7, argv, NULL);
    struct loaded c = load("/bin/true", NULL, 0, 8, argv, NULL);
    assert_int_equal(a.err, 0);
    assert_int_equal(b.err, 0);
    assert_int_equal(c.err, 0);
    assert_int_equal(a.res.load_bias, b.res.load_bias);
    assert_int_equal(a.res.sp, b.res.sp);
    assert_int_equal(a.res.interp_base, b.res.interp_base);
    assert_true(a.res.load_bias != c.res.load_bias || a.res.sp != c.res.sp);
    const unsigned long dyn_base = 0x7ffffffff000UL / 3 * 2 & ~0xfffUL;
    assert_true(a.res.load_bias >= dyn_base && a.res.load_bias < dyn_base + (1UL << 40));
    assert_true(a.res.sp < 0x7ffffffff000UL && a.res.sp > 0x7ffffffff000UL - (16UL << 30) - 3 * 8192 - 65536);
    assert_true(a.res.interp_base < a.res.sp - (16UL << 30));
    char *ta = maps_text(a.mm), *tb = maps_text(b.mm);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    unsigned char ra[16], rc[16];
    unsigned long w[2];
    /* AT_RANDOM, in the auxiliary vector after argc, argv[0], argv's NULL
     * and envp's NULL. */
    unsigned long p = a.res.sp + 8 * 4, q = c.res.sp + 8 * 4;
    unsigned long ra_at = 0, rc_at = 0;
    for (int i = 0; i < 40 && !(ra_at && rc_at); i++, p += 16, q += 16) {
        assert_int_equal(mm_read(a.mm, p, w, 16), 16);
        if (w[0] == AT_RANDOM)
            ra_at = w[1];
        assert_int_equal(mm_read(c.mm, q, w, 16), 16);
        if (w[0] == AT_RANDOM)
            rc_at = w[1];
    }
    assert_true(ra_at && rc_at);
    assert_int_equal(mm_read(a.mm, ra_at, ra, 16), 16);
    assert_int_equal(mm_read(c.mm, rc_at, rc, 16), 16);
    assert_memory_not_equal(ra, rc, 16);
    mmput(a.mm);
    mmput(b.mm);
    mmput(c.mm);
}

/* The heap starts at the brk exec left: mm_brk grows it and maps names it. */
static void test_brk_after_exec(void **state)
{
    (void)state;
    char *argv[] = { "p", NULL };
    struct loaded l = load(EXEC_PROG_DIR "/exec_prog_static", NULL, MM_EXEC_NO_RANDOMIZE, 0, argv, NULL);
    assert_int_equal(l.err, 0);
    long start = mm_brk(l.mm, 0);
    assert_true(start > 0);
    assert_int_equal(mm_brk(l.mm, (unsigned long)start + 3 * 4096), start + 3 * 4096);
    char *text = maps_text(l.mm), want[64];
    snprintf(want, sizeof(want), "%08lx-%08lx rw-p 00000000 00:00 0", (unsigned long)start,
             (unsigned long)start + 3 * 4096);
    char *line = strstr(text, want);
    assert_non_null(line);
    assert_non_null(strstr(line, "[heap]"));
    free(text);
    mmput(l.mm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dynamic_pie),
        cmocka_unit_test(test_dynamic_pie_ls),
        cmocka_unit_test(test_static),
        cmocka_unit_test(test_static_pie),
        cmocka_unit_test(test_dynamic_no_pie),
        cmocka_unit_test(test_dynamic_pie_bss),
        cmocka_unit_test(test_aligned_2m),
        cmocka_unit_test(test_empty_argv),
        cmocka_unit_test(test_large_environment),
        cmocka_unit_test(test_exec_stack),
        cmocka_unit_test(test_stack_limits),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_root),
        cmocka_unit_test(test_randomized),
        cmocka_unit_test(test_brk_after_exec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * vmarea — the command-line tool.
 *
 *   vmarea check   compare vmarea with the running kernel on random op sequences
 *   vmarea maps    run an op script on a vmarea mm, print its /proc/PID/maps
 *   vmarea smaps   the same, printing smaps
 *   vmarea diff    run an op script on both the kernel and vmarea, compare
 *   vmarea trace   run a program, mirror its address spaces in vmarea, compare
 *
 * Exit status: 0 fine, 1 a mismatch (check, diff) or a failure to run,
 * 2 a usage error or a bad script.
 */
#define _GNU_SOURCE
#include "diffcheck.h"
#include "trace.h"
#include "vmarea.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *prog = "vmarea";

static void usage(FILE *f)
{
    fprintf(f,
"usage: %s check [OPTIONS]       compare vmarea with this kernel on random op sequences\n"
"       %s maps [-v] [-m] [--assume LIST] FILE\n"
"                                 run an op script on a vmarea mm, print /proc/PID/maps\n"
"       %s smaps [-v] [--assume LIST] FILE\n"
"                                 the same, printing /proc/PID/smaps\n"
"       %s diff [--no-memory] [--minimize] [--assume LIST] FILE\n"
"                                 run an op script on this kernel and on vmarea, compare\n"
"                                 (--minimize: first cut it down to the ops that differ)\n"
"       %s trace [--every N] -- PROGRAM [ARGS...]\n"
"                                 run PROGRAM under ptrace, make each memory call of its\n"
"                                 processes on vmarea too, compare results and layouts\n"
"       %s --help | --version\n"
"\n"
"FILE '-' is standard input; the script language is in docs/maps-script.md:\n"
"  mmap 0x200000000000 16k rw- private anonymous fixed\n"
"  mprotect 0x200000001000 4k r--\n"
"  write 0x200000000000 8k 0x5a\n"
"maps -v prints every call's result (a read's always), -m the VMAs with their memory\n"
"counters (Rss, Anonymous, Private_Dirty, Locked) in the form check reports them.\n"
"\n"
"The vmarea side models this host as mm_config_from_host probes it; check prints the\n"
"model as its first line (host: ...).  --assume LIST overrides it, LIST being\n"
"comma-separated PROP=VALUE: zero-page, huge-zero-page, soft-dirty, pkeys, anon-names,\n"
"split-zero-remap, eof-fault-around (on or off), thp (always, madvise, never),\n"
"fault-around (4k to 2048k), vsyscall (xonly, emulate, none);\n"
"e.g. --assume zero-page=on,thp=never.  A wrong model makes check report mismatches.\n"
"\n"
"check options:\n"
"  --sequences N     sequences to run (default 10000)\n"
"  --seed S          seed of the first sequence; sequence i uses S+i (default: from the clock)\n"
"  --ops N           ops per sequence (default 20, at most %d)\n"
"  --jobs N          sequences run at once (default: one per CPU, at most 4)\n"
"  --quiet           no progress line, and only the first mismatch report\n"
"  --reports N       full reports for the first N mismatching sequences (default 3;\n"
"                    1 with --quiet)\n"
"  --stop-after N    stop after N mismatching sequences\n"
"  --mlock MODE      auto, full, limited (no lengths beyond the window) or none\n"
"  --shared-anon     also map MAP_SHARED|MAP_ANONYMOUS\n"
"  --memfd           also a memfd per sequence: mapped shared and private, truncated\n"
"  --files           also a host file per sequence, on disk or on tmpfs, open read-write\n"
"                    or read-only: mapped, truncated, msync'd, and its bytes compared\n"
"  --file-dir DIR    where disk files go (default: $TMPDIR if set, else /var/tmp)\n"
"  --fork            also a fork per sequence, and calls in the child after it; both\n"
"                    address spaces compared (the child's VMAs listed after the\n"
"                    parent's, moved up by 0x4000000000000000)\n"
"  --extra-advice    also madvise MERGEABLE, UNMERGEABLE, PAGEOUT, GUARD_INSTALL/REMOVE\n"
"  --mlockall        also mlockall and munlockall\n"
"  --mremap          also mremap\n"
"  --no-memory       no memory ops: no loads and stores, no page contents or per-VMA\n"
"                    memory counters compared, the host's THP mode (default: memory ops\n"
"                    on, THP off on both sides)\n"
"  --rss             with --no-memory: compare the memory counters anyway\n"
"  --no-minimize     do not shrink each reported sequence to the ops that still show\n"
"                    its difference (shrinking reruns both sides a few times per op)\n"
"  --window ADDR, --window-pages N, --margin-pages N\n"
"                    where the ops run (default 0x200000000000, 64 pages, 16 free pages\n"
"                    on each side)\n"
"  --timeout S       a side running longer on one sequence is reported as hung (default 20)\n"
"  --assume LIST     override the host model (see above)\n"
"  --kernel-vs-kernel  run the kernel on both sides (checks the checker)\n",
            prog, prog, prog, prog, prog, prog, DC_MAX_OPS);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s: try '%s --help'\n", prog, prog);
    return 2;
}

static bool parse_ulong(const char *s, unsigned long *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/*
 * The vmarea side's configuration: this host as mm_config_from_host finds
 * it, then the --assume overrides.  0, or 2 (a usage error, said).
 */
static int host_model(const char *assume, struct mm_config *cfg)
{
    int r = mm_config_from_host(cfg);
    if (r < 0)
        fprintf(stderr, "%s: mm_config_from_host: -%s; the host's properties it could not "
                "probe are taken as Linux's defaults\n", prog, dc_errno_name(-r));
    char err[200];
    if (assume && dc_host_set(cfg, assume, err, sizeof(err)) < 0)
        return usage_error("--assume: %s", err);
    return 0;
}

/*
 * After a command's options: its one script FILE, and the host model with
 * the --assume overrides (assume is freed).  0, or 2 (said).
 */
static int script_and_model(int argc, char **argv, const char *cmd, char *assume, const char **file,
                            struct mm_config *cfg)
{
    if (optind + 1 != argc) {
        free(assume);
        return usage_error("%s needs exactly one script FILE (or - for standard input)", cmd);
    }
    *file = argv[optind];
    int r = host_model(assume, cfg);
    free(assume);
    return r;
}

/* Several --assume options make one list. */
static int add_assume(char **list, const char *more)
{
    size_t old = *list ? strlen(*list) : 0;
    char *n = realloc(*list, old + strlen(more) + 2);
    if (!n)
        return -1;
    if (old)
        n[old++] = ',';
    strcpy(n + old, more);
    *list = n;
    return 0;
}

/* ---------------------------------------------------------------- check */

/* The ops of a (shrunk) sequence, in script form, ready for a file. */
static void print_script(const struct dc_op *ops, unsigned n)
{
    char line[200];
    for (unsigned i = 0; i < n; i++) {
        dc_format_op(line, sizeof(line), &ops[i]);
        printf("    %s\n", line);
    }
}

/* After a report: the sequence cut down to what still shows its difference. */
static void print_minimized(const struct dc_options *o, uint64_t seed)
{
    static struct dc_op ops[DC_MAX_OPS];
    unsigned n = dc_generate(o, seed, ops), n0 = n;
    char category[96];
    int rc = dc_minimize(o, ops, &n, category, sizeof(category));
    if (rc < 0) {
        printf("  (could not shrink the sequence: %s)\n", category);
    } else if (rc == 0) {
        printf("  shrunk to %u of %u ops, still \"%s\" (a script for `%s diff`%s):\n", n, n0,
               category, prog, o->no_memory ? " --no-memory" : "");
        print_script(ops, n);
    }
}

static void print_summary(const struct dc_options *o, const struct dc_result *r, bool quiet,
                          bool minimize)
{
    printf("vmarea:     %s\n", VMAREA_VERSION);
    printf("seed:       0x%llx (sequence i uses seed+i), %u ops per sequence, mlock %s%s%s%s%s%s%s%s%s%s\n",
           (unsigned long long)o->seed, o->ops_per_seq ? o->ops_per_seq : 20,
           dc_mlock_mode_name(r->mlock),
           o->shared_anon ? ", shared anonymous" : "", o->memfd ? ", memfd" : "", o->files ? ", files" : "", o->fork ? ", fork" : "",
           o->mremap ? ", mremap" : "", o->extra_advice ? ", extra advice" : "", o->mlockall ? ", mlockall" : "",
           o->no_memory ? ", no memory ops" : "",
           o->kernel_vs_kernel ? ", kernel vs kernel" : "");
    printf("sequences:  %lu run, %lu operations (%.0f%% failed on Linux), in %.1f s (%.0f sequences/s)\n",
           r->sequences, r->operations, r->operations ? 100.0 * r->failed / r->operations : 0.0,
           r->seconds, r->seconds > 0 ? r->sequences / r->seconds : 0.0);
    if (!r->mismatches) {
        printf("mismatches: none\n");
        return;
    }
    printf("mismatches: %lu of %lu sequences", r->mismatches, r->sequences);
    if (r->crashes)
        printf(" (%lu with a side that died or hung)", r->crashes);
    printf("\n\nby first difference (sequences, lowest seed):\n");
    for (unsigned i = 0; i < r->ncategories; i++) {
        const struct dc_category *k = &r->categories[i];
        printf("  %6lu  %-62s seed 0x%llx\n", k->count, k->name, (unsigned long long)k->seed);
    }
    unsigned shown = quiet && r->nreports ? 1 : r->nreports;
    for (unsigned i = 0; i < shown; i++)
        if (r->reports[i].text) {
            printf("\n%s", r->reports[i].text);
            fflush(stdout);
            if (minimize && !o->kernel_vs_kernel)
                print_minimized(o, r->reports[i].seed);
        }
    printf("\nreplay one sequence: %s check --seed SEED --sequences 1%s\n", prog, r->replay_flags);
}

static int cmd_check(int argc, char **argv)
{
    enum { O_SEQ = 256, O_SEED, O_OPS, O_JOBS, O_QUIET, O_REPORTS, O_STOP, O_MLOCK, O_SHARED, O_MEMFD, O_FILES, O_FILEDIR, O_FORK,
           O_EXTRA, O_MLOCKALL, O_MREMAP, O_NOMEM, O_NOMIN, O_RSS, O_WINDOW, O_WPAGES, O_MPAGES,
           O_TIMEOUT, O_KVK, O_ASSUME, O_HELP };
    static const struct option longopts[] = {
        { "sequences", required_argument, NULL, O_SEQ },
        { "seed", required_argument, NULL, O_SEED },
        { "ops", required_argument, NULL, O_OPS },
        { "jobs", required_argument, NULL, O_JOBS },
        { "quiet", no_argument, NULL, O_QUIET },
        { "reports", required_argument, NULL, O_REPORTS },
        { "stop-after", required_argument, NULL, O_STOP },
        { "mlock", required_argument, NULL, O_MLOCK },
        { "shared-anon", no_argument, NULL, O_SHARED },
        { "memfd", no_argument, NULL, O_MEMFD },
        { "files", no_argument, NULL, O_FILES },
        { "fork", no_argument, NULL, O_FORK },
        { "file-dir", required_argument, NULL, O_FILEDIR },
        { "extra-advice", no_argument, NULL, O_EXTRA },
        { "mlockall", no_argument, NULL, O_MLOCKALL },
        { "mremap", no_argument, NULL, O_MREMAP },
        { "no-memory", no_argument, NULL, O_NOMEM },
        { "no-minimize", no_argument, NULL, O_NOMIN },
        { "rss", no_argument, NULL, O_RSS },
        { "window", required_argument, NULL, O_WINDOW },
        { "window-pages", required_argument, NULL, O_WPAGES },
        { "margin-pages", required_argument, NULL, O_MPAGES },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "kernel-vs-kernel", no_argument, NULL, O_KVK },
        { "assume", required_argument, NULL, O_ASSUME },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    struct dc_options o = { 0 };
    bool quiet = false, have_seed = false, minimize = true;
    unsigned long v;
    int c;
    char *assume = NULL;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        const char *a = optarg;
        switch (c) {
        case O_SEQ:
            if (!parse_ulong(a, &v) || v == 0)
                return usage_error("--sequences needs a number > 0, not '%s'", a);
            o.sequences = v;
            break;
        case O_SEED:
            if (!parse_ulong(a, &v))
                return usage_error("--seed needs a number, not '%s'", a);
            o.seed = v;
            have_seed = true;
            break;
        case O_OPS:
            if (!parse_ulong(a, &v) || v == 0 || v > DC_MAX_OPS)
                return usage_error("--ops needs a number from 1 to 256, not '%s'", a);
            o.ops_per_seq = (unsigned)v;
            break;
        case O_JOBS:
            if (!parse_ulong(a, &v) || v == 0 || v > 64)
                return usage_error("--jobs needs a number from 1 to 64, not '%s'", a);
            o.jobs = (unsigned)v;
            break;
        case 'q':
        case O_QUIET:
            quiet = true;
            break;
        case O_REPORTS:
            if (!parse_ulong(a, &v) || v == 0 || v > 1000)
                return usage_error("--reports needs a number from 1 to 1000, not '%s'", a);
            o.max_reports = (unsigned)v;
            break;
        case O_STOP:
            if (!parse_ulong(a, &v) || v == 0)
                return usage_error("--stop-after needs a number > 0, not '%s'", a);
            o.stop_after = v;
            break;
        case O_MLOCK:
            if (!dc_mlock_mode_parse(a, &o.mlock))
                return usage_error("--mlock takes auto, full, limited or none, not '%s'", a);
            break;
        case O_SHARED:
            o.shared_anon = true;
            break;
        case O_MEMFD:
            o.memfd = true;
            break;
        case O_FILES:
            o.files = true;
            break;
        case O_FORK:
            o.fork = true;
            break;
        case O_FILEDIR:
            o.file_dir = a;
            break;
        case O_EXTRA:
            o.extra_advice = true;
            break;
        case O_MLOCKALL:
            o.mlockall = true;
            break;
        case O_MREMAP:
            o.mremap = true;
            break;
        case O_NOMEM:
            o.no_memory = true;
            break;
        case O_NOMIN:
            minimize = false;
            break;
        case O_RSS:
            o.compare_rss = true;
            break;
        case O_WINDOW:
            if (!parse_ulong(a, &v) || v == 0 || v & 4095)
                return usage_error("--window needs a page-aligned address, not '%s'", a);
            o.window = v;
            break;
        case O_WPAGES:
            if (!parse_ulong(a, &v) || v < 2 || v > 1024)
                return usage_error("--window-pages needs a number from 2 to 1024, not '%s'", a);
            o.window_pages = (unsigned)v;
            break;
        case O_MPAGES:
            if (!parse_ulong(a, &v) || v == 0 || v > 1024)
                return usage_error("--margin-pages needs a number from 1 to 1024, not '%s'", a);
            o.margin_pages = (unsigned)v;
            break;
        case O_TIMEOUT:
            if (!parse_ulong(a, &v) || v == 0 || v > 3600)
                return usage_error("--timeout needs seconds from 1 to 3600, not '%s'", a);
            o.timeout_seconds = (unsigned)v;
            break;
        case O_KVK:
            o.kernel_vs_kernel = true;
            break;
        case O_ASSUME:
            if (add_assume(&assume, a) < 0)
                return usage_error("%s", "out of memory");
            break;
        case 'h':
        case O_HELP:
            free(assume);
            usage(stdout);
            return 0;
        default:
            free(assume);
            return usage_error("check: unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        free(assume);
        return usage_error("check: unexpected argument '%s'", argv[optind]);
    }
    struct mm_config cfg;
    int hr = host_model(assume, &cfg);
    free(assume);
    if (hr)
        return hr;
    o.mm_config = &cfg;
    char host[512];
    dc_host_describe(&cfg, host, sizeof(host));
    printf("host:       %s\n", host);
    fflush(stdout);
    if (!have_seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct dc_rng r = { ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 32) };
        o.seed = dc_rng_next(&r) >> 16;     /* short enough to type */
    }
    if (!o.sequences)
        o.sequences = 10000;
    if (!quiet)
        o.progress = stderr;
    if (!quiet && !o.max_reports)
        o.max_reports = 3;

    struct dc_result r;
    int rc = dc_run(&o, &r);
    if (rc < 0) {
        fprintf(stderr, "%s: check: %s\n", prog, r.error);
        if (r.sequences)
            print_summary(&o, &r, quiet, false);
        dc_result_free(&r);
        return 1;
    }
    print_summary(&o, &r, quiet, minimize);
    dc_result_free(&r);
    return rc ? 1 : 0;
}

/* ------------------------------------------------------- maps, smaps, diff */

static int read_script(const char *file, struct dc_script *s)
{
    FILE *in = strcmp(file, "-") ? fopen(file, "re") : stdin;
    unsigned nerr = 0;
    if (!in) {
        fprintf(stderr, "%s: cannot open %s: %s\n", prog, file, strerror(errno));
        return 2;
    }
    /* Each bad line's message names the tool, the script and the line. */
    char where[4096];
    snprintf(where, sizeof(where), "%s: %s", prog, strcmp(file, "-") ? file : "<stdin>");
    int r = dc_script_read(in, where, s, stderr, &nerr);
    if (in != stdin)
        fclose(in);
    if (r < 0) {
        fprintf(stderr, "%s: %u bad line%s in %s; nothing was run\n", prog, nerr,
                nerr == 1 ? "" : "s", file);
        return 2;
    }
    return 0;
}

/* maps -m: every VMA as check's reports show it, with its memory counters
 * (kB), as comment lines after the maps text. */
static int show_memory(struct mm *mm)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return -ENOMEM;
    int r = mm_show_smaps(mm, f);
    fclose(f);
    static struct dc_layout l;
    if (r >= 0 && dc_smaps_parse(text, len, 0, ~0UL, &l) < 0)
        r = -EINVAL;
    free(text);
    if (r < 0) {
        fprintf(stderr, "%s: mm_show_smaps: -%s\n", prog, dc_errno_name(-r));
        return r;
    }
    printf("# memory (kB):\n");
    dc_layout_print(stdout, &l, NULL, "#", true);
    return 0;
}

static int cmd_show(int argc, char **argv, bool smaps)
{
    static const struct option longopts[] = {
        { "verbose", no_argument, NULL, 'v' },
        { "memory", no_argument, NULL, 'm' },
        { "assume", required_argument, NULL, 'a' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool verbose = false, memory = false;
    char *assume = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, smaps ? "vh" : "vmh", longopts, NULL)) != -1) {
        switch (c) {
        case 'v':
            verbose = true;
            break;
        case 'm':
            if (smaps)
                goto bad;
            memory = true;
            break;
        case 'a':
            if (add_assume(&assume, optarg) < 0)
                return usage_error("%s", "out of memory");
            break;
        case 'h':
            free(assume);
            usage(stdout);
            return 0;
        default:
        bad:
            free(assume);
            return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    const char *file;
    struct mm_config cfg;
    int rc = script_and_model(argc, argv, argv[0], assume, &file, &cfg);
    if (rc)
        return rc;
    struct dc_script s;
    rc = read_script(file, &s);
    if (rc)
        return rc;

    /* A script with loads or stores is a memory check: no THP, as in
     * `vmarea check` and `vmarea diff`. */
    for (size_t i = 0; i < s.n; i++)
        if (s.ops[i].kind == DC_WRITE || s.ops[i].kind == DC_READ)
            cfg.thp = MM_THP_NEVER;
    struct mm *mm = mm_create(&cfg);
    if (!mm) {
        fprintf(stderr, "%s: mm_create failed\n", prog);
        dc_script_free(&s);
        return 1;
    }
    for (size_t i = 0; i < s.n; i++) {
        uint64_t hash;
        long ret = dc_vmarea_apply(mm, &s.ops[i], &hash);
        bool read = s.ops[i].kind == DC_READ && ret >= 0;
        if (ret < 0 || verbose || read) {
            char buf[48];
            dc_format_ret(buf, sizeof(buf), &s.ops[i], ret);
            printf("# line %u: %s: %s", s.lines[i], dc_op_word(&s.ops[i]), buf);
            if (read)
                printf(" hash %016llx", (unsigned long long)hash);
            putchar('\n');
        }
    }
    fflush(stdout);
    int r = smaps ? mm_show_smaps(mm, stdout) : mm_show_maps(mm, stdout);
    if (r < 0)
        fprintf(stderr, "%s: mm_show_%s: -%s\n", prog, smaps ? "smaps" : "maps", dc_errno_name(-r));
    if (r >= 0 && memory)
        r = show_memory(mm);
    mmput(mm);
    dc_vmarea_end();
    dc_script_free(&s);
    return r < 0 ? 1 : 0;
}

static int cmd_diff(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "no-memory", no_argument, NULL, 'n' },
        { "minimize", no_argument, NULL, 'M' },
        { "assume", required_argument, NULL, 'a' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct dc_options o = { 0 };
    bool minimize = false;
    char *assume = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            o.no_memory = true;
            break;
        case 'M':
            minimize = true;
            break;
        case 'a':
            if (add_assume(&assume, optarg) < 0)
                return usage_error("%s", "out of memory");
            break;
        case 'h':
            free(assume);
            usage(stdout);
            return 0;
        default:
            free(assume);
            return usage_error("diff: unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    const char *file;
    struct mm_config cfg;
    int hr = script_and_model(argc, argv, "diff", assume, &file, &cfg);
    if (hr)
        return hr;
    o.mm_config = &cfg;
    struct dc_script s;
    int rc = read_script(file, &s);
    if (rc)
        return rc;
    if (s.n > DC_MAX_OPS) {
        fprintf(stderr, "%s: diff runs at most %d ops\n", prog, DC_MAX_OPS);
        dc_script_free(&s);
        return 2;
    }
    unsigned n = (unsigned)s.n;
    if (minimize) {
        char category[96];
        int m = dc_minimize(&o, s.ops, &n, category, sizeof(category));
        if (m < 0) {
            fprintf(stderr, "%s: %s\n", prog, category);
            dc_script_free(&s);
            return 2;
        }
        if (m == 0) {
            printf("shrunk to %u of %zu ops, still \"%s\":\n", n, s.n, category);
            print_script(s.ops, n);
            printf("\n");
        }
    }
    int r = dc_check_ops(&o, s.ops, n, stdout);
    dc_script_free(&s);
    return r == 0 ? 0 : r == 1 ? 1 : 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("vmarea %s\n", VMAREA_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "check"))
        return cmd_check(argc - 1, argv + 1);
    if (!strcmp(cmd, "maps"))
        return cmd_show(argc - 1, argv + 1, false);
    if (!strcmp(cmd, "smaps"))
        return cmd_show(argc - 1, argv + 1, true);
    if (!strcmp(cmd, "diff"))
        return cmd_diff(argc - 1, argv + 1);
    if (!strcmp(cmd, "trace"))
        return vmarea_trace(argc - 1, argv + 1);
    return usage_error("unknown command '%s'", cmd);
}

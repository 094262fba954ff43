/* SPDX-License-Identifier: MIT */
/*
 * diffcheck_options.c — the checker's options as a run uses them: every
 * default filled in, and what follows from them (the window and the view
 * around it, the mlock mode this process allows, whether memory is
 * compared), in struct cfg; the options that a replay command line must
 * repeat; and the checks, before anything runs, that the options make sense
 * and that the window is free in this process.
 */
#define _GNU_SOURCE
#include "diffcheck_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* 32 TiB: below a PIE program (0x55..), the heap and mmap_base (0x7f..), and
 * clear of AddressSanitizer's shadow (up to 0x10007fff8000) and allocator
 * (0x600000000000), so sanitizer builds can run the checker too. */
#define DEFAULT_WINDOW      0x200000000000UL
#define DEFAULT_PAGES       64
#define DEFAULT_MARGIN      16
#define DEFAULT_SEQUENCES   10000
#define DEFAULT_OPS         20
#define DEFAULT_TIMEOUT     20
#define STACK_GUARD_GAP     (256 * PAGE)    /* Linux's default stack_guard_gap */

/* Does this process have CAP_IPC_LOCK? */
static bool have_cap_ipc_lock(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    bool have = false;
    if (!f)
        return geteuid() == 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long caps;
        if (sscanf(line, "CapEff: %llx", &caps) == 1) {
            have = caps & (1ULL << 14);     /* CAP_IPC_LOCK */
            break;
        }
    }
    fclose(f);
    return have;
}

void dc_cfg_resolve(const struct dc_options *in, struct cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->o = *in;
    struct dc_options *o = &c->o;
    if (!o->sequences)
        o->sequences = DEFAULT_SEQUENCES;
    if (!o->ops_per_seq)
        o->ops_per_seq = DEFAULT_OPS;
    if (o->ops_per_seq > DC_MAX_OPS)
        o->ops_per_seq = DC_MAX_OPS;
    if (!o->jobs) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o->jobs = n < 1 ? 1 : n > 4 ? 4 : (unsigned)n;
    }
    if (!o->max_reports)
        o->max_reports = 1;
    if (!o->window)
        o->window = DEFAULT_WINDOW;
    if (!o->window_pages)
        o->window_pages = DEFAULT_PAGES;
    if (o->window_pages > MODEL_PAGES)
        o->window_pages = MODEL_PAGES;
    if (!o->margin_pages)
        o->margin_pages = DEFAULT_MARGIN;
    if (o->margin_pages > 1024)
        o->margin_pages = 1024;
    if (!o->timeout_seconds)
        o->timeout_seconds = DEFAULT_TIMEOUT;
    if (!o->file_dir) {
        const char *t = getenv("TMPDIR");
        o->file_dir = t && *t ? t : "/var/tmp";
    }
    dc_file_dir_set(o->file_dir);
    if (o->mlock == DC_MLOCK_AUTO) {
        struct rlimit rl;
        unsigned long need = 2UL * o->window_pages * PAGE;
        if (have_cap_ipc_lock())
            o->mlock = DC_MLOCK_FULL;
        else if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur >= need)
            o->mlock = DC_MLOCK_LIMITED;
        else
            o->mlock = DC_MLOCK_NONE;
    }
    c->win_lo = o->window;
    c->win_hi = o->window + (unsigned long)o->window_pages * PAGE;
    c->view_lo = c->win_lo - (unsigned long)o->margin_pages * PAGE;
    c->view_hi = c->win_hi + (unsigned long)o->margin_pages * PAGE;
    c->mlock_unlimited = o->mlock == DC_MLOCK_FULL;
    c->memory = !o->no_memory;
    c->compare_mem = c->memory || o->compare_rss;
    c->view_pages = (unsigned)((c->view_hi - c->view_lo) / PAGE);
}

static const char *const mlock_mode_names[] = {
    [DC_MLOCK_AUTO] = "auto", [DC_MLOCK_FULL] = "full", [DC_MLOCK_LIMITED] = "limited",
    [DC_MLOCK_NONE] = "none",
};
#define NR_MLOCK_MODES (sizeof(mlock_mode_names) / sizeof(mlock_mode_names[0]))

const char *dc_mlock_mode_name(enum dc_mlock_mode m)
{
    return mlock_mode_names[(unsigned)m < NR_MLOCK_MODES ? m : DC_MLOCK_AUTO];
}

bool dc_mlock_mode_parse(const char *name, enum dc_mlock_mode *m)
{
    for (unsigned i = 0; i < NR_MLOCK_MODES; i++)
        if (!strcmp(name, mlock_mode_names[i])) {
            *m = (enum dc_mlock_mode)i;
            return true;
        }
    return false;
}

void dc_replay_flags(const struct cfg *c, char *buf, size_t size)
{
    const struct dc_options *o = &c->o;
    size_t n = 0;
#define ADD(...) do { int k_ = snprintf(buf + n, size - n, __VA_ARGS__); \
                      if (k_ > 0 && (size_t)k_ < size - n) n += (size_t)k_; } while (0)
    buf[0] = '\0';
    ADD(" --ops %u", o->ops_per_seq);
    if (o->mlock != DC_MLOCK_FULL)
        ADD(" --mlock %s", dc_mlock_mode_name(o->mlock));
    if (o->shared_anon)
        ADD(" --shared-anon");
    if (o->memfd)
        ADD(" --memfd");
    if (o->files)
        ADD(" --files");
    if (o->fork)
        ADD(" --fork");
    if (o->files && strcmp(o->file_dir, "/var/tmp"))
        ADD(" --file-dir %s", o->file_dir);
    if (o->extra_advice)
        ADD(" --extra-advice");
    if (o->mlockall && o->mlock == DC_MLOCK_FULL)
        ADD(" --mlockall");
    if (o->mremap)
        ADD(" --mremap");
    if (o->no_memory)
        ADD(" --no-memory");
    if (o->compare_rss && o->no_memory)
        ADD(" --rss");
    if (o->window != DEFAULT_WINDOW)
        ADD(" --window 0x%lx", o->window);
    if (o->window_pages != DEFAULT_PAGES)
        ADD(" --window-pages %u", o->window_pages);
    if (o->margin_pages != DEFAULT_MARGIN)
        ADD(" --margin-pages %u", o->margin_pages);
    if (o->kernel_vs_kernel)
        ADD(" --kernel-vs-kernel");
#undef ADD
}

int dc_window_check(const struct dc_options *opt, char *err, size_t errsize)
{
    struct cfg c;
    dc_cfg_resolve(opt, &c);
    if (c.win_lo & (PAGE - 1) || c.view_lo > c.win_lo || c.view_hi < c.win_hi ||
        c.view_hi > TASK_SIZE || c.view_lo < 0x10000) {
        snprintf(err, errsize, "bad window %#lx + %u pages (margin %u pages)", c.win_lo,
                 c.o.window_pages, c.o.margin_pages);
        return -1;
    }
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f) {
        snprintf(err, errsize, "cannot read /proc/self/maps: %s", strerror(errno));
        return -1;
    }
    char line[512];
    int rc = 0;
    /* With memory ops, a load or store below a VM_GROWSDOWN VMA in the
     * window grows it only if no VMA ends within stack_guard_gap below:
     * keep that much free below the window too. */
    unsigned long need_lo = c.view_lo;
    if (!c.o.no_memory)
        need_lo = c.win_lo > STACK_GUARD_GAP ? c.win_lo - STACK_GUARD_GAP : 0;
    if (need_lo > c.view_lo)
        need_lo = c.view_lo;
    while (fgets(line, sizeof(line), f)) {
        unsigned long s, e;
        if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s < c.view_hi && e > need_lo) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(err, errsize, "the window %#lx-%#lx (with margins%s) is not free in this "
                     "process: %s", need_lo, c.view_hi,
                     need_lo < c.view_lo ? " and the stack guard gap below" : "", line);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

int dc_cfg_prepare(const struct dc_options *opt, struct cfg *c, char *err, size_t errsize,
                   char *notes, size_t notessize)
{
    dc_cfg_resolve(opt, c);
    dc_probe_task_size();
    if (c->o.ops_per_seq == 0 || c->o.window_pages < 2) {
        snprintf(err, errsize, "ops per sequence and window pages must be > 0 and > 1");
        return -1;
    }
    if (dc_window_check(&c->o, err, errsize) < 0)
        return -1;
    if (opt->mm_config) {
        c->mmcfg = *opt->mm_config;
    } else {
        int r = mm_config_from_host(&c->mmcfg);
        if (r < 0 && notes)
            snprintf(notes, notessize, "mm_config_from_host: -%s; its probes of the host's "
                     "properties failed, the vmarea side assumes Linux's defaults for them",
                     dc_errno_name(-r));
    }
    if (c->memory)
        c->mmcfg.thp = MM_THP_NEVER;    /* as the kernel side's PR_SET_THP_DISABLE */
    return 0;
}

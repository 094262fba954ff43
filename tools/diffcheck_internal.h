/* SPDX-License-Identifier: MIT */
/*
 * diffcheck_internal.h — what the checker's files share with each other and
 * not with the tool or the tests (those see diffcheck.h only).
 *
 *   diffcheck_options.c   the options with their defaults filled in (struct cfg)
 *   diffcheck.c           the run
 */
#ifndef VMAREA_DIFFCHECK_INTERNAL_H
#define VMAREA_DIFFCHECK_INTERNAL_H

#include "diffcheck.h"
#include "vmarea.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Messages and categories are cut to their buffers on purpose (a gcc
 * warning; clang has none by that name). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#define TASK_SIZE 0x7ffffffff000UL

#define MODEL_PAGES         1024    /* the largest window */

static inline unsigned long page_align(unsigned long x) { return (x + PAGE - 1) & ~(PAGE - 1); }

static inline double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------- diffcheck_options.c */

/* The options with every default filled in, plus what follows from them. */
struct cfg {
    struct dc_options o;
    unsigned long win_lo, win_hi;       /* ops stay in here */
    unsigned long view_lo, view_hi;     /* compared, and probed free */
    bool mlock_unlimited;
    bool memory;                        /* memory ops, counters and contents */
    bool compare_mem;                   /* per-VMA memory counters */
    unsigned view_pages;
    struct mm_config mmcfg;
};

/* in with its defaults filled in; c->mmcfg is left zero. */
void dc_cfg_resolve(const struct dc_options *in, struct cfg *c);

/*
 * dc_cfg_resolve, then check that the options make sense and that the
 * window is free (dc_window_check), and fill in c->mmcfg.  0, or -1 with a
 * message in err.  notes (may be NULL) gets a message for the user when the
 * host's properties could not all be probed.
 */
int dc_cfg_prepare(const struct dc_options *opt, struct cfg *c, char *err, size_t errsize,
                   char *notes, size_t notessize);

/* The generator options of c as command-line options (" --ops 20 ..."), to
 * add to a replay command. */
void dc_replay_flags(const struct cfg *c, char *buf, size_t size);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * diffcheck_internal.h — what the checker's files share with each other and
 * not with the tool or the tests (those see diffcheck.h only): the options
 * resolved (struct cfg), what a side reported (struct side_out), a worker
 * with its pair of sides (struct worker), and the functions that pass
 * between the files, in sections by the file that defines them.
 *
 * The checker's files:
 *   diffcheck.c           the run: worker threads, each running pairs of sides
 *   diffcheck_options.c   the options with their defaults filled in; the window check
 *   diffcheck_gen.c       the sequence generator
 *   diffcheck_side.c      the two sides, each a child process, and the stream it writes
 *   diffcheck_compare.c   a pair's outcomes compared, the first difference, the reports
 *   diffcheck_minimize.c  shrinking a mismatching op list
 *   diffcheck_script.c    the op script language; the names of ops, flags and advices
 *   diffcheck_safe.c      which ops may run for real
 *   diffcheck_mem.c       the kernel side's loads and stores; the hash of memory
 *   diffcheck_smaps.c     the smaps parser; layouts compared and printed
 *   diffcheck_host.c      the host model's names
 */
#ifndef VMAREA_DIFFCHECK_INTERNAL_H
#define VMAREA_DIFFCHECK_INTERNAL_H

#include "diffcheck.h"
#include "vmarea.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

/* Messages and categories are cut to their buffers on purpose (a gcc
 * warning; clang has none by that name). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

/* The host's task size (0x7ffffffff000, or 2^56 - 4096 with five-level
 * paging), probed by dc_cfg_prepare: which ops are safe to run in the child,
 * and the lengths that meet its limit, depend on it. */
extern unsigned long dc_task_size;
#define TASK_SIZE dc_task_size
void dc_probe_task_size(void);

#define MODEL_PAGES         1024    /* the largest window */
/* The most pages a view has: the largest window and margins. */
#define MAX_VIEW_PAGES (MODEL_PAGES + 2 * 1024)

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

/* ---------------------------------------------------- diffcheck_side.c */

enum side_status { SIDE_OK, SIDE_ERROR, SIDE_DIED, SIDE_FORK };

/* What one side reported, decoded from its stream. */
struct side_out {
    enum side_status status;
    int wstatus;
    char msg[160];
    unsigned nrets;
    long rets[DC_MAX_OPS];
    uint64_t aux[DC_MAX_OPS];       /* DC_READ: hash of the bytes read; DC_MSYNC: of the file */
    uint64_t file_hash;             /* 'F': the file's bytes at the end; 0: none */
    unsigned npages;                /* 'H': contents at the end (memory ops on) */
    struct dc_page pages[MAX_VIEW_PAGES];
    unsigned nlayouts, cap_layouts;
    struct dc_layout *layouts;      /* parent_alloc'd, DC_MAX_OPS + 1 of them */
};

/* Memory a child uses, allocated by the parent before fork; free() it. */
struct scratch;
struct scratch *dc_scratch_new(void);

/*
 * Fork the child of side s (0: linux; 1: vmarea, or linux again with
 * kernel_vs_kernel) to run ops[0..n): with per_op, a layout after every op,
 * else one after the last.  Returns its pid with the read end of its pipe in
 * *rfd, or -1 with errno set.
 */
pid_t dc_side_spawn(const struct cfg *c, struct scratch *scratch, int s, const struct dc_op *ops,
                    unsigned n, uint64_t seed, bool per_op, int *rfd);

/* Decode a child's stream into o; returns true if it ended with 'D'. */
bool dc_side_decode(struct side_out *o, const char *b, size_t len);

/* --------------------------------------------------------- diffcheck.c */

struct run;

/* One worker thread of a run (or the one pair of dc_check_ops and
 * dc_minimize), with the buffers its pairs of sides use. */
struct worker {
    struct run *run;
    const struct cfg *c;
    struct scratch *scratch;
    struct dc_op ops[DC_MAX_OPS];
    struct side_out side[2];    /* 0: linux, 1: vmarea */
    char *rbuf;                 /* parent_alloc'd, RBUF_CAP bytes */
};

/* A worker of run r (NULL: none; the worker is used only for pairs) with
 * options c, and its buffers; NULL if out of memory. */
struct worker *dc_worker_new(struct run *r, const struct cfg *c);
void dc_worker_free(struct worker *w);

/* Run ops on both sides; fills w->side[0..1]. */
void dc_run_pair(struct worker *w, const struct dc_op *ops, unsigned n, uint64_t seed, bool per_op);

/* ------------------------------------------------- diffcheck_compare.c */

/* dc_write_report's index for an op list that is no generated sequence. */
#define DC_SCRIPT_INDEX (~0UL)

/* Did the two sides report the same: every result, layout and page? */
bool dc_outcomes_equal(const struct cfg *c, const struct side_out *a, const struct side_out *b);

/*
 * After a per-op run of w->ops[0..n) that did not match: the first op whose
 * result or following layout differs, or at which a side stopped, with its
 * category; when only the page contents at the end differ, the op after
 * which they first do, found by rerunning prefixes (w->side then holds the
 * per-op run of that prefix).  -1 when no op is to blame (category says
 * why).
 */
int dc_locate_difference(struct worker *w, unsigned n, uint64_t seed, char *category, size_t size);

/*
 * The report of a mismatch in w->side (a per-op run) to f: sequence index
 * with seed (DC_SCRIPT_INDEX: an op list of the caller's), its first op
 * that differs (-1: the final states differ), its category, and final, the
 * outcome of the run that found it (NULL: w->side's).
 */
void dc_write_report(struct worker *w, FILE *f, uint64_t seed, unsigned long index, unsigned n,
                     int first, const char *category, const struct side_out *final);

/* The report of w->ops[0..n) that matched, to f. */
void dc_write_same(struct worker *w, FILE *f, unsigned n);

/* How a child ended, from its wait status: "killed by SIGSEGV
 * (Segmentation fault)", "exited with status 3". */
void dc_describe_death(int st, unsigned timeout, char *buf, size_t size);

/* -------------------------------------------------- diffcheck_script.c */

/* The name of a madvise advice Linux knows ("dontneed"); NULL for any other
 * value. */
const char *dc_advice_name(int advice);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * diffcheck.c — the run of the kernel-differential checker: dc_run's worker
 * threads, each running pairs of sides on generated sequences, and the run
 * of one given op list (dc_check_ops).
 *
 * Shape of a run:
 *
 *   dc_run ──> worker threads (opt.jobs), each taking the next sequence index
 *                │
 *                ├─ fork ─> linux child:  probe the window free, run the ops
 *                │          as syscalls, parse /proc/self/smaps, write the
 *                │          results to a pipe, _exit
 *                ├─ fork ─> vmarea child: mm_create, run the ops as mm_*
 *                │          calls, parse mm_show_smaps, write, mmput, _exit
 *                └─ read both pipes, compare; on a difference run the pair
 *                   again with a snapshot after every op, find the first
 *                   op that differs, write the report
 *
 * The sequences come from diffcheck_gen.c, the children and the stream they
 * write from diffcheck_side.c; the comparison and the reports are
 * diffcheck_compare.c's.
 */
#define _GNU_SOURCE
#include "diffcheck_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------- one pair */

/* The longest stream a child writes (diffcheck_side.c): a result and a full
 * layout per op, and the page contents. */
#define RBUF_CAP ((DC_MAX_OPS + 1) * (sizeof(struct dc_layout) + 64) + \
                  MAX_VIEW_PAGES * sizeof(struct dc_page) + 4096)

/*
 * Memory only the parent uses.  Every fork copies the page tables of what
 * the parent has touched, and every later write of the parent to such a
 * page takes a copy-on-write fault; MADV_DONTFORK keeps these buffers (the
 * replay layouts alone are megabytes) out of the children altogether.
 * Pages are touched, and so cost, only as far as they are used.
 */
static void *parent_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    madvise(p, size, MADV_DONTFORK);
    return p;
}

static void parent_free(void *p, size_t size)
{
    if (p)
        munmap(p, size);
}

static int read_all(struct worker *w, int fd, size_t *len)
{
    *len = 0;
    for (;;) {
        if (*len == RBUF_CAP)
            return -1;
        ssize_t n = read(fd, w->rbuf + *len, RBUF_CAP - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        *len += (size_t)n;
    }
}

void dc_run_pair(struct worker *w, const struct dc_op *ops, unsigned n, uint64_t seed, bool per_op)
{
    pid_t pid[2];
    int fd[2];
    for (int s = 0; s < 2; s++) {
        pid[s] = dc_side_spawn(w->c, w->scratch, s, ops, n, seed, per_op, &fd[s]);
        if (pid[s] < 0) {
            w->side[s].status = SIDE_FORK;
            snprintf(w->side[s].msg, sizeof(w->side[s].msg), "fork: %s", strerror(errno));
        }
    }
    for (int s = 0; s < 2; s++) {
        struct side_out *o = &w->side[s];
        if (pid[s] < 0)
            continue;
        size_t len;
        int rr = read_all(w, fd[s], &len);
        close(fd[s]);
        int st = 0;
        while (waitpid(pid[s], &st, 0) < 0 && errno == EINTR)
            ;
        o->wstatus = st;
        if (rr < 0) {
            o->status = SIDE_ERROR;
            snprintf(o->msg, sizeof(o->msg), "reading the child's results failed");
            continue;
        }
        bool done = dc_side_decode(o, w->rbuf, len);
        if (done && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            o->status = SIDE_DIED;
    }
}

/* ------------------------------------------------------------ the run */

struct run {
    struct cfg c;
    atomic_ulong next;
    atomic_ulong done, ops, failed, mismatches, crashes;
    atomic_bool stop;
    atomic_uint running;
    pthread_mutex_t lock;           /* guards everything below */
    struct dc_mismatch *reports;    /* sorted by index, at most max_reports */
    unsigned nreports;
    struct dc_category *cats;
    unsigned ncats, capcats;
    char fatal[256];
};

static void note_category(struct run *r, const char *name, uint64_t seed, unsigned long index, int first)
{
    for (unsigned i = 0; i < r->ncats; i++) {
        struct dc_category *k = &r->cats[i];
        if (strcmp(k->name, name) == 0) {
            k->count++;
            if (index < k->index) {
                k->index = index;
                k->seed = seed;
                k->first_op = first;
            }
            return;
        }
    }
    if (r->ncats == r->capcats) {
        unsigned cap = r->capcats ? r->capcats * 2 : 16;
        struct dc_category *k = realloc(r->cats, cap * sizeof(*k));
        if (!k)
            return;
        r->cats = k;
        r->capcats = cap;
    }
    struct dc_category *k = &r->cats[r->ncats++];
    memset(k, 0, sizeof(*k));
    snprintf(k->name, sizeof(k->name), "%s", name);
    k->count = 1;
    k->seed = seed;
    k->index = index;
    k->first_op = first;
}

/* Keep the max_reports lowest-index mismatches; text ownership passes here. */
static void note_report(struct run *r, struct dc_mismatch *m)
{
    unsigned max = r->c.o.max_reports;
    if (r->nreports == max) {
        if (m->index > r->reports[max - 1].index) {
            free(m->text);
            return;
        }
        free(r->reports[max - 1].text);
        r->nreports--;
    }
    unsigned i = r->nreports;
    while (i > 0 && r->reports[i - 1].index > m->index) {
        r->reports[i] = r->reports[i - 1];
        i--;
    }
    r->reports[i] = *m;
    r->nreports++;
}

static bool linux_side_broken(struct worker *w)
{
    const struct side_out *k = &w->side[0];
    if (k->status == SIDE_OK)
        return false;
    /* The oracle itself failed: the window was taken, or the checker let a
     * syscall hurt its own child.  Either way no result means anything. */
    pthread_mutex_lock(&w->run->lock);
    if (!w->run->fatal[0]) {
        char why[96];
        if (k->status == SIDE_DIED)
            dc_describe_death(k->wstatus, w->c->o.timeout_seconds, why, sizeof(why));
        snprintf(w->run->fatal, sizeof(w->run->fatal), "%s",
                 k->status == SIDE_DIED ? why : k->msg);
    }
    pthread_mutex_unlock(&w->run->lock);
    atomic_store(&w->run->stop, true);
    return true;
}

static void check_sequence(struct worker *w, unsigned long index, uint64_t seed)
{
    struct run *r = w->run;
    const struct cfg *c = w->c;
    unsigned n = dc_generate(&c->o, seed, w->ops);

    dc_run_pair(w, w->ops, n, seed, false);
    if (w->side[0].status != SIDE_OK && w->side[0].status != SIDE_DIED) {
        linux_side_broken(w);
        return;
    }
    unsigned failed = 0;
    for (unsigned i = 0; i < w->side[0].nrets; i++)
        failed += w->side[0].rets[i] < 0;
    atomic_fetch_add(&r->failed, failed);
    if (dc_outcomes_equal(c, &w->side[0], &w->side[1])) {
        atomic_fetch_add(&r->done, 1);
        atomic_fetch_add(&r->ops, n);
        return;
    }

    /* Keep the final outcome for the report in case the replay differs. */
    struct side_out *final = malloc(2 * sizeof(*final));
    if (final) {
        for (int s = 0; s < 2; s++) {
            final[s] = w->side[s];
            final[s].layouts = NULL;
            final[s].nlayouts = final[s].cap_layouts = 0;
            if (w->side[s].nlayouts) {
                final[s].layouts = malloc(sizeof(struct dc_layout));
                if (final[s].layouts) {
                    final[s].layouts[0] = w->side[s].layouts[w->side[s].nlayouts - 1];
                    final[s].nlayouts = final[s].cap_layouts = 1;
                }
            }
        }
    }

    dc_run_pair(w, w->ops, n, seed, true);
    if (w->side[0].status == SIDE_ERROR || w->side[0].status == SIDE_FORK) {
        linux_side_broken(w);
        goto out;
    }

    struct dc_mismatch m = { .seed = seed, .index = index };
    m.first_op = dc_locate_difference(w, n, seed, m.category, sizeof(m.category));
    bool crash = w->side[1].status != SIDE_OK;
    if (w->side[0].status != SIDE_OK) {
        /* The kernel side died: the checker's fault, not the library's. */
        linux_side_broken(w);
        goto out;
    }

    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    if (f) {
        dc_write_report(w, f, seed, index, n, m.first_op, m.category, final);
        fclose(f);
    }
    m.text = text;

    atomic_fetch_add(&r->done, 1);
    atomic_fetch_add(&r->ops, n);
    unsigned long nm = atomic_fetch_add(&r->mismatches, 1) + 1;
    if (crash)
        atomic_fetch_add(&r->crashes, 1);
    pthread_mutex_lock(&r->lock);
    note_category(r, m.category, seed, index, m.first_op);
    if (c->o.report)
        fprintf(c->o.report, "mismatch: seed 0x%llx op %d: %s\n", (unsigned long long)seed,
                m.first_op, m.category);
    note_report(r, &m);
    pthread_mutex_unlock(&r->lock);
    if (c->o.stop_after && nm >= c->o.stop_after)
        atomic_store(&r->stop, true);
out:
    if (final) {
        free(final[0].layouts);
        free(final[1].layouts);
        free(final);
    }
}

void dc_worker_free(struct worker *w)
{
    for (int s = 0; s < 2; s++)
        parent_free(w->side[s].layouts, (DC_MAX_OPS + 1) * sizeof(struct dc_layout));
    parent_free(w->rbuf, RBUF_CAP);
    free(w->scratch);
    free(w);
}

struct worker *dc_worker_new(struct run *r, const struct cfg *c)
{
    struct worker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->run = r;
    w->c = c;
    w->scratch = dc_scratch_new();
    w->rbuf = parent_alloc(RBUF_CAP);
    for (int s = 0; s < 2; s++) {
        w->side[s].layouts = parent_alloc((DC_MAX_OPS + 1) * sizeof(struct dc_layout));
        w->side[s].cap_layouts = w->side[s].layouts ? DC_MAX_OPS + 1 : 0;
    }
    if (!w->scratch || !w->rbuf || !w->side[0].layouts || !w->side[1].layouts) {
        dc_worker_free(w);
        return NULL;
    }
    return w;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->run;
    for (;;) {
        if (atomic_load(&r->stop))
            break;
        unsigned long i = atomic_fetch_add(&r->next, 1);
        if (i >= r->c.o.sequences)
            break;
        check_sequence(w, i, r->c.o.seed + i);
    }
    atomic_fetch_sub(&r->running, 1);
    return NULL;
}

int dc_run(const struct dc_options *opt, struct dc_result *res)
{
    memset(res, 0, sizeof(*res));
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(res->kernel, sizeof(res->kernel), "%s %s", u.sysname, u.release);

    struct run *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(res->error, sizeof(res->error), "out of memory");
        return -1;
    }
    char notes[200] = "";
    if (dc_cfg_prepare(opt, &r->c, res->error, sizeof(res->error), notes, sizeof(notes)) < 0) {
        free(r);
        return -1;
    }
    const struct cfg *c = &r->c;
    res->mlock = c->o.mlock;
    dc_replay_flags(c, res->replay_flags, sizeof(res->replay_flags));
    pthread_mutex_init(&r->lock, NULL);
    r->reports = calloc(c->o.max_reports + 1, sizeof(*r->reports));
    if (notes[0] && c->o.progress)
        fprintf(c->o.progress, "note: %s\n", notes);

    double t0 = now_seconds();
    unsigned jobs = c->o.jobs;
    if (jobs > c->o.sequences)
        jobs = (unsigned)c->o.sequences;
    struct worker **ws = calloc(jobs, sizeof(*ws));
    pthread_t *tids = calloc(jobs, sizeof(*tids));
    unsigned started = 0;
    if (!r->reports || !ws || !tids) {
        snprintf(res->error, sizeof(res->error), "out of memory");
        goto fail;
    }
    /* Nothing buffered may be copied into the children. */
    fflush(NULL);
    atomic_store(&r->running, jobs);
    for (unsigned j = 0; j < jobs; j++) {
        ws[j] = dc_worker_new(r, c);
        if (!ws[j] || pthread_create(&tids[j], NULL, worker_main, ws[j]) != 0) {
            atomic_store(&r->stop, true);
            atomic_fetch_sub(&r->running, jobs - j);
            if (ws[j])
                dc_worker_free(ws[j]);
            snprintf(res->error, sizeof(res->error), "cannot start worker threads");
            break;
        }
        started++;
    }

    /* Progress: on a terminal a line redrawn ten times a second, else a
     * line every five seconds. */
    FILE *pf = c->o.progress;
    bool tty = pf && isatty(fileno(pf));
    double last = t0;
    while (atomic_load(&r->running) > 0) {
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        double t = now_seconds();
        if (!pf || t - last < (tty ? 0.2 : 5.0))
            continue;
        last = t;
        unsigned long d = atomic_load(&r->done);
        double rate = d / (t - t0);
        fprintf(pf, "%scheck: %lu/%lu sequences, %lu ops, %lu mismatches, %.1f s",
                tty ? "\r\033[K" : "", d, c->o.sequences, atomic_load(&r->ops),
                atomic_load(&r->mismatches), t - t0);
        if (rate > 0 && d < c->o.sequences)
            fprintf(pf, ", ~%.0f s left", (double)(c->o.sequences - d) / rate);
        fputs(tty ? "" : "\n", pf);
        fflush(pf);
    }
    if (tty) {
        fputs("\r\033[K", pf);
        fflush(pf);
    }
    for (unsigned j = 0; j < started; j++) {
        pthread_join(tids[j], NULL);
        dc_worker_free(ws[j]);
    }

    res->seconds = now_seconds() - t0;
    res->sequences = atomic_load(&r->done);
    res->operations = atomic_load(&r->ops);
    res->failed = atomic_load(&r->failed);
    res->mismatches = atomic_load(&r->mismatches);
    res->crashes = atomic_load(&r->crashes);
    res->reports = r->reports;
    res->nreports = r->nreports;
    r->reports = NULL;
    /* categories by count, then by first index */
    for (unsigned i = 1; i < r->ncats; i++)
        for (unsigned j = i; j > 0; j--) {
            struct dc_category *a = &r->cats[j - 1], *b = &r->cats[j];
            if (a->count > b->count || (a->count == b->count && a->index <= b->index))
                break;
            struct dc_category t = *a;
            *a = *b;
            *b = t;
        }
    res->categories = r->cats;
    res->ncategories = r->ncats;
    r->cats = NULL;
    int rc = res->mismatches ? 1 : 0;
    if (r->fatal[0]) {
        snprintf(res->error, sizeof(res->error), "the linux side failed, so nothing can be "
                 "compared: %s", r->fatal);
        rc = -1;
    } else if (started < jobs) {
        rc = -1;
    }
    free(ws);
    free(tids);
    pthread_mutex_destroy(&r->lock);
    free(r);
    return rc;

fail:
    free(ws);
    free(tids);
    free(r->reports);
    pthread_mutex_destroy(&r->lock);
    free(r);
    return -1;
}

void dc_result_free(struct dc_result *res)
{
    for (unsigned i = 0; i < res->nreports; i++)
        free(res->reports[i].text);
    free(res->reports);
    free(res->categories);
    res->reports = NULL;
    res->categories = NULL;
    res->nreports = res->ncategories = 0;
}

int dc_check_ops(const struct dc_options *opt, const struct dc_op *ops, unsigned n, FILE *out)
{
    struct cfg cfg;
    const struct cfg *c = &cfg;
    char err[256];
    if (n > DC_MAX_OPS) {
        fprintf(out, "too many ops (%u, at most %d)\n", n, DC_MAX_OPS);
        return -1;
    }
    if (dc_cfg_prepare(opt, &cfg, err, sizeof(err), NULL, 0) < 0) {
        fprintf(out, "%s\n", err);
        return -1;
    }
    for (unsigned i = 0; i < n; i++)
        if (!dc_op_safe(&ops[i], c->win_lo, c->win_hi, c->mlock_unlimited)) {
            char buf[200];
            dc_format_op(buf, sizeof(buf), &ops[i]);
            fprintf(out, "op %u '%s' could touch memory outside the window %#lx-%#lx, "
                    "so it cannot run for real\n", i, buf, c->win_lo, c->win_hi);
            return -1;
        }
    struct worker *w = dc_worker_new(NULL, c);
    int rc = -1;
    if (!w)
        goto out;
    memcpy(w->ops, ops, n * sizeof(*ops));
    fflush(NULL);
    dc_run_pair(w, w->ops, n, 0, true);
    if (w->side[0].status == SIDE_ERROR || w->side[0].status == SIDE_FORK) {
        fprintf(out, "linux side: %s\n", w->side[0].msg);
        goto out;
    }
    char category[96];
    int first = dc_locate_difference(w, n, 0, category, sizeof(category));
    if (first < 0 && dc_outcomes_equal(c, &w->side[0], &w->side[1])) {
        dc_write_same(w, out, n);
        rc = 0;
    } else {
        dc_write_report(w, out, 0, DC_SCRIPT_INDEX, n, first, category, NULL);
        rc = 1;
    }
out:
    if (w)
        dc_worker_free(w);
    return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * diffcheck_compare.c — what the two sides of a pair reported, compared:
 * whether the outcomes match; if not, the first op at which the sides part
 * and a one-line category for it (the key by which a run groups its
 * mismatches and the minimizer recognizes one); and the reports, with the
 * ops in script form, each side's results, the layouts and the page
 * contents where they differ.
 */
#define _GNU_SOURCE
#include "diffcheck_internal.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static const char *side_name(const struct cfg *c, int s)
{
    return s == 0 ? "linux" : c->o.kernel_vs_kernel ? "linux#2" : "vmarea";
}

/* "killed by SIGSEGV (Segmentation fault)", "exited with status 3" */
void dc_describe_death(int st, unsigned timeout, char *buf, size_t size)
{
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
        snprintf(buf, size, "hung (killed after %u s)", timeout);
    else if (WIFSIGNALED(st))
        snprintf(buf, size, "killed by SIG%s (%s)", sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?",
                 strsignal(WTERMSIG(st)));
    else if (WIFEXITED(st))
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(st));
    else
        snprintf(buf, size, "stopped");
}

static bool pages_equal(const struct side_out *a, const struct side_out *b)
{
    return a->npages == b->npages && memcmp(a->pages, b->pages, a->npages * sizeof(a->pages[0])) == 0;
}

/* "all 0x5a", "mixed bytes", "unreadable" */
static void page_words(const struct dc_page *p, char *buf, size_t size)
{
    if (p->fill == DC_PAGE_UNREADABLE)
        snprintf(buf, size, "unreadable");
    else if (p->fill == DC_PAGE_MIXED)
        snprintf(buf, size, "mixed bytes (hash %016llx)", (unsigned long long)p->hash);
    else if (p->fill & DC_FILL_RAMP)
        snprintf(buf, size, "a ramp from 0x%02x", (unsigned)p->fill & 0xff);
    else
        snprintf(buf, size, "all 0x%02x", (unsigned)p->fill);
}

/* How the first differing page differs, for the category. */
static void pages_category(const struct side_out *a, const struct side_out *b, const char *bname,
                           char *buf, size_t size)
{
    if (a->npages != b->npages) {
        snprintf(buf, size, "page contents at the end: not reported by both sides");
        return;
    }
    for (unsigned i = 0; i < a->npages; i++) {
        const struct dc_page *x = &a->pages[i], *y = &b->pages[i];
        if (!memcmp(x, y, sizeof(*x)))
            continue;
        if (x->fill == DC_PAGE_UNREADABLE || y->fill == DC_PAGE_UNREADABLE)
            snprintf(buf, size, "page contents at the end: readable on %s only",
                     x->fill == DC_PAGE_UNREADABLE ? bname : "linux");
        else if (y->fill == 0)
            snprintf(buf, size, "page contents at the end: zeros on %s", bname);
        else if (x->fill == 0)
            snprintf(buf, size, "page contents at the end: zeros on linux");
        else
            snprintf(buf, size, "page contents at the end: data differs");
        return;
    }
}

bool dc_outcomes_equal(const struct cfg *c, const struct side_out *a, const struct side_out *b)
{
    if (a->status != SIDE_OK || b->status != SIDE_OK)
        return false;
    if (a->nrets != b->nrets || a->nlayouts != b->nlayouts)
        return false;
    for (unsigned i = 0; i < a->nrets; i++)
        if (a->rets[i] != b->rets[i] || a->aux[i] != b->aux[i])
            return false;
    for (unsigned i = 0; i < a->nlayouts; i++)
        if (dc_layout_compare(&a->layouts[i], &b->layouts[i], c->compare_mem))
            return false;
    return a->file_hash == b->file_hash && pages_equal(a, b);
}

static void ret_class(const struct dc_op *op, long ret, char *buf, size_t size)
{
    bool addr = op->kind == DC_MMAP || op->kind == DC_MREMAP;
    if (ret < 0 || ret == 0 || (addr && ret == DC_RET_ELSEWHERE))
        dc_format_ret(buf, size, op, ret);
    else if (addr)
        snprintf(buf, size, "an address");
    else
        snprintf(buf, size, "%ld", ret);
}

static void op_label(const struct dc_op *op, char *buf, size_t size)
{
    if (op->kind == DC_MADVISE) {
        const char *an = dc_advice_name(op->advice);
        if (an)
            snprintf(buf, size, "madvise(%s)", an);
        else
            snprintf(buf, size, "madvise(%d)", op->advice);
    } else if (op->kind == DC_MMAP) {
        const char *how = op->flags & MAP_FIXED_NOREPLACE ? "noreplace" : op->flags & MAP_FIXED ? "fixed" : "hint";
        snprintf(buf, size, "mmap(%s)", how);
    } else if (op->kind == DC_MREMAP) {
        snprintf(buf, size, "mremap(%s%s%s)", op->flags & MREMAP_MAYMOVE ? "maymove" : "in place",
                 op->flags & MREMAP_FIXED ? ",fixed" : "", op->flags & MREMAP_DONTUNMAP ? ",dontunmap" : "");
    } else if (op->kind == DC_MLOCK2 && op->flags == MLOCK_ONFAULT) {
        snprintf(buf, size, "mlock(onfault)");
    } else {
        snprintf(buf, size, "%s", dc_op_name(op->kind));
    }
}

static void diff_words(unsigned d, char *buf, size_t size)
{
    static const struct { unsigned bit; const char *word; } words[] = {
        { DC_DIFF_COUNT, "VMA count" }, { DC_DIFF_BOUNDS, "bounds" }, { DC_DIFF_PERMS, "perms" },
        { DC_DIFF_FLAGS, "VmFlags" }, { DC_DIFF_OFFSET, "offset" }, { DC_DIFF_NAME, "name" },
        { DC_DIFF_RSS, "Rss" }, { DC_DIFF_OUTSIDE, "VMAs outside the window" },
        { DC_DIFF_FIELDS, "ProtectionKey/THPeligible" }, { DC_DIFF_ANON, "Anonymous" },
        { DC_DIFF_DIRTY, "Private_Dirty" }, { DC_DIFF_LOCKED, "Locked" }, { DC_DIFF_PSS, "Pss" },
        { DC_DIFF_CLEAN, "Private_Clean/Shared" },
    };
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (d & words[i].bit) {
            int k = snprintf(buf + n, size - n, "%s%s", n ? ", " : "", words[i].word);
            if (k < 0 || (size_t)k >= size - n)
                break;
            n += (size_t)k;
        }
}

/*
 * Replay results in w->side: find the first op whose return value or
 * following layout differs, or at which a side stopped.  Fills category.
 */
static int first_difference(struct worker *w, unsigned n, char *category, size_t size)
{
    const struct cfg *c = w->c;
    const struct side_out *k = &w->side[0], *v = &w->side[1];
    char a[48], b[48], lab[64];
    for (unsigned i = 0; i < n; i++) {
        const struct dc_op *op = &w->ops[i];
        op_label(op, lab, sizeof(lab));
        for (int s = 0; s < 2; s++) {
            const struct side_out *o = &w->side[s];
            if (o->nrets <= i || o->nlayouts <= i) {
                char why[96];
                if (o->status == SIDE_ERROR || o->status == SIDE_FORK)
                    snprintf(why, sizeof(why), "%s", o->msg);
                else
                    dc_describe_death(o->wstatus, c->o.timeout_seconds, why, sizeof(why));
                snprintf(category, size, "%s side %s (at %s)", side_name(c, s), why, lab);
                return (int)i;
            }
        }
        if (k->rets[i] != v->rets[i]) {
            ret_class(op, k->rets[i], a, sizeof(a));
            ret_class(op, v->rets[i], b, sizeof(b));
            if (strcmp(a, b) == 0)
                snprintf(category, size, "%s: return value (different addresses)", lab);
            else
                snprintf(category, size, "%s: return %s, %s %s", lab, a, side_name(c, 1), b);
            return (int)i;
        }
        if (k->aux[i] != v->aux[i]) {
            snprintf(category, size, "%s: %s", lab,
                     op->kind == DC_MSYNC ? "the file's bytes after it differ" : "the bytes read differ");
            return (int)i;
        }
        unsigned d = dc_layout_compare(&k->layouts[i], &v->layouts[i], c->compare_mem);
        if (d) {
            char dw[96];
            diff_words(d, dw, sizeof(dw));
            snprintf(category, size, "%s: layout (%s)", lab, dw);
            return (int)i;
        }
    }
    for (int s = 0; s < 2; s++) {
        const struct side_out *o = &w->side[s];
        if (o->status != SIDE_OK) {
            char why[96];
            if (o->status == SIDE_ERROR || o->status == SIDE_FORK)
                snprintf(why, sizeof(why), "%s", o->msg);
            else
                dc_describe_death(o->wstatus, c->o.timeout_seconds, why, sizeof(why));
            snprintf(category, size, "%s side %s (after the last op)", side_name(c, s), why);
            return (int)n - 1;
        }
    }
    if (!pages_equal(k, v)) {
        pages_category(k, v, side_name(c, 1), category, size);
        return -1;
    }
    snprintf(category, size, "difference not reproduced in the per-op replay");
    return -1;
}

/*
 * The per-op replay matched op for op, but the page contents at the end
 * differ: contents are read only at the end of a run (reading maps pages),
 * so find the op after which they first differ by running prefixes of the
 * sequence, bisecting (a later op may hide a difference again, e.g. by
 * unmapping it; then this finds one op where contents part, not the first).
 * Leaves in w->side the per-op replay of the prefix ending with that op, and
 * returns its index; -1, with the full replay back in w->side, if no prefix
 * shows the difference.
 */
static int locate_contents(struct worker *w, unsigned n, uint64_t seed, char *category, size_t size)
{
    unsigned lo = 0, hi = n;        /* prefix lo: same contents; prefix hi: different */
    while (hi - lo > 1) {
        unsigned mid = lo + (hi - lo) / 2;
        dc_run_pair(w, w->ops, mid, seed, false);
        bool same = w->side[0].status == SIDE_OK && w->side[1].status == SIDE_OK &&
                    pages_equal(&w->side[0], &w->side[1]);
        if (same)
            lo = mid;
        else
            hi = mid;
    }
    dc_run_pair(w, w->ops, hi, seed, true);
    if (w->side[0].status == SIDE_OK && w->side[1].status == SIDE_OK &&
        !pages_equal(&w->side[0], &w->side[1])) {
        char what[96];
        pages_category(&w->side[0], &w->side[1], side_name(w->c, 1), what, sizeof(what));
        char lab[64];
        op_label(&w->ops[hi - 1], lab, sizeof(lab));
        /* "page contents at the end: X" -> "write: page contents: X" */
        const char *x = strstr(what, ": ");
        snprintf(category, size, "%s: page contents%s", lab, x ? x : "");
        return (int)hi - 1;
    }
    dc_run_pair(w, w->ops, n, seed, true);
    return -1;
}

int dc_locate_difference(struct worker *w, unsigned n, uint64_t seed, char *category, size_t size)
{
    int first = first_difference(w, n, category, size);
    if (first < 0 && w->side[0].status == SIDE_OK && w->side[1].status == SIDE_OK &&
        !pages_equal(&w->side[0], &w->side[1]))
        first = locate_contents(w, n, seed, category, size);
    if (first < 0 && w->side[0].status == SIDE_OK && w->side[1].status == SIDE_OK &&
        w->side[0].file_hash != w->side[1].file_hash) {
        snprintf(category, size, "the file's bytes at the end");
        first = (int)n - 1;
    }
    return first;
}

/* A result as the report shows it: a read's hash after its byte count. */
static void format_result(const struct side_out *o, const struct dc_op *op, unsigned i, char *buf,
                          size_t size)
{
    if (i >= o->nrets) {
        snprintf(buf, size, "(none)");
        return;
    }
    int k = dc_format_ret(buf, size, op, o->rets[i]);
    if (op->kind == DC_READ && o->rets[i] >= 0 && k > 0 && (size_t)k < size)
        snprintf(buf + k, size - (size_t)k, " hash %016llx", (unsigned long long)o->aux[i]);
}

/* The first n ops in script form, each with both sides' results. */
static void print_ops(struct worker *w, FILE *f, unsigned n)
{
    const struct cfg *c = w->c;
    const struct side_out *k = &w->side[0], *v = &w->side[1];
    char line[200], ra[64], rb[64];
    fprintf(f, "  ops (script form for `vmarea maps`), then the results: %s | %s\n",
            side_name(c, 0), side_name(c, 1));
    for (unsigned i = 0; i < n; i++) {
        dc_format_op(line, sizeof(line), &w->ops[i]);
        format_result(k, &w->ops[i], i, ra, sizeof(ra));
        format_result(v, &w->ops[i], i, rb, sizeof(rb));
        bool differs = strcmp(ra, rb) != 0;
        fprintf(f, "  %s%3u  %-64s # %s | %s\n", differs ? "!" : " ", i, line, ra, rb);
    }
}

void dc_write_report(struct worker *w, FILE *f, uint64_t seed, unsigned long index, unsigned n,
                     int first, const char *category, const struct side_out *final)
{
    const struct cfg *c = w->c;
    const struct side_out *k = &w->side[0], *v = &w->side[1];
    char rflags[256];
    dc_replay_flags(c, rflags, sizeof(rflags));

    bool script = index == DC_SCRIPT_INDEX;
    if (script)
        fprintf(f, "MISMATCH in the script: ");
    else
        fprintf(f, "MISMATCH in sequence %lu, seed 0x%llx: ", index, (unsigned long long)seed);
    if (first >= 0)
        fprintf(f, "first difference at op %d of %u\n", first, n);
    else
        fprintf(f, "the final states differ\n");
    fprintf(f, "  %s\n", category);
    if (!script)
        fprintf(f, "  replay: vmarea check --seed 0x%llx --sequences 1%s\n", (unsigned long long)seed, rflags);
    print_ops(w, f, first >= 0 ? (unsigned)first + 1 : n);
    if (first > 0 && k->nlayouts >= (unsigned)first) {
        fprintf(f, "  layout after op %d (the same on both sides):\n", first - 1);
        dc_layout_print(f, &k->layouts[first - 1], NULL, "    ", c->compare_mem);
    }
    const struct dc_layout *la = NULL, *lb = NULL;
    if (first >= 0) {
        if (k->nlayouts > (unsigned)first)
            la = &k->layouts[first];
        if (v->nlayouts > (unsigned)first)
            lb = &v->layouts[first];
    } else {
        /* the final run's layouts; a script has only the replay's */
        const struct side_out *fs = final ? final : w->side;
        if (fs[0].nlayouts)
            la = &fs[0].layouts[fs[0].nlayouts - 1];
        if (fs[1].nlayouts)
            lb = &fs[1].layouts[fs[1].nlayouts - 1];
    }
    const char *when = first >= 0 ? "after op" : "at the end";
    for (int s = 0; s < 2; s++) {
        const struct dc_layout *l = s ? lb : la;
        if (first >= 0)
            fprintf(f, "  layout %s %d, %s:\n", when, first, side_name(c, s));
        else
            fprintf(f, "  layout %s, %s:\n", when, side_name(c, s));
        if (l)
            dc_layout_print(f, l, s ? la : lb, "    ", c->compare_mem);
        else
            fprintf(f, "    (none: the side stopped)\n");
    }
    if (!pages_equal(k, v) && k->npages == v->npages) {
        unsigned shown = 0, ndiff = 0;
        for (unsigned i = 0; i < k->npages; i++)
            ndiff += memcmp(&k->pages[i], &v->pages[i], sizeof(k->pages[i])) != 0;
        /* contents are read after the last op a run made: after op first
         * when locate_contents ran the prefix ending there */
        if (first >= 0 && k->nrets == (unsigned)first + 1)
            fprintf(f, "  page contents after op %d: ", first);
        else
            fprintf(f, "  page contents at the end (after op %u): ", k->nrets ? k->nrets - 1 : 0);
        fprintf(f, "%u page%s (%s | %s):\n", ndiff, ndiff == 1 ? " differs" : "s differ",
                side_name(c, 0), side_name(c, 1));
        for (unsigned i = 0; i < k->npages && shown < 8; i++) {
            if (!memcmp(&k->pages[i], &v->pages[i], sizeof(k->pages[i])))
                continue;
            char pa[64], pb[64];
            page_words(&k->pages[i], pa, sizeof(pa));
            page_words(&v->pages[i], pb, sizeof(pb));
            fprintf(f, "    %012lx  %s | %s\n", c->view_lo + i * PAGE, pa, pb);
            shown++;
        }
        if (shown < ndiff)
            fprintf(f, "    (and %u more)\n", ndiff - shown);
    }
    fprintf(f, "  ('*': no identical VMA on the other side; view %#lx-%#lx, window %#lx-%#lx)\n",
            c->view_lo, c->view_hi, c->win_lo, c->win_hi);
}

void dc_write_same(struct worker *w, FILE *f, unsigned n)
{
    const struct cfg *c = w->c;
    fprintf(f, "same on both sides\n");
    print_ops(w, f, n);
    fprintf(f, "  layout at the end (the same on both sides):\n");
    if (w->side[0].nlayouts)
        dc_layout_print(f, &w->side[0].layouts[w->side[0].nlayouts - 1], NULL, "    ",
                        c->compare_mem);
    if (c->memory) {
        unsigned readable = 0;
        for (unsigned i = 0; i < w->side[0].npages; i++)
            readable += w->side[0].pages[i].fill != DC_PAGE_UNREADABLE;
        fprintf(f, "  page contents at the end: %u readable page%s, the same on both sides\n",
                readable, readable == 1 ? "" : "s");
    }
}

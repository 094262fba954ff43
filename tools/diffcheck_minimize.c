/* SPDX-License-Identifier: MIT */
/*
 * diffcheck_minimize.c — shrinking a mismatching op list to the ops that
 * still show the same kind of first difference (dc_minimize), for a report
 * a person can read, or a script to paste into a test.
 */
#define _GNU_SOURCE
#include "diffcheck_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINIMIZE_SECONDS 30.0

/* The category with every number replaced by '#': dropping an op may change
 * a byte count or an address in it, not what kind of difference it is. */
static void category_key(const char *cat, char *key, size_t size)
{
    size_t n = 0;
    for (const char *p = cat; *p && n + 1 < size;) {
        if ((*p >= '0' && *p <= '9')) {
            while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || *p == 'x')
                p++;
            key[n++] = '#';
        } else {
            key[n++] = *p++;
        }
    }
    key[n] = '\0';
}

/* Run ops[0..n) on both sides; the first difference (-1 if none or not
 * located) and its category, or -2 if the sides matched or the kernel side
 * could not run. */
static int classify(struct worker *w, const struct dc_op *ops, unsigned n, char *category, size_t size)
{
    memcpy(w->ops, ops, n * sizeof(*ops));
    /* Most drops make the difference go away: a plain run says so at the
     * cost of one snapshot; only a run that still differs is replayed op
     * by op to name its first difference. */
    dc_run_pair(w, w->ops, n, 0, false);
    if (w->side[0].status != SIDE_OK)
        return -2;
    if (dc_outcomes_equal(w->c, &w->side[0], &w->side[1]))
        return -2;
    dc_run_pair(w, w->ops, n, 0, true);
    if (w->side[0].status != SIDE_OK)
        return -2;
    int first = dc_locate_difference(w, n, 0, category, size);
    if (first < 0 && dc_outcomes_equal(w->c, &w->side[0], &w->side[1]))
        return -2;
    return first;
}

int dc_minimize(const struct dc_options *opt, struct dc_op *ops, unsigned *n, char *category,
                size_t size)
{
    struct cfg c;
    char err[256];
    if (*n > DC_MAX_OPS || dc_cfg_prepare(opt, &c, err, sizeof(err), NULL, 0) < 0) {
        snprintf(category, size, "%s", *n > DC_MAX_OPS ? "too many ops" : err);
        return -1;
    }
    for (unsigned i = 0; i < *n; i++)
        if (!dc_op_safe(&ops[i], c.win_lo, c.win_hi, c.mlock_unlimited)) {
            snprintf(category, size, "op %u could touch memory outside the window", i);
            return -1;
        }
    struct worker *w = dc_worker_new(NULL, &c);
    struct dc_op *trial = malloc(DC_MAX_OPS * sizeof(*trial));
    int rc = -1;
    if (!w || !trial)
        goto out;
    fflush(NULL);
    char key[96], tcat[96] = "", tkey[96];   /* classify may leave tcat unwritten */
    int first = classify(w, ops, *n, category, size);
    if (first == -2) {
        rc = 1;
        goto out;
    }
    category_key(category, key, sizeof(key));
    if (first >= 0)
        *n = (unsigned)first + 1;       /* what follows the first difference is noise */
    /* Each trial runs both sides; a long sequence could take minutes, so
     * stop after MINIMIZE_SECONDS with what has been shrunk so far. */
    double t0 = now_seconds();
    for (bool changed = true; changed && now_seconds() - t0 < MINIMIZE_SECONDS;) {
        changed = false;
        for (unsigned i = 0; i < *n && now_seconds() - t0 < MINIMIZE_SECONDS;) {
            memcpy(trial, ops, i * sizeof(*ops));
            memcpy(trial + i, ops + i + 1, (*n - i - 1) * sizeof(*ops));
            int f = classify(w, trial, *n - 1, tcat, sizeof(tcat));
            category_key(tcat, tkey, sizeof(tkey));
            if (f != -2 && strcmp(tkey, key) == 0) {
                unsigned m = f >= 0 ? (unsigned)f + 1 : *n - 1;
                memcpy(ops, trial, m * sizeof(*ops));
                *n = m;
                snprintf(category, size, "%s", tcat);
                changed = true;
            } else {
                i++;
            }
        }
    }
    rc = 0;
out:
    free(trial);
    if (w)
        dc_worker_free(w);
    return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * scenario.h — the comparison half of the scenario tests (test_filemap,
 * test_fork): each step's result, and the window's layouts, host against
 * vmarea, with a report of what differs.  Include after cmocka.h and
 * diffcheck.h.
 */
#ifndef VMAREA_TESTS_SCENARIO_H
#define VMAREA_TESTS_SCENARIO_H

#include <stdio.h>

/* The steps' results; how many differ, each reported. */
static inline int scenario_rets_differ(const char *name, const long *host, const long *ours, int n)
{
    int diff = 0;
    for (int i = 0; i < n; i++)
        if (host[i] != ours[i]) {
            print_message("[%s] step %d: host %ld, vmarea %ld\n", name, i, host[i], ours[i]);
            diff++;
        }
    return diff;
}

/* One address space's layout in the window (the host process has VMAs of
 * its own outside it); 1 if it differs, with both shown. */
static inline int scenario_layout_differs(const char *name, const char *what, const struct dc_layout *host,
                                          const struct dc_layout *ours)
{
    unsigned d = dc_layout_compare(host, ours, true) & ~DC_DIFF_OUTSIDE;
    if (!d)
        return 0;
    print_message("[%s] the %slayouts differ (%#x); host:\n", name, what, d);
    dc_layout_print(stdout, host, ours, "  ", true);
    print_message("vmarea:\n");
    dc_layout_print(stdout, ours, host, "  ", true);
    return 1;
}

#endif

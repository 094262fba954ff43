/* SPDX-License-Identifier: MIT */
/*
 * trace.h — `vmarea trace` (trace.c): a real program's address spaces,
 * mirrored in vmarea and compared with the kernel's.
 */
#ifndef VMAREA_TOOLS_TRACE_H
#define VMAREA_TOOLS_TRACE_H

/* argv[0] is "trace".  Returns the exit status: 0 when every call's result
 * and every layout checkpoint was identical, 1 at the first difference, 2
 * on a usage or system error. */
int vmarea_trace(int argc, char **argv);

#endif

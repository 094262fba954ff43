/* SPDX-License-Identifier: MIT */
/*
 * internal.h — every internal header at once, for the unit tests and the
 * benchmarks, which reach into each layer.  The library's own files include
 * the headers of their layer instead (mm_base.h draws the layers).
 */
#ifndef VMAREA_INTERNAL_H
#define VMAREA_INTERNAL_H

#include "mm.h"
#include "host.h"
#include "mmdebug.h"
#include "rcu.h"
#include "task_mmu.h"

#endif

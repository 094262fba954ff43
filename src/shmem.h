/* SPDX-License-Identifier: MIT */
/*
 * shmem.h — shmem objects (shmem.c): the object behind shared anonymous
 * memory, and memfds with their seals.  Their pages are in the page cache
 * (filemap.h).
 */
#ifndef VMAREA_SHMEM_H
#define VMAREA_SHMEM_H

#include "filemap.h"

/* memfd seals (F_ADD_SEALS), the host's values, whatever the libc headers
 * declare. */
#ifndef F_SEAL_SEAL
#define F_SEAL_SEAL	0x0001
#define F_SEAL_SHRINK	0x0002
#define F_SEAL_GROW	0x0004
#define F_SEAL_WRITE	0x0008
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE	0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC	0x0020
#endif

/* The shmem file behind one MAP_SHARED|MAP_ANONYMOUS mapping; NULL when out
 * of memory. */
struct vm_file *__must_check vm_file_shmem_zero(unsigned long size);

#endif

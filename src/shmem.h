/* SPDX-License-Identifier: MIT */
/*
 * shmem.h — mappable objects' pages (filemap.c): the shmem object behind
 * shared anonymous memory, its page cache, and drivers' files.
 */
#ifndef VMAREA_SHMEM_H
#define VMAREA_SHMEM_H

#include "mm_types.h"

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

/* The shmem page at pgoff, found or allocated from pool; referenced for the
 * caller.  ERR_PTR(-EIO) beyond the object's size, ERR_PTR(-ENOMEM). */
struct vm_page *__must_check shmem_get_page(struct vm_file *f, unsigned long pgoff, struct page_pool *pool);
/* The shmem page at pgoff if there is one, referenced; NULL if not. */
struct vm_page *shmem_find_page(struct vm_file *f, unsigned long pgoff);
/* Reclaim: drop a clean page at pgoff that only the cache and the caller hold. */
void shmem_evict(struct vm_file *f, unsigned long pgoff, struct vm_page *page);
/* Drop the pages of [pgoff, pgoff + n) from a shmem object (a punched hole). */
void shmem_punch(struct vm_file *f, unsigned long pgoff, unsigned long n);
/* The shmem file behind one MAP_SHARED|MAP_ANONYMOUS mapping; NULL when out
 * of memory. */
struct vm_file *__must_check vm_file_shmem_zero(unsigned long size);

#endif

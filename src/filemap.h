/* SPDX-License-Identifier: MIT */
/*
 * filemap.h — the page cache (filemap.c): the pages of an object with a
 * page cache (a shmem object, shmem.c, or a host file), found or brought in
 * by offset, written back, and dropped.  Every function takes any vm_file
 * of the object (an open of a host file works on its inode).
 */
#ifndef VMAREA_FILEMAP_H
#define VMAREA_FILEMAP_H

#include "mm_types.h"

/* The pages of an object's size, the last one perhaps in part.
 * cache_lock held (or a size no one can change). */
static inline unsigned long size_pages(const struct vm_file *f)
{
    return (f->size + PAGE_SIZE - 1) >> PAGE_SHIFT;
}

/* The page at pgoff, found or brought in (shmem: allocated zeroed from
 * pool; a host file: read by the host), referenced for the caller.
 * ERR_PTR(-EIO) past the end of the object or when the host cannot read
 * it, ERR_PTR(-ENOMEM).  *read (if not NULL): the host had to read it
 * into its cache, which brings the pages around it in too (read-around). */
struct vm_page *__must_check filemap_get_page(struct vm_file *f, unsigned long pgoff, struct page_pool *pool,
                                              bool *read);
/* Fault-around (filemap_map_pages): the cached pages of [pgoff, pgoff + n)
 * below the end, each referenced, into out[i - pgoff]; NULL where none.  A
 * host file counts what the host has cached.  Returns how many.
 * no_table: the fault found no page table; then Linux installs one only if
 * the first page found is not the file's last (so that an access past the
 * end stays SIGBUS even for a folio there), except on shmem, and without a
 * table nothing is mapped: none are returned either. */
unsigned long filemap_find_pages(struct vm_file *f, unsigned long pgoff, unsigned long n,
                                 struct vm_page **out, bool no_table);
/* Reclaim: drop a clean page at pgoff that only the cache and the caller hold. */
void filemap_evict(struct vm_file *f, unsigned long pgoff, struct vm_page *page);
/* A hole punched (fallocate PUNCH_HOLE|KEEP_SIZE): the pages of
 * [pgoff, pgoff + n) leave every mapping (private copies stay) and the
 * cache, and a host file's blocks go too.  0 or -errno.  Takes the
 * invalidate lock and rmap_lock. */
int filemap_punch(struct vm_file *f, unsigned long pgoff, unsigned long n);
/* vfs_fsync_range over pages [pgoff, pgoff + n) of a host file on a file
 * system with writeback: dirty pages are written and made clean, and so
 * is every entry mapping them in every mm (folio_mkclean), so that the
 * next store faults and dirties them again.  A shmem object has nothing
 * to write: 0.  0 or -EIO. */
int filemap_write_and_wait_range(struct vm_file *f, unsigned long pgoff, unsigned long n);
/* The object can write back (mapping_can_writeback): a host file outside
 * tmpfs.  Its shared writable mappings take write faults (writenotify). */
static inline bool vm_file_writeback(struct vm_file *f)
{
    struct vm_file *m = vm_file_mapping(f);
    return m->host && !m->shmem;
}
/* The path maps shows for f, into buf (n bytes): a host file's as the
 * host's /proc shows it now (" (deleted)" once unlinked), else its name;
 * "" if none. */
const char *vm_file_path(struct vm_file *f, char *buf, size_t n);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * filemap.c — mappable objects and the page cache: objects with an mmap
 * hook (vm_file_create), host files (vm_file_open), and the page cache of
 * both host files and shmem objects (shmem.c): finding, bringing in,
 * writing back, truncating and dropping pages.
 *
 * A host file's page cache is the host's.  Its inode (struct host_inode)
 * maps the host file MAP_SHARED, 2 MiB at a time (a chunk), and each 4 KiB
 * of a chunk has a frame descriptor (PG_hostfile, in no pool) whose address
 * is that part of the host mapping.  So the bytes a mapping in vmarea reads
 * and writes are the host's page-cache page itself: read(2), write(2) and
 * the host's own mappings of the file see the same bytes at every moment,
 * and writeback is the host's (msync on the chunk).  What vmarea keeps is
 * which pages its mappings use (the radix tree, one reference each), and
 * their dirty state as its mappings made it.
 *
 * What the host does not show a process, vmarea decides as follows:
 *   - a page is cached for fault-around when the host has it resident
 *     (mincore on the chunk);
 *   - a page on a file system with writeback enters clean (the host's dirty
 *     state is not visible; a file written with write(2) and not yet
 *     synced is dirty on the host but clean here);
 *   - a page of a host tmpfs file enters dirty if the host had it (tmpfs
 *     pages exist because they were written), clean if it was a hole;
 *   - the size is the host's at open, changed by vm_file_truncate, and
 *     read again when a fault lands past it (the file grew).  A file
 *     shrunk behind vmarea's back by another process makes an access to
 *     its lost pages fail on the host (SIGBUS): do not;
 *   - a file system that maps files privately only (FUSE with direct I/O)
 *     gets private read-only chunks, and its shared mappings are ENODEV;
 *     the cached pages FUSE drops on its own (at each mmap, on truncation)
 *     are not followed.
 */
#define _GNU_SOURCE
#include "filemap.h"
#include "shmem.h"
#include "memory.h"
#include "mm_counter.h"
#include "host.h"
#include "rcu.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/* ------------------------------------------------------------ objects */

struct vm_file *vm_file_create(const struct vm_file_operations *ops, void *priv, const char *name)
{
    struct vm_file *f = vm_calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    if (name) {
        size_t n = strlen(name) + 1;
        if (!(f->name = vm_malloc(n))) {
            free(f);
            return NULL;
        }
        memcpy(f->name, name, n);
    }
    atomic_init(&f->refcount, 1);
    f->f_ops = ops;
    f->private_data = priv;
    f->f_mode = FMODE_READ | FMODE_WRITE;
    f->fd = -1;
    return f;
}

void vm_file_get(struct vm_file *f)
{
    atomic_fetch_add_explicit(&f->refcount, 1, memory_order_relaxed);
}

void *vm_file_private(struct vm_file *f) { return f->private_data; }
const char *vm_file_name(struct vm_file *f) { return f->name; }

/* ----------------------------------------------------------- host side */

#define CHUNK_PAGES 512UL
#define CHUNK_SHIFT (PAGE_SHIFT + 9)
#define CHUNK_BYTES (CHUNK_PAGES << PAGE_SHIFT)

/* 2 MiB of a host file, mapped, and its frames' descriptors.  Descriptors
 * are type-stable: they live, with the mapping, until the inode goes (and
 * a grace period after, for lock-free readers of a page a zap took). */
struct file_chunk {
    struct vm_page page[CHUNK_PAGES];
    char *base;
    unsigned long index;              /* pgoff / CHUNK_PAGES */
};

/*
 * The host side of a host file's inode.
 *
 * Invariants: chunks[0..nr_chunks) sorted by index, no two alike; each
 * chunk maps the file at index * 2 MiB with prot.  A page in the cache
 * radix tree is a descriptor of one of these chunks.
 * Locking: chunks, nr_chunks, cap, fd and prot change under the inode's
 * cache_lock.  The table link (next) under inode_lock.
 */
struct host_inode {
    struct rcu_head rcu;
    int fd;                           /* the inode's own open: read-write if the host allows */
    int prot;                         /* of the chunks' mappings */
    struct file_chunk **chunks;
    unsigned long nr_chunks, cap;
    struct vm_file *next;             /* in inode_table */
};

/* The inodes of open host files, so that two opens of one file share one
 * page cache, as Linux's inode does. */
static pthread_mutex_t inode_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vm_file *inode_table;

static struct file_chunk *chunk_find(struct host_inode *h, unsigned long index, unsigned long *pos)
{
    unsigned long lo = 0, hi = h->nr_chunks;
    while (lo < hi) {
        unsigned long mid = (lo + hi) / 2;
        if (h->chunks[mid]->index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (pos)
        *pos = lo;
    return lo < h->nr_chunks && h->chunks[lo]->index == index ? h->chunks[lo] : NULL;
}

/* The chunk holding pgoff, mapped now if it was not.  NULL: no memory, or
 * the host refused the mapping.  cache_lock held. */
static struct file_chunk *host_chunk(struct vm_file *m, unsigned long pgoff)
{
    struct host_inode *h = m->host;
    unsigned long index = pgoff / CHUNK_PAGES, pos;
    struct file_chunk *c = chunk_find(h, index, &pos);
    if (c)
        return c;
    if (h->nr_chunks == h->cap) {
        unsigned long cap = h->cap ? 2 * h->cap : 4;
        struct file_chunk **a = vm_alloc_fails() ? NULL : realloc(h->chunks, cap * sizeof(*a));
        if (!a)
            return NULL;
        h->chunks = a;
        h->cap = cap;
    }
    if (vm_alloc_fails() || posix_memalign((void **)&c, 64, sizeof(*c)))
        return NULL;
    c->base = m->private_only
                  ? mmap(NULL, CHUNK_BYTES, PROT_READ, MAP_PRIVATE, h->fd, (off_t)(index << CHUNK_SHIFT))
                  : mmap(NULL, CHUNK_BYTES, h->prot, MAP_SHARED, h->fd, (off_t)(index << CHUNK_SHIFT));
    if (c->base == MAP_FAILED) {
        free(c);
        return NULL;
    }
    c->index = index;
    for (unsigned long i = 0; i < CHUNK_PAGES; i++) {
        struct vm_page *p = &c->page[i];
        atomic_init(&p->refcount, 0);
        atomic_init(&p->mapcount, 0);
        p->virtual = c->base + (i << PAGE_SHIFT);
        p->pool = NULL;
        atomic_init(&p->flags, PG_hostfile);
    }
    memmove(&h->chunks[pos + 1], &h->chunks[pos], (h->nr_chunks - pos) * sizeof(*h->chunks));
    h->chunks[pos] = c;
    h->nr_chunks++;
    return c;
}

/* The host's size of the file, in m->size, when it may have grown.
 * cache_lock held. */
static void host_refresh_size(struct vm_file *m)
{
    struct stat st;
    if (!fstat(m->host->fd, &st) && (unsigned long)st.st_size > m->size)
        m->size = (unsigned long)st.st_size;
}

/* Put a chunk's page in the cache, holding the cache's reference: clean,
 * or dirty where a tmpfs page existed before (see the top of the file). */
static void host_cache_add(struct vm_file *m, pte_t _Atomic *slot, struct vm_page *page, bool dirty)
{
    atomic_store_explicit(&page->mapcount, 0, memory_order_relaxed);
    atomic_store_explicit(&page->flags, PG_hostfile | (dirty && m->shmem ? PG_dirty : 0),
                          memory_order_relaxed);
    atomic_store_explicit(&page->refcount, 1, memory_order_relaxed);
    ptep_set(slot, pte_mk(page, PTE_PRESENT));
}

/* Page p was written by the host's own doing (a truncation zeroing the
 * rest of a block): in the cache and dirty; on tmpfs, only if it is
 * there already (a hole stays one).  cache_lock held. */
static void host_dirty_page(struct vm_file *m, unsigned long p)
{
    pte_t _Atomic *slot = NULL;
    struct file_chunk *c;
    if (!pgtable_walk_alloc(m->cache, p << PAGE_SHIFT, &slot) && !ptep_get(slot) && !m->shmem &&
        (c = host_chunk(m, p)))
        host_cache_add(m, slot, &c->page[p % CHUNK_PAGES], false);
    if (slot && ptep_get(slot))
        page_set_dirty(pte_page(ptep_get(slot)));
}

/* filemap_fault for a page the cache does not have: the host reads it now
 * (MADV_POPULATE_READ), so that an I/O error is this fault's SIGBUS and
 * not a crash at a later access.  cache_lock held. */
static struct vm_page *host_read_page(struct vm_file *m, pte_t _Atomic *slot, unsigned long pgoff)
{
    struct file_chunk *c = host_chunk(m, pgoff);
    if (!c)
        return ERR_PTR(-ENOMEM);
    struct vm_page *page = &c->page[pgoff % CHUNK_PAGES];
    unsigned char had = 0;
    if (m->shmem && mincore(page->virtual, PAGE_SIZE, &had))
        had = 0;
    while (madvise(page->virtual, PAGE_SIZE, MADV_POPULATE_READ)) {
        if (errno == EINTR)
            continue;
        return ERR_PTR(errno == ENOMEM ? -ENOMEM : -EIO);
    }
    host_cache_add(m, slot, page, had & 1);
    return page;
}

/* ------------------------------------------------------------ the cache */

struct vm_page *filemap_get_page(struct vm_file *f, unsigned long pgoff, struct page_pool *pool, bool *read)
{
    struct vm_file *m = vm_file_mapping(f);
    if (read)
        *read = false;
    pthread_mutex_lock(&m->cache_lock);
    pte_t _Atomic *slot;
    struct vm_page *page;
    if (pgoff >= size_pages(m) && m->host)
        host_refresh_size(m);
    int err = pgoff >= size_pages(m) ? -EIO : pgtable_walk_alloc(m->cache, pgoff << PAGE_SHIFT, &slot);
    if (err) {
        page = ERR_PTR(err);
    } else {
        pte_t e = ptep_get(slot);
        if (e) {
            page = pte_page(e);
        } else if (m->host) {
            page = host_read_page(m, slot, pgoff);
            if (read)
                *read = !m->shmem;   /* tmpfs has no read-around */
        } else if ((page = page_alloc_pinned(pool))) {
            ptep_set(slot, pte_mk(page, PTE_PRESENT));   /* the cache's own reference */
        } else {
            page = ERR_PTR(-ENOMEM);
        }
        if (!IS_ERR(page))
            page_get(page);
    }
    pthread_mutex_unlock(&m->cache_lock);
    return page;
}

/* The pages of [pgoff, pgoff + n) the host has resident that the cache does
 * not have yet join it: one mincore per chunk.  cache_lock held. */
static void host_find_resident(struct vm_file *m, unsigned long pgoff, unsigned long n,
                               struct vm_page **out)
{
    unsigned char vec[CHUNK_PAGES];
    for (unsigned long i = 0; i < n; ) {
        unsigned long first = pgoff + i;
        unsigned long run = min(n - i, CHUNK_PAGES - first % CHUNK_PAGES);
        struct file_chunk *c = host_chunk(m, first);
        if (c && !mincore(c->base + ((first % CHUNK_PAGES) << PAGE_SHIFT), run << PAGE_SHIFT, vec)) {
            for (unsigned long j = 0; j < run; j++) {
                pte_t _Atomic *slot;
                if (out[i + j] || !(vec[j] & 1) ||
                    pgtable_walk_alloc(m->cache, (first + j) << PAGE_SHIFT, &slot))
                    continue;
                struct vm_page *page = &c->page[(first + j) % CHUNK_PAGES];
                host_cache_add(m, slot, page, true);
                out[i + j] = page;
            }
        }
        i += run;
    }
}

unsigned long filemap_find_pages(struct vm_file *f, unsigned long pgoff, unsigned long n,
                                 struct vm_page **out, bool no_table)
{
    struct vm_file *m = vm_file_mapping(f);
    unsigned long found = 0, missing = 0;
    pthread_mutex_lock(&m->cache_lock);
    unsigned long limit = size_pages(m), asked = n;
    n = pgoff >= limit ? 0 : min(n, limit - pgoff);
    for (unsigned long i = n; i < asked; i++)
        out[i] = NULL;
    for (unsigned long i = 0; i < n; i++) {
        pte_t _Atomic *slot = pgtable_walk(m->cache, (pgoff + i) << PAGE_SHIFT);
        pte_t e = slot ? ptep_get(slot) : 0;
        out[i] = e ? pte_page(e) : NULL;
        missing += !e;
    }
    if (missing && m->host)
        host_find_resident(m, pgoff, n, out);
    /* can_map_large in filemap_map_pages (Linux 6.18). */
    unsigned long first = 0;
    while (first < n && !out[first])
        first++;
    if (no_table && !m->shmem && first < n && pgoff + first + 1 >= limit)
        n = 0;
    for (unsigned long i = 0; i < n; i++)
        if (out[i]) {
            page_get(out[i]);
            found++;
        }
    for (unsigned long i = n; i < asked; i++)
        out[i] = NULL;
    pthread_mutex_unlock(&m->cache_lock);
    return found;
}

void filemap_evict(struct vm_file *f, unsigned long pgoff, struct vm_page *page)
{
    struct vm_file *m = vm_file_mapping(f);
    pthread_mutex_lock(&m->cache_lock);
    pte_t _Atomic *slot = pgoff < size_pages(m) ? pgtable_walk(m->cache, pgoff << PAGE_SHIFT) : NULL;
    /* The cache's reference and the caller's: no one else holds it. */
    if (slot && ptep_get(slot) && pte_page(ptep_get(slot)) == page && page_count(page) == 2 &&
        !page_test_dirty(page)) {
        ptep_set(slot, 0);
        page_put(page);
        /* The host reclaims it too, if it can: then it is not cached for
         * a later fault-around, as on Linux. */
        if (m->host)
            madvise(page_address(page), PAGE_SIZE, MADV_PAGEOUT);
    }
    pthread_mutex_unlock(&m->cache_lock);
}

static void cache_put(void *arg, unsigned long addr, pte_t old)
{
    (void)arg;
    (void)addr;
    page_put(pte_page(old));
}

/* Drop the cache's pages of [pgoff, pgoff + n) below limit pages; its
 * emptied tables go too (the cache has no neighbours to share them with).
 * cache_lock held. */
static void cache_drop(struct vm_file *m, unsigned long pgoff, unsigned long n, unsigned long limit)
{
    if (pgoff >= limit)
        return;
    n = min(n, limit - pgoff);
    pgtable_free_range(m->cache, pgoff << PAGE_SHIFT, (pgoff + n) << PAGE_SHIFT, 0, 0, cache_put, NULL);
}

int filemap_punch(struct vm_file *f, unsigned long pgoff, unsigned long n)
{
    struct vm_file *m = vm_file_mapping(f);
    int err = 0;
    /* Out of every mapping (private copies stay), out of the cache, and
     * then the host's blocks. */
    rwsem_down_write(&m->invalidate_lock);
    unmap_mapping_range(m, pgoff, n, false);
    pthread_mutex_lock(&m->cache_lock);
    unsigned long limit = size_pages(m);
    cache_drop(m, pgoff, n, limit);
    if (m->host && pgoff < limit) {
        n = min(n, limit - pgoff);
        /* A lock-free read racing with the punch may see old bytes or
         * zeros, as on Linux. */
        if (fallocate(m->host->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(pgoff << PAGE_SHIFT),
                      (off_t)(n << PAGE_SHIFT)))
            err = -errno;
    }
    pthread_mutex_unlock(&m->cache_lock);
    rwsem_up_write(&m->invalidate_lock);
    return err;
}

/* ----------------------------------------------------------- writeback */

struct mkclean {
    unsigned long first, last;        /* the pages written back */
    unsigned long vfirst, vstart;     /* the VMA's first page and its address */
};

/* folio_mkclean for one entry: a file page in the range loses its dirty
 * and write bits, handing the dirty bit to the page for the writer. */
static int mkclean_one(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    (void)arg;
    (void)addr;
    while (pte_present(pte) && pte_file(pte) && (pte & (PTE_DIRTY | PTE_WRITE))) {
        if (ptep_cmpxchg(ptep, &pte, pte & ~(PTE_DIRTY | PTE_WRITE))) {
            if (pte & PTE_DIRTY)
                page_set_dirty(pte_page(pte));
            break;
        }
    }
    return 0;
}

/* Every shared mapping's entries of pages [pgoff, last) of m: clean and
 * read-only, their dirty bits passed to the pages.  Takes rmap_lock. */
static void mkclean_range(struct vm_file *m, unsigned long pgoff, unsigned long last)
{
    pthread_mutex_lock(&m->rmap_lock);
    for (unsigned long i = 0; i < m->rmap_n; i++) {
        struct vma *vma = m->rmap[i];
        unsigned long vfirst = vma->vm_pgoff, vlast = vfirst + vma_pages(vma);
        unsigned long a = max(pgoff, vfirst), b = min(last, vlast);
        if (a >= b || !(vma->vm_flags & VM_SHARED) || !pgtable_bytes(&vma->vm_mm->pgt))
            continue;
        pgtable_for_each(&vma->vm_mm->pgt, vma->vm_start + ((a - vfirst) << PAGE_SHIFT),
                         vma->vm_start + ((b - vfirst) << PAGE_SHIFT), mkclean_one, NULL);
    }
    pthread_mutex_unlock(&m->rmap_lock);
}

int filemap_write_and_wait_range(struct vm_file *f, unsigned long pgoff, unsigned long n)
{
    if (!vm_file_writeback(f) || !n)
        return 0;
    struct vm_file *m = vm_file_mapping(f);
    unsigned long last = n > ULONG_MAX - pgoff ? ULONG_MAX : pgoff + n;
    mkclean_range(m, pgoff, last);

    /* Then the pages: the host writes the range back (msync of its own
     * mapping is vfs_fsync_range over the same bytes), and they are clean. */
    int err = 0;
    pthread_mutex_lock(&m->cache_lock);
    unsigned long limit = size_pages(m);
    last = min(last, limit);
    for (unsigned long p = pgoff; p < last; ) {
        unsigned long run = min(last - p, CHUNK_PAGES - p % CHUNK_PAGES);
        struct file_chunk *c = host_chunk(m, p);
        if (!c) {
            err = fdatasync(m->host->fd) ? -EIO : 0;   /* no mapping to sync through: the whole file */
        } else {
            for (unsigned long j = 0; j < run; j++) {
                struct vm_page *page = &c->page[(p + j) % CHUNK_PAGES];
                if (page_count(page))
                    page_clear_flag(page, PG_dirty);
            }
            if (msync(c->base + ((p % CHUNK_PAGES) << PAGE_SHIFT), run << PAGE_SHIFT, MS_SYNC))
                err = -EIO;
        }
        p += run;
    }
    pthread_mutex_unlock(&m->cache_lock);
    return err;
}

/* ------------------------------------------------------------ truncate */

/*
 * ftruncate (shmem_setattr, truncate_setsize): the seals first, then the
 * new size, so that a fault past it is SIGBUS from now on; shrinking
 * zeroes the part of the last page past the end, and takes the pages
 * wholly past it out of every mapping (the private copies too) and out of
 * the cache.  A host file's size changes on the host too: before the
 * cache grows, after it shrinks (and after every lock-free reader of the
 * pages it lost is done, as the host's mapping of them goes).
 */
static int __vm_file_truncate(struct vm_file *m, unsigned long size);

int vm_file_truncate(struct vm_file *f, unsigned long size)
{
    if (!f)
        return -EINVAL;
    struct vm_file *m = vm_file_mapping(f);
    if (!m->cache || !(f->f_mode & FMODE_WRITE))
        return -EINVAL;
    if (size > (unsigned long)LONG_MAX)
        return -EFBIG;
    rwsem_down_write(&m->invalidate_lock);
    int err = __vm_file_truncate(m, size);
    rwsem_up_write(&m->invalidate_lock);
    return err;
}

static int __vm_file_truncate(struct vm_file *m, unsigned long size)
{
    pthread_mutex_lock(&m->cache_lock);
    if (m->host)
        host_refresh_size(m);
    unsigned long old = m->size, old_pages = size_pages(m);
    if ((size < old && (m->seals & F_SEAL_SHRINK)) || (size > old && (m->seals & F_SEAL_GROW))) {
        pthread_mutex_unlock(&m->cache_lock);
        return -EPERM;
    }
    int err;
    if (m->host && size >= old) {
        err = ftruncate(m->host->fd, (off_t)size) ? -errno : 0;
        if (!err)
            m->size = size;
        /* Growing past a part page: the file system zeroes the rest of
         * its block (a write: the page is cached and dirty), and the page
         * is write-protected everywhere so that a store past the old end
         * faults (pagecache_isize_extended). */
        unsigned long p = old >> PAGE_SHIFT;
        bool mk = !err && !m->shmem && size > old && offset_in_page(old);
        if (mk)
            host_dirty_page(m, p);
        pthread_mutex_unlock(&m->cache_lock);
        if (mk)
            mkclean_range(m, p, p + 1);
        return err;
    }
    m->size = size;
    unsigned long holebegin = size_pages(m);
    if (size < old && offset_in_page(size) && !m->host) {
        /* truncate_inode_partial_folio: the tail past the end reads zero
         * (the host does it for its files). */
        pte_t _Atomic *slot = pgtable_walk(m->cache, (size >> PAGE_SHIFT) << PAGE_SHIFT);
        pte_t e = slot ? ptep_get(slot) : 0;
        if (e) {
            memset((char *)page_address(pte_page(e)) + offset_in_page(size), 0, PAGE_SIZE - offset_in_page(size));
            page_set_dirty(pte_page(e));   /* shmem_undo_range marks it so */
        }
    }
    pthread_mutex_unlock(&m->cache_lock);
    if (holebegin < old_pages) {
        unmap_mapping_range(m, holebegin, old_pages - holebegin, true);
        pthread_mutex_lock(&m->cache_lock);
        cache_drop(m, holebegin, old_pages - holebegin, old_pages);
        pthread_mutex_unlock(&m->cache_lock);
        /* A fault that found a page before the size changed may have mapped
         * it since: the second pass takes it away (shmem_setattr does too). */
        unmap_mapping_range(m, holebegin, old_pages - holebegin, true);
    }
    if (!m->host)
        return 0;
    synchronize_rcu();
    pthread_mutex_lock(&m->cache_lock);
    err = ftruncate(m->host->fd, (off_t)size) ? -errno : 0;
    if (err) {
        m->size = old;   /* the pages past size left the cache; they come back as read */
    } else if (offset_in_page(size)) {
        /* The host zeroed the tail of the last page, which brings it into
         * the cache, dirty (a file system writes the zeroes:
         * ext4_block_truncate_page; tmpfs dirties a page it has). */
        host_dirty_page(m, size >> PAGE_SHIFT);
    }
    pthread_mutex_unlock(&m->cache_lock);
    return err;
}

/* ---------------------------------------------------------- host files */

static void host_inode_free_rcu(struct rcu_head *head)
{
    struct host_inode *h = (struct host_inode *)head;
    for (unsigned long i = 0; i < h->nr_chunks; i++) {
        munmap(h->chunks[i]->base, CHUNK_BYTES);
        free(h->chunks[i]);
    }
    free(h->chunks);
    close(h->fd);
    free(h);
}

/* Does the host place this file's mappings for huge pages (its file
 * system's get_unmapped_area is thp_get_unmapped_area: ext4, xfs...)?
 * Two mappings at offsets that are not 2 MiB-aligned, without a hint: each
 * lands at an address congruent to its offset modulo 2 MiB (by chance, one
 * time in 512 each).  A file system that maps files only privately refuses
 * the first with ENODEV (FUSE with direct I/O, fuse_file_mmap):
 * *private_only says so. */
static bool host_thp_aligns(int fd, bool *private_only)
{
    bool aligned = true;
    for (unsigned long off = PAGE_SIZE; off <= 2 * PAGE_SIZE && aligned; off += PAGE_SIZE) {
        char *p = mmap(NULL, 2 * PMD_SIZE, PROT_READ, MAP_SHARED, fd, (off_t)off);
        if (p == MAP_FAILED) {
            *private_only = errno == ENODEV;
            return false;
        }
        aligned = ((uintptr_t)p & (PMD_SIZE - 1)) == off;
        munmap(p, 2 * PMD_SIZE);
    }
    return aligned;
}

/* The inode of the file open at fd (st its stat), from the table or new,
 * with one reference; NULL with errno. */
static struct vm_file *host_inode_get(int fd, const struct stat *st, bool want_write)
{
    pthread_mutex_lock(&inode_lock);
    struct vm_file *m;
    for (m = inode_table; m; m = m->host->next) {
        if (m->dev != (unsigned long)st->st_dev || m->ino != (unsigned long)st->st_ino)
            continue;
        unsigned long r = atomic_load_explicit(&m->refcount, memory_order_relaxed);
        while (r && !atomic_compare_exchange_weak_explicit(&m->refcount, &r, r + 1, memory_order_relaxed,
                                                           memory_order_relaxed))
            ;
        if (r)
            break;   /* else it is on its way out: make a new one */
    }
    pthread_mutex_unlock(&inode_lock);

    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if (m) {
        /* Opened read-only so far and now for writing: map it writable,
         * in place (the same page cache behind the same addresses). */
        pthread_mutex_lock(&m->cache_lock);
        struct host_inode *h = m->host;
        int nfd;
        if (want_write && !(h->prot & PROT_WRITE) && !m->private_only &&
            (nfd = open(proc, O_RDWR | O_CLOEXEC)) >= 0) {
            for (unsigned long i = 0; i < h->nr_chunks; i++)
                mmap(h->chunks[i]->base, CHUNK_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, nfd,
                     (off_t)(h->chunks[i]->index << CHUNK_SHIFT));
            close(h->fd);
            h->fd = nfd;
            h->prot = PROT_READ | PROT_WRITE;
        }
        pthread_mutex_unlock(&m->cache_lock);
        return m;
    }

    struct statfs sfs;
    m = vm_file_create(NULL, NULL, NULL);
    struct host_inode *h = m ? vm_calloc(1, sizeof(*h)) : NULL;
    struct pgtable *cache = h ? vm_malloc(sizeof(*cache)) : NULL;
    if (!cache || pgtable_init(cache) || rwsem_init(&m->invalidate_lock)) {
        if (cache)
            pgtable_destroy(cache);
        free(cache);
        free(h);
        free(m);
        errno = ENOMEM;
        return NULL;
    }
    /* Its own open, read-write only for an open that writes (a later one
     * that does reopens it above): a file open for writing cannot be
     * executed on the host (ETXTBSY), and a program mm_exec loads, or its
     * interpreter, is often one the host runs too. */
    h->prot = PROT_READ | PROT_WRITE;
    if (!want_write || (h->fd = open(proc, O_RDWR | O_CLOEXEC)) < 0) {
        h->prot = PROT_READ;
        h->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    }
    m->host = h;
    m->cache = cache;
    m->dev = (unsigned long)st->st_dev;
    m->ino = (unsigned long)st->st_ino;
    m->size = (unsigned long)st->st_size;
    m->shmem = !fstatfs(fd, &sfs) && sfs.f_type == TMPFS_MAGIC;
    m->thp_align = host_thp_aligns(h->fd, &m->private_only);
    pthread_mutex_init(&m->cache_lock, NULL);
    pthread_mutex_init(&m->rmap_lock, NULL);
    pthread_mutex_lock(&inode_lock);
    h->next = inode_table;
    inode_table = m;
    pthread_mutex_unlock(&inode_lock);
    return m;
}

/* The last reference to a host file's inode: out of the table; the cache
 * goes, and the mappings after a grace period (a lock-free access may
 * still be reading a page a zap took).  Data written through them is in
 * the host's page cache already: nothing is lost. */
static void host_inode_release(struct vm_file *m)
{
    pthread_mutex_lock(&inode_lock);
    struct vm_file **pp = &inode_table;
    while (*pp != m)
        pp = &(*pp)->host->next;
    *pp = m->host->next;
    pthread_mutex_unlock(&inode_lock);
    vm_call_rcu(&m->host->rcu, host_inode_free_rcu);
}

struct vm_file *vm_file_open(int fd)
{
    struct stat st;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fstat(fd, &st))
        return NULL;   /* errno EBADF */
    if (fl & O_PATH) {
        errno = EBADF;   /* no file to map, as fget refuses it */
        return NULL;
    }
    struct vm_file *f = vm_file_create(NULL, NULL, NULL);
    if (!f) {
        errno = ENOMEM;
        return NULL;
    }
    int acc = fl & O_ACCMODE;
    f->f_mode = (acc != O_WRONLY ? FMODE_READ : 0) | (acc != O_RDONLY ? FMODE_WRITE : 0);
    f->dev = (unsigned long)st.st_dev;
    f->ino = (unsigned long)st.st_ino;
    if ((f->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
        int e = errno;
        vm_file_put(f);
        errno = e;
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        f->no_mmap = true;   /* directories, pipes, sockets, devices */
        return f;
    }
    struct statvfs sv;
    f->noexec = !fstatvfs(fd, &sv) && (sv.f_flag & ST_NOEXEC);
    if (!(f->mapping = host_inode_get(fd, &st, f->f_mode & FMODE_WRITE))) {
        int e = errno;
        vm_file_put(f);
        errno = e;
        return NULL;
    }
    return f;
}

const char *vm_file_path(struct vm_file *f, char *buf, size_t n)
{
    if (f->fd >= 0) {
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
        ssize_t len = readlink(proc, buf, n - 1);
        if (len >= 0) {
            buf[len] = '\0';
            return buf;
        }
    }
    return f->name ? f->name : "";
}

void vm_file_put(struct vm_file *f)
{
    if (!f || atomic_fetch_sub_explicit(&f->refcount, 1, memory_order_acq_rel) != 1)
        return;
    if (f->f_ops && f->f_ops->release)
        f->f_ops->release(f);
    vm_unacct_memory(f->acct_pages);
    if (f->fd >= 0)
        close(f->fd);
    if (f->mapping)
        vm_file_put(f->mapping);
    if (f->cache) {
        pthread_mutex_lock(&f->cache_lock);
        cache_drop(f, 0, size_pages(f), size_pages(f));
        pthread_mutex_unlock(&f->cache_lock);
        pthread_mutex_destroy(&f->cache_lock);
        pthread_mutex_destroy(&f->rmap_lock);
        rwsem_destroy(&f->invalidate_lock);
        free(f->rmap);
        pgtable_destroy(f->cache);
        free(f->cache);
    }
    if (f->host)
        host_inode_release(f);
    free(f->name);
    free(f);
}

/* SPDX-License-Identifier: MIT */
/*
 * filemap.c — mappable objects: objects with an mmap hook (vm_file_create),
 * and shmem objects with their page cache: the one behind a shared
 * anonymous mapping, and memfds (vm_file_memfd) with their seals.
 *
 * A vm_file is reference counted; each VMA that maps it holds a reference.
 * The release hook runs when the last reference goes.
 */
#include "shmem.h"
#include "memory.h"
#include "mm_counter.h"
#include "host.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

/* get_next_ino(): inode numbers of objects that live only in memory. */
static atomic_ulong next_ino;

static struct vm_file *vm_file_new(const struct vm_file_operations *ops, void *priv, const char *name)
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
    f->fd = -1;
    return f;
}

struct vm_file *vm_file_create(const struct vm_file_operations *ops, void *priv, const char *name)
{
    return vm_file_new(ops, priv, name);
}

/* The pages of a shmem object's size, the last one perhaps in part.
 * cache_lock held. */
static inline unsigned long size_pages(const struct vm_file *f)
{
    return (f->size + PAGE_SIZE - 1) >> PAGE_SHIFT;
}

/* A shmem object of size bytes (shmem_file_setup): on the internal shm
 * mount, whose device is 00:01, with an inode number of its own. */
static struct vm_file *shmem_file_new(const char *name, unsigned long size)
{
    struct vm_file *f = vm_file_new(NULL, NULL, name);
    if (!f)
        return NULL;
    f->dev = makedev(0, 1);
    f->ino = atomic_fetch_add_explicit(&next_ino, 1, memory_order_relaxed) + 1;
    f->size = size;
    /* Sparse: a huge object costs only the tables of what it uses. */
    f->cache = vm_malloc(sizeof(*f->cache));
    if (!f->cache || pgtable_init(f->cache)) {
        free(f->cache);
        free(f->name);
        free(f);
        return NULL;
    }
    pthread_mutex_init(&f->cache_lock, NULL);
    pthread_mutex_init(&f->rmap_lock, NULL);
    return f;
}

/* Linux names the shmem object of a shared anonymous mapping "/dev/zero"
 * and it is unlinked from birth: maps shows "/dev/zero (deleted)". */
struct vm_file *vm_file_shmem_zero(unsigned long size)
{
    struct vm_file *f = shmem_file_new("/dev/zero (deleted)", size);
    if (f)
        f->anon_shmem = true;
    return f;
}

/* memfd_create(name, MFD_ALLOW_SEALING) and ftruncate(size): the name as
 * /proc shows it ("/memfd:NAME (deleted)"), at most MFD_NAME_MAX_LEN bytes
 * of the caller's. */
#define MFD_NAME_MAX_LEN 249

struct vm_file *vm_file_memfd(const char *name, size_t size)
{
    if (!name) {
        errno = EFAULT;
        return NULL;
    }
    size_t n = strlen(name);
    if (n > MFD_NAME_MAX_LEN || size > (size_t)LONG_MAX) {
        errno = EINVAL;
        return NULL;
    }
    char *path = vm_malloc(n + sizeof("/memfd: (deleted)"));
    struct vm_file *f = NULL;
    if (path) {
        sprintf(path, "/memfd:%s (deleted)", name);
        f = shmem_file_new(path, size);
        free(path);
    }
    if (!f) {
        errno = ENOMEM;
        return NULL;
    }
    f->memfd = true;
    return f;
}

#define F_SEALS_KNOWN (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | \
                       F_SEAL_EXEC)

/* memfd_add_seals, in its order of checks. */
int vm_file_add_seals(struct vm_file *f, int seals)
{
    if (!f || !f->memfd)
        return -EINVAL;
    if (seals & ~F_SEALS_KNOWN)
        return -EINVAL;
    pthread_mutex_lock(&f->cache_lock);
    int err = 0;
    if (f->seals & F_SEAL_SEAL) {
        err = -EPERM;
    } else if ((seals & F_SEAL_WRITE) && !(f->seals & F_SEAL_WRITE) &&
               atomic_load_explicit(&f->nr_writable, memory_order_relaxed) > 0) {
        err = -EBUSY;   /* mapping_deny_writable: a shared writable mapping exists */
    } else {
        f->seals |= seals;
    }
    pthread_mutex_unlock(&f->cache_lock);
    return err;
}

/*
 * shmem_get_folio: the page at pgoff, allocated zeroed on first use.  Beyond
 * the object's size is SIGBUS (a shared anonymous mapping grown by mremap).
 * Pages come from the faulting mm's pool, pinning it (struct vm_file).
 */
struct vm_page *shmem_get_page(struct vm_file *f, unsigned long pgoff, struct page_pool *pool)
{
    pthread_mutex_lock(&f->cache_lock);
    pte_t _Atomic *slot;
    struct vm_page *page;
    int err = pgoff >= size_pages(f) ? -EIO : pgtable_walk_alloc(f->cache, pgoff << PAGE_SHIFT, &slot);
    if (err) {
        page = ERR_PTR(err);
    } else {
        pte_t e = ptep_get(slot);
        if (e) {
            page = pte_page(e);
        } else if ((page = page_alloc_pinned(pool))) {
            ptep_set(slot, pte_mk(page, PTE_PRESENT));   /* the cache's own reference */
        } else {
            page = ERR_PTR(-ENOMEM);
        }
        if (!IS_ERR(page))
            page_get(page);
    }
    pthread_mutex_unlock(&f->cache_lock);
    return page;
}

struct vm_page *shmem_find_page(struct vm_file *f, unsigned long pgoff)
{
    pthread_mutex_lock(&f->cache_lock);
    pte_t _Atomic *slot = pgoff < size_pages(f) ? pgtable_walk(f->cache, pgoff << PAGE_SHIFT) : NULL;
    pte_t e = slot ? ptep_get(slot) : 0;
    struct vm_page *page = e ? pte_page(e) : NULL;
    if (page)
        page_get(page);
    pthread_mutex_unlock(&f->cache_lock);
    return page;
}

void shmem_evict(struct vm_file *f, unsigned long pgoff, struct vm_page *page)
{
    pthread_mutex_lock(&f->cache_lock);
    pte_t _Atomic *slot = pgoff < size_pages(f) ? pgtable_walk(f->cache, pgoff << PAGE_SHIFT) : NULL;
    /* The cache's reference and the caller's: no one else holds it. */
    if (slot && ptep_get(slot) && pte_page(ptep_get(slot)) == page && page_count(page) == 2 &&
        !page_test_dirty(page)) {
        ptep_set(slot, 0);
        page_put(page);
    }
    pthread_mutex_unlock(&f->cache_lock);
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
static void cache_drop(struct vm_file *f, unsigned long pgoff, unsigned long n, unsigned long limit)
{
    if (pgoff >= limit)
        return;
    n = min(n, limit - pgoff);
    pgtable_free_range(f->cache, pgoff << PAGE_SHIFT, (pgoff + n) << PAGE_SHIFT, 0, 0, cache_put, NULL);
}

void shmem_punch(struct vm_file *f, unsigned long pgoff, unsigned long n)
{
    pthread_mutex_lock(&f->cache_lock);
    cache_drop(f, pgoff, n, size_pages(f));
    pthread_mutex_unlock(&f->cache_lock);
}

/*
 * ftruncate on a shmem object (shmem_setattr): the seals first, then the new
 * size, so that a fault past it is SIGBUS from now on; shrinking zeroes the
 * part of the last page past the end, and takes the pages wholly past it
 * out of every mapping (the private copies too) and out of the cache.
 */
int vm_file_truncate(struct vm_file *f, unsigned long size)
{
    if (!f || !f->cache)
        return -EINVAL;
    if (size > (unsigned long)LONG_MAX)
        return -EFBIG;
    pthread_mutex_lock(&f->cache_lock);
    unsigned long old = f->size, old_pages = size_pages(f);
    if ((size < old && (f->seals & F_SEAL_SHRINK)) || (size > old && (f->seals & F_SEAL_GROW))) {
        pthread_mutex_unlock(&f->cache_lock);
        return -EPERM;
    }
    f->size = size;
    unsigned long holebegin = size_pages(f);
    if (size < old && offset_in_page(size)) {
        /* truncate_inode_partial_folio: the tail past the end reads zero. */
        pte_t _Atomic *slot = pgtable_walk(f->cache, (size >> PAGE_SHIFT) << PAGE_SHIFT);
        pte_t e = slot ? ptep_get(slot) : 0;
        if (e) {
            memset((char *)page_address(pte_page(e)) + offset_in_page(size), 0, PAGE_SIZE - offset_in_page(size));
            page_set_dirty(pte_page(e));   /* shmem_undo_range marks it so */
        }
    }
    pthread_mutex_unlock(&f->cache_lock);
    if (holebegin >= old_pages)
        return 0;
    unmap_mapping_range(f, holebegin, old_pages - holebegin, true);
    pthread_mutex_lock(&f->cache_lock);
    cache_drop(f, holebegin, old_pages - holebegin, old_pages);
    pthread_mutex_unlock(&f->cache_lock);
    /* A fault that found a page before the size changed may have mapped it
     * since: the second pass takes it away (shmem_setattr does too). */
    unmap_mapping_range(f, holebegin, old_pages - holebegin, true);
    return 0;
}

void vm_file_get(struct vm_file *f)
{
    atomic_fetch_add_explicit(&f->refcount, 1, memory_order_relaxed);
}

void vm_file_put(struct vm_file *f)
{
    if (!f || atomic_fetch_sub_explicit(&f->refcount, 1, memory_order_acq_rel) != 1)
        return;
    if (f->f_ops && f->f_ops->release)
        f->f_ops->release(f);
    vm_unacct_memory(f->acct_pages);
    if (f->cache) {
        shmem_punch(f, 0, size_pages(f));
        pthread_mutex_destroy(&f->cache_lock);
        pthread_mutex_destroy(&f->rmap_lock);
        free(f->rmap);
        pgtable_destroy(f->cache);
        free(f->cache);
    }
    free(f->name);
    free(f);
}

void *vm_file_private(struct vm_file *f) { return f->private_data; }
const char *vm_file_name(struct vm_file *f) { return f->name; }

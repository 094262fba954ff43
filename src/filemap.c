/* SPDX-License-Identifier: MIT */
/*
 * filemap.c — mappable objects: objects with an mmap hook (vm_file_create)
 * and the anonymous shmem object behind a shared anonymous mapping.
 *
 * A vm_file is reference counted; each VMA that maps it holds a reference.
 * The release hook runs when the last reference goes.
 */
#include "shmem.h"
#include "mm_counter.h"
#include "host.h"

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

/* Linux names the shmem object of a shared anonymous mapping "/dev/zero"
 * and it is unlinked from birth: maps shows "/dev/zero (deleted)". */
struct vm_file *vm_file_shmem_zero(unsigned long size)
{
    struct vm_file *f = vm_file_new(NULL, NULL, "/dev/zero (deleted)");
    if (!f)
        return NULL;
    f->anon_shmem = true;
    f->dev = makedev(0, 1);   /* the shmem superblock's anonymous device */
    f->ino = atomic_fetch_add_explicit(&next_ino, 1, memory_order_relaxed) + 1;
    f->cache_pages = size >> PAGE_SHIFT;
    /* Sparse: a huge shared mapping costs only the tables of what it uses. */
    f->cache = vm_malloc(sizeof(*f->cache));
    if (!f->cache || pgtable_init(f->cache)) {
        free(f->cache);
        free(f->name);
        free(f);
        return NULL;
    }
    pthread_mutex_init(&f->cache_lock, NULL);
    return f;
}

/*
 * shmem_get_folio: the page at pgoff, allocated zeroed on first use.  Beyond
 * the object's size is SIGBUS (a shared anonymous mapping grown by mremap).
 * Pages come from the faulting mm's pool: an object lives no longer than the
 * VMAs of its one mm (no fork yet, no memfd), so its pages go back before
 * the pool does.
 */
struct vm_page *shmem_get_page(struct vm_file *f, unsigned long pgoff, struct page_pool *pool)
{
    if (pgoff >= f->cache_pages)
        return ERR_PTR(-EIO);
    pthread_mutex_lock(&f->cache_lock);
    pte_t _Atomic *slot;
    struct vm_page *page;
    int err = pgtable_walk_alloc(f->cache, pgoff << PAGE_SHIFT, &slot);
    if (err) {
        page = ERR_PTR(err);
    } else {
        pte_t e = ptep_get(slot);
        if (e) {
            page = pte_page(e);
        } else if ((page = page_alloc(pool))) {
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
    if (pgoff >= f->cache_pages)
        return NULL;
    pthread_mutex_lock(&f->cache_lock);
    pte_t _Atomic *slot = pgtable_walk(f->cache, pgoff << PAGE_SHIFT);
    pte_t e = slot ? ptep_get(slot) : 0;
    struct vm_page *page = e ? pte_page(e) : NULL;
    if (page)
        page_get(page);
    pthread_mutex_unlock(&f->cache_lock);
    return page;
}

void shmem_evict(struct vm_file *f, unsigned long pgoff, struct vm_page *page)
{
    if (pgoff >= f->cache_pages)
        return;
    pthread_mutex_lock(&f->cache_lock);
    pte_t _Atomic *slot = pgtable_walk(f->cache, pgoff << PAGE_SHIFT);
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

void shmem_punch(struct vm_file *f, unsigned long pgoff, unsigned long n)
{
    if (pgoff >= f->cache_pages)
        return;
    n = min(n, f->cache_pages - pgoff);
    pthread_mutex_lock(&f->cache_lock);
    /* Emptied tables go too: the cache has no neighbours to share them with. */
    pgtable_free_range(f->cache, pgoff << PAGE_SHIFT, (pgoff + n) << PAGE_SHIFT, 0, 0, cache_put, NULL);
    pthread_mutex_unlock(&f->cache_lock);
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
        shmem_punch(f, 0, f->cache_pages);
        pthread_mutex_destroy(&f->cache_lock);
        pgtable_destroy(f->cache);
        free(f->cache);
    }
    free(f->name);
    free(f);
}

void *vm_file_private(struct vm_file *f) { return f->private_data; }
const char *vm_file_name(struct vm_file *f) { return f->name; }

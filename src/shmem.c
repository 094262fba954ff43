/* SPDX-License-Identifier: MIT */
/*
 * shmem.c — shmem objects: the one behind a shared anonymous mapping, and
 * memfds (vm_file_memfd) with their seals.  Their page cache is
 * filemap.c's, with frames from the pools of the mms that fault them.
 */
#include "shmem.h"
#include "host.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

/* get_next_ino(): inode numbers of objects that live only in memory. */
static atomic_ulong next_ino;

/* A shmem object of size bytes (shmem_file_setup): on the internal shm
 * mount, whose device is 00:01, with an inode number of its own. */
static struct vm_file *shmem_file_new(const char *name, unsigned long size)
{
    struct vm_file *f = vm_file_create(NULL, NULL, name);
    if (!f)
        return NULL;
    f->dev = makedev(0, 1);
    f->ino = atomic_fetch_add_explicit(&next_ino, 1, memory_order_relaxed) + 1;
    f->size = size;
    f->shmem = true;
    /* Sparse: a huge object costs only the tables of what it uses. */
    f->cache = vm_malloc(sizeof(*f->cache));
    if (!f->cache || pgtable_init(f->cache) || rwsem_init(&f->invalidate_lock)) {
        if (f->cache)
            pgtable_destroy(f->cache);
        free(f->cache);
        f->cache = NULL;
        vm_file_put(f);
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

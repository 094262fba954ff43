/*
 * filemap.c — mappable objects.  Today: objects with an mmap hook
 * (vm_file_create) and the anonymous shmem object behind a shared anonymous
 * mapping.  The page cache over host files comes with the files issue.
 *
 * A vm_file is reference counted; each VMA that maps it holds a reference.
 * The release hook runs when the last reference goes.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

/* get_next_ino(): inode numbers of objects that live only in memory. */
static atomic_ulong next_ino;

static struct vm_file *vm_file_new(const struct vm_file_operations *ops, void *priv, const char *name)
{
    struct vm_file *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    if (name && !(f->name = strdup(name))) {
        free(f);
        return NULL;
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
    (void)size;
    struct vm_file *f = vm_file_new(NULL, NULL, "/dev/zero (deleted)");
    if (f) {
        f->anon_shmem = true;
        f->dev = makedev(0, 1);   /* the shmem superblock's anonymous device */
        f->ino = atomic_fetch_add_explicit(&next_ino, 1, memory_order_relaxed) + 1;
    }
    return f;
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
    free(f->name);
    free(f);
}

void *vm_file_private(struct vm_file *f) { return f->private_data; }
const char *vm_file_name(struct vm_file *f) { return f->name; }

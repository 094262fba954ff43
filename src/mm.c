/* SPDX-License-Identifier: MIT */
/*
 * mm.c — address space lifetime, reference counts, configuration, warnings.
 *
 * Two counts, as in Linux:
 *   mm_users  processes (callers) using the address space.  When it drops to
 *             zero every mapping is torn down (exit_mmap).
 *   mm_count  references to the struct itself.  All users together hold one.
 *             When it drops to zero the struct is freed.
 * A holder of only an mm_count reference may not lock or map; it must first
 * win mmget_not_zero().
 */
#include "mm.h"
#include "host.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int mm_config_resolve(struct mm_config *cfg)
{
    if (!cfg->task_size)
        cfg->task_size = DEFAULT_TASK_SIZE;
    if (!cfg->mmap_min_addr)
        cfg->mmap_min_addr = DEFAULT_MMAP_MIN_ADDR;
    if (!cfg->mmap_base)
        cfg->mmap_base = min(cfg->task_size, DEFAULT_MAP_WINDOW) - DEFAULT_STACK_GAP;
    if (!cfg->max_map_count)
        cfg->max_map_count = DEFAULT_MAX_MAP_COUNT;
    if (!cfg->fault_around_bytes)
        cfg->fault_around_bytes = DEFAULT_FAULT_AROUND_BYTES;
    if (!cfg->overcommit_ratio)
        cfg->overcommit_ratio = DEFAULT_OVERCOMMIT_RATIO;
    if (!cfg->admin_reserve_kbytes)
        cfg->admin_reserve_kbytes = DEFAULT_ADMIN_RESERVE_KB;
    if (!cfg->user_reserve_kbytes)
        cfg->user_reserve_kbytes = DEFAULT_USER_RESERVE_KB;
    if (!cfg->as_limit)
        cfg->as_limit = ~0UL;
    if (!cfg->data_limit)
        cfg->data_limit = ~0UL;
    if (!cfg->stack_limit)
        cfg->stack_limit = 8UL << 20;
    if (!cfg->ram_pages && host_memory_pages(&cfg->ram_pages, &cfg->swap_pages))
        return -EINVAL;
    if ((unsigned)cfg->overcommit_memory > MM_OVERCOMMIT_NEVER)
        return -EINVAL;
    unsigned long fab = cfg->fault_around_bytes;
    if (fab < PAGE_SIZE || fab > PMD_SIZE || (fab & (fab - 1)) || (cfg->flags & ~MM_CONFIG_ALL))
        return -EINVAL;
    if (offset_in_page(cfg->task_size) || offset_in_page(cfg->mmap_base) ||
        cfg->task_size < 2 * PAGE_SIZE || cfg->task_size > MAX_TASK_SIZE ||
        cfg->mmap_base > cfg->task_size ||
        cfg->mmap_min_addr >= cfg->task_size || cfg->mmap_base <= PAGE_ALIGN(cfg->mmap_min_addr) ||
        (unsigned)cfg->thp > MM_THP_NEVER)
        return -EINVAL;
    return 0;
}

static void mm_grab_void(void *mm) { mmgrab(mm); }
static void mm_drop_void(void *mm) { mmdrop(mm); }

struct mm *mm_create(const struct mm_config *cfg)
{
    struct mm_config c;
    if (cfg)
        c = *cfg;
    else
        memset(&c, 0, sizeof(c));
    if (mm_config_resolve(&c)) {
        errno = EINVAL;
        return NULL;
    }

    /* aligned_alloc: the frame pool's shards sit on their own cache lines. */
    struct mm *mm = aligned_alloc(_Alignof(struct mm), sizeof(*mm));
    if (!mm)
        goto nomem;
    memset(mm, 0, sizeof(*mm));
    if (page_pool_init(&mm->pages, c.memory_limit))
        goto free_mm;
    if (pgtable_init_limit(&mm->pgt, c.task_size))
        goto free_pages;
    if (rwsem_init(&mm->mmap_lock))
        goto free_pgt;
    mm->pgt.charge = &mm->pages;   /* page tables count against memory_limit */
    /* mm_read/mm_write walk tables and copy frames under RCU alone. */
    mm->pgt.rcu_free = true;
    page_pool_set_rcu_free(&mm->pages, mm, mm_grab_void, mm_drop_void);
    pthread_mutex_init(&mm->anon_vma_lock, NULL);
    mm->cfg = c;
    static atomic_ulong next_mm_id = 1;
    mm->mm_id = atomic_fetch_add_explicit(&next_mm_id, 1, memory_order_relaxed);
    atomic_init(&mm->mm_users, 1);
    atomic_init(&mm->mm_count, 1);
    vt_init(&mm->mm_mt);
    vt_set_defer_free(&mm->mm_mt);   /* nodes are reclaimed with the VMAs */
    return mm;

free_pgt:
    pgtable_destroy(&mm->pgt);
free_pages:
    page_pool_destroy(&mm->pages);
free_mm:
    free(mm);
nomem:
    errno = ENOMEM;
    return NULL;
}

void mm_get_config(struct mm *mm, struct mm_config *out)
{
    *out = mm->cfg;
}

bool mmget_not_zero(struct mm *mm)
{
    long users = atomic_load_explicit(&mm->mm_users, memory_order_relaxed);
    do {
        if (users == 0)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&mm->mm_users, &users, users + 1,
                                                    memory_order_acquire, memory_order_relaxed));
    return true;
}

void mmgrab(struct mm *mm)
{
    atomic_fetch_add_explicit(&mm->mm_count, 1, memory_order_relaxed);
}

void mmdrop(struct mm *mm)
{
    /* acq_rel: everything each holder did happens before the free (one
     * RMW rather than release + fence, which ThreadSanitizer cannot see). */
    if (atomic_fetch_sub_explicit(&mm->mm_count, 1, memory_order_acq_rel) != 1)
        return;
    VM_BUG_ON(mm->mm_mt.count != 0);
    mm_counter_destroy(mm);
    vt_destroy(&mm->mm_mt);
    mm_free_vma_cache(mm);
    rwsem_destroy(&mm->mmap_lock);
    pthread_mutex_destroy(&mm->anon_vma_lock);
    pgtable_destroy(&mm->pgt);
    page_pool_destroy(&mm->pages);
    struct mm *parent = mm->fork_parent;
    free(mm);
    if (parent)
        mmdrop(parent);
}

void mmput(struct mm *mm)
{
    if (atomic_fetch_sub_explicit(&mm->mm_users, 1, memory_order_acq_rel) != 1)
        return;
    /* exit_mmap: holders of mm_count may still look (lock_vma_under_rcu
     * needs a user reference, so none does), but take the lock anyway so the
     * debug assertions of the teardown path hold. */
    struct mmap_write_guard g = mmap_write_lock(mm);
    mm_unmap_all(mm);
    mm_free_deferred(mm, true);
    (mmap_write_unlock)(&g);
    mmdrop(mm);
}

void mm_set_warn_hook(struct mm *mm, mm_warn_fn fn, void *arg)
{
    mm->warn_fn = fn;
    mm->warn_arg = arg;
}

void vma_clear_soft_dirty(struct mm *mm, unsigned long addr)
{
    MMAP_WRITE_GUARD(g, mm);
    struct vma *vma = vt_find(&mm->mm_mt, addr);
    if (!vma || vma->vm_start > addr || !(vma->vm_flags & VM_SOFTDIRTY))
        return;
    vma_start_write(vma);
    vma->vm_flags &= ~VM_SOFTDIRTY;
}

/*
 * The process image, as prctl(PR_SET_MM, PR_SET_MM_MAP) validates it: every
 * address inside the task, and each pair in order.
 */
int mm_set_layout(struct mm *mm, const struct mm_layout *l)
{
    const unsigned long addrs[] = { l->start_code, l->end_code, l->start_data, l->end_data,
                                    l->start_brk, l->brk, l->start_stack, l->arg_start,
                                    l->arg_end, l->env_start, l->env_end };
    for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
        if (addrs[i] < mm->cfg.mmap_min_addr || addrs[i] >= mm->cfg.task_size)
            return -EINVAL;
    if (l->start_code >= l->end_code || l->start_data >= l->end_data || l->start_brk > l->brk ||
        l->arg_start > l->arg_end || l->env_start > l->env_end)
        return -EINVAL;
    MMAP_WRITE_GUARD(g, mm);
    mm->layout = *l;
    return 0;
}

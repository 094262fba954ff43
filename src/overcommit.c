/* SPDX-License-Identifier: MIT */
/*
 * overcommit.c — Linux's commit accounting (mm/util.c __vm_enough_memory,
 * Committed_AS): memory that may be written without a page-table fault
 * failing later is charged when it is promised, and refused when the policy
 * (vm.overcommit_memory) says the promise cannot be kept.
 *
 * What is charged, as in Linux: the pages of VM_ACCOUNT VMAs (private
 * writable memory not mapped MAP_NORESERVE, the heap, a stack), and a shared
 * anonymous object's size.  The count is one for the whole process, shared by
 * all its mms, as the kernel's is one for the whole machine; each mm's own
 * configuration decides whether a charge of it is allowed.
 *
 * A charge is taken before the check (vm_acct_memory, then the policy), so
 * that concurrent charges see each other; a refused one is given back.
 */
#include "mm.h"

/*
 * vm.overcommit_memory 2: RAM by ratio or kbytes, plus swap, less the
 * root reserve (an emulated process is no administrator) and, for one
 * process, the smaller of a 32nd of its size and the user reserve.
 */
static long commit_limit(const struct mm *mm)
{
    const struct mm_config *c = &mm->cfg;
    long ram = c->overcommit_kbytes ? (long)(c->overcommit_kbytes >> (PAGE_SHIFT - 10))
                                    : (long)(c->ram_pages * c->overcommit_ratio / 100);
    long allowed = ram + (long)c->swap_pages;
    allowed -= (long)(c->admin_reserve_kbytes >> (PAGE_SHIFT - 10));
    allowed -= (long)min(mm->total_vm / 32, c->user_reserve_kbytes >> (PAGE_SHIFT - 10));
    return allowed;
}

int vm_enough_memory(struct mm *mm, long pages)
{
    long committed = vm_acct_memory(pages);
    switch (mm->cfg.overcommit_memory) {
    case MM_OVERCOMMIT_ALWAYS:
        return 0;
    case MM_OVERCOMMIT_GUESS:
        /* The heuristic refuses only what no machine this size could give. */
        if ((unsigned long)pages <= mm->cfg.ram_pages + mm->cfg.swap_pages)
            return 0;
        break;
    default:
        if (committed < commit_limit(mm))
            return 0;
        break;
    }
    vm_unacct_memory(pages);
    return -ENOMEM;
}

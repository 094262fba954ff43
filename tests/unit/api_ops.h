/*
 * api_ops.h — random public-API calls on one mm, and the checks after them.
 *
 * Shared by tests/unit/test_api_fuzz.c, whose words come from a xorshift
 * generator (a fixed call sequence per seed), and tests/fuzz/fuzz_api.c,
 * whose words come from libFuzzer's input.  Each draw names its bound
 * (api_draw), so that both sources give the same call for the same value:
 * the generator returns a full word and the modulo here reduces it; the
 * fuzzer reads one byte for a small bound and eight for a full word, which
 * keeps its inputs short and each byte meaningful.
 *
 * The draws are separate statements, in the order gcc evaluated the
 * expressions test_api_fuzz had before this header (left to right): its
 * seeds give the calls they gave.
 *
 * The includer defines API_CHECK(cond) and API_CHECK_EQ(a, b) first: cmocka's
 * asserts in the unit test, abort() in the fuzzer.  Single-threaded: the
 * checks read counters that are exact only when no call is in progress.
 */
#ifndef VMAREA_TESTS_API_OPS_H
#define VMAREA_TESTS_API_OPS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if !defined(API_CHECK) || !defined(API_CHECK_EQ)
#error "define API_CHECK and API_CHECK_EQ before including api_ops.h"
#endif

/* The window most calls land in: 64 pages, so that they meet each other. */
#define API_WINDOW 0x200000000000UL

/* Cases of api_op: test_api_fuzz's mix, or that and the fuzzer's extras. */
#define API_OPS_BASIC 10U   /* mmap munmap mprotect madvise mlock munlock anon_name
                               read/write/fault mlockall/munlockall/brk */
#define API_OPS_ALL   14U   /* + vma_zap_page_range_single, maps/smaps text, stats,
                               many VMAs at once; and shared anonymous mappings */

/* A word for a draw reduced modulo bound (bound 0: a full word wanted). */
typedef unsigned long (*api_next_fn)(void *arg, unsigned long bound);

struct api_ops {
    struct mm *mm;
    api_next_fn next;
    void *arg;
    unsigned nr_ops;            /* API_OPS_BASIC or API_OPS_ALL */
    unsigned long calls, ok;    /* api_op calls, and those that returned >= 0 */
    unsigned long peak;         /* most VMAs seen after a call */
};

static inline unsigned long api_draw(struct api_ops *o, unsigned long bound)
{
    unsigned long w = o->next(o->arg, bound);
    return bound ? w % bound : w;
}

static inline unsigned long api_word(struct api_ops *o)
{
    return api_draw(o, 0);
}

/* An address or length: mostly near interesting places, sometimes anything. */
static inline unsigned long api_pick(struct api_ops *o)
{
    static const unsigned long bases[] = {
        0, PAGE_SIZE, DEFAULT_MMAP_MIN_ADDR, API_WINDOW, DEFAULT_TASK_SIZE - (128UL << 20),
        DEFAULT_TASK_SIZE, DEFAULT_TASK_SIZE + PAGE_SIZE, ~0UL, ~0UL - PAGE_SIZE + 1, 1UL << 63,
    };
    switch (api_draw(o, 4)) {
    case 0:
        return api_word(o);
    case 1: {
        unsigned long base = bases[api_draw(o, sizeof(bases) / sizeof(bases[0]))];
        return base + api_draw(o, 5) * PAGE_SIZE - 2 * PAGE_SIZE;
    }
    default: {
        unsigned long page = api_draw(o, 64);
        unsigned long off = api_draw(o, 8) == 0 ? api_draw(o, PAGE_SIZE) : 0;
        return API_WINDOW + page * PAGE_SIZE + off;
    }
    }
}

static inline unsigned long api_pick_len(struct api_ops *o)
{
    if (!api_draw(o, 3))
        return api_pick(o);
    unsigned long pages = api_draw(o, 16);
    unsigned long off = api_draw(o, 8) == 0 ? api_draw(o, PAGE_SIZE) : 0;
    return pages * PAGE_SIZE + off;
}

static int api_count_pte(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    (void)addr;
    (void)ptep;
    if (!pte_special(pte))   /* the zero page and guard markers are in nobody's Rss */
        ++*(unsigned long *)arg;
    return 0;
}

/* Pages the page tables map.  Locks: the mmap lock. */
static inline unsigned long api_mapped_pages(struct mm *mm)
{
    unsigned long mapped = 0;
    pgtable_for_each(&mm->pgt, 0, PGT_ADDR_LIMIT, api_count_pte, &mapped);
    return mapped;
}

/* The VMA tree holds its invariants; total_vm, locked_vm and the map count
 * equal what the VMAs add up to, Rss the pages the page tables map; the
 * frames and tables in use stay under the memory limit. */
static inline void api_check_mm(struct mm *mm)
{
    MMAP_READ_GUARD(g, mm);
    API_CHECK_EQ(api_mapped_pages(mm), mm_rss(mm, MM_ANONPAGES) + mm_rss(mm, MM_FILEPAGES) +
                                           mm_rss(mm, MM_SHMEMPAGES));
    API_CHECK_EQ(vt_validate(&mm->mm_mt), 0);
    unsigned long total = 0, locked = 0, count = 0;
    for (struct vma *v = vt_first(&mm->mm_mt); v; v = vt_next(&mm->mm_mt, v)) {
        API_CHECK(v->vm_start < v->vm_end && offset_in_page(v->vm_start) == 0 &&
                  offset_in_page(v->vm_end) == 0 && v->vm_end <= mm->cfg.task_size);
        total += vma_pages(v);
        if (v->vm_flags & VM_LOCKED)
            locked += vma_pages(v);
        count++;
    }
    API_CHECK_EQ(count, mm->map_count);
    /* mmap refuses only above the limit, and so may reach one over it */
    API_CHECK(count <= mm->cfg.max_map_count + 1);
    API_CHECK_EQ(total, mm->total_vm);
    API_CHECK_EQ(locked, mm->locked_vm);
    if (mm->pages.limit != ULONG_MAX) {
        unsigned long reserved = atomic_load(&mm->pages.nr_reserved);
        API_CHECK(reserved <= mm->pages.limit);
        API_CHECK(page_pool_in_use(&mm->pages) <= reserved);
    }
}

/* After a successful mmap, one VMA covers what it returned; after a
 * successful munmap, none meets the range. */
static inline void api_check_mapped(struct mm *mm, unsigned long start, unsigned long len)
{
    MMAP_READ_GUARD(g, mm);
    const struct vma_ref *v = vma_lookup(&g, start);
    API_CHECK(v != NULL && vma_end(v) - start >= PAGE_ALIGN(len));
}

static inline void api_check_unmapped(struct mm *mm, unsigned long start, unsigned long len)
{
    MMAP_READ_GUARD(g, mm);
    const struct vma_ref *v = vma_find(&g, start);
    API_CHECK(v == NULL || (vma_start(v) >= start && vma_start(v) - start >= PAGE_ALIGN(len)));
}

/* What a call returned: 0 or an address, or -errno (Linux's errno range). */
static inline void api_check_result(long r)
{
    API_CHECK(r >= -4095);
}

/* --- the fuzzer's extras */

/* vma_zap_page_range_single on the VMA at a: mostly a range inside it,
 * sometimes one that runs past its end (the call must warn and do nothing). */
static inline long api_zap(struct api_ops *o, unsigned long a, unsigned long len)
{
    MMAP_READ_GUARD(g, o->mm);
    const struct vma_ref *v = vma_lookup(&g, a);
    if (!v)
        return -EFAULT;
    if (api_draw(o, 4))
        len = min(len, vma_end(v) - a);
    unsigned long rss = mm_rss(o->mm, MM_ANONPAGES);
    vma_zap_page_range_single(v, a, len);
    API_CHECK(mm_rss(o->mm, MM_ANONPAGES) <= rss);
    return 0;
}

static inline unsigned long api_count_lines(const char *text, const char *prefix)
{
    unsigned long n = 0;
    size_t plen = strlen(prefix);
    for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
        if (!strncmp(p, prefix, plen))
            n++;
        if (!strchr(p, '\n'))
            break;
    }
    return n;
}

/* The maps text has a line per VMA; smaps a block per VMA, whose Rss lines
 * add up to the Rss counters. */
static inline long api_show(struct api_ops *o)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    API_CHECK(f != NULL);
    bool smaps = api_draw(o, 2);
    int r = smaps ? mm_show_smaps(o->mm, f) : mm_show_maps(o->mm, f);
    API_CHECK(fclose(f) == 0);
    API_CHECK_EQ(r, 0);
    API_CHECK_EQ(strlen(text), size);
    struct mm *mm = o->mm;
    if (!smaps) {
        API_CHECK_EQ(api_count_lines(text, ""), mm->map_count);
        API_CHECK(size == 0 || text[size - 1] == '\n');
    } else {
        API_CHECK_EQ(api_count_lines(text, "Rss:"), mm->map_count);
        unsigned long kb = 0;
        for (const char *p = strstr(text, "\nRss:"); p; p = strstr(p + 1, "\nRss:"))
            kb += strtoul(p + 5, NULL, 10);
        API_CHECK_EQ(kb * 1024, (mm_rss(mm, MM_ANONPAGES) + mm_rss(mm, MM_FILEPAGES) +
                                 mm_rss(mm, MM_SHMEMPAGES)) * PAGE_SIZE);
    }
    free(text);
    return r;
}

static inline long api_stats(struct api_ops *o)
{
    struct mm *mm = o->mm;
    struct mm_stats s;
    mm_get_stats(mm, &s);
    API_CHECK_EQ(s.map_count, mm->map_count);
    API_CHECK_EQ(s.total_vm, mm->total_vm);
    API_CHECK_EQ(s.locked_vm, mm->locked_vm);
    API_CHECK_EQ(s.rss_anon, mm_rss(mm, MM_ANONPAGES));
    API_CHECK_EQ(s.rss_file, mm_rss(mm, MM_FILEPAGES));
    API_CHECK_EQ(s.rss_shmem, mm_rss(mm, MM_SHMEMPAGES));
    API_CHECK_EQ(s.pgtable_bytes, pgtable_bytes(&mm->pgt));
    return 0;
}

/* Many VMAs at once, so that a short input reaches the tree shapes (node
 * splits, merges, drops) that single calls would need hundreds of bytes for:
 * up to 64 single pages from a, each one page or two after the last, with
 * alternating protections so that adjacent ones do not merge. */
static inline long api_layout(struct api_ops *o, unsigned long a)
{
    unsigned long n = api_draw(o, 64) + 1;
    unsigned long stride = (api_draw(o, 2) + 1) * PAGE_SIZE;
    for (unsigned long i = 0; i < n; i++) {
        long r = mm_mmap(o->mm, a + i * stride, PAGE_SIZE, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, NULL, 0);
        if (r < 0)
            return r;
        api_check_mapped(o->mm, (unsigned long)r, PAGE_SIZE);
    }
    return 0;
}

/* One call with random arguments.  Returns what the call returned (0 for
 * the calls whose result is not looked at). */
static inline long api_op(struct api_ops *o)
{
    static char buf[3 * 4096];
    struct mm *mm = o->mm;
    unsigned long a = api_pick(o);
    unsigned long len = api_pick_len(o);
    long r = 0;
    int prot = (int)api_draw(o, 16);
    if (api_draw(o, 16) == 0)
        prot |= (int)api_word(o);
    int flags = api_draw(o, 4) ? MAP_PRIVATE | MAP_ANONYMOUS : (int)api_word(o);
    if (api_draw(o, 2))
        flags |= MAP_FIXED;
    /* A draw test_api_fuzz never made (its seeds stay as they were): shared
     * anonymous memory, shmem inside, a quarter of the time. */
    if (o->nr_ops == API_OPS_ALL && api_draw(o, 4) == 3)
        flags ^= MAP_PRIVATE | MAP_SHARED;
    switch (api_draw(o, o->nr_ops)) {
    case 0: case 1: {
        unsigned long offset = api_draw(o, 8) ? 0 : api_pick(o);
        r = mm_mmap(mm, a, len, prot, flags, NULL, offset);
        if (r >= 0) {
            API_CHECK(offset_in_page(r) == 0 && (unsigned long)r < mm->cfg.task_size &&
                      (unsigned long)r >= mm->cfg.mmap_min_addr);
            api_check_mapped(mm, (unsigned long)r, len);
        }
        break;
    }
    case 2:
        r = mm_munmap(mm, a, len);
        if (r == 0)
            api_check_unmapped(mm, a, len);
        break;
    case 3:
        r = mm_mprotect(mm, a, len, prot);
        break;
    case 4: {
        int advice = (int)api_draw(o, 30) - 2;
        if (api_draw(o, 16) == 0)
            advice += 100;   /* the MADV_GUARD_* and other high values */
        r = mm_madvise(mm, a, len, advice);
        break;
    }
    case 5:
        r = mm_mlock(mm, a, len, (unsigned)api_draw(o, 3));
        break;
    case 6:
        r = mm_munlock(mm, a, len);
        break;
    case 7:
        r = mm_set_anon_name(mm, a, len, api_draw(o, 2) ? "fuzz" : NULL);
        break;
    case 8:
        if (api_draw(o, 2)) {
            size_t n = api_draw(o, 2) ? api_draw(o, sizeof(buf)) : api_pick_len(o);
            if (n > sizeof(buf))
                n = sizeof(buf);
            r = api_draw(o, 2) ? mm_write(mm, a, buf, n) : mm_read(mm, a, buf, n);
            API_CHECK(r <= (long)n);
            break;
        }
        if (api_draw(o, 2)) {
            r = mm_fault(mm, a, (unsigned)api_draw(o, 0x200));
            API_CHECK(r == 0 || r == -EFAULT || r == -EACCES || r == -ENOMEM || r == -EIO);
            break;
        }
        /* fall through */
    case 9:
        if (api_draw(o, 64) == 0)
            mm_mlockall(mm, (int)api_draw(o, 9));
        else if (api_draw(o, 64) == 0)
            mm_munlockall(mm);
        else
            mm_brk(mm, api_pick(o));
        break;
    case 10:
        r = api_zap(o, a, len);
        break;
    case 11:
        r = api_show(o);
        break;
    case 12:
        r = api_stats(o);
        break;
    default:
        r = api_layout(o, a);
        break;
    }
    api_check_result(r);
    o->calls++;
    o->ok += r >= 0;
    o->peak = max(o->peak, mm->map_count);
    return r;
}

/* Unmapping everything gives every frame and table back. */
static inline void api_check_unmap_all(struct mm *mm)
{
    API_CHECK_EQ(mm_munmap(mm, 0, mm->cfg.task_size), 0);
    API_CHECK_EQ(mm->map_count, 0);
    API_CHECK_EQ(page_pool_in_use(&mm->pages), 0);
    API_CHECK_EQ(pgtable_bytes(&mm->pgt), 0);
}

#endif /* VMAREA_TESTS_API_OPS_H */

/* SPDX-License-Identifier: MIT */
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
 * API_OPS_ALL adds the fuzzer's extras, among them a driver (struct
 * api_driver) whose mmap and fault hooks draw from the same stream, in the
 * middle of the call that runs them.  The includer calls api_ops_fini at the
 * end when it used them.
 *
 * The includer defines API_CHECK(cond) and API_CHECK_EQ(a, b) first: cmocka's
 * asserts in the unit test, abort() in the fuzzer.  Single-threaded: the
 * checks read counters that are exact only when no call is in progress.
 */
#ifndef VMAREA_TESTS_API_OPS_H
#define VMAREA_TESTS_API_OPS_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#if !defined(API_CHECK) || !defined(API_CHECK_EQ)
#error "define API_CHECK and API_CHECK_EQ before including api_ops.h"
#endif

/* The window most calls land in: 64 pages, so that they meet each other. */
#define API_WINDOW 0x200000000000UL

/* Cases of api_op: test_api_fuzz's mix, or that and the fuzzer's extras. */
#define API_OPS_BASIC 10U   /* mmap munmap mprotect madvise mlock munlock anon_name
                               read/write/fault mlockall/munlockall/brk */
#define API_OPS_ALL   20U   /* + vma_zap_page_range_single, maps/smaps text, stats,
                               many VMAs at once, a driver's mappings (mixed maps) and
                               its page inserts; shared anonymous mappings and a
                               memfd or host file, truncated, sealed and msync'd
                               between calls; mremap in every form; fork, the
                               child kept until the next fork or the end; special
                               mappings ([vdso] and [vvar] alike) */

/* A word for a draw reduced modulo bound (bound 0: a full word wanted). */
typedef unsigned long (*api_next_fn)(void *arg, unsigned long bound);

/* Pages the fuzzer's driver may hold a reference on between calls. */
#define API_DRV_KEEP 8

/*
 * The fuzzer's driver (API_OPS_ALL only): a mappable in the shape of
 * examples/txbuf.c whose hooks take their decisions from the same draws as
 * the calls.  Its file's private data and its VMAs' are the api_ops.
 */
struct api_driver {
    struct vm_file *file;         /* made by the first driver mmap; api_ops_fini puts it */
    long live;                    /* VMAs with our open/close pair: mmap hook successes
                                     + opens - closes; must equal what the tree holds */
    struct vm_page *kept[API_DRV_KEEP];   /* our own references, kept across calls */
    /* What the last mmap hook did, for the call that ran it to check. */
    bool hook_ran;
    int hook_ret;
    vm_flags_t hook_flags;
    const struct vm_operations *hook_ops;
    bool released;                /* the file's release hook ran */
    unsigned long mmaps, inserted, faults;   /* hook successes, pages inserted, fault hook calls */
};

struct api_ops {
    struct mm *mm;
    api_next_fn next;
    void *arg;
    unsigned nr_ops;            /* API_OPS_BASIC or API_OPS_ALL */
    bool thp_window;            /* addresses in 4 MiB, lengths up to 4 MiB, often whole
                                   2 MiB pieces: room for THPs, their splits and collapses
                                   (else 64 pages, lengths up to 16) */
    unsigned long window;       /* where the window is: 0 for API_WINDOW; another (a
                                   five-level mm's beyond 48 bits) adds that task size's
                                   edges to the interesting addresses */
    unsigned long calls, ok;    /* api_op calls, and those that returned >= 0 */
    unsigned long peak;         /* most VMAs seen after a call */
    struct api_driver drv;
    struct vm_file *memfd;      /* API_OPS_ALL: a memfd or host file, made at its first
                                   use; api_memfd_put puts it */
    struct mm *child;           /* API_OPS_ALL: the last mm_fork's, until the next or
                                   api_ops_fini */
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
        /* with another window only: */
        1UL << 48, LA57_TASK_SIZE, LA57_TASK_SIZE + PAGE_SIZE, 1UL << 57,
    };
    unsigned nbases = o->window ? sizeof(bases) / sizeof(bases[0]) : 10;
    switch (api_draw(o, 4)) {
    case 0:
        return api_word(o);
    case 1: {
        unsigned long base = bases[api_draw(o, nbases)];
        return base + api_draw(o, 5) * PAGE_SIZE - 2 * PAGE_SIZE;
    }
    default: {
        unsigned long page = api_draw(o, o->thp_window ? 1024 : 64);
        if (o->thp_window && api_draw(o, 4) == 0)
            page &= ~511UL;   /* a 2 MiB boundary */
        unsigned long off = api_draw(o, 8) == 0 ? api_draw(o, PAGE_SIZE) : 0;
        return (o->window ? o->window : API_WINDOW) + page * PAGE_SIZE + off;
    }
    }
}

static inline unsigned long api_pick_len(struct api_ops *o)
{
    if (!api_draw(o, 3))
        return api_pick(o);
    if (o->thp_window && api_draw(o, 2))
        return api_draw(o, 2) ? (1 + api_draw(o, 2)) * (512 * PAGE_SIZE) : api_draw(o, 1024) * PAGE_SIZE;
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
    pgtable_for_each(&mm->pgt, 0, pgtable_limit(&mm->pgt), api_count_pte, &mapped);
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
    /* Linux's mremap(MREMAP_DONTUNMAP) of locked memory unlocks the old
     * VMA without giving its pages back to locked_vm: it may only be more. */
    API_CHECK(locked <= mm->locked_vm);
    if (mm->pages.limit != ULONG_MAX) {
        unsigned long reserved = atomic_load(&mm->pages.nr_reserved);
        API_CHECK(reserved <= mm->pages.limit);
        API_CHECK(page_pool_in_use(&mm->pages) <= reserved);
    }
}

/* The flags of the VMA at a, 0 if none. */
static inline vm_flags_t api_flags_at(struct mm *mm, unsigned long a)
{
    MMAP_READ_GUARD(g, mm);
    const struct vma_ref *v = vma_lookup(&g, a);
    return v ? vma_flags(v) : 0;
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
    /* The [vsyscall] entry ends the text, as x86-64's gate VMA: no VMA. */
    unsigned long gate = !(mm->cfg.flags & MM_CONFIG_NO_VSYSCALL);
    API_CHECK(!gate || strstr(text, "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0"));
    if (!smaps) {
        API_CHECK_EQ(api_count_lines(text, ""), mm->map_count + gate);
        API_CHECK(size == 0 || text[size - 1] == '\n');
    } else {
        API_CHECK_EQ(api_count_lines(text, "Rss:"), mm->map_count + gate);
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

/* --- the fuzzer's driver: mixed maps */

/* The errno a refusing mmap hook answers with (the mapping fails with it). */
static const int api_drv_errnos[] = { EINVAL, EPERM, ENODEV, ENOMEM, EBUSY, EACCES, EAGAIN, ENXIO };

static void api_drv_open(const struct vma_ref *vma)
{
    struct api_ops *o = vma_private(vma);
    API_CHECK(mmap_lock_is_write_held(vma_mm(vma)));
    o->drv.live++;
}

static void api_drv_close(const struct vma_ref *vma)
{
    struct api_ops *o = vma_private(vma);
    API_CHECK(mmap_lock_is_write_held(vma_mm(vma)));
    o->drv.live--;
    API_CHECK(o->drv.live >= 0);
}

/*
 * A fault in a driver VMA with no page at addr (do_file_fault): refuse
 * (SIGBUS), promise a page without inserting one (the library must answer
 * SIGBUS too), or insert a fresh one, as a driver that fills its mapping
 * lazily.  Runs under the mmap lock or the VMA's read lock, so it may insert
 * but not call into the mm.  Only the fault results mm_fault documents.
 */
static int api_drv_fault(const struct vma_ref *vma, unsigned long addr, unsigned flags)
{
    (void)flags;
    struct api_ops *o = vma_private(vma);
    API_CHECK(addr >= vma_start(vma) && addr < vma_end(vma));
    o->drv.faults++;
    switch (api_draw(o, 4)) {
    case 0:
        return -EIO;
    case 1:
        return 0;
    default: {
        const struct vma_mixedmap *mix = vma_as_mixedmap(vma);
        if (!mix)
            return 1;   /* a positive answer is SIGBUS as well */
        struct vm_page *page = vm_page_alloc(vma_mm(vma));
        if (!page)
            return -ENOMEM;
        int r = vma_insert_page(mix, addr, page);
        API_CHECK(r == 0 || r == -ENOMEM);
        o->drv.inserted += r == 0;
        vm_page_put(page);
        return r;
    }
    }
}

static const char *api_drv_name(const struct vma_ref *vma)
{
    (void)vma;
    return "[api_drv]";
}

/* With and without the open/close pair (one without close may be merged
 * away), with and without a fault handler. */
static const struct vm_operations api_drv_ops[3] = {
    { .open = api_drv_open, .close = api_drv_close },
    { .open = api_drv_open, .close = api_drv_close, .fault = api_drv_fault, .name = api_drv_name },
    { .fault = api_drv_fault },
};

static inline bool api_drv_counted(const struct vm_operations *ops)
{
    return ops == &api_drv_ops[0] || ops == &api_drv_ops[1];
}

static inline bool api_drv_ours(const struct vm_operations *ops)
{
    return api_drv_counted(ops) || ops == &api_drv_ops[2];
}

/* A try_clear answer: -EINVAL exactly when the access bit is set. */
static inline void api_drv_cleared(vm_flags_t *want, vm_flags_t access, vm_flags_t may, int r)
{
    API_CHECK_EQ(r, (*want & access) ? -EINVAL : 0);
    if (r == 0)
        *want &= ~may;
}

/*
 * The mmap hook: a random subset of the setters and try_clears, each
 * checked, then sometimes a refusal, usually VM_MIXEDMAP, and one of the
 * ops or none.  Runs with the mmap write lock held: draws and the vma_new
 * calls only, never the mm.
 */
static int api_drv_mmap(struct vm_file *f, struct vma_new *vn)
{
    struct api_ops *o = vm_file_private(f);
    struct api_driver *d = &o->drv;
    const struct vma_ref *ref = vma_new_ref(vn);
    API_CHECK(mmap_lock_is_write_held(o->mm));
    API_CHECK(vma_mm(ref) == o->mm && vma_file(ref) == f && vma_ops(ref) == NULL);
    vm_flags_t want = vma_flags(ref);
    API_CHECK(!(want & VM_SPECIAL));
    API_CHECK((want & (VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC)) ==
              (VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC));
    API_CHECK(vma_as_mixedmap(ref) == NULL);
    unsigned what = (unsigned)api_draw(o, 256);
    if (what & 1)
        api_drv_cleared(&want, VM_READ, VM_MAYREAD, vma_new_try_clear_mayread(vn));
    if (what & 2)
        api_drv_cleared(&want, VM_WRITE, VM_MAYWRITE, vma_new_try_clear_maywrite(vn));
    if (what & 4)
        api_drv_cleared(&want, VM_EXEC, VM_MAYEXEC, vma_new_try_clear_mayexec(vn));
    if (what & 8) {
        vma_new_set_io(vn);
        want |= VM_IO;
    }
    if (what & 16) {
        vma_new_set_dontexpand(vn);
        want |= VM_DONTEXPAND;
    }
    if (what & 32) {
        vma_new_set_dontcopy(vn);
        want |= VM_DONTCOPY;
    }
    if (what & 64) {
        vma_new_set_dontdump(vn);
        want |= VM_DONTDUMP;
    }
    /* A refusal after some setters: the half-made VMA must go without a
     * close call (Linux calls none when ->mmap fails). */
    int ret = 0;
    if (what & 128)
        ret = -api_drv_errnos[api_draw(o, sizeof(api_drv_errnos) / sizeof(api_drv_errnos[0]))];
    if (!ret && api_draw(o, 8) < 6) {
        const struct vma_mixedmap *mix = vma_new_set_mixedmap(vn);
        API_CHECK(mix != NULL && vma_as_mixedmap(ref) != NULL);
        want |= VM_MIXEDMAP;
    }
    const struct vm_operations *ops = NULL;
    if (!ret) {
        unsigned k = (unsigned)api_draw(o, 4);
        if (k < 3) {
            ops = &api_drv_ops[k];
            vma_new_set_ops(vn, ops, o);
            API_CHECK(vma_ops(ref) == ops && vma_private(ref) == o);
        }
    }
    API_CHECK_EQ(vma_flags(ref), want);
    d->hook_ran = true;
    d->hook_ret = ret;
    d->hook_flags = want;
    d->hook_ops = ops;
    if (!ret) {
        d->mmaps++;
        d->live += api_drv_counted(ops);
    }
    return ret;
}

/* Only when nothing maps the file any more. */
static void api_drv_release(struct vm_file *f)
{
    struct api_ops *o = vm_file_private(f);
    API_CHECK_EQ(o->drv.live, 0);
    o->drv.released = true;
}

static const struct vm_file_operations api_drv_fops = {
    .mmap = api_drv_mmap,
    .release = api_drv_release,
};

static inline struct vm_file *api_drv_file(struct api_ops *o)
{
    if (!o->drv.file) {
        o->drv.file = vm_file_create(&api_drv_fops, o, "/dev/api_drv");
        API_CHECK(o->drv.file != NULL);
        API_CHECK(vm_file_private(o->drv.file) == o);
        API_CHECK(!strcmp(vm_file_name(o->drv.file), "/dev/api_drv"));
    }
    return o->drv.file;
}

/* The VMAs of one mm with our open/close pair. */
static inline long api_drv_vmas(struct api_ops *o, struct mm *mm)
{
    MMAP_READ_GUARD(g, mm);
    long n = 0;
    for (const struct vma_ref *v = vma_find(&g, 0); v; v = vma_next(&g, v)) {
        API_CHECK(vma_as_mixedmap(v) == NULL || (vma_flags(v) & VM_MIXEDMAP));
        API_CHECK(vma_as_mixedmap(v) != NULL || !(vma_flags(v) & VM_MIXEDMAP));
        if (api_drv_ours(vma_ops(v)))
            API_CHECK(vma_file(v) == o->drv.file && vma_private(v) == o);
        n += api_drv_counted(vma_ops(v));
    }
    return n;
}

/* The VMAs with our open/close pair, in the mm and in the last fork's
 * child, are the ones the hooks counted. */
static inline void api_check_drv(struct api_ops *o)
{
    long n = api_drv_vmas(o, o->mm);
    if (o->child)
        n += api_drv_vmas(o, o->child);
    API_CHECK_EQ(n, o->drv.live);
}

/* Pages the driver holds. */
static inline unsigned long api_drv_nr_kept(const struct api_ops *o)
{
    unsigned long n = 0;
    for (unsigned i = 0; i < API_DRV_KEEP; i++)
        n += o->drv.kept[i] != NULL;
    return n;
}

/* The driver lets go of the pages it kept (a shrinker's vm_page_put). */
static inline void api_drv_drop_pages(struct api_ops *o)
{
    for (unsigned i = 0; i < API_DRV_KEEP; i++) {
        if (o->drv.kept[i])
            vm_page_put(o->drv.kept[i]);
        o->drv.kept[i] = NULL;
    }
}

/* The end of a run: the driver's pages, then its file (whose release hook
 * runs here if no VMA maps it any more). */
/* A host file of size bytes, written (cached), unlinked, and open as asked
 * (O_RDWR or O_RDONLY), in dir: the fuzzer's other kind of object. */
static inline struct vm_file *api_host_file(const char *dir, unsigned long size, int mode)
{
    char path[256];
    static unsigned long seq;
    snprintf(path, sizeof(path), "%s/vmarea-fuzz-%d-%lu", dir, (int)getpid(), seq++);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return NULL;
    static const char page[4096];
    for (unsigned long off = 0; off < size; off += 4096)
        if (write(fd, page, 4096) != 4096)
            break;
    int ofd = mode == O_RDWR ? fd : open(path, mode);
    unlink(path);
    struct vm_file *f = ofd >= 0 ? vm_file_open(ofd) : NULL;
    if (ofd != fd && ofd >= 0)
        close(ofd);
    close(fd);
    return f;
}

/* The fuzzer's object: a memfd, or a host file on the disk's file system
 * (the current directory) or on tmpfs, read-write or read-only; mapped
 * shared or private, at any offset, truncated, sealed and msync'd between
 * calls. */
static inline long api_memfd(struct api_ops *o, unsigned long a, unsigned long len, int prot, int flags)
{
    if (!o->memfd) {
        unsigned long size = (api_draw(o, 64) + 1) * 4096;
        unsigned kind = (unsigned)api_draw(o, 4);
        if (kind == 0)
            o->memfd = api_host_file(".", size, api_draw(o, 4) ? O_RDWR : O_RDONLY);
        else if (kind == 1)
            o->memfd = api_host_file("/dev/shm", size, api_draw(o, 4) ? O_RDWR : O_RDONLY);
        else
            o->memfd = vm_file_memfd("fuzz", size);
        API_CHECK(o->memfd != NULL);
    }
    long r;
    switch (api_draw(o, 5)) {
    case 0:
        r = vm_file_truncate(o->memfd, api_draw(o, 2) ? api_draw(o, 65) * 4096 : api_draw(o, 65 * 4096));
        API_CHECK(r == 0 || r == -EPERM || r == -EINVAL);
        return r;
    case 1:
        r = vm_file_add_seals(o->memfd, api_draw(o, 8) ? 1 << api_draw(o, 7) : (int)api_word(o));
        API_CHECK(r == 0 || r == -EPERM || r == -EBUSY || r == -EINVAL);
        return r;
    case 2: {
        static const int msync_flags[] = { MS_SYNC, MS_ASYNC, MS_INVALIDATE, MS_SYNC | MS_INVALIDATE, 0, 8 };
        r = mm_msync(o->mm, a, len, msync_flags[api_draw(o, 6)]);
        API_CHECK(r == 0 || r == -ENOMEM || r == -EINVAL || r == -EBUSY);
        return r;
    }
    default: {
        unsigned long offset = api_draw(o, 4) ? api_draw(o, 64) * 4096 : api_pick(o);
        r = mm_mmap(o->mm, a, len, prot, flags & ~MAP_ANONYMOUS, o->memfd, offset);
        if (r >= 0)
            api_check_mapped(o->mm, (unsigned long)r, len);
        return r;
    }
    }
}

/* Drop our reference to the memfd: its pages go with its last mapping. */
static inline void api_memfd_put(struct api_ops *o)
{
    if (o->memfd)
        vm_file_put(o->memfd);
    o->memfd = NULL;
}

/* The last fork's child goes (it may be the last to map pages of the
 * parent's pool, which must then go back to it). */
static inline void api_child_put(struct api_ops *o)
{
    if (o->child) {
        api_check_mm(o->child);
        mmput(o->child);
        o->child = NULL;
    }
}

static inline void api_ops_fini(struct api_ops *o)
{
    api_child_put(o);
    api_memfd_put(o);
    api_drv_drop_pages(o);
    if (o->drv.file) {
        bool mapped = o->drv.live > 0;
        vm_file_put(o->drv.file);
        o->drv.file = NULL;
        API_CHECK(mapped || o->drv.released);
    }
}

/*
 * mmap of the driver file: shared or private (keeping the other flags the
 * call drew, or, a quarter of the time, the flags as drawn: anonymous or
 * nonsense), at a page offset or any word.  Checked as the anonymous mmap,
 * and against what the hook did: its refusal is the call's answer, its
 * flags and ops are the VMA's.
 */
static inline long api_drv_mmap_call(struct api_ops *o, unsigned long a, unsigned long len,
                                     int prot, int flags)
{
    struct mm *mm = o->mm;
    struct api_driver *d = &o->drv;
    struct vm_file *f = api_drv_file(o);
    unsigned type = (unsigned)api_draw(o, 4);
    if (type < 3)
        flags = (flags & ~(MAP_TYPE | MAP_ANONYMOUS)) | (type < 2 ? MAP_SHARED : MAP_PRIVATE);
    unsigned long offset = api_draw(o, 8) ? api_draw(o, 64) * PAGE_SIZE : api_pick(o);
    d->hook_ran = false;
    long r = mm_mmap(mm, a, len, prot, flags, f, offset);
    if (d->hook_ran && d->hook_ret)
        API_CHECK_EQ(r, d->hook_ret);
    if (d->hook_ran && !d->hook_ret)
        API_CHECK(r >= 0 || r == -ENOMEM);
    if (r >= 0) {
        API_CHECK(offset_in_page(r) == 0 && (unsigned long)r < mm->cfg.task_size &&
                  (unsigned long)r >= mm->cfg.mmap_min_addr);
        api_check_mapped(mm, (unsigned long)r, len);
        MMAP_READ_GUARD(g, mm);
        const struct vma_ref *v = vma_lookup(&g, (unsigned long)r);
        if (d->hook_ran) {
            const vm_flags_t mask = VM_READ | VM_WRITE | VM_EXEC | VM_SHARED | VM_MAYREAD |
                                    VM_MAYWRITE | VM_MAYEXEC | VM_MAYSHARE | VM_IO |
                                    VM_DONTEXPAND | VM_DONTCOPY | VM_DONTDUMP | VM_MIXEDMAP;
            API_CHECK_EQ(vma_flags(v) & mask, d->hook_flags & mask);
            API_CHECK(vma_file(v) == f && vma_ops(v) == d->hook_ops);
            API_CHECK((vma_as_mixedmap(v) != NULL) == !!(d->hook_flags & VM_MIXEDMAP));
        } else if (!(flags & MAP_ANONYMOUS)) {
            API_CHECK(vma_file(v) == f);   /* merged into a mapping of ours */
        }
    }
    return r;
}

/* Is anything (a page, a guard marker) at addr?  Locks: the mmap lock or
 * a VMA read lock. */
static inline bool api_pte_present(struct mm *mm, unsigned long addr, bool *table)
{
    pte_t _Atomic *p = pgtable_walk(&mm->pgt, addr);
    *table = p != NULL;
    return p && !pte_none(ptep_get(p));
}

static inline unsigned long api_rss_file(struct mm *mm)
{
    return mm_rss(mm, MM_FILEPAGES) + mm_rss(mm, MM_SHMEMPAGES);
}

/*
 * The driver's side of a transaction: find the VMA at a (per-VMA lock
 * first, sometimes, as txbuf does; else the mmap read lock), insert up to
 * four pages from where it says (fresh ones, or pages the driver kept,
 * which may be mapped elsewhere already), each answer checked against the
 * page tables and the VMA's bounds, a pattern written through the driver's
 * view, and read back through the process's where its protection allows.
 * Or, an eighth of the time, the shrinker: let go of a kept page.
 */
static inline long api_insert(struct api_ops *o, unsigned long a)
{
    static unsigned char buf[PAGE_SIZE];
    static const unsigned char zeros[PAGE_SIZE];
    struct mm *mm = o->mm;
    struct api_driver *d = &o->drv;
    if (api_draw(o, 8) == 7) {
        unsigned i = (unsigned)api_draw(o, API_DRV_KEEP);
        if (d->kept[i])
            vm_page_put(d->kept[i]);
        d->kept[i] = NULL;
        return 0;
    }
    bool rcu = api_draw(o, 4) == 0;
    unsigned long at = api_draw(o, 4) ? a : api_pick(o);
    unsigned long n = api_draw(o, 4) + 1;
    unsigned char pattern = (unsigned char)api_draw(o, 256);

    const struct vma_ref *v = rcu ? lock_vma_under_rcu(mm, a) : NULL;
    struct mmap_read_guard g = { 0 };
    if (!v) {
        g = mmap_read_lock(mm);
        v = vma_lookup(&g, a);
    }
    long r = -EFAULT;
    struct vm_page *pages[4] = { 0 };
    unsigned long addrs[4];
    vm_flags_t fl = 0;
    if (v) {
        fl = vma_flags(v);
        const struct vma_mixedmap *mix = vma_as_mixedmap(v);
        API_CHECK((mix != NULL) == !!(fl & VM_MIXEDMAP));
        r = mix ? 0 : -EINVAL;
        for (unsigned long i = 0; mix && i < n; i++) {
            unsigned long addr = at + i * PAGE_SIZE;
            unsigned slot = (unsigned)api_draw(o, 2 * API_DRV_KEEP);
            struct vm_page *page;
            if (slot < API_DRV_KEEP && d->kept[slot]) {
                page = d->kept[slot];
                vm_page_get(page);
            } else {
                page = vm_page_alloc(mm);
                if (!page) {   /* the memory limit */
                    r = -ENOMEM;
                    break;
                }
                API_CHECK(!memcmp(vm_page_address(page), zeros, PAGE_SIZE));
                if (slot < API_DRV_KEEP) {
                    vm_page_get(page);
                    d->kept[slot] = page;
                }
            }
            bool table;
            bool busy = api_pte_present(mm, addr, &table);
            unsigned long rss = api_rss_file(mm);
            int e = vma_insert_page(mix, addr, page);
            if (addr < vma_start(v) || addr >= vma_end(v))
                API_CHECK_EQ(e, -EFAULT);
            else if (busy)
                API_CHECK_EQ(e, -EBUSY);
            else
                API_CHECK(e == 0 || (e == -ENOMEM && !table));
            API_CHECK_EQ(api_rss_file(mm), rss + (e == 0));
            if (e) {
                vm_page_put(page);
                r = e;
                continue;
            }
            d->inserted++;
            unsigned char *p = vm_page_address(page);
            for (unsigned long j = 0; j < PAGE_SIZE; j++)
                p[j] = (unsigned char)(pattern + j * 7 + i);
            pages[i] = page;
            addrs[i] = addr & PAGE_MASK;
        }
    }
    if (g.mm)
        mmap_read_unlock(&g);
    else
        vma_end_read(v);
    /* Unlocked: mm_read takes the locks it needs.  The page is compared
     * with what it holds now (a kept page inserted twice holds the last
     * pattern). */
    for (unsigned i = 0; i < 4; i++) {
        if (!pages[i])
            continue;
        ssize_t got = mm_read(mm, addrs[i], buf, PAGE_SIZE);
        if (fl & VM_READ)
            API_CHECK_EQ(got, PAGE_SIZE);
        if (got == (ssize_t)PAGE_SIZE)
            API_CHECK(!memcmp(buf, vm_page_address(pages[i]), PAGE_SIZE));
        vm_page_put(pages[i]);   /* the entry's reference keeps it mapped */
    }
    return r;
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
    case 13:
        r = api_layout(o, a);
        break;
    case 14:
        r = api_drv_mmap_call(o, a, len, prot, flags);
        break;
    case 15:
        r = api_memfd(o, a, len, prot, flags);
        break;
    case 17: {
        /* fork: the last child goes (after the parent changed under it);
         * the new one holds the parent's layout, and its pages are the
         * parent's until one side writes. */
        api_child_put(o);
        o->child = mm_fork(mm);
        API_CHECK(o->child != NULL || errno == ENOMEM);
        if (!o->child)
            return -ENOMEM;
        api_check_mm(o->child);
        API_CHECK(o->child->map_count <= mm->map_count);
        char b[2] = { 0, 0 };
        ssize_t pr = mm_read(mm, a, &b[0], 1), cr = mm_read(o->child, a, &b[1], 1);
        API_CHECK(pr != 1 || cr != 1 || b[0] == b[1]);   /* the same byte, where both read one */
        /* A store in the child to private memory stays the child's. */
        b[1] = (char)~b[0];
        if (pr == 1 && !(api_flags_at(mm, a) & VM_MAYSHARE) && mm_write(o->child, a, &b[1], 1) == 1) {
            char back = 0;
            API_CHECK(mm_read(mm, a, &back, 1) == 1 && back == b[0]);
        }
        r = 0;
        break;
    }
    case 16: {
        /* mremap: lengths and flags mostly sane, the target in the window. */
        unsigned long new_len = api_draw(o, 4) ? api_pick_len(o) : len;
        int mflags = api_draw(o, 8) ? (int)api_draw(o, 8) : (int)api_word(o);
        r = mm_mremap(mm, a, api_draw(o, 8) ? len : 0, new_len, mflags, api_pick(o));
        if (r >= 0) {
            /* Only its first page is sure to be mapped: a move of several
             * VMAs keeps their holes. */
            API_CHECK(offset_in_page(r) == 0 && (unsigned long)r < mm->cfg.task_size);
            api_check_mapped(mm, (unsigned long)r, 1);
        }
        break;
    }
    case 18: {
        /* A special mapping: [vdso]'s or [vvar]'s flags, or any; a page of
         * the mm's or none; at a window address, or placed (0). */
        struct vm_page *pg[16] = { api_draw(o, 2) ? vm_page_alloc(mm) : NULL };
        vm_flags_t fl = api_draw(o, 2) ? VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC
                        : api_draw(o, 2) ? VM_READ | VM_MAYREAD | VM_IO | VM_DONTDUMP | VM_PFNMAP
                                         : api_word(o);
        unsigned long at = api_draw(o, 8) ? a : 0, sl = api_draw(o, 4) ? 2 * PAGE_SIZE : len;
        /* The array must cover the length: pages for a short one only. */
        r = mm_install_special_mapping(mm, at, sl, fl, "[fuzz]", sl <= sizeof(pg) / sizeof(pg[0]) * PAGE_SIZE ? pg : NULL);
        if (pg[0])
            vm_page_put(pg[0]);
        if (r >= 0) {
            API_CHECK(offset_in_page(r) == 0 && (unsigned long)r < mm->cfg.task_size && (!at || r == (long)at));
            api_check_mapped(mm, (unsigned long)r, 1);
        }
        break;
    }
    default:
        r = api_insert(o, a);
        break;
    }
    api_check_result(r);
    if (o->nr_ops == API_OPS_ALL)
        api_check_drv(o);
    o->calls++;
    o->ok += r >= 0;
    o->peak = max(o->peak, mm->map_count);
    return r;
}

/* Unmapping everything gives every frame and table back, but for the
 * pages a driver still holds (kept). */
static inline void api_check_unmap_all_but(struct mm *mm, unsigned long kept)
{
    API_CHECK_EQ(mm_munmap(mm, 0, mm->cfg.task_size), 0);
    API_CHECK_EQ(mm->map_count, 0);
    API_CHECK_EQ(page_pool_in_use(&mm->pages), kept);
    API_CHECK_EQ(pgtable_bytes(&mm->pgt), 0);
}

static inline void api_check_unmap_all(struct mm *mm)
{
    api_check_unmap_all_but(mm, 0);
}

#endif /* VMAREA_TESTS_API_OPS_H */

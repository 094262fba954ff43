/* SPDX-License-Identifier: MIT */
/*
 * task_mmu.c — /proc/PID/maps and /proc/PID/smaps text, and mm_get_stats.
 *
 * The output is byte for byte what Linux (fs/proc/task_mmu.c, x86-64, 6.18)
 * prints for the same VMAs; the host kernel is the oracle and
 * tests/unit/test_task_mmu.c compares against it.  Facts this file relies on,
 * each checked on the host (6.18, THP "madvise", pkeys on, no soft-dirty):
 *
 *  - The header is "start-end perms pgoff MAJ:MIN inode " with start, end and
 *    pgoff in lowercase hex, at least 8 digits, MAJ and MIN at least 2.  The
 *    trailing space is always there.  When the VMA has a name, spaces pad the
 *    line to 72 characters (seq_setwidth(25 + 6 * sizeof(void *) - 1)), one
 *    more space follows even on a longer line (seq_pad appends its pad
 *    character), and the name starts at column 74 or later.  Without a name
 *    the line ends in "0 \n".
 *  - pgoff, device and inode are those of the file; a VMA without a file
 *    shows 00000000 00:00 0 even though its vm_pgoff is start >> 12.
 *  - A file's path escapes '\n' as "\012" (seq_path with "\n"); other names
 *    are printed as they are.
 *  - smaps counters are "Label:" padded to 16 columns, the value in kB right
 *    aligned in 8 ("Private_Hugetlb:" takes 17 and 7), then " kB".
 */
#include "task_mmu.h"

#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/sysmacros.h>

/*
 * Bit numbers of the flags above bit 31 that Linux x86-64 (6.18,
 * include/linux/mm.h) names in smaps.  Written as numbers rather than through
 * vmarea.h's VM_ constants so that this table follows Linux alone.
 */
enum {
    BIT_PKEY0 = 32, BIT_PKEY1, BIT_PKEY2, BIT_PKEY3,   /* VM_HIGH_ARCH_0..3: 4 key bits */
    BIT_SHADOW_STACK = 37,                              /* VM_HIGH_ARCH_5 */
    BIT_DROPPABLE = 40,
    BIT_UFFD_MINOR = 41,                                /* since 6.15 (38 before) */
    BIT_SEALED = 42,
};

#define VMA_HEADER_WIDTH (25 + 6 * (int)sizeof(void *) - 1)

/* --------------------------------------------------------------- VmFlags */

#define BITNO(flag) (__builtin_ctzl(flag))

/*
 * show_smap_vma_flags' table.  NULL: a bit Linux has no code for, printed
 * "??" if ever set.  "": a bit never printed (protection keys, which have
 * their own line).  Bit 11 (once VM_DENYWRITE) and the other unnamed bits
 * stay "??", as in the host kernel.
 */
static const char *const vm_flag_codes[64] = {
    [BITNO(VM_READ)]        = "rd",
    [BITNO(VM_WRITE)]       = "wr",
    [BITNO(VM_EXEC)]        = "ex",
    [BITNO(VM_SHARED)]      = "sh",
    [BITNO(VM_MAYREAD)]     = "mr",
    [BITNO(VM_MAYWRITE)]    = "mw",
    [BITNO(VM_MAYEXEC)]     = "me",
    [BITNO(VM_MAYSHARE)]    = "ms",
    [BITNO(VM_GROWSDOWN)]   = "gd",
    [BITNO(VM_UFFD_MISSING)] = "um",
    [BITNO(VM_PFNMAP)]      = "pf",
    [BITNO(VM_MAYBE_GUARD)] = "gu",
    [BITNO(VM_UFFD_WP)]     = "uw",
    [BITNO(VM_LOCKED)]      = "lo",
    [BITNO(VM_IO)]          = "io",
    [BITNO(VM_SEQ_READ)]    = "sr",
    [BITNO(VM_RAND_READ)]   = "rr",
    [BITNO(VM_DONTCOPY)]    = "dc",
    [BITNO(VM_DONTEXPAND)]  = "de",
    [BITNO(VM_LOCKONFAULT)] = "lf",
    [BITNO(VM_ACCOUNT)]     = "ac",
    [BITNO(VM_NORESERVE)]   = "nr",
    [BITNO(VM_HUGETLB)]     = "ht",
    [BITNO(VM_SYNC)]        = "sf",
    [BITNO(VM_ARCH_1)]      = "ar",
    [BITNO(VM_WIPEONFORK)]  = "wf",
    [BITNO(VM_DONTDUMP)]    = "dd",
    [BITNO(VM_SOFTDIRTY)]   = "sd",
    [BITNO(VM_MIXEDMAP)]    = "mm",
    [BITNO(VM_HUGEPAGE)]    = "hg",
    [BITNO(VM_NOHUGEPAGE)]  = "nh",
    [BITNO(VM_MERGEABLE)]   = "mg",
    [BIT_PKEY0]             = "",
    [BIT_PKEY1]             = "",
    [BIT_PKEY2]             = "",
    [BIT_PKEY3]             = "",
    [BIT_SHADOW_STACK]      = "ss",
    [BIT_DROPPABLE]         = "dp",
    [BIT_UFFD_MINOR]        = "ui",
    [BIT_SEALED]            = "sl",
};

size_t vma_flags_text(vm_flags_t flags, bool soft_dirty, char *buf, size_t size)
{
    size_t len = 0;

    for (unsigned int bit = 0; bit < 64; bit++) {
        const char *code = vm_flag_codes[bit];

        if (!(flags & (1UL << bit)))
            continue;
        /* A kernel without soft-dirty tracking never shows "sd" (without
         * CONFIG_MEM_SOFT_DIRTY the flag is 0; newer kernels also blank the
         * code when the CPU lacks the PTE bit). */
        if (bit == BITNO(VM_SOFTDIRTY) && !soft_dirty)
            continue;
        if (!code)
            code = "??";
        if (!code[0])
            continue;
        for (const char *c = code; ; c++) {
            char ch = *c ? *c : ' ';

            if (len + 1 < size)
                buf[len] = ch;
            len++;
            if (!*c)
                break;
        }
    }
    if (size)
        buf[len < size ? len : size - 1] = '\0';
    return len;
}

/* ------------------------------------------------------------------ names */

/*
 * Shared anonymous memory.  Linux backs it with a shmem file named
 * "/dev/zero (deleted)" on the internal shm mount (device 00:01), so maps
 * shows it as a file.  If vmarea gives such a VMA a vm_file, the file's own
 * name, device and inode are shown; this covers the case where it does not.
 */
static bool vma_is_shared_anon(const struct vma *vma)
{
    return !vma->vm_file && !vma->vm_ops && (vma->vm_flags & VM_MAYSHARE);
}

#define SHARED_ANON_NAME "/dev/zero (deleted)"
#define SHARED_ANON_DEV  makedev(0, 1)

/* Linux's vma_is_initial_heap(): strict comparisons since 6.11, so a VMA
 * that only touches [start_brk, brk), or any VMA while brk == start_brk, is
 * not the heap (verified on the host). */
static bool vma_is_initial_heap(const struct vma *vma)
{
    const struct mm_layout *l = &vma->vm_mm->layout;

    return vma->vm_start < l->brk && vma->vm_end > l->start_brk;
}

/* Linux's vma_is_initial_stack(): inclusive at both ends. */
static bool vma_is_initial_stack(const struct vma *vma)
{
    const struct mm_layout *l = &vma->vm_mm->layout;

    return vma->vm_start <= l->start_stack && vma->vm_end >= l->start_stack;
}

/*
 * The name of a VMA that has no file, other than "[anon:NAME]": what its
 * vm_ops->name hook says (e.g. "[vdso]"), else "[heap]" or "[stack]" by the
 * mm's layout, else NULL.  The string lives as long as the VMA (a hook's
 * answer is the driver's) or forever.  A VMA with a file has no special name.
 * Locks: the mmap lock of vma->vm_mm, or the VMA's read lock.
 */
const char *vma_special_name(const struct vma *vma)
{
    if (vma->vm_file || vma_is_shared_anon(vma))
        return NULL;
    if (vma->vm_ops && vma->vm_ops->name) {
        const char *name = vma->vm_ops->name(to_ref(vma));

        if (name)
            return name;
    }
    if (!vma->vm_mm)
        return NULL;
    if (vma_is_initial_heap(vma))
        return "[heap]";
    if (vma_is_initial_stack(vma))
        return "[stack]";
    return NULL;
}

enum vma_name_kind {
    VMA_NAME_NONE,
    VMA_NAME_PATH,          /* a file path: '\n' escaped */
    VMA_NAME_PLAIN,         /* printed as it is */
    VMA_NAME_ANON,          /* "[anon:%s]" */
    VMA_NAME_ANON_SHMEM,    /* "[anon_shmem:%s]" */
};

struct vma_name {
    enum vma_name_kind kind;
    const char *str;
};

/* Linux's get_vma_name(), in its order: the file (or the name given to
 * shared anonymous memory), the ops hook, heap, stack, then the anon name. */
static struct vma_name vma_get_name(const struct vma *vma, char *buf, size_t n)
{
    const struct anon_name *an = vma->anon_name;
    const char *special;

    if (vma->vm_file || vma_is_shared_anon(vma)) {
        if (an)
            return (struct vma_name){ VMA_NAME_ANON_SHMEM, an->name };
        if (!vma->vm_file)
            return (struct vma_name){ VMA_NAME_PATH, SHARED_ANON_NAME };
        /* A host file shows its path as the host's /proc does now; a
         * mappable made by vm_file_create the name its creator gave, as
         * Linux shows a device's path or "anon_inode:[...]". */
        return (struct vma_name){ VMA_NAME_PATH, vm_file_path(vma->vm_file, buf, n) };
    }
    special = vma_special_name(vma);
    if (special)
        return (struct vma_name){ VMA_NAME_PLAIN, special };
    if (an)
        return (struct vma_name){ VMA_NAME_ANON, an->name };
    return (struct vma_name){ VMA_NAME_NONE, NULL };
}

static void put_path(const char *path, FILE *out)
{
    for (const char *p = path; *p; ) {
        size_t run = strcspn(p, "\n");

        fwrite(p, 1, run, out);
        p += run;
        if (*p == '\n') {
            fputs("\\012", out);
            p++;
        }
    }
}

/* ------------------------------------------------------------------ maps */

/*
 * Entries are built in a buffer and written with one fwrite (a fprintf per
 * field made smaps three times slower).  Numbers come out as Linux's
 * seq_put_decimal_ull_width() and seq_put_hex_ll() print them: right aligned
 * (decimal, space padded) or zero padded (hex) to a minimum width, wider when
 * the value needs it.
 */
struct vma_text {
    char buf[2048];   /* a header (< 100 bytes), or an smaps body: 25 lines
                         of at most 45 bytes, and VmFlags */
    size_t len;
};

static inline void text_put(struct vma_text *t, const char *s, size_t n)
{
    VM_BUG_ON(t->len + n > sizeof(t->buf));
    memcpy(t->buf + t->len, s, n);
    t->len += n;
}

static inline void text_num(struct vma_text *t, const char *label, unsigned long value, int width,
                     const char *unit)
{
    char digits[24];
    int nd = 0;

    do {
        digits[sizeof(digits) - 1 - nd++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    text_put(t, label, strlen(label));
    if (width > nd) {
        VM_BUG_ON(t->len + (size_t)(width - nd) > sizeof(t->buf));
        memset(t->buf + t->len, ' ', (size_t)(width - nd));
        t->len += (size_t)(width - nd);
    }
    text_put(t, digits + sizeof(digits) - nd, (size_t)nd);
    text_put(t, unit, strlen(unit));
}

static void text_hex(struct vma_text *t, unsigned long long value, int width)
{
    char digits[24];
    int nd = 0;

    do {
        digits[sizeof(digits) - 1 - nd++] = "0123456789abcdef"[value & 0xf];
        value >>= 4;
    } while (value);
    for (; width > nd; width--)
        text_put(t, "0", 1);
    text_put(t, digits + sizeof(digits) - nd, (size_t)nd);
}


void vma_show_map(const struct vma *vma, FILE *out)
{
    vm_flags_t flags = vma->vm_flags;
    unsigned long long pgoff = 0;
    unsigned long ino = 0;
    dev_t dev = 0;
    struct vma_name name;
    char path[PATH_MAX];
    struct vma_text t;
    char perms[6];

    if (vma->vm_file) {
        dev = (dev_t)vma->vm_file->dev;
        ino = vma->vm_file->ino;
        pgoff = (unsigned long long)vma->vm_pgoff << PAGE_SHIFT;
    } else if (vma_is_shared_anon(vma)) {
        dev = SHARED_ANON_DEV;
        pgoff = (unsigned long long)vma->vm_pgoff << PAGE_SHIFT;
    }

    t.len = 0;
    text_hex(&t, vma->vm_start, 8);
    text_put(&t, "-", 1);
    text_hex(&t, vma->vm_end, 8);
    perms[0] = ' ';
    perms[1] = flags & VM_READ ? 'r' : '-';
    perms[2] = flags & VM_WRITE ? 'w' : '-';
    perms[3] = flags & VM_EXEC ? 'x' : '-';
    perms[4] = flags & VM_MAYSHARE ? 's' : 'p';
    perms[5] = ' ';
    text_put(&t, perms, sizeof(perms));
    text_hex(&t, pgoff, 8);
    text_put(&t, " ", 1);
    text_hex(&t, major(dev), 2);
    text_put(&t, ":", 1);
    text_hex(&t, minor(dev), 2);
    text_num(&t, " ", ino, 0, " ");

    /* seq_pad(m, ' '): spaces up to the width, then one more, always. */
    name = vma_get_name(vma, path, sizeof(path));
    if (name.kind != VMA_NAME_NONE) {
        while (t.len < VMA_HEADER_WIDTH)
            text_put(&t, " ", 1);
        text_put(&t, " ", 1);
    }
    fwrite(t.buf, 1, t.len, out);
    switch (name.kind) {
    case VMA_NAME_NONE:
        break;
    case VMA_NAME_PATH:
        put_path(name.str, out);
        break;
    case VMA_NAME_PLAIN:
        fputs(name.str, out);
        break;
    case VMA_NAME_ANON:
        fprintf(out, "[anon:%s]", name.str);
        break;
    case VMA_NAME_ANON_SHMEM:
        fprintf(out, "[anon_shmem:%s]", name.str);
        break;
    }
    putc('\n', out);
}

/* ----------------------------------------------------------------- smaps */

/*
 * Memory counters.  Page tables arrive in a later step; until then a VMA has
 * no resident pages and every counter is zero.  This is the one place that
 * will walk the VMA's page tables (as Linux's smap_gather_stats).
 */
struct smaps_walk {
    struct smaps_mem *mem;
    const struct vma *vma;
    bool locked;
    pte_t huge_bits;      /* a PMD-mapped THP: DIRTY and ACCESSED of all its entries */
};

/* smaps_pte_entry + smaps_account for one 4 KiB entry. */
static int or_bits(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    (void)addr;
    (void)ptep;
    *(pte_t *)arg |= pte;
    return 0;
}

static int smaps_pte(void *arg, unsigned long addr, pte_t _Atomic *ptep, pte_t pte)
{
    struct smaps_walk *w = arg;
    struct smaps_mem *m = w->mem;
    (void)addr;
    (void)ptep;
    if (pte_special(pte))
        return 0;   /* the zero page is in nobody's Rss */
    pte |= w->huge_bits;   /* a huge PMD has one dirty and one young bit */
    struct vm_page *page = pte_page(pte);
    bool anon = !pte_file(pte);
    bool dirty = pte_dirty(pte) || page_test_dirty(page);
    if (anon) {
        m->anonymous += PAGE_SIZE;
        if ((pte & PTE_LAZYFREE) && !dirty)
            m->lazyfree += PAGE_SIZE;
    }
    m->resident += PAGE_SIZE;
    if (pte_young(pte))
        m->referenced += PAGE_SIZE;
    /* Only our reference: private without looking at the mapcount. */
    int mapcount = page_count(page) == 1 ? 1 : page_mapcount(page);
    uint64_t pss = (uint64_t)PAGE_SIZE << SMAPS_PSS_SHIFT;
    bool private = mapcount < 2;
    if (!private)
        pss /= (uint64_t)mapcount;
    m->pss += pss;
    if (w->locked)
        m->pss_locked += pss;
    if (dirty) {
        m->pss_dirty += pss;
        if (private)
            m->private_dirty += PAGE_SIZE;
        else
            m->shared_dirty += PAGE_SIZE;
    } else if (private) {
        m->private_clean += PAGE_SIZE;
    } else {
        m->shared_clean += PAGE_SIZE;
    }
    return 0;
}

static int smaps_pmd(void *arg, unsigned long haddr, pte_t _Atomic *pmdp, pte_t pmd)
{
    struct smaps_walk *w = arg;
    struct pgtable *pt = &w->vma->vm_mm->pgt;
    (void)pmdp;
    w->huge_bits = 0;
    if (pmd & PMD_HUGE) {
        pte_t bits = 0;
        pgtable_for_each(pt, haddr, haddr + PMD_SIZE, or_bits, &bits);
        w->huge_bits = bits & (PTE_DIRTY | PTE_ACCESSED);
        w->mem->anon_thp += PMD_SIZE;
    }
    pgtable_for_each(pt, max(haddr, w->vma->vm_start), min(haddr + PMD_SIZE, w->vma->vm_end),
                     smaps_pte, w);
    return 0;
}

void smaps_gather_mem(const struct vma *vma, struct smaps_mem *mem)
{
    memset(mem, 0, sizeof(*mem));
    if (!vma->vm_mm || !vma->vm_mm->pgt.pgd)
        return;   /* a VMA outside any address space (the formatter's tests) */
    struct smaps_walk w = { .mem = mem, .locked = vma->vm_flags & VM_LOCKED, .vma = vma };
    /* One PMD at a time (only those with a table): a PMD-mapped THP counts
     * as AnonHugePages, and its dirty and young bits are those of the whole
     * (smaps_pmd_entry). */
    pgtable_for_each_pmd(&vma->vm_mm->pgt, vma->vm_start, vma->vm_end, smaps_pmd, &w);
}

/* The labels carry their padding to 16 columns, exactly as Linux spells them. */
#define KB(t, label, bytes) text_num(t, label, (bytes) >> 10, 8, " kB\n")

static unsigned long pss_bytes(uint64_t fixed)
{
    return (unsigned long)(fixed >> SMAPS_PSS_SHIFT);
}

static void show_smap_entry(const struct vma *vma, const struct smaps_mem *m, FILE *out);

void vma_show_smap(const struct vma *vma, FILE *out)
{
    struct smaps_mem mem;

    smaps_gather_mem(vma, &mem);
    show_smap_entry(vma, &mem, out);
}

static void show_smap_entry(const struct vma *vma, const struct smaps_mem *m, FILE *out)
{
    const struct smaps_mem mem = *m;
    struct vma_text t;
    bool soft_dirty = true;
    size_t n;

    vma_show_map(vma, out);

    t.len = 0;
    KB(&t, "Size:           ", vma->vm_end - vma->vm_start);
    KB(&t, "KernelPageSize: ", PAGE_SIZE);
    KB(&t, "MMUPageSize:    ", PAGE_SIZE);
    KB(&t, "Rss:            ", mem.resident);
    KB(&t, "Pss:            ", pss_bytes(mem.pss));
    KB(&t, "Pss_Dirty:      ", pss_bytes(mem.pss_dirty));
    KB(&t, "Shared_Clean:   ", mem.shared_clean);
    KB(&t, "Shared_Dirty:   ", mem.shared_dirty);
    KB(&t, "Private_Clean:  ", mem.private_clean);
    KB(&t, "Private_Dirty:  ", mem.private_dirty);
    KB(&t, "Referenced:     ", mem.referenced);
    KB(&t, "Anonymous:      ", mem.anonymous);
    KB(&t, "KSM:            ", mem.ksm);
    KB(&t, "LazyFree:       ", mem.lazyfree);
    KB(&t, "AnonHugePages:  ", mem.anon_thp);
    KB(&t, "ShmemPmdMapped: ", mem.shmem_thp);
    KB(&t, "FilePmdMapped:  ", mem.file_thp);
    KB(&t, "Shared_Hugetlb: ", mem.shared_hugetlb);
    /* The one label too long for the 16 columns: Linux narrows the number. */
    text_num(&t, "Private_Hugetlb: ", mem.private_hugetlb >> 10, 7, " kB\n");
    KB(&t, "Swap:           ", mem.swap);
    KB(&t, "SwapPss:        ", pss_bytes(mem.swap_pss));
    KB(&t, "Locked:         ", pss_bytes(mem.pss_locked));
    text_num(&t, "THPeligible:    ", vma_thp_eligible(vma) ? 1 : 0, 8, "\n");
    /* Shown where the CPU and kernel support protection keys, as on x86-64
     * hosts with PKU (execute-only mappings carry key 1). */
    if (!vma->vm_mm || !(vma->vm_mm->cfg.flags & MM_CONFIG_NO_PKEYS))
        text_num(&t, "ProtectionKey:  ", vma_pkey_of(vma->vm_flags), 8, "\n");

    if (vma->vm_mm && (vma->vm_mm->cfg.flags & MM_CONFIG_NO_SOFT_DIRTY))
        soft_dirty = false;
    text_put(&t, "VmFlags: ", 9);
    n = vma_flags_text(vma->vm_flags, soft_dirty, t.buf + t.len, sizeof(t.buf) - t.len);
    VM_BUG_ON(n >= sizeof(t.buf) - t.len);
    t.len += n;
    text_put(&t, "\n", 1);
    fwrite(t.buf, 1, t.len, out);
}

/* ---------------------------------------------------------- entry points */

static const char *gate_vma_name(const struct vma_ref *vma)
{
    (void)vma;
    return "[vsyscall]";
}

static const struct vm_operations gate_vma_ops = { .name = gate_vma_name };

/* x86-64's vsyscall page after the last VMA, as m_next gives get_gate_vma:
 * a VMA of no tree, with no pages anybody counts. */
static void show_gate_vma(struct mm *mm, FILE *out, bool smaps)
{
    vm_flags_t flags;

    if (!gate_vma_shown(mm, &flags))
        return;
    struct vma gate = {
        .vm_start = VSYSCALL_ADDR, .vm_end = VSYSCALL_ADDR + PAGE_SIZE,
        .vm_flags = flags, .vm_ops = &gate_vma_ops, .vm_mm = mm,
    };
    if (smaps) {
        const struct smaps_mem none = { 0 };
        show_smap_entry(&gate, &none, out);
    } else {
        vma_show_map(&gate, out);
    }
}

/*
 * Walk every VMA under the mmap read lock, as a read of /proc/PID/maps does
 * (Linux drops the lock between read() calls; one call here is one read).
 * An mm whose last user is gone shows nothing, as Linux's m_start does.
 */
static int show_vmas(struct mm *mm, FILE *out, void (*show)(const struct vma *, FILE *))
{
    struct mmap_read_guard guard;
    struct vma *vma;
    int err = 0;

    if (!mm || !out)
        return -EINVAL;
    if (!mmget_not_zero(mm))
        return 0;

    guard = mmap_read_lock(mm);
    flockfile(out);
    for (vma = vt_first(&mm->mm_mt); vma; vma = vt_next(&mm->mm_mt, vma)) {
        show(vma, out);
        if (ferror(out))
            break;
    }
    if (!ferror(out))
        show_gate_vma(mm, out, show == vma_show_smap);
    funlockfile(out);
    mmap_read_unlock(&guard);
    mmput(mm);

    if (fflush(out) == EOF || ferror(out))
        err = -EIO;
    return err;
}

int mm_show_maps(struct mm *mm, FILE *out)
{
    return show_vmas(mm, out, vma_show_map);
}

int mm_show_smaps(struct mm *mm, FILE *out)
{
    return show_vmas(mm, out, vma_show_smap);
}

void mm_get_stats(struct mm *mm, struct mm_stats *out)
{
    struct mmap_read_guard guard;

    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!mm)
        return;

    /* The read lock makes the (L) counters one consistent snapshot. */
    guard = mmap_read_lock(mm);
    out->map_count = mm->map_count;
    out->total_vm = mm->total_vm;
    out->locked_vm = mm->locked_vm;
    long sum[NR_MM_COUNTERS_ALL];
    mm_counter_sum_all(mm, sum);
    out->rss_anon = mm_counter_pages(sum[MM_ANONPAGES]);
    out->rss_file = mm_counter_pages(sum[MM_FILEPAGES]);
    out->rss_shmem = mm_counter_pages(sum[MM_SHMEMPAGES]);
    out->pgtable_bytes = pgtable_bytes(&mm->pgt);
    mmap_read_unlock(&guard);

    out->faults = (unsigned long)sum[MM_FAULTS];
    out->zapped = (unsigned long)sum[MM_ZAPPED];
    out->lock_fallbacks = atomic_load_explicit(&mm->stat_lock_fallbacks, memory_order_relaxed);
}

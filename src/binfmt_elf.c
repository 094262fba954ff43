/* SPDX-License-Identifier: MIT */
/*
 * binfmt_elf.c — mm_exec: the address space execve builds for an ELF
 * executable on Linux 6.18 x86-64 (fs/binfmt_elf.c's load_elf_binary, with
 * fs/exec.c's argument pages and setup_arg_pages, and x86's layout:
 * mmap_base, ELF_ET_DYN_BASE, the brk and the stack's randomization).
 *
 * What the kernel does in order, and so what this file does:
 *   1. read and check the headers, open the interpreter (PT_INTERP) — up to
 *      here a failure leaves the mm as it was;
 *   2. pick the layout (mmap_base), make the stack VMA and copy the strings
 *      into it (the file name for AT_EXECFN, the environment, argv), grow it
 *      by 128 KiB (setup_arg_pages);
 *   3. map each PT_LOAD (file pages, the zeroed rest of the last one, the
 *      bss as brk memory), the executable where its type says, then the
 *      interpreter;
 *   4. the vDSO, then the tables under the strings: argc, argv, envp and the
 *      auxiliary vector (create_elf_tables); the process image's addresses
 *      (start_code ... env_end, start_brk) for /proc and brk.
 * Past step 1 Linux can only kill the process on an error; mm_exec instead
 * empties the mm again and returns the error.
 *
 * Everything goes through the library's own paths (mm_mmap, mm_munmap,
 * mm_mprotect, vm_brk_flags, expand_downwards, mm_install_special_mapping,
 * mm_write), so the VMAs, their
 * flags and merges, and the pages the kernel touches (the stack pages it
 * writes, the page under a segment's zeroed tail) come out as the host's.
 *
 * Where the kernel asks the CPU or its own build (AT_HWCAP, AT_HWCAP2,
 * AT_MINSIGSTKSZ, the rseq entries) the values are the host's auxiliary
 * vector's: vmarea models the machine it runs on.
 */
#define _GNU_SOURCE
#include "mm.h"
#include "host.h"

#include <elf.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51
#endif
#ifndef AT_RSEQ_FEATURE_SIZE
#define AT_RSEQ_FEATURE_SIZE 27
#define AT_RSEQ_ALIGN 28
#endif

#define ELF_PAGESTART(v)  ((v) & PAGE_MASK)
#define ELF_PAGEOFFSET(v) ((v) & (PAGE_SIZE - 1))
#define ELF_PAGEALIGN(v)  PAGE_ALIGN(v)

#define STK_LIM          (8UL << 20)       /* _STK_LIM: the argument space is at most 3/4 of it */
#define MAX_ARG_STRLEN   (32 * PAGE_SIZE)
#define ARG_MAX_BYTES    (32 * PAGE_SIZE)  /* the argument space even a small stack gets */
#define STACK_EXPAND     131072UL          /* setup_arg_pages' room beyond the arguments */
#define STACK_RND_MASK   0x3fffffUL        /* 16 GiB of stack top randomization, in pages */
#define USER_HZ          100               /* AT_CLKTCK */
#define AUXV_MAX         32                /* pairs: Linux's AT_VECTOR_SIZE is smaller */

/* The executable or its interpreter, read but not yet mapped. */
struct elf_image {
    struct vm_file *file;
    Elf64_Ehdr eh;
    Elf64_Phdr *ph;
};

/* One exec in progress. */
struct exec_ctx {
    struct mm *mm;
    const struct mm_exec_args *args;
    bool randomize, randomize_brk;
    uint64_t rng;                       /* splitmix64 over args->seed */
    unsigned long stack_top, p;         /* p: bprm->p, the lowest byte used so far */
    unsigned long execfn_addr;          /* AT_EXECFN */
    unsigned long arg_start, arg_end, env_end;
    unsigned long vdso;                 /* AT_SYSINFO_EHDR; 0: none */
    int argc, envc;
};

/* splitmix64: each exec's randomness is a pure function of its seed. */
static unsigned long rnd_next(struct exec_ctx *x)
{
    uint64_t z = (x->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (unsigned long)(z ^ (z >> 31));
}

/* arch_align_stack: up to 8 KiB lower when randomizing, then 16-byte aligned. */
static unsigned long align_stack(struct exec_ctx *x, unsigned long sp)
{
    if (x->randomize)
        sp -= rnd_next(x) % 8192;
    return sp & ~0xfUL;
}

/* randomize_page: a page-aligned address in [start, start + range). */
static unsigned long randomize_page(struct exec_ctx *x, unsigned long start, unsigned long range)
{
    if (offset_in_page(start)) {
        range -= PAGE_ALIGN(start) - start;
        start = PAGE_ALIGN(start);
    }
    if (start > ULONG_MAX - range)
        range = ULONG_MAX - start;
    range >>= PAGE_SHIFT;
    if (!range)
        return start;
    return start + ((rnd_next(x) % range) << PAGE_SHIFT);
}

/* arch_mmap_rnd: vm.mmap_rnd_bits worth of pages. */
static unsigned long mmap_rnd(struct exec_ctx *x)
{
    unsigned long bits = 28;
    unsigned long v;
    if (host_read_ulong("/proc/sys/vm/mmap_rnd_bits", &v) == 0 && v && v < 48)
        bits = v;
    return (rnd_next(x) & ((1UL << bits) - 1)) << PAGE_SHIFT;
}

/* BAD_ADDR: an mmap's result that is an error or outside the task. */
static bool bad_addr(const struct exec_ctx *x, long addr)
{
    return (unsigned long)addr >= task_size(x->mm);
}

/* ---------------------------------------------------------- the headers */

static int elf_read(struct vm_file *f, void *buf, size_t len, unsigned long off)
{
    ssize_t n = host_pread(f->fd, buf, len, off);
    if (n < 0)
        return (int)n;
    return (size_t)n == len ? 0 : -EIO;
}

static bool elf_check_arch(const Elf64_Ehdr *eh)
{
    return eh->e_machine == EM_X86_64;
}

/* load_elf_phdrs: NULL when the table is not one the kernel loads. */
static Elf64_Phdr *load_elf_phdrs(const struct elf_image *img)
{
    size_t size = sizeof(Elf64_Phdr) * img->eh.e_phnum;
    if (img->eh.e_phentsize != sizeof(Elf64_Phdr) || size == 0 || size > 65536 || size > PAGE_SIZE)
        return NULL;
    Elf64_Phdr *ph = malloc(size);
    if (ph && elf_read(img->file, ph, size, img->eh.e_phoff)) {
        free(ph);
        ph = NULL;
    }
    return ph;
}

/* The first PT_LOAD's page to the last one's end: what the first mapping
 * of an ET_DYN image reserves. */
static unsigned long total_mapping_size(const Elf64_Phdr *ph, int n)
{
    int first = -1, last = -1;
    for (int i = 0; i < n; i++)
        if (ph[i].p_type == PT_LOAD) {
            last = i;
            if (first < 0)
                first = i;
        }
    if (first < 0)
        return 0;
    return ph[last].p_vaddr + ph[last].p_memsz - ELF_PAGESTART(ph[first].p_vaddr);
}

/* The largest power-of-two p_align of the PT_LOADs, at least a page. */
static unsigned long maximum_alignment(const Elf64_Phdr *ph, int n)
{
    unsigned long alignment = 0;
    for (int i = 0; i < n; i++) {
        unsigned long a = ph[i].p_align;
        if (ph[i].p_type == PT_LOAD && a && !(a & (a - 1)))
            alignment = max(alignment, a);
    }
    return ELF_PAGEALIGN(alignment);
}

static int make_prot(Elf64_Word p_flags)
{
    return (p_flags & PF_R ? PROT_READ : 0) | (p_flags & PF_W ? PROT_WRITE : 0) |
           (p_flags & PF_X ? PROT_EXEC : 0);
}

/* ------------------------------------------------------------- mapping */

/*
 * elf_map: the file part of a segment.  With total_size (the first
 * segment of an ET_DYN image) the whole image's span is mapped at once,
 * so that it is placed where all of it fits, and the part past this
 * segment is unmapped again.
 */
static long elf_map(struct exec_ctx *x, struct vm_file *f, unsigned long addr, const Elf64_Phdr *ph,
                    int prot, int type, unsigned long total_size)
{
    unsigned long size = ELF_PAGEALIGN(ph->p_filesz + ELF_PAGEOFFSET(ph->p_vaddr));
    unsigned long off = ph->p_offset - ELF_PAGEOFFSET(ph->p_vaddr);
    addr = ELF_PAGESTART(addr);
    if (!size)
        return (long)addr;
    if (!total_size)
        return mm_mmap(x->mm, addr, size, prot, type, f, off);
    total_size = ELF_PAGEALIGN(total_size);
    long map_addr = mm_mmap(x->mm, addr, total_size, prot, type, f, off);
    /* An image whose span is its first segment leaves nothing to unmap,
     * and munmap's EINVAL for a zero length is ignored as Linux does. */
    if (!bad_addr(x, map_addr) && total_size > size)
        mm_munmap(x->mm, (unsigned long)map_addr + size, total_size - size);
    return map_addr;
}

/*
 * padzero: the bytes of the last file page past p_filesz are the file's
 * next bytes in the mapping; the kernel clears them with a store, which
 * makes that page a private copy (and fails on a read-only segment).
 */
static int padzero(struct exec_ctx *x, unsigned long address)
{
    static const char zeros[PAGE_SIZE];
    unsigned long nbyte = ELF_PAGEOFFSET(address);
    if (!nbyte)
        return 0;
    nbyte = PAGE_SIZE - nbyte;
    return mm_write(x->mm, address, zeros, nbyte) == (ssize_t)nbyte ? 0 : -EFAULT;
}

/* elf_load: one PT_LOAD: its file pages, the zeroed tail of the last one,
 * and anonymous brk memory for the rest of p_memsz. */
static long elf_load(struct exec_ctx *x, struct vm_file *f, unsigned long addr, const Elf64_Phdr *ph,
                     int prot, int type, unsigned long total_size)
{
    unsigned long zero_start, zero_end;
    long map_addr;
    if (ph->p_filesz) {
        map_addr = elf_map(x, f, addr, ph, prot, type, total_size);
        if (bad_addr(x, map_addr))
            return map_addr;
        zero_start = (unsigned long)map_addr + ELF_PAGEOFFSET(ph->p_vaddr) + ph->p_filesz;
        zero_end = (unsigned long)map_addr + ELF_PAGEOFFSET(ph->p_vaddr) + ph->p_memsz;
        /* A segment that is not writable keeps its tail: the store fails
         * and only a writable one makes that an error. */
        if (ph->p_memsz > ph->p_filesz && padzero(x, zero_start) && (prot & PROT_WRITE))
            return -EFAULT;
    } else {
        map_addr = (long)ELF_PAGESTART(addr);
        zero_start = (unsigned long)map_addr;
        zero_end = zero_start + ELF_PAGEOFFSET(ph->p_vaddr) + ph->p_memsz;
    }
    if (ph->p_memsz > ph->p_filesz) {
        zero_start = ELF_PAGEALIGN(zero_start);
        zero_end = ELF_PAGEALIGN(zero_end);
        int err = vm_brk_flags(x->mm, zero_start, zero_end - zero_start, prot & PROT_EXEC ? VM_EXEC : 0);
        if (err)
            map_addr = err;
    }
    return map_addr;
}

/* A segment that cannot fit below the task size, or claims more file than
 * memory. */
static bool segment_bad(const struct exec_ctx *x, unsigned long k, const Elf64_Phdr *ph)
{
    unsigned long ts = task_size(x->mm);
    return k >= ts || ph->p_filesz > ph->p_memsz || ph->p_memsz > ts || ts - ph->p_memsz < k;
}

/*
 * load_elf_interp: the interpreter, an ET_DYN where mmap puts it (no_base,
 * the executable's bias, only asks for a placement hint of 0), or an
 * ET_EXEC at its own addresses.  Returns its load address or -errno.
 */
static long load_elf_interp(struct exec_ctx *x, struct elf_image *interp, unsigned long no_base)
{
    const Elf64_Ehdr *eh = &interp->eh;
    unsigned long load_addr = 0;
    bool load_addr_set = false;
    if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
        return -EPERM;   /* Linux's error is ~0UL, which execve sees as -EPERM */
    if (!elf_check_arch(eh) || interp->file->no_mmap)
        return -EPERM;
    unsigned long total_size = total_mapping_size(interp->ph, eh->e_phnum);
    if (!total_size)
        return -EINVAL;
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = &interp->ph[i];
        if (ph->p_type != PT_LOAD)
            continue;
        int type = MAP_PRIVATE;
        unsigned long vaddr = ph->p_vaddr;
        if (eh->e_type == ET_EXEC || load_addr_set)
            type |= MAP_FIXED;
        else if (no_base && eh->e_type == ET_DYN)
            load_addr = -vaddr;
        long map_addr = elf_load(x, interp->file, load_addr + vaddr, ph, make_prot(ph->p_flags), type,
                                 total_size);
        total_size = 0;
        if (bad_addr(x, map_addr))
            return map_addr < 0 ? map_addr : -EINVAL;
        if (!load_addr_set && eh->e_type == ET_DYN) {
            load_addr = (unsigned long)map_addr - ELF_PAGESTART(vaddr);
            load_addr_set = true;
        }
        if (segment_bad(x, load_addr + ph->p_vaddr, ph))
            return -ENOMEM;
    }
    return (long)load_addr;
}

/* --------------------------------------------------------------- the vDSO */

/*
 * The host's vDSO: how large its [vvar], [vvar_vclock] and [vdso] are, and
 * the [vdso]'s bytes (the same kernel's image a process of this host gets).
 * Probed once.  A host booted without a vDSO (vdso=0) has none, and neither
 * do the images built here; an older kernel without [vvar_vclock] has its
 * clock pages inside [vvar].
 */
static struct {
    pthread_once_t once;
    unsigned long vvar_len, vclock_len, vdso_len;
    unsigned char *vdso;
} host_vdso = { .once = PTHREAD_ONCE_INIT };

static void probe_host_vdso(void)
{
    unsigned long s, e;
    if (host_own_mapping("[vdso]", &s, &e) || !(host_vdso.vdso = malloc(e - s)))
        return;
    host_copy_own(host_vdso.vdso, s, e - s);
    host_vdso.vdso_len = e - s;
    if (!host_own_mapping("[vvar]", &s, &e))
        host_vdso.vvar_len = e - s;
    if (!host_own_mapping("[vvar_vclock]", &s, &e))
        host_vdso.vclock_len = e - s;
}

/* len bytes of fresh pages, the first holding src's bytes (if any):
 * special mapping pages with the caller's one reference each. */
static struct vm_page **special_pages(struct mm *mm, unsigned long len, const unsigned char *src)
{
    unsigned long n = len >> PAGE_SHIFT;
    struct vm_page **pages = calloc(n ? n : 1, sizeof(*pages));
    for (unsigned long i = 0; pages && i < n; i++) {
        if (!(pages[i] = vm_page_alloc(mm))) {
            while (i-- > 0)
                vm_page_put(pages[i]);
            free(pages);
            return NULL;
        }
        if (src)
            memcpy(vm_page_address(pages[i]), src + (i << PAGE_SHIFT), PAGE_SIZE);
    }
    return pages;
}

static long install(struct mm *mm, unsigned long addr, unsigned long len, vm_flags_t flags, const char *name,
                    const unsigned char *src)
{
    if (!len)
        return 0;
    struct vm_page **pages = special_pages(mm, len, src);
    if (!pages)
        return -ENOMEM;
    long ret = mm_install_special_mapping(mm, addr, len, flags, name, pages);
    for (unsigned long i = 0; i < len >> PAGE_SHIFT; i++)
        vm_page_put(pages[i]);
    free(pages);
    return ret < 0 ? ret : 0;
}

/*
 * map_vdso: the data pages ([vvar], then [vvar_vclock]) and the code
 * above them, in one range found top-down as an mmap without a hint would
 * be.  The data pages are zero: a vDSO function that finds no clock mode
 * (VDSO_CLOCKMODE_NONE) and no ready random state falls back to its system
 * call, which the program's runner serves; the kernel's live timekeeping
 * data is not something vmarea has.
 */
static int map_vdso(struct exec_ctx *x)
{
    pthread_once(&host_vdso.once, probe_host_vdso);
    if (!host_vdso.vdso_len)
        return 0;
    struct mm *mm = x->mm;
    unsigned long data = host_vdso.vvar_len + host_vdso.vclock_len;
    long addr;
    {
        MMAP_WRITE_GUARD(g, mm);
        addr = get_unmapped_area(mm, NULL, 0, data + host_vdso.vdso_len, 0, 0);
    }
    if (addr < 0)
        return (int)addr;
    unsigned long a = (unsigned long)addr;
    long err = install(mm, a + data, host_vdso.vdso_len,
                       VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC, "[vdso]", host_vdso.vdso);
    const vm_flags_t data_flags = VM_READ | VM_MAYREAD | VM_IO | VM_DONTDUMP | VM_PFNMAP;
    if (!err)
        err = install(mm, a, host_vdso.vvar_len, data_flags, "[vvar]", NULL);
    if (!err)
        err = install(mm, a + host_vdso.vvar_len, host_vdso.vclock_len, data_flags, "[vvar_vclock]", NULL);
    if (err)
        return (int)err;
    x->vdso = a + data;
    return 0;
}

/* -------------------------------------------------------------- the stack */

static size_t count_strings(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

/*
 * What do_execveat_common checks before anything changes: the strings must
 * fit in a quarter of RLIMIT_STACK (at least ARG_MAX, at most 3/4 of
 * 8 MiB) less their pointers, each at most MAX_ARG_STRLEN.  The strings'
 * total bytes, or -E2BIG.
 */
static long strings_size(struct exec_ctx *x, const char *execfn)
{
    unsigned long limit = max(min(STK_LIM / 4 * 3, x->mm->cfg.stack_limit / 4), ARG_MAX_BYTES);
    unsigned long ptrs = ((unsigned long)max(x->argc, 1) + (unsigned long)x->envc) * sizeof(void *);
    if (limit <= ptrs)
        return -E2BIG;
    limit -= ptrs;
    unsigned long total = 0;
    const char *const *lists[2] = { x->args->envp, x->args->argv };
    size_t n = strlen(execfn) + 1;
    if (n > MAX_ARG_STRLEN)
        return -E2BIG;
    total += n;
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; lists[l] && lists[l][i]; i++) {
            n = strlen(lists[l][i]) + 1;
            if (n > MAX_ARG_STRLEN)
                return -E2BIG;
            total += n;
        }
    if (!x->argc)
        total += 1;   /* the "" that stands for a missing argv[0] */
    /* The 8 bytes at the top are never used: the limit counts from below them. */
    if (total > limit)
        return -E2BIG;
    return (long)total;
}

/* Grow the stack VMA holding addr down to it, as a fault there would. */
static int stack_extend(struct exec_ctx *x, unsigned long addr)
{
    MMAP_WRITE_GUARD(g, x->mm);
    struct vma *vma = vt_find(&x->mm->mm_mt, x->stack_top - 1);
    if (!vma || !(vma->vm_flags & VM_GROWSDOWN))
        return -EFAULT;
    return expand_downwards(vma, addr) ? -EFAULT : 0;
}

static unsigned long stack_vma_start(struct exec_ctx *x)
{
    MMAP_READ_GUARD(g, x->mm);
    struct vma *vma = vt_find(&x->mm->mm_mt, x->stack_top - 1);
    return vma ? vma->vm_start : x->stack_top;
}

/*
 * The stack as bprm_mm_init and copy_strings leave it, moved to where
 * setup_arg_pages puts it (which is where it is made here: nothing else
 * is mapped yet, so the move changes nothing else), then grown by
 * 128 KiB.  The strings from the top down: 8 unused bytes, the file name
 * (AT_EXECFN), the environment, argv; so in memory argv[0] comes first.
 */
static int setup_stack(struct exec_ctx *x, const char *execfn, size_t strings, bool exec_stack)
{
    struct mm *mm = x->mm;
    unsigned long top = map_window(mm);   /* STACK_TOP: the 47-bit window's top */
    if (x->randomize)
        top = PAGE_ALIGN(top) - ((rnd_next(x) & STACK_RND_MASK) << PAGE_SHIFT);
    top = PAGE_ALIGN(align_stack(x, top));
    x->stack_top = top;
    long ret = mm_mmap(mm, top - PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, NULL, 0);
    if (ret < 0)
        return (int)ret;

    unsigned long p = top - sizeof(void *) - strings;
    char *buf = malloc(strings);
    if (!buf)
        return -ENOMEM;
    size_t at = strings;
    const char *const *lists[2] = { x->args->envp, x->args->argv };
    size_t n = strlen(execfn) + 1;
    memcpy(buf + (at -= n), execfn, n);
    for (int l = 0; l < 2; l++)
        for (size_t i = count_strings(lists[l]); i-- > 0;) {
            n = strlen(lists[l][i]) + 1;
            memcpy(buf + (at -= n), lists[l][i], n);
        }
    if (!x->argc)
        buf[--at] = '\0';
    VM_BUG_ON(at != 0);
    /* get_arg_page: strings the stack may not grow to hold (RLIMIT_STACK)
     * are too big. */
    int err = stack_extend(x, p) ? -E2BIG : 0;
    if (!err && mm_write(mm, p, buf, strings) != (ssize_t)strings)
        err = -EFAULT;
    free(buf);
    if (err)
        return err;
    x->execfn_addr = top - sizeof(void *) - (strlen(execfn) + 1);
    x->arg_start = x->p = p;
    if (!x->argc)
        x->argc = 1;

    /* PT_GNU_STACK with PF_X asks for an executable stack; without
     * PT_GNU_STACK, x86-64's default is not executable. */
    if (exec_stack) {
        unsigned long start = stack_vma_start(x);
        err = mm_mprotect(mm, start, top - start, PROT_READ | PROT_WRITE | PROT_EXEC);
        if (err)
            return err;
    }
    /* setup_arg_pages gives the stack VM_STACK_FLAGS afresh (mprotect_fixup):
     * the VM_SOFTDIRTY of its making is gone, on every kernel. */
    vma_clear_soft_dirty(mm, top - 1);
    unsigned long size = top - stack_vma_start(x);
    unsigned long expand = min(mm->cfg.stack_limit & PAGE_MASK, size + STACK_EXPAND);
    return stack_extend(x, top - expand);
}

static void aux(unsigned long *v, int *n, unsigned long type, unsigned long val)
{
    v[(*n)++] = type;
    v[(*n)++] = val;
}

static void aux_host(unsigned long *v, int *n, unsigned long type, bool always, unsigned long fallback)
{
    unsigned long val;
    if (host_auxv(type, &val))
        aux(v, n, type, val);
    else if (always)
        aux(v, n, type, fallback);
}

/*
 * create_elf_tables: below the strings, 16-byte aligned, the platform
 * string and AT_RANDOM's bytes; below those, 16-byte aligned, argc, argv,
 * a NULL, envp, a NULL and the auxiliary vector in the kernel's order.
 * Returns the new stack pointer, or -errno.
 */
static long create_elf_tables(struct exec_ctx *x, const Elf64_Ehdr *eh, unsigned long interp_load_addr,
                              unsigned long e_entry, unsigned long phdr_addr)
{
    static const char platform[] = "x86_64";   /* ELF_PLATFORM */
    struct mm *mm = x->mm;
    unsigned long p = align_stack(x, x->p);
    p -= sizeof(platform);
    unsigned long u_platform = p;
    if (mm_write(mm, u_platform, platform, sizeof(platform)) != (ssize_t)sizeof(platform))
        return -EFAULT;
    unsigned char rand_bytes[16];
    for (size_t i = 0; i < sizeof(rand_bytes); i += 8) {
        unsigned long r = rnd_next(x);
        memcpy(rand_bytes + i, &r, 8);
    }
    p -= sizeof(rand_bytes);
    unsigned long u_rand_bytes = p;
    if (mm_write(mm, u_rand_bytes, rand_bytes, sizeof(rand_bytes)) != (ssize_t)sizeof(rand_bytes))
        return -EFAULT;

    unsigned long auxv[2 * AUXV_MAX];
    int n = 0;
    unsigned long ids[4];
    host_creds(ids);
    /* ARCH_DLINFO first: the vDSO, then the signal frame's size. */
    if (x->vdso)
        aux(auxv, &n, AT_SYSINFO_EHDR, x->vdso);
    aux_host(auxv, &n, AT_MINSIGSTKSZ, true, MINSIGSTKSZ);
    aux_host(auxv, &n, AT_HWCAP, true, 0);
    aux(auxv, &n, AT_PAGESZ, PAGE_SIZE);
    aux(auxv, &n, AT_CLKTCK, USER_HZ);
    aux(auxv, &n, AT_PHDR, phdr_addr);
    aux(auxv, &n, AT_PHENT, sizeof(Elf64_Phdr));
    aux(auxv, &n, AT_PHNUM, eh->e_phnum);
    aux(auxv, &n, AT_BASE, interp_load_addr);
    aux(auxv, &n, AT_FLAGS, 0);
    aux(auxv, &n, AT_ENTRY, e_entry);
    aux(auxv, &n, AT_UID, ids[0]);
    aux(auxv, &n, AT_EUID, ids[1]);
    aux(auxv, &n, AT_GID, ids[2]);
    aux(auxv, &n, AT_EGID, ids[3]);
    aux(auxv, &n, AT_SECURE, 0);
    aux(auxv, &n, AT_RANDOM, u_rand_bytes);
    aux_host(auxv, &n, AT_HWCAP2, true, 0);
    aux(auxv, &n, AT_EXECFN, x->execfn_addr);
    aux(auxv, &n, AT_PLATFORM, u_platform);
    /* CONFIG_RSEQ: present where the host kernel has it. */
    aux_host(auxv, &n, AT_RSEQ_FEATURE_SIZE, false, 0);
    aux_host(auxv, &n, AT_RSEQ_ALIGN, false, 0);
    aux(auxv, &n, AT_NULL, 0);

    /* The tables' size in words, counted down from the random bytes as
     * the kernel does, then rounded down to 16 bytes: the argument block
     * starts there and the auxiliary vector ends where it ends, so a few
     * bytes may lie unused between it and the random bytes. */
    unsigned long items = (unsigned long)(x->argc + 1) + (unsigned long)(x->envc + 1) + 1;
    unsigned long sp = (p - (unsigned long)n * 8 - items * 8) & ~0xfUL;
    if (sp < stack_vma_start(x)) {
        int err = stack_extend(x, sp);
        if (err)
            return err;
    }
    size_t words = items + (size_t)n;
    unsigned long *tab = malloc(words * sizeof(*tab));
    if (!tab)
        return -ENOMEM;
    size_t w = 0;
    tab[w++] = (unsigned long)x->argc;
    /* The pointers walk the strings as they lie: argv's, then envp's. */
    unsigned long s = x->arg_start;
    const char *const *lists[2] = { x->args->argv, x->args->envp };
    int counts[2] = { x->argc, x->envc };
    for (int l = 0; l < 2; l++) {
        for (int i = 0; i < counts[l]; i++) {
            tab[w++] = s;
            /* argv may be the lone "" of an empty argv */
            s += (lists[l] && lists[l][i] ? strlen(lists[l][i]) : 0) + 1;
        }
        tab[w++] = 0;
        if (l == 0)
            x->arg_end = s;
    }
    x->env_end = s;
    memcpy(tab + w, auxv, (size_t)n * sizeof(*tab));
    ssize_t done = mm_write(mm, sp, tab, words * sizeof(*tab));
    free(tab);
    if (done != (ssize_t)(words * sizeof(unsigned long)))
        return -EFAULT;
    return (long)sp;
}

/* --------------------------------------------------------------- mm_exec */

static void image_release(struct elf_image *img)
{
    free(img->ph);
    img->ph = NULL;
}

/*
 * Step 1: everything that can fail before the mm changes.  The executable's
 * ehdr and phdrs, PT_INTERP's file with its ehdr and phdrs, and
 * PT_GNU_STACK's wish.
 */
static int read_images(struct exec_ctx *x, struct elf_image *exe, struct elf_image *interp, bool *exec_stack)
{
    exe->file = x->args->file;
    if (exe->file->fd < 0 || exe->file->no_mmap)
        return -EACCES;    /* not a regular file (do_open_execat) */
    if (exe->file->noexec)
        return -EACCES;    /* on a noexec mount (path_noexec) */
    ssize_t got = host_pread(exe->file->fd, &exe->eh, sizeof(exe->eh), 0);
    if (got < 0)
        return (int)got;
    if ((size_t)got < sizeof(exe->eh) || memcmp(exe->eh.e_ident, ELFMAG, SELFMAG) ||
        (exe->eh.e_type != ET_EXEC && exe->eh.e_type != ET_DYN) || !elf_check_arch(&exe->eh))
        return -ENOEXEC;
    if (!(exe->ph = load_elf_phdrs(exe)))
        return -ENOEXEC;

    for (int i = 0; i < exe->eh.e_phnum; i++) {
        const Elf64_Phdr *ph = &exe->ph[i];
        if (ph->p_type != PT_INTERP)
            continue;
        if (ph->p_filesz > PATH_MAX || ph->p_filesz < 2)
            return -ENOEXEC;
        char *path = malloc(ph->p_filesz);
        if (!path)
            return -ENOMEM;
        int err = elf_read(exe->file, path, ph->p_filesz, ph->p_offset);
        if (!err && path[ph->p_filesz - 1] != '\0')
            err = -ENOEXEC;
        int fd = err ? err : host_open_exec(x->args->root, path);
        free(path);
        if (fd < 0)
            return fd;
        interp->file = vm_file_open(fd);
        err = interp->file ? 0 : -errno;
        host_close(fd);
        if (err)
            return err;
        if (interp->file->no_mmap || interp->file->noexec)
            return -EACCES;   /* open_exec: a regular file, not on a noexec mount */
        if (host_pread(interp->file->fd, &interp->eh, sizeof(interp->eh), 0) != sizeof(interp->eh))
            return -EIO;
        break;
    }

    *exec_stack = false;
    for (int i = 0; i < exe->eh.e_phnum; i++)
        if (exe->ph[i].p_type == PT_GNU_STACK)
            *exec_stack = exe->ph[i].p_flags & PF_X;

    if (interp->file) {
        if (memcmp(interp->eh.e_ident, ELFMAG, SELFMAG) || !elf_check_arch(&interp->eh))
            return -ELIBBAD;
        if (!(interp->ph = load_elf_phdrs(interp)))
            return -ELIBBAD;
    }
    return 0;
}

/*
 * arch_pick_mmap_layout: mmap_base sits below the stack's largest extent
 * (RLIMIT_STACK, its randomization, the guard gap), at least 128 MiB and
 * at most 5/6 of the task size below its top, and lower by the mmap
 * randomization.  An infinite RLIMIT_STACK makes Linux lay a process out
 * bottom-up from a third of the task size (the legacy layout), which
 * vmarea's mmap does not do: such an mm gets the lowest top-down base.
 */
static void pick_mmap_layout(struct exec_ctx *x)
{
    struct mm *mm = x->mm;
    unsigned long ts = map_window(mm);   /* task_size_64bit(0) */
    unsigned long pad = (x->randomize ? STACK_RND_MASK << PAGE_SHIFT : 0) + STACK_GUARD_GAP;
    unsigned long gap = mm->cfg.stack_limit;
    if (gap + pad > gap)   /* a limit near RLIM_INFINITY would wrap */
        gap += pad;
    unsigned long gap_min = 128UL << 20, gap_max = ts / 6 * 5;
    gap = gap < gap_min ? gap_min : gap > gap_max ? gap_max : gap;
    unsigned long rnd = x->randomize ? mmap_rnd(x) : 0;
    MMAP_WRITE_GUARD(g, mm);
    mm->cfg.mmap_base = PAGE_ALIGN(ts - gap - rnd);
}

static void exec_fail(struct mm *mm, unsigned long mmap_base)
{
    MMAP_WRITE_GUARD(g, mm);
    mm_unmap_all(mm);
    memset(&mm->layout, 0, sizeof(mm->layout));
    mm->cfg.mmap_base = mmap_base;
}

/* Steps 2 to 4, on an empty mm. */
static int build_image(struct exec_ctx *x, struct elf_image *exe, struct elf_image *interp, bool exec_stack,
                       const char *execfn, size_t strings, struct mm_exec_result *out)
{
    struct mm *mm = x->mm;
    const Elf64_Ehdr *eh = &exe->eh;
    pick_mmap_layout(x);
    int err = setup_stack(x, execfn, strings, exec_stack);
    if (err)
        return err;

    unsigned long load_bias = 0, elf_brk = 0, phdr_addr = 0;
    unsigned long start_code = ~0UL, end_code = 0, start_data = 0, end_data = 0;
    bool first_pt_load = true;
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = &exe->ph[i];
        if (ph->p_type != PT_LOAD)
            continue;
        int prot = make_prot(ph->p_flags);
        int flags = MAP_PRIVATE;
        unsigned long vaddr = ph->p_vaddr, total_size = 0;
        /* The first segment places the image; the others follow it. */
        if (!first_pt_load) {
            flags |= MAP_FIXED;
        } else if (eh->e_type == ET_EXEC) {
            flags |= MAP_FIXED_NOREPLACE;
        } else {
            unsigned long alignment = maximum_alignment(exe->ph, eh->e_phnum);
            if (interp->file) {
                /* A program (PIE): at ELF_ET_DYN_BASE, two thirds up the
                 * 47-bit window, out of the way of what a loader maps. */
                load_bias = map_window(mm) / 3 * 2;
                if (x->randomize)
                    load_bias += mmap_rnd(x);
                if (alignment)
                    load_bias &= ~(alignment - 1);
                flags |= MAP_FIXED_NOREPLACE;
            } else if (alignment > PAGE_SIZE) {
                /* A loader (static PIE) goes where mmap puts it; a large
                 * alignment is had by a trial mapping of the whole span. */
                unsigned long span = total_mapping_size(exe->ph, eh->e_phnum);
                long trial = elf_load(x, exe->file, 0, ph, prot, flags, span);
                if (bad_addr(x, trial))
                    return trial < 0 ? (int)trial : -EINVAL;
                mm_munmap(mm, (unsigned long)trial, span);
                load_bias = (unsigned long)trial & ~(alignment - 1);
                flags |= MAP_FIXED_NOREPLACE;
            } else {
                load_bias = 0;
            }
            load_bias = ELF_PAGESTART(load_bias - vaddr);
            total_size = total_mapping_size(exe->ph, eh->e_phnum);
            if (!total_size)
                return -EINVAL;
        }
        long error = elf_load(x, exe->file, load_bias + vaddr, ph, prot, flags, total_size);
        if (bad_addr(x, error))
            return error < 0 ? (int)error : -EINVAL;
        if (first_pt_load) {
            first_pt_load = false;
            if (eh->e_type == ET_DYN)
                load_bias += (unsigned long)error - ELF_PAGESTART(load_bias + vaddr);
        }
        /* The segment holding the program headers gives AT_PHDR. */
        if (ph->p_offset <= eh->e_phoff && eh->e_phoff < ph->p_offset + ph->p_filesz)
            phdr_addr = eh->e_phoff - ph->p_offset + ph->p_vaddr;
        unsigned long k = ph->p_vaddr;
        if ((ph->p_flags & PF_X) && k < start_code)
            start_code = k;
        if (start_data < k)
            start_data = k;
        if (segment_bad(x, k, ph))
            return -EINVAL;
        k = ph->p_vaddr + ph->p_filesz;
        if ((ph->p_flags & PF_X) && end_code < k)
            end_code = k;
        if (end_data < k)
            end_data = k;
        k = ph->p_vaddr + ph->p_memsz;
        if (k > elf_brk)
            elf_brk = k;
    }
    unsigned long e_entry = eh->e_entry + load_bias;
    phdr_addr += load_bias;
    elf_brk += load_bias;
    start_code += load_bias;
    end_code += load_bias;
    start_data += load_bias;
    end_data += load_bias;

    unsigned long elf_entry = e_entry, interp_load_addr = 0;
    if (interp->file) {
        long base = load_elf_interp(x, interp, load_bias);
        if (base < 0)
            return (int)base;
        interp_load_addr = (unsigned long)base;
        elf_entry = interp_load_addr + interp->eh.e_entry;
    }
    if (elf_entry >= task_size(mm))
        return -EINVAL;

    err = map_vdso(x);
    if (err)
        return err;

    long sp = create_elf_tables(x, eh, interp_load_addr, e_entry, phdr_addr);
    if (sp < 0)
        return (int)sp;

    /*
     * The brk: after the highest segment, except for a loader run
     * directly (a static PIE), whose brk goes to ELF_ET_DYN_BASE, out of
     * the mmap area; randomized (Linux's randomize_va_space 2) up to 1 GiB
     * above, a page past the bss at least.
     */
    bool brk_moved = false;
    if (eh->e_type == ET_DYN && !interp->file) {
        elf_brk = map_window(mm) / 3 * 2;
        brk_moved = true;
    }
    unsigned long brk = ELF_PAGEALIGN(elf_brk);
    if (x->randomize_brk) {
        if (!brk_moved)
            brk += PAGE_SIZE;
        brk = randomize_page(x, brk, 1UL << 30);
    }
    {
        MMAP_WRITE_GUARD(g, mm);
        mm->layout.start_code = start_code;
        mm->layout.end_code = end_code;
        mm->layout.start_data = start_data;
        mm->layout.end_data = end_data;
        mm->layout.start_stack = (unsigned long)sp;
        mm->layout.start_brk = mm->layout.brk = brk;
        mm->layout.arg_start = x->arg_start;
        mm->layout.arg_end = mm->layout.env_start = x->arg_end;
        mm->layout.env_end = x->env_end;
    }
    out->entry = elf_entry;
    out->sp = (unsigned long)sp;
    out->load_bias = load_bias;
    out->interp_base = interp_load_addr;
    return 0;
}

int mm_exec(struct mm *mm, const struct mm_exec_args *args, struct mm_exec_result *out)
{
    if (!mm || !args || !args->file || !out)
        return -EINVAL;
    if (args->flags & ~MM_EXEC_NO_RANDOMIZE)
        return -EINVAL;
    {
        MMAP_READ_GUARD(g, mm);
        if (mm->map_count)
            return -EBUSY;   /* exec replaces an mm; this one builds a fresh one only */
    }
    struct exec_ctx x = { .mm = mm, .args = args, .rng = args->seed };
    unsigned long rvs = 2;
    if (host_read_ulong("/proc/sys/kernel/randomize_va_space", &rvs))
        rvs = 2;
    x.randomize = !(args->flags & MM_EXEC_NO_RANDOMIZE) && rvs;
    x.randomize_brk = x.randomize && rvs > 1;
    size_t argc = count_strings(args->argv), envc = count_strings(args->envp);
    if (argc > INT_MAX || envc > INT_MAX)
        return -E2BIG;
    x.argc = (int)argc;
    x.envc = (int)envc;
    const char *execfn = args->execfn ? args->execfn : argc ? args->argv[0] : "";
    long strings = strings_size(&x, execfn);
    if (strings < 0)
        return (int)strings;

    struct elf_image exe = { 0 }, interp = { 0 };
    bool exec_stack = false;
    int err = read_images(&x, &exe, &interp, &exec_stack);
    if (!err) {
        unsigned long mmap_base = mm->cfg.mmap_base;
        err = build_image(&x, &exe, &interp, exec_stack, execfn, (size_t)strings, out);
        if (err)
            exec_fail(mm, mmap_base);
    }
    image_release(&exe);
    image_release(&interp);
    if (interp.file)
        vm_file_put(interp.file);
    return err;
}

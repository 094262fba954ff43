/* SPDX-License-Identifier: MIT */
/*
 * diffcheck — the kernel-differential checker.
 *
 * The host kernel is the specification.  The checker generates random
 * sequences of mmap/munmap/mprotect/madvise/mlock/munlock calls inside a fixed
 * window of the address space and runs each sequence twice: for real, in a
 * forked child process (the "linux" side), and on a fresh vmarea mm (the
 * "vmarea" side, also in a forked child, so a crash or a hang in the library
 * is reported with its seed instead of killing the checker).  Every call's
 * return value is compared, and so is the list of VMAs in the window as each
 * side's smaps text shows it (one parser for both).  On a mismatch the
 * sequence is replayed with a snapshot after every call, to name the first
 * call where the two sides part.
 *
 * Memory (on unless no_memory): the sequences also store into and load from
 * the window (the kernel side with its own loads and stores, vmarea with
 * mm_write and mm_read), zap and populate it (MADV_DONTNEED and friends,
 * MAP_POPULATE, MAP_LOCKED, mlock); each VMA's Rss, Pss, Anonymous,
 * Private_Dirty, Private_Clean, Shared_* and Locked are compared, so is the
 * hash of every read, and at the end the contents of every readable page.
 * Both sides run without transparent huge pages (PR_SET_THP_DISABLE,
 * MM_THP_NEVER): huge-page faults are not covered.
 *
 * Sequence i of a run uses the seed (run seed + i); a sequence is a pure
 * function of its seed and the generator options, so
 *     vmarea check --seed S --sequences 1
 * replays the sequence with seed S.
 *
 * Also here, because the tool and the tests share them: the smaps parser, the
 * op script language of `vmarea maps` (docs/maps-script.md), and the safety
 * rule that keeps a real syscall from touching memory outside the window.
 *
 * Nothing here is thread-safe unless said so; dc_run runs its own threads.
 */
#ifndef VMAREA_DIFFCHECK_H
#define VMAREA_DIFFCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

/* <sys/mman.h> names newer than some C libraries, with the kernel's values. */
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MAP_UNINITIALIZED
#define MAP_UNINITIALIZED 0x4000000
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif
#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif

#define PAGE 4096UL

struct mm;

/* ------------------------------------------------------------------ ops */

enum dc_op_kind {
    DC_MMAP,        /* addr len prot flags offset (anonymous: no file) */
    DC_MUNMAP,      /* addr len */
    DC_MPROTECT,    /* addr len prot */
    DC_MADVISE,     /* addr len advice */
    DC_MLOCK,       /* addr len: the mlock syscall */
    DC_MLOCK2,      /* addr len flags: the mlock2 syscall */
    DC_MUNLOCK,     /* addr len */
    DC_MLOCKALL,    /* flags: MCL_* */
    DC_MUNLOCKALL,  /* nothing */
    DC_MREMAP,      /* addr len(old) new_len flags(MREMAP_*) new_addr */
    DC_WRITE,       /* addr len fill: store fill's bytes into [addr, addr + len) */
    DC_READ,        /* addr len: load [addr, addr + len); the result carries a hash */
    DC_MEMFD,       /* len: a new memfd of len bytes (memfd_create, ftruncate), which
                       replaces the sequence's last one; file mmaps map it */
    DC_TRUNCATE,    /* len: ftruncate the sequence's memfd or file to len bytes */
    DC_FILE,        /* len flags(DC_FILE_*): a new host file of len bytes, each page
                       filled with its own byte, synced, unlinked and open: it
                       replaces the sequence's memfd or file */
    DC_MSYNC,       /* addr len flags(MS_*); aux: the hash of the file's bytes after */
    DC_FORK,        /* fork (mm_fork): a child, which ops with .child then run in
                       (a second fork replaces it) */
    DC_NR_OP_KINDS
};

struct dc_op {
    enum dc_op_kind kind;
    unsigned long addr;
    unsigned long len;
    int prot;               /* DC_MMAP, DC_MPROTECT */
    int flags;              /* DC_MMAP: MAP_*; DC_MLOCK2: MLOCK_*; DC_MLOCKALL: MCL_* */
    int advice;             /* DC_MADVISE */
    unsigned long offset;   /* DC_MMAP */
    unsigned long new_len;  /* DC_MREMAP */
    unsigned long new_addr; /* DC_MREMAP */
    int fill;               /* DC_WRITE: 0-255, that byte everywhere; DC_FILL_RAMP | b,
                               the byte at address a is (b + a) & 0xff, so that a byte
                               stored at the wrong place shows */
    bool file;              /* DC_MMAP: map the sequence's memfd or file (EBADF if none) */
    bool child;             /* run in the forked child (-ESRCH before a DC_FORK) */
};
/* A child's VMAs are listed in its parent's layouts with their addresses
 * moved up by this, after the parent's own. */
#define DC_CHILD_OFFSET (1UL << 62)
#define DC_FILE_TMPFS  1    /* DC_FILE: on tmpfs (/dev/shm), else on disk */
#define DC_FILE_RDONLY 2    /* DC_FILE: opened O_RDONLY, else O_RDWR */

/* The byte every byte of page p of a DC_FILE file holds at its creation. */
static inline unsigned char dc_file_byte(unsigned long p)
{
    return (unsigned char)(p * 37 + 11);
}
#define DC_FILL_RAMP 0x100

/* The byte DC_WRITE with fill stores at address a. */
static inline unsigned char dc_fill_byte(int fill, unsigned long a)
{
    return (unsigned char)(fill & DC_FILL_RAMP ? (unsigned long)fill + a : (unsigned long)fill);
}

/*
 * A successful mmap (or mremap) whose address lies outside the compared view (a hint the
 * kernel did not take, or no hint) returns this instead of the address: the
 * two address spaces differ outside the window, so where such a mapping
 * lands is not comparable.  The checker unmaps it at once on both sides.
 */
#define DC_RET_ELSEWHERE 1L

const char *dc_op_name(enum dc_op_kind kind);
/* The word a script line for op starts with ("mlock" for mlock2 onfault). */
const char *dc_op_word(const struct dc_op *op);

/*
 * One op in script form, e.g. "mprotect 0x100000002000 8k r--" (no newline).
 * dc_parse_line reads it back.  Returns the length snprintf would.
 */
int dc_format_op(char *buf, size_t size, const struct dc_op *op);
/* "0", "0x100000000000", "-ENOMEM", "elsewhere" */
int dc_format_ret(char *buf, size_t size, const struct dc_op *op, long ret);
/* "ENOMEM" for ENOMEM, "E123" for an errno it does not know. */
const char *dc_errno_name(int err);

/*
 * Would running op for real in a process whose only mappings near the window
 * are its own touch nothing outside [lo, hi), and give a result that does not
 * depend on what lies outside?  (See diffcheck_safe.c for the case analysis.)
 * mlock_unlimited: the process may lock any amount (CAP_IPC_LOCK).
 */
bool dc_op_safe(const struct dc_op *op, unsigned long lo, unsigned long hi, bool mlock_unlimited);

/*
 * Run op on a vmarea mm, as the syscall would run it in a process: the
 * return value is the address or 0, or -errno.  DC_WRITE and DC_READ go
 * through mm_write and mm_read: the bytes done before a failure, or -errno
 * when none were; a read also puts dc_hash of the bytes read in *aux (if not
 * NULL; 0 for every other op).
 */
long dc_vmarea_apply(struct mm *mm, const struct dc_op *op, uint64_t *aux);
/* After the last dc_vmarea_apply of a sequence, and after the mm is gone:
 * drop its memfd or file, and return a hash of the file's bytes as that
 * left them (0 if it had none), as DC_MSYNC's aux has them. */
uint64_t dc_vmarea_end(void);
/* Where DC_FILE puts a disk file (NULL: /var/tmp).  Kept, not copied. */
void dc_file_dir_set(const char *dir);

/* ------------------------------------------------------------- memory */

/*
 * DC_WRITE and DC_READ on the kernel side are plain loads and stores by the
 * process itself, guarded against SIGSEGV/SIGBUS (diffcheck_mem.c): the
 * result is what mm_write/mm_read report for the same access, the bytes done
 * before the first page that faulted, or when none were done, -EFAULT for
 * SEGV_MAPERR (no VMA, or nothing Linux would map there: a guard region),
 * -EACCES for SEGV_ACCERR or SEGV_PKUERR, -EIO for SIGBUS.
 * Not thread-safe (one signal handler, one jump buffer); meant for the
 * checker's single-threaded children.
 */
long dc_kernel_write(unsigned long addr, unsigned long len, int fill);
long dc_kernel_read(unsigned long addr, unsigned long len, uint64_t *hash);

/* A 64-bit hash of bytes, the same however the bytes are split into
 * dc_hash_update calls. */
struct dc_hash { uint64_t h, carry, total; unsigned ncarry; };
void     dc_hash_init(struct dc_hash *s);
void     dc_hash_update(struct dc_hash *s, const void *p, size_t len);
uint64_t dc_hash_final(const struct dc_hash *s);
uint64_t dc_hash_bytes(const void *p, size_t len);

/* One page of the view at the end of a sequence. */
#define DC_PAGE_MIXED       (-1)    /* fill: bytes of more than one value, no ramp */
#define DC_PAGE_UNREADABLE  (-2)    /* fill: no VMA there, or a load faults */
struct dc_page {
    uint64_t hash;                  /* dc_hash_bytes of the page; 0 if unreadable */
    int32_t fill;                   /* 0-255: every byte has this value; DC_FILL_RAMP | b: a
                                       ramp from b (what a ramp write leaves); or DC_PAGE_* */
    int32_t pad;
};
/* Fill *out from the PAGE bytes at page. */
void dc_page_summarize(const void *page, struct dc_page *out);
/* Is the page at a readable by a load in this process?  (Faults it in, the
 * zero page for untouched private anonymous memory, if it is.) */
bool dc_kernel_page_readable(unsigned long a);

/* ------------------------------------------------------------- layouts */

#define DC_MAX_VMAS   256
#define DC_FLAGS_MAX  128
#define DC_NAME_MAX   64

/* A VMA as smaps shows it.  Fixed size, no pointers: it travels over pipes. */
struct dc_vma {
    uint64_t start, end;            /* from the header line */
    uint64_t offset;                /* the header's offset column */
    uint64_t rss_kb, locked_kb;     /* "Rss:" and "Locked:" */
    uint64_t pss_kb, anon_kb;       /* "Pss:", "Anonymous:" */
    uint64_t private_clean_kb, private_dirty_kb, shared_clean_kb, shared_dirty_kb;
    uint64_t referenced_kb, lazyfree_kb; /* parsed and printed, not compared: see dc_layout_compare */
    int32_t pkey, thp_eligible;     /* "ProtectionKey:", "THPeligible:"; -1 if absent */
    char perms[5];                  /* "rw-p" */
    char flags[DC_FLAGS_MAX];       /* VmFlags tokens, one space apart, no trailing space */
    char name[DC_NAME_MAX];         /* pathname column, "" for none (truncated) */
};

/* The VMAs that intersect a view [lo, hi), in address order. */
struct dc_layout {
    unsigned n;
    bool truncated;                 /* more than DC_MAX_VMAS, or a field too long */
    unsigned outside;               /* VMAs seen outside [lo, hi) (all of them only if
                                       the text was read to the end) */
    struct dc_vma v[DC_MAX_VMAS];
};

/*
 * The smaps parser, fed line by line (or in arbitrary chunks), so the
 * kernel-side child can run it on /proc/self/smaps without allocating.
 * Lines whose first character is a lowercase hex digit are VMA headers;
 * the memory counters (Rss:, Pss:, ..., Locked:), ProtectionKey:, THPeligible:
 * and VmFlags: lines fill in the current VMA; other lines are ignored.  Only VMAs intersecting [lo, hi) are kept.
 */
struct dc_smaps_parser {
    unsigned long lo, hi;
    struct dc_layout *out;
    bool in_view;                   /* the current VMA is kept */
    bool past;                      /* a VMA at or above hi was seen: the rest is of no interest */
    bool bad;                       /* a header line could not be parsed */
    size_t carry_len;               /* bytes of an unfinished line in carry */
    char carry[512];
};
void dc_smaps_begin(struct dc_smaps_parser *p, unsigned long lo, unsigned long hi, struct dc_layout *out);
void dc_smaps_feed(struct dc_smaps_parser *p, const char *buf, size_t len);
/* Flush a last line without newline.  Returns 0, or -1 if a header was malformed. */
int  dc_smaps_end(struct dc_smaps_parser *p);
/* All three at once. */
int  dc_smaps_parse(const char *text, size_t len, unsigned long lo, unsigned long hi,
                    struct dc_layout *out);

enum dc_vma_diff {
    DC_SAME = 0,
    DC_DIFF_COUNT = 1 << 0,     /* different number of VMAs */
    DC_DIFF_BOUNDS = 1 << 1,
    DC_DIFF_PERMS = 1 << 2,
    DC_DIFF_FLAGS = 1 << 3,     /* VmFlags */
    DC_DIFF_OFFSET = 1 << 4,
    DC_DIFF_NAME = 1 << 5,
    DC_DIFF_RSS = 1 << 6,       /* the memory counters below, only when asked for: Rss */
    DC_DIFF_OUTSIDE = 1 << 7,   /* VMAs outside the view */
    DC_DIFF_FIELDS = 1 << 8,    /* ProtectionKey or THPeligible */
    DC_DIFF_ANON = 1 << 9,      /* Anonymous */
    DC_DIFF_DIRTY = 1 << 10,    /* Private_Dirty */
    DC_DIFF_LOCKED = 1 << 11,   /* Locked */
    DC_DIFF_PSS = 1 << 12,      /* Pss */
    DC_DIFF_CLEAN = 1 << 13,    /* Private_Clean, Shared_Clean, Shared_Dirty */
};
#define DC_DIFF_MEMORY (DC_DIFF_RSS | DC_DIFF_ANON | DC_DIFF_DIRTY | DC_DIFF_LOCKED | \
                        DC_DIFF_PSS | DC_DIFF_CLEAN)
/* Bitmask of dc_vma_diff: how a differs from b.  compare_mem: the memory
 * counters too (not Referenced or LazyFree: Linux updates them when per-CPU
 * LRU batches drain, which no sequence of calls decides). */
unsigned dc_layout_compare(const struct dc_layout *a, const struct dc_layout *b, bool compare_mem);
/* maps-like lines with VmFlags, each prefixed by indent; VMAs marked '*' that
 * have no identical twin in other (NULL: mark none). */
void dc_layout_print(FILE *out, const struct dc_layout *l, const struct dc_layout *other,
                     const char *indent, bool with_rss);

/* ------------------------------------------------------------- scripts */

/*
 * Parse one line of the op script language (docs/maps-script.md).
 * Returns 1 and fills *op for an op, 0 for a blank or comment line, -1 with a
 * message in err (no line number: the caller knows it) for a bad line.
 */
int dc_parse_line(const char *line, struct dc_op *op, char *err, size_t errsize);

struct dc_script {
    struct dc_op *ops;
    unsigned *lines;        /* line number of each op, from 1 */
    size_t n;
};
/*
 * Read a whole script.  On bad lines, writes "NAME:LINE: message" for each
 * to errout (if not NULL) and returns -1 with *nerrors set (the script is
 * still freed; *script empty); 0 on success.
 */
int  dc_script_read(FILE *in, const char *name, struct dc_script *script, FILE *errout,
                    unsigned *nerrors);
void dc_script_free(struct dc_script *script);

/* ---------------------------------------------------------------- PRNG */

/* splitmix64: small, fast, and the same on every machine. */
struct dc_rng { uint64_t state; };
static inline uint64_t dc_rng_next(struct dc_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* -------------------------------------------------------------- checker */

enum dc_mlock_mode {
    DC_MLOCK_AUTO = 0,      /* FULL with CAP_IPC_LOCK, else LIMITED if the limit allows, else NONE */
    DC_MLOCK_FULL,          /* every mlock case, including huge lengths */
    DC_MLOCK_LIMITED,       /* only lengths inside the window (RLIMIT_MEMLOCK) */
    DC_MLOCK_NONE,          /* no mlock, mlock2, munlock or MAP_LOCKED */
};

/* The mode's name in --mlock: "auto", "full", "limited", "none" ("auto" for
 * a value that is no mode). */
const char *dc_mlock_mode_name(enum dc_mlock_mode m);
/* The mode named name (dc_mlock_mode_name's); false if there is none. */
bool dc_mlock_mode_parse(const char *name, enum dc_mlock_mode *m);

/*
 * Called in the vmarea-side child after each op (test-only: a way to make the
 * vmarea side deliberately wrong).  mm is the vmarea mm, or NULL when the
 * second side is the kernel too (kernel_vs_kernel).  Returns the return value
 * to record in place of ret.
 */
typedef long (*dc_perturb_fn)(void *arg, struct mm *mm, uint64_t seed, unsigned index,
                              const struct dc_op *op, long ret);

struct dc_options {
    uint64_t seed;              /* sequence i uses seed + i */
    unsigned long sequences;    /* 0: 10000 */
    unsigned ops_per_seq;       /* 0: 20; at most DC_MAX_OPS */
    unsigned jobs;              /* sequences run at once; 0: one per CPU, at most 4 */
    FILE *progress;             /* a progress line now and then; NULL: none */
    FILE *report;               /* full report of each reported mismatch as found; NULL: none */
    unsigned max_reports;       /* mismatches kept with a full report; 0: 1 */
    unsigned long stop_after;   /* stop after this many mismatching sequences; 0: never */
    /* generator */
    unsigned long window;       /* window base; 0: 0x200000000000 */
    unsigned window_pages;      /* 0: 64 */
    unsigned margin_pages;      /* free pages compared on each side; 0: 16 */
    enum dc_mlock_mode mlock;
    bool shared_anon;           /* also MAP_SHARED|MAP_ANONYMOUS */
    bool memfd;                 /* also a memfd: mapped shared and private, truncated */
    bool files;                 /* also host files on disk and tmpfs: mapped, truncated,
                                   msync'd, and their bytes compared */
    const char *file_dir;       /* where disk files go; NULL: $TMPDIR, else /var/tmp */
    bool fork;                  /* also a fork per sequence, and calls in the child */
    bool extra_advice;          /* also MERGEABLE, UNMERGEABLE, PAGEOUT, GUARD_INSTALL/REMOVE */
    bool mlockall;              /* also mlockall and munlockall (only with DC_MLOCK_FULL) */
    bool mremap;                /* also mremap */
    bool no_memory;             /* no memory ops (write, read, and the madvise and mmap
                                   flags that fault or zap pages come up no more often
                                   than in the VMA-only mix), no per-VMA memory counters
                                   (unless compare_rss), no page contents, host THP */
    /* the vmarea side's configuration (the host model); NULL: mm_config_from_host */
    const struct mm_config *mm_config;
    /* comparison */
    bool compare_rss;           /* compare the memory counters even with no_memory */
    unsigned timeout_seconds;   /* per side per sequence; 0: 20 */
    /* test-only */
    bool kernel_vs_kernel;      /* second side is the kernel too: checks the checker */
    dc_perturb_fn perturb;
    void *perturb_arg;
};

#define DC_MAX_OPS 256

/* One mismatching sequence, as reported. */
struct dc_mismatch {
    uint64_t seed;
    unsigned long index;        /* sequence number in the run */
    int first_op;               /* first diverging op, -1 if the replay did not diverge */
    char category[96];          /* e.g. "mprotect: return value", "madvise(dontfork): VmFlags" */
    char *text;                 /* the full report (malloc'd), NULL if not kept */
};

/* Mismatches grouped by category, each with its lowest-index seed. */
struct dc_category {
    char name[96];
    unsigned long count;
    uint64_t seed;              /* of the first (lowest index) mismatch in it */
    unsigned long index;
    int first_op;
};

struct dc_result {
    unsigned long sequences;    /* run to the end and compared */
    unsigned long operations;
    unsigned long failed;       /* operations that failed on Linux (error paths covered) */
    unsigned long mismatches;   /* sequences with any difference */
    unsigned long crashes;      /* of those, sequences where a side died or hung */
    double seconds;
    char kernel[128];           /* uname -r of the host */
    enum dc_mlock_mode mlock;   /* the mode used (AUTO resolved) */
    char replay_flags[256];      /* generator options to add to a replay command line */
    /* the lowest-index mismatches with full reports, sorted by index */
    struct dc_mismatch *reports;
    unsigned nreports;
    struct dc_category *categories; /* sorted by count, descending */
    unsigned ncategories;
    char error[256];            /* why dc_run returned < 0 */
};

/*
 * Run the checker.  Returns 0 when every sequence matched, 1 when some did
 * not, -1 when the check could not run (window not free, fork failed, ...;
 * result->error says why).  Free the result with dc_result_free.
 */
int  dc_run(const struct dc_options *opt, struct dc_result *result);
void dc_result_free(struct dc_result *result);

/* The ops of sequence seed under opt (ops_per_seq of them) into ops[]. */
unsigned dc_generate(const struct dc_options *opt, uint64_t seed, struct dc_op *ops);

/* Run one given op list differentially (e.g. a script), report to out.
 * Returns 0 on match, 1 on mismatch, -1 on error (message to out).
 * Every op must pass dc_op_safe for the window of opt. */
int  dc_check_ops(const struct dc_options *opt, const struct dc_op *ops, unsigned n, FILE *out);

/*
 * Shrink a mismatching op list (a script, or a generated sequence) to one
 * that still shows the same kind of first difference: ops are dropped one at
 * a time, keeping each drop after which the sides still part the same way
 * (the category, numbers aside), and whatever follows the first difference.
 * ops[0..*n) in; the shorter list in ops[0..*n) out, its category in
 * category.  Returns 0, 1 if the sides matched to begin with, -1 on error
 * (message in category).  Runs both sides a few times per op (for at most
 * 30 seconds, then returns what it has): for a report, not for every
 * mismatch of a run.
 */
int  dc_minimize(const struct dc_options *opt, struct dc_op *ops, unsigned *n, char *category,
                 size_t size);

/* Could the window and its margins be used in this process?  0, or -1 with
 * a message naming what is in the way. */
int  dc_window_check(const struct dc_options *opt, char *err, size_t errsize);

/*
 * The host model in one line, e.g. "Linux 6.18.44, zero page off, soft-dirty
 * off, pkeys on, anon names off, THP madvise, fault-around 64k,
 * max_map_count 65530, mmap_min_addr 65536" (diffcheck_host.c).
 */
struct mm_config;
void dc_host_describe(const struct mm_config *c, char *buf, size_t size);

/*
 * Override properties of c from a comma-separated list of PROP=VALUE:
 * zero-page, huge-zero-page, soft-dirty, pkeys, anon-names, split-zero-remap (on or off),
 * thp (always, madvise, never), fault-around (4k to 2048k).  0, or -1 with
 * a message in err.
 */
int dc_host_set(struct mm_config *c, const char *list, char *err, size_t errsize);

#endif

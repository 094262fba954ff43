/* SPDX-License-Identifier: MIT */
/*
 * diffcheck_gen.c — the sequence generator: random op sequences inside the
 * window, a pure function of a seed and the generator options, so that a
 * seed names a sequence (vmarea check --seed S --sequences 1 replays it).
 *
 * The generator keeps a rough model of which window pages are mapped, from
 * the ops alone (not from results: a sequence stays a pure function of its
 * seed), so that it can aim ranges at mappings and at their edges.  Ranges
 * drawn blind over a mostly empty window mostly hit holes and fail with
 * ENOMEM; the interesting rules (splits, merges, partial failures) are at
 * the edges of what is mapped.  Besides calls that should succeed it draws
 * calls Linux must refuse (bad flags, huge or zero lengths, unaligned
 * addresses), all of them ops that dc_op_safe lets run for real: an op it
 * does not is a generator bug, and aborts.
 */
#define _GNU_SOURCE
#include "diffcheck_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* One sequence being drawn: the random state, and the model of the window
 * (mapped[i]: page i is probably mapped). */
struct gen {
    struct dc_rng rng;
    const struct cfg *c;
    /* A disk file's size: truncations of one only shrink it.  A hole made
     * by growing it would be read cold, and which pages the host's
     * read-ahead then brings in and marks (fault-around skips those) is
     * not something a process can see; 0 for a memfd or tmpfs file. */
    unsigned long disk_size;
    /* A disk file was mapped in this sequence: no hole punched in one
     * (MADV_REMOVE) and no page reclaimed (MADV_PAGEOUT), for the same
     * reason (a cold page). */
    bool had_disk;
    unsigned char mapped[MODEL_PAGES];
};

static unsigned long rnd(struct gen *g, unsigned long n)
{
    return n ? dc_rng_next(&g->rng) % n : 0;
}

/* true with probability per_mille / 1000 */
static bool chance(struct gen *g, unsigned per_mille)
{
    return rnd(g, 1000) < per_mille;
}

/* Pages [*p, *p + *n) around a predicted mapping: starting at its first
 * page, inside it, or just before it; ending at its end, inside, or past
 * it.  False if the model has nothing mapped. */
static bool model_range(struct gen *g, unsigned W, unsigned *p, unsigned *n)
{
    unsigned cnt = 0;
    for (unsigned i = 0; i < W; i++)
        cnt += g->mapped[i];
    if (!cnt)
        return false;
    unsigned k = (unsigned)rnd(g, cnt), m = 0;
    for (m = 0; m < W; m++)
        if (g->mapped[m] && k-- == 0)
            break;
    unsigned rs = m, re = m + 1;
    while (rs > 0 && g->mapped[rs - 1])
        rs--;
    while (re < W && g->mapped[re])
        re++;
    unsigned r = (unsigned)rnd(g, 100), start, end;
    if (r < 40)
        start = rs;
    else if (r < 75)
        start = m;
    else if (r < 85)
        start = rs >= 2 ? rs - 1 - (unsigned)rnd(g, 2) : rs;
    else
        start = rs + (unsigned)rnd(g, re - rs);
    r = (unsigned)rnd(g, 100);
    if (r < 40)
        end = re;
    else if (r < 85)
        end = start + 1 + (unsigned)rnd(g, re > start + 1 ? re - start - 1 : 1);
    else
        end = re + 1 + (unsigned)rnd(g, 3);
    if (end <= start)
        end = start + 1;
    if (end > W)
        end = W;
    *p = start;
    *n = end - start;
    return *n > 0;
}

/*
 * A range of whole pages inside the window: most of the time around a
 * mapping (model_range), else biased to short lengths and, half the time, to
 * a coarse grid, so that ranges often meet existing VMA edges exactly.
 * Sometimes an unaligned address (kept a page short of the window's end,
 * because mlock and a mmap hint round it) or an unaligned length (rounded up).
 */
static void gen_range(struct gen *g, unsigned long *addr, unsigned long *len)
{
    unsigned W = g->c->o.window_pages;
    unsigned p, n, maxn;
    if (chance(g, 750) && model_range(g, W, &p, &n)) {
        maxn = W - p;
    } else if (W >= 8 && chance(g, 500)) {
        p = 4 * (unsigned)rnd(g, W / 4);
        maxn = W - p;
        n = 4 * (1 + (unsigned)rnd(g, 4));
    } else {
        p = (unsigned)rnd(g, W);
        maxn = W - p;
        unsigned r = (unsigned)rnd(g, 100);
        n = 1 + (unsigned)rnd(g, r < 50 ? 4 : r < 85 ? 16 : maxn);
    }
    if (n > maxn)
        n = maxn;
    *addr = g->c->win_lo + (unsigned long)p * PAGE;
    *len = (unsigned long)n * PAGE;
    if (n < maxn && chance(g, 40))
        *addr += 1 + rnd(g, PAGE - 1);
    if (chance(g, 50))
        *len -= 1 + rnd(g, PAGE - 1);
}

static int gen_prot(struct gen *g)
{
    int prot = (int)rnd(g, 8);
    if (chance(g, 20))
        prot |= PROT_SEM;
    if (chance(g, 10))
        prot |= 0x10;
    return prot;
}

static const int common_advice[] = {
    MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED,
    MADV_FREE, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK, MADV_HUGEPAGE,
    MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK,
    MADV_COLD, 22 /* POPULATE_READ */, 23 /* POPULATE_WRITE */, 24 /* DONTNEED_LOCKED */,
};
/* Flags-only advices come up more often: they split and merge. */
static const int flag_advice[] = {
    MADV_RANDOM, MADV_SEQUENTIAL, MADV_NORMAL, MADV_DONTFORK, MADV_DOFORK,
    MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_HUGEPAGE,
    MADV_NOHUGEPAGE,
};
static const int extra_advice[] = {
    MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_PAGEOUT, 102 /* GUARD_INSTALL */, 103 /* GUARD_REMOVE */,
};
static const int invalid_advice[] = { 5, 6, 7, 999, -1, 0x7fffffff };
/* With memory ops: the advices that zap, populate or age pages. */
static const int memory_advice[] = {
    MADV_DONTNEED, MADV_DONTNEED, MADV_DONTNEED, 24 /* DONTNEED_LOCKED */,
    22 /* POPULATE_READ */, 23 /* POPULATE_WRITE */, 23, MADV_FREE, MADV_COLD,
};

#define PICK(g, arr) ((arr)[rnd((g), sizeof(arr) / sizeof((arr)[0]))])

static void gen_mmap(struct gen *g, struct dc_op *op)
{
    op->kind = DC_MMAP;
    gen_range(g, &op->addr, &op->len);
    op->prot = gen_prot(g);
    if (chance(g, 10))
        op->prot |= PROT_GROWSDOWN;

    int type = MAP_PRIVATE;
    if (g->c->o.shared_anon && chance(g, 150))
        type = MAP_SHARED;
    if (chance(g, 20)) {
        static const int bad_types[] = { 0, MAP_SHARED_VALIDATE, 0x04, 0x0f };
        type = PICK(g, bad_types);
        if (type == MAP_SHARED_VALIDATE && chance(g, 500))
            type |= 0x800000;       /* unknown to MAP_SHARED_VALIDATE */
    }
    int flags = type;
    if (!chance(g, 10))
        flags |= MAP_ANONYMOUS;

    unsigned r = (unsigned)rnd(g, 100);
    bool fixed = true;
    if (r < 65)
        flags |= MAP_FIXED;
    else if (r < 80)
        flags |= MAP_FIXED_NOREPLACE;
    else if (r < 83)
        flags |= MAP_FIXED | MAP_FIXED_NOREPLACE;
    else if (r < 98)
        fixed = false;                  /* a hint */
    else {
        fixed = false;
        op->addr = 0;                   /* no hint at all */
    }

    if (chance(g, 100))
        flags |= MAP_NORESERVE;
    if (chance(g, 50))
        flags |= MAP_GROWSDOWN;
    if (chance(g, 50))
        flags |= MAP_STACK;
    if (g->c->o.mlock != DC_MLOCK_NONE && chance(g, 40))
        flags |= MAP_LOCKED;
    if (chance(g, 50))
        flags |= MAP_POPULATE;
    if (chance(g, 10))
        flags |= MAP_NONBLOCK;
    if (chance(g, 10))
        flags |= MAP_DENYWRITE;
    if (chance(g, 10))
        flags |= MAP_EXECUTABLE;
    if (chance(g, 5))
        flags |= MAP_UNINITIALIZED;
    /* With memory ops, populate more often: MAP_LOCKED populates too.  (Drawn
     * only then, so that a seed means the same sequence without them.) */
    if (g->c->memory) {
        if (chance(g, 120))
            flags |= MAP_POPULATE;
        if (g->c->o.mlock != DC_MLOCK_NONE && chance(g, 40))
            flags |= MAP_LOCKED;
    }
    op->flags = flags;

    if (chance(g, 20))
        op->offset = 1 + rnd(g, PAGE - 1);
    else if (chance(g, 10))
        op->offset = 0xfffffffffffff000UL;

    r = (unsigned)rnd(g, 1000);
    if (r < 25) {
        op->len = 0;
    } else if (r < 55) {
        unsigned long huge[] = { TASK_SIZE + PAGE, ~0UL, ~0UL - PAGE + 1, TASK_SIZE + PAGE,
                                 fixed ? TASK_SIZE - op->addr + PAGE : 1UL << 63 };
        op->len = PICK(g, huge);
    }
    /* A mapping of the sequence's memfd or file, shared or private, at an
     * offset inside or past its end (drawn only with them on, so that a
     * seed means the same sequence without them). */
    if ((g->c->o.memfd || g->c->o.files) && chance(g, 450)) {
        op->file = true;
        op->flags &= ~MAP_ANONYMOUS;
        if ((op->flags & 0x0f) == MAP_PRIVATE && chance(g, 500))
            op->flags ^= MAP_PRIVATE | MAP_SHARED;
        if (!chance(g, 100))
            op->offset = rnd(g, 72) * PAGE;
    }
}

/* A memfd's size, or a truncation's: up to 72 pages, a part page at times. */
static void gen_file_size(struct gen *g, struct dc_op *op, enum dc_op_kind kind)
{
    op->kind = kind;
    op->len = rnd(g, 73) * PAGE;
    if (chance(g, 150))
        op->len += 1 + rnd(g, PAGE - 1);
}

/* A host file: on disk or tmpfs, open read-write mostly. */
static void gen_file(struct gen *g, struct dc_op *op)
{
    gen_file_size(g, op, DC_FILE);
    if (chance(g, 300))
        op->flags |= DC_FILE_TMPFS;
    if (chance(g, 150))
        op->flags |= DC_FILE_RDONLY;
}

/* msync: MS_SYNC mostly, over a range around a mapping (gen_range). */
static void gen_msync(struct gen *g, struct dc_op *op)
{
    static const int flags[] = { MS_SYNC, MS_SYNC, MS_SYNC, MS_ASYNC, MS_INVALIDATE, MS_SYNC | MS_INVALIDATE,
                                 MS_ASYNC | MS_INVALIDATE, 0, MS_SYNC | MS_ASYNC, 8 };
    op->kind = DC_MSYNC;
    gen_range(g, &op->addr, &op->len);
    op->flags = PICK(g, flags);
    if (chance(g, 20))
        op->len = ~0UL;
}

static void gen_munmap(struct gen *g, struct dc_op *op)
{
    op->kind = DC_MUNMAP;
    gen_range(g, &op->addr, &op->len);
    unsigned r = (unsigned)rnd(g, 1000);
    if (r < 25) {
        op->len = 0;
    } else if (r < 55) {
        unsigned long huge[] = { ~0UL, TASK_SIZE + PAGE, TASK_SIZE - op->addr + PAGE, ~0UL - PAGE + 2 };
        op->len = PICK(g, huge);
    }
}

static void gen_mprotect(struct gen *g, struct dc_op *op)
{
    op->kind = DC_MPROTECT;
    gen_range(g, &op->addr, &op->len);
    op->prot = gen_prot(g);
    unsigned r = (unsigned)rnd(g, 1000);
    if (r < 60)
        op->prot |= PROT_GROWSDOWN;
    else if (r < 70)
        op->prot |= PROT_GROWSUP;
    else if (r < 80)
        op->prot |= PROT_GROWSDOWN | PROT_GROWSUP;
    else if (r < 90)
        op->prot |= 0x20;
    r = (unsigned)rnd(g, 1000);
    if (r < 25) {
        op->len = 0;
    } else if (r < 55) {
        bool grows = op->prot & PROT_GROWSDOWN;
        unsigned long huge[] = { ~0UL, ~0UL - 3 * PAGE, grows ? ~0UL : 1UL << 46,
                                 grows ? ~0UL - PAGE : TASK_SIZE };
        op->len = PICK(g, huge);
    }
}

static void gen_madvise(struct gen *g, struct dc_op *op)
{
    op->kind = DC_MADVISE;
    gen_range(g, &op->addr, &op->len);
    unsigned r = (unsigned)rnd(g, 1000);
    if (r < 30)
        op->advice = PICK(g, invalid_advice);
    else if (g->c->o.extra_advice && r < 130)
        op->advice = PICK(g, extra_advice);
    else if (r < 600)
        op->advice = PICK(g, flag_advice);
    else
        op->advice = PICK(g, common_advice);
    r = (unsigned)rnd(g, 1000);
    if (r < 25) {
        op->len = 0;
    } else if (r < 45) {
        unsigned long huge[] = { ~0UL, ~0UL - 3 * PAGE };
        op->len = PICK(g, huge);
    }
    if (g->c->memory && chance(g, 300))
        op->advice = PICK(g, memory_advice);
    if (g->had_disk && (op->advice == MADV_REMOVE || op->advice == MADV_PAGEOUT))
        op->advice = MADV_DONTNEED;
}

/* A store or a load: around a mapping most of the time (gen_range). */
static void gen_access(struct gen *g, struct dc_op *op, enum dc_op_kind kind)
{
    op->kind = kind;
    gen_range(g, &op->addr, &op->len);
    if (kind == DC_WRITE)
        op->fill = chance(g, 50) ? 0 : 1 + (int)rnd(g, 255);
    if (kind == DC_WRITE && chance(g, 250))
        op->fill |= DC_FILL_RAMP;
    if (chance(g, 10))
        op->len = 0;
}

static void gen_mlock(struct gen *g, struct dc_op *op, enum dc_op_kind kind)
{
    op->kind = kind;
    gen_range(g, &op->addr, &op->len);
    if (kind == DC_MLOCK2) {
        unsigned r = (unsigned)rnd(g, 100);
        static const unsigned bad_flags[] = { 2, 3, 0x80000000U };
        op->flags = r < 92 ? (int)MLOCK_ONFAULT : r < 96 ? 0 : (int)PICK(g, bad_flags);
    }
    unsigned r = (unsigned)rnd(g, 1000);
    if (r < 25) {
        op->len = 0;
    } else if (r < 55) {
        /* Without CAP_IPC_LOCK, mlock meets RLIMIT_MEMLOCK first. */
        bool any = kind == DC_MUNLOCK || g->c->mlock_unlimited;
        unsigned long huge[] = { ~0UL, ~0UL - 3 * PAGE, 1UL << 46 };
        op->len = any ? PICK(g, huge) : ~0UL;
        if (!any)
            op->addr &= ~(PAGE - 1);
    }
}

/* Never MCL_CURRENT without MCL_ONFAULT: see dc_op_safe. */
static void gen_mlockall(struct gen *g, struct dc_op *op)
{
    static const int flags[] = {
        MCL_FUTURE, MCL_FUTURE, MCL_FUTURE, MCL_CURRENT | MCL_ONFAULT, MCL_CURRENT | MCL_ONFAULT,
        MCL_FUTURE | MCL_ONFAULT, MCL_FUTURE | MCL_ONFAULT, MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT,
    };
    static const int bad[] = { 0, MCL_ONFAULT, 8, 0x100 | MCL_FUTURE };
    op->kind = DC_MLOCKALL;
    op->flags = chance(g, 100) ? PICK(g, bad) : PICK(g, flags);
}

/*
 * mremap of a range around a mapping: grow (in place if the pages after it
 * are free, else moved when allowed), shrink, or move it to a fixed place
 * in the window, sometimes keeping the old one (DONTUNMAP).
 */
static void gen_mremap(struct gen *g, struct dc_op *op)
{
    unsigned W = g->c->o.window_pages;
    op->kind = DC_MREMAP;
    gen_range(g, &op->addr, &op->len);
    unsigned long oldl = page_align(op->len);
    unsigned long room = g->c->win_hi - (op->addr & ~(PAGE - 1));
    unsigned r = (unsigned)rnd(g, 100);
    if (r < 45) {
        op->new_len = oldl + (1 + rnd(g, 8)) * PAGE;
    } else if (r < 75) {
        op->new_len = oldl > PAGE ? (1 + rnd(g, oldl / PAGE - 1)) * PAGE : PAGE;
    } else {
        op->new_len = oldl;
    }
    if (op->new_len > room)
        op->new_len = room;
    if (op->new_len && chance(g, 50))
        op->new_len -= 1 + rnd(g, PAGE - 1);

    r = (unsigned)rnd(g, 100);
    if (r < 55)
        op->flags = MREMAP_MAYMOVE;
    else if (r < 70)
        op->flags = 0;
    else if (r < 88)
        op->flags = MREMAP_MAYMOVE | MREMAP_FIXED;
    else if (r < 97)
        op->flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP | (chance(g, 500) ? MREMAP_FIXED : 0);
    else
        op->flags = PICK(g, ((const int[]){ MREMAP_FIXED, MREMAP_DONTUNMAP, 8 }));
    if (op->flags & MREMAP_FIXED) {
        unsigned long n = page_align(op->new_len) / PAGE;
        unsigned p = n < W ? (unsigned)rnd(g, W - n + 1) : 0;
        op->new_addr = g->c->win_lo + (unsigned long)p * PAGE;
        if (n > W)
            op->new_len = (unsigned long)W * PAGE;
        if (chance(g, 30))
            op->new_addr += 1 + rnd(g, PAGE - 1);
    }
    r = (unsigned)rnd(g, 1000);
    if (r < 20)
        op->len = 0;                    /* duplicates a shared mapping */
    else if (r < 40)
        op->new_len = 0;
    else if (r < 55)
        op->new_len = PICK(g, ((const unsigned long[]){ TASK_SIZE + PAGE, ~0UL, ~0UL - PAGE + 1 }));
}

/* What the op probably did to the window: a guess, only to aim later ops. */
static void model_update(struct gen *g, const struct dc_op *op)
{
    unsigned long lo = g->c->win_lo, hi = g->c->win_hi;
    unsigned long a = op->addr, len = page_align(op->len);
    if (a & (PAGE - 1) || !len || a < lo || a >= hi || len > hi - a)
        return;
    unsigned p = (unsigned)((a - lo) / PAGE), n = (unsigned)(len / PAGE);
    if (op->kind == DC_MREMAP) {
        unsigned long nl = page_align(op->new_len);
        if (!nl || nl > hi - lo || (op->flags & ~7) || !memchr(g->mapped + p, 1, n))
            return;
        if (!(op->flags & MREMAP_DONTUNMAP))
            memset(g->mapped + p, 0, n);
        unsigned long to = op->flags & MREMAP_FIXED ? op->new_addr : a;
        if (!(to & (PAGE - 1)) && to >= lo && nl <= hi - to)
            memset(g->mapped + (to - lo) / PAGE, 1, nl / PAGE);
        return;
    }
    if (op->kind == DC_MUNMAP) {
        memset(g->mapped + p, 0, n);
    } else if (op->kind == DC_MMAP) {
        int type = op->flags & 0x0f;
        if (!(op->flags & MAP_ANONYMOUS) != op->file || (type != MAP_PRIVATE && type != MAP_SHARED) ||
            op->offset & (PAGE - 1) || ((op->flags & MAP_GROWSDOWN) && type == MAP_SHARED))
            return;
        bool any = memchr(g->mapped + p, 1, n) != NULL;
        if ((op->flags & MAP_FIXED_NOREPLACE) || !(op->flags & MAP_FIXED)) {
            if (any)
                return;     /* EEXIST, or the hint is not taken */
        }
        memset(g->mapped + p, 1, n);
    }
}

unsigned dc_generate(const struct dc_options *opt, uint64_t seed, struct dc_op *ops)
{
    struct cfg c;
    dc_cfg_resolve(opt, &c);
    struct gen g;
    memset(&g, 0, sizeof(g));
    g.rng.state = seed;
    g.c = &c;
    bool mlock = c.o.mlock != DC_MLOCK_NONE;
    /* mlockall(MCL_CURRENT) weighs the whole child against RLIMIT_MEMLOCK. */
    bool mlockall = c.mlock_unlimited && c.o.mlockall;
    /* how often each kind of op is drawn, relative to the others */
    const unsigned w[DC_NR_OP_KINDS] = {
        [DC_MMAP] = 28, [DC_MUNMAP] = 12, [DC_MPROTECT] = 20, [DC_MADVISE] = 18,
        [DC_MLOCK] = mlock ? 7 : 0, [DC_MLOCK2] = mlock ? 7 : 0, [DC_MUNLOCK] = mlock ? 8 : 0,
        [DC_MLOCKALL] = mlockall ? 2 : 0, [DC_MUNLOCKALL] = mlockall ? 2 : 0,
        [DC_MREMAP] = c.o.mremap ? 14 : 0, [DC_WRITE] = c.memory ? 22 : 0,
        [DC_READ] = c.memory ? 10 : 0,
        [DC_MEMFD] = c.o.memfd ? 1 : 0, [DC_TRUNCATE] = c.o.memfd || c.o.files ? 5 : 0,
        [DC_FILE] = c.o.files ? 1 : 0, [DC_MSYNC] = c.o.files ? 8 : 0,
    };
    unsigned total = 0;
    for (unsigned k = 0; k < DC_NR_OP_KINDS; k++)
        total += w[k];

    unsigned forked_at = c.o.fork ? 1 + (unsigned)rnd(&g, c.o.ops_per_seq / 2 + 1) : ~0U;
    for (unsigned i = 0; i < c.o.ops_per_seq; i++) {
        struct dc_op *op = &ops[i];
        memset(op, 0, sizeof(*op));
        unsigned r = (unsigned)rnd(&g, total), k = 0;
        while (r >= w[k]) {
            r -= w[k];
            k++;
        }
        /* An empty window makes every other op fail the same way: map
         * something first, most of the time. */
        if (k != DC_MMAP && !memchr(g.mapped, 1, c.o.window_pages) && chance(&g, 750))
            k = DC_MMAP;
        if (i == 0 && (c.o.memfd || c.o.files))   /* every sequence starts with its memfd or file */
            k = c.o.files && (!c.o.memfd || chance(&g, 500)) ? DC_FILE : DC_MEMFD;
        switch ((enum dc_op_kind)k) {
        case DC_MMAP: gen_mmap(&g, op); break;
        case DC_MUNMAP: gen_munmap(&g, op); break;
        case DC_MPROTECT: gen_mprotect(&g, op); break;
        case DC_MADVISE: gen_madvise(&g, op); break;
        case DC_MLOCK: gen_mlock(&g, op, DC_MLOCK); break;
        case DC_MLOCK2: gen_mlock(&g, op, DC_MLOCK2); break;
        case DC_MUNLOCK: gen_mlock(&g, op, DC_MUNLOCK); break;
        case DC_MLOCKALL: gen_mlockall(&g, op); break;
        case DC_MUNLOCKALL: op->kind = DC_MUNLOCKALL; break;
        case DC_MREMAP: gen_mremap(&g, op); break;
        case DC_WRITE: gen_access(&g, op, DC_WRITE); break;
        case DC_MEMFD:
            gen_file_size(&g, op, DC_MEMFD);
            g.disk_size = 0;
            break;
        case DC_TRUNCATE:
            gen_file_size(&g, op, DC_TRUNCATE);
            if (g.disk_size) {
                op->len = rnd(&g, g.disk_size + 1);
                g.disk_size = op->len ? op->len : 1;
            }
            break;
        case DC_FILE:
            gen_file(&g, op);
            g.disk_size = op->flags & DC_FILE_TMPFS ? 0 : op->len ? op->len : 1;
            g.had_disk |= !(op->flags & DC_FILE_TMPFS);
            break;
        case DC_MSYNC: gen_msync(&g, op); break;
        default: gen_access(&g, op, DC_READ); break;
        }
        /* With forks: one per sequence, in its first half, and after it
         * nearly half the memory calls go to the child (the file calls
         * stay before it: the child shares the parent's file). */
        if (c.o.fork && i == forked_at) {
            memset(op, 0, sizeof(*op));
            op->kind = DC_FORK;
        } else if (c.o.fork && i > forked_at) {
            if (op->kind == DC_MEMFD || op->kind == DC_FILE || op->kind == DC_TRUNCATE)
                gen_access(&g, op, DC_READ);
            op->child = chance(&g, 450);
        }
        if (!op->child)
            model_update(&g, op);
        if (!dc_op_safe(op, c.win_lo, c.win_hi, c.mlock_unlimited)) {
            char buf[200];
            dc_format_op(buf, sizeof(buf), op);
            fprintf(stderr, "diffcheck: generator bug: unsafe op '%s' (seed 0x%llx, op %u)\n",
                    buf, (unsigned long long)seed, i);
            abort();
        }
    }
    return c.o.ops_per_seq;
}

/* SPDX-License-Identifier: MIT */
/*
 * txbuf — a driver-like mappable object in the shape of Android Binder's
 * buffer allocator, written against vmarea's public interface only.
 *
 * The idea Binder rests on: a receiving process maps the driver read-only,
 * once.  When a transaction arrives, the driver (not the process) copies the
 * sender's data into pages it owns and inserts those pages into the
 * receiver's mapping; the receiver reads the data in place, without a copy
 * of its own, and cannot scribble over it.  When the receiver is done with
 * a buffer the driver keeps its pages mapped, so that the next transaction
 * costs neither an allocation nor a page-table update; only under memory
 * pressure does a shrinker take idle pages back.
 *
 * What this file shows, in order:
 *   txbuf_mmap         the mmap hook: refuse write access for good
 *                      (VM_MAYWRITE cleared), no copy into a child
 *                      (VM_DONTCOPY), pages inserted by the driver (VM_MIXEDMAP)
 *   txbuf_insert_page  vma_insert_page under the VMA's own read lock, or the
 *                      mmap read lock when that lock is contended
 *   txbuf_shrink       give idle pages back: mmap_read_trylock, vma_lookup,
 *                      the owner check, vma_zap_page_range_single, vm_page_put
 *   main               a receiver's life, checking each result against what
 *                      Linux does for Binder
 *
 * Build:  cc txbuf.c $(pkg-config --cflags --libs vmarea) -o txbuf
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vmarea.h>

#define PAGE 4096UL

/* Binder maps at most 4 MiB per process, however large the mmap: the
 * driver's per-page bookkeeping is sized once, at open. */
#define TXBUF_MAX_SIZE (4UL << 20)
#define TXBUF_MAX_PAGES (TXBUF_MAX_SIZE / PAGE)

/*
 * One page slot of the mapping.
 *   page == NULL            nothing inserted at this address (never, or shrunk)
 *   page != NULL, !in_use   idle: still mapped, ready for the next buffer, and
 *                           what the shrinker may take back
 *   page != NULL, in_use    part of a live buffer; the shrinker leaves it alone
 * The driver holds one reference on each page; the mapping holds its own
 * (vma_insert_page takes it), so a zap alone never frees a driver's page.
 */
struct txbuf_slot {
    struct vm_page *page;
    bool in_use;
};

/*
 * The device, one per receiving address space.
 *
 * Lock order, as Binder's: tb->lock, then the mm's mmap lock (or a VMA lock).
 * The mmap and close hooks run with the mmap write lock already held, so
 * they must not take tb->lock; they publish the mapping through `start`
 * instead.  The shrinker runs in the opposite order and therefore only ever
 * try-locks.
 */
struct txbuf {
    struct mm *mm;                 /* mmgrab'd: our pages come from its pool,
                                      which must outlive them */
    struct vm_file *file;

    /* Written by the hooks under mm's mmap write lock; read anywhere. */
    _Atomic unsigned long start;   /* user address of the mapping; 0: none */
    unsigned long npages;          /* pages we use (the mapping's, at most 4 MiB);
                                      set before start */
    bool ever_mapped;              /* Binder allows one mmap per open */

    pthread_mutex_t lock;          /* guards slots[], nr_pages, nr_allocated */
    struct txbuf_slot slots[TXBUF_MAX_PAGES];
    unsigned long nr_pages;        /* slots holding a page */
    unsigned long nr_allocated;    /* vm_page_alloc calls, ever: shows reuse */
};

/* A transaction buffer as the receiver sees it. */
struct txbuf_buffer {
    unsigned long user_addr;       /* where the receiver reads it */
    size_t len;
    unsigned long first, count;    /* slot range */
};

static const struct vm_operations txbuf_vm_ops;

/* ---------------------------------------------------------------- hooks */

/*
 * The mmap hook.  Runs inside mm_mmap with the mmap write lock held, before
 * the VMA is visible to anyone else.  A delivery that sees `start` this
 * early finds no VMA under the per-VMA lock, falls back to the mmap lock in
 * txbuf_insert_page, and so waits until the mapping is complete.
 */
static int txbuf_mmap(struct vm_file *f, struct vma_new *vma)
{
    struct txbuf *tb = vm_file_private(f);
    const struct vma_ref *ref = vma_new_ref(vma);

    /* The pages are charged to tb->mm's pool: mapping them elsewhere would
     * hand one address space frames another one owns.  (Binder: EINVAL
     * when the caller is not the process that opened the device.) */
    if (vma_mm(ref) != tb->mm)
        return -EINVAL;
    /* Binder refuses PROT_WRITE outright with EPERM, and clears
     * VM_MAYWRITE so that no later mprotect can add it: the receiver must
     * never change what the driver wrote for it. */
    if (vma_new_try_clear_maywrite(vma) != 0)
        return -EPERM;
    /* The mmap write lock of tb->mm serialises every call of this hook, so a
     * plain flag is enough. */
    if (tb->ever_mapped)
        return -EBUSY;

    /* Pages come from the driver, not from faults: VM_MIXEDMAP is what
     * allows vma_insert_page.  A forked child has no business reading this
     * process's transactions: VM_DONTCOPY. */
    vma_new_set_dontcopy(vma);
    vma_new_set_mixedmap(vma);

    /* Our ops and private pointer are the owner mark that the shrinker checks
     * before it zaps whatever VMA it finds at an address. */
    vma_new_set_ops(vma, &txbuf_vm_ops, tb);

    unsigned long size = vma_end(ref) - vma_start(ref);
    tb->npages = (size < TXBUF_MAX_SIZE ? size : TXBUF_MAX_SIZE) / PAGE;
    tb->ever_mapped = true;
    /* release: npages is visible to whoever sees start */
    atomic_store_explicit(&tb->start, vma_start(ref), memory_order_release);
    return 0;
}

/*
 * The mapping goes away: munmap, or the address space's teardown.  Any piece
 * of it going ends deliveries, as in Binder.  The page-table entries are
 * gone already; our slots keep their references, and the shrinker or
 * txbuf_release puts them.  Runs under the mmap write lock: no tb->lock here
 * (see the lock order).
 */
static void txbuf_vma_close(const struct vma_ref *vma)
{
    struct txbuf *tb = vma_private(vma);
    atomic_store_explicit(&tb->start, 0, memory_order_release);
}

/*
 * No fault handler: every page the receiver may read is inserted before it
 * learns the buffer's address, so a fault here is a bug in the receiver and
 * gets SIGBUS (-EIO), as Binder's binder_vm_fault answers VM_FAULT_SIGBUS.
 */
static const struct vm_operations txbuf_vm_ops = {
    .close = txbuf_vma_close,
};

/* The last reference to the file: no VMA maps it any more. */
static void txbuf_release(struct vm_file *f)
{
    struct txbuf *tb = vm_file_private(f);
    for (unsigned long i = 0; i < TXBUF_MAX_PAGES; i++)
        if (tb->slots[i].page)
            vm_page_put(tb->slots[i].page);
    pthread_mutex_destroy(&tb->lock);
    /* After the last page: the pool lives as long as the mm struct does. */
    mmdrop(tb->mm);
    free(tb);
}

static const struct vm_file_operations txbuf_fops = {
    .mmap = txbuf_mmap,
    .release = txbuf_release,
};

/* Open the device for the address space mm.  NULL: out of memory. */
static struct vm_file *txbuf_open(struct mm *mm)
{
    struct txbuf *tb = calloc(1, sizeof(*tb));
    if (!tb)
        return NULL;
    pthread_mutex_init(&tb->lock, NULL);
    tb->file = vm_file_create(&txbuf_fops, tb, "/dev/txbuf");
    if (!tb->file) {
        free(tb);
        return NULL;
    }
    mmgrab(mm);
    tb->mm = mm;
    return tb->file;
}

/* ---------------------------------------------------------- owner check */

/*
 * Is this VMA our mapping?  Whatever lock found it, an address alone proves
 * nothing: the receiver may have unmapped us and mapped something else
 * there.  Only a VMA made by our hook carries our ops and our private
 * pointer.  Returns the mixed-map view that vma_insert_page requires, or
 * NULL.  Locks: whatever made vma readable.
 */
static const struct vma_mixedmap *txbuf_check_vma(const struct vma_ref *vma, struct txbuf *tb)
{
    if (vma_ops(vma) != &txbuf_vm_ops || vma_private(vma) != tb)
        return NULL;
    return vma_as_mixedmap(vma);
}

/* ----------------------------------------------------------- allocation */

/*
 * Map page at addr in tb's mapping.  0, or -ESRCH when our mapping is no
 * longer there, or what vma_insert_page says.
 * Locks: tb->lock held (so the mmap lock comes second, as the order says).
 */
static int txbuf_insert_page(struct txbuf *tb, unsigned long addr, struct vm_page *page)
{
    /* The VMA's own read lock first: it does not contend with other readers
     * of the mmap lock, nor wait for a writer elsewhere in the address space. */
    const struct vma_ref *vma = lock_vma_under_rcu(tb->mm, addr);
    if (vma) {
        const struct vma_mixedmap *mix = txbuf_check_vma(vma, tb);
        int err = mix ? vma_insert_page(mix, addr, page) : -ESRCH;
        vma_end_read(vma);
        return err;
    }

    /* NULL means "could not tell without the mmap lock" (the VMA is being
     * changed, or there is none): ask again under it. */
    struct mmap_read_guard g = mmap_read_lock(tb->mm);
    vma = vma_lookup(&g, addr);
    const struct vma_mixedmap *mix = vma ? txbuf_check_vma(vma, tb) : NULL;
    int err = mix ? vma_insert_page(mix, addr, page) : -ESRCH;
    mmap_read_unlock(&g);
    return err;
}

/*
 * Deliver a transaction: find room for len bytes, make sure a page is mapped
 * under each byte, copy data in through the driver's own view of the pages,
 * and tell the receiver where to read it.  0 or -errno: -ESRCH (not mapped),
 * -ENOSPC (no room), -ENOMEM (no frame).
 */
static int txbuf_deliver(struct txbuf *tb, const void *data, size_t len, struct txbuf_buffer *out)
{
    unsigned long count = len ? (len + PAGE - 1) / PAGE : 1;
    int err = 0;

    /* The receiver's address space may be exiting: then there is no one to
     * deliver to, and its page tables must not be touched. */
    if (!mmget_not_zero(tb->mm))
        return -ESRCH;
    pthread_mutex_lock(&tb->lock);

    unsigned long start = atomic_load_explicit(&tb->start, memory_order_acquire);
    if (!start) {
        err = -ESRCH;
        goto out;
    }

    /* First fit over whole pages.  Binder packs buffers more tightly; the
     * page handling, which is the point here, is the same. */
    unsigned long first = 0, run = 0;
    for (unsigned long i = 0; i < tb->npages && run < count; i++) {
        if (tb->slots[i].in_use) {
            run = 0;
            first = i + 1;
        } else {
            run++;
        }
    }
    if (run < count) {
        err = -ENOSPC;
        goto out;
    }

    /* Every page mapped before any is handed out: a failure part-way
     * leaves the pages set up so far as idle pages, nothing to undo. */
    for (unsigned long i = first; i < first + count; i++) {
        struct txbuf_slot *s = &tb->slots[i];
        if (s->page)
            continue;   /* idle from an earlier buffer and still mapped: free reuse */
        /* Zeroed, so no one ever sees a previous owner's bytes. */
        struct vm_page *page = vm_page_alloc(tb->mm);
        if (!page) {
            err = -ENOMEM;
            goto out;
        }
        tb->nr_allocated++;
        err = txbuf_insert_page(tb, start + i * PAGE, page);
        if (err) {
            vm_page_put(page);
            goto out;
        }
        s->page = page;
        tb->nr_pages++;
    }

    /* The driver writes through its own view of the frames, as Binder
     * copies from the sender straight into the receiver's pages.  The
     * slack after len is cleared: a reused page still holds the last
     * buffer's bytes. */
    for (unsigned long i = first; i < first + count; i++) {
        char *dst = vm_page_address(tb->slots[i].page);
        size_t off = (i - first) * PAGE;
        size_t n = off < len ? (len - off < PAGE ? len - off : PAGE) : 0;
        if (n)
            memcpy(dst, (const char *)data + off, n);
        memset(dst + n, 0, PAGE - n);
        tb->slots[i].in_use = true;
    }
    *out = (struct txbuf_buffer){ .user_addr = start + first * PAGE, .len = len,
                                  .first = first, .count = count };
out:
    pthread_mutex_unlock(&tb->lock);
    mmput(tb->mm);
    return err;
}

/*
 * The receiver is done with a buffer (Binder's BC_FREE_BUFFER).  Its pages
 * stay mapped and allocated: idle, for the next transaction or the shrinker.
 */
static void txbuf_free(struct txbuf *tb, const struct txbuf_buffer *buf)
{
    pthread_mutex_lock(&tb->lock);
    for (unsigned long i = buf->first; i < buf->first + buf->count; i++)
        tb->slots[i].in_use = false;
    pthread_mutex_unlock(&tb->lock);
}

/* -------------------------------------------------------------- shrinker */

/*
 * Give back at most nr_to_scan idle pages; returns how many were freed.
 *
 * A shrinker runs when memory is short, possibly on behalf of the very
 * thread that holds the mmap lock or tb->lock, so it never waits for
 * either: a busy page is simply left for the next scan.  It takes them in
 * the reverse of the usual order, which is safe only because both are
 * try-locks.
 */
static unsigned long txbuf_shrink(struct txbuf *tb, unsigned long nr_to_scan)
{
    unsigned long freed = 0;

    for (unsigned long i = 0; i < TXBUF_MAX_PAGES && freed < nr_to_scan; i++) {
        /* Without a user the address space is being torn down (or is gone):
         * its page tables no longer map our pages, or soon will not, and
         * putting our own reference is all that is left to do. */
        bool live = mmget_not_zero(tb->mm);
        struct mmap_read_guard g = { 0 };
        if (live && !mmap_read_trylock(tb->mm, &g)) {
            mmput(tb->mm);
            continue;
        }
        if (pthread_mutex_trylock(&tb->lock) != 0) {
            if (live) {
                mmap_read_unlock(&g);
                mmput(tb->mm);
            }
            continue;
        }

        struct txbuf_slot *s = &tb->slots[i];
        struct vm_page *page = NULL;
        if (s->page && !s->in_use) {
            page = s->page;
            s->page = NULL;
            tb->nr_pages--;
            unsigned long start = atomic_load_explicit(&tb->start, memory_order_acquire);
            if (live && start) {
                unsigned long addr = start + i * PAGE;
                const struct vma_ref *vma = vma_lookup(&g, addr);
                /* The owner check: zap only what our hook mapped. */
                if (vma && txbuf_check_vma(vma, tb))
                    vma_zap_page_range_single(vma, addr, PAGE);
            }
        }
        pthread_mutex_unlock(&tb->lock);
        if (live) {
            mmap_read_unlock(&g);
            mmput(tb->mm);
        }

        /* After the zap, ours is the last reference: this frees the frame. */
        if (page) {
            vm_page_put(page);
            freed++;
        }
    }
    return freed;
}

/* ------------------------------------------------------------ the demo */

static int failures;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            failures++;                                                    \
            fprintf(stderr, "txbuf: FAILED at line %d: %s: ", __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

static unsigned long rss_file(struct mm *mm)
{
    struct mm_stats st;
    mm_get_stats(mm, &st);
    return st.rss_file;
}

static unsigned long rss_anon(struct mm *mm)
{
    struct mm_stats st;
    mm_get_stats(mm, &st);
    return st.rss_anon;
}

/* Read len bytes at addr as the receiver would and compare with want. */
static bool reads_back(struct mm *mm, unsigned long addr, const void *want, size_t len)
{
    char *got = malloc(len);
    ssize_t n = got ? mm_read(mm, addr, got, len) : -ENOMEM;
    bool ok = n == (ssize_t)len && memcmp(got, want, len) == 0;
    free(got);
    return ok;
}

static void fill(char *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)('a' + (i * 7 + seed) % 26);
}

struct shrink_arg {
    struct txbuf *tb;
    unsigned long freed;
};

static void *shrink_thread(void *p)
{
    struct shrink_arg *a = p;
    a->freed = txbuf_shrink(a->tb, ULONG_MAX);
    return NULL;
}

int main(void)
{
    struct mm *mm = mm_create(NULL);
    if (!mm) {
        fprintf(stderr, "txbuf: mm_create failed\n");
        return 1;
    }
    struct vm_file *file = txbuf_open(mm);
    if (!file) {
        fprintf(stderr, "txbuf: txbuf_open failed\n");
        return 1;
    }
    struct txbuf *tb = vm_file_private(file);
    const unsigned long size = 1UL << 20;

    /* Asking for write access fails the mmap, as Binder's does. */
    long r = mm_mmap(mm, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, file, 0);
    CHECK(r == -EPERM, "mmap PROT_READ|PROT_WRITE gave %ld, want -EPERM", r);

    r = mm_mmap(mm, 0, size, PROT_READ, MAP_PRIVATE | MAP_NORESERVE, file, 0);
    CHECK(r > 0, "mmap PROT_READ gave %ld", r);
    if (r <= 0)
        return 1;
    const unsigned long base = (unsigned long)r;

    {
        MMAP_READ_GUARD(g, mm);
        const struct vma_ref *vma = vma_lookup(&g, base);
        CHECK(vma != NULL, "no VMA at the mapping");
        if (vma) {
            vm_flags_t fl = vma_flags(vma);
            CHECK((fl & (VM_MIXEDMAP | VM_DONTCOPY)) == (VM_MIXEDMAP | VM_DONTCOPY),
                  "flags %#lx lack VM_MIXEDMAP|VM_DONTCOPY", fl);
            CHECK(!(fl & (VM_WRITE | VM_MAYWRITE)), "flags %#lx allow writing", fl);
            CHECK(vma_end(vma) - vma_start(vma) == size, "VMA is %#lx bytes",
                  vma_end(vma) - vma_start(vma));
            CHECK(txbuf_check_vma(vma, tb) != NULL, "owner check rejects our own VMA");
        }
    }

    /* One mapping per open. */
    r = mm_mmap(mm, 0, size, PROT_READ, MAP_PRIVATE, file, 0);
    CHECK(r == -EBUSY, "second mmap gave %ld, want -EBUSY", r);

    /* VM_MAYWRITE is gone: write access cannot be added afterwards either. */
    int e = mm_mprotect(mm, base, PAGE, PROT_READ | PROT_WRITE);
    CHECK(e == -EACCES, "mprotect to PROT_WRITE gave %d, want -EACCES", e);

    /* Nothing is inserted yet: an access is SIGBUS (no fault handler). */
    CHECK(rss_file(mm) == 0, "Rss before any transaction: %lu pages", rss_file(mm));
    e = mm_fault(mm, base, 0);
    CHECK(e == -EIO, "read fault on an empty slot gave %d, want -EIO", e);

    /* Two transactions: 3 pages (partly filled) and 1 page. */
    static char msg_a[10000], msg_b[300], msg_c[6000];
    fill(msg_a, sizeof(msg_a), 1);
    fill(msg_b, sizeof(msg_b), 2);
    fill(msg_c, sizeof(msg_c), 3);
    struct txbuf_buffer a, b, c;
    e = txbuf_deliver(tb, msg_a, sizeof(msg_a), &a);
    CHECK(e == 0, "delivering A gave %d", e);
    e = txbuf_deliver(tb, msg_b, sizeof(msg_b), &b);
    CHECK(e == 0, "delivering B gave %d", e);
    if (failures)
        goto out;
    CHECK(reads_back(mm, a.user_addr, msg_a, sizeof(msg_a)), "A does not read back");
    CHECK(reads_back(mm, b.user_addr, msg_b, sizeof(msg_b)), "B does not read back");
    /* Linux counts vm_insert_page'd pages as file pages (MM_FILEPAGES). */
    CHECK(rss_file(mm) == 4, "Rss after A and B: %lu file pages, want 4", rss_file(mm));
    CHECK(rss_anon(mm) == 0, "Rss after A and B: %lu anon pages, want 0", rss_anon(mm));

    /* The receiver cannot write to what it was given, by fault or by access. */
    e = mm_fault(mm, a.user_addr, FAULT_FLAG_WRITE);
    CHECK(e == -EACCES, "write fault on a buffer gave %d, want -EACCES", e);
    char x = 'X';
    ssize_t w = mm_write(mm, a.user_addr, &x, 1);
    CHECK(w < 0, "mm_write into the read-only mapping gave %zd", w);
    CHECK(reads_back(mm, a.user_addr, msg_a, sizeof(msg_a)), "A changed after a refused write");

    /* Beyond the buffers nothing is inserted: SIGBUS, by read or by access. */
    unsigned long empty = base + 10 * PAGE;
    e = mm_fault(mm, empty, 0);
    CHECK(e == -EIO, "read fault on an empty slot gave %d, want -EIO", e);
    e = mm_fault(mm, empty, FAULT_FLAG_WRITE);
    CHECK(e == -EACCES, "write fault on an empty slot gave %d, want -EACCES", e);
    w = mm_read(mm, empty, &x, 1);
    CHECK(w < 0, "mm_read of an empty slot gave %zd", w);

    /* Done with A: its pages stay mapped, and the next buffer reuses two of
     * them without allocating. */
    txbuf_free(tb, &a);
    CHECK(rss_file(mm) == 4, "Rss after freeing A: %lu, want 4", rss_file(mm));
    unsigned long allocated = tb->nr_allocated;
    e = txbuf_deliver(tb, msg_c, sizeof(msg_c), &c);
    CHECK(e == 0, "delivering C gave %d", e);
    CHECK(c.user_addr == a.user_addr, "C at %#lx, not in A's place %#lx", c.user_addr, a.user_addr);
    CHECK(tb->nr_allocated == allocated, "C allocated %lu new pages, want 0",
          tb->nr_allocated - allocated);
    CHECK(reads_back(mm, c.user_addr, msg_c, sizeof(msg_c)), "C does not read back");
    /* The slack after C's data is zero, not what A left there. */
    {
        static const char zeros[2 * PAGE - sizeof(msg_c)];
        CHECK(reads_back(mm, c.user_addr + sizeof(msg_c), zeros, sizeof(zeros)),
              "C's slack shows old bytes");
    }

    /* While someone holds the mmap lock for writing, the shrinker takes
     * nothing and does not wait. */
    txbuf_free(tb, &b);
    txbuf_free(tb, &c);
    {
        struct shrink_arg arg = { .tb = tb };
        pthread_t t;
        struct mmap_write_guard wg = mmap_write_lock(mm);
        pthread_create(&t, NULL, shrink_thread, &arg);
        pthread_join(t, NULL);
        mmap_write_unlock(&wg);
        CHECK(arg.freed == 0, "shrinker freed %lu pages past a held mmap lock", arg.freed);
    }

    /* Memory pressure: all four idle pages go back. */
    unsigned long freed = txbuf_shrink(tb, ULONG_MAX);
    CHECK(freed == 4, "shrinker freed %lu pages, want 4", freed);
    CHECK(rss_file(mm) == 0, "Rss after shrinking: %lu, want 0", rss_file(mm));
    /* A zapped slot of a mixed map with no fault handler is SIGBUS again. */
    e = mm_fault(mm, a.user_addr, 0);
    CHECK(e == -EIO, "read fault on a shrunk page gave %d, want -EIO", e);
    w = mm_read(mm, a.user_addr, &x, 1);
    CHECK(w < 0, "mm_read of a shrunk page gave %zd", w);

    /* The owner check refuses a VMA that is not ours. */
    r = mm_mmap(mm, 0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
    CHECK(r > 0, "anonymous mmap gave %ld", r);
    if (r > 0) {
        MMAP_READ_GUARD(g, mm);
        const struct vma_ref *vma = vma_lookup(&g, (unsigned long)r);
        CHECK(vma && !txbuf_check_vma(vma, tb), "owner check accepts an anonymous VMA");
    }

    /* A page delivered after the shrink is a fresh one, mapped again. */
    e = txbuf_deliver(tb, msg_b, sizeof(msg_b), &b);
    CHECK(e == 0 && reads_back(mm, b.user_addr, msg_b, sizeof(msg_b)),
          "delivery after shrinking gave %d or does not read back", e);
    CHECK(rss_file(mm) == 1, "Rss after re-delivery: %lu, want 1", rss_file(mm));

    /* Once the receiver unmaps us, deliveries fail and the pages only wait
     * for the shrinker (or the device's release). */
    e = mm_munmap(mm, base, size);
    CHECK(e == 0, "munmap gave %d", e);
    CHECK(rss_file(mm) == 0, "Rss after munmap: %lu, want 0", rss_file(mm));
    e = txbuf_deliver(tb, msg_b, sizeof(msg_b), &c);
    CHECK(e == -ESRCH, "delivery after munmap gave %d, want -ESRCH", e);
    txbuf_free(tb, &b);
    freed = txbuf_shrink(tb, ULONG_MAX);
    CHECK(freed == 1, "shrinker after munmap freed %lu, want 1", freed);

out:
    vm_file_put(file);     /* the last reference: txbuf_release runs */
    mmput(mm);
    if (failures) {
        fprintf(stderr, "txbuf: %d check(s) failed\n", failures);
        return 1;
    }
    printf("txbuf: all checks passed\n");
    return 0;
}

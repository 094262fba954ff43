/* SPDX-License-Identifier: MIT */
/*
 * diffcheck_mem.c — loads and stores on the kernel side, and the hash both
 * sides use to compare what memory holds.
 *
 * The kernel side of DC_WRITE and DC_READ is the process touching its own
 * memory, as a program would: a store or a load that faults raises SIGSEGV
 * (or SIGBUS), and the siginfo says why.  The handler jumps back out of the
 * access, and the access reports the bytes done before the faulting page,
 * which is what mm_write and mm_read return for the same access.  Protection
 * is per page, so only the first byte of each page is touched through a
 * volatile access that may fault; the rest of the page is then a plain
 * memset or hash.
 *
 * The checker's children are single-threaded, and the handler is installed
 * only around an access, so a real crash elsewhere still kills the child and
 * is reported as one.
 */
#define _GNU_SOURCE
#include "diffcheck.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

/* ---------------------------------------------------------------- hash */

#define HASH_K1 0x9e3779b97f4a7c15ULL
#define HASH_K2 0xbf58476d1ce4e5b9ULL

static inline uint64_t rotl(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t mix(uint64_t h, uint64_t w)
{
    return rotl(h ^ (w * HASH_K1), 29) * HASH_K2;
}

void dc_hash_init(struct dc_hash *s)
{
    memset(s, 0, sizeof(*s));
    s->h = 0x6a09e667f3bcc909ULL;
}

void dc_hash_update(struct dc_hash *s, const void *p, size_t len)
{
    const unsigned char *b = p;
    s->total += len;
    while (len && s->ncarry) {
        s->carry |= (uint64_t)*b++ << (8 * s->ncarry);
        len--;
        if (++s->ncarry == 8) {
            s->h = mix(s->h, s->carry);
            s->carry = 0;
            s->ncarry = 0;
        }
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);           /* little-endian words, as the carry builds them */
        s->h = mix(s->h, w);
        b += 8;
        len -= 8;
    }
    while (len--) {
        s->carry |= (uint64_t)*b++ << (8 * s->ncarry);
        s->ncarry++;
    }
}

uint64_t dc_hash_final(const struct dc_hash *s)
{
    uint64_t h = s->h;
    if (s->ncarry)
        h = mix(h, s->carry);
    h = mix(h, s->total);
    h ^= h >> 31;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 29);
}

uint64_t dc_hash_bytes(const void *p, size_t len)
{
    struct dc_hash s;
    dc_hash_init(&s);
    dc_hash_update(&s, p, len);
    return dc_hash_final(&s);
}

/* ------------------------------------------------- guarded loads, stores */

static sigjmp_buf fault_env;
static volatile sig_atomic_t fault_sig, fault_code;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    fault_sig = sig;
    fault_code = si->si_code;
    siglongjmp(fault_env, 1);
}

struct guard { struct sigaction old_segv, old_bus; };

static void guard_on(struct guard *g)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g->old_segv);
    sigaction(SIGBUS, &sa, &g->old_bus);
    fault_sig = 0;
    fault_code = 0;
}

static void guard_off(struct guard *g)
{
    sigaction(SIGSEGV, &g->old_segv, NULL);
    sigaction(SIGBUS, &g->old_bus, NULL);
}

/* The result of an access that stopped after done bytes of len. */
static long access_result(unsigned long done, unsigned long len)
{
    if (done == len || done > 0)
        return (long)done;
    if (fault_sig == SIGBUS)
        return -EIO;
    return fault_code == SEGV_MAPERR ? -EFAULT : -EACCES;
}

static unsigned long chunk_len(unsigned long a, unsigned long left)
{
    unsigned long room = PAGE - (a & (PAGE - 1));
    return left < room ? left : room;
}

long dc_kernel_write(unsigned long addr, unsigned long len, int fill)
{
    struct guard g;
    volatile unsigned long done = 0;
    guard_on(&g);
    if (sigsetjmp(fault_env, 1) == 0) {
        while (done < len) {
            unsigned long a = addr + done, n = chunk_len(a, len - done);
            *(volatile unsigned char *)a = dc_fill_byte(fill, a);   /* may fault */
            if (fill & DC_FILL_RAMP)
                for (unsigned long i = 1; i < n; i++)
                    ((unsigned char *)a)[i] = dc_fill_byte(fill, a + i);
            else
                memset((void *)(a + 1), fill, n - 1);
            done += n;
        }
    }
    guard_off(&g);
    return access_result(done, len);
}

long dc_kernel_read(unsigned long addr, unsigned long len, uint64_t *hash)
{
    struct guard g;
    static struct dc_hash s;    /* static: live across the jump */
    volatile unsigned long done = 0;
    dc_hash_init(&s);
    guard_on(&g);
    if (sigsetjmp(fault_env, 1) == 0) {
        while (done < len) {
            unsigned long a = addr + done, n = chunk_len(a, len - done);
            (void)*(volatile const unsigned char *)a;               /* may fault */
            dc_hash_update(&s, (const void *)a, n);
            done += n;
        }
    }
    guard_off(&g);
    long r = access_result(done, len);
    *hash = r >= 0 ? dc_hash_final(&s) : 0;
    return r;
}

bool dc_kernel_page_readable(unsigned long a)
{
    struct guard g;
    volatile bool ok = false;
    guard_on(&g);
    if (sigsetjmp(fault_env, 1) == 0) {
        (void)*(volatile const unsigned char *)a;
        ok = true;
    }
    guard_off(&g);
    return ok;
}

void dc_page_summarize(const void *page, struct dc_page *out)
{
    const unsigned char *b = page;
    out->hash = dc_hash_bytes(page, PAGE);
    if (memcmp(b, b + 1, PAGE - 1) == 0) {
        out->fill = b[0];
        return;
    }
    out->fill = DC_FILL_RAMP | b[0];
    for (unsigned i = 1; i < PAGE; i++)
        if (b[i] != (unsigned char)(b[0] + i)) {
            out->fill = DC_PAGE_MIXED;
            break;
        }
    out->pad = 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the public API: the input is a sequence of calls on
 * one fresh mm, decoded by api_ops.h (the same calls test_api_fuzz draws
 * from its generator, plus zaps, maps/smaps text, stats, and a driver's
 * mixed maps: its mmap hook, page inserts and fault hook).  After each call
 * the VMA tree, the counters, Rss and the driver's count of its VMAs must
 * be consistent; at the end, unmapping everything must give every frame and
 * table back but for the pages the driver keeps, and mmput and the driver's
 * last puts must leave nothing behind (LeakSanitizer).  A violation aborts
 * with the check that failed.
 *
 * Input format: the first byte picks the mm's configuration (config_of),
 * whether the driver's kept pages outlive the mm (0x40) and a window with
 * room for huge pages (0x80), the rest are the
 * calls' draws (the driver's hooks draw from the same stream): a draw with a bound of at most 256 takes one
 * byte, up to 65536 two, a full word eight (little-endian); the input ends at
 * its last byte (the draws of the call in progress then read zeros).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define API_CHECK(cond)                                                                \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                   \
        }                                                                              \
    } while (0)
#define API_CHECK_EQ(a, b)                                                             \
    do {                                                                               \
        unsigned long a_ = (unsigned long)(a), b_ = (unsigned long)(b);                \
        if (a_ != b_) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s == %s (%#lx != %#lx)\n", __FILE__, \
                    __LINE__, #a, #b, a_, b_);                                         \
            abort();                                                                   \
        }                                                                              \
    } while (0)
#include "api_ops.h"

struct input {
    const uint8_t *p, *end;
};

static unsigned long next_word(void *arg, unsigned long bound)
{
    struct input *in = arg;
    unsigned n = bound && bound <= 256 ? 1 : bound && bound <= 65536 ? 2 : 8;
    unsigned long w = 0;
    for (unsigned i = 0; i < n && in->p < in->end; i++)
        w |= (unsigned long)*in->p++ << (8 * i);
    return w;
}

/* A zap past its VMA warns, as the API says; once per mm would still be a
 * line on stderr per input. */
static void quiet(void *arg, struct mm *mm, const char *message)
{
    (void)arg;
    (void)mm;
    (void)message;
}

/* A small mm, whose limits a few calls reach: 2, 4 or 8 MiB of memory (from
 * 4 MiB a transparent huge page fits, with its tables), each THP mode, with
 * or without soft-dirty and protection keys; the fourth memory choice is a
 * host without the zero page, the fourth THP one a host whose huge page
 * splits keep zero subpages and that has no huge zero page. */
static struct mm_config config_of(uint8_t byte)
{
    static const unsigned long limit_mib[] = { 2, 4, 8, 2 };
    static const enum mm_thp_mode thp[] = { MM_THP_ALWAYS, MM_THP_MADVISE, MM_THP_NEVER,
                                            MM_THP_ALWAYS };
    return (struct mm_config){
        .max_map_count = 64,
        .memory_limit = limit_mib[byte & 3] << 20,
        .thp = thp[(byte >> 2) & 3],
        .flags = (byte & 0x10 ? MM_CONFIG_NO_SOFT_DIRTY : 0) | (byte & 0x20 ? MM_CONFIG_NO_PKEYS : 0) |
                 ((byte & 3) == 3 ? MM_CONFIG_NO_ZERO_PAGE : 0) |
                 ((byte & 0xc) == 0xc ? MM_CONFIG_NO_SPLIT_ZERO_REMAP | MM_CONFIG_NO_HUGE_ZERO_PAGE : 0),
    };
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct mm_config cfg = config_of(data[0]);
    /* A driver may keep pages past the address space (txbuf's release
     * after mmput): each pins the mm, and the last vm_page_put frees it. */
    bool late = data[0] & 0x40;
    /* 0x80: a 4 MiB window for transparent huge pages (the memory limit
     * then at least 8 MiB, so that two fit), with MADV_COLD, _PAGEOUT,
     * _FREE and _COLLAPSE in the advice as ever. */
    bool thp = data[0] & 0x80;
    if (thp)
        cfg.memory_limit = 8UL << 20;
    data++;
    size--;
    struct mm *mm = mm_create(&cfg);
    API_CHECK(mm != NULL);
    mm_set_warn_hook(mm, quiet, NULL);

    struct input in = { data, data + size };
    struct api_ops o = { .mm = mm, .next = next_word, .arg = &in, .nr_ops = API_OPS_ALL,
                         .thp_window = thp };
    while (in.p < in.end) {
        api_op(&o);
        api_check_mm(mm);
    }
    if (!late)
        api_drv_drop_pages(&o);
    api_memfd_put(&o);
    api_child_put(&o);   /* its pages may be the parent's */
    api_check_unmap_all_but(mm, api_drv_nr_kept(&o));
    api_check_drv(&o);
    API_CHECK_EQ(o.drv.live, 0);
    mmput(mm);
    api_ops_fini(&o);
    return 0;
}

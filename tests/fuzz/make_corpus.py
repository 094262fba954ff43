#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed inputs of tests/fuzz/corpus/: short call sequences in the
encoding fuzz_api.c reads (api_ops.h's draws: one byte for a bound of at most
256, two up to 65536, eight for a full word).  Run from anywhere; it rewrites
the seed-*.bin files."""
import os
import struct

PAGE = 4096
MMAP, MUNMAP, MPROTECT, MADVISE, MLOCK, MUNLOCK, ANON_NAME, ACCESS, BRK, ZAP, SHOW, STATS, LAYOUT, \
    DRV_MMAP, DRV_INSERT = 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
NR_OPS = 16                # API_OPS_ALL
# api_drv_mmap's choices: bits of its first draw, the ops it sets
CLEAR_MAYREAD, CLEAR_MAYWRITE, CLEAR_MAYEXEC, SET_IO, SET_DONTEXPAND, SET_DONTCOPY, SET_DONTDUMP, \
    REFUSE = 1, 2, 4, 8, 16, 32, 64, 128
OPS_OPEN_CLOSE, OPS_ALL, OPS_FAULT, OPS_NONE = 0, 1, 2, 3
KEEP = 8                   # API_DRV_KEEP


class Seq:
    def __init__(self, config=0):  # fuzz_api.c's config_of: 0 is 2 MiB, THP always
        self.out = bytearray([config])
        self.thp = bool(config & 0x80)   # the 4 MiB window (api_ops.thp_window)

    def draw(self, bound, value):
        assert 0 <= value < bound or bound == 0
        if bound and bound <= 256:
            self.out += bytes([value])
        elif bound and bound <= 65536:
            self.out += struct.pack('<H', value)
        else:
            self.out += struct.pack('<Q', value)

    def window(self, page):           # api_pick: API_WINDOW + page * PAGE_SIZE
        self.draw(4, 2)
        if self.thp:
            self.draw(1024, page)
            self.draw(4, 1)           # not rounded to 2 MiB (page says where)
        else:
            self.draw(64, page)
        self.draw(8, 1)

    def word(self, value):            # api_pick: any word
        self.draw(4, 0)
        self.draw(0, value)

    def pages(self, n):               # api_pick_len: n pages
        self.draw(3, 1)
        if self.thp:
            self.draw(2, 1)
            if n in (512, 1024):
                self.draw(2, 1)
                self.draw(2, n // 512 - 1)
            else:
                self.draw(2, 0)
                self.draw(1024, n)
            return
        self.draw(16, n)
        self.draw(8, 1)

    def call(self, op, page, npages, prot=3, fixed=False, flags=None, shared=False):
        self.window(page)
        self.pages(npages)
        self.draw(16, prot)
        self.draw(16, 1)
        if flags is None:
            self.draw(4, 1)
        else:
            self.draw(4, 0)
            self.draw(0, flags)
        self.draw(2, int(fixed))
        self.draw(4, 3 if shared else 0)
        self.draw(NR_OPS, op)
        return self

    def mmap(self, page, npages, prot=3, fixed=True, flags=None, shared=False):
        self.call(MMAP, page, npages, prot, fixed, flags, shared)
        self.draw(8, 1)               # offset 0
        return self

    def madvise(self, page, npages, advice):
        self.call(MADVISE, page, npages)
        if advice >= 98:
            self.draw(30, advice - 100 + 2)
            self.draw(16, 0)
        else:
            self.draw(30, advice + 2)
            self.draw(16, 1)
        return self

    def mlock(self, page, npages, onfault=0):
        self.call(MLOCK, page, npages)
        self.draw(3, onfault)
        return self

    def write(self, page, n, read=False):
        self.call(ACCESS, page, 1)
        self.draw(2, 1)
        self.draw(2, 1)
        self.draw(3 * 4096, n)
        self.draw(2, 0 if read else 1)
        return self

    def fault(self, page, flags):
        self.call(ACCESS, page, 1)
        self.draw(2, 0)
        self.draw(2, 1)
        self.draw(0x200, flags)
        return self

    def zap(self, page, npages):
        self.call(ZAP, page, npages)
        self.draw(4, 1)               # clamp to the VMA
        return self

    def show(self, smaps):
        self.call(SHOW, 0, 0)
        self.draw(2, int(smaps))
        return self

    def stats(self):
        return self.call(STATS, 0, 0)

    def layout(self, page, n, stride):
        self.call(LAYOUT, page, 0)
        self.draw(64, n - 1)
        self.draw(2, stride - 1)
        return self

    def drv_mmap(self, page, npages, prot=1, fixed=True, private=False, offset_page=0,
                 what=0, mixed=True, ops=OPS_OPEN_CLOSE, refuse=0):
        """The driver file mapped (api_drv_mmap_call), then its mmap hook's
        draws (api_drv_mmap); refuse: an index in api_drv_errnos, with
        what | REFUSE."""
        self.call(DRV_MMAP, page, npages, prot, fixed)
        self.draw(4, 2 if private else 0)
        self.draw(8, 1)
        self.draw(64, offset_page)
        self.draw(256, what)
        if what & REFUSE:
            self.draw(8, refuse)
            return self
        self.draw(8, 0 if mixed else 7)
        self.draw(4, ops)
        return self

    def drv_insert(self, page, slots, rcu=False, at=None, pattern=0x5a):
        """api_insert at page: one page per entry of slots (a slot below
        KEEP: the driver keeps that page, or reinserts the one it kept
        there; KEEP and up: a fresh page, put after).  at: insert at
        another window page than the lookup.  Give slots=[] when no mixed
        VMA is at page (then no per-page draws follow)."""
        self.call(DRV_INSERT, page, 1)
        self.draw(8, 0)
        self.draw(4, 0 if rcu else 1)
        if at is None:
            self.draw(4, 1)
        else:
            self.draw(4, 0)
            self.window(at)
        self.draw(4, max(len(slots), 1) - 1)
        self.draw(256, pattern)
        for slot in slots:
            self.draw(2 * KEEP, slot)
        return self

    def drv_shrink(self, slot):
        self.call(DRV_INSERT, 0, 1)
        self.draw(8, 7)
        self.draw(KEEP, slot)
        return self


MAP_GROWSDOWN, MAP_POPULATE, MAP_FIXED_NOREPLACE = 0x100, 0x8000, 0x100000
MADV_DONTNEED, MADV_FREE, MADV_DONTFORK, MADV_GUARD_INSTALL, MADV_GUARD_REMOVE = 4, 8, 10, 102, 103

seeds = {
    # map, touch, split by mprotect, look at the result
    'seed-map-write-mprotect': Seq().mmap(4, 8).write(5, 100).fault(6, 1)
        .call(MPROTECT, 5, 2, prot=1).show(True).stats(),
    # a hole in the middle, merge back, zap through the API
    'seed-munmap-remap-zap': Seq().mmap(0, 15).write(1, 8192).call(MUNMAP, 4, 4)
        .mmap(4, 4).zap(0, 15).show(False).stats(),
    # locking, populate on fault, and unlock
    'seed-mlock': Seq().mmap(8, 8).mlock(8, 4).mlock(12, 4, onfault=1).write(13, 1)
        .call(MUNLOCK, 8, 8).show(True),
    # madvise kinds over populated pages, guard regions
    'seed-madvise-guard': Seq().mmap(16, 8).write(16, 3 * 4096 - 1).madvise(16, 2, MADV_DONTNEED)
        .madvise(18, 2, MADV_FREE).madvise(20, 2, MADV_GUARD_INSTALL).fault(20, 1)
        .madvise(20, 1, MADV_GUARD_REMOVE).madvise(22, 2, MADV_DONTFORK).show(True),
}

# anonymous names, growsdown and populate flags, brk
s = Seq().mmap(24, 4)
s.call(ANON_NAME, 24, 2)
s.draw(2, 1)
s.mmap(32, 4, flags=0x22 | MAP_GROWSDOWN)
s.mmap(40, 4, flags=0x22 | MAP_POPULATE, fixed=True)
s.mmap(48, 2, flags=0x22 | MAP_FIXED_NOREPLACE)
s.call(BRK, 0, 0)
s.draw(64, 1)
s.draw(64, 1)
s.word(0x1000000)
s.show(False)
seeds['seed-names-flags'] = s

# 4 MiB and THP always: a huge page fault, then a split by mprotect and a zap
s = Seq(config=1)
s.draw(4, 2); s.draw(64, 0); s.draw(8, 1)      # API_WINDOW, 2 MiB aligned
s.draw(3, 0); s.word(4 << 20)                  # len: a pick, 4 MiB
s.draw(16, 3); s.draw(16, 1); s.draw(4, 1); s.draw(2, 1); s.draw(4, 0); s.draw(NR_OPS, MMAP)
s.draw(8, 1)
s.write(0, 1)
s.call(MPROTECT, 1, 1, prot=1)
s.zap(4, 2)
s.show(True)
seeds['seed-thp'] = s

# 64 VMAs (the map count limit), holes punched in them, then all unmapped
s = Seq().layout(0, 64, 1).call(MUNMAP, 10, 8).call(MUNMAP, 30, 15).layout(0, 40, 2)
s.call(MUNMAP, 0, 15).show(False)
s.window(0); s.draw(3, 0); s.word(1 << 30)
s.draw(16, 3); s.draw(16, 1); s.draw(4, 1); s.draw(2, 0); s.draw(4, 0); s.draw(NR_OPS, MUNMAP)
seeds['seed-many-vmas'] = s

# shared anonymous memory: written, partly zapped and protected, then shown
seeds['seed-shared'] = Seq().mmap(8, 6, shared=True).write(8, 5000).write(12, 10) \
    .madvise(9, 1, MADV_DONTNEED).call(MPROTECT, 10, 1, prot=1).show(True).stats()

# a mapping at the top of the address space, a hint below mmap_min_addr
s = Seq()
s.draw(4, 1); s.draw(10, 5); s.draw(5, 0)        # DEFAULT_TASK_SIZE - 2 pages
s.pages(2); s.draw(16, 3); s.draw(16, 1); s.draw(4, 1); s.draw(2, 1); s.draw(4, 0); s.draw(NR_OPS, MMAP)
s.draw(8, 1)
s.draw(4, 1); s.draw(10, 1); s.draw(5, 2)        # PAGE_SIZE, not fixed
s.pages(1); s.draw(16, 3); s.draw(16, 1); s.draw(4, 1); s.draw(2, 0); s.draw(4, 0)
s.draw(NR_OPS, MMAP); s.draw(8, 1)
s.stats()
seeds['seed-edges'] = s

# a driver mapping (read-only for good, mixed map, open/close), four pages
# inserted by the driver, one again (EBUSY), one beyond the VMA (EFAULT),
# mprotect refused (no VM_MAYWRITE), split by munmap, zapped, shown
s = Seq().drv_mmap(8, 8, prot=1, what=CLEAR_MAYWRITE | SET_DONTCOPY)
s.drv_insert(8, [KEEP, KEEP + 1, KEEP, KEEP])
s.drv_insert(9, [KEEP], rcu=True)
s.drv_insert(15, [KEEP, KEEP])
s.call(MPROTECT, 10, 1, prot=3)
s.call(MUNMAP, 11, 1)
s.zap(8, 2)
s.show(True).stats()
seeds['seed-drv-insert'] = s

# private and writable, with a fault handler: the driver keeps a page and
# maps it twice, a write copies it (COW), faults the handler answers by
# inserting, refusing, or promising and not inserting; mlock populates it
s = Seq().drv_mmap(16, 8, prot=3, private=True, ops=OPS_ALL)
s.drv_insert(16, [0, 0])
s.drv_insert(16, [0], at=20)
s.write(17, 10)
s.fault(18, 0); s.draw(4, 2)
s.fault(19, 1); s.draw(4, 0)
s.fault(21, 0); s.draw(4, 1)
s.call(MLOCK, 22, 2); s.draw(3, 0); s.draw(4, 2); s.draw(4, 3)
s.drv_shrink(0)
s.show(True).stats()
seeds['seed-drv-fault-cow'] = s

# hooks that refuse after their setters, clear an access the mapping has
# (EINVAL) or lacks, set VM_IO and VM_DONTEXPAND; MAP_FIXED over anonymous
# memory; a mapping that is not mixed (no inserts) and one without ops
s = Seq().mmap(24, 8).write(24, 8192)
s.drv_mmap(24, 4, prot=1, what=CLEAR_MAYREAD | SET_IO | REFUSE, refuse=1)
s.drv_mmap(24, 2, prot=4, what=CLEAR_MAYREAD | CLEAR_MAYWRITE | CLEAR_MAYEXEC | SET_IO | SET_DONTEXPAND,
           ops=OPS_NONE)
s.drv_mmap(26, 2, prot=3, what=SET_DONTDUMP, mixed=False, ops=OPS_FAULT)
s.drv_insert(26, [])
s.drv_mmap(28, 2, prot=1, fixed=False, offset_page=5)
s.madvise(24, 8, MADV_DONTNEED)
s.call(MPROTECT, 24, 4, prot=1)
s.show(False).stats()
seeds['seed-drv-refuse'] = s

# 0x40: the driver's kept pages outlive the mm (each pins it)
s = Seq(config=0x40).drv_mmap(32, 4, prot=3, what=0, ops=OPS_ALL)
s.drv_insert(32, [1, 2, 3])
s.call(MUNMAP, 32, 4)
s.drv_mmap(40, 2, prot=1)
s.drv_insert(40, [1, 1])
seeds['seed-drv-late'] = s

# 0x80: THPs in a 4 MiB window: two faulted, one split by mprotect into
# VMAs of different protections, then MADV_COLD, _PAGEOUT and _FREE over
# part of it (each splits the folio, mapping the zero page over all-zero
# subpages with each VMA's own protection), loads on both sides of the
# split, MADV_COLLAPSE back into a THP, and MADV_COLLAPSE refused
MADV_COLD, MADV_PAGEOUT, MADV_COLLAPSE = 20, 21, 25
s = Seq(config=0x80).mmap(0, 1024)
s.write(0, 5).write(512, 5)
s.call(MPROTECT, 55, 219, prot=0)
s.madvise(140, 2, MADV_COLD).write(275, 8, read=True).write(56, 8, read=True)
s.madvise(600, 2, MADV_PAGEOUT).madvise(700, 3, MADV_FREE)
s.write(601, 16, read=True).fault(702, 0)
s.call(MPROTECT, 0, 512, prot=3)
s.madvise(0, 512, MADV_COLLAPSE).madvise(512, 512, MADV_COLLAPSE).madvise(3, 2, MADV_COLLAPSE)
s.show(True).stats()
seeds['seed-thp-split-advice'] = s

# the same on a host without the zero page whose splits keep zero subpages
# (config 0x8f: the fourth memory and THP choices)
s2 = Seq(config=0x8f)
s2.out += s.out[1:]
seeds['seed-thp-split-advice-no-zero-page'] = s2

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
os.makedirs(here, exist_ok=True)
for name, seq in seeds.items():
    with open(os.path.join(here, name + '.bin'), 'wb') as f:
        f.write(bytes(seq.out))

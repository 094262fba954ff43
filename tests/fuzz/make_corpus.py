#!/usr/bin/env python3
"""Write the seed inputs of tests/fuzz/corpus/: short call sequences in the
encoding fuzz_api.c reads (api_ops.h's draws: one byte for a bound of at most
256, two up to 65536, eight for a full word).  Run from anywhere; it rewrites
the seed-*.bin files."""
import os
import struct

PAGE = 4096
MMAP, MUNMAP, MPROTECT, MADVISE, MLOCK, MUNLOCK, ANON_NAME, ACCESS, BRK, ZAP, SHOW, STATS, LAYOUT = \
    0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13
NR_OPS = 14                # API_OPS_ALL


class Seq:
    def __init__(self, config=0):  # fuzz_api.c's config_of: 0 is 2 MiB, THP always
        self.out = bytearray([config])

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
        self.draw(64, page)
        self.draw(8, 1)

    def word(self, value):            # api_pick: any word
        self.draw(4, 0)
        self.draw(0, value)

    def pages(self, n):               # api_pick_len: n pages
        self.draw(3, 1)
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

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
os.makedirs(here, exist_ok=True)
for name, seq in seeds.items():
    with open(os.path.join(here, name + '.bin'), 'wb') as f:
        f.write(bytes(seq.out))

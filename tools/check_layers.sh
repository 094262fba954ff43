#!/bin/bash
# SPDX-License-Identifier: MIT
# check_layers.sh [SRCDIR] — fail if a file in src/ includes a header of a
# layer above its own (src/mm_base.h draws the layers, docs/architecture.md
# explains them).  Every file in src/ must be placed below: a new file gets
# a layer when it is added.
set -euo pipefail
src=${1:-"$(dirname "$0")/../src"}

declare -A layer=(
    # 0 base
    [mm_base.h]=0
    # 1 host: the OS, and the primitives that know nothing of an mm
    [host.h]=1 [rcu.h]=1 [rwsem.h]=1 [vma_tree.h]=1
    [host.c]=1 [host_config.c]=1 [rcu.c]=1 [rwsem.c]=1
    # 2 frames
    [page.h]=2 [page.c]=2
    # 3 page tables
    [pgtable.h]=3 [pgtable.c]=3
    # 4 types: struct mm and struct vma, their locks, counters and lifetimes
    [mm_types.h]=4 [mm_counter.h]=4 [mmap_lock.h]=4 [mmdebug.h]=4 [vma_init.h]=4
    [mm_counter.c]=4 [mmap_lock.c]=4 [vma_init.c]=4 [special_mapping.c]=4
    # 5 memory
    [memory.h]=5 [huge_memory.h]=5 [anon_vma.h]=5 [shmem.h]=5 [filemap.h]=5
    [memory.c]=5 [huge_memory.c]=5 [anon_vma.c]=5 [filemap.c]=5 [shmem.c]=5
    # 6 VMA layer
    [vma.h]=6 [vma.c]=6 [vma_tree.c]=6
    # 7 operations
    [mm.h]=7 [task_mmu.h]=7
    [mmap.c]=7 [mprotect.c]=7 [madvise.c]=7 [mlock.c]=7 [gup.c]=7 [fault.c]=7
    [overcommit.c]=7 [msync.c]=7 [mremap.c]=7 [fork.c]=7 [binfmt_elf.c]=7 [mm.c]=7 [task_mmu.c]=7 [debug.c]=7
    # 8 every header at once, for tests and benchmarks only
    [internal.h]=8
)
names=(base host frames "page tables" types memory VMA operations tests)

bad=0
for path in "$src"/*.[ch]; do
    file=$(basename "$path")
    mine=${layer[$file]:-}
    if [ -z "$mine" ]; then
        echo "check_layers: $file has no layer: add it to $0" >&2
        bad=1
        continue
    fi
    while IFS=: read -r line inc; do
        [ "$inc" = vmarea.h ] && continue   # the public types, for every layer
        theirs=${layer[$inc]:-}
        if [ -z "$theirs" ]; then
            echo "check_layers: $file:$line includes $inc, which has no layer" >&2
            bad=1
        elif [ "$theirs" -gt "$mine" ]; then
            echo "check_layers: $file:$line: ${names[$mine]} includes $inc (${names[$theirs]}), a layer above it" >&2
            bad=1
        fi
    done < <(grep -n '^#[[:space:]]*include[[:space:]]*"' "$path" | sed -E 's/^([0-9]+):.*"([^"]+)".*/\1:\2/')
done
[ $bad -eq 0 ] && echo "check_layers: every include goes down or sideways"
exit $bad

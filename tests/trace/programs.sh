#!/bin/bash
# SPDX-License-Identifier: MIT
# programs.sh VMAREA — `vmarea trace --exec` on real programs (and two of
# its own, of brk's rules and of shared memory and files): each image is
# built by mm_exec and checked against execve's, every memory call of every
# process is made on vmarea too, and the layouts are compared at exec, fork,
# exit and every 50 calls.  Each program must come out identical.  Exit 77
# (skipped) where this machine does not allow ptrace.
set -uo pipefail
vmarea=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"

if out=$("$vmarea" trace -- true 2>&1); [ $? -ne 0 ] && grep -q "ptrace is not allowed" <<<"$out"; then
    echo "$out"
    exit 77
fi

cat > threads.py <<'PY'
import subprocess, threading
def work():
    blocks = [bytearray(100000) for _ in range(50)]
    return sum(len(b) for b in blocks)
threads = [threading.Thread(target=work) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(subprocess.run(["echo", "from a subprocess"], capture_output=True).stdout.decode().strip())
PY
printf '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' > hello.c
# brk's rules, each call's result compared: growth and shrinking, a break
# below the heap's start, a mapping above it that the heap may come no
# nearer than a page, and RLIMIT_DATA (the shell's ulimit -d before exec).
cat > brk.c <<'C'
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
static long brk_(unsigned long b) { return syscall(SYS_brk, b); }
int main(void)
{
    unsigned long start = (unsigned long)brk_(0), M = 1UL << 20;
    brk_(start + 64 * 4096);
    brk_(start + 10 * 4096 + 7);
    brk_(start - 4096);
    mmap((void *)(start + 4 * M), 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    brk_(start + 4 * M);
    brk_(start + 4 * M - 4096);
    brk_(start + 4 * M - 2 * 4096);
    munmap((void *)(start + 4 * M), 4096);
    brk_(start + 12 * M);
    brk_(start + 40 * M);
    brk_(start);
    return 0;
}
C
gcc -O2 -o brk brk.c
# Shared memory and files: a memfd mapped shared and private, a file written
# through a shared mapping and msync'd, mremap, a fork whose child changes
# its copy, mlock, MADV_DONTNEED and MADV_REMOVE.
cat > files.c <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void)
{
    int mfd = memfd_create("trace-test", MFD_ALLOW_SEALING);
    if (mfd < 0 || ftruncate(mfd, 1 << 20))
        return 1;
    char *a = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    memset(a, 1, 1 << 20);
    char *b = mmap(NULL, 1 << 20, PROT_READ, MAP_PRIVATE, mfd, 0);
    int fd = open("f.bin", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 64 << 10))
        return 1;
    char *c = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memset(c, 2, 64 << 10);
    msync(c, 64 << 10, MS_SYNC);
    char *d = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(d, 3, 4 << 20);
    d = mremap(d, 16 << 20, 32 << 20, MREMAP_MAYMOVE);
    madvise(d, 2 << 20, MADV_DONTNEED);
    mprotect(d + (4 << 20), 1 << 20, PROT_READ);
    char *e = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    e[0] = 1;
    pid_t p = fork();
    if (p == 0) {
        d[8 << 20] = 4;
        munmap(b, 1 << 20);
        mremap(c, 64 << 10, 128 << 10, MREMAP_MAYMOVE);
        _exit(0);
    }
    waitpid(p, NULL, 0);
    mlock(d, 1 << 20);
    munlock(d, 1 << 20);
    madvise(a, 1 << 20, MADV_REMOVE);
    return b[100] + c[5] == 2 ? 0 : 1;
}
C
gcc -O2 -o files files.c
seq 1 300000 | shuf --random-source=<(yes) > big.txt
mkdir repo

failed=0
run() {
    local name=$1; shift
    local log
    log=$("$vmarea" trace --exec --every 50 -- "$@" 2>&1 >/dev/null)
    local status=$?
    printf '%-28s %s\n' "$name" "$(tail -n 1 <<<"$log")"
    if [ $status -ne 0 ]; then
        echo "$log" | tail -n 60
        failed=1
    fi
}

run "shell pipeline" sh -c 'ls /usr/bin | sort -r | head -n 5 | wc -l'
run "ls -la of a large directory" ls -la /usr/lib/x86_64-linux-gnu
run "python3, threads, subprocess" python3 threads.py
run "perl" perl -e 'my %h; $h{$_} = $_ * 2 for 1 .. 200000; print scalar(keys %h), "\n"'
run "gcc" gcc -O2 -o hello hello.c
run "git" sh -c 'cd repo && git init -q && cp ../hello.c . && git add hello.c &&
                 git -c user.name=t -c user.email=t@t commit -qm first && git log --oneline && git gc -q'
run "sort of a large file" sort -n big.txt -o sorted.txt
run "brk, RLIMIT_DATA 16 MiB" sh -c 'ulimit -d 16384 && exec ./brk'
run "memfd, files, mremap, fork" ./files

# What vmarea cannot follow is a difference, reported with the calls before
# it: System V shared memory (perl's shmread attaches the segment).
log=$("$vmarea" trace -- perl -e 'use IPC::SysV qw(IPC_PRIVATE IPC_RMID);
    my $id = shmget(IPC_PRIVATE, 4096, 0600); shmread($id, my $v, 0, 1); shmctl($id, IPC_RMID, 0)' 2>&1)
status=$?
printf '%-28s %s\n' "shmat, not mirrored" "exit $status: $(grep -o 'vmarea cannot mirror [0-9]*: shmat' <<<"$log")"
if [ $status -ne 1 ] || ! grep -q "^MISMATCH in process [0-9]*: vmarea cannot mirror [0-9]*: shmat(" <<<"$log" ||
   ! grep -q "the calls before it" <<<"$log"; then
    echo "$log"
    failed=1
fi
exit $failed

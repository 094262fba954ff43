/* SPDX-License-Identifier: MIT */
/*
 * trace_calls N — the workload of bench_trace.sh: N rounds of mmap, a
 * store, mprotect and munmap (3 memory calls a round, and a fault), so
 * that what tracing adds per memory call stands out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000;
    for (long i = 0; i < n; i++) {
        char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 1;
        p[0] = 1;
        if (mprotect(p, 4096, PROT_READ) || munmap(p, 8192))
            return 1;
    }
    return 0;
}

#!/bin/bash
# SPDX-License-Identifier: MIT
# bench_trace.sh BUILD_DIR [RUNS] — what `vmarea trace` costs, against the
# host's own tracer in the same run: each program plain, under
# `strace -f -e trace=none` (every system call stopped and resumed, nothing
# printed: the cost of the ptrace stops themselves), under `strace -f`
# (printed to /dev/null), and under `vmarea trace`.  The first row is a
# workload of memory calls only, where the difference per mirrored call is
# what vmarea adds beyond the stop: the call made on the twin, its result
# compared, and the anonymous pages brought in line.  Medians of RUNS (5).
set -euo pipefail
build=$(cd "$1" && pwd)
runs=${2:-5}
vmarea=$build/vmarea
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
command -v strace >/dev/null || { echo "bench_trace: strace is needed (apt-get install strace)" >&2; exit 1; }

printf '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' > hello.c
seq 1 300000 | shuf --random-source=<(yes) > big.txt
cat > threads.py <<'PY'
import subprocess, threading
def work():
    return sum(len(b) for b in [bytearray(100000) for _ in range(50)])
threads = [threading.Thread(target=work) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
subprocess.run(["true"])
PY

# Seconds of one run of "$@", output discarded.
seconds() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }'
}

median() {
    sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

measure() {
    local i
    for ((i = 0; i < runs; i++)); do seconds "$@"; done | median
}

calls_of() {
    "$vmarea" trace -- "$@" 2>&1 >/dev/null | sed -n 's/.* processes, \([0-9]*\) calls mirrored.*/\1/p'
}

printf 'vmarea bench_trace: median of %d runs\n' "$runs"
printf '%-34s %9s %11s %9s %9s %8s %6s %14s %s\n' program plain "stops only" "strace -f" "vmarea" "/strace" calls "added/call" "goal (<= 3x strace -f) met"
# row NAME PER_CALL COMMAND...: PER_CALL "yes" where the calls are all the
# work (the difference per call means something there).
row() {
    local name=$1 per_call=$2; shift 2
    local plain stops full ours calls ratio added met
    plain=$(measure "$@")
    stops=$(measure strace -f -e trace=none -o /dev/null "$@")
    full=$(measure strace -f -o /dev/null "$@")
    ours=$(measure "$vmarea" trace -- "$@")
    calls=$(calls_of "$@")
    ratio=$(awk -v a="$ours" -v b="$full" 'BEGIN { print a / b }')
    added=$(awk -v a="$ours" -v b="$stops" -v n="$calls" 'BEGIN { print (a - b) / n * 1e6 }')
    met=$(awk -v r="$ratio" 'BEGIN { print (r <= 3) }')
    if [ "$per_call" = yes ]; then
        added=$(printf '%11.1f us' "$added")
    else
        added=$(printf '%14s' -)
    fi
    printf '%-34s %8.3fs %10.3fs %8.3fs %8.3fs %7.2fx %6d %s %s\n' "$name" "$plain" "$stops" "$full" "$ours" \
        "$ratio" "$calls" "$added" "$([ "$met" = 1 ] && echo yes || echo NO)"
}
row "memory calls (trace_calls 20000)" yes "$build/bench/trace_calls" 20000
row "gcc -O2 hello.c" no gcc -O2 -o hello hello.c
row "sort -n of 300,000 lines" no sort -n big.txt -o sorted.txt
row "python3: 4 threads, a subprocess" no python3 threads.py

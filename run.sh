#!/bin/bash
# SPDX-License-Identifier: MIT
# Quick start.  On a Debian 12 machine, as root:
#   ./run.sh          install what is missing, build into build/, run `vmarea check`
#   ./run.sh test     the same build, then every test: ctest, then an
#                     ASan+UBSan build with every debug check (VMAREA_DEBUG=2,
#                     build-asan/) and its ctest, a ThreadSanitizer build
#                     (build-tsan/) and the tests with threads, and libFuzzer
#                     for a minute (build-fuzz/)
#   ./run.sh bench    the same build, then the benchmarks (bench/bench_vma, bench_memory,
#                     bench_trace.sh)
# Extra arguments after `bench` go to bench_vma and bench_memory (e.g. --quick).
set -euo pipefail
cd "$(dirname "$0")"

JOBS=2
TSAN_TESTS=(rcu rwsem vma_lock vma_tree memory mm_counter pagecache stress)
FUZZ_SECONDS=60
# clang's libFuzzer and sanitizer runtimes are in libclang-rt-dev, which clang
# only recommends.
PACKAGES=(build-essential cmake pkg-config liburcu-dev libcmocka-dev libbsd-dev valgrind
          python3 perl git strace
          clang libclang-rt-dev)

say() { printf '\n== %s\n' "$*"; }

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "run.sh: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
}

# build DIR [cmake options...]
build() {
    local dir=$1
    shift
    say "configuring and building $dir/"
    cmake -S . -B "$dir" -DVMAREA_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j "$JOBS"
}

run_ctest() {
    say "testing $1/"
    ctest --test-dir "$1" -j "$JOBS" --output-on-failure
}

mode=${1:-check}
case $mode in
    check|test|bench) ;;
    -h|--help) sed -n '3,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: ./run.sh [test|bench [ARGS...]]" >&2; exit 2 ;;
esac
[ $# -gt 0 ] && shift

install_packages
build build -DCMAKE_BUILD_TYPE=RelWithDebInfo

case $mode in
    check)
        say "build/vmarea check"
        build/vmarea check
        ;;
    test)
        run_ctest build
        build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMAREA_SANITIZE=ON -DVMAREA_DEBUG=2
        run_ctest build-asan
        # ThreadSanitizer: the tests whose threads race on purpose.
        say "configuring and building build-tsan/ (ThreadSanitizer)"
        cmake -S . -B build-tsan -DVMAREA_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMAREA_TSAN=ON \
            -DVMAREA_DEBUG=ON >/dev/null
        cmake --build build-tsan -j "$JOBS" --target "${TSAN_TESTS[@]/#/test_}"
        say "testing build-tsan/ (${TSAN_TESTS[*]})"
        TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
            ctest --test-dir build-tsan -j "$JOBS" --output-on-failure \
                  -R "^($(IFS='|'; echo "${TSAN_TESTS[*]}"))\$"
        # libFuzzer over the public API for FUZZ_SECONDS (tests/fuzz), from
        # the checked-in seeds and what earlier runs in build-fuzz/ kept.
        say "configuring and building build-fuzz/ (libFuzzer, clang)"
        CC=clang cmake -S . -B build-fuzz -DVMAREA_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMAREA_FUZZ=ON \
            -DVMAREA_DEBUG=ON -DVMAREA_BENCH=OFF -DVMAREA_FUZZ_SECONDS="$FUZZ_SECONDS" >/dev/null
        cmake --build build-fuzz -j "$JOBS" --target fuzz_api
        say "fuzzing for ${FUZZ_SECONDS}s (build-fuzz/tests/fuzz_api)"
        ctest --test-dir build-fuzz --output-on-failure -R '^fuzz_api$'
        grep -E '^(Done|stat::(number_of_executed_units|average_exec_per_sec|new_units_added))' \
            build-fuzz/Testing/Temporary/LastTest.log || true
        say "all tests passed"
        ;;
    bench)
        say "build/bench/bench_vma $*"
        build/bench/bench_vma "$@"
        say "build/bench/bench_memory $*"
        build/bench/bench_memory "$@"
        say "bench/bench_trace.sh build"
        bench/bench_trace.sh build
        ;;
esac

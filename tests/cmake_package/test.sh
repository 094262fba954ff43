#!/bin/bash
# SPDX-License-Identifier: MIT
# Install the built project into a temporary prefix, then configure, build
# and run tests/cmake_package against it with find_package(vmarea) alone.
#   test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmarea-cmake.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }
cmake -S "$src" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/configure.log" ||
    { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/build" >"$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }
lib=$(dirname "$(find "$tmp/prefix" -name 'libvmarea.so*' -print -quit)")
for exe in consumer_c consumer_cxx consumer_c_static consumer_cxx_static; do
    echo "== $exe"
    LD_LIBRARY_PATH=$lib "$tmp/build/$exe"
done
if readelf -d "$tmp/build/consumer_c_static" | grep -q 'NEEDED.*libvmarea'; then
    echo "consumer_c_static needs libvmarea.so"; exit 1
fi
readelf -d "$tmp/build/consumer_c" | grep -q 'NEEDED.*libvmarea' ||
    { echo "consumer_c does not link libvmarea.so"; exit 1; }
for page in man1/vmarea.1 man3/vmarea.3; do
    [ -s "$tmp/prefix/share/man/$page" ] || { echo "share/man/$page is not installed"; exit 1; }
done
echo "find_package(vmarea): C and C++, shared and static; man pages installed"

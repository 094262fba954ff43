#!/bin/bash
# SPDX-License-Identifier: MIT
# Install the built project into a temporary prefix and build a program
# against it with nothing but pkg-config, linking vmarea statically and then
# as a shared library, then loading it with dlopen; run them.
# Then build README.md's example the same way and check it prints what the
# README says it prints.
#   consumer_test.sh BUILD_DIR CONSUMER_C README CC [EXTRA_CFLAGS...]
set -euo pipefail
build=$1 src=$2 readme=$3 cc=$4
shift 4
extra=("$@")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmarea-pc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
    { cat "$tmp/install.log"; exit 1; }

pcdir=$(dirname "$(find "$prefix" -name vmarea.pc -print -quit)")
[ -n "$pcdir" ] && [ -f "$pcdir/vmarea.pc" ] || { echo "no vmarea.pc installed"; exit 1; }
export PKG_CONFIG_PATH=$pcdir
# Only our prefix and the system: no uninstalled copy of vmarea may leak in.
unset PKG_CONFIG_LIBDIR
pkg-config --exists --print-errors vmarea
echo "pkg-config --cflags --libs vmarea: $(pkg-config --cflags --libs vmarea)"
echo "pkg-config --static --libs vmarea: $(pkg-config --static --libs vmarea)"
libdir=$(pkg-config --variable=libdir vmarea)

# Static: the archive and the private dependencies the .pc file lists (libc
# stays shared).  This fails if Requires.private/Libs.private are incomplete.
# shellcheck disable=SC2046
"$cc" "${extra[@]}" -o "$tmp/consumer_static" "$src" $(pkg-config --cflags vmarea) \
    -Wl,-Bstatic $(pkg-config --static --libs vmarea) -Wl,-Bdynamic
if readelf -d "$tmp/consumer_static" | grep -q 'NEEDED.*libvmarea'; then
    echo "the static consumer needs libvmarea.so"; exit 1
fi
echo "== static"
"$tmp/consumer_static"

# Shared: the plain pkg-config line.
# shellcheck disable=SC2046
"$cc" "${extra[@]}" -o "$tmp/consumer_shared" "$src" $(pkg-config --cflags --libs vmarea)
readelf -d "$tmp/consumer_shared" | grep -q 'NEEDED.*libvmarea\.so' ||
    { echo "the shared consumer does not use libvmarea.so"; exit 1; }
echo "== shared"
LD_LIBRARY_PATH=$libdir "$tmp/consumer_shared"
# and it really loaded the installed copy
LD_LIBRARY_PATH=$libdir ldd "$tmp/consumer_shared" | grep -F "$libdir/libvmarea.so" >/dev/null ||
    { echo "the shared consumer did not resolve libvmarea.so in $libdir"; exit 1; }

# dlopen: loaded after startup, by a program that does not link liburcu.
"$cc" "${extra[@]}" -o "$tmp/dlopen_consumer" "$(dirname "$src")/dlopen_consumer.c" -ldl
echo "== dlopen"
"$tmp/dlopen_consumer" "$libdir/libvmarea.so"

# README.md: the first ```c block is the example; the ``` block after the line
# "prints" is its output.
awk '/^```c$/ { f = 1; next } f && /^```$/ { exit } f' "$readme" >"$tmp/readme_example.c"
awk '/^prints$/ { p = 1; next } p && /^```$/ { if (f) exit; f = 1; next } f' "$readme" \
    >"$tmp/readme_expected.txt"
[ -s "$tmp/readme_example.c" ] && [ -s "$tmp/readme_expected.txt" ] ||
    { echo "README.md: no example or no expected output found"; exit 1; }
# shellcheck disable=SC2046
# As a user compiling strict ISO C would: -std=c11 -pedantic, warnings fatal.
"$cc" "${extra[@]}" -std=c11 -pedantic -Wall -Wextra -Werror -o "$tmp/readme_example" \
    "$tmp/readme_example.c" $(pkg-config --cflags --libs vmarea)
echo "== README example"
LD_LIBRARY_PATH=$libdir "$tmp/readme_example" >"$tmp/readme_actual.txt"
cat "$tmp/readme_actual.txt"
diff -u "$tmp/readme_expected.txt" "$tmp/readme_actual.txt" ||
    { echo "README.md's example does not print what README.md says"; exit 1; }

#!/usr/bin/env bash
# The install test: `cmake --install` of a built tree into a temporary prefix, then what an
# app and an administrator find there.
#   1. The layout: programs that run, headers that name no internal header, libavsync.so
#      with its SONAME and only the public API exported, libavsync.a, the CMake package,
#      avsync.pc, the systemd unit naming this prefix, an example configuration the
#      server accepts.
#   2. A C program built with pkg-config against libavsync.so, then against libavsync.a.
#   3. A C++ CMake project built with find_package(avsync), on each library.
#   4. A second install keeps an edited configuration.
# usage: install_test.sh BUILD_DIR WORK_DIR (emptied first). Any failed step fails the test.
set -euo pipefail

build=$(realpath "$1")
work=$(realpath -m "$2")
here=$(cd "$(dirname "$0")" && pwd)
prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"

fail() {
  echo "install_test: FAILED: $*" >&2
  exit 1
}
step() { echo "install_test: $*"; }
# Runs a command with its output kept in a log that is shown only when it fails.
quietly() {
  local log=$work/step.log
  "$@" >"$log" 2>&1 || { cat "$log" >&2; fail "$*"; }
}

step "cmake --install $build --prefix $prefix"
quietly cmake --install "$build" --prefix "$prefix"

step "the programs run"
for program in avsync-server avsync; do
  [ -x "$prefix/bin/$program" ] || fail "bin/$program is missing"
done
quietly "$prefix/bin/avsync-server" migrate --db "sqlite:$work/server.db"
quietly "$prefix/bin/avsync" --help

step "the headers are the public ones only"
for header in avsync.h client.hpp error.hpp; do
  [ -f "$prefix/include/avsync/$header" ] || fail "include/avsync/$header is missing"
done
if grep -nE '#include *"(core|client|sqlite|store|server)/' "$prefix"/include/avsync/*; then
  fail "an installed header includes an internal one"
fi

pc=$(find "$prefix" -name avsync.pc)
[ -n "$pc" ] || fail "avsync.pc is missing"
libdir=$(dirname "$(dirname "$pc")")
[ -f "$libdir/cmake/avsync/avsyncConfig.cmake" ] || fail "avsyncConfig.cmake is missing from $libdir/cmake/avsync"
[ -f "$libdir/libavsync.a" ] || fail "libavsync.a is missing from $libdir"
soname=$(readelf -d "$libdir/libavsync.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = libavsync.so.0.2 ] || fail "libavsync.so's SONAME is '$soname', not libavsync.so.0.2"

step "libavsync.so exports the public API only"
# Defined dynamic symbols, demangled: the C API, and Client, Row::field, check_server and to_string.
unexpected=$(nm -D --defined-only "$libdir/libavsync.so" | awk '{print $3}' | c++filt |
  grep -vE '^(avsync_[a-z_]+|avsync::Client::[a-zA-Z_~]+\(.*|avsync::Row::field.*|avsync::check_server\(.*|avsync::to_string\(.*)$' || true)
[ -z "$unexpected" ] || fail "libavsync.so exports more than the public API:
$unexpected"
nm -D --defined-only "$libdir/libavsync.so" | grep -q ' T avsync_client_open$' ||
  fail "libavsync.so does not export avsync_client_open"

step "the systemd unit and the configuration"
unit=$prefix/lib/systemd/system/avsync-server.service
[ -f "$unit" ] || fail "lib/systemd/system/avsync-server.service is missing"
config=$prefix/etc/avsync/avsync.toml
[ -f "$config" ] || fail "etc/avsync/avsync.toml is missing"
grep -qxF "ExecStart=$prefix/bin/avsync-server serve --config $config" "$unit" ||
  fail "the unit does not start $prefix/bin/avsync-server with --config $config: $(grep ExecStart "$unit")"
for directive in DynamicUser=yes StateDirectory=avsync NoNewPrivileges=yes ProtectSystem=strict \
    ProtectHome=yes PrivateTmp=yes PrivateDevices=yes CapabilityBoundingSet= \
    'SystemCallFilter=@system-service' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
    MemoryDenyWriteExecute=yes Restart=on-failure LimitNOFILE=65536; do
  grep -qxF "$directive" "$unit" || fail "the unit lacks $directive"
done
grep -qxF "ExecStartPre=$prefix/bin/avsync-server migrate --config $config" "$unit" ||
  fail "the unit does not migrate with --config $config first: $(grep ExecStartPre "$unit")"
# The example configuration is one the installed server reads (print-config opens no database).
"$prefix/bin/avsync-server" serve --config "$config" --print-config >"$work/settings.toml" 2>&1 ||
  { cat "$work/settings.toml" >&2; fail "avsync-server does not accept the example configuration"; }
for key in listen db; do
  grep -qE "^$key = .*# $config:[0-9]+$" "$work/settings.toml" ||
    fail "the example configuration sets no $key: $(grep "^$key = " "$work/settings.toml")"
done

step "a C program with pkg-config, on libavsync.so"
export PKG_CONFIG_PATH=$libdir/pkgconfig
read -r -a cflags <<<"$(pkg-config --cflags avsync)"
read -r -a libs <<<"$(pkg-config --libs avsync)"
quietly cc -std=c11 -Wall -Wextra -Werror "$here/c_app.c" -o "$work/c_app" "${cflags[@]}" "${libs[@]}"
readelf -d "$work/c_app" | grep -qF '[libavsync.so.0.2]' || fail "c_app does not load libavsync.so.0.2"
quietly env LD_LIBRARY_PATH="$libdir" "$work/c_app" "$work/c_app.db"

step "a C program with pkg-config --static, on libavsync.a"
# The flags for a static link, with the archive named so the shared library is not chosen.
read -r -a libs <<<"$(pkg-config --static --libs avsync)"
libs=("${libs[@]/#-lavsync/-l:libavsync.a}")
quietly cc -std=c11 -Wall -Wextra -Werror "$here/c_app.c" -o "$work/c_app_static" "${cflags[@]}" "${libs[@]}"
if readelf -d "$work/c_app_static" | grep -qF libavsync; then fail "c_app_static loads libavsync.so"; fi
quietly "$work/c_app_static" "$work/c_app_static.db"

step "a C++ CMake project with find_package(avsync)"
quietly cmake -S "$here/cmake_app" -B "$work/cmake_app" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release
found=$(sed -n 's/^avsync_DIR:PATH=//p' "$work/cmake_app/CMakeCache.txt")
[ "$found" = "$libdir/cmake/avsync" ] || fail "find_package(avsync) found $found, not the prefix's"
quietly cmake --build "$work/cmake_app" --parallel 2
quietly env LD_LIBRARY_PATH="$libdir" "$work/cmake_app/cpp_app" "$work/cpp_app.db"
quietly "$work/cmake_app/cpp_app_static" "$work/cpp_app_static.db"

step "a second install keeps an edited configuration"
echo 'workers = 4  # edited' >>"$config"
quietly cmake --install "$build" --prefix "$prefix"
grep -qF '# edited' "$config" || fail "the second install replaced the edited $config"

step "passed"

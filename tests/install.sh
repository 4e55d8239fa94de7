#!/usr/bin/env bash
# The installed C library, as a user gets it: `cmake --install` of the build tree into a fresh
# prefix, then one of
#   pkg-config    build tests/consumer/consumer.c with `pkg-config --cflags --libs scorefield`, run it
#   find-package  build it with find_package(scorefield) in a CMake project, run it
#   exports       the shared library exports exactly the functions declared SF_API in the header,
#                 and the build's archives define no other global sf_ name (internals
#                 are sfi_, so nothing can be mistaken for API)
# Usage: tests/install.sh BUILD_DIR pkg-config|find-package|exports
set -euo pipefail
build=$(cd "$1" && pwd)
mode=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
lib=$(find "$work/prefix" -name 'libscorefield.so' | head -1)
[ -n "$lib" ] || { echo "no libscorefield.so installed"; exit 1; }
libdir=$(dirname "$lib")

case "$mode" in
pkg-config)
  export PKG_CONFIG_PATH="$libdir/pkgconfig"
  flags=$(pkg-config --cflags --libs scorefield)
  echo "pkg-config --cflags --libs scorefield: $flags"
  # shellcheck disable=SC2086
  cc -std=c11 -Wall -Wextra -Werror -o "$work/consumer" "$here/consumer/consumer.c" $flags -lm -Wl,-rpath,"$libdir"
  "$work/consumer"
  ;;
find-package)
  cmake -S "$here/consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_RPATH="$libdir" >/dev/null
  cmake --build "$work/build" >/dev/null
  "$work/build/consumer"
  ;;
exports)
  real=$(readlink -f "$lib")
  soname=$(readelf -d "$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  echo "installed $(basename "$real"), SONAME $soname"
  [[ "$soname" =~ ^libscorefield\.so\.[0-9]+$ ]] || { echo "unexpected SONAME '$soname'"; exit 1; }
  nm -D --defined-only "$real" | awk '$2 ~ /^[TDBRV]$/ {print $3}' | sort >"$work/exported"
  # declared: every SF_API function name in the installed header (the name before its "(")
  sed -n 's/^SF_API .*[ *]\(sf_[a-z0-9_]*\)(.*/\1/p' "$work/prefix/include/scorefield.h" | sort >"$work/declared"
  echo "$(wc -l <"$work/exported") exported, $(wc -l <"$work/declared") declared"
  if ! diff "$work/declared" "$work/exported"; then
    echo "exported symbols differ from the header's SF_API declarations (< declared only, > exported only)"
    exit 1
  fi
  # the library's objects and the CLI's helper archives (reports, workloads)
  archives=$(find "$build" -maxdepth 1 -name 'libscorefield_*.a')
  [ -n "$archives" ] || { echo "no libscorefield_*.a in $build"; exit 1; }
  # shellcheck disable=SC2086
  nm -gC --defined-only $archives 2>/dev/null | awk '$2 ~ /^[TDBRVWi]$/ {print $3}' |
    sed 's/[(<].*//; s/\.resolver$//' | { grep '^sf_' || true; } | sort -u >"$work/internal"
  if ! comm -23 "$work/internal" "$work/declared" | tee "$work/stray" | grep -q .; then
    echo "every global sf_ symbol of the build's archives is declared SF_API"
  else
    echo "global sf_ symbols that are not API (rename them sfi_):"; cat "$work/stray"; exit 1
  fi
  ;;
*)
  echo "usage: $0 BUILD_DIR pkg-config|find-package|exports"; exit 2 ;;
esac

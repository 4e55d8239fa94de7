#!/usr/bin/env bash
# Builds scorefield for sm_90 (H100/H200) on a development machine and packs what the GPU suite
# needs into DIR, for a GPU machine that has the CUDA toolkit but no Criterion, jansson or FFTW:
#   DIR/bin         the CLI, the GPU test programs, the stress program and the benchmarks (stripped)
#   DIR/lib.tar.xz  the shared libraries they need that are neither CUDA's nor the C runtime's
#                   (compressed: OpenBLAS alone is 35 MB; the suite unpacks them)
#   DIR/BUILD_INFO  date, commit, nvcc, and every kernel's registers and spills from ptxas
# The build fails if any kernel spills registers at sm_90, and the bundle if it exceeds 60 MiB.
# Then, on the GPU machine, from the repository root: bash tests/gpu_suite.sh --bundle DIR
# Usage: bash tests/gpu_bundle.sh DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: bash tests/gpu_bundle.sh DIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
build=${SF_BUNDLE_BUILD:-$root/build-bundle}
command -v nvcc >/dev/null || { echo "gpu_bundle: nvcc is not on the PATH: the bundle needs the CUDA toolkit" >&2; exit 2; }

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSF_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DSF_CUDA_VERBOSE=ON >/dev/null
log=$build/build.log
# a clean build, so that ptxas reports every kernel
cmake --build "$build" -j "$(nproc)" --clean-first >"$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }

# registers and spills per function (ptxas -v): "Function properties for F", then "N bytes stack
# frame, S bytes spill stores, L bytes spill loads" and, for kernels, "Used R registers"
ptxas=$build/ptxas.txt
awk '/Function properties for/ {name = $NF}
     /bytes spill stores/ {for (i = 1; i <= NF; i++) {if ($(i + 1) == "bytes" && $(i + 2) == "spill" && $(i + 3) == "stores,") st = $i;
                                                       if ($(i + 1) == "bytes" && $(i + 2) == "spill" && $(i + 3) == "loads") ld = $i}
                           spill[name] = st " " ld}
     /Used [0-9]+ registers/ {for (i = 1; i <= NF; i++) if ($i == "Used") regs[name] = $(i + 1)}
     END {for (f in spill) print f, (f in regs ? regs[f] : "-"), spill[f]}' "$log" | sort -u >"$ptxas"
kernels=$(wc -l <"$ptxas")
spilling=$(awk '$3 != 0 || $4 != 0' "$ptxas" | wc -l)
[ "$kernels" -gt 0 ] || { echo "gpu_bundle: no ptxas report in $log" >&2; exit 1; }
if [ "$spilling" -ne 0 ]; then
    echo "gpu_bundle: $spilling of $kernels functions spill registers at sm_90:" >&2
    awk '$3 != 0 || $4 != 0 {print "  " $1 ": " $2 " registers, " $3 " bytes spill stores, " $4 " loads"}' "$ptxas" >&2
    exit 1
fi

rm -rf "$dir"
mkdir -p "$dir/bin" "$dir/lib"
programs="$build/scorefield $build/tests/test_gpu $build/tests/test_gpu_logic $build/tests/test_grid $build/tests/test_plan
          $build/tests/gpu_stress $build/bench/bench_gpu $build/bench/bench_score $build/bench/bench_sampler
          $build/bench/bench_burgers"
for p in $programs; do
    [ -x "$p" ] || { echo "gpu_bundle: $p was not built" >&2; exit 1; }
    cp "$p" "$dir/bin/"
done
strip --strip-unneeded "$dir"/bin/* 2>/dev/null || true

# Shared libraries: everything ldd resolves except the CUDA libraries (the GPU machine's own
# toolkit and driver must be used) and the C runtime (the loader, libc and friends).
skip='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|libpthread\.|librt\.|libresolv\.|libgcc_s\.|libstdc\+\+\.|libcuda|libcublas|libcufft|libcurand|libnvidia)'
for exe in "$dir"/bin/*; do
    ldd "$exe" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r name path; do
    [[ $name =~ $skip ]] || cp -L "$path" "$dir/lib/$name"
done
cp -L "$build"/libscorefield.so.[0-9] "$dir/lib/" # the Python package's library (SCOREFIELD_LIBRARY)
libraries=$(ls "$dir/lib" | wc -l)
XZ_OPT=-T0 tar -C "$dir" -cJf "$dir/lib.tar.xz" lib
rm -rf "$dir/lib"

{
    echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname) from $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
    nvcc --version | tail -1
    echo "$kernels functions for sm_90, none spilling; the most registers: $(sort -k2 -n -r "$ptxas" | head -1 | awk '{print $2 " (" $1 ")"}')"
} >"$dir/BUILD_INFO"
cp "$ptxas" "$dir/ptxas.txt"
size=$(du -sm "$dir" | cut -f1)
echo "gpu_bundle: $dir ($size MiB): $(ls "$dir/bin" | wc -l) programs, $libraries libraries, $kernels functions without spills"
if [ "$size" -ge 60 ]; then
    echo "gpu_bundle: the bundle is $size MiB, over the 60 MiB budget" >&2
    exit 1
fi

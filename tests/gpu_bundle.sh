#!/usr/bin/env bash
# Builds scorefield for sm_90 (H100/H200) on a development machine and packs what the GPU suite
# needs into DIR, for a GPU machine that has the CUDA toolkit but no Criterion, jansson or FFTW:
#   DIR/bin   the CLI, the test programs and the benchmarks
#   DIR/lib   the shared libraries they need that are neither CUDA's nor the C runtime's
# Then, on the GPU machine, from the repository root: bash tests/gpu_suite.sh --bundle DIR
# Usage: bash tests/gpu_bundle.sh DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: bash tests/gpu_bundle.sh DIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
build=${SF_BUNDLE_BUILD:-$root/build-bundle}
command -v nvcc >/dev/null || { echo "gpu_bundle: nvcc is not on the PATH: the bundle needs the CUDA toolkit" >&2; exit 2; }

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSF_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null

rm -rf "$dir"
mkdir -p "$dir/bin" "$dir/lib"
cp "$build/scorefield" "$dir/bin/"
find "$build/tests" "$build/bench" -maxdepth 1 -type f -perm -u+x \( -name 'test_*' -o -name 'bench_*' \) \
    -exec cp {} "$dir/bin/" \;

# Shared libraries: everything ldd resolves except the CUDA libraries (the GPU machine's own
# toolkit and driver must be used) and the C runtime (the loader, libc and friends).
skip='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|libpthread\.|librt\.|libresolv\.|libgcc_s\.|libstdc\+\+\.|libcuda|libcublas|libcufft|libcurand|libnvidia)'
for exe in "$dir"/bin/*; do
    ldd "$exe" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r name path; do
    [[ $name =~ $skip ]] || cp -L "$path" "$dir/lib/$name"
done

{
    echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname) from $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    nvcc --version | tail -1
} >"$dir/BUILD_INFO"
size=$(du -sm "$dir" | cut -f1)
echo "gpu_bundle: $dir ($size MiB): $(ls "$dir/bin" | wc -l) programs, $(ls "$dir/lib" | wc -l) libraries"
if [ "$size" -ge 60 ]; then
    echo "gpu_bundle: the bundle is $size MiB, over the 60 MiB budget" >&2
    exit 1
fi

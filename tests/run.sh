#!/usr/bin/env bash
# The README's test command, what CI runs on a fresh Debian clone (.ci/run): installs the missing
# Debian packages, then
#   1. builds (CUDA too where nvcc is found: the kernels compile, GPU tests skip without a device)
#      and runs every C test;
#   2. `pip install .` into a fresh virtual environment and runs the Python tests there;
#   3. builds the whole C suite again with AddressSanitizer and UndefinedBehaviorSanitizer
#      (SF_CUDA=OFF, SF_MPI=OFF: OpenMPI's own allocations would flood LeakSanitizer) and runs it;
#   4. fuzzes the .npy and JSON mixture readers with libFuzzer, 30 s each (SF_FUZZ_SECONDS).
# 10 to 20 minutes on 2 cores (CUDA build included). `bash tests/run.sh --quick` stops after step 2.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps
jobs=$(nproc)

echo "== 1. build and test"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== 2. the Python package in a fresh virtual environment"
bash tests/python.sh
[ "${1:-}" = "--quick" ] && exit 0

echo "== 3. the suite under AddressSanitizer and UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -DSF_CUDA=OFF -DSF_MPI=OFF -DSF_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSF_BUILD_BENCH=OFF
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs"

echo "== 4. fuzzing the readers"
bash tests/fuzz/run.sh "${SF_FUZZ_SECONDS:-30}"

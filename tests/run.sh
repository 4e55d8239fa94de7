#!/usr/bin/env bash
# The README's test command: install missing Debian packages, build (CUDA too where nvcc is
# found; kernels then compile but GPU tests skip without a device), run every C test, then
# `pip install .` into a fresh virtual environment and run the Python tests there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"
ctest --test-dir build --output-on-failure -j "$(nproc)"
bash tests/python.sh

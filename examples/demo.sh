#!/usr/bin/env bash
# The README's first command: install missing Debian packages, build, and run the speciation demo
# (a few seconds on the CPU): a summary on stdout and figures (SVG, with CSV data) in the folder it
# names, scorefield-demo/ by default (or the first argument).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
./build/scorefield info
echo
./build/scorefield demo --out-dir "${1:-scorefield-demo}"

#!/usr/bin/env bash
# The CPU comparison of issue 10 in one run: the fast backend, the reference path, NumPy and
# PyTorch-CPU on the same input at the four shapes (N, d, K), score only, compute only, each as a
# fraction of the OpenBLAS DGEMM rate measured in the same run, then sample and loglik throughput.
# NumPy and PyTorch come from PyPI into a virtual environment made here when they are missing.
#   bash bench/compare_cpu.sh [BUILD_DIR]      (default build/; SF_BENCH_VENV overrides the venv)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
venv=${SF_BENCH_VENV:-$build/bench-venv}
if [ ! -x "$build/bench/bench_score" ]; then
  echo "compare_cpu: $build/bench/bench_score not found: build first (cmake -S . -B build && cmake --build build)" >&2
  exit 2
fi
if ! "$venv/bin/python" -c "import numpy, torch" 2>/dev/null; then
  echo "compare_cpu: installing numpy and torch into $venv (once)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet numpy torch
fi
echo "date: $(date -u +%Y-%m-%d), host: $(hostname), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| N, d, K | fast cpu backend | reference | NumPy | PyTorch CPU | fast vs reference / NumPy / PyTorch |"
echo "|---|---|---|---|---|---|"
for shape in "1000000 2 8" "100000 64 256" "20000 512 64" "20000 1024 1024"; do
  set -- $shape
  "$build/bench/bench_score" --n "$1" --dim "$2" --components "$3" --outputs score --backend cpu,reference \
    --python "$venv/bin/python" --frameworks numpy,torch --repeat 5 --markdown > "$build/compare_$2_$3.log" 2>&1 || {
    cat "$build/compare_$2_$3.log" >&2; exit 1; }
  grep '^| ' "$build/compare_$2_$3.log"
done
echo
echo "(each cell: best time of 5 after a warm-up (one run when a run takes over 3 s), and 4Kd flops per particle as % of the DGEMM rate;"
echo " full output in $build/compare_*.log)"
grep -h -E "^CPU:|^(numpy|torch):" "$build"/compare_*.log | sort -u
echo
for backend in cpu reference; do
  "$build/bench/bench_sampler" --backend "$backend" --n 20000
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

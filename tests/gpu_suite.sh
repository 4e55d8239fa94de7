#!/usr/bin/env bash
# The GPU suite, for a machine with an NVIDIA GPU (H100/H200: sm_90):
#   configure for sm_90, build, run the GPU tests and the kernel-logic tests, run the GPU tests
#   again under compute-sanitizer memcheck, run `scorefield check` in f64 and f32, run the
#   benchmark, and write a short report (default gpu_report.md, or $OUT/gpu_report.md).
# Usage: bash tests/gpu_suite.sh [build-dir]
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-gpu}
report=${OUT:-.}/gpu_report.md
log=${OUT:-.}/gpu_suite.log
: >"$log"
status=0
step() { # step NAME COMMAND...: runs, logs, records pass/fail in the report
  local name=$1; shift
  echo "== $name: $*" | tee -a "$log"
  local t0=$SECONDS
  if "$@" >>"$log" 2>&1; then r=pass; else r=FAIL; status=1; fi
  echo "| $name | $r | $((SECONDS - t0)) s |" >>"$report"
  echo "   -> $r" | tee -a "$log"
}
{
  echo "# scorefield GPU suite"
  echo
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  host: $(hostname)"
  echo
  echo '```'
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | head -3
  nvcc --version | tail -1
  echo '```'
  echo
  echo "| step | result | time |"
  echo "| --- | --- | --- |"
} >"$report"
step configure cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSF_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90
step build cmake --build "$build" -j "$(nproc)"
step info "$build/scorefield" info
step gpu-tests ctest --test-dir "$build" --output-on-failure -R '^(gpu|gpu_logic|gpu_grid|backend)\.'
step all-tests ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
if command -v compute-sanitizer >/dev/null; then
  step memcheck compute-sanitizer --tool memcheck --error-exitcode 1 "$build/tests/test_gpu" --jobs 1 --no-early-exit
else
  echo "| memcheck | not run: compute-sanitizer not on PATH | |" >>"$report"
fi
step check-f64 "$build/scorefield" check --dim 64 --components 128 --n 200000
step check-f32 "$build/scorefield" check --dim 64 --components 128 --n 200000 --precision f32
step check-lowrank-small-t "$build/scorefield" check --dim 8 --components 16 --kinds lowrank --schedule vp-linear --t 0.001
step bench "$build/bench/bench_score" --n 1000000 --dim 64 --components 256
step bench-large-d "$build/bench/bench_score" --n 200000 --dim 1024 --components 1024 --no-numpy --backend cuda
step bench-burgers-f64 "$build/bench/bench_burgers" --backend cuda --n 200000 --grid-dim 3 --grid 128
step bench-burgers-f32 "$build/bench/bench_burgers" --backend cuda --precision f32 --n 200000 --grid-dim 3 --grid 128
step bench-sampler "$build/bench/bench_sampler" --backend cuda --n 1000000 --dim 64 --components 256
step demo-cuda "$build/scorefield" demo --backend cuda --out-dir "${OUT:-.}/demo" --n 2000
step bandwidth-cuda "$build/scorefield" bandwidth --backend cuda --n 200000 --out-dir "${OUT:-.}/bandwidth"
step sample-cuda "$build/scorefield" sample --mixture examples/compact.json --schedule vp-linear --sampler dpm3 --spacing lambda --steps 30 --n 1000000 --out /tmp/sf_gpu_samples.npy --backend cuda
step burgers-cli "$build/scorefield" burgers --mixture examples/three_kinds.json --grid 512 --box 8 --tau0 0.05 --tau1 0.3 --route direct --steps 200 --backend cuda
{
  echo
  echo "## check and benchmark output"
  echo
  echo '```'
  grep -A12 -E '^scorefield check:|^bench_score:|^bench_burgers:|^bench_sampler:|^scorefield burgers:' "$log"
  echo '```'
} >>"$report"
echo "report: $report (full log: $log)"
exit $status

#!/usr/bin/env bash
# The GPU suite, for a machine with an NVIDIA GPU (H100/H200: sm_90). Run from the repository root:
#   bash tests/gpu_suite.sh --bundle DIR   programs from tests/gpu_bundle.sh (machines without
#                                          Criterion, jansson or FFTW)
#   bash tests/gpu_suite.sh [BUILD]        configure and build here for sm_90 first (default build-gpu)
# It runs every GPU test (a skipped GPU test is a failure here), the GPU tests under
# compute-sanitizer, `scorefield check` over small and large d, overlapping components, subspace
# data near t = 0 and f32 edge cases, and the benchmarks; it writes one report, gpu_report.md
# (in $OUT when set), with the full log beside it. Without a device it says so and exits 3.
# Each step has a time limit so the whole suite stays under 8 minutes on an H200.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-.}
report=$out/gpu_report.md
log=$out/gpu_suite.log
: >"$log"

bin=""
if [ "${1:-}" = "--bundle" ]; then
    [ -n "${2:-}" ] && [ -d "$2/bin" ] || { echo "gpu_suite: --bundle needs the folder made by tests/gpu_bundle.sh" >&2; exit 2; }
    bin=$(cd "$2/bin" && pwd)
    export LD_LIBRARY_PATH="$(cd "$2/lib" && pwd)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib; do
    [ -d "$d" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
done

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    echo "gpu_suite: no NVIDIA GPU on this machine (nvidia-smi finds none): nothing was run, nothing passed" >&2
    exit 3
fi

status=0
step() { # step NAME SECONDS COMMAND...: runs with a time limit, logs, records pass/fail in the report
    local name=$1 limit=$2; shift 2
    echo "== $name: $*" | tee -a "$log"
    local t0=$SECONDS r
    if timeout "$limit" "$@" >>"$log" 2>&1; then r=pass; else r="FAIL (exit $?)"; status=1; fi
    echo "| $name | $r | $((SECONDS - t0)) s |" >>"$report"
    echo "   -> $r ($((SECONDS - t0)) s)" | tee -a "$log"
}

{
    echo "# scorefield GPU suite"
    echo
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  host: $(hostname)"
    echo
    echo '```'
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv 2>&1 | head -3
    command -v nvcc >/dev/null && nvcc --version | tail -1
    [ -n "$bin" ] && cat "$bin/../BUILD_INFO" 2>/dev/null
    echo '```'
    echo
    echo "| step | result | time |"
    echo "| --- | --- | --- |"
} >"$report"

if [ -z "$bin" ]; then
    build=${1:-build-gpu}
    step configure 300 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSF_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90
    step build 600 cmake --build "$build" -j "$(nproc)"
    bin=$build/bin
    mkdir -p "$bin"
    cp "$build/scorefield" "$build"/tests/test_* "$build"/bench/bench_* "$bin/" 2>/dev/null
fi
sf=$bin/scorefield
export SF_REQUIRE_DEVICE=1 # a GPU test that would skip fails instead

step info 30 "$sf" info
# Criterion forks per test and CUDA is not fork-safe across tests in flight: one job.
step gpu-tests 240 "$bin/test_gpu" --jobs 1
step gpu-grid 120 "$bin/test_grid" --jobs 1 --filter 'gpu_grid/*'
step gpu-logic 120 "$bin/test_gpu_logic"
if command -v compute-sanitizer >/dev/null; then
    for tool in memcheck racecheck initcheck; do
        step "sanitizer-$tool" 240 compute-sanitizer --tool $tool --error-exitcode 1 \
            "$bin/test_gpu" --jobs 1 --filter 'gpu/f64_all_kinds_every_schedule'
    done
    step sanitizer-memcheck-cufft 120 compute-sanitizer --tool memcheck --error-exitcode 1 \
        "$bin/test_grid" --jobs 1 --filter 'gpu_grid/*'
else
    echo "| sanitizer | not run: compute-sanitizer not on PATH | |" >>"$report"
fi
step check-f64 120 "$sf" check --dim 64 --components 128 --n 200000
step check-f32 120 "$sf" check --dim 64 --components 128 --n 200000 --precision f32
step check-small-d 60 "$sf" check --dim 2 --components 8 --n 1000000
step check-large-d 120 "$sf" check --dim 1024 --components 256 --n 20000
step check-lowrank-small-t 60 "$sf" check --dim 8 --components 16 --kinds lowrank --schedule vp-linear --t 0.001
step bench-score 180 "$bin/bench_score" --n 1000000 --dim 64 --components 256 --backend cuda --no-numpy
step bench-large-d 180 "$bin/bench_score" --n 200000 --dim 1024 --components 1024 --backend cuda --no-numpy
step sample-cuda 120 "$sf" sample --mixture examples/compact.json --schedule vp-linear --sampler dpm3 --spacing lambda \
    --steps 30 --n 1000000 --out /tmp/sf_gpu_samples.npy --backend cuda
step burgers-cuda 120 "$sf" burgers --mixture examples/three_kinds.json --grid 512 --box 8 --tau0 0.05 --tau1 0.3 \
    --route direct --steps 200 --backend cuda

{
    echo
    echo "## output of the checks and benchmarks"
    echo
    echo '```'
    grep -A14 -E '^scorefield check:|^bench_score:|^bench_burgers:|^bench_sampler:|^scorefield (burgers|sample):' "$log" | cut -c1-160
    echo '```'
    echo
    echo "## failures"
    echo
    echo '```'
    grep -B2 -A8 -E '\[(FAIL|----)\]|FAIL|Error|error' "$log" | head -120 | cut -c1-200
    echo '```'
} >>"$report"
echo "report: $report (full log: $log)"
exit $status

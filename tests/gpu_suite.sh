#!/usr/bin/env bash
# The GPU suite, for a machine with an NVIDIA GPU (H100/H200: sm_90), in one call of under 8
# minutes. Run from the repository root:
#   bash tests/gpu_suite.sh --bundle DIR   programs from tests/gpu_bundle.sh (machines without
#                                          Criterion, jansson or FFTW)
#   bash tests/gpu_suite.sh [BUILD]        configure and build here for sm_90 first (default build-gpu)
# Steps, in this order, each with a time limit (and skipped, as a failure, once the suite's 7.5
# minutes are spent): every GPU test (a skipped GPU test fails here: SF_REQUIRE_DEVICE=1);
# `scorefield check` in float64 and float32 at small and large d, overlapping components
# (K = 1500, t = 0.95) and subspace data near t = 0; the stress program (memory pressure: a large
# sampler run and a large evaluation in one context; more than 2^31 elements; a float32 input at
# 1e30); the benchmarks against PyTorch on the same GPU with the GEMM and copy ceilings measured in
# the same run; compute-sanitizer memcheck, racecheck, initcheck and synccheck on the GPU tests
# and memcheck on the cuFFT path; the sampler and cuFFT commands.
# It writes one report, gpu_report.md, with the full log gpu_suite.log beside it (in $OUT when
# set, else here). SF_SUITE_SECONDS changes the time budget (450). Exit status: 0 every step
# passed, 1 some step failed, 2 bad arguments, 3 no GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-.}
mkdir -p "$out"
report=$out/gpu_report.md
log=$out/gpu_suite.log
: >"$log"
budget=${SF_SUITE_SECONDS:-450} # the whole suite, seconds

bin=""
if [ "${1:-}" = "--bundle" ]; then
    [ -n "${2:-}" ] && [ -d "$2/bin" ] && [ -f "$2/lib.tar.xz" ] ||
        { echo "gpu_suite: --bundle needs the folder made by tests/gpu_bundle.sh" >&2; exit 2; }
    bin=$(cd "$2/bin" && pwd)
    libs=$(mktemp -d "${TMPDIR:-/tmp}/sf-bundle-lib.XXXXXX")
    trap 'rm -rf "$libs"' EXIT
    tar -C "$libs" -xJf "$2/lib.tar.xz" || { echo "gpu_suite: cannot unpack $2/lib.tar.xz" >&2; exit 2; }
    export LD_LIBRARY_PATH="$libs/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib; do
    [ -d "$d" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
done
for d in /usr/local/cuda/bin /usr/local/cuda/compute-sanitizer; do
    [ -d "$d" ] && export PATH="$PATH:$d"
done

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    echo "gpu_suite: no NVIDIA GPU on this machine (nvidia-smi finds none): nothing was run, nothing passed" >&2
    exit 3
fi

status=0
start=$SECONDS
# step NAME SECONDS COMMAND...: runs with a time limit (cut to what is left of the budget), logs,
# records the result in the report's table
step() {
    local name=$1 limit=$2; shift 2
    local left=$((budget - (SECONDS - start)))
    if [ "$left" -lt 10 ]; then
        echo "| $name | FAIL (not run: the suite's $budget s were spent) | |" >>"$report"
        echo "== $name: not run (time budget spent)" | tee -a "$log"
        status=1
        return
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "== $name: $*" | tee -a "$log"
    local t0=$SECONDS r code
    timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
    code=$?
    case $code in
    0) r=pass ;;
    124 | 137) r="FAIL (over its $limit s)"; status=1 ;;
    *) r="FAIL (exit $code)"; status=1 ;;
    esac
    echo "| $name | $r | $((SECONDS - t0)) s |" >>"$report"
    echo "   -> $r ($((SECONDS - t0)) s)" | tee -a "$log"
}

{
    echo "# scorefield GPU suite"
    echo
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  host: $(hostname)"
    echo
    echo '```'
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv 2>&1 | head -3
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
    bin=$build/suite-bin
    mkdir -p "$bin"
    cp "$build/scorefield" "$build"/tests/test_gpu* "$build"/tests/test_grid "$build"/tests/test_plan \
        "$build"/tests/gpu_stress "$build"/bench/bench_* "$bin/" 2>/dev/null
fi
sf=$bin/scorefield
export SF_REQUIRE_DEVICE=1 # a GPU test that would skip fails instead
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}

step info 30 "$sf" info
# Criterion forks per test and CUDA is not fork-safe across tests in flight: one job. Every suite
# named gpu* in every test program that has one.
for t in test_gpu test_grid test_plan test_gpu_logic; do
    step "tests $t" 200 "$bin/$t" --jobs 1 --filter 'gpu*/*'
done

# `scorefield check`: the GPU against the float64 CPU path on fresh random workloads with outliers
for p in f64 f32; do
    step "check $p d=2 K=8" 60 "$sf" check --dim 2 --components 8 --n 1000000 --precision $p
    step "check $p d=64 K=128" 60 "$sf" check --dim 64 --components 128 --n 200000 --precision $p
    step "check $p d=1024 K=256" 90 "$sf" check --dim 1024 --components 256 --n 20000 --precision $p
    step "check $p overlapping d=64 K=1500 t=0.95" 90 "$sf" check --dim 64 --components 1500 --n 20000 \
        --schedule vp-linear --t 0.95 --precision $p
    step "check $p subspace d=8 t=0.001" 60 "$sf" check --dim 8 --components 16 --kinds lowrank \
        --schedule vp-linear --t 0.001 --precision $p
done

# the Python package on PyTorch CUDA tensors in place (python/tests/device_checks.py: no pytest needed)
pylib=${libs:+$libs/lib/}
pylib=$(ls ${pylib:-$build/}libscorefield.so.[0-9] 2>/dev/null | head -1)
step "python torch tensors" 60 env SCOREFIELD_LIBRARY="$pylib" PYTHONPATH="$PWD/python:$PWD/python/tests" \
    python3 python/tests/device_checks.py

# memory pressure, more than 2^31 elements, float32 at 1e30 (tests/gpu_stress.c)
step "stress" 180 "$bin/gpu_stress"

# benchmarks: ceilings measured here, scorefield from device and host arrays, PyTorch eager
step "ceilings (PyTorch)" 90 python3 bench/torch_ceilings.py
step "bench_gpu" 240 "$bin/bench_gpu" --script bench/torch_score.py --repeat 3
# compute-sanitizer on the tests that reach every kernel: the small-d widths, the large-d pipeline
# (GEMMs, screening, survivors), TF32, device arrays, the sampler's graph, the cuFFT routes
# (--target-processes all: Criterion runs each test in a child process)
sanitize() { # sanitize TOOL LIMIT PROGRAM FILTER
    step "sanitizer $1 ${4%%/*}/${4#*/}" "$2" compute-sanitizer --tool "$1" --error-exitcode 1 --target-processes all \
        "$bin/$3" --jobs 1 --filter "$4"
}
if command -v compute-sanitizer >/dev/null; then
    sanitize memcheck 90 test_gpu 'gpu/small_d_every_width_and_the_boundary'
    sanitize memcheck 90 test_gpu 'gpu/f64_all_kinds_every_schedule'
    sanitize memcheck 60 test_gpu 'gpu/device_arrays_match_host_arrays'
    sanitize memcheck 60 test_gpu 'gpu/sampler_trajectories_match_the_cpu'
    sanitize memcheck 60 test_grid 'gpu_grid/*'
    sanitize racecheck 90 test_gpu 'gpu/small_d_every_width_and_the_boundary'
    sanitize racecheck 60 test_gpu 'gpu/f64_each_kind_large_dimension'
    sanitize initcheck 60 test_gpu 'gpu/f64_all_kinds_every_schedule'
    sanitize initcheck 60 test_gpu 'gpu/tf32_modes_keep_f32_accuracy'
    sanitize synccheck 60 test_gpu 'gpu/f32_input_out_of_range_is_refused'
    sanitize synccheck 60 test_gpu 'gpu/derivatives_and_residuals_f64'
else
    echo "| sanitizers | FAIL (not run: compute-sanitizer not on PATH) | |" >>"$report"
    status=1
fi

step "sample cuda" 60 "$sf" sample --mixture examples/compact.json --schedule vp-linear --sampler dpm3 --spacing lambda \
    --steps 30 --n 1000000 --out "$out/sf_gpu_samples.npy" --backend cuda
step "burgers cuda" 60 "$sf" burgers --mixture examples/three_kinds.json --grid 512 --box 8 --tau0 0.05 --tau1 0.3 \
    --route direct --steps 200 --backend cuda
rm -f "$out/sf_gpu_samples.npy"

{
    echo
    echo "suite: $((SECONDS - start)) s of its $budget s budget"
    echo
    echo "## benchmarks and targets"
    echo
    grep -E '^(ceiling:|device:|copy:|gemm |bench_gpu:|target )' "$log" | sed 's/^/    /'
    echo
    grep -E '^\| (small|medium|large|shape|---)' "$log"
    echo
    echo "## checks, stress and commands"
    echo
    echo '```'
    grep -A5 -E '^scorefield check:' "$log" | grep -v '^--' | cut -c1-170
    grep -E '^(memory|large|range|gpu_stress):' "$log" | cut -c1-250
    grep -A3 -E '^scorefield (sample|burgers):' "$log" | cut -c1-170
    echo '```'
    echo
    echo "## failures"
    echo
    echo '```'
    grep -B2 -A8 -E '\[(FAIL|----)\]|FAIL|rror|========= ' "$log" | head -150 | cut -c1-220
    echo '```'
} >>"$report"
echo "report: $report (full log: $log)"
exit $status

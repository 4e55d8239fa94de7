#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/CMakeLists.txt, clang with ASan and UBSan) and runs each
# for a bounded time from the seeds in tests/fuzz/corpus/<target>; new inputs go to a working corpus
# in the build folder, never into the repository. A crash, leak, sanitizer report or timeout fails
# the run and leaves the reproducer in the build folder (crash-*, leak-*, timeout-*).
#   bash tests/fuzz/run.sh [seconds per target, default 30] [build folder, default build-fuzz]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
build=${2:-build-fuzz}
cmake -S tests/fuzz -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
for target in npy mixture_json; do
  work="$build/corpus-$target"
  mkdir -p "$work"
  echo "fuzzing the $target reader for ${seconds}s"
  (cd "$build" && "./fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      "corpus-$target" "../tests/fuzz/corpus/$target" 2>&1 | tail -n 12)
  # libFuzzer exits non-zero on a finding; the pipeline's status is the fuzzer's (pipefail)
done

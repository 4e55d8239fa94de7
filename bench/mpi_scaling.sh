#!/usr/bin/env bash
# Weak scaling of the CLI over MPI ranks (README, "Many processes: MPI"): `scorefield sample` with a
# fixed number of particles per rank, P = 1, 2, 3 ranks on this machine, best of REPEAT runs; prints
# a Markdown table for bench/RESULTS.md. The rate is particle-steps per second of the sampler
# itself (the slowest rank's time, as the summary reports it); the wall time includes mpirun's start,
# the draws, the occupations and the shared file's writes.
# OMP_NUM_THREADS, when set, is every rank's thread count (otherwise the ranks split the cores).
# With CSV_FILE, the rows also go there (ranks,particles,rate,wall), for bench/plot_scaling.py.
# Usage: bash bench/mpi_scaling.sh [BUILD_DIR] [PARTICLES_PER_RANK] [REPEAT] [MAX_RANKS] [CSV_FILE]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
per_rank=${2:-40000}
repeat=${3:-3}
max_ranks=${4:-3}
csv=${5:-}
steps=50
cli=$build/scorefield
command -v mpirun >/dev/null || { echo "mpirun not found (Debian: openmpi-bin)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 SCOREFIELD_PROGRESS_AFTER=1e9

echo "- date: $(date -u +%Y-%m-%d), $(nproc --all) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- command: \`${OMP_NUM_THREADS:+OMP_NUM_THREADS=$OMP_NUM_THREADS }bash bench/mpi_scaling.sh BUILD $per_rank $repeat $max_ranks\`: per P,"
echo "  \`mpirun -np P --oversubscribe scorefield sample --mixture examples/three_kinds.json --schedule vp-linear"
echo "  --sampler ddim --steps $steps --n (P x $per_rank) --out X.npy\`, best of $repeat; threads per rank:"
echo "  ${OMP_NUM_THREADS:-the cores of the node divided by its ranks (at least 1)}"
echo
echo "| ranks P | particles | sampler rate (particle-steps/s) | per rank | wall time (s) | parallel efficiency |"
echo "|---|---|---|---|---|---|"
base=""
[ -z "$csv" ] || echo "ranks,particles,rate,wall" >"$csv"
for ((P = 1; P <= max_ranks; P++)); do
  n=$((P * per_rank))
  best_rate=0 best_wall=0
  for ((r = 0; r < repeat; r++)); do
    start=$(date +%s.%N)
    mpirun -np $P --oversubscribe "$cli" sample --mixture "$root/examples/three_kinds.json" --schedule vp-linear \
      --sampler ddim --steps $steps --n $n --out "$work/x.npy" >"$work/out.txt" 2>"$work/err.txt"
    wall=$(echo "$(date +%s.%N) - $start" | bc -l)
    rate=$(sed -n 's/^  speed .* s, \([^ ]*\) particle-steps.*/\1/p' "$work/out.txt")
    if awk -v a="$rate" -v b="$best_rate" 'BEGIN { exit !(a > b) }'; then best_rate=$rate best_wall=$wall; fi
  done
  [ -n "$base" ] || base=$best_rate
  awk -v P=$P -v n=$n -v rate="$best_rate" -v wall="$best_wall" -v base="$base" \
    'BEGIN { printf "| %d | %d | %.3g | %.3g | %.2f | %.0f%% |\n", P, n, rate, rate / P, wall, 100 * rate / (P * base) }'
  [ -z "$csv" ] || echo "$P,$n,$best_rate,$best_wall" >>"$csv"
done

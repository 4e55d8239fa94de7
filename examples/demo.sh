#!/usr/bin/env bash
# The README's first command: install missing Debian packages, build, and evaluate the score
# field of examples/three_kinds.json (isotropic, diagonal and subspace components) at 1000
# particles, writing score, log p, divergence and denoiser to a folder it names.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
out=${1:-scorefield-demo}
mkdir -p "$out"
./build/scorefield info
echo
./build/scorefield score --mixture examples/three_kinds.json --schedule ve --t 0.3 \
  --in examples/particles_2d.npy --out "$out/score.npy" --logp "$out/logp.npy" \
  --div "$out/div.npy" --denoise "$out/denoise.npy" --resp "$out/resp.npy"
echo
echo "Fields written to $out/ (float64 .npy). Load them with numpy.load."

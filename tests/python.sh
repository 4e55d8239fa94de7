#!/usr/bin/env bash
# The Python package as a user installs it: a fresh virtual environment (build/python-venv),
# `pip install .` (scikit-build-core builds the C library), pytest and matplotlib (the README's
# example plots when it is there), then the pytest suite in python/tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null &&
     "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    python=$candidate
    break
  fi
done
[ -n "$python" ] || { echo "tests/python.sh: no python3 >= 3.10 with venv and ensurepip (apt-get install python3-venv)"; exit 1; }
venv=$PWD/build/python-venv
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet pytest matplotlib "jax[cpu]"  # jax: DLPack arrays from another library
"$venv/bin/python" -m pip install --quiet .
cd python/tests  # import the installed package, not the source tree
"$venv/bin/python" -m pytest -p no:cacheprovider -q .

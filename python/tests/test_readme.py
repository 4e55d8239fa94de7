"""The README's Python example runs as written, and the package is the one built from this tree."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np

import scorefield as sf
from conftest import REPO, has_module


def readme_example() -> str:
    text = (REPO / "README.md").read_text()
    section = text[text.index("\n## Python\n") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README: no python block in the Python section"
    return match.group(1)


def test_the_readme_example_runs_as_written(tmp_path) -> None:
    script = tmp_path / "example.py"
    script.write_text(readme_example())
    run = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert run.returncode == 0, run.stderr
    assert "exact score as a model, largest difference: 0.0" in run.stdout
    shares = [np.array(m.split(), dtype=float) for m in re.findall(r"component shares \[([^\]]*)\]", run.stdout)]
    assert len(shares) == 2 and abs(shares[0][0] - 0.6) < 0.05  # exact samples keep the weights
    if has_module("matplotlib"):
        assert (tmp_path / "trajectories.png").stat().st_size > 0


def test_version_is_the_headers() -> None:
    header = (REPO / "include" / "scorefield.h").read_text()
    assert f'#define SF_VERSION "{sf.__version__}"' in header

"""Shared fixtures: mixtures of every covariance kind and the repository's example files."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import scorefield as sf
from device_checks import example_mixture

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@pytest.fixture
def three_kinds() -> sf.Mixture:
    """An isotropic, a diagonal and a low-rank component in 2-D: examples/three_kinds.json, built
    from arrays."""
    return example_mixture()


@pytest.fixture
def random_mixture() -> sf.Mixture:
    """K = 4 in d = 3: isotropic, diagonal and two low-rank components (one on a plane)."""
    rng = np.random.default_rng(7)
    d = 3
    means = rng.normal(size=(4, d))
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return sf.Mixture(
        [0.1, 0.2, 0.3, 0.4],
        means,
        var=[0.3, 0.2, 0.1, 0.0],
        basis=[None, None, q[:1], q[1:3]],
        eig=[None, None, [0.7], [0.4, 0.9]],
    )


def cli_path() -> str | None:
    """The `scorefield` command installed beside this Python (pip puts it in the environment)."""
    here = Path(sys.executable).parent / "scorefield"
    return str(here) if here.exists() else shutil.which("scorefield")


def has_module(name: str) -> bool:
    try:
        __import__(name)
        return True
    except ImportError:
        return False


os.environ.setdefault("MPLBACKEND", "Agg")

"""sf.sampler_error and sf.distribution_error from Python: the results agree with independent
routes (the affine flow of Gaussian data, Euler's order, the closed-form W2 of 1-D Gaussians), the
CLI's CSV holds the same numbers, and bad lists raise InvalidInputError."""

from __future__ import annotations

import csv
import subprocess

import numpy as np
import pytest

import scorefield as sf
from conftest import EXAMPLES, cli_path


def test_flow_of_gaussian_data_is_the_affine_map() -> None:
    mix = sf.Mixture([1.0], [[0.7, -1.2]], var=[[0.3, 1.5]])
    x1 = sf.sample_marginal(mix, 50, "vp-linear", 1.0, seed=4)
    x0 = sf.flow_ode(mix, x1, "vp-linear", 1.0, 1e-3)
    a, b = sf.Schedule("vp-linear").at(1.0), sf.Schedule("vp-linear").at(1e-3)
    mu, c = np.array([0.7, -1.2]), np.array([0.3, 1.5])
    va, vb = a.alpha**2 * c + a.sigma**2, b.alpha**2 * c + b.sigma**2
    want = b.alpha * mu + np.sqrt(vb / va) * (x1 - a.alpha * mu)
    np.testing.assert_allclose(x0, want, atol=1e-8)


def test_sampler_error_orders_and_shapes() -> None:
    mix = sf.Mixture([0.4, 0.6], [[-1.0, 0.5], [1.0, -0.3]], var=[0.6, 0.9])
    r = sf.sampler_error(mix, "vp-linear", samplers=["ode-euler", "ddpm"], nfe=[40, 80, 160], n=64, seed=2, spacing="lambda")
    assert r["samplers"] == ["ode-euler", "ddpm"]
    assert r["endpoint_rms"].shape == (2, 3) and r["sw2_se"].shape == (2, 3)
    assert abs(r["order"][0, 0] - 1.0) < 0.3
    assert not r["stochastic"][0].any() and r["stochastic"][1].all()
    assert np.isnan(r["endpoint_rms"][1]).all() and np.isnan(r["order"][1]).all()
    assert (r["steps"][0] == r["nfe_asked"]).all()  # one evaluation per Euler step
    assert (r["sw2_se"] > 0).all() and (r["reference_error"] < 1e-6).all()


def test_sw2_against_the_closed_form_in_1d() -> None:
    target = sf.Mixture([1.0], [[-0.2]], var=1.3**2)
    x = sf.sample_marginal(sf.Mixture([1.0], [[0.3]], var=0.8**2), 8000, tau=0.0, seed=9)
    e = sf.distribution_error(target, x, tau=0.0, seed=9)
    w2 = np.hypot(0.3 + 0.2, 1.3 - 0.8)
    assert abs(e["sw2"]["value"] - w2) < 3 * e["sw2"]["se"]
    assert e["sw2"]["significant"] and e["mean_error"]["significant"]


def test_cli_csv_holds_the_library_results(tmp_path) -> None:
    cli = cli_path()
    if cli is None:
        pytest.skip("the scorefield command is not installed beside this Python")
    args = ["--samplers", "heun", "--nfe", "4,8", "--n", "40", "--seed", "1"]
    subprocess.run(
        [cli, "sampler-error", "--mixture", str(EXAMPLES / "three_kinds.json"), "--schedule", "vp-linear", "--quiet",
         "--backend", "cpu", "--out-dir", str(tmp_path / "out"), *args],
        check=True,
    )
    with open(tmp_path / "out" / "sampler_error.csv") as f:
        rows = list(csv.DictReader(f))
    mix = sf.Mixture.from_json(EXAMPLES / "three_kinds.json")
    r = sf.sampler_error(mix, "vp-linear", samplers=["heun"], nfe=[4, 8], n=40, seed=1)
    for j, row in enumerate(rows):
        assert row["sampler"] == "heun" and int(row["nfe"]) == r["nfe"][0, j]
        assert float(row["endpoint_rms"]) == pytest.approx(r["endpoint_rms"][0, j], rel=1e-9)
        assert float(row["sw2"]) == pytest.approx(r["sw2"][0, j], rel=1e-9)


@pytest.mark.parametrize(
    "kwargs", [dict(samplers=["nonsense"]), dict(nfe=[10, 5]), dict(nfe=[0, 5]), dict(n=1)]
)
def test_bad_lists_are_refused(kwargs: dict) -> None:
    mix = sf.Mixture([1.0], [[0.0]], var=1.0)
    with pytest.raises(sf.InvalidInputError):
        sf.sampler_error(mix, "vp-linear", **{"samplers": ["heun"], "nfe": [2, 4], "n": 10, **kwargs})

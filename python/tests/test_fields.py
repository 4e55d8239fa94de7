"""evaluate and Plan: every output against an independent route (closed forms, central
differences, Tweedie), the time forms, and agreement with the `scorefield score` command."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

import scorefield as sf
from conftest import cli_path

SCHEDULES = ("ve", "vp-linear", "vp-cosine", "ou")


def points(n: int, d: int, seed: int = 0, scale: float = 1.5) -> np.ndarray:
    return scale * np.random.default_rng(seed).normal(size=(n, d))


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_single_gaussian_closed_form(schedule: str) -> None:
    mu, v = np.array([0.5, -1.0, 2.0]), 0.3
    mix = sf.Mixture([1.0], [mu], var=v)
    x = points(20, 3)
    tp = sf.Schedule(schedule).at(0.4)
    e = tp.alpha**2 * v + tp.sigma2
    out = sf.evaluate(mix, x, schedule=schedule, t=0.4, outputs=("score", "logp", "div", "denoise", "hessian"))
    r = x - tp.alpha * mu
    np.testing.assert_allclose(out["score"], -r / e, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(out["logp"], -0.5 * (r**2).sum(1) / e - 1.5 * np.log(2 * np.pi * e), rtol=1e-13)
    np.testing.assert_allclose(out["div"], np.full(20, -3 / e), rtol=1e-13)
    np.testing.assert_allclose(out["hessian"], np.broadcast_to(-np.eye(3) / e, (20, 3, 3)), atol=1e-13)
    # Tweedie: E[x0 | x] = (x + sigma^2 s) / alpha
    np.testing.assert_allclose(out["denoise"], (x + tp.sigma2 * out["score"]) / tp.alpha, rtol=1e-12, atol=1e-12)


def test_time_forms_agree(three_kinds: sf.Mixture) -> None:
    x = points(10, 2, 1)
    tp = sf.Schedule("vp-cosine").at(0.3)
    by_t = sf.evaluate(three_kinds, x, "vp-cosine", 0.3, outputs="score")["score"]
    by_pair = sf.evaluate(three_kinds, x, alpha=tp.alpha, sigma=tp.sigma)["score"]
    np.testing.assert_allclose(by_pair, by_t, rtol=1e-13, atol=1e-14)
    # heat frame: u(y, tau) = alpha s(x) at y = x / alpha
    by_tau = sf.evaluate(three_kinds, x / tp.alpha, tau=tp.tau)["score"]
    np.testing.assert_allclose(by_tau, tp.alpha * by_t, rtol=1e-12, atol=1e-13)
    with pytest.raises(ValueError, match="give the time"):
        sf.evaluate(three_kinds, x, "vp-cosine", 0.3, tau=0.1)


def test_derivatives_against_central_differences(random_mixture: sf.Mixture) -> None:
    mix, d, h = random_mixture, 3, 1e-5
    x = points(6, d, 2)
    v = np.random.default_rng(3).normal(size=x.shape)
    out = sf.evaluate(mix, x, "vp-linear", 0.2, outputs="all", hvp_dir=v)
    # score = grad log p, Hessian = grad score, div = trace, H v, H s, Laplacian = grad div (the Hessian is symmetric)
    for j in range(d):
        e = np.zeros(d)
        e[j] = h
        plus = sf.evaluate(mix, x + e, "vp-linear", 0.2, outputs=("logp", "score", "div"))
        minus = sf.evaluate(mix, x - e, "vp-linear", 0.2, outputs=("logp", "score", "div"))
        np.testing.assert_allclose(out["score"][:, j], (plus["logp"] - minus["logp"]) / (2 * h), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(
            out["hessian"][:, :, j], (plus["score"] - minus["score"]) / (2 * h), rtol=1e-5, atol=1e-5
        )
        np.testing.assert_allclose(out["lap"][:, j], (plus["div"] - minus["div"]) / (2 * h), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["div"], np.trace(out["hessian"], axis1=1, axis2=2), rtol=1e-10)
    np.testing.assert_allclose(out["hvp"], np.einsum("nij,nj->ni", out["hessian"], v), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        out["hvp_score"], np.einsum("nij,nj->ni", out["hessian"], out["score"]), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(out["resp"].sum(1), 1.0, rtol=1e-14)
    # d/dt at fixed x
    ht = 1e-5
    later = sf.evaluate(mix, x, "vp-linear", 0.2 + ht, outputs=("score", "logp"))
    earlier = sf.evaluate(mix, x, "vp-linear", 0.2 - ht, outputs=("score", "logp"))
    np.testing.assert_allclose(out["dt_score"], (later["score"] - earlier["score"]) / (2 * ht), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["dt_logp"], (later["logp"] - earlier["logp"]) / (2 * ht), rtol=1e-5, atol=1e-5)
    # the Burgers residuals of an exact score vanish to rounding against their scales
    assert np.all(np.linalg.norm(out["residual"], axis=1) <= 1e-10 * out["residual_scale"])
    assert np.all(np.linalg.norm(out["residual_t"], axis=1) <= 1e-10 * out["residual_t_scale"])


def test_heat_frame_d_dtau(random_mixture: sf.Mixture) -> None:
    tau, h = 0.4, 1e-5
    y = points(5, 3, 4)
    out = sf.evaluate(random_mixture, y, tau=tau, outputs=("dtau_score", "dtau_logp"))
    up = sf.evaluate(random_mixture, y, tau=tau + h, outputs=("score", "logp"))
    down = sf.evaluate(random_mixture, y, tau=tau - h, outputs=("score", "logp"))
    np.testing.assert_allclose(out["dtau_score"], (up["score"] - down["score"]) / (2 * h), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["dtau_logp"], (up["logp"] - down["logp"]) / (2 * h), rtol=1e-5, atol=1e-5)


def test_plan_moves_in_time(three_kinds: sf.Mixture) -> None:
    x = points(50, 2, 5)
    plan = sf.Plan(three_kinds, "ve", 0.9)
    for t in (0.9, 0.5, 0.1):
        plan.set_time(t)
        got = plan.evaluate(x, ("score", "logp"))
        want = sf.evaluate(three_kinds, x, "ve", t, outputs=("score", "logp"))
        np.testing.assert_array_equal(got["score"], want["score"])
        np.testing.assert_array_equal(got["logp"], want["logp"])


def test_reference_backend_agrees(random_mixture: sf.Mixture) -> None:
    x = points(40, 3, 6)
    a = sf.evaluate(random_mixture, x, "vp-linear", 0.5, outputs=("score", "div"))
    b = sf.evaluate(random_mixture, x, "vp-linear", 0.5, outputs=("score", "div"), backend="reference")
    np.testing.assert_allclose(a["score"], b["score"], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(a["div"], b["div"], rtol=1e-12, atol=1e-13)


def test_mixture_accessors(three_kinds: sf.Mixture) -> None:
    assert (three_kinds.dim, len(three_kinds)) == (2, 3)
    np.testing.assert_allclose(three_kinds.weights, [0.5, 0.3, 0.2])
    assert [three_kinds.kind(k) for k in range(3)] == ["isotropic", "diagonal", "lowrank"]
    np.testing.assert_array_equal(three_kinds.variances(1), [0.04, 0.09])
    np.testing.assert_allclose(three_kinds.basis(2), [[0.6, 0.8]])
    assert three_kinds.codimension(2) == 1 and three_kinds.codimension(0) == 0


def test_same_numbers_as_the_cli(tmp_path, three_kinds: sf.Mixture) -> None:
    cli = cli_path()
    if cli is None:
        pytest.skip("the scorefield command is not installed beside this Python")
    from conftest import EXAMPLES

    x = points(30, 2, 8)
    np.save(tmp_path / "x.npy", x)
    subprocess.run(
        [
            cli,
            "score",
            "--mixture",
            str(EXAMPLES / "three_kinds.json"),
            "--schedule",
            "vp-linear",
            "--t",
            "0.3",
            "--in",
            str(tmp_path / "x.npy"),
            "--out",
            str(tmp_path / "s.npy"),
            "--logp",
            str(tmp_path / "l.npy"),
            "--div",
            str(tmp_path / "d.npy"),
            "--quiet",
        ],
        check=True,
    )
    mix = sf.Mixture.from_json(EXAMPLES / "three_kinds.json")
    out = sf.evaluate(mix, x, "vp-linear", 0.3, outputs=("score", "logp", "div"))
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), out["score"])
    np.testing.assert_array_equal(np.load(tmp_path / "l.npy"), out["logp"])
    np.testing.assert_array_equal(np.load(tmp_path / "d.npy"), out["div"])
    # the mixture built from arrays is the file's mixture
    # (to rounding: the weights reach the library by two routes)
    np.testing.assert_allclose(sf.evaluate(three_kinds, x, "vp-linear", 0.3)["score"], out["score"], rtol=1e-14, atol=0)

"""Burgers structure (RK4 transport at particles at fourth order, curl, both grid routes) and the
analyses' library functions against closed forms and independent quadrature."""

from __future__ import annotations

import numpy as np
import pytest

import scorefield as sf


def test_burgers_advance_is_fourth_order(three_kinds: sf.Mixture) -> None:
    y = np.random.default_rng(0).normal(size=(30, 2))
    tau0, tau1 = 0.2, 0.5
    exact = sf.evaluate(three_kinds, y, tau=tau1)["score"]
    errors = [np.abs(sf.burgers_advance(three_kinds, y, tau0, tau1, steps) - exact).max() for steps in (16, 32, 64)]
    assert errors[-1] < 1e-5
    for coarse, fine in zip(errors, errors[1:]):
        assert 12 < coarse / fine < 20, errors  # 2^4 = 16


def test_curl_of_an_exact_score_is_rounding(random_mixture: sf.Mixture) -> None:
    x = np.random.default_rng(1).normal(size=(20, 3))
    assert sf.score_curl(random_mixture, x, "vp-linear", 0.3, probes=0).max() < 1e-6
    assert sf.score_curl(random_mixture, x, "vp-linear", 0.3, probes=4, seed=2).max() < 1e-6


def test_grid_routes_against_the_exact_periodised_score(three_kinds: sf.Mixture) -> None:
    grid = sf.Grid(2, 64, 8.0)
    assert grid.points == 64 * 64
    y = grid.coordinates()
    np.testing.assert_allclose(y[1] - y[0], [0.0, 8.0 / 64])  # last axis fastest
    tau0, tau1 = 0.1, 0.3
    density, u0 = grid.exact(three_kinds, tau0, floor=1e-3)
    _, u1 = grid.exact(three_kinds, tau1, floor=1e-3)
    heat = grid.heat_route(density, tau1 - tau0)
    assert np.abs(heat - u1).max() < 1e-8 * np.abs(u1).max()
    direct = grid.burgers_route(u0, tau1 - tau0, steps=100)
    assert np.abs(direct - u1).max() < 1e-2 * np.abs(u1).max()


def symmetric_pair(a: float, s2: float, d: int = 2) -> sf.Mixture:
    mu = np.zeros(d)
    mu[0] = a
    return sf.Mixture([0.5, 0.5], [-mu, mu], var=s2)


def test_speciation_times() -> None:
    a, s2 = 1.0, 0.1
    mix = symmetric_pair(a, s2)
    # mu^T (s2 + tau)^-1 mu = 1  ->  tau = a^2 - s2
    assert sf.speciation_tau_closed_form(mix) == pytest.approx(a * a - s2, rel=1e-12)
    assert sf.speciation_tau_numeric(mix, [0], [1], 0.05, 5.0, rtol=1e-10) == pytest.approx(a * a - s2, rel=1e-6)
    # equal weights: the saddle-node condition reduces to a / sqrt(s2 + tau) = 1
    assert sf.speciation_tau_asymmetric(0.5, a, s2) == pytest.approx(a * a - s2, rel=1e-9)
    kappa, top, y = sf.speciation_curvature(mix, [0], [1], 0.5)
    v = s2 + 0.5
    assert top == pytest.approx((a * a - v) / v ** 2, rel=1e-8)  # the midpoint curvature
    np.testing.assert_allclose(y, [0.0, 0.0], atol=1e-9)
    assert sf.count_modes_on_line(mix, 0.5, [0, 0], [1, 0], 3.0, 20001) == 2
    assert sf.count_modes_on_line(mix, 1.5, [0, 0], [1, 0], 3.0, 20001) == 1
    # the data covariance: diag(s2 + a^2, s2)
    assert sf.data_covariance_top_eigenvalue(mix) == pytest.approx(s2 + a * a, rel=1e-12)


def test_tanh_layer_fit() -> None:
    r = np.linspace(-2, 2, 401)
    u = 0.3 + 0.1 * r + 1.7 * np.tanh(r / 0.45)
    width, amplitude, rms = sf.fit_tanh_layer(r, u, 0.05, 5.0)
    assert width == pytest.approx(0.45, rel=1e-6) and amplitude == pytest.approx(1.7, rel=1e-6) and rms < 1e-8


def test_amplification_is_at_least_one_across_the_layer() -> None:
    mix = symmetric_pair(1.0, 0.1)
    tau_c = 0.9
    gain = sf.amplification_pf(mix, [0.0, 0.0], [1.0, 0.0], 3 * tau_c, tau_c / 10, steps=400, eps=1e-6)
    # closed form along the axis: sqrt(v0/v1) exp(a^2 (1/v0 - 1/v1) / 2)
    v0, v1 = 0.1 + tau_c / 10, 0.1 + 3 * tau_c
    assert gain == pytest.approx(np.sqrt(v0 / v1) * np.exp(0.5 * (1 / v0 - 1 / v1)), rel=1e-5)


def test_doublewell_against_numpy_quadrature() -> None:
    eps, tau = 0.3, 0.6
    x = np.linspace(-4, 4, 40001)
    p0 = np.exp(-(x ** 2 - 1) ** 2 / eps)
    y = np.array([-0.7, 0.0, 0.4, 1.3])
    out = sf.doublewell_field(eps, tau, y)
    for i, yi in enumerate(y):
        w = p0 * np.exp(-(yi - x) ** 2 / (2 * tau))
        mean = (x * w).sum() / w.sum()
        assert out["u"][i] == pytest.approx((mean - yi) / tau, rel=1e-7, abs=1e-9)
    tau_c, _ = sf.doublewell_tau_c(eps)
    w = p0 * np.exp(-x ** 2 / (2 * tau_c))
    assert (x * x * w).sum() / w.sum() == pytest.approx(tau_c, rel=1e-6)  # E[x^2 | y = 0] = tau_c
    ring = sf.ringwell_field(eps, tau, np.array([[0.3, -0.2]]))
    assert ring["jacobian"].shape == (1, 2, 2)
    np.testing.assert_allclose(ring["jacobian"][0], ring["jacobian"][0].T, atol=1e-10)  # a gradient field
    assert sf.ringwell_tau_c(eps) > 0


def test_bandwidth_of_a_gaussian_and_label_entropy() -> None:
    v, d = 0.5, 3
    mix = sf.Mixture([1.0], [np.zeros(d)], var=v)
    sched = sf.Schedule("vp-linear")

    def entropy(t: float) -> float:  # H(X0 | Xt) of Gaussian data
        tp = sched.at(t)
        return 0.5 * d * np.log(2 * np.pi * np.e * v * tp.sigma2 / (tp.alpha ** 2 * v + tp.sigma2))

    t, h = 0.4, 1e-5
    b, err = sf.bandwidth(mix, "vp-linear", t, n=2000, seed=1)
    assert b == pytest.approx((entropy(t + h) - entropy(t - h)) / (2 * h), rel=1e-6)
    pair = symmetric_pair(1.0, 0.1, d=1)
    h_mid = sf.label_entropy(pair, np.array([[0.0]]), "ve", 0.5)
    assert h_mid[0] == pytest.approx(np.log(2), rel=1e-14)  # r = (1/2, 1/2) at the midpoint


def test_wkb_exact_model_has_no_correction() -> None:
    mix = sf.Mixture([1.0], [[0.3, -0.2]], var=[[0.5, 1.5]])
    x = np.array([[0.1, 0.2], [1.0, -1.0]])
    ell1, logq = sf.wkb_gaussian(mix, x, "vp-linear", 0.01, 1.0, scale=1.0, h=0.7, steps=400)
    np.testing.assert_allclose(ell1, 0.0, atol=1e-8)
    exact = sf.evaluate(mix, x, "vp-linear", 0.01, outputs="logp")["logp"]
    np.testing.assert_allclose(logq, exact, rtol=1e-8)

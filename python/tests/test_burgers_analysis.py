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
    assert top == pytest.approx((a * a - v) / v**2, rel=1e-8)  # the midpoint curvature
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


def test_speciation_summary_layer_and_amplification() -> None:
    a, s2 = 1.0, 0.1
    mix = symmetric_pair(a, s2)
    summary = sf.speciation_summary(mix, [0], [1])
    assert summary.kind == "pitchfork"
    assert summary.tau_c == pytest.approx(a * a - s2, rel=1e-9)
    assert summary.lambda_ == pytest.approx(a * a + s2, rel=1e-12)
    assert summary.t_spectral == pytest.approx(0.5 * np.log(a * a + s2), rel=1e-12)
    axis, half = sf.speciation_axis(mix, [0], [1])
    np.testing.assert_allclose(axis, [1.0, 0.0], atol=1e-15)
    assert half == pytest.approx(a)
    # the tanh layer at tau: width (s^2 + tau) / a
    for tau in (0.3, 0.9):
        profile, fit = sf.speciation_layer(mix, tau, np.linspace(-3, 3, 601))
        assert fit.width == pytest.approx((s2 + tau) / a, rel=1e-3)
        assert profile[300] == pytest.approx(0.0, abs=1e-12)  # the interface point
    # amplification from 3 tau_c to tau_c / 10: sqrt(v0/v1) exp(a^2 (1/v0 - 1/v1) / 2), the SDE's squared
    tau_c = a * a - s2
    amp = sf.speciation_amplification(mix, 3 * tau_c, tau_c / 10)
    v0, v1 = s2 + tau_c / 10, s2 + 3 * tau_c
    ode = np.sqrt(v0 / v1) * np.exp(0.5 * a * a * (1 / v0 - 1 / v1))
    assert amp.gain.ode == pytest.approx(ode, rel=1e-7)
    assert amp.gain.sde == pytest.approx(ode**2, rel=1e-7)
    gain = sf.flow_gain(mix, [0.0, 0.0], [1.0, 0.0], 3 * tau_c, tau_c / 10)
    assert gain.ode == pytest.approx(ode, rel=1e-7)


def test_speciation_branching_splits_at_tau_c() -> None:
    mix = symmetric_pair(1.0, 0.1)
    t, proj, summary = sf.speciation_branching(mix, 0.9, n=100, steps=60, every=6, n_exact=4000, seed=3)
    assert proj.shape == (len(t), 100) and t[0] == 1.0 and t[-1] == pytest.approx(1e-3)
    assert abs(summary.side_a - 0.5) < 5 * 0.05  # binomial band for the two equal-weight sides
    assert abs(np.abs(proj[-1]).mean() - 1.0) < 0.05  # denoisers end at the means +-a


def test_blowup_rates_of_a_gaussian_on_a_line() -> None:
    """N(0, diag(1, 0, 0)) in R^3: u = -y_i / (c_i + tau), so tau E|u|^2 = tau / (1 + tau) + 2."""
    mix = sf.Mixture([1.0], [[0.0, 0.0, 0.0]], var=0.0, basis=[[[1.0, 0.0, 0.0]]], eig=[[1.0]])
    assert sf.blowup_limit(mix) == (2.0, 0)
    for tau in (0.1, 0.01):
        row = sf.blowup_at(mix, tau, n=4000, seed=2)
        assert abs(row.tau_u2.mean - (tau / (1 + tau) + 2)) < 5 * row.tau_u2.mean_se
        assert row.u2 == pytest.approx(row.tau_u2.mean / tau)
    x = np.array([1e-3, 1e-2, 1e-1])
    assert sf.power_law_exponent(x, 3 * x**-1.5) == pytest.approx(-1.5, rel=1e-12)


def test_pair_statistics_against_numpy_quadrature() -> None:
    """The label entropy of the 1-D pair +-a, variance v, has r = logistic(2 a y / v): its variance
    over y at kappa = a^2 / v by a fine grid."""
    kappa = 1.7
    a, v = np.sqrt(kappa), 1.0
    y = np.linspace(-a - 14, a + 14, 400001)
    density = 0.5 * (np.exp(-((y - a) ** 2) / 2) + np.exp(-((y + a) ** 2) / 2)) / np.sqrt(2 * np.pi)
    r = 1 / (1 + np.exp(-2 * a * y / v))
    h = -(r * np.log(r, where=r > 0, out=np.zeros_like(r)) + (1 - r) * np.log(1 - r, where=r < 1, out=np.zeros_like(r)))
    dy = y[1] - y[0]
    mean = (h * density).sum() * dy
    var = ((h - mean) ** 2 * density).sum() * dy
    assert sf.pair_variance(kappa) == pytest.approx(var, rel=1e-8)
    peak = sf.pair_variance_peak()
    assert sf.pair_variance(peak.kappa) >= max(sf.pair_variance(peak.kappa * 0.99), sf.pair_variance(peak.kappa * 1.01))
    pair = symmetric_pair(1.0, 0.1)
    kap, nu = sf.pair_kappa(pair, 0.4)
    assert kap == pytest.approx(1.0 / 0.5) and nu == pytest.approx(0.5)
    assert sf.pair_tau_of_kappa(pair, kap) == pytest.approx(0.4, rel=1e-10)
    check = sf.pair_peak_check(pair, n=4000, seed=1)
    assert abs(check.z) < 5
    moments = sf.label_entropy_moments(pair, "ve", 0.5, n=4000, seed=2)
    tau = sf.Schedule("ve").at(0.5).tau
    assert abs(moments.var - sf.pair_variance(sf.pair_kappa(pair, tau)[0])) < 5 * moments.var_se


def test_entropy_budget_and_rate() -> None:
    pair = symmetric_pair(1.0, 0.1)
    budget = sf.entropy_budget(pair, "vp-linear", 1e-2, 1.0, n=400, steps=60, seed=1)
    assert abs(budget.z) < 5
    # Gaussian data: h' is constant, and (d tau/dt) h' is the bandwidth
    v, d = 0.5, 3
    gauss = sf.Mixture([1.0], [np.zeros(d)], var=v)
    x = sf.sample_marginal(gauss, 10, "vp-linear", 0.4, seed=1)
    rate = sf.entropy_rate(gauss, x, "vp-linear", 0.4)
    b, _ = sf.bandwidth(gauss, "vp-linear", 0.4, n=100)
    np.testing.assert_allclose(sf.Schedule("vp-linear").at(0.4).dtau * rate, b, rtol=1e-10)


def test_doublewell_summary_and_residuals() -> None:
    eps = 0.3
    summary = sf.doublewell_summary(eps)
    assert summary.tau_c == pytest.approx(sf.doublewell_tau_c(eps)[0], rel=1e-12)
    x = np.linspace(-4, 4, 80001)
    p0 = np.exp(-((x**2 - 1) ** 2) / eps)
    assert summary.ex2 == pytest.approx((x * x * p0).sum() / p0.sum(), rel=1e-8)
    assert summary.eabs == pytest.approx((np.abs(x) * p0).sum() / p0.sum(), rel=1e-6)
    assert summary.surrogate_tau_c == pytest.approx(summary.a_eff**2 - summary.s_eff2, rel=1e-12)
    y = np.linspace(-2, 2, 9)
    assert sf.doublewell_burgers_residual(eps, [0.3, 0.8], y) < 1e-8
    assert sf.doublewell_burgers_residual(eps, [0.5], np.column_stack([y, y[::-1]]), dim=2) < 1e-8
    assert sf.ringwell_burgers_residual(eps, [0.5], np.column_stack([y, 0.5 * y])) < 1e-8


def test_doublewell_against_numpy_quadrature() -> None:
    eps, tau = 0.3, 0.6
    x = np.linspace(-4, 4, 40001)
    p0 = np.exp(-((x**2 - 1) ** 2) / eps)
    y = np.array([-0.7, 0.0, 0.4, 1.3])
    out = sf.doublewell_field(eps, tau, y)
    for i, yi in enumerate(y):
        w = p0 * np.exp(-((yi - x) ** 2) / (2 * tau))
        mean = (x * w).sum() / w.sum()
        assert out["u"][i] == pytest.approx((mean - yi) / tau, rel=1e-7, abs=1e-9)
    tau_c, _ = sf.doublewell_tau_c(eps)
    w = p0 * np.exp(-(x**2) / (2 * tau_c))
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
        return 0.5 * d * np.log(2 * np.pi * np.e * v * tp.sigma2 / (tp.alpha**2 * v + tp.sigma2))

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


def test_wkb_curve_is_the_pointwise_coefficient() -> None:
    mix = sf.Mixture([1.0], [[0.2]], var=1.0)
    h = np.array([0.0, 0.1, 0.3])
    curve = sf.wkb_curve(mix, [0.3], h, "ve", 0.0, 1.0, scale=1 / 1.3, steps=400)
    ell1, logq0 = sf.wkb_gaussian(mix, [[0.3]], "ve", 0.0, 1.0, scale=1 / 1.3, h=0.0, steps=400)
    assert curve["l1"] == pytest.approx(ell1[0], rel=1e-10)
    assert curve["log_q0"] == pytest.approx(logq0[0], rel=1e-12)
    np.testing.assert_allclose(curve["log_q_wkb"], curve["log_q0"] + h**2 * curve["l1"], rtol=1e-12)
    for hi, lq in zip(h, curve["log_q"]):
        assert lq == pytest.approx(
            sf.wkb_gaussian(mix, [[0.3]], "ve", 0.0, 1.0, scale=1 / 1.3, h=hi, steps=400)[1][0], rel=1e-12
        )

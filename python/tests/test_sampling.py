"""Samplers from Python: the exact score passed as a callable reproduces the built-in run for
every sampler, a closed-form model agrees, a perturbed model's samples match the Gaussian law its
probability flow predicts, the CLI gives the same particles, marginals, trajectories, guidance and
the likelihood."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

import scorefield as sf
from conftest import EXAMPLES, cli_path


@pytest.mark.parametrize("sampler", sf.SAMPLERS)
def test_exact_score_as_a_callable_reproduces_the_builtin_run(sampler: str, random_mixture: sf.Mixture) -> None:
    kw = dict(
        n=64, schedule="vp-linear", sampler=sampler, steps=12, seed=3, t1=0.9, t0=0.02, h=0.6, eta=0.3, spacing="lambda"
    )
    builtin = sf.sample(random_mixture, **kw)
    plan = sf.Plan(random_mixture, "vp-linear", 0.9)
    calls = []

    def exact(x: np.ndarray, t: float) -> np.ndarray:
        calls.append(t)
        plan.set_time(t)
        return plan.score(x)

    model = sf.sample(random_mixture, score=exact, **kw)
    np.testing.assert_allclose(model, builtin, rtol=1e-13, atol=1e-13)
    stages = {"heun": 2, "dpm2": 2, "dpm3": 3, "edm-heun": 2, "dpmpp-2s-ancestral": 2}.get(sampler, 1)
    assert len(calls) == 12 * stages
    assert calls[0] == 0.9


def test_closed_form_numpy_model_in_float32() -> None:
    """An independent route: the Gaussian's score written in NumPy (returned in float32), against
    the mixture's own."""
    mu, v = np.array([0.4, -1.2]), 0.25
    mix = sf.Mixture([1.0], [mu], var=v)
    sched = sf.Schedule("vp-cosine")

    def model(x: np.ndarray, t: float) -> np.ndarray:
        tp = sched.at(t)
        return (-(x - tp.alpha * mu) / (tp.alpha**2 * v + tp.sigma2)).astype(np.float32)

    kw = dict(n=200, schedule=sched, sampler="ddpm", steps=20, seed=4, t1=0.9, t0=0.02)
    a, b = sf.sample(mix, **kw), sf.sample(mix, score=model, **kw)
    np.testing.assert_allclose(b, a, atol=2e-5)  # float32 scores: single-precision agreement
    assert np.abs(b - a).max() > 0  # and the model was really used


def test_perturbed_model_matches_its_predicted_law() -> None:
    """s_theta = s / 1.3 for N(0, 1) data: probability-flow samples (h = 0) follow the Gaussian law
    log q^0_t0 that sf.wkb_gaussian computes from mean and variance ODEs, not the data's."""
    mix = sf.Mixture([1.0], [[0.0]], var=1.0)
    scale = 1 / 1.3
    plan = sf.Plan(mix, "vp-linear", 1.0)

    def perturbed(x: np.ndarray, t: float) -> np.ndarray:
        plan.set_time(t)
        return scale * plan.score(x)

    t0 = 1e-3
    xs = sf.sample(mix, n=40000, sampler="heun", steps=200, seed=9, t0=t0, score=perturbed)
    # the predicted law: log q(x) is -x^2 / (2V) + c, read off at two points
    _, logq = sf.wkb_gaussian(mix, np.array([[0.0], [1.0]]), "vp-linear", t0, 1.0, scale=scale, h=0.0)
    V = 1.0 / (2.0 * (logq[0] - logq[1]))
    var, n = xs.var(), xs.shape[0]
    band = 5 * V * np.sqrt(2.0 / n)
    assert abs(var - V) < band, (var, V)
    exact_var = sf.sample(mix, n=40000, sampler="heun", steps=200, seed=9, t0=t0).var()
    assert abs(exact_var - V) > 10 * band  # the perturbation is visible


def test_same_particles_as_the_cli(tmp_path) -> None:
    cli = cli_path()
    if cli is None:
        pytest.skip("the scorefield command is not installed beside this Python")
    path = EXAMPLES / "symmetric_binary.json"
    subprocess.run(
        [
            cli,
            "sample",
            "--mixture",
            str(path),
            "--schedule",
            "vp-linear",
            "--sampler",
            "dpm2",
            "--spacing",
            "lambda",
            "--steps",
            "30",
            "--n",
            "300",
            "--seed",
            "1",
            "--out",
            str(tmp_path / "x.npy"),
            "--quiet",
        ],
        check=True,
        capture_output=True,
    )
    mix = sf.Mixture.from_json(path)
    xs = sf.sample(mix, n=300, schedule="vp-linear", sampler="dpm2", spacing="lambda", steps=30, seed=1)
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), xs)


def test_marginal_moments(three_kinds: sf.Mixture) -> None:
    tp = sf.Schedule("vp-linear").at(0.3)
    x = sf.sample_marginal(three_kinds, 50000, "vp-linear", 0.3, seed=2)
    w, mu = three_kinds.weights, three_kinds.means
    mean = tp.alpha * (w @ mu)
    assert np.all(np.abs(x.mean(0) - mean) < 5 * x.std(0) / np.sqrt(len(x)))
    # any split of the particles gives the same draws
    np.testing.assert_array_equal(
        sf.sample_marginal(three_kinds, 10, "vp-linear", 0.3, seed=2, first_particle=7), x[7:17]
    )


def test_trajectory_frames(three_kinds: sf.Mixture) -> None:
    x, traj = sf.sample(three_kinds, n=20, sampler="dpm1", steps=10, seed=5, trajectory_every=4)
    assert list(traj.steps) == [0, 4, 8, 10]
    assert traj.frames.shape == (4, 20, 2)
    np.testing.assert_array_equal(traj.frames[0], sf.sample_marginal(three_kinds, 20, "vp-linear", 1.0, seed=5))
    np.testing.assert_array_equal(traj.frames[-1], x)
    np.testing.assert_allclose(traj.times[[0, -1]], [1.0, 1e-3])


def test_guidance_concentrates_on_the_class(three_kinds: sf.Mixture) -> None:
    xs = sf.sample(three_kinds, n=400, sampler="dpm2", steps=40, seed=6, classes=[0], guidance=0.0)
    resp = sf.evaluate(three_kinds, xs, "vp-linear", 1e-3, outputs="resp")["resp"]
    assert (resp.argmax(1) == 0).mean() > 0.99


def test_loglik_matches_the_exact_log_density(random_mixture: sf.Mixture) -> None:
    t0 = 0.05
    x = sf.sample_marginal(random_mixture, 20, "vp-linear", t0, seed=8)
    ll, steps = sf.loglik(random_mixture, x, "vp-linear", t0, return_steps=True)
    exact = sf.evaluate(random_mixture, x, "vp-linear", t0, outputs="logp")["logp"]
    np.testing.assert_allclose(ll, exact, atol=1e-6)
    assert steps > 0


def test_given_times_and_x0(three_kinds: sf.Mixture) -> None:
    times = np.linspace(0.8, 0.05, 9)
    x0 = sf.sample_marginal(three_kinds, 16, "vp-linear", 0.8, seed=1)
    a = sf.sample(three_kinds, times=times, x0=x0, sampler="dpm1", seed=1)
    b = sf.sample(three_kinds, n=16, t1=0.8, t0=0.05, steps=8, sampler="dpm1", seed=1)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert x0.base is None or not np.shares_memory(a, x0)  # x0 is not overwritten
    # a model needs no mixture when the start is given
    plan = sf.Plan(three_kinds, "vp-linear", 0.8)

    def exact(x: np.ndarray, t: float) -> np.ndarray:
        plan.set_time(t)
        return plan.score(x)

    np.testing.assert_allclose(sf.sample(None, times=times, x0=x0, sampler="dpm1", seed=1, score=exact), a, rtol=1e-13)


def test_new_schedules_and_sampler_options(three_kinds: sf.Mixture) -> None:
    """edm and flow schedules, the Karras spacing, the last step to sigma = 0 and the edm-heun and
    unipc options reach the library; options of other samplers are refused."""
    edm = sf.Schedule("edm")
    assert edm.at(3.0).sigma == 3.0 and edm.at(3.0).alpha == 1.0
    flow = sf.Schedule("flow")
    assert abs(flow.t_of_tau(flow.at(0.3).tau) - 0.3) < 1e-14
    x = sf.sample(three_kinds, 500, "edm", "edm-heun", steps=20, t1=80.0, t0=0.002, spacing="karras", rho=7.0,
                  churn=10.0, s_noise=1.003, to_zero=True, seed=1)
    assert np.isfinite(x).all()
    a = sf.sample(three_kinds, 50, "flow", "unipc", steps=10, t1=0.95, t0=0.0, order=3)
    b = sf.sample(three_kinds, 50, "flow", "unipc", steps=10, t1=0.95, t0=0.0, order=2)
    assert np.isfinite(a).all() and not np.array_equal(a, b)
    with pytest.raises(ValueError, match="edm-heun"):
        sf.sample(three_kinds, 5, "edm", "dpmpp-2m", churn=1.0, t1=80.0, t0=0.01)
    with pytest.raises(ValueError, match="karras"):
        sf.sample(three_kinds, 5, "edm", "dpmpp-2m", rho=5.0, spacing="t", t1=80.0, t0=0.01)
    # on edm the spacing defaults to Karras (as in the CLI), so rho applies there
    assert np.isfinite(sf.sample(three_kinds, 5, "edm", "dpmpp-2m", rho=5.0, steps=8)).all()


def test_sampler_times_is_the_grid_sample_runs(three_kinds: sf.Mixture) -> None:
    # Karras levels on edm (time = sigma) against their formula
    rho, smax, smin, n = 7.0, 80.0, 0.002, 6
    got = sf.sampler_times("edm", "dpmpp-2m", steps=n, t1=smax, t0=smin, spacing="karras", rho=rho)
    i = np.arange(n + 1) / n
    want = (smax ** (1 / rho) + i * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # the times a run's trajectory records are the same grid
    grid = sf.sampler_times("vp-linear", "heun", steps=5, spacing="lambda", to_zero=True)
    _, traj = sf.sample(three_kinds, 4, "vp-linear", "heun", steps=5, spacing="lambda", to_zero=True, trajectory_every=1)
    np.testing.assert_array_equal(traj.times, grid)
    with pytest.raises(sf.ScorefieldError, match="t1 > t0"):
        sf.sampler_times("vp-linear", "heun", steps=5, t1=0.1, t0=0.2)


@pytest.mark.parametrize(
    ("schedule", "sampler"), [("edm", "edm-heun"), ("flow", "dpmpp-2m"), ("vp-cosine", "unipc"), ("vp-linear", "dpmpp-3m")]
)
def test_default_interval_and_spacing_are_the_clis(tmp_path, schedule: str, sampler: str) -> None:
    """Without t1, t0 and spacing, sf.sample runs what `scorefield sample` runs without --t1, --t0
    and --spacing (edm: 80 -> 0.002 Karras-spaced; flow and vp-cosine start below t = 1)."""
    cli = cli_path()
    if cli is None:
        pytest.skip("the scorefield command is not installed beside this Python")
    path = EXAMPLES / "symmetric_binary.json"
    out = tmp_path / "x.npy"
    subprocess.run(
        [cli, "sample", "--mixture", str(path), "--schedule", schedule, "--sampler", sampler, "--steps", "12"]
        + ["--n", "50", "--seed", "2", "--out", str(out), "--quiet"],
        check=True,
        capture_output=True,
    )
    mix = sf.Mixture.from_json(path)
    np.testing.assert_array_equal(np.load(out), sf.sample(mix, n=50, schedule=schedule, sampler=sampler, steps=12, seed=2))
    grid = sf.sampler_times(schedule, sampler, steps=12)
    sched = sf.Schedule(schedule)
    assert grid[0] > grid[-1] > 0 and sched.at(grid[0]).alpha > 0
    if schedule == "edm":  # the noise levels themselves, by Karras et al.'s formula with rho = 7
        s1, s0 = grid[0] ** (1 / 7), grid[-1] ** (1 / 7)
        np.testing.assert_allclose(grid, (s1 + np.arange(13) / 12 * (s0 - s1)) ** 7, rtol=1e-12)

"""Arrays (no copies for float64 C-order, float32 and DLPack accepted), errors as exceptions with
the library's message, Python exceptions from score models, the GIL released during work, and
Ctrl-C stopping a long run."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import scorefield as sf
from scorefield._arrays import as_f64, as_particles
from conftest import has_module


class ForeignArray:
    """An array known only through DLPack, as a PyTorch, JAX or CuPy array is."""

    def __init__(self, a: np.ndarray, device: tuple[int, int] = (1, 0)):
        self._a, self._device = a, device

    def __dlpack__(self, **kwargs):
        return self._a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._device


def test_float64_and_float32_c_order_are_used_in_place() -> None:
    x = np.random.default_rng(0).normal(size=(100, 3))
    assert as_f64(x, "x", (None, 3)) is x
    assert as_particles(x, "x", 3) == (x, 0)
    view = as_f64(ForeignArray(x), "x", (None, 3))
    assert np.shares_memory(view, x)
    x32 = x.astype(np.float32)
    same, dtype = as_particles(x32, "x", 3)
    assert same is x32 and dtype == 1  # the library reads float32 particles itself
    # float32 and Fortran order are converted
    assert as_f64(x.astype(np.float32), "x").dtype == np.float64
    assert as_f64(np.asfortranarray(x), "x").flags.c_contiguous


def test_every_input_form_gives_the_same_fields(three_kinds: sf.Mixture) -> None:
    x32 = np.random.default_rng(1).normal(size=(30, 2)).astype(np.float32)
    want = sf.evaluate(three_kinds, x32.astype(np.float64), "ve", 0.5, outputs=("score", "logp"))
    for form in (x32, np.asfortranarray(x32), ForeignArray(x32.astype(np.float64)), x32.tolist()):
        got = sf.evaluate(three_kinds, form, "ve", 0.5, outputs=("score", "logp"))
        np.testing.assert_array_equal(got["score"], want["score"])
        np.testing.assert_array_equal(got["logp"], want["logp"])
    one = sf.evaluate(three_kinds, x32[0].astype(np.float64), "ve", 0.5)["score"]  # one point as a vector
    np.testing.assert_array_equal(one, want["score"][:1])


def test_device_arrays_are_refused_clearly(three_kinds: sf.Mixture) -> None:
    on_gpu = ForeignArray(np.zeros((4, 2)), device=(2, 0))
    with pytest.raises(ValueError, match="backend='cuda'"):  # a CPU plan cannot read device memory
        sf.evaluate(three_kinds, on_gpu, "ve", 0.5)
    with pytest.raises(ValueError, match="device 2:0"):  # functions without a device path
        sf.loglik(three_kinds, on_gpu, schedule="vp-linear", t0=0.1)


@pytest.mark.skipif(not has_module("torch"), reason="torch is not installed")
def test_torch_tensors_and_torch_models(three_kinds: sf.Mixture) -> None:
    import torch

    x = torch.randn(20, 2, dtype=torch.float64, requires_grad=True)
    got = sf.evaluate(three_kinds, x, "vp-linear", 0.4)["score"]
    np.testing.assert_array_equal(got, sf.evaluate(three_kinds, x.detach().numpy(), "vp-linear", 0.4)["score"])
    plan = sf.Plan(three_kinds, "vp-linear", 1.0)

    def torch_model(xt: torch.Tensor, t: float) -> torch.Tensor:
        assert isinstance(xt, torch.Tensor)
        plan.set_time(t)
        return torch.from_numpy(plan.score(xt.numpy()))

    kw = dict(n=32, sampler="dpm2", steps=10, seed=2)
    np.testing.assert_allclose(
        sf.sample(three_kinds, score=torch_model, model_input="torch", **kw),
        sf.sample(three_kinds, **kw),
        rtol=1e-13,
        atol=1e-13,
    )


def test_library_errors_carry_its_message(tmp_path, three_kinds: sf.Mixture) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"dim": 2, "components": [{"weight": -1, "mean": [0, 0], "var": 1}]}')
    with pytest.raises(sf.ScorefieldError) as info:
        sf.Mixture.from_json(bad)
    assert "bad.json" in str(info.value) and "weight" in str(info.value)
    with pytest.raises(sf.FileFormatError, match="missing.json"):
        sf.Mixture.from_json(tmp_path / "missing.json")
    with pytest.raises(sf.InvalidInputError, match="variance|var"):
        sf.Mixture([1.0], [[0.0, 0.0]], var=-1.0)
    x = np.zeros((3, 2))
    x[1, 1] = np.nan
    with pytest.raises(sf.InvalidInputError, match="particle 1, coordinate 1 is not finite"):
        sf.evaluate(three_kinds, x, "ve", 0.5)
    with pytest.raises(ValueError, match=r"expected shape \(n, 2\)"):
        sf.evaluate(three_kinds, np.zeros((3, 5)), "ve", 0.5)
    with pytest.raises(sf.InvalidInputError, match="unknown sampler 'rk45'"):
        sf.sample(three_kinds, n=4, sampler="rk45")
    with pytest.raises(ValueError, match="unknown output"):
        sf.evaluate(three_kinds, x[:1], "ve", 0.5, outputs="scores")
    # the library's message is per thread: a failure in a worker thread is reported there too
    errors = []
    thread = threading.Thread(
        target=lambda: errors.append(pytest.raises(sf.InvalidInputError, sf.evaluate, three_kinds, x, "ve", 2.0))
    )
    thread.start()
    thread.join()
    assert "outside [0, 1]" in str(errors[0].value)


def test_score_model_exceptions_propagate(three_kinds: sf.Mixture) -> None:
    class Boom(RuntimeError):
        pass

    calls = []

    def broken(x: np.ndarray, t: float) -> np.ndarray:
        calls.append(t)
        if len(calls) == 3:
            raise Boom("the network failed")
        return -x

    with pytest.raises(Boom, match="the network failed"):
        sf.sample(three_kinds, n=8, sampler="dpm1", steps=10, score=broken)
    assert len(calls) == 3  # the sampler stopped at the failure
    with pytest.raises(ValueError, match="returned shape"):
        sf.sample(three_kinds, n=8, sampler="dpm1", steps=10, score=lambda x, t: x[:, :1])
    with pytest.raises(sf.NumericError, match="non-finite"):
        sf.sample(three_kinds, n=8, sampler="dpm1", steps=10, score=lambda x, t: np.full(x.shape, np.inf))

    def writes(x: np.ndarray, t: float) -> np.ndarray:
        x[0, 0] = 1.0  # the sampler's particles are read-only to the model
        return -x

    with pytest.raises(ValueError, match="read-only"):
        sf.sample(three_kinds, n=8, sampler="dpm1", steps=10, score=writes)


def test_the_gil_is_released_during_work(random_mixture: sf.Mixture) -> None:
    """While another thread is inside one long library call (about a second), this thread keeps
    running Python: its longest stall is a small part of the call."""
    done = threading.Event()
    spent = []

    def work() -> None:
        start = time.perf_counter()
        sf.sample(random_mixture, n=24000, sampler="heun", steps=60, seed=1)
        spent.append(time.perf_counter() - start)
        done.set()

    thread = threading.Thread(target=work)
    stamps = [time.perf_counter()]
    thread.start()
    while not done.is_set():
        stamps.append(time.perf_counter())
    thread.join()
    assert spent[0] > 0.2, f"the call took {spent[0]:.3f} s: too short to tell"
    assert np.diff(stamps).max() < 0.25 * spent[0], "this thread stalled during the call"


def test_ctrl_c_stops_a_long_run(three_kinds: sf.Mixture) -> None:
    """SIGINT during a run far longer than the test: KeyboardInterrupt within moments, and the
    next call works."""
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        sf.sample(three_kinds, n=2000, sampler="heun", steps=200000, seed=1)
    elapsed = time.perf_counter() - start
    timer.join()
    assert elapsed < 5.0, f"stopped after {elapsed:.2f} s"
    xs = sf.sample(three_kinds, n=10, sampler="dpm1", steps=5, seed=1)
    assert np.isfinite(xs).all()

    # a Python score model's run too
    plan = sf.Plan(three_kinds, "vp-linear", 1.0)

    def exact(x: np.ndarray, t: float) -> np.ndarray:
        plan.set_time(t)
        return plan.score(x)

    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        sf.sample(three_kinds, n=200, sampler="dpm1", steps=200000, score=exact)
    timer.join()
    assert time.perf_counter() - start < 5.0

"""Samplers measured against the exact distribution (docs/samplers.md, "Exact sampler error"):
endpoint errors against the exact probability flow, observed orders, and the distributional
errors of samples (occupation, per-mode moments, sliced W2, NLL gap) with standard errors."""

from __future__ import annotations

import ctypes as C
from typing import Any, Sequence

import numpy as np

from . import _lib
from ._arrays import as_f64, ptr
from ._core import ContextLike, Mixture, ScheduleLike, as_schedule, context, resolve_time
from ._dynamics import _SPACINGS, run_interval
from ._lib import call, lib

_PARTS = (("value", ""), ("se", "_se"), ("floor", "_floor"), ("floor_se", "_floor_se"), ("significant", "_significant"))
# the CSV's short names of the measures (scorefield sampler-error)
_SHORT = {"occupation_tv": "tv", "mean_error": "mean_err", "cov_error": "cov_err", "sw2": "sw2", "nll_gap": "nll_gap"}


def _metric_dict(m: _lib.ErrorMetric) -> dict[str, Any]:
    return {part: (bool(m.significant) if part == "significant" else getattr(m, part)) for part, _ in _PARTS}


def distribution_error(
    mix: Mixture,
    x: Any,
    schedule: ScheduleLike | None = None,
    t: float | None = None,
    *,
    alpha: float | None = None,
    sigma: float | None = None,
    tau: float | None = None,
    exact: Any = None,
    seed: int = 0,
    backend: ContextLike = "cpu",
) -> dict[str, dict[str, Any]]:
    """The errors of the samples x (n, d) against the mixture at a time (as sample_marginal takes
    it): for each of occupation_tv, mean_error, cov_error, sw2, nll_gap a dict with value, se,
    floor, floor_se (what n exact draws score) and significant (|value - floor| > 3 combined s.e.).
    exact: n exact draws paired with x (default: drawn from seed)."""
    time = resolve_time(schedule, t, alpha, sigma, tau)
    xs = as_f64(x, "x", (None, mix.dim))
    ex = None if exact is None else as_f64(exact, "exact", (xs.shape[0], mix.dim))
    out, ctx = _lib.DistributionErrors(), context(backend)
    call(
        lib.sf_distribution_error_sized,
        ctx.handle,
        mix.handle,
        C.byref(time),
        ptr(xs),
        None if ex is None else ptr(ex),
        xs.shape[0],
        int(seed),
        C.byref(out),
        C.sizeof(out),
        context=ctx.handle,
    )
    return {name: _metric_dict(getattr(out, name)) for name in _lib.METRICS}


def sampler_error(
    mix: Mixture,
    schedule: ScheduleLike = "vp-linear",
    samplers: Sequence[str] = ("ode-euler", "heun", "dpm2"),
    nfe: Sequence[int] = (5, 10, 20, 50, 100),
    n: int = 2000,
    seed: int = 0,
    *,
    t1: float | None = None,
    t0: float | None = None,
    spacing: str | None = None,
    rho: float = 7.0,
    reference_tol: float = 1e-10,
    backend: ContextLike = "cpu",
) -> dict[str, Any]:
    """Each sampler at each budget of score evaluations against the exact distribution (the library's
    sf_sampler_error, `scorefield sampler-error`). Returns a dict: "samplers" (names), "nfe_asked"
    (budgets), and (samplers, budgets) arrays named as the CSV's columns: nfe, steps, stochastic,
    endpoint_rms, endpoint_max, order, order_se, reference_error, and for tv, mean_err, cov_err,
    sw2, nll_gap the value and its _se, _floor, _floor_se, _significant."""
    t1, t0, spacing = run_interval(schedule, t1, t0, spacing)
    if spacing not in _SPACINGS:
        raise ValueError(f"spacing must be 't', 'lambda' or 'karras', got {spacing!r}")
    names = [str(s).encode() for s in samplers]
    budgets = np.ascontiguousarray(np.asarray(nfe, dtype=np.intc).ravel())
    if not names or budgets.size == 0:
        raise ValueError("give at least one sampler and one budget")
    setup = _lib.SamplerErrorSetup()
    call(lib.sf_sampler_error_setup_init, C.byref(setup), C.sizeof(setup))
    name_array = (C.c_char_p * len(names))(*names)
    setup.samplers, setup.nsamplers = C.cast(name_array, C.POINTER(C.c_char_p)), len(names)
    setup.nfe, setup.nnfe = budgets.ctypes.data, int(budgets.size)
    setup.n, setup.seed, setup.t1, setup.t0 = int(n), int(seed), float(t1), float(t0)
    if rho != 7.0 and spacing != "karras":
        raise ValueError("rho applies to spacing='karras' only")
    setup.spacing, setup.reference_tol, setup.rho = _SPACINGS[spacing], float(reference_tol), float(rho)
    S, J = len(names), int(budgets.size)
    rows = (_lib.SamplerErrorRow * (S * J))()
    ctx = context(backend)
    call(
        lib.sf_sampler_error_sized,
        ctx.handle,
        mix.handle,
        C.byref(as_schedule(schedule).struct()),
        C.byref(setup),
        rows,
        C.sizeof(_lib.SamplerErrorRow),
        context=ctx.handle,
    )
    result: dict[str, Any] = {"samplers": [s.decode() for s in names], "nfe_asked": budgets.astype(int)}
    scalar = ("nfe", "steps", "stochastic", "endpoint_rms", "endpoint_max", "order", "order_se", "reference_error")
    for field in scalar:
        result[field] = np.array([getattr(r, field) for r in rows], dtype=float).reshape(S, J)
    for field in ("nfe", "steps"):
        result[field] = result[field].astype(int)
    result["stochastic"] = result["stochastic"].astype(bool)
    for name in _lib.METRICS:
        for part, suffix in _PARTS:
            values = [getattr(getattr(r, name), part) for r in rows]
            result[_SHORT[name] + suffix] = np.array(values, dtype=bool if part == "significant" else float).reshape(S, J)
    return result

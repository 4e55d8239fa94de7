"""The analyses' library functions, the same the CLI's analysis commands call: speciation, blow-up
near t = 0, the double wells, information flow and the path-integral (WKB) view (docs/analyses.md).
Results are small frozen dataclasses with the fields of the library's result structs."""

from __future__ import annotations

import ctypes as C
from typing import Any, Sequence

import numpy as np

import dataclasses
import functools

from . import _lib
from ._arrays import as_f64, ptr
from ._core import ContextLike, Mixture, ScheduleLike, as_schedule, context, resolve_time
from ._dynamics import _sampler_struct
from ._lib import call, lib


@functools.lru_cache(maxsize=None)
def _result_type(ctype: type) -> type:
    """A frozen dataclass with the fields of a result struct (nested structs become results too)."""
    names = [(name.rstrip("_") if name != "lambda_" else "lambda_", Any) for name, _ in ctype._fields_]
    return dataclasses.make_dataclass(ctype.__name__, names, frozen=True)


def _result(value: Any) -> Any:
    if isinstance(value, C.Structure):
        cls = _result_type(type(value))
        return cls(*(_result(getattr(value, name)) for name, _ in value._fields_))
    return value


_SPECIATION_KINDS = ("pitchfork", "saddle-node", "never")
_PAIR_STATISTICS = {"label-entropy": 0, "normalised-rate": 1}


def _statistic(which: str) -> int:
    if which not in _PAIR_STATISTICS:
        raise ValueError(f"statistic must be one of {', '.join(_PAIR_STATISTICS)}, got {which!r}")
    return _PAIR_STATISTICS[which]


def _components(indices: Sequence[int], name: str) -> np.ndarray:
    a = np.ascontiguousarray(indices, dtype=np.intc).reshape(-1)
    if a.size == 0:
        raise ValueError(f"{name}: at least one component")
    return a


def _double() -> C.c_double:
    return C.c_double()


# ---------------------------------------------------------------- speciation


def speciation_tau_closed_form(mix: Mixture) -> float:
    """Critical heat time of a symmetric binary split (two equal-weight components, equal
    covariance C, means c +- mu): the root of mu^T (C + tau I)^-1 mu = 1 (0: no speciation)."""
    tau = _double()
    call(lib.sf_speciation_tau_closed_form, mix.handle, C.byref(tau))
    return tau.value


def speciation_curvature(
    mix: Mixture, set_a: Sequence[int], set_b: Sequence[int], tau: float, *, backend: ContextLike = "cpu"
) -> tuple[float, float, np.ndarray]:
    """At heat time tau, for the split of the components into set_a and set_b: the interface point
    y* between the two groups' means where log q_A = log q_B, the normal criterion
    kappa_n = n^T H n / |n|^2 there, and the top eigenvalue of the Hessian H of log q.
    Returns (kappa_n, top, y_star)."""
    a, b = _components(set_a, "set_a"), _components(set_b, "set_b")
    kappa, top, y = _double(), _double(), np.empty(mix.dim)
    ctx = context(backend)
    call(
        lib.sf_speciation_normal_curvature,
        ctx.handle,
        mix.handle,
        ptr(a),
        a.size,
        ptr(b),
        b.size,
        float(tau),
        C.byref(kappa),
        C.byref(top),
        ptr(y),
        context=ctx.handle,
    )
    return kappa.value, top.value, y


def speciation_tau_numeric(
    mix: Mixture,
    set_a: Sequence[int],
    set_b: Sequence[int],
    tau_lo: float,
    tau_hi: float,
    rtol: float = 1e-10,
    *,
    backend: ContextLike = "cpu",
) -> float:
    """The heat time in [tau_lo, tau_hi] where the top curvature at the interface changes sign."""
    a, b = _components(set_a, "set_a"), _components(set_b, "set_b")
    tau, ctx = _double(), context(backend)
    call(
        lib.sf_speciation_tau_numeric,
        ctx.handle,
        mix.handle,
        ptr(a),
        a.size,
        ptr(b),
        b.size,
        float(tau_lo),
        float(tau_hi),
        float(rtol),
        C.byref(tau),
        context=ctx.handle,
    )
    return tau.value


def speciation_tau_asymmetric(w: float, a: float, s2: float) -> float:
    """Unequal weights w N(-a, s2 + tau) + (1 - w) N(a, s2 + tau): the saddle-node critical heat
    time (0: never bimodal)."""
    tau = _double()
    call(lib.sf_speciation_tau_asymmetric, float(w), float(a), float(s2), C.byref(tau))
    return tau.value


def count_modes_on_line(
    mix: Mixture,
    tau: float,
    origin: Any,
    direction: Any,
    half_length: float,
    points: int = 100001,
    *,
    backend: ContextLike = "cpu",
) -> int:
    """Local maxima of log q (heat time tau) along origin + r direction, |r| <= half_length."""
    o, v = as_f64(origin, "origin", (mix.dim,)), as_f64(direction, "direction", (mix.dim,))
    modes, ctx = C.c_int(), context(backend)
    call(
        lib.sf_count_modes_on_line,
        ctx.handle,
        mix.handle,
        float(tau),
        ptr(o),
        ptr(v),
        float(half_length),
        int(points),
        C.byref(modes),
        context=ctx.handle,
    )
    return modes.value


def fit_tanh_layer(r: Any, u: Any, wmin: float, wmax: float) -> tuple[float, float, float]:
    """Least-squares fit of u(r) = c0 + c1 r + b tanh(r / width), width in [wmin, wmax]:
    (width, amplitude b, rms residual)."""
    rs = as_f64(r, "r").reshape(-1)
    us = as_f64(u, "u", rs.shape)
    width, amp, rms = _double(), _double(), _double()
    call(
        lib.sf_fit_tanh_layer,
        ptr(rs),
        ptr(us),
        rs.size,
        float(wmin),
        float(wmax),
        C.byref(width),
        C.byref(amp),
        C.byref(rms),
    )
    return width.value, amp.value, rms.value


def data_covariance_top_eigenvalue(mix: Mixture) -> float:
    """The top eigenvalue Lambda of the data covariance (Biroli et al.'s time ln(Lambda)/2 for OU)."""
    lam = _double()
    call(lib.sf_data_covariance_top_eigenvalue, mix.handle, C.byref(lam))
    return lam.value


# ---------------------------------------------------------------- non-Gaussian data: double wells


def doublewell_field(eps: float, tau: float, y: Any) -> dict[str, np.ndarray]:
    """The quartic double well p0 ~ exp(-(x^2 - 1)^2 / eps) at heat time tau, by quadrature, at the
    points y (n,): score u, u_y, u_yy and d u / d tau."""
    ys = as_f64(y, "y").reshape(-1)
    out = {name: np.empty(ys.size) for name in ("u", "u_y", "u_yy", "u_tau")}
    call(lib.sf_doublewell_field, float(eps), float(tau), ptr(ys), ys.size, *(ptr(a) for a in out.values()))
    return out


def doublewell_tau_c(eps: float) -> tuple[float, float]:
    """The double well's critical heat time (E[x^2 | y = 0] = tau) and the symmetric-pair surrogate
    a_eff^2 - s_eff^2 from its moments."""
    tau, surrogate = _double(), _double()
    call(lib.sf_doublewell_tau_c, float(eps), C.byref(tau), C.byref(surrogate))
    return tau.value, surrogate.value


def ringwell_field(eps: float, tau: float, y: Any) -> dict[str, np.ndarray]:
    """The ring p0 ~ exp(-(|x|^2 - 1)^2 / eps) in 2-D at heat time tau, at the points y (n, 2):
    score u (n, 2), its Jacobian (n, 2, 2), Laplacian (n, 2) and d u / d tau (n, 2)."""
    ys = as_f64(y, "y", (None, 2))
    n = ys.shape[0]
    out = {"u": np.empty((n, 2)), "jacobian": np.empty((n, 2, 2)), "lap": np.empty((n, 2)), "u_tau": np.empty((n, 2))}
    call(lib.sf_ringwell_field, float(eps), float(tau), ptr(ys), n, *(ptr(a) for a in out.values()))
    return out


def ringwell_tau_c(eps: float) -> float:
    """The ring's critical heat time: E[|x|^2 | y = 0] = 2 tau."""
    tau = _double()
    call(lib.sf_ringwell_tau_c, float(eps), C.byref(tau))
    return tau.value


# ---------------------------------------------------------------- information flow and WKB


def bandwidth(
    mix: Mixture, schedule: ScheduleLike, t: float, n: int = 20000, seed: int = 0, *, backend: ContextLike = "cpu"
) -> tuple[float, float]:
    """The generative bandwidth b(t) = dH(X0 | Xt)/dt by Monte Carlo over n exact draws of p_t:
    (b, its standard error)."""
    time = resolve_time(schedule, t)
    b, err, ctx = _double(), _double(), context(backend)
    call(
        lib.sf_bandwidth,
        ctx.handle,
        mix.handle,
        C.byref(time),
        int(n),
        int(seed),
        C.byref(b),
        C.byref(err),
        context=ctx.handle,
    )
    return b.value, err.value


def label_entropy(
    mix: Mixture,
    x: Any,
    schedule: ScheduleLike | None = None,
    t: float | None = None,
    *,
    alpha: float | None = None,
    sigma: float | None = None,
    tau: float | None = None,
    backend: ContextLike = "cpu",
) -> np.ndarray:
    """h_Y(x) = -sum_k r_k ln r_k (n,): the entropy of the component label given x_t = x."""
    time = resolve_time(schedule, t, alpha, sigma, tau)
    xs = as_f64(x, "x", (None, mix.dim))
    h, ctx = np.empty(xs.shape[0]), context(backend)
    call(lib.sf_label_entropy, ctx.handle, mix.handle, C.byref(time), ptr(xs), xs.shape[0], ptr(h), context=ctx.handle)
    return h


def wkb_gaussian(
    mix: Mixture,
    x: Any,
    schedule: ScheduleLike = "vp-linear",
    t0: float = 1e-3,
    t1: float = 1.0,
    *,
    scale: float = 1.0,
    shift: Any = None,
    h: float = 0.0,
    steps: int = 2000,
) -> tuple[np.ndarray, np.ndarray]:
    """For Gaussian data (one isotropic or diagonal component) and the score model
    s_theta = scale * s + shift: the first-order WKB coefficient l_1(x) of log q^h_t0 = log q^0_t0
    + h^2 l_1 + O(h^4) over the h-family, and log q^h_t0(x) for the given h. Returns (l_1, log_q)."""
    sched = as_schedule(schedule).struct()
    xs = as_f64(x, "x", (None, mix.dim))
    b = None if shift is None else as_f64(shift, "shift", (mix.dim,))
    ell1, log_q = np.empty(xs.shape[0]), np.empty(xs.shape[0])
    call(
        lib.sf_wkb_gaussian,
        mix.handle,
        C.byref(sched),
        float(t0),
        float(t1),
        float(scale),
        ptr(b),
        float(h),
        ptr(xs),
        xs.shape[0],
        int(steps),
        ptr(ell1),
        ptr(log_q),
    )
    return ell1, log_q


def power_law_exponent(x: Any, y: Any) -> float:
    """Least-squares slope of log y against log x (non-positive values skipped): p in y ~ x^p."""
    xs = as_f64(x, "x").reshape(-1)
    ys = as_f64(y, "y", xs.shape)
    return lib.sf_power_law_exponent(ptr(xs), ptr(ys), xs.size)


# ---------------------------------------------------------------- speciation of a split


def speciation_axis(mix: Mixture, set_a: Sequence[int], set_b: Sequence[int]) -> tuple[np.ndarray, float]:
    """The split's unit axis (from A's weighted mean to B's) and half the distance between the means."""
    a, b = _components(set_a, "set_a"), _components(set_b, "set_b")
    axis, half = np.empty(mix.dim), _double()
    call(lib.sf_speciation_axis, mix.handle, ptr(a), a.size, ptr(b), b.size, ptr(axis), C.byref(half))
    return axis, half.value


def speciation_summary(
    mix: Mixture, set_a: Sequence[int] = (0,), set_b: Sequence[int] = (1,), *, backend: ContextLike = "cpu"
) -> Any:
    """The critical times of a split, as `scorefield speciation` prints them: kind ("pitchfork",
    "saddle-node", "never"), half_separation, tau_interface, tau_closed, tau_c, modes_below,
    modes_above, lambda_ (top data covariance eigenvalue), t_spectral, t_midpoint_ou, isotropic_s2."""
    a, b = _components(set_a, "set_a"), _components(set_b, "set_b")
    out, ctx = _lib.SpeciationSummary(), context(backend)
    call(
        lib.sf_speciation_summarize_sized,
        ctx.handle,
        mix.handle,
        ptr(a),
        a.size,
        ptr(b),
        b.size,
        C.byref(out),
        C.sizeof(out),
        context=ctx.handle,
    )
    result = _result(out)
    return dataclasses.replace(result, kind=_SPECIATION_KINDS[out.kind])


def speciation_layer(
    mix: Mixture,
    tau: float,
    r: Any,
    set_a: Sequence[int] = (0,),
    set_b: Sequence[int] = (1,),
    *,
    backend: ContextLike = "cpu",
) -> tuple[np.ndarray, Any]:
    """The normal score through the interface at heat time tau at offsets r along the split's axis,
    and its tanh fit (width, amplitude, rms, predicted_width): (profile, fit)."""
    a, b = _components(set_a, "set_a"), _components(set_b, "set_b")
    rs = as_f64(r, "r").reshape(-1)
    profile, fit, ctx = np.empty(rs.size), _lib.TanhLayer(), context(backend)
    call(
        lib.sf_speciation_layer_sized,
        ctx.handle,
        mix.handle,
        ptr(a),
        a.size,
        ptr(b),
        b.size,
        float(tau),
        ptr(rs),
        rs.size,
        ptr(profile),
        C.byref(fit),
        C.sizeof(fit),
        context=ctx.handle,
    )
    return profile, _result(fit)


def flow_gain(
    mix: Mixture, y: Any, direction: Any, tau1: float, tau0: float, rtol: float = 1e-8, *, backend: ContextLike = "cpu"
) -> Any:
    """Tangent gains from tau1 down to tau0 of a perturbation along direction at y: ode (the
    probability-flow ODE) and sde (the reverse SDE's mean), with their estimated relative errors."""
    ys, v = as_f64(y, "y", (mix.dim,)), as_f64(direction, "direction", (mix.dim,))
    gain, ctx = _lib.Gain(), context(backend)
    call(
        lib.sf_flow_gain,
        ctx.handle,
        mix.handle,
        ptr(ys),
        ptr(v),
        float(tau1),
        float(tau0),
        float(rtol),
        C.byref(gain),
        context=ctx.handle,
    )
    return _result(gain)


def speciation_amplification(
    mix: Mixture,
    tau1: float,
    tau0: float,
    set_a: Sequence[int] = (0,),
    set_b: Sequence[int] = (1,),
    rtol: float = 1e-8,
    *,
    backend: ContextLike = "cpu",
) -> Any:
    """Error amplification across the layer between heat times tau1 > tau0: gain (ode, sde), the
    closed_form of a symmetric isotropic pair, stationary, end_offset."""
    a, b = _components(set_a, "set_a"), _components(set_b, "set_b")
    out, ctx = _lib.Amplification(), context(backend)
    call(
        lib.sf_speciation_amplification_sized,
        ctx.handle,
        mix.handle,
        ptr(a),
        a.size,
        ptr(b),
        b.size,
        float(tau1),
        float(tau0),
        float(rtol),
        C.byref(out),
        C.sizeof(out),
        context=ctx.handle,
    )
    return _result(out)


def speciation_branching(
    mix: Mixture,
    tau_c: float,
    schedule: ScheduleLike = "vp-linear",
    sampler: str = "heun",
    *,
    set_a: Sequence[int] = (0,),
    set_b: Sequence[int] = (1,),
    n: int = 200,
    steps: int = 200,
    every: int = 2,
    t1: float = 1.0,
    t0: float = 1e-3,
    seed: int = 0,
    n_exact: int = 100000,
    backend: ContextLike = "cpu",
) -> tuple[np.ndarray, np.ndarray, Any]:
    """Branching of the denoisers E[x0 | x_t] of n sampler paths across the interface: (times
    (F,), projections on the split's axis (F, n), summary at the frame nearest the time of tau_c)."""
    a, b = _components(set_a, "set_a"), _components(set_b, "set_b")
    sched = as_schedule(schedule)
    smp = _sampler_struct(sampler, steps, t1, t0, "t", None, 1.0, None, seed, None, 0.0)
    capacity = steps // max(int(every), 1) + 2
    t, proj, frames = np.empty(capacity), np.empty((capacity, int(n))), C.c_int()
    summary, ctx = _lib.BranchingSummary(), context(backend)
    call(
        lib.sf_speciation_branching_sized,
        ctx.handle,
        mix.handle,
        ptr(a),
        a.size,
        ptr(b),
        b.size,
        float(tau_c),
        C.byref(sched.struct()),
        C.byref(smp),
        int(n),
        int(seed),
        int(every),
        capacity,
        ptr(t),
        ptr(proj),
        C.byref(frames),
        int(n_exact),
        C.byref(summary),
        C.sizeof(summary),
        context=ctx.handle,
    )
    f = frames.value
    return t[:f].copy(), proj[:f].copy(), _result(summary)


# ---------------------------------------------------------------- blow-up near t = 0


def blowup_limit(mix: Mixture) -> tuple[float, int]:
    """sum_k w_k codim_k (the limit of tau E|u|^2) and the subspace component the ratio is measured at."""
    limit, k = _double(), C.c_int()
    call(lib.sf_blowup_limit, mix.handle, C.byref(limit), C.byref(k))
    return limit.value, k.value


def blowup_at(mix: Mixture, tau: float, n: int = 20000, seed: int = 0, *, backend: ContextLike = "cpu") -> Any:
    """One heat time of the blow-up scan: tau, tau_u2 (an Estimate of tau |u|^2), u2, ratio (an
    Estimate of tau |u| / dist to the subspace), max_denoiser."""
    row, ctx = _lib.BlowupRow(), context(backend)
    call(
        lib.sf_blowup_at_sized,
        ctx.handle,
        mix.handle,
        float(tau),
        int(n),
        int(seed),
        C.byref(row),
        C.sizeof(row),
        context=ctx.handle,
    )
    return _result(row)


# ---------------------------------------------------------------- double wells


def doublewell_summary(eps: float) -> Any:
    """The quartic well's critical time, moments, surrogate and widths (`scorefield doublewell`)."""
    out = _lib.DoublewellSummary()
    call(lib.sf_doublewell_summarize_sized, float(eps), C.byref(out), C.sizeof(out))
    return _result(out)


def doublewell_burgers_residual(eps: float, taus: Any, y: Any, dim: int = 1) -> float:
    """The largest Burgers residual of the quadrature score relative to its largest term, over the
    points y ((n,) for dim 1, (n, 2) for the product of two wells) and heat times taus."""
    ts = as_f64(taus, "taus").reshape(-1)
    ys = as_f64(y, "y").reshape(-1) if dim == 1 else as_f64(y, "y", (None, 2))
    worst = _double()
    call(
        lib.sf_doublewell_burgers_residual, float(eps), int(dim), ptr(ts), ts.size, ptr(ys), ys.shape[0], C.byref(worst)
    )
    return worst.value


def ringwell_burgers_residual(eps: float, taus: Any, y: Any) -> float:
    """The ring's vector Burgers residual, relative to its largest term, at points y (n, 2)."""
    ts = as_f64(taus, "taus").reshape(-1)
    ys = as_f64(y, "y", (None, 2))
    worst = _double()
    call(lib.sf_ringwell_burgers_residual, float(eps), ptr(ts), ts.size, ptr(ys), ys.shape[0], C.byref(worst))
    return worst.value


# ---------------------------------------------------------------- information flow


def entropy_rate(
    mix: Mixture,
    x: Any,
    schedule: ScheduleLike | None = None,
    t: float | None = None,
    *,
    alpha: float | None = None,
    sigma: float | None = None,
    tau: float | None = None,
    backend: ContextLike = "cpu",
) -> np.ndarray:
    """Per particle, the heat-time rate of the conditional entropy h'(x) = (div u + d/tau)/2 at
    y = x/alpha (n,); b(t) is the mean of d tau/dt h'."""
    time = resolve_time(schedule, t, alpha, sigma, tau)
    xs = as_f64(x, "x", (None, mix.dim))
    out, ctx = np.empty(xs.shape[0]), context(backend)
    call(lib.sf_entropy_rate, ctx.handle, mix.handle, C.byref(time), ptr(xs), xs.shape[0], ptr(out), context=ctx.handle)
    return out


def label_entropy_moments(
    mix: Mixture, schedule: ScheduleLike, t: float, n: int = 20000, seed: int = 0, *, backend: ContextLike = "cpu"
) -> Any:
    """Mean and variance of the label entropy over n exact draws of p_t, with standard errors."""
    time = resolve_time(schedule, t)
    out, ctx = _lib.Estimate(), context(backend)
    call(
        lib.sf_label_entropy_moments,
        ctx.handle,
        mix.handle,
        C.byref(time),
        int(n),
        int(seed),
        C.byref(out),
        context=ctx.handle,
    )
    return _result(out)


def pair_variance(kappa: float, statistic: str = "label-entropy") -> float:
    """Var of h_Y ("label-entropy") or of the normalised rate ("normalised-rate") over q_tau for a
    symmetric pair at kappa = mu^T Sigma^-1 mu (quadrature)."""
    var = _double()
    call(lib.sf_pair_variance, _statistic(statistic), float(kappa), C.byref(var))
    return var.value


def pair_variance_peak(statistic: str = "label-entropy") -> Any:
    """The universal peak of pair_variance over kappa: kappa, kappa_tol, var, var_tol."""
    out = _lib.PairPeak()
    call(lib.sf_pair_variance_peak, _statistic(statistic), C.byref(out))
    return _result(out)


def pair_kappa(mix: Mixture, tau: float) -> tuple[float, float]:
    """kappa(tau) = mu^T (C + tau I)^-1 mu and the rate normalisation nu(tau) of a symmetric pair."""
    kappa, nu = _double(), _double()
    call(lib.sf_pair_kappa, mix.handle, float(tau), C.byref(kappa), C.byref(nu))
    return kappa.value, nu.value


def pair_tau_of_kappa(mix: Mixture, kappa: float) -> float:
    """The heat time at which a symmetric pair's kappa(tau) equals kappa."""
    tau = _double()
    call(lib.sf_pair_tau_of_kappa, mix.handle, float(kappa), C.byref(tau))
    return tau.value


def pair_peak_check(
    mix: Mixture, statistic: str = "label-entropy", n: int = 20000, seed: int = 0, *, backend: ContextLike = "cpu"
) -> Any:
    """The Monte Carlo variance at this pair's peak time against the universal peak: exact, tau,
    mc (an Estimate), z."""
    out, ctx = _lib.PeakCheck(), context(backend)
    call(
        lib.sf_pair_peak_check_sized,
        ctx.handle,
        mix.handle,
        _statistic(statistic),
        int(n),
        int(seed),
        C.byref(out),
        C.sizeof(out),
        context=ctx.handle,
    )
    return _result(out)


def entropy_budget(
    mix: Mixture,
    schedule: ScheduleLike = "vp-linear",
    t0: float = 1e-3,
    t1: float = 1.0,
    n: int = 2000,
    steps: int = 100,
    seed: int = 0,
    *,
    backend: ContextLike = "cpu",
) -> Any:
    """The conditional entropy removed along probability-flow paths (pathwise) against int b dt
    (integral), each an Estimate, and z, their difference in standard errors."""
    out, ctx = _lib.Budget(), context(backend)
    call(
        lib.sf_entropy_budget_sized,
        ctx.handle,
        mix.handle,
        C.byref(as_schedule(schedule).struct()),
        float(t0),
        float(t1),
        int(n),
        int(steps),
        int(seed),
        C.byref(out),
        C.sizeof(out),
        context=ctx.handle,
    )
    return _result(out)


# ---------------------------------------------------------------- the path-integral view


def wkb_curve(
    mix: Mixture,
    x: Any,
    h: Any,
    schedule: ScheduleLike = "vp-linear",
    t0: float = 1e-3,
    t1: float = 1.0,
    *,
    scale: float = 1.0,
    shift: Any = None,
    steps: int = 2000,
) -> dict[str, Any]:
    """The likelihood curve over noise levels h at one point x (d,) for the model scale * s + shift:
    log_q (log q^h_t0(x)), log_q_wkb (log q^0 + h^2 l_1), l1 and log_q0."""
    xs = as_f64(x, "x", (mix.dim,))
    hs = as_f64(h, "h").reshape(-1)
    b = None if shift is None else as_f64(shift, "shift", (mix.dim,))
    log_q, log_q_wkb, l1, log_q0 = np.empty(hs.size), np.empty(hs.size), _double(), _double()
    call(
        lib.sf_wkb_curve,
        mix.handle,
        C.byref(as_schedule(schedule).struct()),
        float(t0),
        float(t1),
        float(scale),
        ptr(b),
        ptr(xs),
        ptr(hs),
        hs.size,
        int(steps),
        ptr(log_q),
        ptr(log_q_wkb),
        C.byref(l1),
        C.byref(log_q0),
    )
    return {"log_q": log_q, "log_q_wkb": log_q_wkb, "l1": l1.value, "log_q0": log_q0.value}

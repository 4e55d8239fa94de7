"""The analyses' library functions: speciation (SPEC.md D), the double wells, information flow
(SPEC.md G) and the first-order WKB coefficient (SPEC.md F)."""

from __future__ import annotations

import ctypes as C
from typing import Any, Sequence

import numpy as np

from ._arrays import as_f64, ptr
from ._core import ContextLike, Mixture, ScheduleLike, as_schedule, context, resolve_time
from ._lib import call, lib


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


def speciation_curvature(mix: Mixture, set_a: Sequence[int], set_b: Sequence[int], tau: float, *,
                         backend: ContextLike = "cpu") -> tuple[float, float, np.ndarray]:
    """At heat time tau, for the split of the components into set_a and set_b: the interface point
    y* between the two groups' means where log q_A = log q_B, the normal criterion
    kappa_n = n^T H n / |n|^2 there, and the top eigenvalue of the Hessian H of log q.
    Returns (kappa_n, top, y_star)."""
    a, b = _components(set_a, "set_a"), _components(set_b, "set_b")
    kappa, top, y = _double(), _double(), np.empty(mix.dim)
    ctx = context(backend)
    call(lib.sf_speciation_normal_curvature, ctx.handle, mix.handle, ptr(a), a.size, ptr(b), b.size, float(tau),
         C.byref(kappa), C.byref(top), ptr(y), context=ctx.handle)
    return kappa.value, top.value, y


def speciation_tau_numeric(mix: Mixture, set_a: Sequence[int], set_b: Sequence[int], tau_lo: float, tau_hi: float,
                           rtol: float = 1e-10, *, backend: ContextLike = "cpu") -> float:
    """The heat time in [tau_lo, tau_hi] where the top curvature at the interface changes sign."""
    a, b = _components(set_a, "set_a"), _components(set_b, "set_b")
    tau, ctx = _double(), context(backend)
    call(lib.sf_speciation_tau_numeric, ctx.handle, mix.handle, ptr(a), a.size, ptr(b), b.size, float(tau_lo),
         float(tau_hi), float(rtol), C.byref(tau), context=ctx.handle)
    return tau.value


def speciation_tau_asymmetric(w: float, a: float, s2: float) -> float:
    """Unequal weights w N(-a, s2 + tau) + (1 - w) N(a, s2 + tau): the saddle-node critical heat
    time (0: never bimodal)."""
    tau = _double()
    call(lib.sf_speciation_tau_asymmetric, float(w), float(a), float(s2), C.byref(tau))
    return tau.value


def count_modes_on_line(mix: Mixture, tau: float, origin: Any, direction: Any, half_length: float,
                        points: int = 100001, *, backend: ContextLike = "cpu") -> int:
    """Local maxima of log q (heat time tau) along origin + r direction, |r| <= half_length."""
    o, v = as_f64(origin, "origin", (mix.dim,)), as_f64(direction, "direction", (mix.dim,))
    modes, ctx = C.c_int(), context(backend)
    call(lib.sf_count_modes_on_line, ctx.handle, mix.handle, float(tau), ptr(o), ptr(v), float(half_length),
         int(points), C.byref(modes), context=ctx.handle)
    return modes.value


def fit_tanh_layer(r: Any, u: Any, wmin: float, wmax: float) -> tuple[float, float, float]:
    """Least-squares fit of u(r) = c0 + c1 r + b tanh(r / width), width in [wmin, wmax]:
    (width, amplitude b, rms residual)."""
    rs = as_f64(r, "r").reshape(-1)
    us = as_f64(u, "u", rs.shape)
    width, amp, rms = _double(), _double(), _double()
    call(lib.sf_fit_tanh_layer, ptr(rs), ptr(us), rs.size, float(wmin), float(wmax), C.byref(width), C.byref(amp),
         C.byref(rms))
    return width.value, amp.value, rms.value


def amplification_pf(mix: Mixture, y: Any, direction: Any, tau1: float, tau0: float, steps: int = 400,
                     eps: float = 1e-6, *, backend: ContextLike = "cpu") -> float:
    """Error amplification across the layer: two probability-flow paths (heat time, RK4) from
    y +- eps direction at tau1 down to tau0, G = |y+ - y-| / (2 eps |direction|)."""
    ys, v = as_f64(y, "y", (mix.dim,)), as_f64(direction, "direction", (mix.dim,))
    gain, ctx = _double(), context(backend)
    call(lib.sf_amplification_pf, ctx.handle, mix.handle, ptr(ys), ptr(v), float(tau1), float(tau0), int(steps),
         float(eps), C.byref(gain), context=ctx.handle)
    return gain.value


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


def bandwidth(mix: Mixture, schedule: ScheduleLike, t: float, n: int = 20000, seed: int = 0, *,
              backend: ContextLike = "cpu") -> tuple[float, float]:
    """The generative bandwidth b(t) = dH(X0 | Xt)/dt by Monte Carlo over n exact draws of p_t:
    (b, its standard error)."""
    time = resolve_time(schedule, t)
    b, err, ctx = _double(), _double(), context(backend)
    call(lib.sf_bandwidth, ctx.handle, mix.handle, C.byref(time), int(n), int(seed), C.byref(b), C.byref(err),
         context=ctx.handle)
    return b.value, err.value


def label_entropy(mix: Mixture, x: Any, schedule: ScheduleLike | None = None, t: float | None = None, *,
                  alpha: float | None = None, sigma: float | None = None, tau: float | None = None,
                  backend: ContextLike = "cpu") -> np.ndarray:
    """h_Y(x) = -sum_k r_k ln r_k (n,): the entropy of the component label given x_t = x."""
    time = resolve_time(schedule, t, alpha, sigma, tau)
    xs = as_f64(x, "x", (None, mix.dim))
    h, ctx = np.empty(xs.shape[0]), context(backend)
    call(lib.sf_label_entropy, ctx.handle, mix.handle, C.byref(time), ptr(xs), xs.shape[0], ptr(h),
         context=ctx.handle)
    return h


def wkb_gaussian(mix: Mixture, x: Any, schedule: ScheduleLike = "vp-linear", t0: float = 1e-3, t1: float = 1.0, *,
                 scale: float = 1.0, shift: Any = None, h: float = 0.0, steps: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """For Gaussian data (one isotropic or diagonal component) and the score model
    s_theta = scale * s + shift: the first-order WKB coefficient l_1(x) of log q^h_t0 = log q^0_t0
    + h^2 l_1 + O(h^4) over the h-family, and log q^h_t0(x) for the given h. Returns (l_1, log_q)."""
    sched = as_schedule(schedule).struct()
    xs = as_f64(x, "x", (None, mix.dim))
    b = None if shift is None else as_f64(shift, "shift", (mix.dim,))
    ell1, log_q = np.empty(xs.shape[0]), np.empty(xs.shape[0])
    call(lib.sf_wkb_gaussian, mix.handle, C.byref(sched), float(t0), float(t1), float(scale), ptr(b), float(h),
         ptr(xs), xs.shape[0], int(steps), ptr(ell1), ptr(log_q))
    return ell1, log_q

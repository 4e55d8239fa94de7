"""Samplers (the mixture's exact score or a user's score model), exact marginal draws, the
probability-flow likelihood, and the Burgers structure at particles and on the periodic grid."""

from __future__ import annotations

import ctypes as C
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from . import _lib
from ._arrays import as_f64, host_result, ptr
from ._core import ContextLike, Mixture, ScheduleLike, as_schedule, context, evaluate, resolve_time
from ._lib import CallbackErrors, call, lib

SAMPLERS = (
    "em",
    "ode-euler",
    "heun",
    "ddpm",
    "ddim",
    "dpm1",
    "dpm2",
    "dpm3",
    "euler-ancestral",
    "edm-heun",
    "dpmpp-2m",
    "dpmpp-3m",
    "dpmpp-2m-sde",
    "dpmpp-2s-ancestral",
    "unipc",
)
_SPACINGS = {"t": 0, "lambda": 1, "karras": 3}
# the sampler-specific options and the samplers they apply to (refused with the others, as by the CLI)
_ONLY_FOR = {"churn": "edm-heun", "s_tmin": "edm-heun", "s_tmax": "edm-heun", "s_noise": "edm-heun", "order": "unipc"}

ScoreModel = Callable[[Any, float], Any]


@dataclass(frozen=True)
class Trajectory:
    """Particles recorded during a run: frames[i] (n, d) after steps[i] steps, at times[i]."""

    steps: np.ndarray
    times: np.ndarray
    frames: np.ndarray


def _as_doubles(p: int, n: int, d: int) -> np.ndarray:
    return np.ctypeslib.as_array(C.cast(p, C.POINTER(C.c_double)), (n, d))


def _sampler_struct(
    sampler: str,
    steps: int,
    t1: float,
    t0: float,
    spacing: str,
    times: np.ndarray | None,
    h: float,
    eta: float | None,
    seed: int,
    classes: np.ndarray | None,
    guidance: float,
    extra: dict[str, Any] | None = None,
) -> _lib.Sampler:
    kind = C.c_int()
    call(lib.sf_sampler_kind_parse, str(sampler).encode(), C.byref(kind))
    s = _lib.Sampler()
    call(lib.sf_sampler_init, C.byref(s), C.sizeof(s), kind.value)
    s.steps, s.t1, s.t0, s.h, s.seed, s.guidance = (
        int(steps),
        float(t1),
        float(t0),
        float(h),
        int(seed),
        float(guidance),
    )
    if eta is not None:
        s.eta = float(eta)
    if times is not None:
        s.spacing, s.times = 2, times.ctypes.data  # SF_SPACING_GIVEN
    elif spacing in _SPACINGS:
        s.spacing = _SPACINGS[spacing]
    else:
        raise ValueError(f"spacing must be 't', 'lambda' or 'karras' (or give times=), got {spacing!r}")
    for name, value in (extra or {}).items():
        if value is None:
            continue
        if name in _ONLY_FOR and sampler != _ONLY_FOR[name]:
            raise ValueError(f"{name} applies to the {_ONLY_FOR[name]} sampler only (not {sampler})")
        if name == "rho" and spacing != "karras":
            raise ValueError("rho applies to spacing='karras' only")
        setattr(s, name, int(value) if name in ("order", "to_zero") else float(value))
    if classes is not None:
        s.class_components, s.class_size = classes.ctypes.data, classes.shape[0]
    return s


def run_interval(
    schedule: ScheduleLike, t1: float | None, t0: float | None, spacing: str | None
) -> tuple[float, float, str]:
    """t1, t0 and spacing with those not given (None) taken as the CLI takes them for the schedule
    (the library's sf_sampler_interval_default): t1 = 1 (vp-cosine 0.995, flow 0.99, edm
    sigma_max), t0 = 1e-3 (edm sigma_min), spacing "t" (edm "karras")."""
    d1, d0, kind = C.c_double(), C.c_double(), C.c_int()
    call(lib.sf_sampler_interval_default, C.byref(as_schedule(schedule).struct()), C.byref(d1), C.byref(d0), C.byref(kind))
    default_spacing = next(name for name, code in _SPACINGS.items() if code == kind.value)
    return (
        d1.value if t1 is None else float(t1),
        d0.value if t0 is None else float(t0),
        default_spacing if spacing is None else spacing,
    )


def sample_marginal(
    mix: Mixture,
    n: int,
    schedule: ScheduleLike | None = None,
    t: float | None = None,
    *,
    alpha: float | None = None,
    sigma: float | None = None,
    tau: float | None = None,
    seed: int = 0,
    first_particle: int = 0,
) -> np.ndarray:
    """n exact draws (n, d) of the mixture diffused to a time: x = alpha x0 + sigma z (Philox keyed
    by seed and particle number first_particle + i, so any split of particles gives the same set)."""
    time = resolve_time(schedule, t, alpha, sigma, tau)
    x = np.empty((int(n), mix.dim))
    call(lib.sf_sample_marginal, mix.handle, C.byref(time), int(seed), int(first_particle), ptr(x), x.shape[0])
    return x


def sampler_times(
    schedule: ScheduleLike = "vp-linear",
    sampler: str = "dpm2",
    *,
    steps: int = 100,
    t1: float | None = None,
    t0: float | None = None,
    spacing: str | None = None,
    rho: float | None = None,
    to_zero: bool = False,
) -> np.ndarray:
    """The step grid that sample() runs with these options: steps + 1 times from t1 down to t0
    (then 0 with to_zero), uniform in t, in log-SNR or Karras-spaced (the library's
    sf_sampler_times); t1, t0 and spacing default as in sample()."""
    t1, t0, spacing = run_interval(schedule, t1, t0, spacing)
    extra = {"rho": rho, "to_zero": 1 if to_zero else None}
    smp = _sampler_struct(sampler, steps, t1, t0, spacing, None, 1.0, None, 0, None, 0.0, extra)
    times = np.empty(int(steps) + 1)
    call(lib.sf_sampler_times, C.byref(as_schedule(schedule).struct()), C.byref(smp), times.ctypes.data)
    return times


def sample(
    mix: Mixture | None,
    n: int | None = None,
    schedule: ScheduleLike = "vp-linear",
    sampler: str = "dpm2",
    *,
    steps: int = 100,
    t1: float | None = None,
    t0: float | None = None,
    spacing: str | None = None,
    times: Any = None,
    h: float = 1.0,
    eta: float | None = None,
    churn: float | None = None,
    s_tmin: float | None = None,
    s_tmax: float | None = None,
    s_noise: float | None = None,
    order: int | None = None,
    rho: float | None = None,
    to_zero: bool = False,
    seed: int = 0,
    classes: Sequence[int] | None = None,
    guidance: float = 0.0,
    score: ScoreModel | None = None,
    model_input: str = "numpy",
    x0: Any = None,
    first_particle: int = 0,
    trajectory_every: int = 0,
    backend: ContextLike = "cpu",
    precision: str = "f64",
    device: int = 0,
) -> np.ndarray | tuple[np.ndarray, Trajectory]:
    """Generates n particles (n, d) by running a sampler from t1 down to t0.

    sampler: "em" (Euler-Maruyama of the h-family: h = 1 the reverse SDE, h = 0 the PF-ODE),
    "ode-euler", "heun", "ddpm", "ddim" (eta), "dpm1", "dpm2", "dpm3", "euler-ancestral", "edm-heun"
    (churn, s_tmin, s_tmax, s_noise: Karras et al. Algorithm 2), "dpmpp-2m", "dpmpp-3m",
    "dpmpp-2m-sde", "dpmpp-2s-ancestral", "unipc" (order 2 or 3); steps uniform in t (spacing="t"),
    in log-SNR ("lambda") or Karras-spaced in sigma/alpha ("karras", rho), or times= (steps + 1
    decreasing times; a last time with sigma = 0 is a denoising step). t1, t0 and spacing default
    as for `scorefield sample`: t1 = 1 (vp-cosine 0.995, flow 0.99, edm sigma_max), t0 = 1e-3 (edm
    sigma_min), spacing "t" (edm "karras"). to_zero: the last of the
    steps goes from t0 to t = 0 as the denoiser (docs/samplers.md). Noise is
    Philox keyed by (seed, particle, step, dimension). The start is x0, or n exact draws of the
    mixture at t1 with the same seed (as `scorefield sample`). classes and guidance: guidance
    toward a set of components, s + (1 + guidance)(s_c - s).

    score: a user score model called as score(x, t) -> scores of x's shape, on all particles at
    each stage (x a read-only NumPy array, or a torch tensor with model_input="torch"; the result
    any array or tensor, on any device) in place of the mixture's score; mix then only gives the
    dimension and the start (it may be None when x0 is given). With the exact score as the model,
    the run reproduces the built-in one to rounding.

    trajectory_every = J > 0 also returns a Trajectory of the particles every J steps (and at the
    start and the end)."""
    sched = as_schedule(schedule)
    ts = None if times is None else as_f64(times, "times").reshape(-1)
    if ts is not None:
        steps, t1, t0 = ts.shape[0] - 1, float(ts[0]), float(ts[-1])
    t1, t0, spacing = run_interval(sched, t1, t0, spacing)
    cls = None if classes is None else np.ascontiguousarray(classes, dtype=np.intc).reshape(-1)
    extra = {"churn": churn, "s_tmin": s_tmin, "s_tmax": s_tmax, "s_noise": s_noise, "order": order, "rho": rho}
    extra["to_zero"] = 1 if to_zero else None
    smp = _sampler_struct(sampler, steps, t1, t0, spacing, ts, h, eta, seed, cls, guidance, extra)
    if x0 is not None:
        x = np.array(as_f64(x0, "x0"), dtype=np.float64, order="C", copy=True)
        if x.ndim != 2 or (mix is not None and x.shape[1] != mix.dim) or (n is not None and x.shape[0] != n):
            raise ValueError(f"x0: expected shape (n, d), got {x.shape}")
    elif mix is None or n is None:
        raise ValueError("give the mixture and n (the start is drawn from it), or x0")
    else:
        x = sample_marginal(mix, n, sched, t1, seed=seed, first_particle=first_particle)
    count, d = x.shape
    ctx = context(backend, precision, device)
    errors = CallbackErrors()
    frames: list[tuple[int, float, np.ndarray]] = []

    def record(_data: Any, step: int, t: float, xp: int, m: int, dim: int) -> None:
        frames.append((step, t, _as_doubles(xp, m, dim).copy() if m else np.empty((0, dim))))

    trajectory = _lib.TRAJECTORY_FN(errors.guard(record)) if trajectory_every > 0 else _lib.TRAJECTORY_FN()
    if score is None:
        if mix is None:
            raise ValueError("the mixture's score needs the mixture: give mix, or a score model")
        call(
            lib.sf_sample,
            ctx.handle,
            mix.handle,
            C.byref(sched.struct()),
            C.byref(smp),
            ptr(x),
            count,
            int(first_particle),
            trajectory,
            None,
            int(trajectory_every),
            context=ctx.handle,
            callbacks=errors,
        )
    else:
        model = _lib.SCORE_FN(errors.guard(_model_adapter(score, model_input)))
        call(
            lib.sf_sample_model,
            ctx.handle,
            d,
            model,
            None,
            C.byref(sched.struct()),
            C.byref(smp),
            ptr(x),
            count,
            int(first_particle),
            trajectory,
            None,
            int(trajectory_every),
            context=ctx.handle,
            callbacks=errors,
        )
    if trajectory_every <= 0:
        return x
    return x, Trajectory(
        np.array([f[0] for f in frames], dtype=int),
        np.array([f[1] for f in frames]),
        np.stack([f[2] for f in frames]) if frames else np.empty((0, count, d)),
    )


def _model_adapter(score: ScoreModel, model_input: str) -> Callable[..., None]:
    """A Python score model as the body of an sf_score_fn."""
    if model_input == "torch":
        import torch  # noqa: PLC0415 - only for models that want tensors

        def wrap(x: np.ndarray) -> Any:
            return torch.from_numpy(x)
    elif model_input == "numpy":

        def wrap(x: np.ndarray) -> Any:
            x.flags.writeable = False
            return x
    else:
        raise ValueError(f"model_input must be 'numpy' or 'torch', got {model_input!r}")

    def body(_data: Any, t: float, xp: int, n: int, d: int, sp: int) -> None:
        if n == 0:
            return
        x = _as_doubles(xp, n, d)
        _as_doubles(sp, n, d)[...] = host_result(score(wrap(x), float(t)), n, d)

    return body


def loglik(
    mix: Mixture,
    x: Any,
    schedule: ScheduleLike = "vp-linear",
    t0: float = 1e-3,
    *,
    t1: float = 1.0,
    rtol: float = 1e-8,
    atol: float = 1e-8,
    return_steps: bool = False,
    backend: ContextLike = "cpu",
    precision: str = "f64",
    device: int = 0,
) -> np.ndarray | tuple[np.ndarray, int]:
    """log p_t0(x) (n,) by the probability-flow ODE from t0 to t1 with the exact divergence
    (instantaneous change of variables) plus the exact log p_t1: adaptive Dormand-Prince 5(4), local
    error below atol + rtol |y|. return_steps=True also gives the accepted steps."""
    sched = as_schedule(schedule)
    xs = as_f64(x, "x", (None, mix.dim))
    out = np.empty(xs.shape[0])
    taken = C.c_int()
    ctx = context(backend, precision, device)
    call(
        lib.sf_loglik_ode,
        ctx.handle,
        mix.handle,
        C.byref(sched.struct()),
        float(t0),
        float(t1),
        ptr(xs),
        xs.shape[0],
        float(rtol),
        float(atol),
        ptr(out),
        C.byref(taken),
        context=ctx.handle,
    )
    return (out, taken.value) if return_steps else out


def flow_ode(
    mix: Mixture,
    x: Any,
    schedule: ScheduleLike = "vp-linear",
    t_from: float = 1.0,
    t_to: float = 1e-3,
    *,
    rtol: float = 1e-10,
    atol: float = 1e-10,
    return_steps: bool = False,
    backend: ContextLike = "cpu",
    precision: str = "f64",
    device: int = 0,
) -> np.ndarray | tuple[np.ndarray, int]:
    """The probability-flow ODE dx/dt = f x - g^2 s / 2 carried from t_from to t_to (either way;
    t_from > t_to generates) for the points x (n, d): the exact flow map to the tolerance (adaptive
    Dormand-Prince 5(4), local error below atol + rtol |x|). Returns a new array (and the steps)."""
    sched = as_schedule(schedule)
    out = np.array(as_f64(x, "x", (None, mix.dim)), dtype=np.float64, order="C", copy=True)
    taken = C.c_int()
    ctx = context(backend, precision, device)
    call(
        lib.sf_flow_ode,
        ctx.handle,
        mix.handle,
        C.byref(sched.struct()),
        float(t_from),
        float(t_to),
        ptr(out),
        out.shape[0],
        float(rtol),
        float(atol),
        C.byref(taken),
        context=ctx.handle,
    )
    return (out, taken.value) if return_steps else out


# ---------------------------------------------------------------- Burgers structure


def burgers_advance(
    mix: Mixture,
    y: Any,
    tau0: float,
    tau1: float,
    steps: int = 100,
    u0: Any = None,
    *,
    backend: ContextLike = "cpu",
    precision: str = "f64",
    device: int = 0,
) -> np.ndarray:
    """The score carried by particles at fixed heat coordinates y (n, d) from heat time tau0 to
    tau1 by RK4 on d_tau u = Lap u / 2 + H u (Laplacian and Hessian from the mixture): u0 (default
    the exact u(y, tau0)) advanced; compare with the exact evaluate(mix, y, tau=tau1)["score"]."""
    ys = as_f64(y, "y", (None, mix.dim))
    if u0 is None:
        u = evaluate(mix, ys, tau=tau0, backend=backend, precision=precision, device=device)["score"]
    else:
        u = np.array(as_f64(u0, "u0", ys.shape), copy=True)
    ctx = context(backend, precision, device)
    call(
        lib.sf_burgers_advance,
        ctx.handle,
        mix.handle,
        ptr(ys),
        ys.shape[0],
        float(tau0),
        float(tau1),
        int(steps),
        ptr(u),
        context=ctx.handle,
    )
    return u


def score_curl(
    mix: Mixture,
    x: Any,
    schedule: ScheduleLike | None = None,
    t: float | None = None,
    *,
    alpha: float | None = None,
    sigma: float | None = None,
    tau: float | None = None,
    probes: int = 8,
    seed: int = 0,
    backend: ContextLike = "cpu",
    precision: str = "f64",
    device: int = 0,
) -> np.ndarray:
    """Irrotationality at particles (n,): the antisymmetric part of the score's Jacobian by central
    differences, over `probes` random pairs, or from the full Jacobian with probes=0."""
    time = resolve_time(schedule, t, alpha, sigma, tau)
    xs = as_f64(x, "x", (None, mix.dim))
    out = np.empty(xs.shape[0])
    ctx = context(backend, precision, device)
    call(
        lib.sf_score_curl,
        ctx.handle,
        mix.handle,
        C.byref(time),
        ptr(xs),
        xs.shape[0],
        int(probes),
        int(seed),
        ptr(out),
        context=ctx.handle,
    )
    return out


class Grid:
    """A periodic spectral grid of n^dim points (dim = 1, 2, 3; n even) on [-box/2, box/2)^dim, with
    FFT plans made once (FFTW on the CPU, cuFFT on CUDA). Fields are (n^dim,) densities and
    (n^dim, dim) vector fields, points in row-major order (last axis fastest)."""

    def __init__(
        self, dim: int, n: int, box: float, *, backend: ContextLike = "cpu", precision: str = "f64", device: int = 0
    ):
        self._ctx = context(backend, precision, device)
        handle = C.c_void_p()
        call(lib.sf_grid_create, C.byref(handle), self._ctx.handle, int(dim), int(n), float(box))
        self._handle, self.dim, self.n, self.box = handle, int(dim), int(n), float(box)

    @property
    def points(self) -> int:
        return lib.sf_grid_points(self._handle)

    def coordinates(self) -> np.ndarray:
        """(n^dim, dim): point j along an axis is (j - n/2) box / n."""
        y = np.empty((self.points, self.dim))
        lib.sf_grid_coordinates(self._handle, ptr(y))
        return y

    def exact(self, mix: Mixture, tau: float, floor: float = 1e-3, images: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """The exact periodised density (with a uniform floor) and its score u = grad log q at tau."""
        density, u = np.empty(self.points), np.empty((self.points, self.dim))
        call(
            lib.sf_grid_exact,
            self._handle,
            mix.handle,
            float(floor),
            int(images),
            float(tau),
            ptr(density),
            ptr(u),
            context=self._ctx.handle,
        )
        return density, u

    def heat_route(self, density: Any, dtau: float) -> np.ndarray:
        """Route A (Cole-Hopf): the score after the density's heat flow over dtau."""
        q = as_f64(density, "density", (self.points,))
        u = np.empty((self.points, self.dim))
        call(lib.sf_grid_heat_route, self._handle, ptr(q), float(dtau), ptr(u), context=self._ctx.handle)
        return u

    def burgers_route(self, u: Any, dtau: float, steps: int = 100) -> np.ndarray:
        """Route B: viscous Burgers integrated directly (integrating-factor RK4, 2/3 dealiasing)."""
        out = np.array(as_f64(u, "u", (self.points, self.dim)), copy=True)
        call(
            lib.sf_grid_burgers_route,
            self._handle,
            ptr(out),
            float(dtau),
            int(steps),
            _lib.PROGRESS_FN(),
            None,
            context=self._ctx.handle,
        )
        return out

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle:
            lib.sf_grid_destroy(handle)
            self._handle = None

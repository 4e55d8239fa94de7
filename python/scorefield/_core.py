"""Contexts, schedules and times, mixtures, plans and field evaluation."""

from __future__ import annotations

import ctypes as C
import threading
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, Union

import numpy as np

from . import _lib
from ._arrays import DTYPE_F32, DTYPE_F64, as_f64, as_particles, ptr
from ._device import current_stream, dlpack_view, empty_like, is_device_array
from ._lib import call, lib

# ---------------------------------------------------------------- contexts

_contexts = threading.local()


class Context:
    """A backend ("cpu", "cuda", "auto", "reference"), its GPU precision ("f64", "f32") and device.

    Functions take backend=, precision=, device= and share one context per thread for each
    combination; make one explicitly to cap GPU batches (max_batch) or to hold a CUDA device."""

    def __init__(self, backend: str = "cpu", precision: str = "f64", device: int = 0, max_batch: int = 0):
        kind = C.c_int()
        call(lib.sf_backend_parse, str(backend).encode(), C.byref(kind))
        if precision not in ("f64", "f32"):
            raise ValueError(f"precision must be 'f64' or 'f32', got {precision!r}")
        handle = C.c_void_p()
        call(lib.sf_context_create, C.byref(handle), kind.value, 0 if precision == "f64" else 1, int(device))
        self._handle = handle
        if max_batch:
            lib.sf_context_set_max_batch(handle, int(max_batch))

    @property
    def handle(self) -> C.c_void_p:
        return self._handle

    @property
    def backend(self) -> str:
        """The resolved backend: "cpu", "cuda" or "reference" (never "auto")."""
        return lib.sf_backend_name(lib.sf_context_backend(self._handle)).decode()

    @property
    def precision(self) -> str:
        return "f64" if lib.sf_context_precision(self._handle) == 0 else "f32"

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle:
            lib.sf_context_destroy(handle)
            self._handle = None

    def __repr__(self) -> str:
        return f"Context(backend={self.backend!r}, precision={self.precision!r})"


ContextLike = Union[Context, str, None]


def context(backend: ContextLike = "cpu", precision: str = "f64", device: int = 0) -> Context:
    """The context for these settings: the given Context itself, or this thread's shared one."""
    if isinstance(backend, Context):
        return backend
    key = (backend or "cpu", precision, int(device))
    cache = getattr(_contexts, "cache", None)
    if cache is None:
        cache = _contexts.cache = {}
    if key not in cache:
        cache[key] = Context(*key)
    return cache[key]


def cuda_available() -> tuple[bool, str]:
    """(True, "") when a CUDA device can be used, else (False, the reason)."""
    why = C.c_char_p()
    count = lib.sf_cuda_device_count(C.byref(why))
    return count > 0, "" if count > 0 else (why.value or b"no device").decode()


# ---------------------------------------------------------------- schedules and times

_SCHEDULE_KINDS = ("ve", "vp-linear", "vp-cosine", "ou", "edm", "flow")


@dataclass(frozen=True)
class Schedule:
    """A noise schedule: "ve", "vp-linear", "vp-cosine", "ou", "edm" (alpha = 1, sigma = t) or "flow"
    (alpha = 1 - t, sigma = t), with its parameters (the CLI's --sigma-min/--sigma-max,
    --beta-min/--beta-max, --cosine-s; defaults as there: sigma_min/sigma_max None is the kind's own,
    0.01/50 for ve and 0.002/80 for edm)."""

    kind: str = "vp-linear"
    sigma_min: float | None = None
    sigma_max: float | None = None
    beta_min: float = 0.1
    beta_max: float = 20.0
    cosine_s: float = 0.008

    def struct(self) -> _lib.Schedule:
        kind = C.c_int()
        call(lib.sf_schedule_kind_parse, self.kind.encode(), C.byref(kind))
        s = _lib.Schedule()
        call(lib.sf_schedule_init, C.byref(s), C.sizeof(s), kind.value)
        if self.sigma_min is not None:
            s.sigma_min = self.sigma_min
        if self.sigma_max is not None:
            s.sigma_max = self.sigma_max
        s.beta_min, s.beta_max, s.cosine_s = self.beta_min, self.beta_max, self.cosine_s
        return s

    def at(self, t: float) -> "TimePoint":
        """alpha, sigma, tau, f, g^2, ... at time t."""
        return TimePoint.of(schedule_time(self, t))

    def t_of_tau(self, tau: float) -> float:
        """The time whose heat time sigma^2/alpha^2 is tau."""
        out = C.c_double()
        s = self.struct()
        call(lib.sf_schedule_t_of_tau, C.byref(s), float(tau), C.byref(out))
        return out.value


ScheduleLike = Union[Schedule, str]


def as_schedule(schedule: ScheduleLike) -> Schedule:
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, str):
        if schedule not in _SCHEDULE_KINDS:
            raise ValueError(f"unknown schedule {schedule!r} ({', '.join(_SCHEDULE_KINDS)})")
        return Schedule(schedule)
    raise TypeError(f"schedule must be a name or a Schedule, got {type(schedule).__name__}")


def schedule_time(schedule: ScheduleLike, t: float) -> _lib.Time:
    s = as_schedule(schedule).struct()
    out = _lib.Time()
    call(lib.sf_schedule_time, C.byref(s), float(t), C.byref(out), C.sizeof(out))
    return out


def direct_time(alpha: float, sigma: float) -> _lib.Time:
    s = _lib.Schedule()
    call(lib.sf_schedule_init, C.byref(s), C.sizeof(s), 4)  # SF_SCHEDULE_DIRECT
    s.alpha, s.sigma = float(alpha), float(sigma)
    out = _lib.Time()
    call(lib.sf_schedule_time, C.byref(s), 0.0, C.byref(out), C.sizeof(out))
    return out


def heat_time(tau: float) -> _lib.Time:
    out = _lib.Time()
    call(lib.sf_heat_time, float(tau), C.byref(out), C.sizeof(out))
    return out


def resolve_time(
    schedule: ScheduleLike | None = None,
    t: float | None = None,
    alpha: float | None = None,
    sigma: float | None = None,
    tau: float | None = None,
) -> _lib.Time:
    """One time from exactly one of: schedule and t; alpha and sigma (a direct pair); tau (the heat
    frame: alpha = 1, sigma^2 = tau)."""
    given = [schedule is not None or t is not None, alpha is not None or sigma is not None, tau is not None]
    if sum(given) != 1:
        raise ValueError("give the time as schedule= and t=, or alpha= and sigma=, or tau=")
    if given[0]:
        if schedule is None or t is None:
            raise ValueError("a schedule time needs both schedule= and t=")
        return schedule_time(schedule, t)
    if given[1]:
        if alpha is None or sigma is None:
            raise ValueError("a direct time needs both alpha= and sigma=")
        return direct_time(alpha, sigma)
    return heat_time(float(tau))  # type: ignore[arg-type]


@dataclass(frozen=True)
class TimePoint:
    """Everything a time gives (docs/conventions.md): alpha, sigma, sigma^2, the heat time tau = sigma^2/alpha^2,
    and with a schedule the rates d alpha/dt, d sigma^2/dt, f = alpha'/alpha, g^2 and d tau/dt."""

    t: float
    alpha: float
    sigma: float
    sigma2: float
    tau: float
    has_time_derivatives: bool
    dalpha: float
    dsigma2: float
    f: float
    g2: float
    dtau: float

    @classmethod
    def of(cls, s: _lib.Time) -> "TimePoint":
        return cls(
            **{f.name: (bool if f.name == "has_time_derivatives" else float)(getattr(s, f.name)) for f in fields(cls)}
        )


# ---------------------------------------------------------------- mixtures

_KINDS = ("isotropic", "diagonal", "lowrank")


def _per_component(value: Any, K: int, name: str) -> list[Any]:
    if value is None:
        return [None] * K
    if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == K:
        return list(value)
    if isinstance(value, (list, tuple)) and len(value) == K:
        return list(value)
    raise ValueError(f"{name}: expected one entry per component ({K})")


def _variances(var: Any, K: int, d: int) -> list[np.ndarray]:
    """Per component: a 0-d array (isotropic) or (d,) (diagonal)."""
    if isinstance(var, (list, tuple)) and len(var) == K and any(np.ndim(v) for v in var):
        out = [as_f64(v, f"var[{k}]") for k, v in enumerate(var)]
    else:
        v = as_f64(var, "var")
        if v.ndim == 0:
            v = np.full(K, float(v))
        if not (v.shape == (K,) or v.shape == (K, d)):
            raise ValueError(f"var: expected a number, ({K},) or ({K}, {d}), got {v.shape}")
        out = [np.array(row, dtype=np.float64) for row in v]
    for k, v in enumerate(out):
        if not (v.ndim == 0 or v.shape == (d,)):
            raise ValueError(f"var[{k}]: expected a number or {d} numbers, got shape {v.shape}")
    return out


class Mixture:
    """A Gaussian mixture sum_k w_k N(mu_k, C_k) in R^d.

    Mixture(weights, means, var=..., basis=..., eig=...): weights (K,) positive (normalised);
    means (K, d); var a number (every component isotropic, var I), (K,) (isotropic per
    component), (K, d) (diagonal), or one entry per component (a number or d numbers); basis
    with eig adds U_k diag(eig_k) U_k^T to var_k I for the components that have one (basis: per
    component None or r_k orthonormal rows (r_k, d), or one (K, r, d) array; eig: per component
    (r_k,) positive). var_k = 0 with a basis puts the component
    on an affine subspace. Mixture.from_json(path) reads the CLI's files."""

    def __init__(self, weights: Any, means: Any, var: Any = None, basis: Any = None, eig: Any = None):
        w = as_f64(weights, "weights").reshape(-1)
        K = w.shape[0]
        mu = as_f64(means, "means")
        if mu.ndim == 1:
            mu = mu.reshape(K, -1) if K else mu.reshape(0, 0)
        if mu.ndim != 2 or mu.shape[0] != K:
            raise ValueError(f"means: expected shape ({K}, d), got {mu.shape}")
        if var is None:
            raise ValueError("var is required: a number, (K,) or (K, d) variances, or one entry per component")
        d = mu.shape[1]
        variances = _variances(var, K, d)
        bases, eigs = _per_component(basis, K, "basis"), _per_component(eig, K, "eig")
        handle = C.c_void_p()
        call(lib.sf_mixture_create, C.byref(handle), int(d))
        self._handle = handle
        for k in range(K):
            mean, v = np.ascontiguousarray(mu[k]), variances[k]
            if bases[k] is not None:
                if v.ndim != 0:
                    raise ValueError(f"component {k}: a low-rank component takes an isotropic var (a number)")
                U = as_f64(bases[k], f"basis[{k}]")
                U = U.reshape(1, -1) if U.ndim == 1 else U
                e = as_f64(eigs[k] if eigs[k] is not None else [], f"eig[{k}]").reshape(-1)
                if U.ndim != 2 or U.shape[1] != d or e.shape[0] != U.shape[0]:
                    raise ValueError(
                        f"component {k}: basis must be (r, {d}) with r = len(eig), got basis {U.shape}, eig {e.shape}"
                    )
                call(
                    lib.sf_mixture_add_lowrank,
                    handle,
                    float(w[k]),
                    ptr(mean),
                    float(v),
                    int(U.shape[0]),
                    ptr(U),
                    ptr(e),
                )
            elif eigs[k] is not None:
                raise ValueError(f"component {k}: eig given without a basis")
            elif v.ndim == 1:
                call(lib.sf_mixture_add_diagonal, handle, float(w[k]), ptr(mean), ptr(v))
            else:
                call(lib.sf_mixture_add_isotropic, handle, float(w[k]), ptr(mean), float(v))

    @classmethod
    def from_json(cls, path: str | Path) -> "Mixture":
        """Reads a mixture file (components form, or the compact form naming .npy files)."""
        self = cls.__new__(cls)
        handle = C.c_void_p()
        call(lib.sf_mixture_read_json, C.byref(handle), str(path).encode())
        self._handle = handle
        return self

    @property
    def handle(self) -> C.c_void_p:
        return self._handle

    @property
    def dim(self) -> int:
        return lib.sf_mixture_dim(self._handle)

    def __len__(self) -> int:
        return lib.sf_mixture_count(self._handle)

    @property
    def count(self) -> int:
        """K, the number of components."""
        return len(self)

    @property
    def weights(self) -> np.ndarray:
        """The normalised weights (K,)."""
        return np.array([lib.sf_mixture_weight(self._handle, k) for k in range(len(self))])

    @property
    def means(self) -> np.ndarray:
        """(K, d)."""
        d = self.dim
        return np.array([np.ctypeslib.as_array(lib.sf_mixture_mean(self._handle, k), (d,)) for k in range(len(self))])

    def kind(self, k: int) -> str:
        """ "isotropic", "diagonal" or "lowrank"."""
        self._check(k)
        return _KINDS[lib.sf_mixture_kind(self._handle, k)]

    def variances(self, k: int) -> np.ndarray:
        """Component k's diagonal covariance part (d,)."""
        self._check(k)
        return np.ctypeslib.as_array(lib.sf_mixture_variances(self._handle, k), (self.dim,)).copy()

    def basis(self, k: int) -> np.ndarray | None:
        """Component k's orthonormal basis rows (r, d), None unless low-rank."""
        self._check(k)
        rank = C.c_int()
        p = lib.sf_mixture_basis(self._handle, k, C.byref(rank))
        return np.ctypeslib.as_array(p, (rank.value, self.dim)).copy() if rank.value else None

    def codimension(self, k: int) -> int:
        """The number of zero eigenvalues of C_k (0 full rank, d a point mass)."""
        self._check(k)
        return lib.sf_mixture_codimension(self._handle, k)

    def _check(self, k: int) -> None:
        if not 0 <= k < len(self):
            raise IndexError(f"component {k} of a mixture of {len(self)}")

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle:
            lib.sf_mixture_destroy(handle)
            self._handle = None

    def __repr__(self) -> str:
        return f"Mixture(dim={self.dim}, components={len(self)})"


# ---------------------------------------------------------------- evaluation

# every output of sf_evaluate with its width per particle: "d" (vectors), 1 (scalars), "K", "dd"
OUTPUTS: Mapping[str, Any] = {
    "score": "d",
    "logp": 1,
    "resp": "K",
    "div": 1,
    "denoise": "d",
    "lap": "d",
    "hvp": "d",
    "hvp_score": "d",
    "hessian": "dd",
    "dt_score": "d",
    "dt_logp": 1,
    "dtau_score": "d",
    "dtau_logp": 1,
    "residual": "d",
    "residual_scale": 1,
    "residual_t": "d",
    "residual_t_scale": 1,
}


def _output_names(outputs: str | Iterable[str]) -> tuple[str, ...]:
    names = (outputs,) if isinstance(outputs, str) else tuple(outputs)
    if names == ("all",):
        names = tuple(OUTPUTS)
    for name in names:
        if name not in OUTPUTS:
            raise ValueError(f"unknown output {name!r} (one of: {', '.join(OUTPUTS)}, or 'all')")
    return names


def _output_shape(name: str, n: int, d: int, K: int) -> tuple[int, ...]:
    """The shape of output `name` for n particles in dimension d and K components."""
    return {"d": (n, d), 1: (n,), "K": (n, K), "dd": (n, d, d)}[OUTPUTS[name]]


def _allocate(names: Sequence[str], n: int, d: int, K: int) -> dict[str, np.ndarray]:
    return {name: np.empty(_output_shape(name, n, d, K)) for name in names}


def _outputs_struct(arrays: Mapping[str, np.ndarray], hvp_dir: np.ndarray | None) -> _lib.Outputs:
    o = _lib.Outputs()
    o.size = C.sizeof(o)
    for name, a in arrays.items():
        setattr(o, name, a.ctypes.data)
    o.hvp_dir = ptr(hvp_dir)
    return o


def _prepare(mix: Mixture, x: Any, outputs: str | Iterable[str], hvp_dir: Any):
    names = _output_names(outputs)
    d = mix.dim
    xs, dtype = as_particles(x, "x", d)
    direction = None
    if "hvp" in names:
        if hvp_dir is None:
            raise ValueError("the hvp output needs hvp_dir= (directions, the shape of x)")
        direction = as_f64(hvp_dir, "hvp_dir", xs.shape)
    arrays = _allocate(names, xs.shape[0], d, len(mix))
    return xs, dtype, arrays, _outputs_struct(arrays, direction), direction


def evaluate(
    mix: Mixture,
    x: Any,
    schedule: ScheduleLike | None = None,
    t: float | None = None,
    *,
    alpha: float | None = None,
    sigma: float | None = None,
    tau: float | None = None,
    outputs: str | Iterable[str] = ("score",),
    hvp_dir: Any = None,
    backend: ContextLike = "cpu",
    precision: str = "f64",
    device: int = 0,
) -> dict[str, Any]:
    """The mixture's fields at the points x (n, d), at one time, as a dict of NumPy arrays.

    The time: schedule= and t=, or alpha= and sigma= (a direct pair), or tau= (the heat frame).
    outputs (names of sf_outputs, or "all"): score, denoise, lap, hvp (needs hvp_dir), hvp_score,
    dt_score, dtau_score, residual, residual_t (n, d); logp, div, dt_logp, dtau_logp,
    residual_scale, residual_t_scale (n,); resp (n, K); hessian (n, d, d). d/dt outputs and
    residual_t need a schedule; heat-frame outputs (dtau_*, residual) are at y = x / alpha.
    x may be any float array or __dlpack__ object on the host; float64 and float32 C-order arrays
    are read in place. With backend="cuda", a CUDA device array (PyTorch, CuPy) of the context's
    precision is used in place, and the outputs (the data-frame ones) are device arrays of its
    library, computed on its current stream."""
    plan = Plan(
        mix, schedule, t, alpha=alpha, sigma=sigma, tau=tau, backend=backend, precision=precision, device=device
    )
    return plan.evaluate(x, outputs, hvp_dir)


class Plan:
    """A mixture's field at one time prepared once (uploaded once on CUDA) and evaluated over any
    number of batches; set_time moves it in time, refreshing only what depends on time."""

    def __init__(
        self,
        mix: Mixture,
        schedule: ScheduleLike | None = None,
        t: float | None = None,
        *,
        alpha: float | None = None,
        sigma: float | None = None,
        tau: float | None = None,
        backend: ContextLike = "cpu",
        precision: str = "f64",
        device: int = 0,
    ):
        self._mix = mix
        self._ctx = context(backend, precision, device)
        time = resolve_time(schedule, t, alpha, sigma, tau)
        handle = C.c_void_p()
        call(lib.sf_plan_create, C.byref(handle), self._ctx.handle, mix.handle, C.byref(time))
        self._handle = handle
        self._schedule = as_schedule(schedule) if schedule is not None else None

    def set_time(
        self,
        t: float | None = None,
        *,
        schedule: ScheduleLike | None = None,
        alpha: float | None = None,
        sigma: float | None = None,
        tau: float | None = None,
    ) -> None:
        """Moves the plan to time t of its schedule (or another given time)."""
        if t is not None and schedule is None:
            schedule = self._schedule
        time = resolve_time(schedule, t, alpha, sigma, tau)
        call(lib.sf_plan_set_time, self._handle, C.byref(time))

    def evaluate(self, x: Any, outputs: str | Iterable[str] = ("score",), hvp_dir: Any = None) -> dict[str, Any]:
        """As evaluate(), at the plan's time. A CUDA device array x (PyTorch, CuPy) is used in
        place on a CUDA plan, and the outputs are device arrays of its library (docs/python.md)."""
        if is_device_array(x):
            return self._evaluate_device(x, outputs, hvp_dir)
        xs, dtype, arrays, o, direction = _prepare(self._mix, x, outputs, hvp_dir)
        call(
            lib.sf_plan_evaluate_typed, self._handle, ptr(xs), dtype, xs.shape[0], C.byref(o), context=self._ctx.handle
        )
        return arrays

    def _evaluate_device(self, x: Any, outputs: str | Iterable[str], hvp_dir: Any) -> dict[str, Any]:
        names = _output_names(outputs)
        host_only = [name for name in names if name not in _lib.DEVICE_OUTPUT_FIELDS]
        if host_only:
            raise ValueError(
                f"outputs {', '.join(host_only)} are computed on the host only: evaluate a host array for them "
                f"(device arrays give {', '.join(f for f in _lib.DEVICE_OUTPUT_FIELDS if f != 'hvp_dir')})"
            )
        if self._ctx.backend != "cuda":
            raise ValueError(
                f"x is a CUDA device array but the plan runs on the {self._ctx.backend} backend: make the plan "
                "with backend='cuda', or move x to the host"
            )
        d, K = self._mix.dim, len(self._mix)
        if len(getattr(x, "shape", ())) == 1 and x.shape[0] == d:
            x = x.reshape(1, d)
        stream = current_stream(x)
        consumer = stream or 1  # the stream DLPack exporters synchronise with (1: the legacy default stream)
        view = dlpack_view(x, "x", consumer)
        if len(view.shape) != 2 or view.shape[1] != d:
            raise ValueError(f"x: expected shape (n, {d}), got {view.shape}")
        n = view.shape[0]
        arrays = {name: empty_like(x, _output_shape(name, n, d, K)) for name in names}
        o = _lib.DeviceOutputs()
        views = [view]  # kept alive until the call returns
        for name, a in arrays.items():
            views.append(dlpack_view(a, name, consumer))
            setattr(o, name, views[-1].pointer)
        if "hvp" in names:
            if hvp_dir is None:
                raise ValueError("the hvp output needs hvp_dir= (directions, the shape of x)")
            views.append(dlpack_view(hvp_dir, "hvp_dir", consumer))
            if views[-1].shape != view.shape or views[-1].dtype != view.dtype:
                raise ValueError(f"hvp_dir: expected a {view.dtype} device array of shape {view.shape}")
            o.hvp_dir = views[-1].pointer
        dtype = DTYPE_F64 if view.dtype == "f64" else DTYPE_F32
        call(lib.sf_plan_evaluate_device, self._handle, dtype, view.pointer, n, C.byref(o), stream or None,
             context=self._ctx.handle)
        return arrays

    def score(self, x: Any) -> np.ndarray:
        """The score alone, (n, d)."""
        return self.evaluate(x, ("score",))["score"]

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle:
            lib.sf_plan_destroy(handle)
            self._handle = None

"""The C library through ctypes: loading, the public structs, prototypes, errors, and calls that
release the GIL and can be interrupted with Ctrl-C."""

from __future__ import annotations

import ctypes as C
import os
import threading
from pathlib import Path
from typing import Any, Callable

# ---------------------------------------------------------------- loading


def _find_library() -> str:
    """The libscorefield.so shipped in this package; SCOREFIELD_LIBRARY overrides it (a build tree)."""
    override = os.environ.get("SCOREFIELD_LIBRARY")
    if override:
        return override
    here = Path(__file__).resolve().parent
    for name in ("libscorefield.so.0", "libscorefield.so", "libscorefield.dylib"):
        if (here / name).exists():
            return str(here / name)
    raise ImportError(
        f"scorefield: the C library is missing from {here} (install the package with `pip install .`, "
        "or point SCOREFIELD_LIBRARY at a built libscorefield.so)"
    )


lib = C.CDLL(_find_library())  # CDLL: every call releases the GIL

# ---------------------------------------------------------------- status and errors

OK, ERR_INVALID, ERR_IO, ERR_FORMAT, ERR_NOMEM, ERR_NO_CUDA, ERR_CUDA, ERR_NUMERIC, ERR_CANCELLED, ERR_CALLBACK = range(
    10
)


class ScorefieldError(Exception):
    """A failure reported by the library; `status` is its sf_status code, the message its own."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class InvalidInputError(ScorefieldError, ValueError):
    """Bad argument or bad input data (SF_ERR_INVALID)."""


class FileFormatError(ScorefieldError, OSError):
    """A file could not be read or written (SF_ERR_IO), or its contents are malformed (SF_ERR_FORMAT)."""


class NoCudaError(ScorefieldError, RuntimeError):
    """The CUDA backend was asked for, but is not built in or no device is present (SF_ERR_NO_CUDA)."""


class CudaError(ScorefieldError, RuntimeError):
    """A CUDA, cuBLAS or cuFFT call failed (SF_ERR_CUDA)."""


class NumericError(ScorefieldError, ArithmeticError):
    """A result is not finite where it must be (SF_ERR_NUMERIC)."""


_ERRORS = {
    ERR_INVALID: InvalidInputError,
    ERR_IO: FileFormatError,
    ERR_FORMAT: FileFormatError,
    ERR_NOMEM: MemoryError,
    ERR_NO_CUDA: NoCudaError,
    ERR_CUDA: CudaError,
    ERR_NUMERIC: NumericError,
}


def error(status: int, message: str) -> BaseException:
    """The Python exception for a library status and its message."""
    cls = _ERRORS.get(status, ScorefieldError)
    if cls is MemoryError:
        return MemoryError(message)
    return cls(message, status)


# ---------------------------------------------------------------- public structs (scorefield.h)

size_t, dbl, cint, vp = C.c_size_t, C.c_double, C.c_int, C.c_void_p


class Schedule(C.Structure):
    _fields_ = [
        ("size", size_t),
        ("kind", cint),
        ("sigma_min", dbl),
        ("sigma_max", dbl),
        ("beta_min", dbl),
        ("beta_max", dbl),
        ("cosine_s", dbl),
        ("alpha", dbl),
        ("sigma", dbl),
    ]


class Time(C.Structure):
    _fields_ = [
        ("size", size_t),
        ("t", dbl),
        ("alpha", dbl),
        ("sigma", dbl),
        ("sigma2", dbl),
        ("tau", dbl),
        ("has_time_derivatives", cint),
        ("dalpha", dbl),
        ("dsigma2", dbl),
        ("f", dbl),
        ("g2", dbl),
        ("dtau", dbl),
    ]


# sf_outputs after `size`, in order; hvp_dir is an input
OUTPUT_FIELDS = (
    "score",
    "logp",
    "resp",
    "div",
    "denoise",
    "lap",
    "hvp_dir",
    "hvp",
    "hvp_score",
    "hessian",
    "dt_score",
    "dt_logp",
    "dtau_score",
    "dtau_logp",
    "residual",
    "residual_scale",
    "residual_t",
    "residual_t_scale",
)


class Outputs(C.Structure):
    _fields_ = [("size", size_t)] + [(name, vp) for name in OUTPUT_FIELDS]


# sf_device_outputs: the data-frame outputs that a CUDA plan writes into device arrays
DEVICE_OUTPUT_FIELDS = ("score", "logp", "resp", "div", "denoise", "lap", "hvp_dir", "hvp", "hessian", "dt_score", "dt_logp")


class DeviceOutputs(C.Structure):
    _fields_ = [(name, vp) for name in DEVICE_OUTPUT_FIELDS]


class Sampler(C.Structure):
    _fields_ = [
        ("size", size_t),
        ("kind", cint),
        ("h", dbl),
        ("eta", dbl),
        ("steps", cint),
        ("spacing", cint),
        ("times", vp),
        ("t1", dbl),
        ("t0", dbl),
        ("seed", C.c_uint64),
        ("class_components", vp),
        ("class_size", cint),
        ("guidance", dbl),
        ("first_step", C.c_uint32),
        ("churn", dbl),
        ("s_tmin", dbl),
        ("s_tmax", dbl),
        ("s_noise", dbl),
        ("order", cint),
        ("rho", dbl),
        ("to_zero", cint),
    ]


# analysis results (fixed value types nested in others: sf_estimate, sf_gain, sf_pair_peak)
class Estimate(C.Structure):
    _fields_ = [("mean", dbl), ("mean_se", dbl), ("var", dbl), ("var_se", dbl), ("n", size_t)]


class SpeciationSummary(C.Structure):
    _fields_ = [
        ("kind", cint),
        ("half_separation", dbl),
        ("tau_interface", dbl),
        ("tau_closed", dbl),
        ("tau_c", dbl),
        ("modes_below", cint),
        ("modes_above", cint),
        ("lambda_", dbl),
        ("t_spectral", dbl),
        ("t_midpoint_ou", dbl),
        ("isotropic_s2", dbl),
    ]


class TanhLayer(C.Structure):
    _fields_ = [("width", dbl), ("amplitude", dbl), ("rms", dbl), ("predicted_width", dbl)]


class Gain(C.Structure):
    _fields_ = [("ode", dbl), ("sde", dbl), ("ode_error", dbl), ("sde_error", dbl)]


class Amplification(C.Structure):
    _fields_ = [("gain", Gain), ("closed_form", Gain), ("stationary", cint), ("end_offset", dbl)]


class BranchingSummary(C.Structure):
    _fields_ = [
        ("frame", cint),
        ("t", dbl),
        ("leaning", dbl),
        ("leaning_exact", dbl),
        ("leaning_exact_se", dbl),
        ("committed", dbl),
        ("side_a", dbl),
    ]


class BlowupRow(C.Structure):
    _fields_ = [("tau", dbl), ("tau_u2", Estimate), ("u2", dbl), ("ratio", Estimate), ("max_denoiser", dbl)]


class DoublewellSummary(C.Structure):
    _fields_ = [
        ("tau_c", dbl),
        ("ex2", dbl),
        ("eabs", dbl),
        ("a_eff", dbl),
        ("s_eff2", dbl),
        ("surrogate_tau_c", dbl),
        ("surrogate_tau_error", dbl),
        ("width", dbl),
        ("surrogate_width", dbl),
        ("surrogate_width_error", dbl),
        ("fitted_width", dbl),
    ]


class PairPeak(C.Structure):
    _fields_ = [("kappa", dbl), ("kappa_tol", dbl), ("var", dbl), ("var_tol", dbl)]


class PeakCheck(C.Structure):
    _fields_ = [("exact", PairPeak), ("tau", dbl), ("mc", Estimate), ("z", dbl)]


class Budget(C.Structure):
    _fields_ = [("pathwise", Estimate), ("integral", Estimate), ("z", dbl)]


TRAJECTORY_FN = C.CFUNCTYPE(cint, vp, cint, dbl, vp, size_t, cint)
SCORE_FN = C.CFUNCTYPE(cint, vp, dbl, vp, size_t, cint, vp)
PROGRESS_FN = C.CFUNCTYPE(None, vp, dbl)


# samplers' error against the exact distribution (sf_error_metric is a fixed value type)
class ErrorMetric(C.Structure):
    _fields_ = [("value", dbl), ("se", dbl), ("floor", dbl), ("floor_se", dbl), ("significant", cint)]


METRICS = ("occupation_tv", "mean_error", "cov_error", "sw2", "nll_gap")


class DistributionErrors(C.Structure):
    _fields_ = [("size", size_t), ("n", size_t)] + [(name, ErrorMetric) for name in METRICS]


class SamplerErrorSetup(C.Structure):
    _fields_ = [
        ("size", size_t),
        ("samplers", C.POINTER(C.c_char_p)),
        ("nsamplers", cint),
        ("nfe", vp),
        ("nnfe", cint),
        ("n", size_t),
        ("seed", C.c_uint64),
        ("t1", dbl),
        ("t0", dbl),
        ("spacing", cint),
        ("reference_tol", dbl),
        ("progress", PROGRESS_FN),
        ("progress_data", vp),
        ("rho", dbl),
    ]


class SamplerErrorRow(C.Structure):
    _fields_ = [
        ("size", size_t),
        ("sampler", cint),
        ("nfe_asked", cint),
        ("steps", cint),
        ("nfe", size_t),
        ("stochastic", cint),
        ("endpoint_rms", dbl),
        ("endpoint_max", dbl),
        ("order", dbl),
        ("order_se", dbl),
        ("reference_error", dbl),
    ] + [(name, ErrorMetric) for name in METRICS]

# ---------------------------------------------------------------- prototypes

st, P = cint, C.POINTER
_PROTOTYPES: dict[str, tuple[Any, list[Any]]] = {
    "sf_version": (C.c_char_p, []),
    "sf_last_error": (C.c_char_p, []),
    "sf_status_name": (C.c_char_p, [cint]),
    "sf_context_create": (st, [P(vp), cint, cint, cint]),
    "sf_context_destroy": (None, [vp]),
    "sf_context_backend": (cint, [vp]),
    "sf_context_precision": (cint, [vp]),
    "sf_context_set_max_batch": (None, [vp, size_t]),
    "sf_context_cancel": (None, [vp]),
    "sf_context_resume": (None, [vp]),
    "sf_context_cancelled": (cint, [vp]),
    "sf_backend_parse": (st, [C.c_char_p, P(cint)]),
    "sf_backend_name": (C.c_char_p, [cint]),
    "sf_cuda_built": (cint, []),
    "sf_cuda_device_count": (cint, [P(C.c_char_p)]),
    "sf_cuda_device_describe": (st, [cint, C.c_char_p, size_t]),
    "sf_schedule_init": (st, [P(Schedule), size_t, cint]),
    "sf_schedule_kind_parse": (st, [C.c_char_p, P(cint)]),
    "sf_schedule_kind_name": (C.c_char_p, [cint]),
    "sf_schedule_time": (st, [P(Schedule), dbl, P(Time), size_t]),
    "sf_heat_time": (st, [dbl, P(Time), size_t]),
    "sf_schedule_t_of_tau": (st, [P(Schedule), dbl, P(dbl)]),
    "sf_mixture_create": (st, [P(vp), cint]),
    "sf_mixture_destroy": (None, [vp]),
    "sf_mixture_add_isotropic": (st, [vp, dbl, vp, dbl]),
    "sf_mixture_add_diagonal": (st, [vp, dbl, vp, vp]),
    "sf_mixture_add_lowrank": (st, [vp, dbl, vp, dbl, cint, vp, vp]),
    "sf_mixture_read_json": (st, [P(vp), C.c_char_p]),
    "sf_mixture_dim": (cint, [vp]),
    "sf_mixture_count": (cint, [vp]),
    "sf_mixture_kind": (cint, [vp, cint]),
    "sf_mixture_rank": (cint, [vp, cint]),
    "sf_mixture_weight": (dbl, [vp, cint]),
    "sf_mixture_mean": (P(dbl), [vp, cint]),
    "sf_mixture_variances": (P(dbl), [vp, cint]),
    "sf_mixture_basis": (P(dbl), [vp, cint, P(cint)]),
    "sf_mixture_codimension": (cint, [vp, cint]),
    "sf_mixture_check_time": (st, [vp, P(Time)]),
    "sf_particles_check": (st, [vp, size_t, cint]),
    "sf_plan_create": (st, [P(vp), vp, vp, P(Time)]),
    "sf_plan_set_time": (st, [vp, P(Time)]),
    "sf_plan_evaluate": (st, [vp, vp, size_t, P(Outputs)]),
    "sf_plan_evaluate_typed": (st, [vp, vp, cint, size_t, P(Outputs)]),
    "sf_plan_evaluate_device": (st, [vp, cint, vp, size_t, P(DeviceOutputs), vp]),
    "sf_plan_destroy": (None, [vp]),
    "sf_evaluate": (st, [vp, vp, P(Time), vp, size_t, P(Outputs)]),
    "sf_burgers_advance": (st, [vp, vp, vp, size_t, dbl, dbl, cint, vp]),
    "sf_score_curl": (st, [vp, vp, P(Time), vp, size_t, cint, C.c_uint64, vp]),
    "sf_sampler_init": (st, [P(Sampler), size_t, cint]),
    "sf_sampler_kind_parse": (st, [C.c_char_p, P(cint)]),
    "sf_sampler_kind_name": (C.c_char_p, [cint]),
    "sf_sample_marginal": (st, [vp, P(Time), C.c_uint64, size_t, vp, size_t]),
    "sf_sampler_times": (st, [P(Schedule), P(Sampler), vp]),
    "sf_sampler_interval_default": (st, [P(Schedule), P(dbl), P(dbl), P(cint)]),
    "sf_sample": (st, [vp, vp, P(Schedule), P(Sampler), vp, size_t, size_t, TRAJECTORY_FN, vp, cint]),
    "sf_sample_model": (
        st,
        [vp, cint, SCORE_FN, vp, P(Schedule), P(Sampler), vp, size_t, size_t, TRAJECTORY_FN, vp, cint],
    ),
    "sf_loglik_ode": (st, [vp, vp, P(Schedule), dbl, dbl, vp, size_t, dbl, dbl, vp, P(cint)]),
    "sf_flow_ode": (st, [vp, vp, P(Schedule), dbl, dbl, vp, size_t, dbl, dbl, P(cint)]),
    "sf_sampler_cost": (st, [P(Schedule), P(Sampler), P(size_t), P(cint)]),
    "sf_distribution_error_sized": (st, [vp, vp, P(Time), vp, vp, size_t, C.c_uint64, P(DistributionErrors), size_t]),
    "sf_sampler_error_setup_init": (st, [P(SamplerErrorSetup), size_t]),
    "sf_sampler_error_sized": (st, [vp, vp, P(Schedule), P(SamplerErrorSetup), P(SamplerErrorRow), size_t]),
    "sf_wkb_gaussian": (st, [vp, P(Schedule), dbl, dbl, dbl, vp, dbl, vp, size_t, cint, vp, vp]),
    "sf_wkb_curve": (st, [vp, P(Schedule), dbl, dbl, dbl, vp, vp, vp, cint, cint, vp, vp, vp, vp]),
    "sf_power_law_exponent": (dbl, [vp, vp, size_t]),
    "sf_speciation_tau_closed_form": (st, [vp, P(dbl)]),
    "sf_speciation_normal_curvature": (st, [vp, vp, vp, cint, vp, cint, dbl, P(dbl), P(dbl), vp]),
    "sf_speciation_tau_numeric": (st, [vp, vp, vp, cint, vp, cint, dbl, dbl, dbl, P(dbl)]),
    "sf_speciation_tau_asymmetric": (st, [dbl, dbl, dbl, P(dbl)]),
    "sf_count_modes_on_line": (st, [vp, vp, dbl, vp, vp, dbl, size_t, P(cint)]),
    "sf_fit_tanh_layer": (st, [vp, vp, size_t, dbl, dbl, P(dbl), P(dbl), P(dbl)]),
    "sf_data_covariance_top_eigenvalue": (st, [vp, P(dbl)]),
    "sf_speciation_axis": (st, [vp, vp, cint, vp, cint, vp, P(dbl)]),
    "sf_speciation_summarize_sized": (st, [vp, vp, vp, cint, vp, cint, P(SpeciationSummary), size_t]),
    "sf_speciation_layer_sized": (st, [vp, vp, vp, cint, vp, cint, dbl, vp, size_t, vp, P(TanhLayer), size_t]),
    "sf_flow_gain": (st, [vp, vp, vp, vp, dbl, dbl, dbl, P(Gain)]),
    "sf_speciation_amplification_sized": (st, [vp, vp, vp, cint, vp, cint, dbl, dbl, dbl, P(Amplification), size_t]),
    "sf_speciation_branching_sized": (
        st,
        [
            vp,
            vp,
            vp,
            cint,
            vp,
            cint,
            dbl,
            P(Schedule),
            P(Sampler),
            size_t,
            C.c_uint64,
            cint,
            cint,
            vp,
            vp,
            P(cint),
            size_t,
            P(BranchingSummary),
            size_t,
        ],
    ),
    "sf_blowup_limit": (st, [vp, P(dbl), P(cint)]),
    "sf_blowup_at_sized": (st, [vp, vp, dbl, size_t, C.c_uint64, P(BlowupRow), size_t]),
    "sf_doublewell_field": (st, [dbl, dbl, vp, size_t, vp, vp, vp, vp]),
    "sf_doublewell_tau_c": (st, [dbl, P(dbl), P(dbl)]),
    "sf_doublewell_summarize_sized": (st, [dbl, P(DoublewellSummary), size_t]),
    "sf_doublewell_burgers_residual": (st, [dbl, cint, vp, cint, vp, size_t, P(dbl)]),
    "sf_ringwell_field": (st, [dbl, dbl, vp, size_t, vp, vp, vp, vp]),
    "sf_ringwell_tau_c": (st, [dbl, P(dbl)]),
    "sf_ringwell_burgers_residual": (st, [dbl, vp, cint, vp, size_t, P(dbl)]),
    "sf_bandwidth": (st, [vp, vp, P(Time), size_t, C.c_uint64, P(dbl), P(dbl)]),
    "sf_entropy_rate": (st, [vp, vp, P(Time), vp, size_t, vp]),
    "sf_label_entropy": (st, [vp, vp, P(Time), vp, size_t, vp]),
    "sf_label_entropy_moments": (st, [vp, vp, P(Time), size_t, C.c_uint64, P(Estimate)]),
    "sf_pair_variance": (st, [cint, dbl, P(dbl)]),
    "sf_pair_variance_peak": (st, [cint, P(PairPeak)]),
    "sf_pair_kappa": (st, [vp, dbl, P(dbl), P(dbl)]),
    "sf_pair_tau_of_kappa": (st, [vp, dbl, P(dbl)]),
    "sf_pair_peak_check_sized": (st, [vp, vp, cint, size_t, C.c_uint64, P(PeakCheck), size_t]),
    "sf_entropy_budget_sized": (st, [vp, vp, P(Schedule), dbl, dbl, size_t, cint, C.c_uint64, P(Budget), size_t]),
    "sf_grid_create": (st, [P(vp), vp, cint, cint, dbl]),
    "sf_grid_destroy": (None, [vp]),
    "sf_grid_points": (size_t, [vp]),
    "sf_grid_coordinates": (None, [vp, vp]),
    "sf_grid_exact": (st, [vp, vp, dbl, cint, dbl, vp, vp]),
    "sf_grid_heat_route": (st, [vp, vp, dbl, vp]),
    "sf_grid_burgers_route": (st, [vp, vp, dbl, cint, PROGRESS_FN, vp]),
}

for _name, (_restype, _argtypes) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes


def version() -> str:
    """The C library's version (SF_VERSION)."""
    return lib.sf_version().decode()


def last_error() -> str:
    return lib.sf_last_error().decode(errors="replace")


# ---------------------------------------------------------------- calls


class CallbackErrors:
    """Exceptions raised inside Python callbacks run by the library, re-raised after the call."""

    def __init__(self) -> None:
        self.exception: BaseException | None = None

    def guard(self, fn: Callable[..., Any]) -> Callable[..., int]:
        """fn as a callback returning a status: its exception is kept and the library told to stop."""

        def wrapped(*args: Any) -> int:
            if self.exception is not None:
                return ERR_CALLBACK
            try:
                fn(*args)
                return OK
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                self.exception = exc
                return ERR_CALLBACK

        return wrapped


def _run(fn: Callable[..., int], args: tuple) -> tuple[int, str]:
    status = fn(*args)
    # the message is thread-local in the library: read it on the thread that failed
    return status, (last_error() if status != OK else "")


def call(fn: Callable[..., int], *args: Any, context: Any = None, callbacks: CallbackErrors | None = None) -> None:
    """Calls a library function that returns an sf_status and raises its error.

    ctypes releases the GIL for the call. On the main thread, with a context, the call runs on a
    worker thread while the main thread waits: Ctrl-C there cancels the context (the library stops
    at its next check) and raises KeyboardInterrupt once the work has stopped."""
    if context is None or threading.current_thread() is not threading.main_thread():
        status, message = _run(fn, args)
    else:
        box: dict[str, Any] = {}
        finished = threading.Event()

        def work() -> None:
            try:
                box["result"] = _run(fn, args)
            finally:
                finished.set()

        worker = threading.Thread(target=work, name="scorefield-call", daemon=True)
        worker.start()
        interrupted = False
        # wait on an Event, not on Thread.join: a join interrupted by KeyboardInterrupt may mark the
        # thread finished while it still runs (CPython's bpo-45274 handling), and the caller's
        # arrays must outlive the work
        while True:
            try:
                finished.wait()
                break
            except KeyboardInterrupt:
                interrupted = True
                lib.sf_context_cancel(context)
        worker.join()
        if interrupted:
            lib.sf_context_resume(context)
            raise KeyboardInterrupt
        status, message = box["result"]
    if callbacks is not None and callbacks.exception is not None:
        exc = callbacks.exception
        callbacks.exception = None
        raise exc
    if status != OK:
        if status == ERR_CANCELLED:
            raise KeyboardInterrupt(message)
        raise error(status, message)

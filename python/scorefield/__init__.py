"""scorefield: exact Gaussian-mixture score fields of diffusion models, from Python.

The C library (CPU, and CUDA where built) behind NumPy arrays: the score and its derivatives at
any time (evaluate, Plan), samplers with the exact score or a user's score model (sample),
likelihoods (loglik), the Burgers structure at particles and on a periodic grid, and the analyses
(speciation, double wells, information flow, WKB). Errors raise ScorefieldError subclasses with
the library's message; work runs without the GIL and Ctrl-C stops it.

    import scorefield as sf
    mix = sf.Mixture([0.5, 0.5], [[-1.0], [1.0]], var=0.1)
    out = sf.evaluate(mix, x, schedule="vp-linear", t=0.3, outputs=("score", "logp"))
    xs = sf.sample(mix, n=1000, schedule="vp-linear", sampler="dpm2", steps=50, seed=1)
"""

from ._analysis import (
    bandwidth,
    blowup_at,
    blowup_limit,
    count_modes_on_line,
    data_covariance_top_eigenvalue,
    doublewell_burgers_residual,
    doublewell_field,
    doublewell_summary,
    doublewell_tau_c,
    entropy_budget,
    entropy_rate,
    fit_tanh_layer,
    flow_gain,
    label_entropy,
    label_entropy_moments,
    pair_kappa,
    pair_peak_check,
    pair_tau_of_kappa,
    pair_variance,
    pair_variance_peak,
    power_law_exponent,
    ringwell_burgers_residual,
    ringwell_field,
    ringwell_tau_c,
    speciation_amplification,
    speciation_axis,
    speciation_branching,
    speciation_curvature,
    speciation_layer,
    speciation_summary,
    speciation_tau_asymmetric,
    speciation_tau_closed_form,
    speciation_tau_numeric,
    wkb_curve,
    wkb_gaussian,
)
from ._core import OUTPUTS, Context, Mixture, Plan, Schedule, TimePoint, cuda_available, evaluate
from ._dynamics import SAMPLERS, Grid, Trajectory, burgers_advance, flow_ode, loglik, sample, sample_marginal, score_curl
from ._lib import (
    CudaError,
    FileFormatError,
    InvalidInputError,
    NoCudaError,
    NumericError,
    ScorefieldError,
    version as library_version,
)
from ._sampler_error import distribution_error, sampler_error

__version__ = library_version()

__all__ = [
    "Context",
    "CudaError",
    "FileFormatError",
    "Grid",
    "InvalidInputError",
    "Mixture",
    "NoCudaError",
    "NumericError",
    "OUTPUTS",
    "Plan",
    "SAMPLERS",
    "Schedule",
    "ScorefieldError",
    "TimePoint",
    "Trajectory",
    "bandwidth",
    "blowup_at",
    "blowup_limit",
    "burgers_advance",
    "count_modes_on_line",
    "cuda_available",
    "data_covariance_top_eigenvalue",
    "distribution_error",
    "doublewell_burgers_residual",
    "doublewell_field",
    "doublewell_summary",
    "doublewell_tau_c",
    "entropy_budget",
    "entropy_rate",
    "evaluate",
    "fit_tanh_layer",
    "flow_ode",
    "flow_gain",
    "label_entropy",
    "label_entropy_moments",
    "library_version",
    "loglik",
    "pair_kappa",
    "pair_peak_check",
    "pair_tau_of_kappa",
    "pair_variance",
    "pair_variance_peak",
    "power_law_exponent",
    "ringwell_burgers_residual",
    "ringwell_field",
    "ringwell_tau_c",
    "sample",
    "sample_marginal",
    "sampler_error",
    "score_curl",
    "speciation_amplification",
    "speciation_axis",
    "speciation_branching",
    "speciation_curvature",
    "speciation_layer",
    "speciation_summary",
    "speciation_tau_asymmetric",
    "speciation_tau_closed_form",
    "speciation_tau_numeric",
    "wkb_curve",
    "wkb_gaussian",
]

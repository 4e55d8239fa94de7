"""Checks of PyTorch CUDA tensors evaluated in place, runnable without pytest: the GPU suite
(tests/gpu_suite.sh) calls run_all() on a GPU machine that may have PyTorch but no pytest, and
test_device.py calls the same functions under pytest."""

from __future__ import annotations

import numpy as np

import scorefield as sf


def example_mixture() -> sf.Mixture:
    """examples/three_kinds.json as arrays: isotropic, diagonal and low-rank components in 2-D."""
    return sf.Mixture(
        [0.5, 0.3, 0.2],
        [[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0]],
        var=[0.04, [0.04, 0.09], 0.0],
        basis=[None, None, [[0.6, 0.8]]],
        eig=[None, None, [0.5]],
    )


def torch_cuda_in_place(mix: sf.Mixture, precision: str) -> float:
    """Evaluates a CUDA tensor in place on a side stream and compares every device output with the
    float64 host path; returns the worst error relative to the tolerance of `scorefield check`
    (1e-11 in f64, 1e-4 in f32), which must be <= 1."""
    import torch

    dtype = torch.float64 if precision == "f64" else torch.float32
    x_host = np.random.default_rng(5).normal(size=(4096, mix.dim))
    x = torch.tensor(x_host, dtype=dtype, device="cuda")
    names = ("score", "logp", "resp", "div", "denoise")
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):  # the library works on the caller's current stream
        got = sf.evaluate(mix, x, "vp-linear", 0.3, outputs=names, backend="cuda", precision=precision)
    stream.synchronize()
    want = sf.evaluate(mix, x.cpu().double().numpy(), "vp-linear", 0.3, outputs=names)
    tol = 1e-11 if precision == "f64" else 1e-4
    worst = 0.0
    for name in names:
        assert got[name].is_cuda and got[name].dtype == dtype, (name, got[name].device, got[name].dtype)
        ref = want[name]
        err = np.max(np.abs(got[name].cpu().double().numpy() - ref)) / (np.sqrt(np.mean(ref**2)) + np.max(np.abs(ref)))
        worst = max(worst, err / tol)
    return worst


def run_all() -> int:
    mix = example_mixture()
    status = 0
    for precision in ("f64", "f32"):
        worst = torch_cuda_in_place(mix, precision)
        print(f"torch CUDA tensors in place, {precision}: worst {worst:.3g} of tolerance", "ok" if worst <= 1 else "FAIL")
        status |= worst > 1
    return status


if __name__ == "__main__":
    raise SystemExit(run_all())

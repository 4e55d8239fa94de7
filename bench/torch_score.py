"""PyTorch eager baseline for bench_gpu (bench/bench_gpu.c): score, log p and divergence of an
isotropic Gaussian mixture diffused to (alpha, sigma^2) -- the same work scorefield's evaluation
does, by the same formulas (docs/fields.md, isotropic GEMM form) -- in float64 or float32 on the GPU,
timed with CUDA events, best of --repeat after a warm-up. The n particles are drawn on the GPU from
the diffused mixture; --check-x / --check-logp give particles and scorefield's log p there, and the
largest relative difference of this script's log p is printed, so the two do the same work.
Prints `seconds S` and `max_logp_rel_diff E`; exit 3 without a CUDA device."""
import argparse
import math
import sys
import time

import numpy as np
import torch


def fields(x, am, log_norm, p, d):
    """score, log p, div for particles x (n x d): logits by the GEMM form, softmax, E[.|x] by GEMM."""
    xx = (x * x).sum(1, keepdim=True)
    mm = (am * am).sum(1)
    dist2 = (xx - 2.0 * (x @ am.T) + mm).clamp_min(0)        # n x K
    logits = log_norm - 0.5 * p * dist2
    logp = torch.logsumexp(logits, dim=1)
    r = torch.exp(logits - logp[:, None])
    rp = r * p
    score = rp @ am - x * rp.sum(1, keepdim=True)            # sum_k r_k p_k (a mu_k - x)
    # div s = sum_k r_k (|g_k - s|^2 - tr P_k) = sum_k r_k p_k^2 |x - a mu_k|^2 - |s|^2 - d sum_k r_k p_k
    div = (rp * p * dist2).sum(1) - (score * score).sum(1) - d * rp.sum(1)
    return score, logp, div


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--means", required=True)
    ap.add_argument("--vars", required=True)
    ap.add_argument("--alpha", type=float, required=True)
    ap.add_argument("--sigma2", type=float, required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--check-x")
    ap.add_argument("--check-logp")
    ap.add_argument("--device", default="cuda", help="cuda (the benchmark); cpu only to test this script")
    a = ap.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        print("torch_score: no CUDA device", file=sys.stderr)
        return 3
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    dtype = torch.float64 if a.dtype == "float64" else torch.float32
    w = torch.tensor(np.load(a.weights), dtype=torch.float64, device=dev)
    mu = torch.tensor(np.load(a.means), dtype=torch.float64, device=dev)
    var = torch.tensor(np.load(a.vars), dtype=torch.float64, device=dev)
    K, d = mu.shape
    e = a.alpha ** 2 * var + a.sigma2                           # Sigma_k = e_k I
    log_norm = torch.log(w / w.sum()) - 0.5 * d * (math.log(2 * math.pi) + torch.log(e))
    am, p = (a.alpha * mu).to(dtype), (1.0 / e).to(dtype)
    log_norm = log_norm.to(dtype)

    gen = torch.Generator(device=dev).manual_seed(11)
    comp = torch.multinomial(w / w.sum(), a.n, replacement=True, generator=gen)
    z = torch.randn(a.n, d, dtype=torch.float64, device=dev, generator=gen)
    x = (a.alpha * mu[comp] + torch.sqrt(e[comp])[:, None] * z).to(dtype)
    del z, comp

    if a.check_x and a.check_logp:
        cx = torch.tensor(np.load(a.check_x), dtype=dtype, device=dev)
        ref = torch.tensor(np.load(a.check_logp), dtype=torch.float64, device=dev)
        _, lp, _ = fields(cx, am, log_norm, p, d)
        rel = ((lp.double() - ref).abs() / ref.abs().clamp_min(1.0)).max().item()
        print(f"max_logp_rel_diff {rel:.3e}")

    fields(x, am, log_norm, p, d)                               # warm-up
    sync()
    best = float("inf")
    for _ in range(a.repeat):
        if a.device == "cuda":
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            out = fields(x, am, log_norm, p, d)
            stop.record()
            stop.synchronize()
            seconds = start.elapsed_time(stop) * 1e-3
        else:
            t0 = time.perf_counter()
            out = fields(x, am, log_norm, p, d)
            seconds = time.perf_counter() - t0
        best = min(best, seconds)
        del out
    print(f"seconds {best:.6g}")
    name = torch.cuda.get_device_name(0) if a.device == "cuda" else "cpu"
    print(f"torch {torch.__version__} {name} {a.dtype} n = {a.n} d = {d} K = {K}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

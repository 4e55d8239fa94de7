#!/usr/bin/env python3
"""NumPy and PyTorch-CPU baselines for bench_score: the score (and, with --all, log p and the
divergence) of an isotropic Gaussian mixture diffused to (alpha, sigma^2), written the way a careful
user would: BLAS for x . mu, one N x K logits array, log-sum-exp, the score as r M. float64, compute
only (the arrays are loaded and converted before the clock starts). Prints the best wall time of
--repeat runs ("seconds T") and the largest difference of the score from --score-ref, relative to
its largest magnitude ("max_score_rel_diff D"), a guard that both computed the same thing."""
import argparse
import time

import numpy as np


def numpy_fields(x, w, mu, var, alpha, sigma2, want_all):
    d = x.shape[1]
    v = alpha * alpha * var + sigma2                       # (K,) per-component variance at t
    am = alpha * mu                                        # (K, d)
    sq = (x * x).sum(1)[:, None] - 2.0 * x @ am.T + (am * am).sum(1)[None, :]
    logits = np.log(w)[None, :] - 0.5 * (d * np.log(2 * np.pi * v)[None, :] + sq / v[None, :])
    m = logits.max(1, keepdims=True)
    e = np.exp(logits - m)
    total = e.sum(1, keepdims=True)
    r = e / total
    rv = r / v[None, :]
    score = -x * rv.sum(1)[:, None] + rv @ am              # sum_k r_k g_k, g_k = -(x - a mu_k)/v_k
    if not want_all:
        return score, None, None
    logp = m[:, 0] + np.log(total[:, 0])
    # div s = sum_k r_k (|g_k - s|^2 - d / v_k), with |g_k - s|^2 expanded through BLAS
    g2 = sq / (v * v)[None, :]
    gs = (-(x * score).sum(1)[:, None] + score @ am.T) / v[None, :]
    div = (r * (g2 - 2 * gs - d / v[None, :])).sum(1) + (score * score).sum(1)
    return score, logp, div


def torch_fields(torch, x, w, mu, var, alpha, sigma2, want_all):
    d = x.shape[1]
    v = alpha * alpha * var + sigma2
    am = alpha * mu
    sq = (x * x).sum(1, keepdim=True) - 2.0 * x @ am.T + (am * am).sum(1)[None, :]
    logits = torch.log(w)[None, :] - 0.5 * (d * torch.log(2 * torch.pi * v)[None, :] + sq / v[None, :])
    r = torch.softmax(logits, dim=1)
    rv = r / v[None, :]
    score = -x * rv.sum(1, keepdim=True) + rv @ am
    if not want_all:
        return score, None, None
    logp = torch.logsumexp(logits, dim=1)
    g2 = sq / (v * v)[None, :]
    gs = (-(x * score).sum(1, keepdim=True) + score @ am.T) / v[None, :]
    div = (r * (g2 - 2 * gs - d / v[None, :])).sum(1) + (score * score).sum(1)
    return score, logp, div


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--framework", choices=("numpy", "torch"), default="numpy")
    p.add_argument("--x", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--means", required=True)
    p.add_argument("--vars", required=True)
    p.add_argument("--alpha", type=float, required=True)
    p.add_argument("--sigma2", type=float, required=True)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--all", action="store_true", help="log p and the divergence too")
    p.add_argument("--score-ref")
    a = p.parse_args()
    x, w, mu, var = (np.load(f) for f in (a.x, a.weights, a.means, a.vars))
    w = w / w.sum()
    if a.framework == "torch":
        import torch
        x, w, mu, var = (torch.from_numpy(np.ascontiguousarray(t)) for t in (x, w, mu, var))
        run = lambda: torch_fields(torch, x, w, mu, var, a.alpha, a.sigma2, a.all)
        print(f"version torch {torch.__version__}, {torch.get_num_threads()} threads")
    else:
        run = lambda: numpy_fields(x, w, mu, var, a.alpha, a.sigma2, a.all)
        print(f"version numpy {np.__version__}")
    best = float("inf")
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        score = run()[0]
        best = min(best, time.perf_counter() - t0)
    print(f"seconds {best:.6g}")
    if a.score_ref:
        ref = np.load(a.score_ref)
        score = np.asarray(score)
        print(f"max_score_rel_diff {np.abs(score - ref).max() / max(np.abs(ref).max(), 1e-300):.3g}")


if __name__ == "__main__":
    main()

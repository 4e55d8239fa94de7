#!/usr/bin/env python3
"""NumPy baseline for bench_score: log p, score and divergence of an isotropic Gaussian mixture
diffused to (alpha, sigma), written the way a careful NumPy user would (BLAS for x . mu, one
N x K logits array, log-sum-exp). Prints the best wall time of --repeat runs in seconds, and
the max |difference| of log p against a reference file if given (a correctness guard)."""
import argparse
import time

import numpy as np


def evaluate(x, w, mu, var, alpha, sigma2):
    d = x.shape[1]
    v = alpha * alpha * var + sigma2                       # (K,) per-component variance at t
    am = alpha * mu                                        # (K, d)
    sq = (x * x).sum(1)[:, None] - 2.0 * x @ am.T + (am * am).sum(1)[None, :]
    logits = np.log(w)[None, :] - 0.5 * (d * np.log(2 * np.pi * v)[None, :] + sq / v[None, :])
    m = logits.max(1, keepdims=True)
    logp = m[:, 0] + np.log(np.exp(logits - m).sum(1))
    r = np.exp(logits - logp[:, None])                     # (N, K)
    rv = r / v[None, :]
    score = -x * rv.sum(1)[:, None] + rv @ am              # sum_k r_k g_k, g_k = -(x - a mu_k)/v_k
    # div s = sum_k r_k (|g_k - s|^2 - d / v_k), with |g_k - s|^2 expanded through BLAS
    g2 = sq / (v * v)[None, :]
    gs = (-(x * score).sum(1)[:, None] + score @ am.T) / v[None, :]
    div = (r * (g2 - 2 * gs - d / v[None, :])).sum(1) + (score * score).sum(1)
    return logp, score, div


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--x", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--means", required=True)
    p.add_argument("--vars", required=True)
    p.add_argument("--alpha", type=float, required=True)
    p.add_argument("--sigma2", type=float, required=True)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--logp-ref")
    a = p.parse_args()
    x, w, mu, var = (np.load(f) for f in (a.x, a.weights, a.means, a.vars))
    w = w / w.sum()
    best = float("inf")
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        logp, score, div = evaluate(x, w, mu, var, a.alpha, a.sigma2)
        best = min(best, time.perf_counter() - t0)
    print(f"seconds {best:.6g}")
    if a.logp_ref:
        print(f"max_logp_diff {np.abs(logp - np.load(a.logp_ref)).max():.3g}")


if __name__ == "__main__":
    main()

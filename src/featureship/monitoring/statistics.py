"""Two-sample tests of a live window against the reference sample.

Written here rather than taken from alibi-detect or Evidently: both are heavy (alibi-detect
pulls TensorFlow or a full PyTorch stack of its own, Evidently a reporting framework) for what
is a few lines of numpy; the per-column tests are scipy's (`ks_2samp`). Every p-value comes from
a permutation test, so it holds at any window size without asymptotic approximations (a χ²
approximation is poor when 77 intents meet a window of 200, most cells being tiny).
"""

from __future__ import annotations

from typing import Any

import numpy as np

PSI_BINS = 10


def rbf_bandwidth(reference: np.ndarray) -> float:
    """The median pairwise distance of the reference (the usual heuristic), fixed per profile."""
    sample = reference[:500]
    sq = np.sum(sample**2, 1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * sample @ sample.T, 0)
    upper = d2[np.triu_indices(len(sample), 1)]
    median = float(np.sqrt(np.median(upper))) if len(upper) else 1.0
    return median if median > 0 else 1.0


def _permutation_weights(n: int, m: int, permutations: int, rng: np.random.Generator) -> np.ndarray:
    """(n+m, B+1) ±weights: column 0 the observed split, then random relabellings."""
    total = n + m
    columns = [np.arange(total)] + [rng.permutation(total) for _ in range(permutations)]
    member = np.zeros((total, permutations + 1), dtype=bool)  # True = in the window
    for b, order in enumerate(columns):
        member[order[n:], b] = True
    return member


def mmd_test(reference: np.ndarray, window: np.ndarray, bandwidth: float, permutations: int,
             rng: np.random.Generator) -> dict[str, Any]:
    """Maximum mean discrepancy (RBF kernel) with a permutation p-value (Gretton et al. 2012)."""
    pooled = np.vstack([reference, window]).astype(np.float64)  # (N, D)
    sq = np.sum(pooled**2, 1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * pooled @ pooled.T, 0)
    kernel = np.exp(-d2 / (2 * bandwidth**2))  # (N, N)
    n, m = len(reference), len(window)
    member = _permutation_weights(n, m, permutations, rng)
    weights = np.where(member, -1.0 / m, 1.0 / n)  # (N, B+1): mean(X) - mean(Y) in feature space
    stats = np.sum(weights * (kernel @ weights), 0)  # (B+1,) biased MMD² per split
    observed, null = float(stats[0]), stats[1:]
    p_value = (1 + int(np.sum(null >= observed))) / (1 + len(null))
    return {"statistic": observed, "p_value": p_value, "null_quantiles": null}


def label_test(reference: np.ndarray, window: np.ndarray, n_labels: int, permutations: int,
               rng: np.random.Generator) -> dict[str, Any]:
    """χ² statistic of the 2×C table (reference vs window label counts), permutation p-value."""
    pooled = np.concatenate([reference, window])
    onehot = np.zeros((len(pooled), n_labels))
    onehot[np.arange(len(pooled)), pooled] = 1
    member = _permutation_weights(len(reference), len(window), permutations, rng)
    in_window = member.T.astype(np.float64) @ onehot  # (B+1, C)
    totals = onehot.sum(0)  # (C,)
    in_reference = totals - in_window
    n, m, total = len(reference), len(window), len(pooled)
    expected_w, expected_r = totals * m / total, totals * n / total
    seen = totals > 0
    stats = (((in_window - expected_w)[:, seen] ** 2) / expected_w[seen]).sum(1) + \
            (((in_reference - expected_r)[:, seen] ** 2) / expected_r[seen]).sum(1)
    observed, null = float(stats[0]), stats[1:]
    p_value = (1 + int(np.sum(null >= observed))) / (1 + len(null))
    return {"statistic": observed, "p_value": p_value, "null_quantiles": null,
            "reference_share": in_reference[0] / n, "window_share": in_window[0] / m}


def psi(reference: np.ndarray, window: np.ndarray) -> float:
    """Population stability index over the reference's deciles (0.1 notable, 0.25 large)."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, PSI_BINS + 1)))
    if len(edges) < 2:
        return 0.0
    ref = np.histogram(np.clip(reference, edges[0], edges[-1]), edges)[0] / len(reference)
    win = np.histogram(np.clip(window, edges[0], edges[-1]), edges)[0] / len(window)
    ref, win = np.clip(ref, 1e-4, None), np.clip(win, 1e-4, None)
    return float(np.sum((win - ref) * np.log(win / ref)))


def column_tests(reference: np.ndarray, window: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Kolmogorov-Smirnov (scipy) and PSI per column; missing values are left out per column."""
    from scipy.stats import ks_2samp

    columns = {}
    for j, name in enumerate(names or [f"feature {j}" for j in range(reference.shape[1])]):
        ref, win = reference[:, j], window[:, j]
        ref, win = ref[np.isfinite(ref)], win[np.isfinite(win)]
        if len(ref) < 2 or len(win) < 2:
            continue
        result = ks_2samp(ref, win)
        columns[name] = {"statistic": float(result.statistic), "p_value": float(result.pvalue),
                         "psi": psi(ref, win)}
    return columns

"""Ranking metrics for leave-one-out evaluation: HR@K, NDCG@K, MRR@K and catalogue coverage.

Each evaluated user has exactly one held-out item, so the metrics reduce to functions of that
item's 0-based rank among the candidates (the literature's and RecBole's definitions):
HR@K = [rank < K], NDCG@K = [rank < K] / log2(rank + 2), MRR@K = [rank < K] / (rank + 1).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

DEFAULT_KS = (5, 10, 20)


def target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """0-based rank of each row's target among that row's candidates.

    `scores` is (users, items) with excluded items (already seen) set to -inf; `targets` holds
    one item index per row. Ties with the target count against it (pessimistic), so a model
    that scores everything equally cannot look good by luck of the item order.

    >>> target_ranks(np.array([[0.1, 0.9, 0.5]]), np.array([2]))
    array([1])
    """
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    target_scores = scores[np.arange(len(targets)), targets]
    better = (scores > target_scores[:, None]).sum(axis=1)
    ties = (scores == target_scores[:, None]).sum(axis=1) - 1  # minus the target itself
    ranks = better + ties
    # a target scored -inf (excluded or unscorable) is never found
    ranks[~np.isfinite(target_scores)] = scores.shape[1]
    return ranks.astype(np.int64)


def metrics_from_ranks(ranks: np.ndarray, ks: Iterable[int] = DEFAULT_KS) -> dict[str, float]:
    """HR@K, NDCG@K and MRR@K averaged over users, from 0-based target ranks."""
    ranks = np.asarray(ranks, dtype=np.float64)
    out: dict[str, float] = {}
    if len(ranks) == 0:
        return out
    for k in ks:
        hit = ranks < k
        out[f"hr@{k}"] = float(hit.mean())
        out[f"ndcg@{k}"] = float(np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0).mean())
        out[f"mrr@{k}"] = float(np.where(hit, 1.0 / (ranks + 1.0), 0.0).mean())
    return out


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best items per row, best first (ties broken by lower item index)."""
    scores = np.asarray(scores)
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    return np.take_along_axis(part, order, axis=1)


def coverage(recommended: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one user's top-K list."""
    if n_items == 0:
        return 0.0
    return float(len(np.unique(np.asarray(recommended).ravel())) / n_items)

"""report.html sections of a recommender: protocol, metric by K, popularity bias of the lists."""

from __future__ import annotations

from typing import Any

import numpy as np

from featureship.evaluation.ranking import DEFAULT_KS
from featureship.evaluation.report import Section, new_figure, png_data_uri


def report_sections(metrics: dict[str, Any], refit: bool, picked: np.ndarray,
                    popularity: np.ndarray, users_shown: int) -> list[Section]:
    """`metrics`: every metric at every K; `picked`: item indices of a sample of users' top-10
    lists; `popularity`: interactions per item."""
    sections = [
        Section("Protocol", text=(
            "Leave-one-out per user: interactions sorted by time (ties broken by file order; without a "
            "time column, a seeded random order), the last one is test, the one before validation, the "
            "rest train. Every item the user has not interacted with is ranked, and every model gets "
            "the same history as input: the train items for validation, the train and validation "
            "items for test. The model was chosen on validation NDCG@10; test numbers were never "
            "used for a choice."
            + (" The saved model was then refit on all interactions, so these test numbers describe "
               "the validated model before the refit." if refit else ""))),
        _by_k(metrics),
        _popularity_bias(picked, popularity, users_shown),
    ]
    if "rating_rmse" in metrics:
        sections.append(Section("Rating prediction", text=(
            "Biased matrix factorisation on a seeded 80/20 split of the ratings; its weight decay "
            "was chosen on a validation part of the 80%."),
            table=(["metric", "value"], [[k, float(metrics[k])] for k in
                   ("rating_rmse", "rating_mae", "rating_rmse_global_mean") if k in metrics])))
    return sections


def _by_k(metrics: dict) -> Section:
    fig, ax = new_figure(6.4, 3.6)
    for name in ("hr", "ndcg", "mrr"):
        for part, style in (("valid", "--"), ("test", "-")):
            values = [metrics.get(f"{part}_{name}@{k}") for k in DEFAULT_KS]
            if all(v is not None for v in values):
                ax.plot(DEFAULT_KS, values, style, marker="o", label=f"{part} {name.upper()}")
    ax.set_xlabel("K (length of the list)")
    ax.set_ylabel("metric")
    ax.set_xticks(list(DEFAULT_KS))
    ax.legend(fontsize=8)
    rows = [[f"{n.upper()}@{k}", float(metrics.get(f"valid_{n}@{k}", np.nan)),
             float(metrics.get(f"test_{n}@{k}", np.nan))] for n in ("hr", "ndcg", "mrr") for k in DEFAULT_KS]
    return Section("Metric by K", image=png_data_uri(fig), table=(["metric", "validation", "test"], rows))


def _popularity_bias(picked: np.ndarray, popularity: np.ndarray, users_shown: int) -> Section:
    """Share of top-10 recommendations per item-popularity decile (decile 10 = most popular)."""
    n = len(popularity)
    order = np.argsort(np.argsort(popularity, kind="stable"), kind="stable")
    decile = np.minimum((order * 10) // max(n, 1), 9)  # 0 = least popular tenth of the catalogue
    fig, ax = new_figure(6.4, 3.4)
    shares = np.zeros(10)
    if len(picked):
        shares = np.bincount(decile[picked], minlength=10) / len(picked)
    ax.bar(np.arange(1, 11), shares, color="#3b6ea5", label="recommendations")
    ax.axhline(0.1, color="#999", linestyle="--", label="uniform over the catalogue")
    ax.set_xlabel("item popularity decile (1 = least, 10 = most interacted with)")
    ax.set_ylabel("share of top-10 slots")
    ax.legend(fontsize=8)
    return Section("Popularity bias of the recommendations", image=png_data_uri(fig), text=(
        f"Where the top-10 lists of {users_shown:,} users fall in the catalogue's popularity "
        f"ranking. {shares[-1]:.0%} of slots go to the most popular tenth of the items."))

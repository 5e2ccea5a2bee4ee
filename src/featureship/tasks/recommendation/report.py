"""report.html for a recommender: candidates, metric by K, popularity bias of the lists."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from featureship.evaluation.ranking import DEFAULT_KS
from featureship.evaluation.report import Section, html_report, new_figure, png_data_uri

if TYPE_CHECKING:
    from featureship.tasks.recommendation.fitted import RecommendationModel

_SAMPLE_USERS = 2000  # enough for a stable popularity-bias picture, cheap at save time


def write_report(model: RecommendationModel, path: Path) -> None:
    metrics = model.info.get("metrics", {})
    candidates = model.info.get("candidates", [])
    headline = {"model": model.family}
    for key in ("test_ndcg@10", "test_hr@10", "test_mrr@10", "test_coverage@10"):
        if key in metrics:
            headline[key.removeprefix("test_")] = float(metrics[key])
    sections = [
        Section("Protocol", text=(
            "Leave-one-out per user: interactions sorted by time (ties broken by file order; without a "
            "time column, a seeded random order), the last one is test, the one before validation, the "
            "rest train. Every item the user has not interacted with is ranked. The model was chosen on "
            "validation NDCG@10; test numbers were never used for a choice."
            + (" The saved model was refit on all interactions." if model.info.get("refit") else "")),
            notes=list(model.info.get("notes") or [])),
        _candidates(candidates, model.family),
        _by_k(metrics),
        _popularity_bias(model),
    ]
    if "rating_rmse" in metrics:
        sections.append(Section("Rating prediction", text=(
            "Biased matrix factorisation on a seeded 80/20 split of the ratings."),
            table=(["metric", "value"], [[k, float(metrics[k])] for k in
                   ("rating_rmse", "rating_mae", "rating_rmse_global_mean") if k in metrics])))
    page = html_report(f"Recommender: {model.family}", f"{len(model.users):,} users, "
                       f"{len(model.items):,} items, {len(model.history.items):,} interactions",
                       headline, sections)
    path.write_text(page)


def _candidates(candidates: list[dict], chosen: str) -> Section:
    header = ["model", "valid NDCG@10", "test NDCG@10", "test HR@10", "test MRR@10",
              "coverage@10", "train s"]
    rows = [[c["model"] + (" (chosen)" if c["model"] == chosen else ""), c["valid"]["ndcg@10"],
             c["test"]["ndcg@10"], c["test"]["hr@10"], c["test"]["mrr@10"],
             c["test"]["coverage@10"], float(c["train_seconds"])] for c in candidates]
    return Section("Candidates", text="Every model tried, on the same split.", table=(header, rows))


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


def _popularity_bias(model: RecommendationModel) -> Section:
    """Share of top-10 recommendations per item-popularity decile (decile 10 = most popular)."""
    users = model.users[:_SAMPLE_USERS]
    table = model.recommend_table(",".join(users), k=10) if users else None
    n = len(model.items)
    order = np.argsort(np.argsort(model.fallback, kind="stable"), kind="stable")
    decile = np.minimum((order * 10) // max(n, 1), 9)  # 0 = least popular tenth of the catalogue
    fig, ax = new_figure(6.4, 3.4)
    shares = np.zeros(10)
    if table is not None and len(table):
        picked = np.array([model.item_index[i] for i in table["item"]])
        shares = np.bincount(decile[picked], minlength=10) / len(picked)
    ax.bar(np.arange(1, 11), shares, color="#3b6ea5", label="recommendations")
    ax.axhline(0.1, color="#999", linestyle="--", label="uniform over the catalogue")
    ax.set_xlabel("item popularity decile (1 = least, 10 = most interacted with)")
    ax.set_ylabel("share of top-10 slots")
    ax.legend(fontsize=8)
    return Section("Popularity bias of the recommendations", image=png_data_uri(fig), text=(
        f"Where the top-10 lists of {len(users):,} users fall in the catalogue's popularity "
        f"ranking. {shares[-1]:.0%} of slots go to the most popular tenth of the items."))

"""RecommendationTask: validate, split leave-one-out, train candidates, pick on validation, refit."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from featureship.data.readers import Table
from featureship.errors import DataError, SettingsError
from featureship.evaluation.ranking import (
    DEFAULT_KS,
    coverage,
    metrics_from_ranks,
    target_ranks,
    top_k,
)
from featureship.manifest import Candidate, DataInfo, Manifest
from featureship.progress import Reporter
from featureship.tasks.recommendation.data import (
    Sequences,
    leave_one_out,
    load_interactions,
    load_titles,
)
from featureship.tasks.recommendation.fitted import RecommendationModel
from featureship.tasks.recommendation.models import (
    FAMILIES,
    Recommender,
    Validation,
    implicit_available,
    make,
)
from featureship.tasks.recommendation.rating import rating_metrics
from featureship.tasks.recommendation.settings import MODEL_NAMES, RecommendationSettings

# Headline numbers for the manifest, /v1/models and the report's cards (all K in metrics.json).
HEADLINE = ("test_ndcg@10", "test_hr@10", "test_mrr@10", "test_coverage@10", "valid_ndcg@10",
            "rating_rmse", "rating_mae")


def candidate_names(settings: RecommendationSettings, has_time: bool, progress: Reporter) -> list[str]:
    """The families to try: the one asked for, or every family that fits the data ('auto')."""
    if settings.model != "auto":
        if settings.model == "sasrec" and not has_time:
            raise SettingsError("--model sasrec learns from the order of interactions; give "
                                "--time-column (or choose popularity, itemknn, als or bpr).")
        return ["popularity", settings.model] if settings.model != "popularity" else ["popularity"]
    names = []
    for name in MODEL_NAMES:
        if name in ("als", "bpr") and not implicit_available():
            progress.note(f"{name} skipped: install the recsys extra (pip install 'featureship[recsys]').")
            continue
        if FAMILIES[name].needs_time and not has_time:
            progress.note(f"{name} skipped: it needs --time-column (the order of interactions).")
            continue
        names.append(name)
    return names


def evaluate_split(model: Recommender, histories: Sequences, users: np.ndarray,
                   targets: np.ndarray, chunk: int = 1024) -> dict[str, float]:
    """Leave-one-out metrics: rank the target among every item not in the user's history.

    Users are scored in chunks so a large catalogue never needs a users x items matrix at once.
    """
    started = time.perf_counter()
    ranks, tops = [], []
    for start in range(0, len(users), chunk):
        batch = users[start : start + chunk]
        inputs = Sequences.from_lists([histories[u] for u in batch])
        scores = model.score(inputs).astype(np.float64)
        for j in range(len(inputs)):
            scores[j, inputs[j]] = -np.inf
        ranks.append(target_ranks(scores, targets[start : start + chunk]))
        tops.append(top_k(scores, 10))
    seconds = time.perf_counter() - started
    metrics = metrics_from_ranks(np.concatenate(ranks), DEFAULT_KS)
    metrics["coverage@10"] = coverage(np.concatenate(tops), scores.shape[1])
    metrics["rank_seconds"] = seconds
    return metrics


def fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of the table's contents (column names and values, not the file bytes)."""
    digest = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


class RecommendationTask:
    name: ClassVar[str] = "recommendation"
    settings_class: ClassVar[type[RecommendationSettings]] = RecommendationSettings
    model_class: ClassVar[type[RecommendationModel]] = RecommendationModel
    # settings that name columns of the training table (the console offers its columns)
    data_columns: ClassVar[tuple[str, ...]] = ("user_column", "item_column", "time_column", "rating_column")

    def fit(self, data: Table, settings: RecommendationSettings, progress: Reporter,
            validation: Table | None = None, output: Path | None = None) -> RecommendationModel:
        if validation is not None:
            raise SettingsError("Recommendation validates on each user's own held-out interactions "
                                "(leave-one-out); do not pass a separate validation table.")
        started = time.perf_counter()
        interactions = load_interactions(data, settings)
        for note in interactions.notes:
            progress.note(note)
        titles = load_titles(settings)
        split = leave_one_out(interactions.sequences)
        if len(split.valid_users) == 0:
            raise DataError(f"{data.name}: no user has 3 or more interactions, so nothing can be held "
                            "out for validation and test. Each evaluated user needs at least 3.")
        skipped = len(interactions.users) - len(split.valid_users)
        if skipped:
            progress.note(f"{skipped} user(s) with fewer than 3 interactions are used for training "
                          "only (leave-one-out needs one item for validation and one for test).")
        n_items = interactions.n_items
        valid = Validation(split.valid_users, split.valid_items)
        candidates: list[dict[str, Any]] = []
        models: dict[str, Recommender] = {}
        for name in candidate_names(settings, interactions.has_time, progress):
            model = make(name)
            started = time.perf_counter()
            model.fit(split.train, n_items, settings, progress, valid)
            train_seconds = time.perf_counter() - started
            with progress.step(f"{name}: ranking every item for validation and test users"):
                valid_metrics = evaluate_split(model, split.train, split.valid_users, split.valid_items)
                test_metrics = evaluate_split(model, split.test_history, split.test_users, split.test_items)
            candidates.append({"model": name, "train_seconds": round(train_seconds, 2),
                               "valid": valid_metrics, "test": test_metrics,
                               "details": _details(model)})
            models[name] = model
        chosen = max(candidates, key=lambda c: c["valid"]["ndcg@10"])
        progress.info(f"chosen: {chosen['model']} (validation NDCG@10 {chosen['valid']['ndcg@10']:.4f})")
        final = models[chosen["model"]]
        if settings.refit:
            final = self._refit(chosen, final, interactions.sequences, n_items, settings, progress)
        metrics = {f"valid_{k}": v for k, v in chosen["valid"].items()}
        metrics |= {f"test_{k}": v for k, v in chosen["test"].items()}
        if interactions.ratings is not None:
            with progress.step("rating prediction: biased matrix factorisation, 80/20 split"):
                metrics |= rating_metrics(interactions.ratings, len(interactions.users), n_items,
                                          settings)
        fallback = np.bincount(interactions.sequences.items, minlength=n_items).astype(np.float64)
        model = RecommendationModel(settings, chosen["model"], final, interactions.users,
                                    interactions.items, interactions.sequences, fallback, titles,
                                    metrics)
        headline = [k for k in HEADLINE if k in metrics]
        model.manifest = Manifest(
            task=self.name, seed=settings.seed, settings=settings.model_dump(),
            input_schema={"type": "interactions", "user_column": settings.user_column,
                          "item_column": settings.item_column, "time_column": settings.time_column,
                          "rating_column": settings.rating_column,
                          "examples": _examples(interactions, fallback)},
            metrics={k: float(metrics[k]) for k in headline},
            metrics_on="leave-one-out test split (each user's last interaction)"
                       + (", measured on the validated model before it was refit on all "
                          "interactions" if settings.refit else ""),
            model={"family": chosen["model"], **_details(final)},
            chosen=chosen["model"],
            candidates=[Candidate(name=c["model"], validation=_numbers(c["valid"]),
                                  test=_numbers(c["test"]), seconds=c["train_seconds"],
                                  details=c["details"]) for c in candidates],
            training={"seconds_total": round(time.perf_counter() - started, 1),
                      "refit": settings.refit},
            data=DataInfo(source=str(data.path), fingerprint=fingerprint(data.frame),
                          train_rows=int(len(split.train.items)),
                          validation_rows=len(split.valid_users), test_rows=len(split.test_users),
                          validation="each user's second-to-last interaction",
                          notes=list(progress.notes),
                          extra={"users": len(interactions.users), "items": n_items,
                                 "interactions": int(len(interactions.sequences.items))}),
        )
        return model

    def _refit(self, chosen: dict[str, Any], validated: Recommender, sequences: Sequences,
               n_items: int, settings: RecommendationSettings, progress: Reporter) -> Recommender:
        """Retrain the chosen family on every interaction.

        SASRec continues the validated networks for `refit_epochs` (warm) or retrains from
        scratch for the validated epoch count; the other families fit in seconds and refit fully.
        """
        name = chosen["model"]
        progress.info(f"refitting {name} on all interactions")
        if name == "sasrec" and settings.sasrec_refit == "warm":
            validated.continue_training(sequences, settings, settings.refit_epochs, progress)
            return validated
        if name == "sasrec":
            epochs = int(chosen["details"].get("best_epoch") or settings.epochs)
            settings = settings.model_copy(update={"epochs": epochs})
        model = make(name)
        model.fit(sequences, n_items, settings, progress, None)
        return model


def _examples(interactions: Any, popularity: np.ndarray) -> dict[str, Any]:
    """Ids from this data for the API docs' example requests."""
    popular = np.argsort(-popularity, kind="stable")[:2]
    return {"user": interactions.users[0], "item": interactions.items[int(popular[0])],
            "history": [interactions.items[int(i)] for i in popular]}


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}


def _details(model: Recommender) -> dict[str, Any]:
    config = model.config()
    return {k: v for k, v in config.items() if k in ("best_epoch", "epochs_run", "curve", "train_seconds")}

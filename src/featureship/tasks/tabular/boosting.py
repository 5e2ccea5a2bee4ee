"""LightGBM (the `tabular` extra): early stopping on validation and a small settings search
within the time budget; stored in LightGBM's own text model format, never pickled."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from featureship.errors import MissingExtraError
from featureship.progress import Reporter

MAX_ROUNDS = 3000
EARLY_STOP = 50
LEARNING_RATE = 0.05
# Tried in this order until the budget runs out: LightGBM's defaults (slower rate) first,
# then smaller / larger trees with more regularisation — the settings that matter most.
SEARCH = (
    {"num_leaves": 31, "min_data_in_leaf": 20, "feature_fraction": 0.9, "lambda_l2": 0.0},
    {"num_leaves": 15, "min_data_in_leaf": 10, "feature_fraction": 0.8, "lambda_l2": 1.0},
    {"num_leaves": 63, "min_data_in_leaf": 30, "feature_fraction": 0.7, "lambda_l2": 1.0},
    {"num_leaves": 7, "min_data_in_leaf": 5, "feature_fraction": 0.6, "lambda_l2": 5.0},
    {"num_leaves": 31, "min_data_in_leaf": 50, "feature_fraction": 0.5, "lambda_l2": 10.0},
)


def import_lightgbm() -> Any:
    try:
        import lightgbm
    except ImportError as exc:
        raise MissingExtraError("lightgbm", "tabular", "The LightGBM tabular model") from exc
    return lightgbm


def _threads(x: np.ndarray) -> int:
    # Thread start-up and synchronisation cost more than they save on small tables (and badly
    # so on a busy machine); LightGBM's default (all cores) pays off from tens of thousands of rows.
    return 1 if x.shape[0] * max(x.shape[1], 1) < 2_000_000 else 0


def _objective(problem: str, n_classes: int) -> dict[str, Any]:
    if problem == "regression":
        return {"objective": "regression", "metric": "l2"}
    if n_classes == 2:
        return {"objective": "binary", "metric": "binary_logloss"}
    return {"objective": "multiclass", "num_class": n_classes, "metric": "multi_logloss"}


@dataclass
class Trial:
    params: dict[str, Any]
    rounds: int
    score: float  # validation loss (lower is better)
    seconds: float
    booster: Any = None  # trained with early stopping; its first `rounds` trees are the model


def trial_params(settings: dict[str, Any], problem: str, n_classes: int, seed: int, threads: int) -> dict[str, Any]:
    """LightGBM parameters of one SEARCH setting (the same locally and on Ray)."""
    return {**_objective(problem, n_classes), **settings, "learning_rate": LEARNING_RATE,
            "bagging_fraction": 0.9, "bagging_freq": 1, "seed": seed, "deterministic": True,
            "verbose": -1, "num_threads": threads, "min_data_per_group": 5, "cat_smooth": 10.0}


def train_trial(params: dict[str, Any], x_train: np.ndarray, y_train: np.ndarray, w_train: np.ndarray | None,
                x_valid: np.ndarray, y_valid: np.ndarray, categorical: list[int]) -> tuple[Any, int, float]:
    """One setting trained with early stopping on validation: (booster, best rounds, validation loss)."""
    lgb = import_lightgbm()
    train = lgb.Dataset(x_train, y_train, weight=w_train, categorical_feature=categorical, free_raw_data=False)
    valid = lgb.Dataset(x_valid, y_valid, reference=train, categorical_feature=categorical)
    booster = lgb.train(params, train, num_boost_round=MAX_ROUNDS, valid_sets=[valid],
                        callbacks=[lgb.early_stopping(EARLY_STOP, verbose=False)])
    return booster, max(booster.best_iteration, 1), float(booster.best_score["valid_0"][params["metric"]])


def search(x_train: np.ndarray, y_train: np.ndarray, w_train: np.ndarray | None, x_valid: np.ndarray,
           y_valid: np.ndarray, problem: str, n_classes: int, categorical: list[int],
           budget_s: float, seed: int, progress: Reporter) -> list[Trial]:
    """Train each setting of SEARCH with early stopping on validation, within `budget_s`."""
    import_lightgbm()
    started, trials = time.monotonic(), []
    with progress.step("LightGBM settings search", total=len(SEARCH)) as step:
        for settings in SEARCH:
            if trials and time.monotonic() - started > budget_s:
                progress.note(f"LightGBM search stopped after {len(trials)} of {len(SEARCH)} "
                              "settings: the time budget was spent.")
                break
            t0 = time.monotonic()
            params = trial_params(settings, problem, n_classes, seed, _threads(x_train))
            booster, rounds, score = train_trial(params, x_train, y_train, w_train, x_valid, y_valid, categorical)
            trials.append(Trial(params, rounds, score, time.monotonic() - t0, booster))
            step.advance()
    return trials


@dataclass
class BoostedModel:
    problem: str
    n_classes: int
    booster: Any  # lightgbm.Booster
    params: dict[str, Any]
    rounds: int

    kind = "lightgbm"

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, w: np.ndarray | None, problem: str, n_classes: int,
            categorical: list[int], params: dict[str, Any], rounds: int) -> BoostedModel:
        lgb = import_lightgbm()
        data = lgb.Dataset(x, y, weight=w, categorical_feature=categorical)
        return cls(problem, n_classes, lgb.train(params, data, num_boost_round=rounds), params, rounds)

    @classmethod
    def from_trial(cls, trial: Trial, problem: str, n_classes: int) -> BoostedModel:
        return cls(problem, n_classes, trial.booster, trial.params, trial.rounds)

    def raw(self, x: np.ndarray) -> np.ndarray:
        out = np.asarray(self.booster.predict(x, raw_score=True, num_iteration=self.rounds))
        return out.reshape(len(x), -1)

    def contributions(self, x: np.ndarray, groups: np.ndarray, n_groups: int,
                      rows_class: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """TreeSHAP (LightGBM's `pred_contrib`, exact for trees) merged per input column."""
        raw = np.asarray(self.booster.predict(x, pred_contrib=True, num_iteration=self.rounds))  # (N, K·(F+1))
        width = x.shape[1] + 1
        blocks = raw.reshape(len(x), -1, width)  # (N, K, F+1); K = 1 unless multiclass
        binary = self.problem == "classification" and self.n_classes == 2
        picked = blocks[np.arange(len(x)), 0 if blocks.shape[1] == 1 else rows_class]  # (N, F+1)
        sign = np.where(binary & (rows_class == 0), -1.0, 1.0)[:, None]
        picked = picked * sign
        merge = np.zeros((width - 1, n_groups))
        merge[np.arange(width - 1), groups] = 1.0
        contrib = picked[:, :-1] @ merge
        base = picked[:, -1]
        return contrib, base, base + contrib.sum(1)

    def importance(self) -> np.ndarray:
        return np.asarray(self.booster.feature_importance(importance_type="gain", iteration=self.rounds), dtype=np.float64)

    def to_string(self) -> str:
        return self.booster.model_to_string(num_iteration=self.rounds)

    @classmethod
    def from_string(cls, text: str, problem: str, n_classes: int, params: dict[str, Any],
                    rounds: int) -> BoostedModel:
        lgb = import_lightgbm()
        return cls(problem, n_classes, lgb.Booster(model_str=text), params, rounds)

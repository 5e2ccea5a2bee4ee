"""ALS and BPR matrix factorisation through the `implicit` library (the `recsys` extra).

Training goes to `implicit`; scoring is a plain numpy dot product of the factors we keep, so
a saved bundle needs only the two factor matrices (safetensors) and loads without `implicit`.
Anonymous sessions are folded in: ALS solves its own user step for the history (the same
least-squares problem `recalculate_user=True` solves); BPR averages the history's item vectors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from featureship.errors import MissingExtraError
from featureship.progress import Reporter
from featureship.tasks.recommendation.data import Sequences
from featureship.tasks.recommendation.models.base import Validation, cosine_rows
from featureship.tasks.recommendation.settings import RecommendationSettings


def implicit_available() -> bool:
    from importlib.util import find_spec

    return find_spec("implicit") is not None


def _fit_implicit(build: Callable[[], Any], user_items: Any) -> Any:
    # implicit warns (and slows down) when BLAS runs multi-threaded under its own threads;
    # it checks when the model is built, so build and fit inside the limit
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        model = build()
        model.fit(user_items, show_progress=False)
    return model


class _Factorization:
    name: ClassVar[str]
    needs_time: ClassVar[bool] = False

    def __init__(self, user_factors: np.ndarray | None = None,
                 item_factors: np.ndarray | None = None, alpha: float = 1.0,
                 regularization: float = 0.0) -> None:
        self.user_factors = user_factors if user_factors is not None else np.zeros((0, 0), np.float32)
        self.item_factors = item_factors if item_factors is not None else np.zeros((0, 0), np.float32)
        self.alpha, self.regularization = alpha, regularization

    def score(self, histories: Sequences, users: np.ndarray) -> np.ndarray:
        vectors = np.zeros((len(histories), self.item_factors.shape[1]), np.float32)
        known = users >= 0
        vectors[known] = self.user_factors[users[known]]
        for j in np.flatnonzero(~known):
            vectors[j] = self.fold_in(histories[j])
        return vectors @ self.item_factors.T

    def fold_in(self, history: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def similar(self, item: int) -> np.ndarray:
        return cosine_rows(self.item_factors, item)

    def tensors(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def config(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "regularization": self.regularization}

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], config: dict[str, Any]) -> _Factorization:
        return cls(tensors["user_factors"], tensors["item_factors"], **config)


class ALS(_Factorization):
    name: ClassVar[str] = "als"

    def fit(self, train: Sequences, n_items: int, settings: RecommendationSettings,
            progress: Reporter, valid: Validation | None = None) -> None:
        if not implicit_available():
            raise MissingExtraError("implicit", "recsys", "The als/bpr models")
        from implicit.cpu.als import AlternatingLeastSquares

        model = _fit_implicit(lambda: AlternatingLeastSquares(
            factors=settings.factors, regularization=settings.als_regularization,
            alpha=settings.als_alpha, iterations=settings.als_iterations,
            random_state=settings.seed, num_threads=1,
        ), train.csr(n_items))
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)
        self.alpha, self.regularization = settings.als_alpha, settings.als_regularization

    def fold_in(self, history: np.ndarray) -> np.ndarray:
        v = self.item_factors.astype(np.float64)  # (items, factors)
        vh = v[history]  # (len(history), factors)
        a = v.T @ v + self.alpha * vh.T @ vh + self.regularization * np.eye(v.shape[1])
        b = (1.0 + self.alpha) * vh.sum(axis=0)
        return np.linalg.solve(a, b).astype(np.float32)


class BPR(_Factorization):
    name: ClassVar[str] = "bpr"

    def fit(self, train: Sequences, n_items: int, settings: RecommendationSettings,
            progress: Reporter, valid: Validation | None = None) -> None:
        if not implicit_available():
            raise MissingExtraError("implicit", "recsys", "The als/bpr models")
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        model = _fit_implicit(lambda: BayesianPersonalizedRanking(
            factors=settings.factors, learning_rate=settings.bpr_learning_rate,
            regularization=settings.bpr_regularization, iterations=settings.bpr_iterations,
            random_state=settings.seed, num_threads=1,
        ), train.csr(n_items))
        # implicit appends an item-bias column to the item factors and a 1 to the user factors
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)

    def fold_in(self, history: np.ndarray) -> np.ndarray:
        vector = self.item_factors[history].mean(axis=0)
        vector[-1] = 1.0  # the bias column
        return vector

"""Item-kNN: cosine similarity between items' user vectors, shrunk towards 0 for rare pairs.

sim(i, j) = |U_i ∩ U_j| / (sqrt(|U_i| |U_j|) + shrinkage), keeping each item's top
`knn_neighbours`. A user's score for j is the sum of sim(i, j) over the items i they have seen.
Written with scipy because implicit's CosineRecommender has no shrinkage and no fold-in of
anonymous histories; the catalogues this targets fit a dense item x item matrix.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from featureship.progress import Reporter
from featureship.tasks.recommendation.data import Sequences
from featureship.tasks.recommendation.models.base import Validation
from featureship.tasks.recommendation.settings import RecommendationSettings


class ItemKNN:
    name: ClassVar[str] = "itemknn"
    needs_time: ClassVar[bool] = False

    def __init__(self, similarity: np.ndarray | None = None) -> None:
        self.similarity = similarity if similarity is not None else np.zeros((0, 0), np.float32)

    def fit(self, train: Sequences, n_items: int, settings: RecommendationSettings,
            progress: Reporter, valid: Validation | None = None) -> None:
        x = train.csr(n_items)  # (users, items), binary
        co = (x.T @ x).toarray().astype(np.float32)  # (items, items) co-occurrence counts
        support = np.diag(co).copy()
        np.fill_diagonal(co, 0.0)
        sim = co / (np.sqrt(np.outer(support, support)) + settings.knn_shrinkage + 1e-9)
        k = min(settings.knn_neighbours, n_items - 1)
        if 0 < k < n_items - 1:  # keep each item's k strongest neighbours (columns = targets)
            cut = np.partition(sim, n_items - k, axis=0)[n_items - k]
            sim[sim < cut[None, :]] = 0.0
        self.similarity = sim.astype(np.float32)

    def score(self, histories: Sequences) -> np.ndarray:
        x = histories.csr(self.similarity.shape[0])
        return np.asarray(x @ self.similarity)

    def contributions(self, history: np.ndarray, targets: np.ndarray) -> np.ndarray:
        # exact: the score is the sum of the history items' similarities to the target
        return self.similarity[np.ix_(history, targets)].astype(np.float64)

    def similar(self, item: int) -> np.ndarray:
        return self.similarity[item].copy()

    def tensors(self) -> dict[str, np.ndarray]:
        return {"similarity": self.similarity}

    def config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], config: dict[str, Any]) -> ItemKNN:
        return cls(tensors["similarity"])

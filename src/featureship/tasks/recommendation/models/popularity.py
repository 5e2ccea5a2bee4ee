"""Popularity: recommend what most users interacted with. The baseline to beat."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from featureship.progress import Reporter
from featureship.tasks.recommendation.data import Sequences
from featureship.tasks.recommendation.models.base import Validation
from featureship.tasks.recommendation.settings import RecommendationSettings


class Popularity:
    name: ClassVar[str] = "popularity"
    needs_time: ClassVar[bool] = False

    def __init__(self, counts: np.ndarray | None = None) -> None:
        self.counts = counts if counts is not None else np.zeros(0, np.float32)

    def fit(self, train: Sequences, n_items: int, settings: RecommendationSettings,
            progress: Reporter, valid: Validation | None = None) -> None:
        self.counts = np.bincount(train.items, minlength=n_items).astype(np.float32)

    def score(self, histories: Sequences) -> np.ndarray:
        # share of users, so the scores read as "how popular" and stay comparable across data
        total = max(float(self.counts.sum()), 1.0)
        return np.tile(self.counts / total, (len(histories), 1))

    def contributions(self, history: np.ndarray, targets: np.ndarray) -> None:
        return None  # the same list for everyone: no history item is a reason

    def similar(self, item: int) -> np.ndarray:
        return self.counts.copy()

    def tensors(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts}

    def config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], config: dict[str, Any]) -> Popularity:
        return cls(tensors["counts"])

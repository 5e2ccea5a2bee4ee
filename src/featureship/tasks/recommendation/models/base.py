"""The one small protocol every recommender family implements.

A recommender works on item *indices* (0..n_items-1) and user indices of the data it was
fitted on; id mapping, seen-item filtering, fallbacks and titles live in the FittedModel.

    fit(train, n_items, settings, progress, valid)   learn from per-user sequences
    score(histories)                                 (len(histories), n_items) scores
    similar(item)                                    (n_items,) "more like this" scores
    tensors() / from_tensors(tensors, config)        safetensors round trip (no pickle)

A model scores from the history it is given and nothing else, known user or anonymous
session alike, so every family gets the same information at validation, test and serving.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from featureship.progress import Reporter
from featureship.tasks.recommendation.data import Sequences
from featureship.tasks.recommendation.settings import RecommendationSettings


@dataclass
class Validation:
    """Validation targets a model may use for early stopping (SASRec does)."""

    users: np.ndarray
    items: np.ndarray


class Recommender(Protocol):
    name: ClassVar[str]
    needs_time: ClassVar[bool]  # only meaningful when histories are time-ordered

    def fit(self, train: Sequences, n_items: int, settings: RecommendationSettings,
            progress: Reporter, valid: Validation | None = None) -> None: ...

    def score(self, histories: Sequences) -> np.ndarray: ...

    def similar(self, item: int) -> np.ndarray: ...

    def contributions(self, history: np.ndarray, targets: np.ndarray) -> np.ndarray | None:
        """(len(history), len(targets)): how much each history item adds to each target's
        score; None when the score has no personal part (popularity)."""
        ...

    def tensors(self) -> dict[str, np.ndarray]: ...

    def config(self) -> dict[str, Any]:
        """JSON-ready facts needed to rebuild the model (and worth showing: best epoch, ...)."""
        ...

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], config: dict[str, Any]) -> Recommender: ...


def cosine_rows(matrix: np.ndarray, row: int) -> np.ndarray:
    """Cosine similarity of one row of `matrix` to every row (zero rows score 0)."""
    norms = np.linalg.norm(matrix, axis=1)
    norms[norms == 0] = 1.0
    return (matrix @ matrix[row]) / (norms * norms[row])

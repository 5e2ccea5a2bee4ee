"""Recommender families behind one protocol (see `base.py`), built by name."""

from __future__ import annotations

from modelship.tasks.recommendation.models.base import Recommender, Validation
from modelship.tasks.recommendation.models.factorization import ALS, BPR, implicit_available
from modelship.tasks.recommendation.models.itemknn import ItemKNN
from modelship.tasks.recommendation.models.popularity import Popularity
from modelship.tasks.recommendation.models.sasrec import SASRec

FAMILIES: dict[str, type] = {
    "popularity": Popularity,
    "itemknn": ItemKNN,
    "als": ALS,
    "bpr": BPR,
    "sasrec": SASRec,
}


def make(name: str) -> Recommender:
    return FAMILIES[name]()


def restore(name: str, tensors: dict, config: dict) -> Recommender:
    return FAMILIES[name].from_tensors(tensors, config)


__all__ = ["FAMILIES", "Recommender", "Validation", "implicit_available", "make", "restore"]

"""Recommender families behind one protocol (see `base.py`), built by name."""

from __future__ import annotations

from featureship.tasks.recommendation.models.base import Recommender, Validation
from featureship.tasks.recommendation.models.factorization import ALS, BPR, implicit_available
from featureship.tasks.recommendation.models.itemknn import ItemKNN
from featureship.tasks.recommendation.models.popularity import Popularity
from featureship.tasks.recommendation.models.sasrec import SASRec

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

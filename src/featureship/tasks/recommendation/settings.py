"""Settings of the recommendation task: columns, the model family, and its hyperparameters."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from featureship.config import TaskSettings

ModelName = Literal["auto", "popularity", "itemknn", "als", "bpr", "sasrec"]
MODEL_NAMES: tuple[str, ...] = ("popularity", "itemknn", "als", "bpr", "sasrec")


class RecommendationSettings(TaskSettings):
    """Everything `featureship train recommendation` accepts; stored in the manifest."""

    user_column: str
    item_column: str
    time_column: str | None = None
    rating_column: str | None = None
    model: ModelName = "auto"
    items: str | None = None  # optional item metadata file (for titles)
    item_id_column: str | None = None
    item_title_column: str | None = None
    refit: bool = True  # refit the chosen model on all interactions before saving

    # item-kNN
    knn_neighbours: int = Field(100, ge=1)
    knn_shrinkage: float = Field(10.0, ge=0)
    # matrix factorisation (implicit ALS / BPR); defaults = best of the MovieLens grid
    factors: int = Field(64, ge=2)
    als_regularization: float = Field(1.0, ge=0)
    als_alpha: float = Field(5.0, gt=0)
    als_iterations: int = Field(15, ge=1)
    bpr_learning_rate: float = Field(0.01, gt=0)
    bpr_regularization: float = Field(0.01, ge=0)
    bpr_iterations: int = Field(100, ge=1)
    # SASRec
    max_len: int = Field(200, ge=2)
    hidden: int = Field(64, ge=8)
    layers: int = Field(2, ge=1)
    heads: int = Field(1, ge=1)
    dropout: float = Field(0.3, ge=0, lt=1)
    learning_rate: float = Field(1e-3, gt=0)
    batch_size: int = Field(32, ge=1)
    epochs: int = Field(200, ge=1)
    ema_decay: float = Field(0.0, ge=0, lt=1)  # weight averaging per step; 0 = off
    patience: int = Field(10, ge=1)  # epochs without a better validation NDCG@10
    # which epoch to keep: the best on validation NDCG@10, or the latest within one standard
    # error of it (chosen on validation only: benchmarks/tune_sasrec.py)
    epoch_rule: Literal["best", "within-1se"] = "within-1se"
    # refit on all interactions: continue the validated networks for `refit_epochs` ("warm"),
    # or train new ones for the validated epoch count ("scratch")
    sasrec_refit: Literal["warm", "scratch"] = "warm"
    refit_epochs: int = Field(5, ge=1)
    ensemble: int = Field(2, ge=1, le=8)  # SASRec networks from consecutive seeds, averaged
    time_budget_s: float = Field(280.0, gt=0)  # wall-clock cap on one SASRec fit (all members)
    # rating prediction (biased MF), only with a rating column
    rating_factors: int = Field(16, ge=1)
    rating_epochs: int = Field(300, ge=1)  # full-batch Adam steps
    rating_learning_rate: float = Field(0.02, gt=0)
    rating_weight_decay: float | None = Field(None, ge=0)  # None: chosen on validation

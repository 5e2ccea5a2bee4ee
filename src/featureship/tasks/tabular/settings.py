"""Settings of the tabular task (classification or regression on a table); stored in the manifest."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from featureship.config import TaskSettings


class TabularSettings(TaskSettings):
    """Everything `featureship train tabular` accepts; every field has a CLI option."""

    label_column: str = Field(description="Column holding the value to predict.")
    problem: Literal["auto", "classification", "regression"] = Field(
        "auto", description="auto: regression for a numeric label with many distinct values, "
        "classification otherwise.")
    ignore_columns: list[str] = Field(default_factory=list, description="Columns not used as features.")
    model: Literal["auto", "lightgbm", "linear"] = Field(
        "auto", description="auto: train both, keep the better on validation.")
    class_weight: Literal["none", "balanced"] = Field(
        "none", description="balanced: weigh each class inversely to its frequency.")
    time_budget_minutes: float = Field(
        5.0, gt=0, description="The LightGBM settings search stops starting new trials after it.")
    validation_fraction: float = Field(0.2, gt=0, lt=0.9)
    refit: bool = Field(True, description="Refit the chosen model on train + validation before saving.")
    max_categories: int = Field(100, ge=2, description="Most categories kept per column; rarer → 'other'.")

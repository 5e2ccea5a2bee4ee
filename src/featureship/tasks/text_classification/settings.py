"""Settings of the text-classification task (serialised into the bundle manifest)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from featureship.config import TaskSettings
from featureship.privacy.settings import DPSettings, PiiSettings


class TextClassificationSettings(TaskSettings, PiiSettings, DPSettings):
    """How to train a text classifier; every field has a CLI option of the same name."""

    text_column: str = Field(description="Column holding the text.")
    label_column: str = Field(description="Column holding the class label.")
    mode: Literal["auto", "head", "finetune"] = Field(
        "auto",
        description="head: frozen encoder + trained head (fast); finetune: train the whole "
        "encoder; auto: try the fast candidates, fine-tune too when it fits the time budget, "
        "keep the best on validation macro-F1.",
    )
    encoder: str | None = Field(None, description="Local HF model folder or hub id (default MiniLM).")
    epochs: int = Field(8, ge=1, le=100, description="Fine-tuning epochs (upper bound; early stopping).")
    batch_size: int = Field(32, ge=1, le=1024)
    learning_rate: float = Field(1e-4, gt=0, description="Encoder learning rate when fine-tuning.")
    head_learning_rate: float = Field(2e-3, gt=0, description="Classifier head learning rate.")
    label_smoothing: float = Field(0.1, ge=0, lt=1)
    max_length: int = Field(128, ge=8, le=512, description="Tokens per text; longer texts are cut.")
    validation_fraction: float = Field(0.2, gt=0, lt=0.9)
    patience: int = Field(2, ge=1, description="Epochs without macro-F1 gain before stopping.")
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    time_budget_minutes: float = Field(
        20, gt=0, description="auto fine-tunes only if the estimate fits; fine-tuning stops at it."
    )
    resume: bool = Field(False, description="Continue an interrupted fine-tuning run.")

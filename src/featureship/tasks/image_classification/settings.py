"""Settings of the image-classification task (serialised into the bundle manifest)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from featureship.config import TaskSettings


class ImageClassificationSettings(TaskSettings):
    """How to train an image classifier; every field has a CLI option of the same name."""

    image_column: str = Field("path", description="Table column with image paths (folders: 'path').")
    label_column: str = Field("label", description="Table column with the class (folders: the sub-folder).")
    mode: Literal["auto", "head", "finetune", "scratch"] = Field(
        "auto",
        description="head: frozen pretrained backbone + linear head (seconds); finetune: train the "
        "backbone too; scratch: a compact residual CNN from random weights; auto: the head, "
        "then the CNN and fine-tuning when they fit the time budget, best on validation macro-F1.",
    )
    backbone: str | None = Field(None, description="Local Hugging Face image-model folder; default "
                                 "EfficientNet-Lite0 (ImageNet).")
    image_size: int | None = Field(None, ge=8, le=1024, description="Side in pixels images are "
                                   "resized to; default 32 for the CNN (at least the images' median "
                                   "side up to 64), 224 for the backbone.")
    epochs: int = Field(30, ge=1, le=500, description="Upper bound on epochs (early stopping).")
    finetune_epochs: int = Field(5, ge=1, le=100)
    batch_size: int = Field(64, ge=1, le=2048)
    learning_rate: float = Field(3e-3, gt=0, description="AdamW rate for the CNN.")
    finetune_learning_rate: float = Field(3e-4, gt=0, description="AdamW rate for the backbone.")
    weight_decay: float = Field(5e-4, ge=0)
    label_smoothing: float = Field(0.1, ge=0, lt=1)
    patience: int = Field(5, ge=1, description="Epochs without macro-F1 gain before stopping.")
    widths: list[int] = Field([32, 64, 128], min_length=1, max_length=6, description="CNN stage widths.")
    flip: bool = Field(True, description="Random horizontal flips (turn off for digits and text).")
    rotation_degrees: float = Field(10.0, ge=0, le=45)
    crop_scale: float = Field(0.8, gt=0.1, le=1.0, description="Smallest area share a random crop keeps.")
    validation_fraction: float = Field(0.2, gt=0, lt=0.9)
    precision: Literal["auto", "bf16", "fp32"] = Field(
        "auto", description="Network training arithmetic: auto is bf16 autocast where the CPU has "
        "native bf16 (AVX512-BF16, AMX) or on a GPU, fp32 otherwise.")
    time_budget_minutes: float = Field(10, gt=0, description="auto trains a candidate only if its "
                                       "estimate fits; training stops at it.")
    skip_bad_images: bool = Field(False, description="Train without unreadable images (counted) "
                                  "instead of stopping with their list.")
    resume: bool = Field(False, description="Continue an interrupted run from its last checkpoint.")

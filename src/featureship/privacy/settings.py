"""Privacy settings any task's settings can inherit (they serialise into the manifest).

    class MySettings(TaskSettings, PiiSettings, DPSettings): ...
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class PiiSettings(BaseModel):
    """Text tasks: redact PII before text reaches the model (featureship.privacy.pii)."""

    redact_pii: bool = Field(
        False, description="Replace e-mails, phones, payment cards, IBANs, IPs, URLs with credentials "
        "and national ids by <TYPE> placeholders before training, prediction and serving.")


class DPSettings(BaseModel):
    """Differentially private training of what the task trains (DP-SGD through Opacus)."""

    dp_epsilon: float | None = Field(None, gt=0, le=100, description="Target ε of DP-SGD; None: not private.")
    dp_delta: float | None = Field(None, gt=0, lt=0.1, description="DP δ; default min(1e-5, 1/(10·n)).")
    dp_max_grad_norm: float = Field(1.0, gt=0, description="Per-example gradient clipping norm.")
    dp_epochs: int = Field(60, ge=1, le=500, description="DP-SGD epochs over the training split.")
    dp_batch_size: int = Field(2048, ge=8, le=8192, description="Expected DP-SGD batch (Poisson sampling).")
    dp_learning_rate: float = Field(4.0, gt=0, description="DP-SGD learning rate of the linear head.")

"""Bodies of the server's own routes (the models' bodies are declared by their tasks)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ModelInfo(BaseModel):
    name: str = Field(description="The bundle's folder name; used in the URL.")
    task: str
    labels: list[str]
    metrics: dict[str, Any] = Field(description="Headline metrics recorded at training.")
    metrics_on: str = Field(description="What the metrics were computed on, in words.")
    endpoints: list[str] = Field(description="What this model answers: POST /v1/models/NAME/ENDPOINT.")


class ModelList(BaseModel):
    models: list[ModelInfo]


class Health(BaseModel):
    status: str = "ok"
    models: int


class Ready(BaseModel):
    status: str = "ready"
    models: int


class DriftVerdict(BaseModel):
    """The drift monitor's verdict; monitors may add fields (`p_value`, per-feature tests)."""

    model_config = ConfigDict(extra="allow")

    drift: bool = Field(description="True when the live window differs from the training "
                        "reference beyond the test's threshold.")
    statistic: float | None = Field(default=None, description="The test's statistic on the window.")
    window: int = Field(description="Live inputs in the window the verdict is on.")

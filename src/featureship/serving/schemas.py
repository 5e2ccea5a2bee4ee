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


class EndpointSpec(BaseModel):
    """One endpoint of a model as a client needs it to build a request (the console does)."""

    name: str
    summary: str
    request_schema: dict[str, Any] = Field(description="JSON Schema of the request body.")
    example: dict[str, Any] = Field(description="A body that works against this model.")
    batch: str | None = Field(description="The request's list of inputs, on endpoints that batch.")
    uploads: dict[str, str] | None = Field(
        description="On endpoints that take files: `{field, item}`; a multipart request's files "
        "become `field`'s items, each `{item: base64}`.")
    explained_by: str | None = Field(description="The endpoint that explains this one's answers "
                                     "and takes the same body.")


class ModelDetail(ModelInfo):
    endpoint_specs: list[EndpointSpec]
    report: str | None = Field(description="Where the bundle's HTML report is served.")
    drift_monitor: bool = Field(description="Whether GET /v1/models/NAME/drift has a verdict.")


class LivePoint(BaseModel):
    t: float = Field(description="Seconds before now at the end of the step (≤ 0).")
    requests_per_s: float
    errors_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    batch_size: float | None = Field(description="Mean inputs per forward pass in the step.")


class LiveModel(BaseModel):
    requests: int = Field(description="Model requests in the window.")
    requests_per_s: float = Field(description="Over the last minute.")
    p50_ms: float | None = Field(description="Over the last minute.")
    p99_ms: float | None = Field(description="Over the last minute.")
    batch_size: float | None = Field(description="Mean inputs per forward pass in the window.")
    points: list[LivePoint]


class Live(BaseModel):
    window_s: float
    step_s: float
    models: dict[str, LiveModel]

"""One manifest shape for every task: what a bundle is, how it was made, what it scored.

Every task fills the same pydantic model, so the CLI, the reports, the server and the
conformance suite read one shape:

    task, seed, settings          what was asked for
    input_schema, labels          what the model takes and says
    metrics, metrics_on           headline numbers, and in words what they were computed on
    model, chosen, candidates     what was trained, what `auto` compared and kept
    training, data                time, device, history; source, fingerprint, row counts, notes

`artifacts.write_bundle` adds format, version, creation time, library versions and the
sha256 of every file. Bundles of format 1 (written by modelship) are upgraded on read.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

FORMAT_NAME = "featureship-bundle"
FORMAT_VERSION = 2
# Bundles written before the rename (the project was called modelship) still load; new ones
# are always written under FORMAT_NAME.
LEGACY_FORMAT_NAMES = ("modelship-bundle",)


class Candidate(BaseModel):
    """One model `auto` trained and scored; the same columns for every task."""

    model_config = ConfigDict(extra="forbid")

    name: str
    validation: dict[str, float] = Field(default_factory=dict)
    test: dict[str, float] = Field(
        default_factory=dict, description="Only for tasks that hold out a test split in training."
    )
    seconds: float = 0.0
    details: dict[str, Any] = Field(default_factory=dict)


class DataInfo(BaseModel):
    """Where the training data came from and what was done with it."""

    model_config = ConfigDict(extra="forbid")

    source: str = ""
    fingerprint: str = ""
    train_rows: int = 0
    validation_rows: int = 0
    test_rows: int = 0
    validation: str = Field("", description="How the validation data was obtained, in words.")
    skipped_rows: int = 0
    notes: list[str] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)


class Manifest(BaseModel):
    """manifest.json. Unknown keys are kept (a newer minor version may add some)."""

    model_config = ConfigDict(extra="allow")

    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION
    created: str = ""
    task: str
    seed: int = 0
    settings: dict[str, Any] = Field(default_factory=dict)
    input_schema: dict[str, Any] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list)
    metrics: dict[str, float] = Field(default_factory=dict)
    metrics_on: str = Field("", description="What `metrics` were computed on, in words.")
    model: dict[str, Any] = Field(default_factory=dict)
    chosen: str = ""
    candidates: list[Candidate] = Field(default_factory=list)
    training: dict[str, Any] = Field(default_factory=dict)
    data: DataInfo = Field(default_factory=DataInfo)
    privacy: dict[str, Any] | None = None
    # set by artifacts: how the bundle is encrypted or signed (featureship.privacy.sealing)
    protection: dict[str, Any] | None = None
    libraries: dict[str, str] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict)


def upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """A format-1 manifest (modelship) in the format-2 shape; newer ones pass through."""
    if raw.get("format_version", 1) >= 2:
        return raw
    out = dict(raw)
    if raw.get("task") == "recommendation":
        out["input_schema"] = raw.get("schema") or {}
        out["model"] = {"family": raw.get("model")}
        out["chosen"] = raw.get("model") or ""
        out["metrics"] = {k: v for k, v in (raw.get("metrics") or {}).items()
                          if isinstance(v, (int, float))}
        out["metrics_on"] = _legacy_recommendation_metrics_on(raw)
        out["candidates"] = [
            {"name": c["model"], "validation": c.get("valid", {}), "test": c.get("test", {}),
             "seconds": c.get("train_seconds", 0.0), "details": c.get("details", {})}
            for c in raw.get("candidates", [])
        ]
        counts = raw.get("data") or {}
        out["data"] = {"fingerprint": raw.get("data_fingerprint") or "",
                       "notes": raw.get("notes") or [], "extra": counts}
        for key in ("schema", "data_fingerprint", "notes"):
            out.pop(key, None)
    else:
        out["candidates"] = [
            {"name": c["candidate"], "seconds": c.get("seconds", 0.0),
             "validation": {k: c[k] for k in ("accuracy", "macro_f1") if k in c}}
            for c in raw.get("candidates", [])
        ]
        data = dict(raw.get("data") or {})
        out["data"] = {k: data[k] for k in DataInfo.model_fields if k in data}
        out["metrics_on"] = "validation split (chose the candidate; slightly optimistic)"
    out["format_version"] = FORMAT_VERSION
    return out


def _legacy_recommendation_metrics_on(raw: dict[str, Any]) -> str:
    refit = (raw.get("settings") or {}).get("refit", True)
    return ("leave-one-out test split, measured on the validated model before it was refit on "
            "all interactions" if refit else "leave-one-out test split")

"""The served models: named by bundle folder, loaded once at start-up, looked up per request."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException

from featureship.errors import SettingsError

if TYPE_CHECKING:
    from featureship.api import Model

logger = logging.getLogger("featureship.serving")


def endpoints_for(task: str) -> tuple[str, ...]:
    return ("recommend", "similar") if task == "recommendation" else ("predict",)


def bundle_names(bundle_dirs: list[Path]) -> dict[str, Path]:
    """Name → folder; refuses two bundles with one folder name, since the name is the URL.

    Each manifest is read (not the weights, no checksums) so that a mistyped path fails here
    with its message, before the server starts, rather than as a start-up traceback.
    """
    from featureship.artifacts import read_manifest

    if not bundle_dirs:
        raise SettingsError("Give at least one model bundle folder to serve.")
    named: dict[str, Path] = {}
    for directory in bundle_dirs:
        directory = Path(directory)
        name = directory.resolve().name
        if name in named:
            raise SettingsError(
                f"Two bundles are both named '{name}' ({named[name]} and {directory}); a served "
                "model is named by its folder, so rename or copy one of them to a new folder."
            )
        read_manifest(directory, verify=False)
        named[name] = directory
    return named


@dataclass
class ServedModel:
    name: str
    model: Model
    endpoints: tuple[str, ...]
    # One call at a time per model: Hugging Face fast tokenizers raise "Already borrowed" when
    # shared across threads, and torch already uses every core for a single batch.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.model.task,
            "labels": self.model.labels,
            "metrics": _finite(self.model.metrics),
            "endpoints": list(self.endpoints),
        }


def load_models(named: dict[str, Path]) -> dict[str, ServedModel]:
    """Load (and checksum-verify) every bundle; any failure stops the start-up with its message."""
    from featureship.api import load

    served: dict[str, ServedModel] = {}
    for name, directory in named.items():
        started = time.perf_counter()
        model = load(directory)
        served[name] = ServedModel(name, model, endpoints_for(model.task))
        logger.info(
            "loaded model '%s' (%s) from %s in %.1f s",
            name,
            model.task,
            directory,
            time.perf_counter() - started,
        )
    return served


def lookup(models: dict[str, ServedModel], name: str, endpoint: str) -> ServedModel:
    """The model for a request, or a 404 (unknown name) / 400 (wrong endpoint for its task)."""
    served = models.get(name)
    if served is None:
        available = ", ".join(sorted(models)) or "(none)"
        raise HTTPException(404, f"No model named '{name}'. Available models: {available}.")
    if endpoint not in served.endpoints:
        offered = " and ".join(f"POST /v1/models/{name}/{e}" for e in served.endpoints)
        raise HTTPException(
            400,
            f"Model '{name}' is a {served.model.task} model and has no /{endpoint} endpoint; "
            f"use {offered}.",
        )
    return served


def _finite(value: Any) -> Any:
    # NaN/inf (an undefined metric) are not valid JSON; report them as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value

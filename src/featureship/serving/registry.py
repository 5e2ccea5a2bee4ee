"""The served models: named by bundle folder, declared before start-up, loaded in the lifespan."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from featureship.endpoints import Endpoint, Limits
from featureship.errors import SettingsError
from featureship.manifest import Manifest
from featureship.tasks.base import FittedModel

logger = logging.getLogger("featureship.serving")

# A served model's name is a URL segment: keep it to characters that need no escaping.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class QueueFull(Exception):
    """More requests wait for this model than the server allows (answered 503)."""


class Gate:
    """One model call at a time, with at most `max_waiting` callers queued behind it.

    One at a time because Hugging Face fast tokenizers raise "Already borrowed" when shared
    across threads and torch already uses every core for one batch.
    """

    def __init__(self, max_waiting: int) -> None:
        self.max_waiting = max_waiting
        self.waiting = 0
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def enter(self) -> AsyncIterator[None]:
        if self._lock.locked() and self.waiting >= self.max_waiting:
            raise QueueFull
        self.waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._lock.release()


@dataclass
class ServedModel:
    """A bundle the server answers for: declared from its manifest, loaded at start-up."""

    name: str
    directory: Path
    manifest: Manifest
    endpoints: list[Endpoint]
    gate: Gate
    model: FittedModel | None = field(default=None)

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.manifest.task,
            "labels": self.manifest.labels,
            "metrics": _finite(self.manifest.metrics),
            "metrics_on": self.manifest.metrics_on,
            "endpoints": [e.name for e in self.endpoints],
        }


def declare_models(bundle_dirs: list[Path], limits: Limits, max_queue: int) -> dict[str, ServedModel]:
    """Name → served model, from each bundle's manifest (no weights, no checksums yet).

    Refuses two bundles with one folder name (the name is the URL) and names that are not URL
    segments, so a mistyped path or a bad name fails here with its message, before the server
    starts, rather than as a start-up traceback.
    """
    from featureship.artifacts import read_manifest
    from featureship.tasks import get_task

    if not bundle_dirs:
        raise SettingsError("Give at least one model bundle folder to serve.")
    served: dict[str, ServedModel] = {}
    for directory in bundle_dirs:
        directory = Path(directory)
        name = directory.resolve().name
        if name in served:
            raise SettingsError(
                f"Two bundles are both named '{name}' ({served[name].directory} and {directory}); "
                "a served model is named by its folder, so rename or copy one of them."
            )
        if not _NAME.match(name):
            raise SettingsError(
                f"The bundle folder name '{name}' cannot be a URL segment; rename the folder to "
                "letters, digits, '.', '_' and '-' (it names the model: /v1/models/NAME/...)."
            )
        manifest = read_manifest(directory, verify=False)
        endpoints = get_task(manifest.task).model_class.endpoints(manifest, limits)
        served[name] = ServedModel(name, directory, manifest, endpoints, Gate(max_queue))
    return served


def load_models(served: dict[str, ServedModel], key: Any = None, redact_pii: bool = False) -> None:
    """Load (and checksum-verify) every bundle; any failure stops the start-up with its message.

    `key` opens encrypted bundles and checks signed ones; `redact_pii` makes every model
    redact PII in its inputs (a bundle trained with --redact-pii does so anyway).
    """
    from featureship.api import load

    for entry in served.values():
        started = time.perf_counter()
        entry.model = load(entry.directory, key=key)
        if redact_pii:
            entry.model.redact_pii = True
        entry.manifest = entry.model.describe()
        logger.info("loaded model '%s' (%s) from %s in %.1f s", entry.name, entry.manifest.task,
                    entry.directory, time.perf_counter() - started)


def _finite(value: Any) -> Any:
    # NaN/inf (an undefined metric) are not valid JSON; report them as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value

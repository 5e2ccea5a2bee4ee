"""The served models: named by bundle folder, declared before start-up, loaded in the lifespan."""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from featureship.endpoints import Endpoint, Limits
from featureship.errors import SettingsError
from featureship.manifest import Manifest
from featureship.serving.worker import ModelWorker, QueueFull, describe_failure, thread_plan
from featureship.tasks.base import FittedModel

__all__ = ["QueueFull", "ServedModel", "declare_models", "load_models", "stop_models"]

logger = logging.getLogger("featureship.serving")

# A served model's name is a URL segment: keep it to characters that need no escaping.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass
class ServedModel:
    """A bundle the server answers for: declared from its manifest, loaded at start-up."""

    name: str
    directory: Path
    manifest: Manifest
    endpoints: list[Endpoint]
    # The thread that owns the model once loaded: every call to the model goes through it.
    worker: ModelWorker
    model: FittedModel | None = field(default=None)
    load_seconds: float | None = None
    report_html: str | None = None  # read (or rebuilt) on the first GET of its report

    @property
    def monitor(self) -> Any:
        return self.worker.monitor

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.manifest.task,
            "labels": self.manifest.labels,
            "metrics": _finite(self.manifest.metrics),
            "metrics_on": self.manifest.metrics_on,
            "endpoints": [e.name for e in self.endpoints],
        }


def declare_models(bundle_dirs: list[Path], limits: Limits, max_queue: int,
                   max_batch_size: int = 32, max_latency_s: float = 0.005,
                   allow_none: bool = False) -> dict[str, ServedModel]:
    """Name → served model, from each bundle's manifest (no weights, no checksums yet).

    Refuses two bundles with one folder name (the name is the URL) and names that are not URL
    segments, so a mistyped path or a bad name fails here with its message, before the server
    starts, rather than as a start-up traceback.
    """
    from featureship.artifacts import read_manifest
    from featureship.tasks import get_task

    if not bundle_dirs and not allow_none:
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
        worker = ModelWorker(name, max_batch_size, max_latency_s, max_queue)
        served[name] = ServedModel(name, directory, manifest, endpoints, worker)
    return served


def load_models(served: dict[str, ServedModel], metrics: Any = None, torch_threads: int = 0,
                key: Any = None, redact_pii: bool = False, replicas: int = 0) -> None:
    """Load (and checksum-verify) every bundle and start its worker; any failure stops the
    start-up with its message. The cores are split evenly between the models' workers;
    `replicas` copies of each model (0: featureship.serving.worker.thread_plan decides).

    `key` opens encrypted bundles and checks signed ones; `redact_pii` makes every model
    redact PII in its inputs (a bundle trained with --redact-pii does so anyway).
    """
    from featureship.api import load

    plan = thread_plan(len(served), torch_threads, replicas)
    logger.info("threads: %d core(s), %d model(s): %d cop%s of each, %d torch intra-op "
                "thread(s) per copy", plan.cores, len(served), plan.replicas,
                "y" if plan.replicas == 1 else "ies", plan.threads)
    for entry in served.values():
        started = time.perf_counter()
        with torch_threads_while_loading(plan.threads):
            copies = [load(entry.directory, key=key) for _ in range(plan.replicas)]
        if redact_pii:
            for copy in copies:
                copy.redact_pii = True
        entry.model = copies[0]
        entry.manifest = entry.model.describe()
        entry.load_seconds = time.perf_counter() - started
        monitor = live_monitor(entry.name, entry.model)
        entry.worker.metrics = metrics
        entry.worker.start(entry.model, threads=plan.threads, monitor=monitor,
                           replicas=copies[1:])
        if metrics is not None:
            metrics.load_seconds.labels(entry.name).set(entry.load_seconds)
            metrics.models_loaded.inc()
        logger.info("loaded model '%s' (%s) from %s in %.1f s; batches of up to %d inputs, "
                    "waiting at most %.0f ms; drift monitor: %s", entry.name,
                    entry.manifest.task, entry.directory, entry.load_seconds,
                    entry.worker.max_batch_size, entry.worker.max_latency_s * 1000,
                    "on" if monitor is not None else "off")


@contextmanager
def torch_threads_while_loading(threads: int) -> Iterator[None]:
    """A runtime that sizes its thread pool at load time (ONNX Runtime sessions read
    torch.get_num_threads()) takes the copy's share, not the whole machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def stop_models(served: dict[str, ServedModel], timeout: float = 30.0) -> None:
    """Let every worker finish what is queued, then drop the models."""
    for entry in served.values():
        entry.worker.stop(timeout)
        entry.model = None


def live_monitor(name: str, model: FittedModel) -> Any:
    """The bundle's drift monitor (featureship.monitoring), or None when there is none.

    Imported defensively: monitoring is optional, and a monitor that cannot be built must not
    keep a model from serving.
    """
    try:
        from featureship.monitoring.live import LiveMonitor
    except ImportError:
        return None
    try:
        return LiveMonitor.for_model(model)
    except Exception as exc:
        logger.error("model '%s': drift monitor not started (the model serves without it): %s",
                     name, describe_failure(exc))
        return None


def _finite(value: Any) -> Any:
    # NaN/inf (an undefined metric) are not valid JSON; report them as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value

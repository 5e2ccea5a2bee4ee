"""The one seam every feature plugs into: a Task fits data into a FittedModel.

The CLI, the Python API and the server know tasks only through these two protocols and the
registry in `featureship.tasks`; a task never imports the CLI or the server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel

from featureship.data.readers import Table
from featureship.progress import Reporter


@runtime_checkable
class FittedModel(Protocol):
    """A trained model that can predict, evaluate, and save itself as bundle files."""

    task: ClassVar[str]

    def predict(self, rows: list[Any]) -> list[dict[str, Any]]:
        """JSON-ready results, one per input row."""
        ...

    def evaluate(self, data: Table) -> dict[str, Any]:
        """Metrics on held-out data; flat float values for the headline numbers."""
        ...

    def explain(self, rows: list[Any]) -> list[dict[str, Any]]: ...

    def manifest(self) -> dict[str, Any]:
        """Fields for manifest.json: task, settings, input schema, labels, metrics, fingerprint."""
        ...

    def save(self, directory: Path) -> None:
        """Write weights (safetensors), JSON side files, metrics.json and report.html."""
        ...

    @classmethod
    def load(cls, directory: Path, manifest: dict[str, Any]) -> FittedModel:
        """Rebuild from a verified bundle folder without executing any stored code."""
        ...


class Task(Protocol):
    name: ClassVar[str]
    settings_class: ClassVar[type[BaseModel]]
    model_class: ClassVar[type[FittedModel]]

    def fit(
        self,
        data: Table,
        settings: BaseModel,
        progress: Reporter,
        validation: Table | None = None,
        output: Path | None = None,
    ) -> FittedModel:
        """Train on `data` (validation cut from it when None); `output` is where the bundle
        will go, so caches and checkpoints can live in its run folder."""
        ...

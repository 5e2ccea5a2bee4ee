"""The Python API: `train()`, `load()`, and the `Model` they return.

    >>> model = featureship.train("text-classification", data="train.csv", text_column="text",
    ...                         label_column="intent", output="intent-model")
    >>> model.predict(["I lost my card"])[0]["label"]
    'lost_or_stolen_card'
    >>> featureship.load("intent-model").evaluate("holdout.csv")["accuracy"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from featureship.artifacts import check_output_folder, read_manifest, write_bundle
from featureship.config import build_settings
from featureship.data.readers import Table, as_frame
from featureship.errors import FeatureshipError
from featureship.progress import Reporter, silent
from featureship.tasks import get_task
from featureship.tasks.base import FittedModel

DataLike = str | Path | pd.DataFrame | Table


class Model:
    """A loaded (or freshly trained) bundle: predict, evaluate, and task-specific calls."""

    def __init__(self, fitted: FittedModel, manifest: dict[str, Any], path: Path | None) -> None:
        self.fitted = fitted
        self.manifest = manifest
        self.path = path

    @property
    def task(self) -> str:
        return self.manifest["task"]

    @property
    def name(self) -> str:
        return self.path.name if self.path else self.task

    @property
    def labels(self) -> list[str]:
        return list(self.manifest.get("labels") or [])

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.manifest.get("metrics") or {})

    def predict(self, rows: list[Any]) -> list[dict[str, Any]]:
        """One JSON-ready result per input (a text for text tasks)."""
        return self.fitted.predict(list(rows))

    def evaluate(self, data: DataLike) -> dict[str, Any]:
        """Metrics on held-out data given as a path or a DataFrame."""
        return self.fitted.evaluate(as_frame(data))

    def explain(self, rows: list[Any]) -> list[dict[str, Any]]:
        return self.fitted.explain(list(rows))

    def __getattr__(self, name: str) -> Any:
        # Task-specific calls (recommend, similar, ...) live on the fitted model.
        if name.startswith("_") or name == "fitted":
            raise AttributeError(name)
        fitted = self.__dict__.get("fitted")
        if fitted is not None and hasattr(fitted, name):
            return getattr(fitted, name)
        task = self.__dict__.get("manifest", {}).get("task", "?")
        raise AttributeError(f"A {task} model has no '{name}'.")

    def __repr__(self) -> str:
        return f"Model(task={self.task!r}, path={str(self.path)!r})"


def train(
    task: str,
    data: DataLike,
    output: str | Path,
    validation: DataLike | None = None,
    progress: Reporter | None = None,
    **settings: Any,
) -> Model:
    """Train a model for `task` on `data`, write the bundle to `output`, and return it.

    Settings are the task's (see `featureship.tasks.<task>` or `featureship train TASK --help`),
    e.g. ``text_column="text", label_column="intent", mode="head", seed=0``.
    """
    impl = get_task(task)
    output = Path(output)
    check_output_folder(output)
    parsed = build_settings(impl.settings_class, settings, source=f"{task} settings")
    reporter = progress or silent()
    train_table = as_frame(data)
    valid_table = as_frame(validation) if validation is not None else None
    fitted = impl.fit(train_table, parsed, reporter, validation=valid_table, output=output)
    write_bundle(output, fitted.manifest(), fitted.save)
    return load(output)


def load(directory: str | Path) -> Model:
    """Load a bundle after verifying every file's sha256; never executes stored code."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    impl = get_task(manifest.get("task", "?"))
    try:
        fitted = impl.model_class.load(directory, manifest)
    except FeatureshipError:
        raise
    except (KeyError, ValueError, OSError) as exc:
        raise FeatureshipError(f"{directory}: the bundle cannot be loaded ({exc}).") from exc
    return Model(fitted, manifest, directory)

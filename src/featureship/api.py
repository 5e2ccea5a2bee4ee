"""The Python API: `train()`, `load()`, `save()`; models are the tasks' own FittedModel classes.

    >>> model = featureship.train("text-classification", data="train.csv", text_column="text",
    ...                           label_column="intent", output="intent-model")
    >>> model.predict(["I lost my card"])[0]["label"]
    'lost_or_stolen_card'
    >>> featureship.load("intent-model").evaluate("holdout.csv")["accuracy"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from featureship.artifacts import (
    check_output_folder,
    load_pinned,
    output_lock,
    read_manifest,
    write_bundle,
)
from featureship.config import build_settings
from featureship.data.readers import as_frame
from featureship.errors import BundleError, FeatureshipError
from featureship.progress import Reporter, silent
from featureship.tasks import get_task
from featureship.tasks.base import DataSource, FittedModel

# Kept for imports written against the first API; every model is a FittedModel.
Model = FittedModel


def train(
    task: str,
    data: DataSource,
    output: str | Path,
    validation: DataSource | None = None,
    progress: Reporter | None = None,
    overwrite: bool = False,
    **settings: Any,
) -> FittedModel:
    """Train a model for `task` on `data`, write the bundle to `output`, and return it loaded.

    Settings are the task's (see `featureship train TASK --help`), e.g.
    ``text_column="text", label_column="intent", mode="head", seed=0``. An existing bundle at
    `output` is replaced only with ``overwrite=True``; two runs into one `output` at once are
    refused.
    """
    impl = get_task(task)
    output = Path(output)
    parsed = build_settings(impl.settings_class, settings, source=f"{task} settings")
    check_output_folder(output, overwrite)
    with output_lock(output):
        reporter = progress or silent()
        # A task may read its own kind of data (a folder of images); tables are the default.
        read = getattr(impl, "read_data", as_frame)
        train_table = read(data)
        valid_table = read(validation) if validation is not None else None
        fitted = impl.fit(train_table, parsed, reporter, validation=valid_table, output=output)
        save(fitted, output, overwrite=overwrite)
    return load(output)


def save(model: FittedModel, output: str | Path, overwrite: bool = False) -> Path:
    """Write `model` as a bundle at `output` (atomically; its report is rebuilt from it)."""
    from featureship.evaluation.report import bundle_report

    output = Path(output).resolve()
    def write_files(directory: Path) -> None:
        model.save(directory)
        if model.reference_profile is not None:  # the drift monitor's reference, for any task
            model.reference_profile.save(directory)

    manifest = write_bundle(output, model.describe(), write_files,
                            report=lambda final: bundle_report(model, final, output.name),
                            overwrite=overwrite)
    model.manifest, model.path = manifest, output
    return output


def load(directory: str | Path) -> FittedModel:
    """Load a bundle after verifying every file's sha256; never executes stored code."""
    return load_pinned(Path(directory), _load)


def _load(directory: Path) -> FittedModel:
    manifest = read_manifest(directory)
    impl = get_task(manifest.task)
    try:
        fitted = impl.model_class.load(directory, manifest)
    except FeatureshipError:
        raise
    except Exception as exc:  # a corrupt config or weights that do not fit: name the bundle
        raise BundleError(
            f"{directory}: the bundle cannot be loaded ({type(exc).__name__}: {exc}). It may be "
            "damaged or written by an incompatible version; retrain or restore it."
        ) from exc
    fitted.manifest, fitted.path = manifest, directory
    from featureship.monitoring.profile import ReferenceProfile

    fitted.reference_profile = ReferenceProfile.load(directory)
    return fitted

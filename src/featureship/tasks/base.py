"""The one seam every feature plugs into: a Task fits data into a FittedModel.

The CLI, the Python API and the server know tasks only through these two classes and the
registry in `featureship.tasks`; a task never imports the CLI or the server.

    task = get_task("text-classification")
    fitted = task.fit(table, settings, progress, validation=None, output=path)
    write_bundle(path, fitted)                       # manifest + files + report, atomically
    model = load(path)                               # the same class, checksums verified
    model.predict(rows) / evaluate(data) / explain(rows) / predict_cli(**options)
    model.endpoints(manifest, limits)                # what a server exposes, with schemas

Every registered task passes the conformance suite in tests/conformance.

Drift monitoring (featureship.monitoring) plugs in through three optional members:

    model.reference_profile = build_profile(model, reference_rows, train_labels, source)
    model.drift_features(rows, outputs, compute=True) -> np.ndarray | None   # (n, D) per row
    model.drift_feature_kind = "embedding" | "columns"                       # which test

A task sets `reference_profile` in `fit` (rows its model was not fitted on, e.g. the
validation split; never raw inputs are stored: only what `drift_features` gives and the
labels); `featureship.save` writes it as profile.safetensors + profile.json and `load` reads
it back (None when a bundle has none: older bundles and tasks without the hook still load).
`drift_features` gives what the monitor compares: text and images a vector per row
(embeddings: tested with MMD), tables one column per feature (`"columns"`, names from
`drift_feature_names()`: tested with KS and PSI per column). With `compute=False` it returns
only what predict already computed (None otherwise), so a server observes for free.

Export (`featureship export`) plugs in through `exported(fmt, quantize, progress)`, which
returns a new model of the same task that `featureship.save` writes as a bundle.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import pandas as pd
from pydantic import BaseModel

from featureship.data.readers import Table, as_frame
from featureship.errors import SettingsError
from featureship.flags import PREDICT_FLAGS  # noqa: F401  (re-exported: tasks read it here)
from featureship.manifest import Manifest
from featureship.progress import Reporter

if TYPE_CHECKING:
    import numpy as np

    from featureship.endpoints import Endpoint, Limits
    from featureship.evaluation.report import Section
    from featureship.evaluation.tables import ResultTable
    from featureship.monitoring.profile import ReferenceProfile

DataSource = str | Path | pd.DataFrame | Table


class FittedModel(ABC):
    """A trained model: predicts, evaluates, explains, declares its endpoints, saves itself.

    Subclasses set `task` and implement the abstract methods. `manifest` and `path` are set
    when the model is written or loaded (`featureship.load`), so a model always knows its
    bundle. Task-specific calls (`recommend`, `ask`, ...) are plain methods of the subclass,
    reached through the endpoints it declares.
    """

    task: ClassVar[str]
    # Which `featureship predict` options this model takes (keys of PREDICT_FLAGS).
    predict_inputs: ClassVar[frozenset[str]] = frozenset({"data"})
    # What `predict --backend ray` (Ray Data) streams into `predict_frame`: "table" (CSV,
    # Parquet, JSONL files), "images" (tables, or a folder listed by `batch_listing`), or
    # None: the model does not batch-predict from files.
    batch_input: ClassVar[str | None] = None
    # (split, metric) pairs shown for each candidate, e.g. ("validation", "macro_f1").
    candidate_columns: ClassVar[tuple[tuple[str, str], ...]] = ()

    manifest: Manifest | None = None
    path: Path | None = None
    # What drift is tested against; set in fit, saved and loaded with the bundle (see above).
    reference_profile: ReferenceProfile | None = None
    drift_feature_kind: ClassVar[str] = "embedding"
    # Set by `predict --redact-pii` / `serve --redact-pii`: text inputs are PII-redacted before
    # they reach the model (featureship.privacy.pii); text tasks honour it.
    redact_pii: bool = False
    # The MLflow run `train(..., track=URI)` logged this model in (featureship.tracking).
    tracking_run_id: str | None = None

    # ---- inference -------------------------------------------------------------------------
    @abstractmethod
    def predict(self, rows: list[Any]) -> list[dict[str, Any]]:
        """JSON-ready results, one per input row, in order."""

    @abstractmethod
    def predict_cli(self, **options: Any) -> pd.DataFrame | list[dict[str, Any]]:
        """`featureship predict`: a frame (written as CSV) or JSON records (printed).

        Only the options in `predict_inputs` are passed (the CLI refuses the others).
        """

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One batch of input rows → every input column plus the prediction columns, in order.

        What a Ray Data actor calls; the same as `predict --data` on a file of those rows.
        """
        if self.batch_input is None:
            raise SettingsError(f"{self.name}: {self.task} models do not predict from tables.")
        result = self.predict_cli(data=frame)
        if not isinstance(result, pd.DataFrame):  # pragma: no cover - a task broke the contract
            raise TypeError(f"{type(self).__name__}.predict_cli(data=frame) must return a DataFrame")
        return result

    def batch_listing(self, folder: Path) -> pd.DataFrame:
        """The rows `predict_frame` takes for a folder input (image models: one per image file)."""
        raise SettingsError(f"{self.name}: {self.task} models read tables, not a folder of files.")

    def explain_cli(self, **options: Any) -> pd.DataFrame | list[dict[str, Any]]:
        """`featureship explain`: the same options as `predict_cli`; JSON records or a frame.

        Tasks override it; the default refuses clearly.
        """
        raise SettingsError(f"{self.name}: {self.task} models cannot explain from the command line yet.")

    def explanation_html(self, explanations: list[dict[str, Any]]) -> str:
        """`featureship explain --output OUT.html`: a self-contained page of `explain_cli` records.

        The default shades word weights where an explanation has them and shows the rest as
        JSON; tasks with pictures (saliency maps, plots) override it.
        """
        from featureship.explain.render import word_explanations_html

        return word_explanations_html(explanations, f"Explanations: {self.name}")

    @abstractmethod
    def evaluate(self, data: DataSource) -> dict[str, Any]:
        """Metrics on held-out data: flat numbers for the headline, plus details and `notes`."""

    @abstractmethod
    def explain(self, rows: list[Any]) -> list[dict[str, Any]]:
        """Why each prediction came out as it did; one JSON-ready dict per input."""

    def drift_features(self, rows: list[Any], outputs: list[dict[str, Any]] | None = None,
                       compute: bool = True) -> np.ndarray | None:
        """What the drift monitor compares per row, (n, D); None when the task has none, or
        when `compute` is False and predict did not already produce them."""
        return None

    def input_rows(self, table: Table) -> list[Any]:
        """The rows `predict` takes, read from a table (`featureship monitor --data`)."""
        raise SettingsError(f"{self.name}: {self.task} models cannot read inputs from a table yet.")

    def drift_feature_names(self) -> list[str]:
        """Column names of `drift_features` for `drift_feature_kind == "columns"`."""
        return []

    def exported(self, fmt: str, quantize: str | None, progress: Reporter) -> FittedModel:
        """A copy that runs on another runtime (`featureship export`); the default refuses."""
        raise SettingsError(f"{self.name}: {self.task} models cannot be exported to {fmt} yet.")

    @classmethod
    @abstractmethod
    def endpoints(cls, manifest: Manifest, limits: Limits) -> list[Endpoint]:
        """What a server exposes for this bundle; read from the manifest, before weights load."""

    # ---- bundle ----------------------------------------------------------------------------
    def describe(self) -> Manifest:
        """The manifest of this model (format, files and versions are added on write).

        A task sets `manifest` when it fits the model; loading sets it from the bundle.
        """
        return self._known_manifest().model_copy(deep=True)

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write weights (safetensors) and JSON side files into `directory` (no report)."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, manifest: Manifest) -> FittedModel:
        """Rebuild from a verified bundle folder without executing any stored code."""

    def report_sections(self) -> list[Section]:
        """Task-specific sections of report.html (the common ones are built for every task)."""
        return []

    def evaluation_tables(self, metrics: dict[str, Any]) -> list[ResultTable]:
        """Tables `featureship evaluate` prints below the headline numbers."""
        return []

    # ---- conveniences shared by every task ----------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name if self.path else self.task

    @property
    def labels(self) -> list[str]:
        return list(self._known_manifest().labels)

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self._known_manifest().metrics)

    def _known_manifest(self) -> Manifest:
        if self.manifest is None:
            raise RuntimeError(f"{type(self).__name__} has no manifest: fit or load it first.")
        return self.manifest

    def __repr__(self) -> str:
        return f"{type(self).__name__}(task={self.task!r}, path={str(self.path)!r})"


def read_source(data: DataSource) -> Table:
    """A table from what a user may pass: a path, a DataFrame or a Table."""
    return as_frame(data)


def refuse_options(model: FittedModel, given: dict[str, Any]) -> None:
    """Raise naming the options this model does not take (a wrong-task call)."""
    wrong = [PREDICT_FLAGS[k] for k, v in given.items() if v is not None and k not in model.predict_inputs]
    if wrong:
        accepted = ", ".join(PREDICT_FLAGS[k] for k in PREDICT_FLAGS if k in model.predict_inputs)
        raise SettingsError(
            f"{' and '.join(wrong)} {'does' if len(wrong) == 1 else 'do'} not apply to "
            f"{model.name}, a {model.task} model; it takes {accepted}."
        )


class Task(Protocol):
    """A kind of model: its settings and how to fit one."""

    name: ClassVar[str]
    settings_class: ClassVar[type[BaseModel]]
    model_class: ClassVar[type[FittedModel]]
    # The settings that name columns of the training table (`text_column`, `ignore_columns`):
    # the console offers the uploaded table's own columns for them.
    data_columns: ClassVar[tuple[str, ...]]

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

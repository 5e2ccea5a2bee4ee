"""`--track URI`: one MLflow run per `train`: settings, per-epoch and final metrics, report, bundle.

The URI is MLflow's: a local folder (MLflow's file store), `sqlite:///runs.db`, or a tracking
server (`http://host:5000`). MLflow is an extra (`pip install 'featureship[track]'`), imported
only when a run is tracked. The client API is used, not `mlflow.start_run`, so nothing global
changes in the calling process (a notebook's own active run is left alone).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from featureship.errors import MissingExtraError, SettingsError

if TYPE_CHECKING:
    from featureship.progress import Reporter
    from featureship.tasks.base import FittedModel

EXPERIMENT = "featureship"
_PARAM_CHARS = 6000  # MLflow's limit for one parameter value


class TrackedRun:
    """An open MLflow run; `finish(model)` logs the outcome, `fail(why)` marks it failed."""

    def __init__(self, uri: str, task: str, settings: dict[str, Any], tags: dict[str, str]) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as exc:
            raise MissingExtraError("mlflow-skinny", "track", "--track") from exc
        self.uri = normalise_uri(uri)
        self.client = MlflowClient(tracking_uri=self.uri)
        try:
            experiment = self.client.get_experiment_by_name(EXPERIMENT)
            experiment_id = (experiment.experiment_id if experiment is not None else
                             self.client.create_experiment(EXPERIMENT, artifact_location=_artifact_root(self.uri)))
            run = self.client.create_run(experiment_id, tags={"featureship.task": task, **tags},
                                         run_name=f"{task}")
        except Exception as exc:  # an unreachable server, a read-only folder: say which URI
            raise SettingsError(f"--track {uri}: cannot open an MLflow run there ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else ''}). Give a writable folder, "
                                "sqlite:///path/runs.db, or a reachable tracking server.") from exc
        self.run_id: str = run.info.run_id
        self._log_params(settings)

    def _log_params(self, settings: dict[str, Any]) -> None:
        from mlflow.entities import Param

        params = [Param(key, _param_value(value)) for key, value in _flatten(settings).items()]
        for start in range(0, len(params), 100):  # MLflow takes at most 100 params a batch
            self.client.log_batch(self.run_id, params=params[start : start + 100])

    def log_epoch(self, row: dict[str, Any], step: int) -> None:
        """A progress listener: one epoch's numbers (train_loss, val_accuracy, ...)."""
        from mlflow.entities import Metric

        now = _now_ms()
        metrics = [Metric(key, float(value), now, step) for key, value in row.items()
                   if key != "epoch" and isinstance(value, (int, float))]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def attach(self, progress: Reporter) -> None:
        progress.metric_listeners.append(self.log_epoch)

    def finish(self, model: FittedModel) -> None:
        """Final metrics, the report and the whole bundle as artifacts; the run is FINISHED."""
        from mlflow.entities import Metric

        manifest = model.describe()
        now = _now_ms()
        finals = [Metric(key, float(value), now, 0) for key, value in manifest.metrics.items()
                  if isinstance(value, (int, float))]
        if finals:
            self.client.log_batch(self.run_id, metrics=finals)
        bundle = Path(str(model.path))
        if (bundle / "report.html").is_file():
            self.client.log_artifact(self.run_id, str(bundle / "report.html"))
        self.client.log_artifacts(self.run_id, str(bundle), artifact_path="bundle")
        self.client.set_tag(self.run_id, "featureship.bundle", str(bundle))
        self.client.set_terminated(self.run_id, "FINISHED")

    def fail(self, reason: str) -> None:
        self.client.set_tag(self.run_id, "featureship.error", reason[:5000])
        self.client.set_terminated(self.run_id, "FAILED")


def normalise_uri(uri: str) -> str:
    """A plain folder becomes MLflow's file store (allowed explicitly: MLflow 3 wants opt-in)."""
    if "://" in uri or uri.startswith(("databricks", "sqlite:")):
        if uri.startswith("file:"):
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        return uri
    folder = Path(uri).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise SettingsError(f"--track {uri} is a file; give a folder, sqlite:///{uri}, or a server URI.")
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return folder.as_uri()


def _artifact_root(uri: str) -> str | None:
    """Artifacts of a sqlite store sit beside the database (MLflow's default is ./mlruns)."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()
    return None


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:_PARAM_CHARS]


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)

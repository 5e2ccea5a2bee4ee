"""The driver side of training on Ray: Ray Train's TorchTrainer (DDP, gloo on CPU) and any other
Ray Train trainer (LightGBM) through `run_trainer`."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from featureship.backends import Backend
from featureship.backends.cluster import ray_cluster
from featureship.backends.data_parallel import read_final
from featureship.errors import FeatureshipError
from featureship.progress import Reporter
from featureship.training import LoopResult

# Restarts of the worker group after a worker dies; each resumes from the last epoch reported.
MAX_FAILURES = 2

T = TypeVar("T")


def train_data_parallel(worker: Callable[[dict[str, Any]], None], config: dict[str, Any],
                        payload: Any, backend: Backend, storage: Path | None, name: str,
                        progress: Reporter) -> tuple[LoopResult, dict[str, Any]]:
    """Run `worker(config)` on `backend.workers` Ray Train workers (TorchTrainer, DDP); return
    the final result.

    `payload` (models, tokenizers, data) goes through the object store once and reaches the
    worker as `config["payload"]` (an object ref). Checkpoints live under `storage` (a shared
    folder or bucket on a multi-node cluster: set FEATURESHIP_RAY_STORAGE), the bundle is
    written by the caller, on the driver, from the returned weights.
    """
    def build(ray: Any, run_config: Any, gpus: bool) -> tuple[Any, str]:
        from ray.train import ScalingConfig
        from ray.train.torch import TorchConfig, TorchTrainer

        trainer = TorchTrainer(
            worker,
            train_loop_config={**config, "payload": ray.put(payload), "use_gpu": gpus},
            torch_config=TorchConfig(backend="nccl" if gpus else "gloo"),
            scaling_config=ScalingConfig(num_workers=backend.workers, use_gpu=gpus,
                                         resources_per_worker={"CPU": 1}),
            run_config=run_config)
        return trainer, f"{backend.workers} data-parallel workers ({'GPU, nccl' if gpus else 'CPU, gloo'})"

    outcome, info = run_trainer(build, read_final, backend, storage, name, progress)
    for row in outcome.history:  # the driver's listeners (an MLflow run) hear every epoch
        progress.metrics(row, step=int(row["epoch"]))
    return outcome, info


def run_trainer(build: Callable[[Any, Any, bool], tuple[Any, str]], read: Callable[[Path], T],
                backend: Backend, storage: Path | None, name: str, progress: Reporter) -> tuple[T, dict[str, Any]]:
    """Fit the Ray Train trainer `build(ray, run_config, gpus)` returns (with a description of
    its workers) on the cluster; `read` the folder of its last checkpoint on the driver.

    Shared by every trainer kind (Torch, LightGBM): one cluster connection, one place for
    checkpoint storage, worker-failure restarts, and errors shown as their cause, not a trace.
    """
    with ray_cluster(backend, progress) as ray:
        from ray.train import CheckpointConfig, FailureConfig, RunConfig

        gpus = ray.cluster_resources().get("GPU", 0) >= backend.workers
        where = os.environ.get("FEATURESHIP_RAY_STORAGE") or str(storage or tempfile.mkdtemp(prefix="featureship-ray-"))
        run_config = RunConfig(name=name, storage_path=where,
                               failure_config=FailureConfig(max_failures=MAX_FAILURES),
                               checkpoint_config=CheckpointConfig(num_to_keep=2))
        trainer, workers = build(ray, run_config, gpus)
        progress.info(f"Ray Train: {workers}; checkpoints in {where}/{name}")
        started = time.monotonic()
        try:
            result = trainer.fit()
        except Exception as exc:  # Ray wraps the worker's error; show its last line, not a trace
            raise FeatureshipError(
                f"Ray Train failed after {MAX_FAILURES} restarts: {_cause(exc)}. "
                f"Worker logs are under /tmp/ray/session_latest/logs; checkpoints in {where}/{name}."
            ) from exc
        if result.checkpoint is None:
            raise FeatureshipError(f"Ray Train finished without a final checkpoint (in {where}/{name}).")
        with result.checkpoint.as_directory() as folder:
            outcome = read(Path(folder))
        if "FEATURESHIP_RAY_STORAGE" not in os.environ:  # scratch once the result is read
            shutil.rmtree(Path(where) / name, ignore_errors=True)
        info = {"backend": "ray", "workers": backend.workers, "device": "cuda" if gpus else "cpu",
                "ray_seconds": round(time.monotonic() - started, 1)}
        return outcome, info


def _cause(exc: Exception) -> str:
    """The innermost 'SomeError: message' line of Ray's wrapped worker traceback."""
    lines = [line.strip() for line in str(exc).splitlines() if "Error: " in line and not line.startswith("ray.")]
    return lines[-1] if lines else (str(exc).strip().splitlines() or [type(exc).__name__])[-1]

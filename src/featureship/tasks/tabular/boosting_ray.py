"""LightGBM on Ray Train (`LightGBMTrainer`): the settings search and the refit, with the
training rows split over the workers and trees grown by LightGBM's data-parallel learner.

The driver prepares the matrix (the preprocessing is fitted there, as locally) and puts one
slice of rows per worker into the object store; each worker fetches only its slice. Every
worker gets the whole validation split, so all compute the same validation loss and early
stopping ends every worker on the same round (with a local share each, they could stop on
different rounds and leave the others waiting on the network). The trees are identical on
every worker; rank 0 hands them back as LightGBM's text format in a Ray Train checkpoint, one
per finished setting, so a restarted worker group skips the settings already done.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from featureship.backends import Backend
from featureship.progress import Reporter
from featureship.tasks.tabular import boosting
from featureship.tasks.tabular.boosting import Trial

TRIALS_FILE = "trials.json"


def search_on_ray(x_train: np.ndarray, y_train: np.ndarray, w_train: np.ndarray | None, x_valid: np.ndarray,
                  y_valid: np.ndarray, problem: str, n_classes: int, categorical: list[int], budget_s: float,
                  seed: int, backend: Backend, storage: Path | None, progress: Reporter
                  ) -> tuple[list[Trial], dict[str, Any]]:
    """`boosting.search` with the training rows split over `backend.workers` Ray Train workers."""
    job = {"kind": "search", "problem": problem, "n_classes": n_classes, "categorical": categorical,
           "seed": seed, "budget_s": budget_s, "valid": (x_valid, y_valid)}
    with progress.step(f"LightGBM settings search on Ray ({backend.workers} workers)", total=None):
        (trials, resumed), info = _run(job, x_train, y_train, w_train, backend, storage, progress)
    if resumed:
        info["settings_resumed"] = resumed
        progress.note(f"a Ray worker was lost: the search resumed after {resumed} finished setting(s)")
    if len(trials) < len(boosting.SEARCH):
        progress.note(f"LightGBM search stopped after {len(trials)} of {len(boosting.SEARCH)} "
                      "settings: the time budget was spent.")
    return trials, info


def fit_on_ray(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, categorical: list[int],
               params: dict[str, Any], rounds: int,
               backend: Backend, storage: Path | None, progress: Reporter) -> tuple[Any, dict[str, Any]]:
    """`BoostedModel.fit` (fixed settings and rounds, no validation) on Ray; returns the booster."""
    job = {"kind": "fit", "params": params, "rounds": rounds, "categorical": categorical}
    with progress.step(f"LightGBM refit on Ray ({backend.workers} workers)", total=None):
        (trials, _), info = _run(job, x, y, w, backend, storage, progress)
    return trials[0].booster, info


def _run(job: dict[str, Any], x: np.ndarray, y: np.ndarray, w: np.ndarray | None, backend: Backend,
         storage: Path | None, progress: Reporter) -> tuple[tuple[list[Trial], int], dict[str, Any]]:
    from featureship.backends.ray_train import run_trainer

    def build(ray: Any, run_config: Any, gpus: bool) -> tuple[Any, str]:
        from ray.train import ScalingConfig
        from ray.train.lightgbm import LightGBMTrainer

        # strided slices: every worker sees every part of the table (it may be sorted)
        shards = [ray.put((x[r::backend.workers], y[r::backend.workers],
                           None if w is None else w[r::backend.workers])) for r in range(backend.workers)]
        trainer = LightGBMTrainer(
            _worker, train_loop_config={"job": ray.put(job), "shards": shards},
            scaling_config=ScalingConfig(num_workers=backend.workers, resources_per_worker={"CPU": 1}),
            run_config=run_config)
        return trainer, f"{backend.workers} LightGBM workers (data-parallel trees, {len(y):,} rows split)"

    name = f"lightgbm-{job['kind']}-{time.strftime('%Y%m%d-%H%M%S')}"
    return run_trainer(build, _read_trials, backend, storage, name, progress)


def _worker(config: dict[str, Any]) -> None:
    """One Ray Train worker: its slice of the rows, LightGBM's network set up by Ray Train."""
    import ray
    import ray.train
    from ray.train.collective import broadcast_from_rank_zero
    from ray.train.lightgbm import get_network_params

    rank = ray.train.get_context().get_world_rank()
    job = ray.get(config["job"])
    x, y, w = ray.get(config["shards"][rank])
    network = {"tree_learner": "data_parallel", "pre_partition": True, **get_network_params()}
    folder = Path(tempfile.mkdtemp(prefix=f"featureship-lgb-rank{rank}-"))
    done = _restored(folder)
    try:
        if job["kind"] == "fit":
            if not done:
                lgb = boosting.import_lightgbm()
                params = {**job["params"], "num_threads": 1, **network}
                data = lgb.Dataset(x, y, weight=w, categorical_feature=job["categorical"])
                booster = lgb.train(params, data, num_boost_round=job["rounds"])
                done.append({"params": job["params"], "rounds": job["rounds"], "score": float("nan"),
                             "seconds": 0.0, "model": booster.model_to_string()})
                booster.free_network()
            _report(rank, folder, done, final=True)
            return
        started = time.monotonic()
        x_valid, y_valid = job["valid"]
        # LightGBM's network is process-wide and set up by the first Booster given `machines`;
        # setting it up again re-binds the listening port, which the kernel may still hold
        # (TIME_WAIT). So it is set up once, kept by `owner`, and later boosters only use it.
        owner = None
        for settings in boosting.SEARCH[len(done):]:
            # one clock decides for all: workers that disagreed would wait on each other forever
            go = broadcast_from_rank_zero(not done or time.monotonic() - started <= job["budget_s"])
            if not go:
                break
            t0 = time.monotonic()
            params = boosting.trial_params(settings, job["problem"], job["n_classes"], job["seed"], 1)
            uses = network if owner is None else {k: v for k, v in network.items() if k != "machines"}
            booster, rounds, score = boosting.train_trial({**params, **uses}, x, y, w, x_valid, y_valid,
                                                          job["categorical"])
            owner = owner or booster
            done.append({"params": params, "rounds": rounds, "score": score,
                         "seconds": time.monotonic() - t0, "model": booster.model_to_string()})
            _report(rank, folder, done, final=False)
        if owner is not None:
            owner.free_network()
        _report(rank, folder, done, final=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _restored(folder: Path) -> list[dict[str, Any]]:
    """The settings finished before this worker group was restarted (from Ray's checkpoint)."""
    import ray.train

    given = ray.train.get_checkpoint()
    if given is None:
        return []
    given.to_directory(str(folder / "restored"))
    return [{**t, "restored": True} for t in json.loads((folder / "restored" / TRIALS_FILE).read_text())]


def _report(rank: int, folder: Path, done: list[dict[str, Any]], final: bool) -> None:
    """Every rank reports (Ray Train waits for all); rank 0 attaches the trees so far."""
    import ray.train
    from ray.train import Checkpoint

    metrics = {"settings_done": len(done), "final": float(final)}
    if rank != 0:
        ray.train.report(metrics, checkpoint=None)
        return
    target = folder / f"checkpoint-{len(done)}-{int(final)}"
    target.mkdir()
    (target / TRIALS_FILE).write_text(json.dumps(done))
    ray.train.report(metrics, checkpoint=Checkpoint.from_directory(str(target)))


def _read_trials(folder: Path) -> tuple[list[Trial], int]:
    """The trials in the last checkpoint, with boosters rebuilt from LightGBM's text format, and
    how many of them a restarted worker group restored rather than trained."""
    lgb = boosting.import_lightgbm()
    stored = json.loads((folder / TRIALS_FILE).read_text())
    trials = [Trial(dict(t["params"]), int(t["rounds"]), float(t["score"]), float(t["seconds"]),
                    lgb.Booster(model_str=without_network(t["model"]))) for t in stored]
    return trials, sum(1 for t in stored if t.get("restored"))


def without_network(model: str) -> str:
    """LightGBM's text model minus the cluster's addresses and ports it echoes among its
    parameters (they say nothing about the trees, and a bundle should not carry them)."""
    return _NETWORK_LINE.sub("", model)


_NETWORK_LINE = re.compile(r"^\[(?:machines|local_listen_port|num_machines|pre_partition|tree_learner|"
                           r"time_out|machine_list_filename): [^\]]*\]\n", re.MULTILINE)

"""The training loop every torch model uses.

The caller supplies `train_epoch(epoch, step) -> mean loss` and `validate() -> metrics`; the
loop owns the rest: progress, early stopping on a validation metric, a time budget, keeping
the best weights, and a checkpoint after every epoch that `resume=True` continues from.
Checkpoints are internal scratch (the run folder), never part of a bundle; they are read back
with `torch.load(weights_only=True)`, which refuses arbitrary objects.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from featureship.errors import FeatureshipError
from featureship.progress import Reporter, Step


@dataclass
class LoopSettings:
    epochs: int
    monitor: str = "macro_f1"  # validation metric to maximise
    patience: int = 2  # epochs without improvement before stopping
    # No early stop before this many epochs: under a cosine schedule planned to the budget,
    # validation stalls while the rate is high and most of the gain comes as it anneals.
    min_epochs: int = 0
    time_budget_s: float | None = None
    checkpoint_dir: Path | None = None
    resume: bool = False
    fingerprint: str = ""  # data + settings identity; a resumed run must match it
    # Where `resume` reads the checkpoint (default: checkpoint_dir). A data-parallel worker
    # resumes from the copy Ray Train hands it but, unless it is rank 0, writes none.
    resume_from: Path | None = None
    # Called after every epoch with the epoch's row and the folder just checkpointed (None
    # when none was written): Ray Train reports checkpoints through it.
    on_epoch: Callable[[dict[str, float], Path | None], None] | None = None
    # Combines a stop decision across data-parallel workers (true if any rank's is): each
    # rank times itself, and ranks that disagree on stopping would hang in the next all-reduce.
    agree: Callable[[bool], bool] | None = None


@dataclass
class LoopResult:
    best_state: dict[str, torch.Tensor]
    best_epoch: int
    best_metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    stopped: str = "completed all epochs"
    resumed_from: int | None = None


def _checkpoint_paths(folder: Path) -> tuple[Path, Path]:
    return folder / "last.pt", folder / "last.json"


def _save_checkpoint(folder: Path, model: torch.nn.Module, optimizer: Any, scheduler: Any,
                     meta: dict[str, Any], best_state: dict[str, torch.Tensor]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    state_path, meta_path = _checkpoint_paths(folder)
    tmp = state_path.with_suffix(".tmp")
    # One file holds weights, optimiser, schedule and progress, renamed into place atomically,
    # so a kill at any moment leaves a consistent checkpoint; last.json is a readable copy.
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "best": best_state,
                "meta": json.dumps(meta)}, tmp)
    tmp.replace(state_path)
    meta_tmp = meta_path.with_suffix(".tmp")
    meta_tmp.write_text(json.dumps(meta))
    meta_tmp.replace(meta_path)


def fit_loop(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    train_epoch: Callable[[int, Step], float],
    validate: Callable[[], dict[str, float]],
    settings: LoopSettings,
    progress: Reporter,
    steps_per_epoch: int,
) -> LoopResult:
    history: list[dict[str, float]] = []
    best_score, best_epoch, best_metrics = float("-inf"), -1, {}
    best_state = copy.deepcopy(model.state_dict())
    start_epoch, resumed_from = 0, None

    if settings.resume:
        (start_epoch, resumed_from, best_state, best_score, best_epoch, best_metrics, history,
         stopped_before) = _resume(settings, model, optimizer, scheduler)
        progress.note(f"resumed from the checkpoint after epoch {start_epoch} "
                      f"(best {settings.monitor} so far {best_score:.4f} at epoch {best_epoch + 1})")
        if stopped_before:  # the run had already stopped early: nothing left to train
            return LoopResult(best_state, best_epoch, best_metrics, history, stopped_before, resumed_from)

    started, stopped = time.monotonic(), "completed all epochs"
    for epoch in range(start_epoch, settings.epochs):
        with progress.step(f"epoch {epoch + 1}/{settings.epochs}", total=steps_per_epoch) as step:
            model.train()
            loss = train_epoch(epoch, step)
            model.eval()
            metrics = validate()
        row = {"epoch": epoch + 1, "train_loss": loss, **{f"val_{k}": v for k, v in metrics.items()}}
        history.append(row)
        score = metrics[settings.monitor]
        progress.info(f"epoch {epoch + 1}: train loss {loss:.4f}, validation "
                      + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        progress.metrics(row, step=epoch + 1)
        if score > best_score:
            best_score, best_epoch, best_metrics = score, epoch, dict(metrics)
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        early = epoch - best_epoch >= settings.patience and epoch + 1 >= settings.min_epochs
        if early:
            stopped = f"early stop: no {settings.monitor} gain for {settings.patience} epochs"
        if settings.checkpoint_dir is not None:
            meta = {"epoch": epoch + 1, "best_score": best_score, "best_epoch": best_epoch,
                    "best_metrics": best_metrics, "history": history,
                    "fingerprint": settings.fingerprint, "stopped": stopped if early else None}
            _save_checkpoint(settings.checkpoint_dir, model, optimizer, scheduler, meta, best_state)
        if settings.on_epoch is not None:
            settings.on_epoch(row, settings.checkpoint_dir)
        if early:
            break
        elapsed = time.monotonic() - started
        per_epoch = elapsed / (epoch + 1 - start_epoch)
        budget = settings.time_budget_s or 0.0
        over = budget > 0 and elapsed + per_epoch > budget
        if settings.agree is not None:
            over = settings.agree(over)
        if over and epoch + 1 < settings.epochs:
            stopped = f"time budget of {settings.time_budget_s / 60:.0f} min reached after epoch {epoch + 1}"
            break
    return LoopResult(best_state, best_epoch, best_metrics, history, stopped, resumed_from)


def _resume(settings: LoopSettings, model: torch.nn.Module, optimizer: Any, scheduler: Any) -> tuple:
    folder = settings.resume_from or settings.checkpoint_dir
    if folder is None or not _checkpoint_paths(folder)[1].is_file():
        raise FeatureshipError(
            f"--resume: no checkpoint found in {folder}. Start the run without --resume."
        )
    state_path, _ = _checkpoint_paths(folder)
    try:
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        meta = json.loads(state["meta"])
    except Exception as exc:  # truncated or foreign file: say so instead of a traceback
        raise FeatureshipError(
            f"--resume: the checkpoint {state_path} cannot be read ({exc}). "
            "Start afresh without --resume."
        ) from exc
    if meta.get("fingerprint") != settings.fingerprint:
        raise FeatureshipError(
            f"--resume: the checkpoint in {folder} was made with other data or settings; "
            "resume with the same command, or start afresh without --resume."
        )
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    epoch = int(meta["epoch"])
    return (epoch, epoch, state["best"], float(meta["best_score"]), int(meta["best_epoch"]),
            dict(meta["best_metrics"]), list(meta["history"]), meta.get("stopped"))

"""The worker side of data-parallel training, shared by every task that scales.

A training loop written for one process runs on N Ray Train workers (DDP) when it asks its
`Shard` for its part of each batch, weights its loss by it, and gathers validation through
it. With one process (`Shard()`), every call is the identity, so the local path is the
same code. Checkpoints go through Ray Train (`WorkerCheckpoints`), so a restarted worker
group resumes from the last epoch reported.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from featureship.training import LoopResult

FINAL_FILE = "final.pt"


@dataclass(frozen=True)
class Shard:
    """This process's rank among `world` data-parallel workers (rank 0 of 1: local)."""

    rank: int = 0
    world: int = 1

    def part(self, index: list[int]) -> tuple[list[int], float]:
        """This rank's rows of a global batch and the factor on their summed loss.

        Each rank gets a contiguous slice; DDP averages gradients over ranks, so a summed loss
        times world / len(batch) makes the update that of the whole batch on one process (the
        same number of steps and the same schedule as local training). A batch with fewer rows
        than ranks gives the spare ranks one row at weight 0: they still join the all-reduce.
        """
        if self.world == 1:
            return index, 1.0 / len(index)
        if len(index) < self.world and self.rank >= len(index):
            return index[:1], 0.0
        size, extra = divmod(len(index), self.world)
        start = self.rank * size + min(self.rank, extra)
        stop = start + size + (1 if self.rank < extra else 0)
        return index[start:stop], self.world / len(index)

    def rows(self, n: int) -> list[int]:
        """This rank's share of n evaluation rows (strided)."""
        return list(range(self.rank, n, self.world))

    def gather(self, value: Any) -> list[Any]:
        """Every rank's `value`, in rank order."""
        if self.world == 1:
            return [value]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, value)
        return out

    def any(self, flag: bool) -> bool:
        """True on every rank if it is on any (a stop decision all ranks must share)."""
        if self.world == 1:
            return flag
        import torch.distributed as dist

        value = torch.tensor([1.0 if flag else 0.0])
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item() > 0)

    def total(self, *numbers: float) -> list[float]:
        """Sums over ranks (an epoch's loss and row count)."""
        if self.world == 1:
            return list(numbers)
        import torch.distributed as dist

        values = torch.tensor(numbers, dtype=torch.float64)
        dist.all_reduce(values)
        return values.tolist()


class WorkerCheckpoints:
    """Checkpoints of one Ray Train worker: resume from Ray's, report a new one each epoch.

    Rank 0 writes the loop's checkpoint into a private folder and hands it to
    `ray.train.report`; the other ranks report their metrics only (the weights are the same).
    """

    def __init__(self, shard: Shard) -> None:
        import ray.train

        self.shard = shard
        self.folder = Path(tempfile.mkdtemp(prefix=f"featureship-rank{shard.rank}-"))
        self.resume_from: Path | None = None
        given = ray.train.get_checkpoint()
        if given is not None:  # a restarted worker group: continue after the last reported epoch
            self.resume_from = self.folder / "restored"
            given.to_directory(str(self.resume_from))
        self.checkpoint_dir = self.folder / "epoch" if shard.rank == 0 else None

    def on_epoch(self, row: dict[str, float], folder: Path | None) -> None:
        import ray.train
        from ray.train import Checkpoint

        checkpoint = Checkpoint.from_directory(str(folder)) if folder is not None else None
        ray.train.report(dict(row), checkpoint=checkpoint)

    def report_final(self, result: LoopResult) -> None:
        """The outcome (best weights and the run's history) as the last checkpoint."""
        import ray.train
        from ray.train import Checkpoint

        if self.shard.rank != 0:
            ray.train.report({"done": 1.0}, checkpoint=None)
            return
        final = self.folder / "final"
        final.mkdir()
        meta = {"best_epoch": result.best_epoch, "best_metrics": result.best_metrics,
                "history": result.history, "stopped": result.stopped,
                "resumed_from": result.resumed_from}
        torch.save({"best": result.best_state, "meta": json.dumps(meta)}, final / FINAL_FILE)
        ray.train.report({"done": 1.0}, checkpoint=Checkpoint.from_directory(str(final)))

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def read_final(folder: Path) -> LoopResult:
    """The `LoopResult` rank 0 reported last (weights read with weights_only=True)."""
    state = torch.load(folder / FINAL_FILE, map_location="cpu", weights_only=True)
    meta = json.loads(state["meta"])
    return LoopResult(state["best"], int(meta["best_epoch"]), dict(meta["best_metrics"]),
                      list(meta["history"]), str(meta["stopped"]), meta.get("resumed_from"))

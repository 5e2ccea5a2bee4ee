"""The shared training loop's stopping rules (scripted validation scores, a one-weight model)."""

from __future__ import annotations

import torch

from featureship.progress import silent
from featureship.training import LoopSettings, fit_loop


def _run(scores: list[float], **settings) -> list[int]:
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    given = iter(scores)
    result = fit_loop(model, optimizer, scheduler, lambda epoch, step: 0.0,
                      lambda: {"macro_f1": next(given)}, LoopSettings(epochs=len(scores), **settings),
                      silent(), steps_per_epoch=1)
    return [int(row["epoch"]) for row in result.history]


STALLS_AFTER_EPOCH_1 = [0.5, 0.4, 0.4, 0.4, 0.4, 0.6, 0.4, 0.4]


def test_patience_stops_after_that_many_epochs_without_gain():
    assert _run(STALLS_AFTER_EPOCH_1, patience=2) == [1, 2, 3]


def test_no_early_stop_before_min_epochs_then_patience_applies():
    # the gain at epoch 6 comes after a stall that patience alone would have stopped on
    assert _run(STALLS_AFTER_EPOCH_1, patience=2, min_epochs=6) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert _run(STALLS_AFTER_EPOCH_1, patience=2, min_epochs=4) == [1, 2, 3, 4]

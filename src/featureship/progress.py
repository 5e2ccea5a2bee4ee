"""Progress bars and notes for long steps, on rich; silent when asked to be (tests, servers)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

log = logging.getLogger("featureship")


class Step:
    """Handle for one running step: call `advance(n)`; `update(**fields)` for live numbers."""

    def __init__(self, progress: Progress | None, task_id: int | None) -> None:
        self._progress, self._id = progress, task_id

    def advance(self, n: float = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._id, n)

    def describe(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._id, description=text)


class Reporter:
    """What a task uses to show progress and tell the user things (notes end up in the summary)."""

    def __init__(self, console: Console | None = None, enabled: bool = True) -> None:
        self.console = console or Console(stderr=True)
        self.enabled = enabled
        self.notes: list[str] = []
        # Who else hears about per-epoch metrics (an MLflow run, featureship.tracking).
        self.metric_listeners: list[Callable[[dict[str, Any], int], None]] = []

    @contextmanager
    def step(self, description: str, total: float | None = None) -> Iterator[Step]:
        if not self.enabled:
            yield Step(None, None)
            return
        columns = [SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
        with Progress(*columns, console=self.console, transient=False) as progress:
            yield Step(progress, progress.add_task(description, total=total))

    def note(self, message: str) -> None:
        """Something the user should know (skipped rows, a fallback taken); kept for the summary."""
        self.notes.append(message)
        log.info(message)
        if self.enabled:
            self.console.print(f"[yellow]note:[/] {message}")

    def metrics(self, row: dict[str, Any], step: int) -> None:
        """Numbers of one training step (an epoch's losses and validation scores)."""
        for listener in self.metric_listeners:
            listener(row, step)

    def info(self, message: str) -> None:
        log.info(message)
        if self.enabled:
            self.console.print(message)


def silent() -> Reporter:
    return Reporter(enabled=False)

"""One console training run, in its own process: `python -m featureship.serving.training.job RUN_DIR`.

Reads RUN_DIR/spec.json ({task, data, output, settings}), trains with `featureship.train`, and
appends its progress to RUN_DIR/events.jsonl as JSON lines the server streams to the page. A
user mistake ends the run with the same message the CLI prints; anything else with its type
and message (the traceback goes to RUN_DIR/log.txt).
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from featureship.progress import Reporter

_EVERY_S = 0.25  # at most four progress events a second per step


class EventStep:
    def __init__(self, reporter: EventReporter, description: str, total: float | None) -> None:
        self.reporter, self.description, self.total = reporter, description, total
        self.completed, self._sent = 0.0, 0.0

    def advance(self, n: float = 1) -> None:
        self.completed += n
        now = time.monotonic()
        if now - self._sent >= _EVERY_S or (self.total and self.completed >= self.total):
            self._sent = now
            self.reporter.emit("progress", description=self.description,
                               completed=self.completed, total=self.total)

    def describe(self, text: str) -> None:
        self.description = text
        self.reporter.emit("progress", description=text, completed=self.completed, total=self.total)


class EventReporter(Reporter):
    """A Reporter whose steps, notes and metrics become JSON lines."""

    def __init__(self, sink: TextIO) -> None:
        super().__init__(enabled=False)
        self.sink = sink
        self.metric_listeners.append(lambda row, step: self.emit("metrics", step=step, row=row))

    def emit(self, kind: str, **fields: Any) -> None:
        self.sink.write(json.dumps({"type": kind, "time": time.time(), **fields}, default=str) + "\n")
        self.sink.flush()

    @contextmanager
    def step(self, description: str, total: float | None = None) -> Iterator[EventStep]:
        self.emit("step", description=description, total=total)
        step = EventStep(self, description, total)
        yield step
        self.emit("progress", description=step.description, completed=step.completed,
                  total=step.total, finished=True)

    def note(self, message: str) -> None:
        super().note(message)
        self.emit("note", message=message)

    def info(self, message: str) -> None:
        super().info(message)
        self.emit("info", message=message)


def run(run_dir: Path) -> int:
    from featureship.api import train
    from featureship.errors import FeatureshipError

    spec = json.loads((run_dir / "spec.json").read_text(encoding="utf-8"))
    with (run_dir / "events.jsonl").open("a", encoding="utf-8") as sink:
        reporter = EventReporter(sink)
        reporter.emit("started", task=spec["task"], pid=_pid())
        try:
            model = train(spec["task"], data=spec["data"], output=spec["output"], progress=reporter,
                          **spec["settings"])
        except FeatureshipError as exc:
            reporter.emit("failed", message=str(exc))
            return 2
        except Exception as exc:
            traceback.print_exc()
            reporter.emit("failed", message=f"Training failed ({type(exc).__name__}: {exc}); "
                          f"the traceback is in {run_dir / 'log.txt'}.")
            return 1
        reporter.emit("trained", metrics=model.metrics, chosen=model.describe().chosen,
                      notes=reporter.notes)
    return 0


def _pid() -> int:
    import os

    return os.getpid()


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))

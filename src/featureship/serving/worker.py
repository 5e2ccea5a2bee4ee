"""Worker threads per served model: they own the model and batch concurrent requests.

    worker = ModelWorker("intent", max_batch_size=32, max_latency_s=0.005, max_queue=64, ...)
    worker.start(model, threads=1, replicas=[copy])   # copy: the bundle loaded a second time
    outputs = await worker.predict("predict", ["a text", "another"])   # from the event loop
    answer = await worker.call(lambda model: model.recommend(user=1, k=5))
    worker.stop()                                                       # drains what is queued

Requests for a batch endpoint (`Endpoint.batch`) queue here; the worker takes every queued
request that fits into `max_batch_size` inputs and calls the model once for all of them, so
concurrent callers share forward passes and no lock serialises them. Only this thread touches
the model, so a Hugging Face tokenizer is never shared across threads ("Already borrowed").

Replicas (Triton's instance count, TorchServe's workers per model): each further copy of the
model gets its own thread, and all take batches from the one queue. Two single-threaded
copies use two cores without an OpenMP barrier between them, so a thread the event loop
preempts delays only its own batch: MiniLM on 2 cores embedded 175 reviews/s as two
1-thread replicas against 114/s as one 2-thread model (batches of 32, benchmarks/RESULTS.md).

When to wait for more: a batch waits (at most `max_latency_s` from its first request's
arrival) only for as many requests as the previous batch had. A lone client therefore never
waits (its last batch had one request); under load of N concurrent callers the batch waits
for the N that are about to arrive. Batch size follows load in both directions (when a burst
ends, the next lone request waits at most `max_latency_s` once, then no more).

A batch whose call raises is retried one request at a time, so a bad input fails only its own
request.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from featureship.serving.metrics import Metrics
    from featureship.tasks.base import FittedModel

logger = logging.getLogger("featureship.serving")

# After a batch, a fresh drift verdict (monitor.verdict()) at most this often: it feeds the
# Prometheus gauges, and the test behind it may cost more than one observe.
VERDICT_EVERY_S = 5.0


class QueueFull(Exception):
    """More requests wait for this model than the server allows (answered 503)."""


class NotRunning(Exception):
    """The worker is not started or is shutting down (answered 503)."""


@dataclass
class _Job:
    handler: str  # the model method (batch jobs), or "" for a call
    inputs: list[Any] | None
    call: Callable[[FittedModel], Any] | None
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    enqueued: float = field(default_factory=time.perf_counter)


class ModelWorker:
    """The thread that owns one model; `predict`/`call` are awaited from the event loop."""

    def __init__(self, name: str, max_batch_size: int, max_latency_s: float, max_queue: int,
                 metrics: Metrics | None = None) -> None:
        self.name = name
        self.max_batch_size = max_batch_size
        self.max_latency_s = max_latency_s
        self.max_queue = max_queue
        self.metrics = metrics
        self.copies: list[FittedModel] = []  # the model and its further copies
        self.monitor: Any = None  # a featureship.monitoring LiveMonitor, when the bundle has one
        self.last_verdict: dict[str, Any] | None = None
        self._verdict_at = 0.0
        self._jobs: deque[_Job] = deque()
        self._wake = threading.Condition()
        self._workers: list[threading.Thread] = []
        self._stopping = False
        self._threads = 0

    @property
    def waiting(self) -> int:
        """Requests queued and not yet taken into a batch."""
        return len(self._jobs)

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._workers) and not self._stopping

    @property
    def replicas(self) -> int:
        return len(self._workers)

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self, model: FittedModel, threads: int = 0, monitor: Any = None,
              replicas: list[FittedModel] | tuple[FittedModel, ...] = ()) -> None:
        """Start one thread that owns `model` and one per further copy in `replicas` (each
        loaded separately: copies share nothing); `threads` > 0 sets each one's torch
        intra-op threads."""
        self.monitor, self._threads = monitor, threads
        self.copies = [model, *replicas]
        self._stopping = False
        if self.metrics is not None:
            self.metrics.queue_depth.labels(self.name).set_function(lambda: len(self._jobs))
        self._workers = [
            threading.Thread(target=self._run, args=(copy,), daemon=True,
                             name=f"featureship-model-{self.name}" + (f"-{k}" if k else ""))
            for k, copy in enumerate(self.copies)]
        for thread in self._workers:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish every queued request, then end the threads (or give up after `timeout`)."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._workers:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                logger.warning("model '%s': worker still busy after %.0f s at shutdown",
                               self.name, timeout)
        self._workers = []

    # ---- from the event loop -------------------------------------------------------------------
    async def predict(self, handler: str, inputs: list[Any]) -> list[Any]:
        """`model.<handler>(inputs)`, possibly batched with other requests' inputs."""
        return await self._submit(handler, list(inputs), None)

    async def call(self, fn: Callable[[FittedModel], Any]) -> Any:
        """`fn(model)` on the worker thread, alone (for endpoints that do not batch)."""
        return await self._submit("", None, fn)

    async def _submit(self, handler: str, inputs: list[Any] | None,
                      call: Callable[[FittedModel], Any] | None) -> Any:
        if not self.running:
            raise NotRunning
        loop = asyncio.get_running_loop()
        job = _Job(handler, inputs, call, loop.create_future(), loop)
        with self._wake:
            if len(self._jobs) >= self.max_queue:
                raise QueueFull
            self._jobs.append(job)
            self._wake.notify()
        return await job.future

    # ---- on a worker thread ------------------------------------------------------------------
    def _run(self, model: FittedModel) -> None:
        if self._threads > 0:
            import torch

            # Per thread under OpenMP: this worker's forward passes use its share of the cores.
            torch.set_num_threads(self._threads)
        expected = 1  # requests in this thread's previous batch (see the module docstring)
        while True:
            batch = self._next_batch(expected)
            if batch is None:
                return
            if batch[0].call is not None:
                self._run_call(batch[0], model)
            else:
                expected = len(batch)
                self._run_batch(batch, model)

    def _next_batch(self, expected: int) -> list[_Job] | None:
        with self._wake:
            while True:
                while not self._jobs and not self._stopping:
                    self._wake.wait()
                if not self._jobs:
                    return None  # stopping, and everything queued is answered
                first = self._jobs.popleft()
                if not first.future.cancelled():  # the caller went away while it queued
                    break
            if first.call is not None:
                return [first]
            batch, size = [first], len(first.inputs or ())
            deadline = first.enqueued + self.max_latency_s
            while size < self.max_batch_size:
                if self._jobs:
                    job = self._jobs[0]
                    if job.call is not None or job.handler != first.handler:
                        break  # keep arrival order: the other kind runs next
                    if job.future.cancelled():
                        self._jobs.popleft()
                        continue
                    if size + len(job.inputs or ()) > self.max_batch_size:
                        break
                    self._jobs.popleft()
                    batch.append(job)
                    size += len(job.inputs or ())
                    continue
                remaining = deadline - time.perf_counter()
                if len(batch) >= expected or remaining <= 0 or self._stopping:
                    break
                self._wake.wait(remaining)
            return batch

    def _run_call(self, job: _Job, model: FittedModel) -> None:
        self._waited([job])
        try:
            _settle(job, job.call(model), None)  # type: ignore[misc]
        except Exception as exc:
            _settle(job, None, exc)

    def _run_batch(self, batch: list[_Job], model: FittedModel, isolating: bool = False) -> None:
        if not isolating:
            self._waited(batch)
        inputs = [x for job in batch for x in job.inputs or ()]
        try:
            outputs = list(getattr(model, batch[0].handler)(inputs))
            if len(outputs) != len(inputs):
                raise RuntimeError(f"model.{batch[0].handler} returned {len(outputs)} results "
                                   f"for {len(inputs)} inputs")
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0], None, exc)
            else:  # find the request(s) at fault: each of the others still gets its answer
                for job in batch:
                    self._run_batch([job], model, isolating=True)
            return
        if self.metrics is not None:
            self.metrics.observe_batch(self.name, len(inputs))
            self.metrics.count_predictions(self.name, outputs)
        start = 0
        for job in batch:
            end = start + len(job.inputs or ())
            _settle(job, outputs[start:end], None)
            start = end
        self._observe(inputs, outputs, model)

    def _waited(self, batch: list[_Job]) -> None:
        if self.metrics is not None:
            now = time.perf_counter()
            for job in batch:
                self.metrics.queue_wait.labels(self.name).observe(now - job.enqueued)

    def _observe(self, inputs: list[Any], outputs: list[Any], model: FittedModel) -> None:
        """Feed the drift monitor; its failures are logged and never fail a request."""
        if self.monitor is None:
            return
        try:
            # `model`: the copy that just predicted holds this batch's features in its cache
            self.monitor.observe(inputs, outputs, model=model)
            if time.monotonic() - self._verdict_at >= VERDICT_EVERY_S:
                self.refresh_verdict()
        except Exception as exc:
            logger.error("model '%s': drift monitor failed (requests are unaffected): %s",
                         self.name, describe_failure(exc))

    def refresh_verdict(self) -> dict[str, Any]:
        """A fresh verdict from the monitor (call on the worker thread); updates the gauges."""
        verdict = dict(self.monitor.verdict())
        self.last_verdict, self._verdict_at = verdict, time.monotonic()
        if self.metrics is not None:
            self.metrics.drift.labels(self.name).set(1.0 if verdict.get("drift") else 0.0)
            statistic = verdict.get("statistic")
            if isinstance(statistic, (int, float)) and not isinstance(statistic, bool):
                self.metrics.drift_statistic.labels(self.name).set(float(statistic))
        return verdict


def _settle(job: _Job, result: Any, error: BaseException | None) -> None:
    def settle() -> None:
        if job.future.done():  # cancelled: the client disconnected
            return
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)

    try:
        job.loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the event loop is closed: nobody waits for this answer any more
        pass


def describe_failure(exc: BaseException) -> str:
    """The exception's type and traceback without its message: a message may quote the
    request's inputs, and request bodies are never logged."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    return f"{type(exc).__module__}.{type(exc).__qualname__} (message withheld)\n{frames}"


@dataclass(frozen=True)
class ThreadPlan:
    cores: int
    replicas: int  # copies of each model, one worker thread each
    threads: int  # torch intra-op threads of each copy


def thread_plan(models: int, per_model: int = 0, replicas: int = 0) -> ThreadPlan:
    """How the cores are shared: copies of each model and intra-op threads per copy.

    Given values (> 0) are taken as they are. By default one model on two or more cores
    gets two copies (see the module docstring), and more models than half the cores get one
    copy each, so busy models do not oversubscribe the CPU. Intra-op
    threads split the cores left after one for the event loop (HTTP parsing, JSON and
    validation run there), one thread each at least. On a loaded 2-core machine, one MiniLM
    forward took 2.1 s with 2 intra-op threads and 0.17 s with 1: an OpenMP parallel region
    waits for its slowest thread, and a thread that shares its core with the event loop is
    often descheduled.
    """
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    models = max(1, models)
    copies = replicas if replicas > 0 else (2 if 2 * models <= cores else 1)
    if per_model > 0:
        return ThreadPlan(cores, copies, per_model)
    usable = cores - 1 if cores > 1 else 1
    return ThreadPlan(cores, copies, max(1, usable // (models * copies)))

"""The model worker: concurrent requests share forward passes, each gets its own answer."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from featureship.errors import FeatureshipError
from featureship.serving.metrics import Metrics
from featureship.serving.worker import ModelWorker, QueueFull, thread_plan


class CountingModel:
    """Answers each text with its upper-case form; records every call (thread, inputs).

    The first call can be held (`hold`) so that later requests pile up behind it.
    """

    def __init__(self, hold: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.threads: set[str] = set()
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def predict(self, rows: list[str]) -> list[dict[str, Any]]:
        self.threads.add(threading.current_thread().name)
        self.calls.append(list(rows))
        self.started.set()
        assert self.release.wait(timeout=10)
        if any(r == "bad" for r in rows):
            raise FeatureshipError("'bad' is not a text this model takes")
        if any(r == "crash" for r in rows):
            raise RuntimeError(f"crashed on {rows!r}")
        return [{"label": r.upper(), "score": 1.0} for r in rows]

    def recommend(self, user: int) -> dict[str, Any]:
        self.threads.add(threading.current_thread().name)
        return {"user": user}


def make_worker(model: Any, **options: Any) -> ModelWorker:
    settings = {"max_batch_size": 32, "max_latency_s": 0.005, "max_queue": 64, **options}
    worker = ModelWorker("m", metrics=Metrics({("m", "predict")}, {"m": ["A", "B"]}), **settings)
    worker.start(model, threads=1)
    return worker


async def behind_a_held_call(worker: ModelWorker, model: CountingModel,
                             requests: list[list[str]]) -> list[Any]:
    """Send one request that the model holds, queue `requests` behind it, then release."""
    first = asyncio.ensure_future(worker.predict("predict", ["first"]))
    while not model.started.is_set():
        await asyncio.sleep(0.005)
    queued = [asyncio.ensure_future(worker.predict("predict", r)) for r in requests]
    while worker.waiting < len(requests):
        await asyncio.sleep(0.005)
    model.release.set()
    return await asyncio.gather(first, *queued, return_exceptions=True)


def test_concurrent_requests_share_one_forward_pass_and_each_gets_its_own_answer() -> None:
    model = CountingModel(hold=True)
    worker = make_worker(model)
    requests = [["a"], ["b", "c"], ["d"], ["e", "f", "g"]]
    try:
        answers = asyncio.run(behind_a_held_call(worker, model, requests))
    finally:
        worker.stop()
    assert model.calls == [["first"], ["a", "b", "c", "d", "e", "f", "g"]]  # 2 passes, not 5
    for texts, answer in zip([["first"], *requests], answers, strict=True):
        assert [p["label"] for p in answer] == [t.upper() for t in texts]
    assert model.threads == {"featureship-model-m"}  # only the worker touches the model


def test_a_batch_never_exceeds_max_batch_size() -> None:
    model = CountingModel(hold=True)
    worker = make_worker(model, max_batch_size=4)
    try:
        answers = asyncio.run(behind_a_held_call(worker, model, [[str(i)] for i in range(10)]))
    finally:
        worker.stop()
    assert [len(c) for c in model.calls] == [1, 4, 4, 2]
    assert [a[0]["label"] for a in answers[1:]] == [str(i) for i in range(10)]


def test_a_failing_input_fails_only_its_own_request() -> None:
    model = CountingModel(hold=True)
    worker = make_worker(model)
    try:
        answers = asyncio.run(behind_a_held_call(worker, model, [["a"], ["bad"], ["c"], ["crash"]]))
    finally:
        worker.stop()
    assert [p["label"] for p in answers[2 - 1]] == ["A"]
    assert isinstance(answers[2], FeatureshipError)
    assert [p["label"] for p in answers[3]] == ["C"]
    assert isinstance(answers[4], RuntimeError)
    # the batch failed, then each request ran alone to find the one at fault
    assert model.calls[1] == ["a", "bad", "c", "crash"]
    assert model.calls[2:] == [["a"], ["bad"], ["c"], ["crash"]]


def test_a_lone_request_does_not_wait_for_company() -> None:
    # A latency budget far beyond the test's timeout: answered at all means it did not wait.
    worker = make_worker(CountingModel(), max_latency_s=60.0)

    async def alone() -> list[Any]:
        return [await asyncio.wait_for(worker.predict("predict", [t]), timeout=20) for t in "xyz"]

    try:
        answers = asyncio.run(alone())
    finally:
        worker.stop()
    assert [a[0]["label"] for a in answers] == ["X", "Y", "Z"]


def test_a_full_queue_is_refused() -> None:
    model = CountingModel(hold=True)
    worker = make_worker(model, max_queue=2)

    async def flood() -> None:
        first = asyncio.ensure_future(worker.predict("predict", ["first"]))
        while not model.started.is_set():
            await asyncio.sleep(0.005)
        queued = [asyncio.ensure_future(worker.predict("predict", ["q"])) for _ in range(2)]
        while worker.waiting < 2:
            await asyncio.sleep(0.005)
        with pytest.raises(QueueFull):
            await worker.predict("predict", ["one too many"])
        model.release.set()
        await asyncio.gather(first, *queued)

    try:
        asyncio.run(flood())
    finally:
        worker.stop()


def test_other_endpoints_run_on_the_worker_thread_too() -> None:
    model = CountingModel()
    worker = make_worker(model)
    try:
        answer = asyncio.run(worker.call(lambda m: m.recommend(user=7)))
    finally:
        worker.stop()
    assert answer == {"user": 7}
    assert model.threads == {"featureship-model-m"}


def test_metrics_record_batch_sizes_queue_wait_and_labels() -> None:
    model = CountingModel(hold=True)
    worker = make_worker(model)
    try:
        asyncio.run(behind_a_held_call(worker, model, [["a"], ["b"], ["zzz"]]))
    finally:
        worker.stop()
    registry = worker.metrics.registry
    assert registry.get_sample_value("featureship_batch_size_count", {"model": "m"}) == 2
    assert registry.get_sample_value("featureship_batch_size_sum", {"model": "m"}) == 4
    assert registry.get_sample_value("featureship_queue_wait_seconds_count", {"model": "m"}) == 4
    assert registry.get_sample_value("featureship_predictions_total",
                                     {"model": "m", "label": "A"}) == 1
    # labels the model was not trained on collapse to one series
    assert registry.get_sample_value("featureship_predictions_total",
                                     {"model": "m", "label": "_other"}) == 2


class FakeMonitor:
    def __init__(self, fail: bool = False) -> None:
        self.seen: list[tuple[list[Any], list[dict]]] = []
        self.fail = fail

    def observe(self, inputs: list, outputs: list[dict], model: Any = None) -> None:
        if self.fail:
            raise ValueError(f"cannot profile {inputs[0]!r}")
        self.seen.append((list(inputs), list(outputs)))

    def verdict(self) -> dict[str, Any]:
        return {"drift": len(self.seen) > 1, "statistic": float(len(self.seen)), "window": 1}


def test_the_monitor_observes_every_batch_and_its_failures_never_fail_a_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model, monitor = CountingModel(hold=True), FakeMonitor()
    worker = make_worker(model)
    worker.monitor = monitor
    try:
        asyncio.run(behind_a_held_call(worker, model, [["a"], ["b"]]))
    finally:
        worker.stop()
    assert [inputs for inputs, _ in monitor.seen] == [["first"], ["a", "b"]]
    assert [o["label"] for o in monitor.seen[1][1]] == ["A", "B"]

    failing = make_worker(CountingModel())
    failing.monitor = FakeMonitor(fail=True)
    with caplog.at_level(logging.ERROR, logger="featureship.serving"):
        try:
            answer = asyncio.run(failing.predict("predict", ["secret-input-text"]))
        finally:
            failing.stop()
    assert answer[0]["label"] == "SECRET-INPUT-TEXT"
    assert "drift monitor failed" in caplog.text
    assert "secret-input-text" not in caplog.text  # the message may quote inputs: withheld


def test_stop_answers_what_is_queued_first() -> None:
    model = CountingModel(hold=True)
    worker = make_worker(model)

    async def scenario() -> list[Any]:
        first = asyncio.ensure_future(worker.predict("predict", ["first"]))
        while not model.started.is_set():
            await asyncio.sleep(0.005)
        queued = asyncio.ensure_future(worker.predict("predict", ["queued"]))
        while worker.waiting < 1:
            await asyncio.sleep(0.005)
        stopper = threading.Thread(target=worker.stop)
        stopper.start()
        model.release.set()
        answers = await asyncio.gather(first, queued)
        stopper.join(timeout=10)
        return answers

    answers = asyncio.run(scenario())
    assert [a[0]["label"] for a in answers] == ["FIRST", "QUEUED"]
    assert not worker.running


@pytest.mark.parametrize("models", [1, 2, 3, 64])
def test_thread_plan_splits_the_cores_and_leaves_one_for_http(models: int) -> None:
    plan = thread_plan(models)
    assert plan.threads >= 1 and plan.replicas >= 1
    # never oversubscribed beyond one thread per copy, and intra-op threads leave a core free
    assert plan.threads * plan.replicas * models <= max(plan.cores - 1, models * plan.replicas)
    assert plan.replicas * models <= max(plan.cores, models)
    given = thread_plan(models, per_model=3, replicas=4)
    assert (given.replicas, given.threads) == (4, 3)  # the flags win


def test_replicas_take_batches_from_one_queue_each_on_its_own_thread() -> None:
    first, second = CountingModel(hold=True), CountingModel(hold=True)
    worker = ModelWorker("m", max_batch_size=2, max_latency_s=0.005, max_queue=64)
    worker.start(first, threads=1, replicas=[second])

    async def scenario() -> list[Any]:
        calls = [asyncio.ensure_future(worker.predict("predict", [t])) for t in "abcdef"]
        while not (first.started.is_set() and second.started.is_set()):
            await asyncio.sleep(0.005)  # both copies busy at once: neither waits for the other
        first.release.set()
        second.release.set()
        return await asyncio.gather(*calls)

    try:
        assert worker.replicas == 2
        answers = asyncio.run(scenario())
    finally:
        worker.stop()
    assert [a[0]["label"] for a in answers] == list("ABCDEF")  # each its own answer, in order
    seen = sorted(t for c in first.calls + second.calls for t in c)
    assert seen == list("abcdef")  # every input predicted once, by one copy or the other
    assert first.threads == {"featureship-model-m"} and second.threads == {"featureship-model-m-1"}
    assert not worker.running

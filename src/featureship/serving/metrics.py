"""Prometheus metrics for one app, served at GET /metrics through `prometheus_client`.

Each app gets its own `CollectorRegistry` (tests and embedders create many apps in one
process; the global registry would refuse the second set of names). Unknown model names and
paths collapse to one label value, so scanners cannot grow the number of series.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from featureship.serving.live import LiveWindow

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "MetricsMiddleware"]

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_WAIT_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
_BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
_MODEL_ROUTE = re.compile(r"^/v1/models/([^/]+)/([^/]+)$")
_OTHER_ROUTES = {"/", "/healthz", "/readyz", "/v1/models", "/v1/live", "/metrics", "/docs",
                 "/openapi.json"}
UNKNOWN = "_unknown"
OTHER_LABEL = "_other"


class Metrics:
    """The server's metrics; the worker threads update them too (prometheus_client locks)."""

    def __init__(self, routes: set[tuple[str, str]], labels: dict[str, Iterable[str]]) -> None:
        self.routes = routes  # (model, endpoint) pairs that exist
        self.known_labels = {model: set(names) for model, names in labels.items()}
        # the last minutes, for the console's charts (GET /v1/live)
        self.live = LiveWindow(list(self.known_labels))
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("featureship_requests", "Requests by model, endpoint and HTTP "
                                "status.", ["model", "endpoint", "status"], registry=r)
        self.errors = Counter("featureship_request_errors", "Requests answered with status >= "
                              "400, by status.", ["model", "endpoint", "status"], registry=r)
        self.duration = Histogram("featureship_request_duration_seconds", "Time to answer a "
                                  "request.", ["model", "endpoint"], buckets=_SECONDS, registry=r)
        self.in_flight = Gauge("featureship_requests_in_flight", "Requests being answered now.",
                               ["model", "endpoint"], registry=r)
        self.queue_wait = Histogram("featureship_queue_wait_seconds", "Time a request waited for "
                                    "its model's worker.", ["model"], buckets=_WAIT_SECONDS,
                                    registry=r)
        self.queue_depth = Gauge("featureship_queue_depth", "Requests waiting for the model's "
                                 "worker now.", ["model"], registry=r)
        self.batch_size = Histogram("featureship_batch_size", "Inputs per model forward pass "
                                    "(gathered from concurrent requests).", ["model"],
                                    buckets=_BATCH_SIZES, registry=r)
        self.predictions = Counter("featureship_predictions", "Predictions by model and predicted "
                                   "label.", ["model", "label"], registry=r)
        self.load_seconds = Gauge("featureship_model_load_seconds", "Time the model took to load "
                                  "and verify at start-up.", ["model"], registry=r)
        self.models_loaded = Gauge("featureship_models_loaded", "Models loaded and answering.",
                                   registry=r)
        self.drift = Gauge("featureship_drift", "1 when the model's live inputs drift from its "
                           "training reference, else 0.", ["model"], registry=r)
        self.drift_statistic = Gauge("featureship_drift_statistic", "The drift test's statistic "
                                     "on the live window.", ["model"], registry=r)

    def add_model(self, model: str, endpoints: Iterable[str], labels: Iterable[str]) -> None:
        """Count a model added after start-up (the console's freshly trained ones)."""
        self.routes |= {(model, endpoint) for endpoint in endpoints}
        self.known_labels[model] = set(labels)
        self.live.add_model(model)

    def observe_batch(self, model: str, size: int) -> None:
        self.batch_size.labels(model).observe(size)
        self.live.batch(model, size)

    def labels_for(self, path: str) -> tuple[str, str]:
        match = _MODEL_ROUTE.match(path)
        if match:
            model, endpoint = match.groups()
            if (model, endpoint) not in self.routes and not (
                    endpoint in ("drift", "report") and model in self.known_labels):
                return UNKNOWN, UNKNOWN
            return model, endpoint
        if path.startswith("/docs/"):
            return "", "/docs/assets"
        if path.startswith("/console/"):
            return "", "/console/assets"
        return "", path if path in _OTHER_ROUTES else "other"

    def observe(self, model: str, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(model, endpoint, str(status)).inc()
        if status >= 400:
            self.errors.labels(model, endpoint, str(status)).inc()
        self.duration.labels(model, endpoint).observe(seconds)
        if (model, endpoint) in self.routes:  # model calls only, not its report or drift
            self.live.request(model, seconds, status)

    def count_predictions(self, model: str, outputs: list[Any]) -> None:
        """Count predicted labels; labels the model was not trained on count as `_other`."""
        known = self.known_labels.get(model, set())
        counts: dict[str, int] = {}
        for output in outputs:
            label = output.get("label") if isinstance(output, dict) else None
            if isinstance(label, str):
                key = label if label in known else OTHER_LABEL
                counts[key] = counts.get(key, 0) + 1
        for label, n in counts.items():
            self.predictions.labels(model, label).inc(n)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware: times every request, records it, and sets `X-Process-Time`."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # stays 500 if the app raises before answering
        model, endpoint = self.metrics.labels_for(scope["path"])
        in_flight = self.metrics.in_flight.labels(model, endpoint)

        async def send_timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers.append("X-Process-Time", f"{time.perf_counter() - started:.4f}")
            await send(message)

        in_flight.inc()
        try:
            await self.app(scope, receive, send_timed)
        finally:
            in_flight.dec()
            self.metrics.observe(model, endpoint, status, time.perf_counter() - started)

"""Cheap in-memory request metrics per model, served as Prometheus text at GET /metrics.

Hand-written rather than `prometheus_client` to keep the server free of a dependency for
a handful of counters; the text format is simple and stable.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_MODEL_ROUTE = re.compile(r"^/v1/models/([^/]+)/([^/]+)$")
_OTHER_ROUTES = {"/healthz", "/v1/models", "/metrics", "/docs", "/openapi.json", "/redoc"}
UNKNOWN = "_unknown"


class Metrics:
    """Counters and latency histograms keyed by (model, endpoint).

    Only touched from the event loop (the middleware and the async /metrics endpoint), so it
    needs no lock.
    """

    def __init__(self, routes: set[tuple[str, str]]) -> None:
        self.routes = routes  # (model, endpoint) pairs that exist
        self.model_names = {model for model, _ in routes}
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.buckets: dict[tuple[str, str], list[int]] = {}
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)

    def labels_for(self, path: str) -> tuple[str, str]:
        # Unknown names and paths collapse to one label so scanners cannot grow the series.
        match = _MODEL_ROUTE.match(path)
        if match:
            model, endpoint = match.groups()
            if (model, endpoint) not in self.routes:
                return UNKNOWN, UNKNOWN
            return model, endpoint
        return "", path if path in _OTHER_ROUTES else "other"

    def observe(self, path: str, status: int, seconds: float) -> None:
        key = self.labels_for(path)
        self.requests[(*key, status)] += 1
        counts = self.buckets.setdefault(key, [0] * (len(_BUCKETS) + 1))
        counts[next((i for i, b in enumerate(_BUCKETS) if seconds <= b), len(_BUCKETS))] += 1
        self.seconds[key] += seconds

    def render(self) -> str:
        lines = [
            "# HELP featureship_models_loaded Models this server serves.",
            "# TYPE featureship_models_loaded gauge",
            f"featureship_models_loaded {len(self.model_names)}",
            (
                "# HELP featureship_requests_total Requests by model, endpoint and HTTP status "
                "(errors are status >= 400)."
            ),
            "# TYPE featureship_requests_total counter",
        ]
        for (model, endpoint, status), n in sorted(self.requests.items()):
            lines.append(
                f'featureship_requests_total{{{_labels(model, endpoint)},status="{status}"}} {n}'
            )
        lines += [
            "# HELP featureship_request_errors_total Requests answered with status >= 400.",
            "# TYPE featureship_request_errors_total counter",
        ]
        errors: dict[tuple[str, str], int] = defaultdict(int)
        for (model, endpoint, status), n in self.requests.items():
            if status >= 400:
                errors[(model, endpoint)] += n
        for (model, endpoint), n in sorted(errors.items()):
            lines.append(f"featureship_request_errors_total{{{_labels(model, endpoint)}}} {n}")
        lines += [
            "# HELP featureship_request_duration_seconds Time to answer a request.",
            "# TYPE featureship_request_duration_seconds histogram",
        ]
        for key, counts in sorted(self.buckets.items()):
            labels, running = _labels(*key), 0
            for bound, count in zip((*_BUCKETS, float("inf")), counts, strict=True):
                running += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(
                    f'featureship_request_duration_seconds_bucket{{{labels},le="{le}"}} {running}'
                )
            lines.append(
                f"featureship_request_duration_seconds_sum{{{labels}}} {self.seconds[key]:.6f}"
            )
            lines.append(f"featureship_request_duration_seconds_count{{{labels}}} {running}")
        return "\n".join(lines) + "\n"


def _labels(model: str, endpoint: str) -> str:
    return f'model="{_escape(model)}",endpoint="{_escape(endpoint)}"'


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


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

        async def send_timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers.append("X-Process-Time", f"{time.perf_counter() - started:.4f}")
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            self.metrics.observe(scope["path"], status, time.perf_counter() - started)

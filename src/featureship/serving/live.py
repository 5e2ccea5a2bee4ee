"""The last minutes of traffic per model, for the console's live charts (`GET /v1/live`).

Prometheus histograms are cumulative since start-up; a chart of "the last five minutes" needs
the recent events themselves. Each model keeps its recent requests (time, latency, status)
and forward passes (time, batch size) in bounded deques; `series()` buckets them on demand.
Hand-written because it is two deques and a percentile: no library fits it better.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import numpy as np

HORIZON_S = 600.0  # what is kept: ten minutes
_MAX_EVENTS = 200_000  # per model and kind, so a flood cannot grow memory without bound


class LiveWindow:
    """Thread-safe: the event loop records requests, the model workers record batches."""

    def __init__(self, models: list[str], clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._requests: dict[str, deque[tuple[float, float, int]]] = {}
        self._batches: dict[str, deque[tuple[float, int]]] = {}
        for name in models:
            self.add_model(name)

    def add_model(self, name: str) -> None:
        with self._lock:
            self._requests.setdefault(name, deque(maxlen=_MAX_EVENTS))
            self._batches.setdefault(name, deque(maxlen=_MAX_EVENTS))

    def request(self, model: str, seconds: float, status: int) -> None:
        events = self._requests.get(model)
        if events is not None:
            with self._lock:
                events.append((self._clock(), seconds, status))

    def batch(self, model: str, size: int) -> None:
        events = self._batches.get(model)
        if events is not None:
            with self._lock:
                events.append((self._clock(), size))

    def series(self, window_s: float = 300.0, step_s: float = 5.0) -> dict[str, Any]:
        """Per model: totals over the window and one point per `step_s`, oldest first.

        A point: requests/s, errors/s, p50 and p99 latency (ms, None without requests) and the
        mean batch size (None without forward passes).
        """
        window_s = min(max(window_s, step_s), HORIZON_S)
        now = self._clock()
        start = now - window_s
        n_steps = int(round(window_s / step_s))
        out: dict[str, Any] = {}
        with self._lock:
            snapshot = {m: (list(self._requests[m]), list(self._batches[m])) for m in self._requests}
            for events in (*self._requests.values(), *self._batches.values()):
                while events and events[0][0] < now - HORIZON_S:
                    events.popleft()
        for model, (requests, batches) in snapshot.items():
            req = np.array([(t, s, c) for t, s, c in requests if t >= start]).reshape(-1, 3)
            bat = np.array([(t, b) for t, b in batches if t >= start]).reshape(-1, 2)
            req_bin = np.minimum(((req[:, 0] - start) // step_s).astype(int), n_steps - 1)
            bat_bin = np.minimum(((bat[:, 0] - start) // step_s).astype(int), n_steps - 1)
            points = []
            for i in range(n_steps):
                here, sizes = req[req_bin == i], bat[bat_bin == i, 1]
                points.append({
                    "t": round(i * step_s - window_s + step_s, 3),  # seconds before now (≤ 0)
                    "requests_per_s": len(here) / step_s,
                    "errors_per_s": float((here[:, 2] >= 400).sum()) / step_s,
                    "p50_ms": _ms(here[:, 1], 50), "p99_ms": _ms(here[:, 1], 99),
                    "batch_size": float(sizes.mean()) if len(sizes) else None,
                })
            # The headline numbers: the last minute (or the window, when shorter).
            recent = req[req[:, 0] >= now - min(60.0, window_s)]
            out[model] = {
                "requests": len(req),
                "requests_per_s": len(recent) / min(60.0, window_s),
                "p50_ms": _ms(recent[:, 1], 50), "p99_ms": _ms(recent[:, 1], 99),
                "batch_size": float(bat[:, 1].mean()) if len(bat) else None,
                "points": points,
            }
        return {"window_s": window_s, "step_s": step_s, "models": out}


def _ms(latencies: np.ndarray, q: float) -> float | None:
    return round(float(np.percentile(latencies, q)) * 1000, 2) if len(latencies) else None

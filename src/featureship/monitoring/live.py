"""Drift of a served model's live traffic: a sliding window of profiles, tested on demand.

    monitor = LiveMonitor.for_model(model)     # None: the bundle keeps no reference profile
    monitor.observe(inputs, outputs)           # after each predict batch (any thread)
    monitor.verdict()                          # {"drift", "statistic", "p_value", "window", ...}

The window holds feature vectors and label indices, never the inputs themselves. Features
come from the model's predict cache (text: the embeddings the forward pass already made, so
observing costs a dictionary lookup); when the cache misses (another thread predicted, or the
batch is gone), only every `recompute_every`-th such batch pays a second encoder pass, so
monitoring never doubles serving cost. Verdicts are computed when asked and reused until new
observations arrive.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import numpy as np

from featureship.monitoring.detector import DriftDetector
from featureship.tasks.base import FittedModel

WINDOW = 200
RECOMPUTE_EVERY = 4


class LiveMonitor:
    """A thread-safe sliding window of one model's live profiles and its drift verdict."""

    def __init__(self, model: FittedModel, detector: DriftDetector, window: int = WINDOW,
                 recompute_every: int = RECOMPUTE_EVERY) -> None:
        self.model, self.detector = model, detector
        self.window, self.recompute_every = window, recompute_every
        self._features: deque[np.ndarray] = deque(maxlen=window)
        self._labels: deque[int] = deque(maxlen=window)
        self._lookup = {label: i for i, label in enumerate(detector.labels)}
        self._lock = threading.Lock()
        self._compute_lock = threading.Lock()  # one second pass at a time
        self.counts = {"observed": 0, "features_cached": 0, "features_recomputed": 0,
                       "features_skipped": 0}
        self._misses = 0
        self._cached: tuple[int, dict[str, Any]] | None = None

    @classmethod
    def for_model(cls, model: FittedModel, **options: Any) -> LiveMonitor | None:
        """A monitor for `model`, or None when its bundle has no reference profile."""
        profile = getattr(model, "reference_profile", None)
        if profile is None:
            return None
        return cls(model, DriftDetector(profile), **options)

    def observe(self, inputs: list, outputs: list[dict], model: FittedModel | None = None) -> None:
        """Add one predict batch to the window (features and labels only). `model`: the copy
        of the model that predicted it (a served model may run several), whose predict cache
        holds its features and which may be called on this thread; default the monitor's."""
        if not inputs:
            return
        model = model or self.model
        features = model.drift_features(inputs, outputs, compute=False)
        how = "features_cached"
        if features is None and self.detector.reference is not None:
            with self._lock:
                self._misses += 1
                due = (self._misses - 1) % self.recompute_every == 0
            if due:
                with self._compute_lock:
                    features = model.drift_features(inputs, outputs, compute=True)
                how = "features_recomputed"
            else:
                how = "features_skipped"
        labels = [self._lookup.get(o.get("label")) if isinstance(o, dict) else None for o in outputs]
        with self._lock:
            self.counts["observed"] += len(inputs)
            self.counts[how] += len(inputs)
            if features is not None:
                self._features.extend(np.asarray(features, dtype=np.float32))
            self._labels.extend(i for i in labels if i is not None)

    def verdict(self) -> dict[str, Any]:
        """The drift verdict on the current window (recomputed only after new observations)."""
        with self._lock:
            seen = self.counts["observed"]
            if self._cached is not None and self._cached[0] == seen:
                return self._cached[1]
            features = np.stack(self._features) if self._features else None
            labels = np.fromiter(self._labels, dtype=np.int64) if self._labels else None
            counts = dict(self.counts)
        result = self.detector.test(features, labels)
        result["observed"] = counts
        with self._lock:
            self._cached = (seen, result)
        return result

"""The drift statistics on generated data with a known answer (edge cases, no model)."""

from __future__ import annotations

import numpy as np

from featureship.monitoring.detector import DriftDetector
from featureship.monitoring.profile import ReferenceProfile


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _profile(rng: np.random.Generator, kind: str = "embedding") -> ReferenceProfile:
    features = rng.normal(size=(400, 8)).astype(np.float32)
    if kind == "embedding":
        features = _unit(features)
    predicted = rng.integers(0, 4, size=400)
    return ReferenceProfile(features, predicted, np.bincount(predicted, minlength=4),
                            ["a", "b", "c", "d"], kind, [f"x{j}" for j in range(8)] if kind == "columns" else [])


def test_same_distribution_alarms_at_about_alpha() -> None:
    rng = np.random.default_rng(0)
    detector = DriftDetector(_profile(rng), permutations=200)
    alarms = sum(detector.test(_unit(rng.normal(size=(60, 8))), rng.integers(0, 4, size=60))["drift"]
                 for _ in range(40))
    assert alarms <= 2  # alpha 0.01 over 40 windows: 0.4 expected


def test_a_shifted_mean_and_a_skewed_label_mix_are_flagged() -> None:
    rng = np.random.default_rng(1)
    detector = DriftDetector(_profile(rng))
    shifted = _unit(rng.normal(size=(60, 8)) + np.array([1.5] + [0] * 7))
    verdict = detector.test(shifted, rng.integers(0, 4, size=60))
    assert verdict["drift"] and verdict["tests"]["inputs"]["drift"]
    assert verdict["tests"]["inputs"]["statistic"] > verdict["tests"]["inputs"]["threshold"]
    only_a = detector.test(_unit(rng.normal(size=(60, 8))), np.zeros(60, dtype=int))
    assert only_a["tests"]["predicted_labels"]["drift"] and not only_a["tests"]["inputs"]["drift"]
    assert only_a["tests"]["predicted_labels"]["shifts"][0]["label"] == "a"


def test_tables_get_ks_per_column_naming_the_column() -> None:
    rng = np.random.default_rng(2)
    detector = DriftDetector(_profile(rng, "columns"))
    window = rng.normal(size=(80, 8))
    window[:, 3] += 1.0
    verdict = detector.test(window)
    assert verdict["drift"] and verdict["tests"]["inputs"]["column"] == "x3"
    assert verdict["tests"]["inputs"]["columns"]["x3"]["psi"] > 0.25
    assert not detector.test(rng.normal(size=(80, 8)))["drift"]


def test_a_small_window_gets_no_verdict_yet() -> None:
    detector = DriftDetector(_profile(np.random.default_rng(3)))
    verdict = detector.test(np.zeros((5, 8)), np.zeros(5, dtype=int))
    assert verdict["drift"] is False and "warming up" in verdict["status"] and verdict["window"] == 5

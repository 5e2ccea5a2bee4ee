"""Fusion weight, temperature and hand-off threshold, all chosen on validation questions.

Confidence is softmax(fused score / T) of the best answer, T fitted by minimising the negative
log-likelihood of the right answers (temperature scaling, Guo et al. 2017). The threshold is
the lowest confidence at which the answered validation questions still reach the target
precision, so as many questions as possible are answered, with precision measured
cautiously: its Wilson lower bound one standard error down (`PRECISION_Z`). The point
estimate alone picks the threshold where a noisy running precision just touches the target,
and on banking77 (154 validation questions) that answered 86% of test messages at only 92.8%
precision; the bound answered 77% at 95.8% (benchmarks/RESULTS.md, "Answer retrieval").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

FUSION_WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)
# Used when there are no labelled questions to calibrate on (zero-shot): a cautious guess,
# recorded as uncalibrated in the manifest.
DEFAULT_TEMPERATURE = 0.05
DEFAULT_THRESHOLD = 0.5
SMOOTHING = 0.05  # target mass spread over wrong answers when fitting the temperature
PRECISION_Z = 1.0  # standard errors below measured precision that must still reach the target


@dataclass
class Calibration:
    temperature: float
    threshold: float
    target_precision: float
    calibrated: bool  # False: no validation questions, defaults used
    reached: bool = True  # False: no threshold reaches the target; everything is handed off

    def as_dict(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "threshold": self.threshold,
                "target_precision": self.target_precision, "calibrated": self.calibrated,
                "target_reached": self.reached}


def probabilities(fused: np.ndarray, temperature: float) -> np.ndarray:
    return softmax(fused / temperature, axis=1)


def fit_temperature(fused: np.ndarray, truth: np.ndarray, smoothing: float = SMOOTHING) -> float:
    # Cross-entropy against lightly smoothed targets: on a small validation set that the model
    # gets all right, plain NLL drives T to 0 and every answer (even to an off-topic message)
    # to confidence 1.0; smoothing keeps the scale finite.
    n, classes = fused.shape
    target = np.full((n, classes), smoothing / max(classes - 1, 1))
    target[np.arange(n), truth] = 1.0 - smoothing

    def nll(log_t: float) -> float:
        return float(-(target * log_softmax(fused / np.exp(log_t), axis=1)).sum(1).mean())

    result = minimize_scalar(nll, bounds=(np.log(1e-4), np.log(1e4)), method="bounded")
    return float(np.exp(result.x))


def wilson_lower(hits: np.ndarray, n: np.ndarray, z: float) -> np.ndarray:
    """Lower end of the Wilson score interval for hits/n. Written out because it runs over a
    whole precision curve at once; scipy's `binomtest(...).proportion_ci` takes one count."""
    p = hits / n
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def precision_coverage(confidence: np.ndarray, correct: np.ndarray) -> list[dict[str, float]]:
    """Answering the questions whose confidence ≥ each threshold: coverage and precision."""
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    answered = np.arange(1, len(order) + 1)
    return [{"threshold": float(confidence[order[i]]), "coverage": float(answered[i] / len(order)),
             "precision": float(hits[i] / answered[i])} for i in range(len(order))]


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, target: float,
                     z: float = PRECISION_Z) -> tuple[float, bool]:
    """The lowest threshold whose answered questions have precision ≥ target (most coverage),
    precision taken `z` standard errors low (z = 0: as measured)."""
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order]).astype(np.float64)
    answered = np.arange(1, len(order) + 1, dtype=np.float64)
    precision = wilson_lower(hits, answered, z) if z else hits / answered
    ok = np.flatnonzero(precision >= target)
    if not len(ok):
        return float(np.nextafter(1.0, 2.0)), False  # above every confidence: hand off all
    return float(confidence[order[ok[-1]]]), True


def coverage_at(confidence: np.ndarray, correct: np.ndarray, target: float) -> float:
    """Largest share of questions answerable at precision ≥ target (0 when none)."""
    ok = [p["coverage"] for p in precision_coverage(confidence, correct) if p["precision"] >= target]
    return max(ok, default=0.0)


def calibrate(fused: np.ndarray, truth: np.ndarray, target: float) -> Calibration:
    temperature = fit_temperature(fused, truth)
    probs = probabilities(fused, temperature)
    confidence = probs.max(1)
    correct = probs.argmax(1) == truth
    threshold, reached = choose_threshold(confidence, correct, target)
    return Calibration(temperature, threshold, target, True, reached)


def uncalibrated(target: float) -> Calibration:
    return Calibration(DEFAULT_TEMPERATURE, DEFAULT_THRESHOLD, target, False, False)

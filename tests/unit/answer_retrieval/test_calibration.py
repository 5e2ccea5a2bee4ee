"""Temperature and threshold: chosen on validation for the target precision."""

from __future__ import annotations

import numpy as np

from featureship.tasks.answer_retrieval.calibration import (
    calibrate,
    choose_threshold,
    coverage_at,
    precision_coverage,
)


def test_the_threshold_is_the_lowest_that_reaches_the_target() -> None:
    confidence = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    correct = np.array([True, True, True, False, True])
    threshold, reached = choose_threshold(confidence, correct, 0.95, z=0)
    assert reached and threshold == 0.7  # answering 0.6 too would drop precision to 0.75
    assert coverage_at(confidence, correct, 0.95) == 0.6
    threshold, reached = choose_threshold(confidence, correct, 0.8, z=0)
    assert threshold == 0.5  # 4 of 5 right = 0.8
    curve = precision_coverage(confidence, correct)
    assert [p["coverage"] for p in curve] == [0.2, 0.4, 0.6, 0.8, 1.0]


def test_precision_is_taken_one_standard_error_low() -> None:
    # 3 of 3 right is not evidence of 95% precision; 20 of 20 is; 38 of 40 (95% measured) is not
    confidence = np.linspace(1.0, 0.5, 3)
    assert choose_threshold(confidence, np.ones(3, bool), 0.95) == (float(np.nextafter(1.0, 2.0)), False)
    confidence = np.linspace(1.0, 0.1, 40)
    correct = np.r_[np.ones(20, bool), np.zeros(2, bool), np.ones(18, bool)]
    threshold, reached = choose_threshold(confidence, correct, 0.95)
    assert reached and threshold == confidence[19]
    assert choose_threshold(confidence, correct, 0.95, z=0)[0] == confidence[-1]


def test_an_unreachable_target_hands_everything_off() -> None:
    confidence = np.array([0.9, 0.8])
    threshold, reached = choose_threshold(confidence, np.array([False, True]), 0.99)
    assert not reached and threshold > 1.0


def test_temperature_scaling_softens_overconfident_scores() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 5, 400)
    fused = rng.normal(0, 1, (400, 5))
    fused[np.arange(400), truth] += 1.0  # right about half of the time
    calibration = calibrate(fused * 20, truth, 0.95)  # scores 20x too sharp
    probs = np.exp(fused * 20 / calibration.temperature)
    probs /= probs.sum(1, keepdims=True)
    confidence, correct = probs.max(1), probs.argmax(1) == truth
    # calibrated: the mean confidence is close to the accuracy
    assert abs(confidence.mean() - correct.mean()) < 0.08

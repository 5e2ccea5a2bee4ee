"""Scores of a tabular model's outputs: one function for validation, evaluate and benchmarks."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score

from featureship.evaluation.classification import classification_metrics
from featureship.evaluation.regression import regression_metrics


def score_predictions(problem: str, y: np.ndarray, output: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Regression: `output` are predictions. Classification: `y` class indices, `output` (N, K)
    probabilities → accuracy, macro_f1, roc_auc (binary, or one-vs-rest macro), log_loss."""
    if problem == "regression":
        return regression_metrics(y, output)
    pred = output.argmax(1)
    metrics = classification_metrics([classes[i] for i in y], [classes[i] for i in pred], classes)
    present = np.unique(y)
    auc = float("nan")
    if len(classes) == 2 and len(present) == 2:
        auc = float(roc_auc_score(y, output[:, 1]))
    elif len(present) == len(classes) > 2:
        auc = float(roc_auc_score(y, output, multi_class="ovr", average="macro"))
    clipped = np.clip(output, 1e-12, 1)
    metrics["roc_auc"] = auc
    metrics["log_loss"] = float(log_loss(y, clipped / clipped.sum(1, keepdims=True), labels=list(range(len(classes)))))
    return metrics

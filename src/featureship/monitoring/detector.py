"""One verdict from several tests of a window against a reference profile.

    detector = DriftDetector(profile)
    detector.test(features=window_embeddings, predicted=window_label_indices)
    → {"drift": bool, "statistic", "p_value", "alpha", "window": n, "tests": {...}}

Tests: `inputs` (MMD on embedding-like features, or KS per column for tables) and
`predicted_labels` (χ² on the model's labels, against its labels on the reference sample:
like with like, since a classifier's errors already move its label frequencies away from the
true ones). False alarms are held at `alpha` per verdict by a Bonferroni correction over every
test run (each column counts as a test), so a stream of N windows from the training
distribution raises about alpha × N alarms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from featureship.monitoring.profile import ReferenceProfile
from featureship.monitoring.statistics import column_tests, label_test, mmd_test, rbf_bandwidth

ALPHA = 0.01
# 500 relabellings: the smallest p-value is 1/501 ≈ 0.002, below alpha / 2 tests.
PERMUTATIONS = 500
# Fewer observations than this give no verdict yet ("warming up"): too little to test.
MIN_WINDOW = 30
# The reference rows a live test uses (all that the profile keeps, up to this).
MAX_REFERENCE = 1000


class DriftDetector:
    """Tests windows against one reference profile; stateless between calls (seeded)."""

    def __init__(self, profile: ReferenceProfile, alpha: float = ALPHA,
                 permutations: int = PERMUTATIONS, min_window: int = MIN_WINDOW, seed: int = 0) -> None:
        self.profile, self.alpha, self.permutations = profile, alpha, permutations
        self.min_window, self.seed = min_window, seed
        features = profile.features
        if features is not None and len(features) > MAX_REFERENCE:
            features = features[np.random.default_rng(seed).choice(len(features), MAX_REFERENCE, replace=False)]
        self.reference = None if features is None else np.asarray(features, dtype=np.float64)
        self.bandwidth = (rbf_bandwidth(self.reference)
                          if self.reference is not None and profile.kind == "embedding" else 1.0)

    @property
    def labels(self) -> list[str]:
        return self.profile.labels

    def test(self, features: np.ndarray | None = None, predicted: np.ndarray | None = None,
             keep_null: bool = False) -> dict[str, Any]:
        """Verdict on one window: `features` (n, D) and/or predicted label indices (n,).

        `keep_null` keeps each test's permutation statistics (`null`, an array) for plots.
        """
        n = max(len(features) if features is not None else 0, len(predicted) if predicted is not None else 0)
        verdict: dict[str, Any] = {"drift": False, "statistic": 0.0, "p_value": 1.0, "alpha": self.alpha,
                                   "window": int(n), "reference": self.profile.rows, "tests": {}}
        if n < self.min_window:
            verdict["status"] = f"warming up: {n} of the {self.min_window} observations a verdict needs"
            return verdict
        rng = np.random.default_rng(self.seed)
        raw: dict[str, dict[str, Any]] = {}
        counted = 0  # tests run, for the Bonferroni correction
        if features is not None and self.reference is not None and len(features) >= self.min_window:
            window = np.asarray(features, dtype=np.float64)
            if self.profile.kind == "embedding":
                result = mmd_test(self.reference, window, self.bandwidth, self.permutations, rng)
                raw["inputs"] = {"test": "mmd_rbf_permutation", "statistic": result["statistic"],
                                 "p_value": result["p_value"], "bandwidth": self.bandwidth,
                                 "_null": result["null_quantiles"], "n_window": len(window)}
                counted += 1
            else:
                columns = column_tests(self.reference, window, self.profile.feature_names)
                counted += len(columns)
                worst = min(columns.items(), key=lambda kv: kv[1]["p_value"], default=None)
                if worst is not None:
                    raw["inputs"] = {"test": "ks_per_column", "statistic": worst[1]["statistic"],
                                     "p_value": worst[1]["p_value"], "column": worst[0],
                                     "columns": columns, "n_window": len(window)}
        reference_labels = self.profile.predicted
        if predicted is not None and reference_labels is not None and len(predicted) >= self.min_window:
            result = label_test(reference_labels, np.asarray(predicted, dtype=np.int64),
                                len(self.labels), self.permutations, rng)
            raw["predicted_labels"] = {"test": "chi2_permutation", "statistic": result["statistic"],
                                       "p_value": result["p_value"], "_null": result["null_quantiles"],
                                       "shifts": self._shifts(result), "n_window": len(predicted)}
            counted += 1
        return self._combine(verdict, raw, max(counted, 1), keep_null)

    def _combine(self, verdict: dict[str, Any], raw: dict[str, dict[str, Any]], counted: int,
                 keep_null: bool) -> dict[str, Any]:
        level = self.alpha / counted  # Bonferroni: each test at alpha / tests
        tests = {}
        for name, result in raw.items():
            null = result.pop("_null", None)
            adjusted = min(1.0, result["p_value"] * counted)
            result.update({"p_value_adjusted": adjusted, "drift": bool(adjusted < self.alpha)})
            if null is not None:  # the statistic above which this test alarms
                result["threshold"] = float(np.quantile(null, 1 - level))
                if keep_null:
                    result["null"] = null
            tests[name] = result
        verdict["tests"] = tests
        if tests:
            name, worst = min(tests.items(), key=lambda kv: kv[1]["p_value_adjusted"])
            verdict.update({"drift": any(t["drift"] for t in tests.values()), "statistic": worst["statistic"],
                            "p_value": worst["p_value_adjusted"], "test": name})
            if "threshold" in worst:
                verdict["threshold"] = worst["threshold"]
        return verdict

    def _shifts(self, result: dict[str, Any], top: int = 5) -> list[dict[str, Any]]:
        """The labels whose share moved most, for people reading the verdict."""
        ref, win = np.asarray(result["reference_share"]), np.asarray(result["window_share"])
        order = np.argsort(-np.abs(win - ref))[:top]
        return [{"label": self.labels[i], "reference_share": round(float(ref[i]), 4),
                 "window_share": round(float(win[i]), 4)} for i in order if ref[i] != win[i]]

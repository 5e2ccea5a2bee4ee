"""The linear baseline: logistic regression (classification) or ridge (regression) on the
linear encoding; coefficients stored in safetensors, explanations exact.

For a linear model f(x) = w·x + b, the contribution of feature j is w_j (x_j − mean_j), with
mean_j its training mean: the contributions sum to f(x) − f(mean) exactly (the base value is
f(mean)), which is what SHAP values of a linear model with independent features are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression, Ridge

# Searched on validation (a short grid: each fit takes seconds on 2 cores).
C_GRID = (0.3, 1.0, 3.0)
ALPHA_GRID = (1.0, 10.0, 100.0)


def logistic(c: float, class_weight: str | None, seed: int, n_classes: int) -> LogisticRegression:
    # liblinear is several times faster than lbfgs on wide sparse binary problems (TF-IDF);
    # multiclass needs lbfgs for a true multinomial (softmax) model.
    solver = "liblinear" if n_classes == 2 else "lbfgs"
    return LogisticRegression(C=c, solver=solver, max_iter=3000, class_weight=class_weight,
                              random_state=seed)


@dataclass
class LinearModel:
    problem: str
    weight: np.ndarray  # (K, D); K = 1 for regression and for binary (the positive class)
    bias: np.ndarray  # (K,)
    feature_mean: np.ndarray  # (D,) training means, the reference point of explanations
    regularisation: float

    kind = "linear"

    @classmethod
    def fit(cls, x: sp.csr_matrix, y: np.ndarray, problem: str, strength: float,
            class_weight: str | None, seed: int) -> LinearModel:
        if problem == "regression":
            model = Ridge(alpha=strength).fit(x, y)
        else:
            model = logistic(strength, class_weight, seed, int(y.max()) + 1).fit(x, y)
        weight = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
        bias = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))
        mean = np.asarray(x.mean(axis=0)).ravel()
        return cls(problem, weight, bias, mean, float(strength))

    def raw(self, x: sp.csr_matrix) -> np.ndarray:
        """(N, K) decision values: log-odds (binary), logits (multiclass) or the prediction."""
        return np.asarray(x @ self.weight.T) + self.bias

    def contributions(self, x: sp.csr_matrix, groups: np.ndarray, n_groups: int,
                      rows_class: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per input column contributions (N, G), base values (N,) and outputs (N,) for each
        row's class in `rows_class` (an index into the K rows of `weight`; binary rows for
        class 0 use the negated positive-class model)."""
        n = x.shape[0]
        merge = sp.csr_matrix((np.ones(len(groups)), (np.arange(len(groups)), groups)),
                              shape=(len(groups), n_groups))  # feature → column
        contrib = np.zeros((n, n_groups))
        base = np.zeros(n)
        binary = self.problem == "classification" and self.weight.shape[0] == 1
        for k in np.unique(rows_class):
            rows = np.flatnonzero(rows_class == k)
            sign = 1.0
            w, b = self.weight[0 if binary else k], self.bias[0 if binary else k]
            if binary and k == 0:
                sign = -1.0
            centred_x = x[rows].multiply(w).tocsr()  # w_j x_j
            per_column = (centred_x @ merge).toarray() - (merge.T @ (self.feature_mean * w))[None, :]
            contrib[rows] = sign * per_column
            base[rows] = sign * (float(self.feature_mean @ w) + b)
        output = base + contrib.sum(1)
        return contrib, base, output

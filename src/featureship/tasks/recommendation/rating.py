"""Rating prediction: a biased matrix factorisation scored by RMSE/MAE on a seeded 80/20 split.

    r̂(u, i) = μ + b_u + b_i + p_u · q_i

Fitted full-batch with Adam in torch (100k ratings fit in a second); `implicit` has no
explicit-rating model, and this metric is reported, not served. Every hyperparameter is a
setting; the weight decay, unless set, is chosen on a validation quarter of the 80% and the
model refit on the whole 80% before the 20% is scored once. Predictions are clipped to the
range of the training ratings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from featureship.tasks.recommendation.settings import RecommendationSettings

WEIGHT_DECAYS = (0.01, 0.03, 0.1, 0.3)  # tried on validation when rating_weight_decay is unset


def rating_metrics(ratings: pd.DataFrame, n_users: int, n_items: int,
                   settings: RecommendationSettings) -> dict[str, float]:
    """RMSE/MAE on a seeded 20% of the ratings (plus the global-mean baseline), and the decay used."""
    if len(ratings) < 20:
        return {}
    rng = np.random.default_rng(settings.seed)
    test = rng.random(len(ratings)) < 0.2
    train_idx, test_idx = np.flatnonzero(~test), np.flatnonzero(test)
    decay = settings.rating_weight_decay
    if decay is None:
        inner = rng.permutation(train_idx)
        cut = len(inner) // 4
        fit_idx, valid_idx = inner[cut:], inner[:cut]
        decay = min(WEIGHT_DECAYS, key=lambda wd: _rmse(
            *_fit_predict(ratings, fit_idx, valid_idx, n_users, n_items, settings, wd)))
    pred, truth, mu = _fit_predict(ratings, train_idx, test_idx, n_users, n_items, settings, decay)
    return {
        "rating_rmse": _rmse(pred, truth),
        "rating_mae": float(np.abs(pred - truth).mean()),
        "rating_rmse_global_mean": _rmse(np.full_like(truth, mu), truth),
        "rating_weight_decay": float(decay),
    }


def _rmse(pred: np.ndarray, truth: np.ndarray, *_: object) -> float:
    return float(np.sqrt(((pred - truth) ** 2).mean()))


def _fit_predict(ratings: pd.DataFrame, train_idx: np.ndarray, eval_idx: np.ndarray, n_users: int,
                 n_items: int, settings: RecommendationSettings, weight_decay: float
                 ) -> tuple[np.ndarray, np.ndarray, float]:
    u = torch.tensor(ratings["user"].to_numpy(np.int64))
    i = torch.tensor(ratings["item"].to_numpy(np.int64))
    r = torch.tensor(ratings["rating"].to_numpy(np.float32))
    tr, ev = torch.from_numpy(train_idx), torch.from_numpy(eval_idx)
    torch.manual_seed(settings.seed)
    factors = settings.rating_factors
    mu = float(r[tr].mean())
    p = torch.nn.Parameter(0.01 * torch.randn(n_users, factors))
    q = torch.nn.Parameter(0.01 * torch.randn(n_items, factors))
    bu = torch.nn.Parameter(torch.zeros(n_users))
    bi = torch.nn.Parameter(torch.zeros(n_items))
    optimizer = torch.optim.Adam([p, q, bu, bi], lr=settings.rating_learning_rate)

    def predict(rows: torch.Tensor) -> torch.Tensor:
        uu, ii = u[rows], i[rows]
        return mu + bu[uu] + bi[ii] + (p[uu] * q[ii]).sum(-1)

    for _ in range(settings.rating_epochs):
        optimizer.zero_grad()
        error = ((predict(tr) - r[tr]) ** 2).mean()
        penalty = weight_decay * ((p**2).sum(-1).mean() + (q**2).sum(-1).mean()) + \
            0.1 * weight_decay * ((bu**2).mean() + (bi**2).mean())
        (error + penalty).backward()
        optimizer.step()
    with torch.no_grad():
        lo, hi = float(r[tr].min()), float(r[tr].max())  # the training range, never the test's
        pred = predict(ev).clamp(lo, hi)
    return pred.numpy().astype(np.float64), r[ev].numpy().astype(np.float64), mu

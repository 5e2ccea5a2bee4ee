"""Rating prediction: a biased matrix factorisation scored by RMSE/MAE on a seeded 80/20 split.

    r̂(u, i) = μ + b_u + b_i + p_u · q_i

Fitted full-batch with Adam in torch (100k ratings fit in a second); `implicit` has no
explicit-rating model, and this metric is reported, not served.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch


def rating_metrics(ratings: pd.DataFrame, n_users: int, n_items: int, factors: int, seed: int,
                   epochs: int = 300, weight_decay: float = 0.05) -> dict[str, float]:
    """RMSE/MAE of a biased MF on a seeded 20% of the ratings (plus the global-mean baseline)."""
    if len(ratings) < 10:
        return {}
    rng = np.random.default_rng(seed)
    test = rng.random(len(ratings)) < 0.2
    u = torch.tensor(ratings["user"].to_numpy(np.int64))
    i = torch.tensor(ratings["item"].to_numpy(np.int64))
    r = torch.tensor(ratings["rating"].to_numpy(np.float32))
    tr, te = torch.from_numpy(~test), torch.from_numpy(test)
    torch.manual_seed(seed)
    mu = float(r[tr].mean())
    p = torch.nn.Parameter(0.01 * torch.randn(n_users, factors))
    q = torch.nn.Parameter(0.01 * torch.randn(n_items, factors))
    bu = torch.nn.Parameter(torch.zeros(n_users))
    bi = torch.nn.Parameter(torch.zeros(n_items))
    optimizer = torch.optim.Adam([p, q, bu, bi], lr=0.02)

    def predict(mask: torch.Tensor) -> torch.Tensor:
        uu, ii = u[mask], i[mask]
        return mu + bu[uu] + bi[ii] + (p[uu] * q[ii]).sum(-1)

    for _ in range(epochs):
        optimizer.zero_grad()
        error = ((predict(tr) - r[tr]) ** 2).mean()
        penalty = weight_decay * ((p**2).sum(-1).mean() + (q**2).sum(-1).mean()) + \
            0.1 * weight_decay * (bu**2).mean() + 0.1 * weight_decay * (bi**2).mean()
        (error + penalty).backward()
        optimizer.step()
    with torch.no_grad():
        lo, hi = float(r.min()), float(r.max())
        pred = predict(te).clamp(lo, hi)
        diff = pred - r[te]
        base = mu - r[te]
    return {
        "rating_rmse": float(diff.pow(2).mean().sqrt()),
        "rating_mae": float(diff.abs().mean()),
        "rating_rmse_global_mean": float(base.pow(2).mean().sqrt()),
    }

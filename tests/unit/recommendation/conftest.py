"""Tiny synthetic interaction data with a known best answer.

Two disjoint user groups: group A only ever touches items a0..a19, group B only b0..b19.
Each user walks its group's items in a cycle (a3, a4, a5, ...), one step per time unit, so
the next item is predictable from the last (for the sequential model) and a user's
unseen in-group items are always the right recommendations (for every model).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

GROUP_ITEMS = 20
WALK = 8


def synthetic_frame(users_per_group: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for group in ("a", "b"):
        for u in range(users_per_group):
            start = int(rng.integers(GROUP_ITEMS))
            for step in range(WALK):
                item = f"{group}{(start + step) % GROUP_ITEMS}"
                rows.append({"user": f"{group}-user{u}", "item": item, "ts": 1000 * u + step,
                             "stars": float(rng.integers(1, 6))})
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    return synthetic_frame()


@pytest.fixture(scope="session")
def family_bundles(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One bundle per family on the synthetic walks, trained once per session (Path by name)."""
    import featureship

    root = tmp_path_factory.mktemp("families")
    out = {}
    for name in ("popularity", "itemknn", "als", "bpr", "sasrec"):
        featureship.train("recommendation", data=frame, output=root / name, user_column="user",
                          item_column="item", time_column="ts", model=name, **FAST)
        out[name] = root / name
    return out


@pytest.fixture(scope="session")
def fast() -> dict:
    """Settings that keep every family fast on the tiny data."""
    return dict(FAST)


FAST = {"epochs": 40, "patience": 40, "hidden": 32, "max_len": 16, "dropout": 0.1,
        "learning_rate": 5e-3, "batch_size": 16, "time_budget_s": 30.0, "factors": 8,
        "bpr_iterations": 200, "bpr_learning_rate": 0.05, "als_iterations": 10, "knn_neighbours": 20}

"""A small mixed-type table with a known signal (generated: the edge cases need every kind of
column at once, which no bundled real table has), and models trained on it once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import featureship

WORDS_GOOD = ["great", "lovely", "perfect", "comfortable", "soft"]
WORDS_BAD = ["awful", "itchy", "broken", "cheap", "tight"]


def mixed_frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Every kind of column, as a CSV reader gives it (strings), with missing cells."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    plan = rng.choice(["basic", "plus", "pro"], n)
    member = rng.choice(["yes", "no"], n)
    good = rng.random(n) < 0.5
    notes = [" ".join(rng.choice(WORDS_GOOD if g else WORDS_BAD, 3)) + " fit and colour" for g in good]
    signup = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    score = 0.04 * (age - 50) + (plan == "pro") * 1.0 + (member == "yes") * 0.8 + good * 2.0 - 1.4
    churn = np.where(score + rng.normal(0, 0.6, n) > 0, "stay", "leave")
    spend = 20 + 0.5 * age + 15 * (plan == "pro") + 10 * good + rng.normal(0, 3, n)
    frame = pd.DataFrame({
        "customer_id": [f"C{100000 + i}" for i in range(n)],
        "row_id": [str(i) for i in range(n)],
        "age": age.astype(str),
        "plan": plan,
        "member": member,
        "signup": signup.strftime("%Y-%m-%d"),
        "notes": notes,
        "constant": ["x"] * n,
        "empty": [None] * n,
        "churn": churn,
        "spend": np.round(spend, 2).astype(str),
    }).astype(object)
    frame.loc[::17, "age"] = "NA"  # missing-value tokens and empty cells
    frame.loc[::23, "plan"] = None
    return frame


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    return mixed_frame()


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory, frame: pd.DataFrame) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tabular")
    out = {}
    for name, options in {
        "classifier-linear": {"label_column": "churn", "model": "linear", "ignore_columns": ["spend"]},
        "classifier-lightgbm": {"label_column": "churn", "model": "lightgbm", "ignore_columns": ["spend"]},
        "regressor-lightgbm": {"label_column": "spend", "model": "lightgbm", "ignore_columns": ["churn"]},
        "regressor-linear": {"label_column": "spend", "model": "linear", "ignore_columns": ["churn"]},
    }.items():
        featureship.train("tabular", data=frame.iloc[:200], output=root / name, time_budget_minutes=0.1,
                          **options)
        out[name] = root / name
    return out

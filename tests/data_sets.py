"""Where tests find real data, and small subsets of it.

banking77 is read from the copy the package ships (it is byte-identical to the shared one), so
tests that need it never skip. Other real data sets live in ../shared/datasets: without them a
test skips with the reason in a user's clone, and fails under CI (CI=true), so CI cannot pass
on skipped tests.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest

# /work/main/tests/conftest.py → /work/shared/datasets
DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
BANKING77 = Path(str(files("featureship") / "datasets" / "banking77.csv"))
# Standard replies written for this project, one per banking77 intent (id, title, answer).
BANKING77_ANSWERS = Path(str(files("featureship") / "datasets" / "banking77_answers.csv"))


def shared_dataset(relative: str) -> Path:
    """The path of a shared data set file; skip (or fail under CI) when it is missing."""
    path = DATASETS / relative
    if not path.exists():
        message = f"{relative} is not in {DATASETS} (the shared datasets folder beside the checkout)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}; CI must have it")
        pytest.skip(message)
    return path


def banking_subset(intents: int, per_intent: int, skip: int = 0) -> pd.DataFrame:
    """`per_intent` rows of each of the first `intents` intents, after skipping `skip` of each."""
    frame = pd.read_csv(BANKING77)
    keep = list(dict.fromkeys(frame["category"]))[:intents]
    grouped = frame[frame["category"].isin(keep)].groupby("category", sort=False)
    return grouped.nth(list(range(skip, skip + per_intent))).reset_index(drop=True)

"""Shared fixtures: small real models trained once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

# /work/main/tests/conftest.py → /work/shared/datasets
DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def text_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real intent model (head mode) on 600 banking77 rows; trained once per session."""
    source = DATASETS / "banking77" / "train.csv"
    if not source.is_file():
        pytest.skip(f"banking77 is not at {source}; the shared datasets folder is missing")
    import pandas as pd

    from featureship.api import train

    frame = pd.read_csv(source)
    intents = list(dict.fromkeys(frame["category"]))[:15]
    frame = (
        frame[frame["category"].isin(intents)]
        .groupby("category", sort=False)
        .head(40)
        .reset_index(drop=True)
    )
    out = tmp_path_factory.mktemp("bundles") / "intent"
    train(
        "text-classification",
        data=frame,
        output=out,
        text_column="text",
        label_column="category",
        mode="head",
        seed=0,
    )
    return out

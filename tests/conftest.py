"""Shared fixtures: small real models trained once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data_sets import banking_subset


@pytest.fixture(scope="session")
def text_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real intent model (head mode) on 600 banking77 rows; trained once per session."""
    from featureship.api import train

    out = tmp_path_factory.mktemp("bundles") / "intent"
    train("text-classification", data=banking_subset(15, 40), output=out, text_column="text",
          label_column="category", mode="head", seed=0)
    return out

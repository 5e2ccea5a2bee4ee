"""Encryption is task-agnostic: a tabular bundle sealed at train opens only with its key, through
the Python API and the `explain` command."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from typer.testing import CliRunner

import featureship
from featureship.cli import app
from featureship.errors import BundleError

KEY = "correct horse battery staple"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame.iloc[:240]
    return frame.rename(columns=lambda c: c.replace(" ", "_"))


def test_a_sealed_tabular_bundle_needs_its_key(table: pd.DataFrame, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "sealed"
    model = featureship.train("tabular", data=table.iloc[:200], output=out, label_column="target",
                              model="linear", encrypt_key=KEY)
    rows = table.iloc[200:205].drop(columns="target").to_dict("records")
    with pytest.raises(BundleError, match="key"):
        featureship.load(out)
    assert featureship.load(out, key=KEY).predict(rows) == model.predict(rows)

    held_out = tmp_path / "rows.csv"
    table.iloc[200:].drop(columns="target").to_csv(held_out, index=False)
    monkeypatch.setenv("FS_TEST_KEY", KEY)
    runner = CliRunner()
    refused = runner.invoke(app, ["explain", str(out), "--data", str(held_out), "--json"])
    assert refused.exit_code == 2 and "key" in refused.output
    opened = runner.invoke(app, ["explain", str(out), "--data", str(held_out), "--json",
                                 "--key-env", "FS_TEST_KEY"])
    assert opened.exit_code == 0, opened.output
    assert '"explanations"' in opened.output

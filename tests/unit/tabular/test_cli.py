"""The CLI round trip on a CSV: train tabular → evaluate --json → predict --output."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from featureship.cli import app


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_train_evaluate_predict_round_trip(tmp_path: Path, frame: pd.DataFrame) -> None:
    train_csv, test_csv = tmp_path / "train.csv", tmp_path / "test.csv"
    frame.iloc[:200].to_csv(train_csv, index=False)
    frame.iloc[200:].to_csv(test_csv, index=False)
    out = run("train", "tabular", "--data", str(train_csv), "--label-column", "churn",
              "--ignore-columns", "spend", "--output", str(tmp_path / "model"),
              "--time-budget-minutes", "0.05", "--class-weight", "balanced")
    assert out.exit_code == 0, out.output
    assert "inferred schema" in out.output and "datetime" in out.output and "dropped" in out.output
    assert "lightg" in out.output and "linear" in out.output  # both candidates listed

    out = run("evaluate", str(tmp_path / "model"), "--data", str(test_csv), "--json")
    assert out.exit_code == 0, out.output
    metrics = json.loads(out.stdout)
    assert {"accuracy", "macro_f1", "roc_auc"} <= set(metrics) and metrics["n"] == 40

    unlabelled = tmp_path / "new.csv"
    frame.iloc[200:].drop(columns=["churn"]).assign(extra="x").to_csv(unlabelled, index=False)
    out = run("predict", str(tmp_path / "model"), "--data", str(unlabelled), "--output", str(tmp_path / "p.csv"))
    assert out.exit_code == 0, out.output
    assert "'extra' are not features" in out.output
    predicted = pd.read_csv(tmp_path / "p.csv")
    assert list(predicted.columns) == [*pd.read_csv(unlabelled).columns, "prediction", "score"]
    assert set(predicted["prediction"]) <= {"stay", "leave"} and predicted["score"].between(0.5, 1).all()


def test_a_wrong_type_at_predict_exits_2_naming_row_and_column(tmp_path: Path, frame: pd.DataFrame) -> None:
    data = tmp_path / "train.csv"
    frame.iloc[:200].to_csv(data, index=False)
    out = run("train", "tabular", "--data", str(data), "--label-column", "spend", "--model", "linear",
              "--ignore-columns", "churn", "--output", str(tmp_path / "model"))
    assert out.exit_code == 0, out.output
    assert "regression" in out.output
    bad = frame.iloc[200:205].copy()
    bad.iloc[1, bad.columns.get_loc("age")] = "old"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    out = run("predict", str(tmp_path / "model"), "--data", str(tmp_path / "bad.csv"),
              "--output", str(tmp_path / "p.csv"))
    assert out.exit_code == 2
    assert "row 2, column 'age': expected a number, got 'old'" in " ".join(out.output.split())
    out = run("train", "tabular", "--data", str(data), "--label-column", "spend",
              "--ignore-columns", "nope", "--output", str(tmp_path / "other"))
    assert out.exit_code == 2 and "--ignore-columns names column(s) not in train.csv: 'nope'" in " ".join(out.output.split())

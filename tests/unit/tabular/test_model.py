"""Predict, evaluate and explain on trained tabular bundles: inputs checked, SHAP additive."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import featureship
from featureship.data.readers import Table
from featureship.errors import DataError, FeatureshipError
from featureship.evaluation.regression import regression_metrics
from featureship.tasks.tabular import TabularModel

FEATURES = ["age", "plan", "member", "signup", "notes"]


def _rows(frame: pd.DataFrame, start: int = 200, n: int = 5) -> list[dict]:
    return frame.iloc[start:start + n][FEATURES].to_dict("records")


def test_both_problems_train_and_score_held_out_rows(bundles: dict[str, Path], frame: pd.DataFrame) -> None:
    held = frame.iloc[200:]
    classifier = featureship.load(bundles["classifier-lightgbm"])
    assert isinstance(classifier, TabularModel) and classifier.problem == "classification"
    metrics = classifier.evaluate(held)
    assert {"accuracy", "macro_f1", "roc_auc"} <= set(metrics) and metrics["accuracy"] > 0.6
    regressor = featureship.load(bundles["regressor-linear"])
    metrics = regressor.evaluate(held)
    assert {"rmse", "mae", "r2"} <= set(metrics) and metrics["r2"] > 0.5


def test_regression_metrics_match_hand_computed_values() -> None:
    y, pred = np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0])
    metrics = regression_metrics(y, pred)
    assert metrics["rmse"] == pytest.approx(math.sqrt((0.25 + 0.25 + 0 + 1) / 4))
    assert metrics["mae"] == pytest.approx((0.5 + 0.5 + 0 + 1) / 4)
    mean = y.mean()
    assert metrics["r2"] == pytest.approx(1 - 1.5 / float(((y - mean) ** 2).sum()))


def test_missing_columns_are_listed_in_one_error(bundles: dict[str, Path], frame: pd.DataFrame) -> None:
    model = featureship.load(bundles["classifier-linear"])
    rows = [{k: v for k, v in r.items() if k not in ("plan", "signup")} for r in _rows(frame)]
    with pytest.raises(DataError, match=r"2 feature column\(s\).*'plan', 'signup'"):
        model.predict(rows)
    table = Table(frame.drop(columns=["age", "notes"]), Path("new.csv"))
    with pytest.raises(DataError, match=r"new.csv lacks 2 feature column\(s\).*'age', 'notes'"):
        model.predict_table(table)


def test_extra_columns_are_ignored_and_reported(bundles: dict[str, Path], frame: pd.DataFrame) -> None:
    model = featureship.load(bundles["classifier-linear"])
    plain = model.predict(_rows(frame))
    extra = model.predict([{**r, "colour": "red"} for r in _rows(frame)])
    assert [e.pop("ignored_columns") for e in extra] == [["colour"]] * len(plain)
    assert extra == plain
    # the label and the columns dropped at training are known, not reported
    assert "ignored_columns" not in model.predict([{**_rows(frame)[0], "churn": "stay", "customer_id": "C1"}])[0]


def test_a_wrong_type_names_the_row_and_the_column(bundles: dict[str, Path], frame: pd.DataFrame) -> None:
    model = featureship.load(bundles["regressor-lightgbm"])
    rows = _rows(frame)
    rows[2]["age"] = "forty"
    with pytest.raises(DataError, match=r"input 2, column 'age': expected a number, got 'forty'"):
        model.predict(rows)
    bad = frame.iloc[200:210].copy()
    bad.iloc[3, bad.columns.get_loc("signup")] = "soon"
    with pytest.raises(DataError, match=r"bad.csv: .*row 4, column 'signup': expected a date"):
        model.predict_table(Table(bad, Path("bad.csv")))
    with pytest.raises(FeatureshipError, match="input 0 is list, not an object"):
        model.predict([[1, 2]])


@pytest.mark.parametrize("name", ["classifier-linear", "classifier-lightgbm", "regressor-lightgbm",
                                  "regressor-linear"])
def test_explanations_add_up_to_the_model_output(bundles: dict[str, Path], frame: pd.DataFrame, name: str) -> None:
    model = featureship.load(bundles[name])
    rows = _rows(frame, n=8)
    explanations = model.explain(rows)
    predictions = model.predict(rows)
    assert len(explanations) == len(rows)
    if name.startswith("classifier"):  # both classes predicted: the log-odds sign check below sees each
        assert len({p["prediction"] for p in predictions}) == 2
    for explanation, prediction in zip(explanations, predictions, strict=True):
        total = explanation["base_value"] + sum(c["contribution"] for c in explanation["contributions"])
        assert total == pytest.approx(explanation["output"], abs=1e-6)
        # one contribution per input column: one-hot and TF-IDF parts merged back
        assert sorted(c["column"] for c in explanation["contributions"]) == sorted(FEATURES)
        assert explanation["prediction"] == prediction["prediction"]
        # each branch runs for two of the four parametrized bundles
        assert model.problem == ("classification" if name.startswith("classifier") else "regression")
        if name.startswith("classifier"):
            # the output is the *predicted* class's log-odds: never negative, whichever class won
            # (a missed sign flip for the first class makes it negative for half the rows)
            assert explanation["output"] >= 0


def test_the_text_column_drives_the_explanation_when_it_decides(bundles: dict[str, Path]) -> None:
    model = featureship.load(bundles["classifier-linear"])
    row = {"age": 50, "plan": "plus", "member": "no", "signup": "2024-01-01",
           "notes": "awful itchy broken fit and colour"}
    top = model.explain([row])[0]["contributions"][0]
    assert top["column"] == "notes"


def test_explain_cli_reads_a_table(bundles: dict[str, Path], frame: pd.DataFrame) -> None:
    model = featureship.load(bundles["classifier-lightgbm"])
    out = model.explain_cli(data=frame.iloc[200:203])
    assert [e["row"] for e in out] == [1, 2, 3] and all(e["contributions"] for e in out)


def test_the_bundle_records_the_schema_and_holds_lightgbm_text(bundles: dict[str, Path]) -> None:
    import json

    path = bundles["classifier-lightgbm"]
    spec = json.loads((path / "preprocessing.json").read_text())
    kinds = {c["name"]: c["kind"] for c in spec["columns"]}
    assert kinds["signup"] == "datetime" and kinds["notes"] == "text"
    age = next(c for c in spec["columns"] if c["name"] == "age")
    assert age["mean"] and age["std"] and age["median"]  # scaling stats kept
    assert (path / "lightgbm.model.txt").read_text().startswith("tree")
    manifest = featureship.load(path).describe()
    assert {c.name for c in manifest.candidates} == {"lightgbm"}
    assert manifest.input_schema["dropped"].keys() >= {"customer_id", "constant"}
    report = (path / "report.html").read_text()
    assert "Inferred schema" in report and "Feature importance" in report and "Calibration" in report


def test_auto_reports_both_candidates_and_problem_override(tmp_path: Path, frame: pd.DataFrame) -> None:
    data = frame.iloc[:200].assign(level=frame["plan"].map({"basic": "1", "plus": "2", "pro": "3"}))
    data = data.drop(columns=["plan", "spend", "churn"])
    model = featureship.train("tabular", data=data, output=tmp_path / "m", label_column="level",
                              time_budget_minutes=0.05, refit=False)
    manifest = model.describe()
    assert manifest.input_schema["problem"] == "classification" and manifest.labels == ["1", "2", "3"]
    assert {c.name for c in manifest.candidates} == {"linear", "lightgbm"}
    assert manifest.chosen in {"linear", "lightgbm"}
    assert any("row(s) have no 'level'" in n for n in manifest.data.notes)
    again = featureship.train("tabular", data=data, output=tmp_path / "r", label_column="level",
                              problem="regression", model="linear")
    assert again.describe().input_schema["problem"] == "regression"
    assert isinstance(again.predict(data.drop(columns="level").head(2).to_dict("records"))[0]["prediction"], float)


def test_regression_on_text_labels_is_refused(tmp_path: Path, frame: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="--problem regression needs a numeric 'churn'"):
        featureship.train("tabular", data=frame, output=tmp_path / "m", label_column="churn",
                          problem="regression")


def test_without_lightgbm_auto_falls_back_and_lightgbm_names_the_extra(
        tmp_path: Path, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from featureship.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "lightgbm", None)  # import lightgbm → ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'featureship\[tabular\]'"):
        featureship.train("tabular", data=frame.iloc[:120], output=tmp_path / "a", label_column="churn",
                          model="lightgbm")
    model = featureship.train("tabular", data=frame.iloc[:120], output=tmp_path / "b", label_column="churn")
    assert model.describe().chosen == "linear"
    assert any("LightGBM was not tried" in n for n in model.describe().data.notes)

"""featureship tabular (auto) vs scikit-learn's HistGradientBoosting defaults and a linear
baseline, on the same split of each table, in one process.

    PYTHONPATH=src python benchmarks/tabular.py [--tables breast_cancer,diabetes,...]

Split: stratified 80/20 with seed 0 (classification), 80/20 with seed 0 (regression).
featureship sees the table as its CSV reader gives it (every cell a string) and infers the
column kinds itself; the baselines are told each column's kind and get the usual
scikit-learn preprocessing (impute + scale + one-hot + TF-IDF for the linear model; ordinal
categories and TF-IDF → 100 SVD components for HistGradientBoosting, which needs dense input).
Timings on a shared machine are noisy: read the ratios, measured in the same run.

womens-clothing-reviews, `Recommended IND`: `Rating` is left out (and `Recommended IND` when
predicting `Rating`): the reviewer gives both at the same moment, they agree for 94 % of
reviews, so one predicts the other trivially and says nothing about reading reviews.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REVIEWS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "womens-clothing-reviews" / "reviews.csv"


@dataclass
class Spec:
    name: str
    problem: str
    label: str
    numeric: list[str]
    categorical: list[str]
    text: list[str]
    drop: list[str]


def _tables() -> dict[str, tuple[Spec, pd.DataFrame]]:
    from sklearn.datasets import load_breast_cancer, load_diabetes

    bc = load_breast_cancer(as_frame=True).frame
    db = load_diabetes(as_frame=True, scaled=False).frame
    out = {
        "breast_cancer": (Spec("breast_cancer", "classification", "target",
                               [c for c in bc.columns if c != "target"], [], [], []), bc),
        "diabetes": (Spec("diabetes", "regression", "target",
                          [c for c in db.columns if c != "target"], [], [], []), db),
    }
    if REVIEWS.is_file():
        reviews = pd.read_csv(REVIEWS)
        common = dict(numeric=["Clothing ID", "Age", "Positive Feedback Count"],
                      categorical=["Division Name", "Department Name", "Class Name"],
                      text=["Title", "Review Text"])
        out["reviews_recommended"] = (Spec("reviews_recommended", "classification", "Recommended IND",
                                           drop=["Rating"], **common), reviews)
        out["reviews_rating"] = (Spec("reviews_rating", "regression", "Rating",
                                      drop=["Recommended IND"], **common), reviews)
    return out


def _split(spec: Spec, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    frame = frame.drop(columns=spec.drop)
    stratify = frame[spec.label] if spec.problem == "classification" else None
    train, test = train_test_split(frame, test_size=0.2, random_state=0, stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def _baselines(spec: Spec) -> dict[str, Any]:
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import TruncatedSVD
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import (
        FunctionTransformer,
        OneHotEncoder,
        OrdinalEncoder,
        StandardScaler,
    )

    def text_column(frame: Any) -> Any:
        return frame.fillna("").astype(str).iloc[:, 0]

    def tfidf() -> Any:
        return make_pipeline(FunctionTransformer(text_column),
                             TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True))

    linear_parts = [("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), spec.numeric)]
    if spec.categorical:
        linear_parts.append(("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                                  OneHotEncoder(handle_unknown="ignore")), spec.categorical))
    linear_parts += [(f"text{i}", tfidf(), [c]) for i, c in enumerate(spec.text)]
    hgb_parts = [("num", "passthrough", spec.numeric)]
    if spec.categorical:
        hgb_parts.append(("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                                encoded_missing_value=np.nan), spec.categorical))
    hgb_parts += [(f"text{i}", make_pipeline(tfidf(), TruncatedSVD(100, random_state=0)), [c])
                  for i, c in enumerate(spec.text)]
    n_cat = len(spec.categorical)
    categorical_mask = [False] * len(spec.numeric) + [True] * n_cat + [False] * (100 * len(spec.text))
    if spec.problem == "classification":
        linear_model = LogisticRegression(max_iter=3000)
        hgb = HistGradientBoostingClassifier(categorical_features=categorical_mask, random_state=0)
    else:
        linear_model = Ridge()
        hgb = HistGradientBoostingRegressor(categorical_features=categorical_mask, random_state=0)
    return {
        "sklearn linear": make_pipeline(ColumnTransformer(linear_parts, sparse_threshold=1.0), linear_model),
        "sklearn HistGradientBoosting": make_pipeline(ColumnTransformer(hgb_parts, sparse_threshold=0.0), hgb),
    }


def _quality(spec: Spec, truth: np.ndarray, pred: np.ndarray) -> float:
    if spec.problem == "classification":
        return float(np.mean(np.asarray(truth).astype(str) == np.asarray(pred).astype(str)))
    return float(np.sqrt(np.mean((np.asarray(truth, float) - np.asarray(pred, float)) ** 2)))


def run(tables: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per (table, system): quality (accuracy or RMSE), seconds, rows/s, ratios."""
    import featureship

    results: list[dict[str, Any]] = []
    for name, (spec, frame) in _tables().items():
        if tables and name not in tables:
            continue
        train, test = _split(spec, frame)
        x_train, x_test = train.drop(columns=spec.label), test.drop(columns=spec.label)
        rows = []
        for system, pipeline in _baselines(spec).items():
            y = train[spec.label] if spec.problem == "regression" else train[spec.label].astype(str)
            t0 = time.perf_counter()
            pipeline.fit(x_train, y)
            seconds = time.perf_counter() - t0
            t0 = time.perf_counter()
            pred = pipeline.predict(x_test)
            rate = len(x_test) / (time.perf_counter() - t0)
            rows.append({"system": system, "quality": _quality(spec, test[spec.label], pred),
                         "train_s": seconds, "rows_per_s": rate})
        # featureship reads tables as strings (as its CSV reader does) and infers every kind
        as_read = train.astype(object).where(train.notna(), None).map(lambda v: v if v is None else str(v))
        as_read = as_read.map(lambda v: v[:-2] if isinstance(v, str) and v.endswith(".0") else v)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            model = featureship.train("tabular", data=as_read, output=Path(tmp) / "model",
                                      label_column=spec.label, problem=spec.problem, seed=0)
            seconds = time.perf_counter() - t0
            table = featureship.data.readers.Table(x_test.astype(object), Path("test"))
            t0 = time.perf_counter()
            out = model.predict_table(table)
            rate = len(x_test) / (time.perf_counter() - t0)
            rows.append({"system": f"featureship auto ({model.describe().chosen})",
                         "quality": _quality(spec, test[spec.label], out["prediction"]),
                         "train_s": seconds, "rows_per_s": rate})
        higher_better = spec.problem == "classification"
        best = (max if higher_better else min)(r["quality"] for r in rows[:-1])
        ours = rows[-1]
        for row in rows:
            row.update(table=name, metric="accuracy" if higher_better else "rmse",
                       rows_train=len(train), rows_test=len(test))
        ours["vs_best_baseline"] = ours["quality"] / best
        ours["meets_target"] = ours["quality"] >= best if higher_better else ours["quality"] <= best
        ours["train_time_vs_hgb"] = ours["train_s"] / rows[1]["train_s"]
        results += rows
    return results


def _print(results: list[dict[str, Any]]) -> None:
    print(f"{'table':22} {'system':36} {'metric':8} {'value':>8} {'train s':>8} {'rows/s':>10}  notes")
    for r in results:
        notes = ""
        if "vs_best_baseline" in r:
            notes = (f"{r['metric']} ratio vs best baseline {r['vs_best_baseline']:.4f} "
                     f"({'meets' if r['meets_target'] else 'MISSES'} target); train time ×{r['train_time_vs_hgb']:.1f} of HGB")
        print(f"{r['table']:22} {r['system']:36} {r['metric']:8} {r['quality']:8.4f} {r['train_s']:8.1f} "
              f"{r['rows_per_s']:10.0f}  {notes}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", default="", help="Comma-separated table names (default: all).")
    args = parser.parse_args()
    _print(run([t for t in args.tables.split(",") if t] or None))

"""Real mixed-type data: womens-clothing-reviews (numbers, categories, free text).

Predicts `Recommended IND` from every column but `Rating` (given together with the label by the
same reviewer, it would leak the answer), against a scikit-learn TF-IDF + one-hot logistic
regression baseline on the same stratified split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

import featureship
from featureship.data.readers import read_table
from tests.data_sets import shared_dataset

ROWS = 3000
NUMERIC = ["Clothing ID", "Age", "Positive Feedback Count"]
CATEGORICAL = ["Division Name", "Department Name", "Class Name"]
TEXT = ["Title", "Review Text"]
LABEL = "Recommended IND"


def _baseline_accuracy(train: pd.DataFrame, test: pd.DataFrame) -> float:
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    def tfidf() -> object:
        return make_pipeline(FunctionTransformer(lambda f: f.fillna("").astype(str).iloc[:, 0]),
                             TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True))

    numbers = lambda f: f.apply(pd.to_numeric)  # noqa: E731  (the reader's cells are strings)
    pipeline = make_pipeline(ColumnTransformer([
        ("num", make_pipeline(FunctionTransformer(numbers), SimpleImputer(strategy="median"),
                              StandardScaler()), NUMERIC),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                              OneHotEncoder(handle_unknown="ignore")), CATEGORICAL),
        *[(f"text{i}", tfidf(), [c]) for i, c in enumerate(TEXT)],
    ]), LogisticRegression(max_iter=3000))
    pipeline.fit(train.drop(columns=LABEL), train[LABEL])
    return float(np.mean(pipeline.predict(test.drop(columns=LABEL)) == test[LABEL]))


@pytest.mark.slow
def test_featureship_matches_or_beats_a_linear_baseline_on_reviews(tmp_path: Path) -> None:
    frame = read_table(shared_dataset("womens-clothing-reviews/reviews.csv")).frame.drop(columns=["Rating"])
    frame, _ = train_test_split(frame, train_size=ROWS, random_state=0, stratify=frame[LABEL])
    train, test = train_test_split(frame, test_size=0.2, random_state=0, stratify=frame[LABEL])
    train, test = train.reset_index(drop=True), test.reset_index(drop=True)

    model = featureship.train("tabular", data=train, output=tmp_path / "reviews", label_column=LABEL,
                              time_budget_minutes=0.5)
    kinds = {c["name"]: c["kind"] for c in model.describe().input_schema["columns"]}
    assert kinds["Review Text"] == "text" and kinds["Class Name"] == "categorical" and kinds["Age"] == "numeric"
    ours = model.evaluate(test)
    baseline = _baseline_accuracy(train, test)
    # "matches" = within two test rows (the split's resolution is 1/600 = 0.17 points)
    assert ours["accuracy"] >= baseline - 2 / len(test), (ours["accuracy"], baseline)
    assert ours["roc_auc"] > 0.85
    explanation = model.explain(test.drop(columns=LABEL).head(3).to_dict("records"))
    for e in explanation:
        total = e["base_value"] + sum(c["contribution"] for c in e["contributions"])
        assert total == pytest.approx(e["output"], abs=1e-6)

"""One tiny case per registered task: data to fit, inputs to predict, a bad input to refuse.

A new task adds its case here; `test_every_registered_task_has_a_case` fails until it does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tests.data_sets import BANKING77_ANSWERS, banking_subset
from tests.unit.image.digits import digits_frame
from tests.unit.recommendation.conftest import FAST, synthetic_frame


@dataclass
class Case:
    data: Callable[[], pd.DataFrame]  # training data (small, real where possible)
    held_out: Callable[[], pd.DataFrame]  # labelled data the model has not seen
    settings: dict[str, Any]
    inputs: list[Any]  # rows for model.predict
    bad_inputs: list[Any]  # rows model.predict must refuse with a FeatureshipError...
    bad_message: str  # ...whose message contains this
    cli_options: dict[str, Any] = field(default_factory=dict)  # for model.predict_cli


def _text_held_out() -> pd.DataFrame:
    return banking_subset(3, 5, skip=20)


def _walks_held_out() -> pd.DataFrame:
    # one unseen in-group item per user of the first few users of each group
    frame = synthetic_frame()
    rows = []
    for user in ("a-user0", "a-user1", "b-user0", "b-user1"):
        seen = set(frame.loc[frame.user == user, "item"])
        rows.append({"user": user, "item": next(f"{user[0]}{i}" for i in range(20)
                                                if f"{user[0]}{i}" not in seen)})
    return pd.DataFrame(rows)


def _breast_cancer(rows: slice) -> pd.DataFrame:
    # real data, as featureship's CSV reader would hand it over: every cell a string
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.astype(str)
    return frame.iloc[rows].reset_index(drop=True)


def _breast_cancer_inputs() -> list[dict[str, Any]]:
    frame = _breast_cancer(slice(300, 303)).drop(columns="target")
    return [{k: float(v) for k, v in row.items()} for row in frame.to_dict("records")]


_QUESTIONS = Path(__file__).resolve().parents[1] / "fixtures" / "answer_retrieval" / "questions.csv"


def _answers() -> pd.DataFrame:
    # the replies of the three intents in the questions fixture (banking_subset(3, 12))
    frame = pd.read_csv(BANKING77_ANSWERS)
    return frame[frame["id"].isin(["card_arrival", "card_linking", "exchange_rate"])].reset_index(drop=True)


def _answers_held_out() -> pd.DataFrame:
    return banking_subset(3, 5, skip=20).rename(columns={"text": "question", "category": "answer_id"})


CASES: dict[str, Case] = {
    "text-classification": Case(
        data=lambda: banking_subset(3, 20),
        held_out=_text_held_out,
        settings={"text_column": "text", "label_column": "category", "mode": "head"},
        inputs=["my card has not arrived", "I lost my card", "what exchange rate do you use?"],
        bad_inputs=["fine", 42],
        bad_message="Inputs must be texts; item(s) 1 are int",
        cli_options={"text": ["where is my card?"]},
    ),
    "recommendation": Case(
        data=synthetic_frame,
        held_out=_walks_held_out,
        settings={"user_column": "user", "item_column": "item", "time_column": "ts",
                  "model": "itemknn", **FAST},
        inputs=["a-user3", "b-user5", "stranger"],
        bad_inputs=[{"user": "a-user3"}],
        bad_message="input 0 is an object",
        cli_options={"users": "a-user3,b-user5", "k": 3},
    ),
    "tabular": Case(
        data=lambda: _breast_cancer(slice(0, 200)),
        held_out=lambda: _breast_cancer(slice(200, 300)),
        settings={"label_column": "target", "time_budget_minutes": 0.2},
        inputs=_breast_cancer_inputs(),
        bad_inputs=["not a row"],
        bad_message="input 0 is str, not an object",
        cli_options={"data": _breast_cancer(slice(300, 310)).drop(columns="target")},
    ),
    "image-classification": Case(
        data=lambda: digits_frame(12, classes=3),
        held_out=lambda: digits_frame(5, skip=12, classes=3),
        settings={"image_column": "image", "label_column": "digit", "mode": "scratch", "epochs": 2,
                  "widths": [8, 16], "image_size": 16, "flip": False},
        inputs=[digits_frame(1, skip=30, classes=3)["image"][i] for i in range(3)],
        bad_inputs=[digits_frame(1, skip=30)["image"][0], b"not an image"],
        bad_message="inputs[1] is not a readable image",
        cli_options={"data": digits_frame(2, skip=20, classes=3)},
    ),
    "answer-retrieval": Case(
        data=_answers,
        held_out=_answers_held_out,
        settings={"id_column": "id", "answer_column": "answer", "title_column": "title",
                  "questions": str(_QUESTIONS), "question_column": "question",
                  "answer_id_column": "answer_id", "mode": "frozen"},
        inputs=["my card has not arrived", "I lost my card", "what exchange rate do you use?"],
        bad_inputs=["fine", 42],
        bad_message="Inputs must be texts (customer messages); item(s) 1 are int",
        cli_options={"text": ["where is my card?"]},
    ),
}

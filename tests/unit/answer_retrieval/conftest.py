"""Small answer-retrieval data: a few banking77 replies and real questions for them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.data_sets import BANKING77_ANSWERS, banking_subset

INTENTS = ["card_arrival", "card_linking", "exchange_rate", "card_payment_wrong_exchange_rate"]
COLUMNS = {"id_column": "id", "answer_column": "answer", "title_column": "title"}
QUESTION_COLUMNS = {"question_column": "text", "answer_id_column": "category"}


def replies(intents: list[str] = INTENTS) -> pd.DataFrame:
    frame = pd.read_csv(BANKING77_ANSWERS)
    return frame[frame["id"].isin(intents)].reset_index(drop=True)


@pytest.fixture
def kb_csv(tmp_path: Path) -> Path:
    path = tmp_path / "kb.csv"
    replies().to_csv(path, index=False)
    return path


@pytest.fixture
def questions_csv(tmp_path: Path) -> Path:
    path = tmp_path / "questions.csv"
    banking_subset(4, 10).to_csv(path, index=False)
    return path


@pytest.fixture
def held_out_csv(tmp_path: Path) -> Path:
    path = tmp_path / "held_out.csv"
    banking_subset(4, 6, skip=30).to_csv(path, index=False)
    return path

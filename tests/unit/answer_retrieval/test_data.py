"""The boundary: what a knowledge base and labelled questions must look like."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from featureship.data.readers import Table
from featureship.errors import DataError, SettingsError
from featureship.tasks.answer_retrieval.data import (
    read_knowledge_base,
    read_questions,
    read_unlabelled,
    split_questions,
)


def table(frame: pd.DataFrame, name: str = "kb.csv") -> Table:
    return Table(frame, Path(name))


def test_duplicate_answer_ids_are_refused_with_their_rows() -> None:
    frame = pd.DataFrame({"id": ["a", "b", "a"], "answer": ["x", "y", "z"]})
    with pytest.raises(DataError, match=r"appear more than once: a \(rows 1, 3\)"):
        read_knowledge_base(table(frame), "id", "answer", None)


def test_empty_answers_are_refused_with_their_rows() -> None:
    frame = pd.DataFrame({"id": ["a", "b", "c"], "answer": ["x", "  ", None]})
    with pytest.raises(DataError, match=r"2 answer\(s\) in 'answer' are empty: rows 2, 3"):
        read_knowledge_base(table(frame), "id", "answer", None)


def test_a_missing_column_names_the_flag() -> None:
    frame = pd.DataFrame({"id": ["a"], "reply": ["x"]})
    with pytest.raises(DataError, match="--answer-column 'answer' is not in kb.csv"):
        read_knowledge_base(table(frame), "id", "answer", None)


def test_unknown_answer_ids_in_questions_are_all_listed() -> None:
    questions = pd.DataFrame({"q": ["hi", "lost card", "rate?", "hello"],
                              "a": ["greet", "lost", "rates", "greet2"]})
    with pytest.raises(DataError) as info:
        read_questions(table(questions, "questions.csv"), "q", "a", {"lost"})
    message = str(info.value)
    assert "3 answer id(s) in 'a' are not in the knowledge base: greet, greet2, rates" in message
    assert "rows 1, 3, 4" in message


def test_questions_need_both_columns() -> None:
    with pytest.raises(SettingsError, match="--question-column and --answer-id-column"):
        read_questions(table(pd.DataFrame({"q": ["x"]})), "q", None, None)


def test_blank_questions_are_skipped_and_counted() -> None:
    frame = pd.DataFrame({"q": ["lost my card", "", "rate?"], "a": ["lost", "lost", "rates"]})
    questions = read_questions(table(frame), "q", "a", {"lost", "rates"})
    assert questions.texts == ["lost my card", "rate?"]
    assert any("skipped 1 row(s) with no question: row 2" in n for n in questions.notes)


def test_the_split_keeps_an_answer_with_one_question_for_training() -> None:
    frame = pd.DataFrame({"q": [f"q{i}" for i in range(11)], "a": ["x"] * 10 + ["only"]})
    questions = read_questions(table(frame), "q", "a", {"x", "only"})
    train, valid = split_questions(questions, 0.2, seed=0)
    assert "only" in train.answer_ids and "only" not in valid.answer_ids
    assert len(valid.texts) == 2 and not set(train.texts) & set(valid.texts)


def test_unlabelled_messages_skip_blanks_repeats_and_copies_of_labelled_questions() -> None:
    table = Table(pd.DataFrame({"message": ["where is my card", " ", "where is my card",
                                            "what rate do you use", None, "link my card"]}),
                  Path("log.csv"))
    texts, notes = read_unlabelled(table, "message", {"link my card"}, limit=100, seed=0)
    assert texts == ["where is my card", "what rate do you use"]
    assert any("skipped 2 blank" in n and "rows 2, 5" in n for n in notes), notes
    assert any("1 message(s) identical to a labelled question" in n for n in notes), notes
    sample, notes = read_unlabelled(table, "message", set(), limit=2, seed=0)
    assert len(sample) == 2 and any("seeded sample of 2" in n for n in notes)


def test_unlabelled_messages_need_their_column() -> None:
    table = Table(pd.DataFrame({"message": ["hi"]}), Path("log.csv"))
    with pytest.raises(SettingsError, match="--unlabelled-column"):
        read_unlabelled(table, None, set(), limit=10, seed=0)
    with pytest.raises(DataError, match="'text'"):
        read_unlabelled(table, "text", set(), limit=10, seed=0)

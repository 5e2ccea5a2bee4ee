"""Text-classification input checks: each bad-input case names file, column, rows and the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from featureship.data.readers import Table
from featureship.errors import DataError
from featureship.tasks.text_classification.data import check_trainable, label_strings, text_examples


def table(frame: pd.DataFrame, name: str = "tickets.csv") -> Table:
    return Table(frame, Path(name))


def test_missing_column_lists_existing_and_suggests():
    t = table(pd.DataFrame({"text": ["a"], "category": ["x"]}))
    with pytest.raises(DataError) as err:
        text_examples(t, "text", "categry")
    message = str(err.value)
    assert "--label-column 'categry' is not in tickets.csv" in message
    assert "its columns are: text, category" in message
    assert "Did you mean 'category'?" in message


def test_no_rows():
    t = table(pd.DataFrame({"text": pd.Series([], dtype="str"), "label": pd.Series([], dtype="str")}))
    with pytest.raises(DataError, match="tickets.csv has a header but no rows"):
        text_examples(t, "text", "label")


def test_numeric_text_column_is_refused():
    t = table(pd.DataFrame({"amount": [1.5, 2.0], "label": ["a", "b"]}))
    with pytest.raises(DataError, match="'amount' in tickets.csv holds numbers, not text"):
        text_examples(t, "amount", "label")


def test_empty_texts_are_skipped_and_reported_with_rows():
    t = table(pd.DataFrame({"text": ["ok", "", None, "  ", "fine"], "label": ["a", "b", "a", "b", "a"]}))
    examples = text_examples(t, "text", "label")
    assert examples.texts == ["ok", "fine"]
    assert examples.rows.tolist() == [0, 4]
    assert "skipped 3 row(s) with an empty 'text': rows 2, 3, 4" in examples.notes[0]


def test_non_text_values_in_jsonl_are_reported():
    t = table(pd.DataFrame({"text": ["ok", 42, ["x"], "fine"], "label": ["a", "b", "a", "b"]}), "data.jsonl")
    examples = text_examples(t, "text", "label")
    assert examples.texts == ["ok", "fine"]
    assert any("2 row(s) whose 'text' is not text" in n and "rows 2, 3" in n for n in examples.notes)


def test_missing_labels_are_reported():
    t = table(pd.DataFrame({"text": ["a", "b", "c"], "label": ["x", None, "y"]}))
    examples = text_examples(t, "text", "label")
    assert examples.labels == ["x", "y"]
    assert "skipped 1 row(s) with no 'label': row 2" in examples.notes[0]


def test_nothing_usable():
    t = table(pd.DataFrame({"text": ["", None], "label": ["x", "y"]}))
    with pytest.raises(DataError, match="none of its 2 rows has both a text and a label"):
        text_examples(t, "text", "label")


def test_one_class_only():
    t = table(pd.DataFrame({"text": ["a", "b", "c"], "label": ["x", "x", "x"]}))
    with pytest.raises(DataError, match="has one class only \\('x'\\).*at least two"):
        check_trainable(text_examples(t, "text", "label"), "tickets.csv", "label")


def test_rare_classes_are_named_with_counts():
    t = table(pd.DataFrame({"text": list("abcdef"), "label": ["x", "x", "y", "y", "z", "w"]}))
    with pytest.raises(DataError) as err:
        check_trainable(text_examples(t, "text", "label"), "tickets.csv", "label")
    assert "2 class(es) of 'label' have fewer than 2 examples: 'z' (1), 'w' (1)" in str(err.value)
    assert "add examples or remove/merge" in str(err.value)


def test_float_labels_keep_integer_names():
    values = pd.Series([1.0, 0.0, np.nan, 1.0])
    assert label_strings(values).tolist()[:2] == ["1", "0"]
    assert pd.isna(label_strings(values).iloc[2])


def test_all_empty_text_column():
    t = table(pd.DataFrame({"text": [None, None], "label": ["a", "b"]}))
    with pytest.raises(DataError, match="'text' in tickets.csv is empty in every row"):
        text_examples(t, "text", "label")


def test_numbers_read_as_text_are_not_a_text_column():
    t = table(pd.DataFrame({"amount": ["1.5", "20"], "label": ["a", "b"]}))
    with pytest.raises(DataError, match="holds numbers, not text"):
        text_examples(t, "amount", "label")


def test_every_missing_column_is_named_in_one_message():
    from featureship.data.columns import require_columns

    table = Table(pd.DataFrame({"message": ["hi"], "intent": ["x"]}), Path("tickets.csv"))
    with pytest.raises(DataError) as caught:
        require_columns(table, text_column="text", label_column="category")
    message = str(caught.value)
    assert "The --text-column 'text' and --label-column 'category' are not in tickets.csv" in message
    assert "its columns are: message, intent" in message

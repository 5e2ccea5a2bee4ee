"""Turn a user's table into clean (texts, labels), reporting every row that cannot be used."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from featureship.data.columns import (
    blank_rows,
    describe_rows,
    is_text_column,
    require_columns,
    require_rows,
)
from featureship.data.readers import Table
from featureship.errors import DataError


@dataclass
class TextExamples:
    texts: list[str]
    labels: list[str] | None
    rows: np.ndarray  # 0-based positions of the kept rows in the user's table
    notes: list[str] = field(default_factory=list)


def _all_numbers(values: pd.Series) -> bool:
    """A CSV column read as text whose every value is a number is not a text column."""
    present = values.dropna()
    return len(present) > 0 and pd.to_numeric(present, errors="coerce").notna().all()


def label_strings(values: pd.Series) -> pd.Series:
    """Labels as strings; 1.0 → '1' so a 0/1 column read as float keeps its natural names."""
    if pd.api.types.is_float_dtype(values):
        non_null = values.dropna()
        if len(non_null) and (non_null == non_null.round()).all():
            return values.map(lambda v: v if pd.isna(v) else str(int(v)))
    return values.map(lambda v: v if pd.isna(v) else str(v).strip())


def text_examples(table: Table, text_column: str, label_column: str | None,
                  trained: bool = False) -> TextExamples:
    """Validate columns and values; skip (and report) rows with no usable text or label.

    `trained`: the column names come from a trained model (evaluate/predict), not from flags.
    """
    require_columns(table, trained=trained, text_column=text_column, label_column=label_column)
    require_rows(table)
    frame = table.frame
    texts = frame[text_column]
    notes = list(table.notes)
    if texts.isna().all():
        raise DataError(
            f"The --text-column '{text_column}' in {table.name} is empty in every row. "
            "Choose the column with the texts."
        )
    if not is_text_column(texts) or _all_numbers(texts):
        raise DataError(
            f"The --text-column '{text_column}' in {table.name} holds numbers, not text "
            f"(first value: {texts.dropna().iloc[0]!r}). Choose the column with the texts."
        )
    skip = np.zeros(len(frame), dtype=bool)
    empty = blank_rows(texts)
    if empty:
        notes.append(f"{table.name}: skipped {len(empty)} row(s) with an empty '{text_column}': "
                     f"{describe_rows(empty)}.")
        skip[np.array(empty) - 1] = True
    not_text = [i + 1 for i, v in enumerate(texts) if not skip[i] and not isinstance(v, str)]
    if not_text:
        notes.append(f"{table.name}: skipped {len(not_text)} row(s) whose '{text_column}' is not "
                     f"text (a number, list or object): {describe_rows(not_text)}.")
        skip[np.array(not_text) - 1] = True
    labels = None
    if label_column is not None:
        label_values = label_strings(frame[label_column])
        missing = [r for r in blank_rows(label_values) if not skip[r - 1]]
        if missing:
            notes.append(f"{table.name}: skipped {len(missing)} row(s) with no '{label_column}': "
                         f"{describe_rows(missing)}.")
            skip[np.array(missing) - 1] = True
        labels = [str(v) for v in label_values[~skip]]
    rows = np.flatnonzero(~skip)
    if len(rows) == 0:
        raise DataError(
            f"{table.name}: none of its {len(frame)} rows has both a text and a label "
            f"(columns '{text_column}', '{label_column}'). Check the column names and contents."
        )
    return TextExamples([str(v) for v in texts.iloc[rows]], labels, rows, notes)


def check_trainable(examples: TextExamples, source: str, label_column: str) -> None:
    """A classifier needs two classes, each with at least two examples (one for validation)."""
    counts = pd.Series(examples.labels or []).value_counts()
    if len(counts) < 2:
        raise DataError(
            f"{source}: the --label-column '{label_column}' has one class only "
            f"('{counts.index[0]}'); a classifier needs at least two. Check the column choice."
        )
    rare = counts[counts < 2]
    if len(rare):
        listing = ", ".join(f"'{k}' ({v})" for k, v in rare.items())
        raise DataError(
            f"{source}: {len(rare)} class(es) of '{label_column}' have fewer than 2 examples: "
            f"{listing}. Each class needs at least 2 (one to learn from, one to validate on); "
            "add examples or remove/merge those rows."
        )

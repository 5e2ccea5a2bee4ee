"""Column type inference and value parsing, for tables whose cells may all be strings.

featureship's CSV reader keeps every cell as written (dtype=str), Parquet and DataFrames bring
real dtypes: both go through the same parsers, so a column reads the same from either. Kinds:
numeric, boolean, datetime (→ parts), categorical, text (→ TF-IDF); identifier-like, empty and
constant columns are dropped with a note.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from featureship.errors import DataError

# Cells that mean "no value" in hand-made tables; only in columns that are not free text.
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-", "--", "#n/a"})
TRUE_TOKENS = frozenset({"true", "t", "yes", "y", "1", "1.0"})
FALSE_TOKENS = frozenset({"false", "f", "no", "n", "0", "0.0"})
_DATE_LIKE = re.compile(r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})([ T].*)?$")
_ID_NAME = re.compile(r"(^|[\s_\-.])(id|uuid|guid|key)$|^id[\s_\-.]", re.IGNORECASE)
DATE_PARTS = ("year", "month", "day", "dayofweek", "dayofyear", "hour")
KINDS = ("numeric", "boolean", "datetime", "categorical", "text")
_EXPECTED = {"numeric": "a number", "boolean": "true/false (or yes/no, 1/0)",
             "datetime": "a date such as 2024-05-31", "categorical": "a string or a number",
             "text": "a text"}
# A string column with more distinct values than this that reads like words is free text.
_TEXT_MIN_WORDS = 3.0


@dataclass
class ColumnSpec:
    """One input column: its kind and what preprocessing learned from the training rows."""

    name: str
    kind: str
    missing_share: float = 0.0
    categories: list[str] = field(default_factory=list)  # categorical: kept values, by frequency
    median: list[float] = field(default_factory=list)  # numeric/boolean/date parts: imputation
    mean: list[float] = field(default_factory=list)  # scaling stats of the numeric features
    std: list[float] = field(default_factory=list)
    has_time: bool = False  # datetime: keep the hour part

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def expected(self) -> str:
        return _EXPECTED[self.kind]


@dataclass
class InferredSchema:
    columns: list[ColumnSpec]
    dropped: dict[str, str]  # column → why it is not a feature
    notes: list[str]


def _missing(values: pd.Series) -> pd.Series:
    """True where a cell is empty or a missing-value token ('NA', 'null', '?', ...)."""
    if not (pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values)):
        return values.isna()
    as_text = values.map(lambda v: v.strip().lower() if isinstance(v, str) else v)
    return values.isna() | as_text.isin(MISSING_TOKENS)


def parse_numeric(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Floats (NaN where missing) and a mask of cells that are present but not numbers."""
    missing = _missing(values).to_numpy()
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float).to_numpy(), np.zeros(len(values), bool)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float).to_numpy(), np.zeros(len(values), bool)
    cleaned = values.map(lambda v: v.strip() if isinstance(v, str) else v)
    cleaned = cleaned.map(lambda v: np.nan if isinstance(v, bool) else v)  # True is no number
    number = pd.to_numeric(cleaned.where(~missing), errors="coerce").astype(float).to_numpy()
    bad = ~missing & np.isnan(number)
    return np.where(missing, np.nan, number), bad


def parse_boolean(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """1.0 / 0.0 / NaN, and a mask of present cells that are not a truth value."""
    def one(v: Any) -> float | None:
        if isinstance(v, (bool, np.bool_)):
            return float(v)
        if isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
            return float(v)
        text = str(v).strip().lower()
        return 1.0 if text in TRUE_TOKENS else 0.0 if text in FALSE_TOKENS else None

    missing = _missing(values).to_numpy()
    out = np.full(len(values), np.nan)
    bad = np.zeros(len(values), bool)
    for i, v in enumerate(values.tolist()):
        if missing[i]:
            continue
        parsed = one(v)
        if parsed is None:
            bad[i] = True
        else:
            out[i] = parsed
    return out, bad


def parse_datetime(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Timestamps (NaT where missing) and a mask of present cells that are not dates."""
    missing = _missing(values).to_numpy()
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(None) if values.dt.tz is not None else values, np.zeros(len(values), bool)
    text = values.map(lambda v: v.strip() if isinstance(v, str) else v).where(~missing)
    looks = text.map(lambda v: isinstance(v, str) and bool(_DATE_LIKE.match(v))).to_numpy()
    parsed = pd.to_datetime(text.where(looks), errors="coerce", format="mixed")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(None)
    bad = ~missing & parsed.isna().to_numpy()
    return parsed, bad


def date_parts(stamps: pd.Series, has_time: bool) -> np.ndarray:
    """(N, parts) floats: year, month, day, weekday, day of year (+ hour), NaN where missing."""
    parts = [stamps.dt.year, stamps.dt.month, stamps.dt.day, stamps.dt.day_of_week, stamps.dt.day_of_year]
    if has_time:
        parts.append(stamps.dt.hour)
    return np.column_stack([p.astype(float).to_numpy() for p in parts])


def category_strings(values: pd.Series) -> pd.Series:
    """Category values as strings; 3.0 → '3' so numbers from JSON match the CSV's '3'."""
    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        text = str(v).strip()
        return None if text.lower() in MISSING_TOKENS else text

    return values.map(one)


def text_strings(values: pd.Series) -> list[str]:
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values.tolist()]


def infer_column(name: str, values: pd.Series) -> tuple[str | None, str]:
    """The kind of one column, or (None, why it is dropped)."""
    missing = _missing(values)
    present = values[~missing]
    n = len(present)
    if n == 0:
        return None, "empty in every row"
    if pd.api.types.is_bool_dtype(values):
        return "boolean", ""
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime", ""
    number, bad = parse_numeric(values)
    if not bad.any():
        distinct = np.unique(number[~np.isnan(number)])
        if len(distinct) == 1:
            return None, f"the same value ({distinct[0]:g}) in every row"
        if set(distinct.tolist()) <= {0.0, 1.0}:
            return "boolean", ""
        integral = bool(np.all(distinct == np.round(distinct)))
        if integral and _ID_NAME.search(name) and len(distinct) > 0.5 * n:
            return None, "identifier-like (an integer id, distinct in most rows)"
        return "numeric", ""
    _, bad_bool = parse_boolean(values)
    if not bad_bool.any():
        return "boolean", ""
    _, bad_date = parse_datetime(values)
    if not bad_date.any():
        return "datetime", ""
    strings = present.map(str)
    distinct = strings.nunique()
    if distinct == 1:
        return None, f"the same value ('{strings.iloc[0]}') in every row"
    words = float(strings.str.split().str.len().mean())
    if words >= _TEXT_MIN_WORDS and distinct > 20:
        return "text", ""
    if n >= 20 and distinct >= 0.95 * n and words < 1.5:
        return None, "identifier-like (a distinct single-token value in almost every row)"
    return "categorical", ""


def infer_schema(frame: pd.DataFrame, label_column: str, ignore: list[str], source: str) -> InferredSchema:
    """Kinds of every feature column (all but the label and `ignore`), with notes to show."""
    columns, dropped, notes = [], {}, []
    for name in frame.columns:
        name = str(name)
        if name == label_column or name in ignore:
            continue
        kind, why = infer_column(name, frame[name])
        if kind is None:
            dropped[name] = why
            notes.append(f"{source}: column '{name}' is not used as a feature: {why}. "
                         "Pass --ignore-columns to drop it silently.")
            continue
        share = float(_missing(frame[name]).mean()) if kind != "text" else float(frame[name].isna().mean())
        columns.append(ColumnSpec(name, kind, missing_share=round(share, 4)))
    if not columns:
        raise DataError(
            f"{source}: no column besides the label '{label_column}' can be used as a feature "
            f"(dropped: {', '.join(f'{k} ({v})' for k, v in dropped.items()) or 'none'}). "
            "Add feature columns or check --ignore-columns."
        )
    return InferredSchema(columns, dropped, notes)

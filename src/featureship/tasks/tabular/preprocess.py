"""From a table to model features, learned on training rows only and stored as JSON + arrays.

Two encodings of one parsed table:
- linear: imputed and standardised numbers (+ a missing flag), one-hot categories, TF-IDF
  words — a sparse matrix for logistic / ridge regression;
- trees: raw numbers with NaN, category codes (LightGBM's native categorical splits), and
  one text score per text column (see `text.py`).
Every feature remembers the input column it came from (`groups`), so explanations and
importances are reported per column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from featureship.errors import DataError
from featureship.tasks.tabular import text as textfeat
from featureship.tasks.tabular.schema import (
    DATE_PARTS,
    ColumnSpec,
    category_strings,
    date_parts,
    parse_boolean,
    parse_datetime,
    parse_numeric,
    text_strings,
)

_SHOWN_BAD_CELLS = 10


@dataclass
class Parsed:
    """Each column's values in the form its kind needs (floats, codes, texts)."""

    values: dict[str, Any]
    rows: int


@dataclass
class Preprocessor:
    columns: list[ColumnSpec]
    problem: str
    tfidf: dict[str, Any] = field(default_factory=dict)  # text column → TfidfVectorizer
    text_models: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    # ---- parsing ---------------------------------------------------------------------------
    def parse(self, frame: pd.DataFrame, source: str, row_name: str = "row", first_row: int = 1) -> Parsed:
        """Parse every feature column; one error lists the cells that do not fit their kind.

        `row_name`/`first_row`: how rows are named in messages ("row 3" of a file counts from
        1, "input 2" of a request from 0).
        """
        values: dict[str, Any] = {}
        bad_cells: list[str] = []
        for spec in self.columns:
            column = frame[spec.name]
            if spec.kind in ("numeric", "boolean", "datetime"):
                parse = {"numeric": parse_numeric, "boolean": parse_boolean,
                         "datetime": parse_datetime}[spec.kind]
                parsed, bad = parse(column)
                for i in np.flatnonzero(bad)[:_SHOWN_BAD_CELLS]:
                    bad_cells.append(f"{row_name} {i + first_row}, column '{spec.name}': expected "
                                     f"{spec.expected}, got {column.iloc[i]!r}")
                values[spec.name] = (date_parts(parsed, spec.has_time) if spec.kind == "datetime"
                                     else parsed)
            elif spec.kind == "categorical":
                values[spec.name] = category_strings(column)
            else:
                values[spec.name] = text_strings(column)
        if bad_cells:
            more = f" (showing the first {len(bad_cells)})" if len(bad_cells) >= _SHOWN_BAD_CELLS else ""
            raise DataError(f"{source}: {len(bad_cells)} value(s) do not fit their column's type{more}: "
                            + "; ".join(bad_cells[:_SHOWN_BAD_CELLS])
                            + ". Fix those cells or leave them empty (a missing value is allowed).")
        return Parsed(values, len(frame))

    # ---- learning statistics (training rows only) ------------------------------------------
    def fit(self, parsed: Parsed, y: np.ndarray, class_weight: str | None, seed: int,
            max_categories: int) -> np.ndarray:
        """Learn imputation, scaling, categories and text models; return the training rows'
        out-of-fold text scores (so the trees never see in-sample text scores)."""
        oof = []
        for spec in self.columns:
            value = parsed.values[spec.name]
            if spec.kind in ("numeric", "boolean", "datetime"):
                matrix = np.asarray(value, dtype=float).reshape(len(y), -1)
                median = np.nanmedian(np.where(np.isnan(matrix).all(0), 0.0, matrix), axis=0) \
                    if matrix.size else np.zeros(matrix.shape[1])
                median = np.where(np.isnan(median), 0.0, median)
                filled = np.where(np.isnan(matrix), median, matrix)
                spec.median = median.tolist()
                spec.mean = filled.mean(0).tolist()
                spec.std = np.where(filled.std(0) > 1e-12, filled.std(0), 1.0).tolist()
            elif spec.kind == "categorical":
                counts = value.dropna().value_counts()
                kept = counts[counts >= 2] if (counts >= 2).sum() >= 2 else counts
                spec.categories = [str(c) for c in kept.index[:max_categories]]
            else:
                vectorizer = textfeat.fit_tfidf(value)
                self.tfidf[spec.name] = vectorizer
                scores, coef, intercept = textfeat.text_scores(
                    vectorizer.transform(value), y, self.problem, class_weight, seed)
                self.text_models[spec.name] = (coef, intercept)
                oof.append(scores)
        return np.hstack(oof) if oof else np.zeros((len(y), 0))

    def fit_datetime_flags(self, frame: pd.DataFrame) -> None:
        """Keep the hour part only for date columns that carry a time of day."""
        for spec in self.columns:
            if spec.kind == "datetime":
                stamps, _ = parse_datetime(frame[spec.name])
                present = stamps.dropna()
                spec.has_time = bool(len(present)) and bool((present.dt.hour != 0).any())

    # ---- linear encoding ---------------------------------------------------------------------
    def linear_matrix(self, parsed: Parsed) -> sp.csr_matrix:
        blocks = []
        for spec in self.columns:
            value = parsed.values[spec.name]
            if spec.kind in ("numeric", "boolean", "datetime"):
                matrix = np.asarray(value, dtype=float).reshape(parsed.rows, -1)
                missing = np.isnan(matrix)
                filled = np.where(missing, np.asarray(spec.median), matrix)
                scaled = (filled - np.asarray(spec.mean)) / np.asarray(spec.std)
                blocks.append(sp.csr_matrix(scaled))
                if spec.missing_share > 0:
                    blocks.append(sp.csr_matrix(missing.any(1, keepdims=True).astype(float)))
            elif spec.kind == "categorical":
                codes = self._codes(spec, value)
                width = len(spec.categories) + 2  # kept categories, other, missing
                codes = np.where(np.isnan(codes), width - 1, codes).astype(int)
                blocks.append(sp.csr_matrix((np.ones(len(codes)), (np.arange(len(codes)), codes)),
                                            shape=(len(codes), width)))
            else:
                blocks.append(self.tfidf[spec.name].transform(value).astype(np.float64))
        return sp.hstack(blocks, format="csr")

    def linear_groups(self) -> tuple[np.ndarray, list[str]]:
        """For every linear feature, the index of its input column; and short feature names."""
        groups, names = [], []
        for g, spec in enumerate(self.columns):
            if spec.kind in ("numeric", "boolean", "datetime"):
                parts = ([f"{spec.name}:{p}" for p in self._parts(spec)] if spec.kind == "datetime"
                         else [spec.name])
                parts += [f"{spec.name} (missing)"] if spec.missing_share > 0 else []
            elif spec.kind == "categorical":
                parts = [f"{spec.name}={c}" for c in spec.categories] + [
                    f"{spec.name}=<other>", f"{spec.name}=<missing>"]
            else:
                parts = [f"{spec.name}:'{w}'" for w in textfeat.tfidf_arrays(self.tfidf[spec.name])[0]]
            groups += [g] * len(parts)
            names += parts
        return np.array(groups, dtype=np.int64), names

    # ---- tree encoding -----------------------------------------------------------------------
    def tree_matrix(self, parsed: Parsed, text_scores: np.ndarray | None = None) -> np.ndarray:
        """Dense floats; `text_scores` stands in for the text columns (out-of-fold in training)."""
        blocks, done = [], 0
        for spec in self.columns:
            value = parsed.values[spec.name]
            if spec.kind in ("numeric", "boolean", "datetime"):
                blocks.append(np.asarray(value, dtype=float).reshape(parsed.rows, -1))
            elif spec.kind == "categorical":
                blocks.append(self._codes(spec, value).reshape(-1, 1))
            else:
                coef, intercept = self.text_models[spec.name]
                width = coef.shape[0]
                if text_scores is not None:
                    blocks.append(text_scores[:, done:done + width])
                else:
                    x = self.tfidf[spec.name].transform(value)
                    blocks.append(textfeat.apply_scores(x, coef, intercept))
                done += width
        return np.hstack(blocks) if blocks else np.zeros((parsed.rows, 0))

    def tree_features(self) -> tuple[np.ndarray, list[str], list[int]]:
        """Group of each tree feature, its name, and the indices of categorical features."""
        groups, names, categorical = [], [], []
        for g, spec in enumerate(self.columns):
            if spec.kind == "datetime":
                parts = [f"{spec.name}:{p}" for p in self._parts(spec)]
            elif spec.kind == "text":
                width = self.text_models[spec.name][0].shape[0]
                parts = [f"{spec.name} (text score)"] if width == 1 else [
                    f"{spec.name} (text score {k})" for k in range(width)]
            else:
                parts = [spec.name]
                if spec.kind == "categorical":
                    categorical.append(len(names))
            groups += [g] * len(parts)
            names += parts
        return np.array(groups, dtype=np.int64), names, categorical

    @staticmethod
    def _parts(spec: ColumnSpec) -> tuple[str, ...]:
        return DATE_PARTS if spec.has_time else DATE_PARTS[:-1]

    @staticmethod
    def _codes(spec: ColumnSpec, value: pd.Series) -> np.ndarray:
        """Index into the kept categories; len(categories) for any other value; NaN if missing."""
        index = {c: i for i, c in enumerate(spec.categories)}
        other = float(len(spec.categories))
        return np.array([np.nan if v is None else float(index.get(v, other)) for v in value.tolist()])

    # ---- storage -----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"problem": self.problem, "columns": [c.to_json() for c in self.columns]}

    def arrays(self) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
        """Text arrays for safetensors, and text vocabularies for JSON, keyed by column index."""
        tensors, vocabularies = {}, {}
        for i, spec in enumerate(self.columns):
            if spec.kind != "text":
                continue
            vocab, idf = textfeat.tfidf_arrays(self.tfidf[spec.name])
            coef, intercept = self.text_models[spec.name]
            tensors[f"text.{i}.idf"] = idf
            tensors[f"text.{i}.coef"] = coef.astype(np.float64)
            tensors[f"text.{i}.intercept"] = intercept.astype(np.float64)
            vocabularies[str(i)] = vocab
        return tensors, vocabularies

    @classmethod
    def from_stored(cls, spec: dict[str, Any], tensors: dict[str, np.ndarray],
                    vocabularies: dict[str, list[str]]) -> Preprocessor:
        columns = [ColumnSpec(**c) for c in spec["columns"]]
        prep = cls(columns, spec["problem"])
        for i, column in enumerate(columns):
            if column.kind == "text":
                prep.tfidf[column.name] = textfeat.tfidf_from_arrays(vocabularies[str(i)], tensors[f"text.{i}.idf"])
                prep.text_models[column.name] = (tensors[f"text.{i}.coef"], tensors[f"text.{i}.intercept"])
        return prep

"""Column kinds are inferred from strings (CSV) and from real dtypes alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from featureship.errors import DataError
from featureship.tasks.tabular.schema import (
    infer_column,
    infer_schema,
    parse_boolean,
    parse_datetime,
    parse_numeric,
)
from tests.unit.tabular.conftest import mixed_frame


def test_every_kind_of_column_is_inferred_from_strings() -> None:
    frame = mixed_frame()
    schema = infer_schema(frame, "churn", ["spend"], "t.csv")
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds == {"age": "numeric", "plan": "categorical", "member": "boolean",
                     "signup": "datetime", "notes": "text"}
    assert set(schema.dropped) == {"customer_id", "row_id", "constant", "empty"}
    assert "identifier-like" in schema.dropped["customer_id"]
    assert "identifier-like" in schema.dropped["row_id"]
    assert any("'customer_id' is not used as a feature" in n for n in schema.notes)
    age = next(c for c in schema.columns if c.name == "age")
    assert age.missing_share == pytest.approx(len(range(0, 240, 17)) / 240, abs=1e-4)


def test_real_dtypes_read_as_their_string_forms_do() -> None:
    frame = pd.DataFrame({
        "x": [1.5, 2.0, np.nan, 4.0] * 10,
        "flag": [True, False, True, False] * 10,
        "zero_one": [0, 1, 1, 0] * 10,
        "when": pd.to_datetime(["2024-01-01", "2024-02-03", None, "2024-05-06"] * 10),
        "city": pd.Series(["Oslo", "Rome", "Oslo", None] * 10, dtype="str"),  # pandas 3 text
    })
    assert infer_column("x", frame["x"])[0] == "numeric"
    assert infer_column("flag", frame["flag"])[0] == "boolean"
    assert infer_column("zero_one", frame["zero_one"])[0] == "boolean"
    assert infer_column("when", frame["when"])[0] == "datetime"
    assert infer_column("city", frame["city"])[0] == "categorical"


def test_parsers_flag_values_that_do_not_fit() -> None:
    numbers, bad = parse_numeric(pd.Series([" 1.5", "NA", "abc", "", "-2e3"], dtype=object))
    assert np.isnan(numbers[1]) and np.isnan(numbers[3]) and numbers[4] == -2000.0
    assert bad.tolist() == [False, False, True, False, False]
    flags, bad = parse_boolean(pd.Series(["Yes", "no", "maybe", None, True], dtype=object))
    assert flags[:2].tolist() == [1.0, 0.0] and bad.tolist() == [False, False, True, False, False]
    stamps, bad = parse_datetime(pd.Series(["2024-05-31", "31/05/2024", "tomorrow", "12"], dtype=object))
    assert stamps.iloc[0] == pd.Timestamp("2024-05-31") and bad.tolist() == [False, False, True, True]


def test_a_table_without_usable_features_is_refused() -> None:
    frame = pd.DataFrame({"label": ["a", "b"] * 5, "same": ["k"] * 10})
    with pytest.raises(DataError, match="no column besides the label 'label' can be used"):
        infer_schema(frame, "label", [], "t.csv")

"""Column checks shared by every task: presence (with a did-you-mean), emptiness, types."""

from __future__ import annotations

import difflib

import pandas as pd

from featureship.data.readers import Table
from featureship.errors import DataError, format_rows


def require_columns(table: Table, trained: bool = False, **columns: str | None) -> None:
    """Each `option=column` must exist in the table; the error lists the columns that do.

    `trained=True` when the columns come from a trained model (evaluate, predict): the user
    gave no flag then, so the message names the column and says where it came from.
    """
    existing = [str(c) for c in table.frame.columns]
    for option, column in columns.items():
        if column is None:
            continue
        if column not in table.frame.columns:
            hint = difflib.get_close_matches(column, existing, n=1)
            maybe = f" Did you mean '{hint[0]}'?" if hint else ""
            if trained:
                what = option.replace("_", " ")
                raise DataError(
                    f"{table.name} has no column '{column}', the {what} the model was trained "
                    f"with; its columns are: {', '.join(existing)}.{maybe} Rename that column "
                    f"to '{column}'."
                )
            flag = "--" + option.replace("_", "-")
            raise DataError(
                f"The {flag} '{column}' is not in {table.name}; its columns are: "
                f"{', '.join(existing)}.{maybe}"
            )


def require_rows(table: Table) -> None:
    if len(table.frame) == 0:
        raise DataError(f"{table.name} has a header but no rows; there is nothing to learn from.")


def blank_rows(values: pd.Series) -> list[int]:
    """1-based row numbers whose value is missing or only whitespace."""
    as_text = values.astype("str").str.strip()
    mask = values.isna() | (as_text == "")
    return [int(i) + 1 for i in range(len(values)) if mask.iloc[i]]


def is_text_column(values: pd.Series) -> bool:
    # pandas 3 reads text as the `str` dtype, not `object`: test for strings, not for object.
    return pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values)


def describe_rows(rows: list[int]) -> str:
    return f"row{'s' if len(rows) != 1 else ''} {format_rows(rows)}"

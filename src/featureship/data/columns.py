"""Column checks shared by every task: presence (with a did-you-mean), emptiness, types."""

from __future__ import annotations

import difflib

import pandas as pd

from featureship.data.readers import Table
from featureship.errors import DataError, format_rows


def require_columns(table: Table, trained: bool = False, **columns: str | None) -> None:
    """Each `option=column` must exist in the table; one error names every missing one.

    `trained=True` when the columns come from a trained model (evaluate, predict): the user
    gave no flag then, so the message names the column and says where it came from.
    """
    existing = [str(c) for c in table.frame.columns]
    missing = [(option, column) for option, column in columns.items()
               if column is not None and column not in table.frame.columns]
    if not missing:
        return
    hints = []
    for _, column in missing:
        close = difflib.get_close_matches(column, existing, n=1)
        if close:
            hints.append(f"Did you mean '{close[0]}' for '{column}'?" if len(missing) > 1
                         else f"Did you mean '{close[0]}'?")
    maybe = (" " + " ".join(hints)) if hints else ""
    if trained:
        named = _and([f"'{c}', the {o.replace('_', ' ')} the model was trained with"
                      for o, c in missing])
        plural = len(missing) > 1
        raise DataError(
            f"{table.name} has no column {named}; its columns are: {', '.join(existing)}.{maybe} "
            f"Rename {'those columns' if plural else 'that column'} to match."
        )
    named = _and([f"--{o.replace('_', '-')} '{c}'" for o, c in missing])
    verb = "are" if len(missing) > 1 else "is"
    raise DataError(
        f"The {named} {verb} not in {table.name}; its columns are: {', '.join(existing)}.{maybe}"
    )


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


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

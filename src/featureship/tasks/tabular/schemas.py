"""REST bodies of a tabular model, built from its manifest's input schema: one typed field per
column, so a value of the wrong type is a 422 naming the input and the column."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
    create_model,
    model_validator,
)

from featureship.endpoints import Limits, json_type
from featureship.tasks.tabular.schema import FALSE_TOKENS, TRUE_TOKENS, parse_datetime


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        # ValueError, not TypeError: pydantic turns only ValueError into a 422-able problem.
        raise ValueError(f"expected a number or null, got {json_type(value)}")  # noqa: TRY004
    return value


def _boolean(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_TOKENS | FALSE_TOKENS:
        return value.strip().lower() in TRUE_TOKENS
    raise ValueError(f"expected true/false or null, got {json_type(value)} {value!r}")


def _category(value: Any) -> str | int | float | None:
    if value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool)):
        return value
    raise ValueError(f"expected a string, a number or null, got {json_type(value)}")


def _datetime(value: Any) -> str | None:
    if value is None:
        return None
    import pandas as pd

    if isinstance(value, str):
        _, bad = parse_datetime(pd.Series([value], dtype=object))
        if not bad.any():
            return value
    raise ValueError(f"expected a date such as \"2024-05-31\" or null, got {json_type(value)} {value!r}")


def _text(limit: int):
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError(f"expected a text or null, got {json_type(value)}")
        if len(value) > limit:
            raise ValueError(f"text of {len(value):,} characters; at most {limit:,} are accepted")
        return value
    return check


def _field_type(kind: str, limits: Limits) -> Any:
    validators = {
        "numeric": (_number, {"type": ["number", "null"]}),
        "boolean": (_boolean, {"type": ["boolean", "null"]}),
        "categorical": (_category, {"type": ["string", "number", "null"]}),
        "datetime": (_datetime, {"type": ["string", "null"], "format": "date-time"}),
        "text": (_text(limits.max_text_chars), {"type": ["string", "null"],
                                                 "maxLength": limits.max_text_chars}),
    }
    check, schema = validators[kind]
    return Annotated[Any, PlainValidator(check), WithJsonSchema(schema)]


def _python_name(index: int, column: str) -> str:
    # Column names may hold spaces or start with digits; the JSON key is the alias.
    return f"c{index}_" + re.sub(r"\W", "_", column)


def row_model(input_schema: dict[str, Any], limits: Limits) -> type[BaseModel]:
    """One input row: every feature column (null for a missing value); other keys are kept and
    reported as ignored."""
    columns = input_schema.get("columns", [])
    names = [c["name"] for c in columns]
    fields = {
        _python_name(i, c["name"]): (_field_type(c["kind"], limits),
                                     Field(alias=c["name"], description=f"{c['kind']} column"))
        for i, c in enumerate(columns)
    }

    def all_columns_present(cls: Any, value: Any) -> Any:
        if isinstance(value, dict):
            missing = [n for n in names if n not in value]
            if missing:
                raise ValueError(f"missing column(s) {', '.join(repr(n) for n in missing)}; every input "
                                 "needs each feature column (null for a missing value)")
        return value

    return create_model(
        "TabularRow", __config__=ConfigDict(extra="allow", populate_by_name=False),
        __validators__={"_present": model_validator(mode="before")(all_columns_present)},
        **fields,
    )


def request_model(input_schema: dict[str, Any], limits: Limits, name: str, example: dict[str, Any]) -> type[BaseModel]:
    row = row_model(input_schema, limits)
    return create_model(
        name,
        __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [example]}),
        inputs=(list[row], Field(min_length=1, max_length=limits.max_batch,
                                 description=f"Rows to score, at most {limits.max_batch} per request.")),
    )


class TabularPrediction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prediction: str | float = Field(description="The predicted label (classification) or value.")
    score: float | None = Field(None, description="Probability of `prediction` (classification).")
    scores: dict[str, float] | None = Field(None, description="Probability of every label.")
    ignored_columns: list[str] | None = Field(None, description="Keys of the input that are not features.")


class TabularPredictResponse(BaseModel):
    predictions: list[TabularPrediction]


class Contribution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: str
    value: Any = None
    contribution: float


class TabularExplanation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prediction: str | float
    explained: str = Field(description="What `output` is: the log-odds or logit of the predicted "
                           "class, or the predicted value.")
    output: float
    base_value: float = Field(description="The output for an average row; contributions sum to "
                              "output − base_value.")
    contributions: list[Contribution] = Field(description="One per feature column, largest first.")
    ignored_columns: list[str] | None = None


class TabularExplainResponse(BaseModel):
    explanations: list[TabularExplanation]

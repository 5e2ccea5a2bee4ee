"""What a task declares it serves: endpoints with pydantic request and response models.

Tasks build their `Endpoint`s from these shared pieces; the server turns each served model's
endpoints into routes (`POST /v1/models/{name}/{endpoint}`) and OpenAPI schemas, so it never
needs to know a task. Nothing here imports the server: tasks never import the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, WithJsonSchema

# Ranking more than this many items per request is never what a product page needs, and the
# cost grows with k; above it the request is refused (422) instead of tying up a worker.
MAX_K = 1000
# Longest `history` a recommend request may carry (a sanity bound, not a tuning knob).
MAX_HISTORY = 10_000


@dataclass(frozen=True)
class Limits:
    """Per-request limits a server enforces; endpoints put them in their schemas (413 above).

    Example: ``Limits(max_batch=64, max_text_chars=5_000)``.
    """

    max_batch: int = 256
    max_text_chars: int = 20_000
    max_image_bytes: int = 10_000_000


@dataclass(frozen=True)
class Endpoint:
    """One route a fitted model answers: ``POST /v1/models/{model}/{name}``.

    `handler` names the model method that answers: it takes the validated request model and
    returns a dict matching `response`. For a predict-style endpoint, `batch` names the
    request's list of inputs and the response's list of outputs: the server may then gather
    inputs of concurrent requests into one `model.predict(inputs)` call.
    """

    name: str
    request: type[BaseModel]
    response: type[BaseModel]
    handler: str
    summary: str
    example: dict[str, Any] = field(default_factory=dict)
    batch: tuple[str, str] | None = None
    # (list field, item field) on endpoints that take files: a multipart/form-data request's
    # uploaded files become the list, each `{item field: "<base64 of the file>"}`; a file or a
    # JSON item field over Limits.max_image_bytes is refused (413).
    uploads: tuple[str, str] | None = None
    # The endpoint that explains this one's answers and takes the same body (the console
    # shows its answer next to this one's), or None.
    explained_by: str | None = None


# ---- shared request pieces ----------------------------------------------------------------------

def json_type(value: object) -> str:
    """How a JSON value's type reads in a message: 'a string', 'null', ..."""
    names = {str: "a string", list: "an array", int: "a number", float: "a number",
             bool: "a boolean", type(None): "null", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def _check_id(value: object) -> int | str:
    # One plain check instead of `StrictInt | StrictStr`: a union reports one error per member
    # ("user.int", "user.str"), which reads badly in a 422; booleans are not ids.
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        # ValueError, not TypeError: pydantic turns only ValueError into a 422-able problem.
        raise ValueError(f"an id must be an integer or a string, not {json_type(value)}")  # noqa: TRY004
    return value


Id = Annotated[
    int | str,
    PlainValidator(_check_id),
    WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string"}]}),
]
def _not_bool(value: object) -> object:
    # pydantic's lax int takes JSON `true` as 1 (schemathesis caught it); 70.0 stays valid, as in
    # JSON Schema's "integer"
    if isinstance(value, bool):
        raise ValueError(f"should be an integer, not {json_type(value)}")
    return value


K = Annotated[int, Field(ge=1, le=MAX_K, description=f"How many items to return (1 to {MAX_K})."), BeforeValidator(_not_bool)]


def text_inputs_request(limits: Limits, name: str = "TextInputs") -> type[BaseModel]:
    """`{"inputs": ["text", ...]}` with the server's limits in the schema (413 above them)."""
    from pydantic import create_model

    text = Annotated[str, Field(max_length=limits.max_text_chars)]
    return create_model(
        name,
        __config__=ConfigDict(
            extra="forbid",
            json_schema_extra={"examples": [{"inputs": ["I lost my card", "How do I top up?"]}]},
        ),
        inputs=(
            list[text],
            Field(min_length=1, max_length=limits.max_batch,
                  description=f"Texts to score, at most {limits.max_batch} per request and "
                  f"{limits.max_text_chars:,} characters each."),
        ),
    )


# ---- shared response pieces ---------------------------------------------------------------------


class ClassPrediction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(description="The most probable label.")
    score: float = Field(description="Probability of `label`.")
    scores: dict[str, float] = Field(description="Probability of every label (sums to 1).")


class ClassificationResponse(BaseModel):
    predictions: list[ClassPrediction] = Field(description="One prediction per input, in order.")


class ErrorBody(BaseModel):
    detail: str


class ValidationErrorBody(BaseModel):
    detail: str = Field(description="One sentence naming the field and what was expected.")
    errors: list[dict[str, Any]] = Field(description="Each problem: loc, msg, type.")


# ---- explanations (shared by every task that explains texts) ---------------------------------------


class WordWeight(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(description="A whole word of the input, in reading order.")
    weight: float = Field(description="Its contribution to the explained score (positive: for "
                          "the label; negative: against it).")


class TextExplanation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(description="The label explained (the predicted one).")
    score: float = Field(description="Probability of `label`.")
    method: str = Field(description="How the weights were computed (e.g. integrated-gradients, linear).")
    attributions: list[WordWeight] = Field(description="Every word of the input, in reading order.")


class TextExplanationResponse(BaseModel):
    explanations: list[TextExplanation] = Field(description="One explanation per input, in order.")

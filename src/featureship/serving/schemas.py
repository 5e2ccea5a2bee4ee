"""Request and response bodies of the REST API; they also make /docs and /openapi.json useful."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, model_validator

from featureship.serving.settings import MAX_HISTORY, MAX_K

_JSON_TYPE = {
    "NoneType": "null",
    "bool": "boolean",
    "float": "number",
    "list": "array",
    "dict": "object",
}


def _check_id(value: object) -> int | str:
    # One plain check instead of `StrictInt | StrictStr`: a union reports one error per member
    # ("user.int", "user.str"), which reads badly in a 422; booleans are not ids.
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        kind = _JSON_TYPE.get(type(value).__name__, type(value).__name__)
        # ValueError, not TypeError: pydantic turns only ValueError into a 422-able problem.
        raise ValueError(f"an id must be an integer or a string, not {kind}")  # noqa: TRY004
    return value


Id = Annotated[
    int | str,
    PlainValidator(_check_id),
    WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string"}]}),
]
K = Annotated[int, Field(ge=1, le=MAX_K, description=f"How many items to return (1 to {MAX_K}).")]


# ---- requests ---------------------------------------------------------------------------------


class PredictRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"inputs": ["I lost my card", "How do I top up?"]}]},
    )

    inputs: list[str] = Field(
        min_length=1,
        description="Texts to score, all in one batch (at most the server's --max-batch).",
    )


class RecommendRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"user": 196, "k": 10}, {"history": [50, 172], "k": 5}]},
    )

    user: Id | None = Field(None, description="A known user id; give this or `history`.")
    history: list[Id] | None = Field(
        None,
        max_length=MAX_HISTORY,
        description="Item ids the person interacted with, oldest first.",
    )
    k: K = 10
    include_seen: bool = Field(False, description="Allow items the user has already seen.")

    @model_validator(mode="after")
    def _one_of_user_or_history(self) -> RecommendRequest:
        if (self.user is None) == (self.history is None):
            raise ValueError(
                "give exactly one of 'user' (a user id) or 'history' (a list of item ids)"
            )
        return self


class SimilarRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"item": 50, "k": 10}]}
    )

    item: Id = Field(description="The item to find neighbours of.")
    k: K = 10


# ---- responses --------------------------------------------------------------------------------
# Models return plain dicts; `extra="allow"` passes through any additional keys a task adds.


class Prediction(BaseModel):
    model_config = ConfigDict(extra="allow")

    label: str | int = Field(description="The most probable label.")
    score: float = Field(description="Probability of `label`.")
    scores: dict[str, float] = Field(description="Probability of every label (sums to 1).")


class PredictResponse(BaseModel):
    predictions: list[Prediction] = Field(description="One prediction per input, in order.")


class ScoredItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    item: int | str
    score: float
    title: str | None = None


class RecommendResponse(BaseModel):
    model_config = ConfigDict(extra="allow")

    items: list[ScoredItem]
    fallback: bool = Field(description="True when popular items stand in for personal ones.")
    ignored_items: list[int | str] = Field(
        default_factory=list, description="History ids the model does not know."
    )


class SimilarResponse(BaseModel):
    model_config = ConfigDict(extra="allow")

    items: list[ScoredItem]


class ModelInfo(BaseModel):
    name: str = Field(description="The bundle's folder name; used in the URL.")
    task: str
    labels: list[str]
    metrics: dict[str, Any] = Field(description="Held-out metrics recorded at training.")
    endpoints: list[str] = Field(
        description="What this model answers: predict, or recommend/similar."
    )


class ModelList(BaseModel):
    models: list[ModelInfo]


class Health(BaseModel):
    status: str = "ok"
    models: int


class ErrorBody(BaseModel):
    detail: str


class ValidationErrorBody(BaseModel):
    detail: str = Field(description="One sentence naming the field and what was expected.")
    errors: list[dict[str, Any]] = Field(description="Each problem: loc, msg, type.")

"""The recommender's REST bodies: /recommend (a user or a history) and /similar (an item)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from featureship.endpoints import MAX_HISTORY, Id, K

_ID_SCHEMA = {"anyOf": [{"type": "integer"}, {"type": "string"}]}


def _exactly_one_of_user_or_history(schema: dict[str, Any]) -> None:
    # The schema says what the validator enforces, so no schema-valid body is refused.
    schema["oneOf"] = [{"required": ["user"]}, {"required": ["history"]}]
    schema["examples"] = [{"user": 196, "k": 10}, {"history": [50, 172], "k": 5}]


class RecommendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_exactly_one_of_user_or_history)

    user: Annotated[Id | None, WithJsonSchema({**_ID_SCHEMA, "description":
                    "A known user id; give this or `history`."})] = None
    history: Annotated[list[Id] | None, WithJsonSchema({
        "type": "array", "items": _ID_SCHEMA, "maxItems": MAX_HISTORY,
        "description": "Item ids the person interacted with, oldest first."})] = Field(
            None, max_length=MAX_HISTORY)
    k: K = 10
    include_seen: StrictBool = Field(False, description="Allow items the user has already seen.")

    @field_validator("user", "history", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Only an explicit null reaches here (defaults are not validated): leave the field out.
        if value is None:
            raise ValueError("must not be null; leave the field out instead")
        return value

    @model_validator(mode="after")
    def _one_of_user_or_history(self) -> RecommendRequest:
        if (self.user is None) == (self.history is None):
            raise ValueError(
                "give exactly one of 'user' (a user id) or 'history' (a list of item ids)"
            )
        return self


class SimilarRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"item": 50, "k": 10}]})

    item: Id = Field(description="The item to find neighbours of.")
    k: K = 10


class ScoredItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str
    score: float
    title: str | None = None


class RecommendResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ScoredItem]
    fallback: bool = Field(description="True when popular items stand in for personal ones.")
    ignored_items: list[str] = Field(
        default_factory=list, description="History ids the model does not know."
    )


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(description="An item of the user's history.")
    weight: float = Field(description="How much it added to the recommended item's score.")
    title: str | None = None


class ExplainedItem(ScoredItem):
    because: list[Reason] = Field(description="The history items that contributed most, strongest "
                                  "first (empty when nothing personal drove it).")


class RecommendExplanationResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ExplainedItem]
    fallback: bool = Field(description="True when popular items stand in for personal ones.")
    ignored_items: list[str] = Field(default_factory=list, description="History ids the model does not know.")
    method: str = Field(description="How the contributions were computed.")
    note: str = Field(description="What the weights mean, in one sentence.")


class SimilarResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ScoredItem]

"""REST bodies of an answer retriever: /answer (one query or many), /predict, /explain."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from featureship.endpoints import Limits

MAX_ANSWERS = 20  # a reply picker shows a handful; more is never what a client needs


class ScoredAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The answer's id in the knowledge base.")
    answer: str = Field(description="The reply text.")
    score: float = Field(description="Calibrated probability that this is the right answer.")
    title: str | None = None


class AnswerResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: list[ScoredAnswer] = Field(description="The best answers, most likely first.")
    handoff: bool = Field(description="True when the best answer's confidence is below the "
                          "threshold chosen on validation: pass the question to a person.")


class AnswerResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    results: list[AnswerResult] = Field(description="One result per query, in order.")


class AnswerPrediction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    answer: str
    score: float
    handoff: bool
    title: str | None = None


class AnswerPredictResponse(BaseModel):
    predictions: list[AnswerPrediction] = Field(description="The best answer per input, in order.")


class Attribution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str
    weight: float


class AnswerExplanation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    score: float
    matched_kind: str = Field(description="'example question' or 'answer': the text that matched.")
    matched_text: str
    attributions: list[Attribution] = Field(description="Words of the question, in reading order: "
                                            "how much removing each lowers the answer's score.")
    matched_attributions: list[Attribution] = Field(
        description="Words of the matched text, in reading order, weighted the same way.")


class ExplainResponse(BaseModel):
    explanations: list[AnswerExplanation]


def answer_request(limits: Limits) -> type[BaseModel]:
    """`{"query": "...", "k": 3}` or `{"queries": [...], "k": 3}`; limits in the schema."""
    text = Annotated[str, Field(max_length=limits.max_text_chars)]

    def one_of(schema: dict[str, Any]) -> None:
        schema["oneOf"] = [{"required": ["query"]}, {"required": ["queries"]}]
        schema["examples"] = [{"query": "my card has not arrived", "k": 3},
                              {"queries": ["I lost my card", "how do I top up?"]}]

    def exactly_one(self: Any) -> Any:
        if (self.query is None) == (self.queries is None):
            raise ValueError("give exactly one of 'query' (a text) or 'queries' (a list of texts)")
        return self

    return create_model(
        "AnswerRequest",
        __config__=ConfigDict(extra="forbid", json_schema_extra=one_of),
        __validators__={"_exactly_one": model_validator(mode="after")(exactly_one)},
        query=(text | None, Field(None, description="One customer message.")),
        queries=(list[text] | None, Field(None, min_length=1, max_length=limits.max_batch,
                                          description=f"Messages, at most {limits.max_batch}.")),
        k=(int, Field(3, ge=1, le=MAX_ANSWERS, description="Answers per message.")),
    )

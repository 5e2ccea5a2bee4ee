"""The HTTP endpoints. Model calls run in the threadpool so the event loop keeps answering."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from featureship.errors import FeatureshipError
from featureship.serving.handlers import INTERNAL_ERROR
from featureship.serving.registry import ServedModel, lookup
from featureship.serving.schemas import (
    ErrorBody,
    Health,
    ModelList,
    PredictRequest,
    PredictResponse,
    RecommendRequest,
    RecommendResponse,
    SimilarRequest,
    SimilarResponse,
    ValidationErrorBody,
)
from featureship.serving.settings import ServerSettings

logger = logging.getLogger("featureship.serving")
router = APIRouter()

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "This model does not answer this endpoint."},
    404: {"model": ErrorBody, "description": "No model (or item) by that name."},
    422: {
        "model": ValidationErrorBody,
        "description": "The body is not valid JSON or not the schema.",
    },
    500: {"model": ErrorBody, "description": "The model failed; details in the server log."},
}
_LIMITS = {413: {"model": ErrorBody, "description": "Too many inputs or a text too long."}}


@router.get("/healthz", response_model=Health, tags=["server"])
async def healthz(request: Request) -> dict[str, Any]:
    """Liveness: 200 once every model is loaded."""
    return {"status": "ok", "models": len(request.app.state.models)}


@router.get("/metrics", response_class=PlainTextResponse, tags=["server"])
async def metrics(request: Request) -> PlainTextResponse:
    """Request counts, errors and latency per model, in Prometheus text format."""
    return PlainTextResponse(
        request.app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


@router.get("/v1/models", response_model=ModelList, tags=["models"])
async def list_models(request: Request) -> dict[str, Any]:
    """Every served model: its name (used in URLs), task, labels and training metrics."""
    return {"models": [served.info() for served in request.app.state.models.values()]}


@router.post(
    "/v1/models/{name}/predict",
    response_model=PredictResponse,
    responses={**_ERRORS, **_LIMITS},
    tags=["models"],
)
async def predict(name: str, body: PredictRequest, request: Request) -> dict[str, Any]:
    """Classify a batch of texts; one `{label, score, scores}` per input, in order."""
    served = lookup(request.app.state.models, name, "predict")
    _check_limits(body.inputs, request.app.state.settings)
    # The whole list goes to the model in one call: it batches internally.
    predictions = await _call(served, "predict", served.model.predict, body.inputs)
    return {"predictions": predictions}


@router.post(
    "/v1/models/{name}/recommend",
    response_model=RecommendResponse,
    response_model_exclude_unset=True,  # return the model's dict as is (no added nulls)
    responses=_ERRORS,
    tags=["models"],
)
async def recommend(name: str, body: RecommendRequest, request: Request) -> dict[str, Any]:
    """Top-k items for a known `user`, or for an anonymous visitor's `history`."""
    served = lookup(request.app.state.models, name, "recommend")
    return await _call(
        served,
        "recommend",
        served.model.recommend,
        user=body.user,
        history=body.history,
        k=body.k,
        include_seen=body.include_seen,
    )


@router.post(
    "/v1/models/{name}/similar",
    response_model=SimilarResponse,
    response_model_exclude_unset=True,
    responses=_ERRORS,
    tags=["models"],
)
async def similar(name: str, body: SimilarRequest, request: Request) -> dict[str, Any]:
    """The k items most similar to `item` ("you may also like")."""
    served = lookup(request.app.state.models, name, "similar")
    return await _call(served, "similar", served.model.similar, body.item, k=body.k)


def _check_limits(inputs: list[str], settings: ServerSettings) -> None:
    if len(inputs) > settings.max_batch:
        raise HTTPException(
            413,
            f"This request has {len(inputs):,} inputs; the server accepts at most "
            f"{settings.max_batch:,} per request (server flag --max-batch). Split the inputs "
            "into smaller requests, or restart the server with a larger --max-batch.",
        )
    for index, text in enumerate(inputs):
        if len(text) > settings.max_text_chars:
            raise HTTPException(
                413,
                f"inputs[{index}] has {len(text):,} characters; the longest text accepted is "
                f"{settings.max_text_chars:,} (server flag --max-text-chars). Shorten the text, "
                "or restart the server with a larger --max-text-chars.",
            )


async def _call(
    served: ServedModel, endpoint: str, fn: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    """Run a model call off the event loop; user errors pass through, crashes become a 500."""
    async with served.lock:
        try:
            return await run_in_threadpool(fn, *args, **kwargs)
        except FeatureshipError:
            raise  # answered by handlers._model_error (422, or the error's status_code)
        except Exception:
            # Caught here, not left to a global handler, so the request is answered, counted
            # and logged once, and the server goes on serving.
            logger.exception("model '%s' failed on /%s", served.name, endpoint)
            raise HTTPException(500, INTERNAL_ERROR) from None

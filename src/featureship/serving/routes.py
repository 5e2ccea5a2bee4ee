"""The HTTP endpoints: server routes, and one route per endpoint each served model declares.

Model routes are built from the tasks' declarations (`FittedModel.endpoints`), so a server's
OpenAPI lists exactly the routes and request schemas of the models it serves. Model calls run
in the threadpool so the event loop keeps answering.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import PlainTextResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from featureship.endpoints import Endpoint, ErrorBody, ValidationErrorBody
from featureship.errors import FeatureshipError
from featureship.serving.handlers import INTERNAL_ERROR
from featureship.serving.registry import QueueFull, ServedModel
from featureship.serving.schemas import Health, ModelList
from featureship.serving.uploads import UploadRoute, multipart_openapi

logger = logging.getLogger("featureship.serving")
router = APIRouter()

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "An item the model does not know."},
    422: {"model": ValidationErrorBody, "description": "The body is not valid JSON or not the schema."},
    500: {"model": ErrorBody, "description": "The model failed; details in the server log."},
    503: {"model": ErrorBody, "description": "Too many requests are waiting; retry after the "
          "seconds in the Retry-After header."},
}
_LIMITS = {413: {"model": ErrorBody, "description": "Too many inputs or an input too long."}}
RETRY_AFTER_S = 1


@router.get("/healthz", response_model=Health, tags=["server"])
async def healthz(request: Request) -> dict[str, Any]:
    """Liveness: 200 once every model is loaded."""
    return {"status": "ok", "models": sum(m.model is not None for m in request.app.state.models.values())}


@router.get("/metrics", response_class=PlainTextResponse, tags=["server"])
async def metrics(request: Request) -> PlainTextResponse:
    """Request counts, errors and latency per model, in Prometheus text format."""
    return PlainTextResponse(
        request.app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


@router.get("/v1/models", response_model=ModelList, tags=["server"])
async def list_models(request: Request) -> dict[str, Any]:
    """Every served model: its name (used in URLs), task, labels, metrics and endpoints."""
    return {"models": [served.info() for served in request.app.state.models.values()]}


def add_model_routes(app: FastAPI, models: dict[str, ServedModel]) -> None:
    """One POST route per declared endpoint, then a fallback naming what does exist."""
    for served in models.values():
        for endpoint in served.endpoints:
            upload = endpoint.uploads is not None
            app.router.add_api_route(
                f"/v1/models/{served.name}/{endpoint.name}",
                _model_route(served, endpoint),
                methods=["POST"],
                response_model=endpoint.response,
                response_model_exclude_unset=True,  # the model's dict as is (no added nulls)
                responses={**_ERRORS, **(_LIMITS if endpoint.batch or endpoint.uploads else {})},
                summary=f"{served.name}: {endpoint.name}",
                description=f"{endpoint.summary}\n\nModel `{served.name}` ({served.manifest.task}).",
                operation_id=f"{served.name}.{endpoint.name}",
                tags=[served.name],
                route_class_override=UploadRoute if upload else APIRoute,
                openapi_extra=multipart_openapi(endpoint) if upload else None,
            )
    app.add_api_route("/v1/models/{name}/{endpoint}", _no_such_route, methods=["POST"],
                      include_in_schema=False)


def _model_route(served: ServedModel, endpoint: Endpoint) -> Callable[..., Any]:
    async def route(request: Request, body: BaseModel) -> Any:
        model = served.model
        if model is None:  # only between create_app and the end of the lifespan's loading
            raise HTTPException(503, f"Model '{served.name}' is still loading; retry shortly.",
                                headers={"Retry-After": str(RETRY_AFTER_S)})
        method = getattr(model, endpoint.handler)
        if endpoint.batch:
            inputs_field, outputs_field = endpoint.batch
            result = await _call(served, endpoint.name, method, getattr(body, inputs_field))
            return {outputs_field: result}
        return await _call(served, endpoint.name, method, **body.model_dump(exclude_unset=True))

    # FastAPI reads the body's type from the signature: give it the declared request model.
    route.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=endpoint.request),
    ])
    route.__name__ = f"{served.name}_{endpoint.name}".replace("-", "_").replace(".", "_")
    route.endpoint_spec = endpoint  # type: ignore[attr-defined]  # read by the 422/413 handler
    return route


async def _no_such_route(name: str, endpoint: str, request: Request) -> None:
    models: dict[str, ServedModel] = request.app.state.models
    served = models.get(name)
    if served is None:
        available = ", ".join(sorted(models)) or "(none)"
        raise HTTPException(404, f"No model named '{name}'. Available models: {available}.")
    offered = " and ".join(f"POST /v1/models/{name}/{e.name}" for e in served.endpoints)
    raise HTTPException(
        404, f"Model '{name}' is a {served.manifest.task} model and has no /{endpoint} endpoint; "
        f"use {offered}.")


async def _call(served: ServedModel, endpoint: str, fn: Callable[..., Any], *args: Any,
                **kwargs: Any) -> Any:
    """Run a model call off the event loop; user errors pass through, crashes become a 500."""
    try:
        async with served.gate.enter():
            try:
                return await run_in_threadpool(fn, *args, **kwargs)
            except FeatureshipError:
                raise  # answered by handlers._model_error (422, or the error's status_code)
            except Exception:
                # Caught here, not left to a global handler, so the request is answered,
                # counted and logged once, and the server goes on serving.
                logger.exception("model '%s' failed on /%s", served.name, endpoint)
                raise HTTPException(500, INTERNAL_ERROR) from None
    except QueueFull:
        raise HTTPException(
            503, f"{served.gate.max_waiting} requests are already waiting for model "
            f"'{served.name}' (server flag --max-queue); retry in {RETRY_AFTER_S} s.",
            headers={"Retry-After": str(RETRY_AFTER_S)}) from None

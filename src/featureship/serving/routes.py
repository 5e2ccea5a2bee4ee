"""The HTTP endpoints: server routes, and one route per endpoint each served model declares.

Model routes are built from the tasks' declarations (`FittedModel.endpoints`), so a server's
OpenAPI lists exactly the routes and request schemas of the models it serves. Model calls run
on each model's worker thread (featureship.serving.worker), which batches concurrent
requests, so the event loop keeps answering.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from featureship.endpoints import Endpoint, ErrorBody, ValidationErrorBody
from featureship.errors import FeatureshipError
from featureship.serving.handlers import INTERNAL_ERROR
from featureship.serving.metrics import CONTENT_TYPE_LATEST
from featureship.serving.registry import QueueFull, ServedModel
from featureship.serving.schemas import DriftVerdict, Health, Live, ModelDetail, ModelList, Ready
from featureship.serving.uploads import UploadRoute, multipart_openapi
from featureship.serving.worker import NotRunning, describe_failure

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
# The server's own documented routes (every served model's routes come on top of these).
SERVER_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/v1/models", "/v1/models/{name}",
                          "/v1/models/{name}/drift", "/v1/models/{name}/report", "/v1/live"})


@router.get("/healthz", response_model=Health, tags=["server"])
async def healthz(request: Request) -> dict[str, Any]:
    """Liveness: 200 while the process answers; `models` counts the models loaded so far."""
    return {"status": "ok", "models": sum(m.model is not None for m in request.app.state.models.values())}


@router.get("/readyz", response_model=Ready, tags=["server"],
            responses={503: {"model": ErrorBody, "description": "Still loading, or shutting down."}})
async def readyz(request: Request) -> Any:
    """Readiness: 200 once every model is loaded and its worker runs; 503 before, and from the
    moment shutdown begins (so a load balancer stops sending traffic)."""
    models: dict[str, ServedModel] = request.app.state.models
    waiting = [m.name for m in models.values() if m.model is None or not m.worker.running]
    if not request.app.state.ready or waiting:
        state = "shutting down" if request.app.state.stopping else "loading"
        detail = (f"Not ready: {state}" + (f" (waiting for {', '.join(waiting)})" if waiting
                                            and not request.app.state.stopping else "") + ".")
        return JSONResponse({"detail": detail}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_S)})
    return {"status": "ready", "models": len(models)}


@router.get("/metrics", response_class=Response, tags=["server"],
            responses={200: {"content": {"text/plain": {}},
                             "description": "Prometheus text exposition format."}})
async def metrics(request: Request) -> Response:
    """Requests, latency, batch sizes, queue wait, in-flight requests, errors by status,
    predictions by label, model load time and drift, in Prometheus text format."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/models", response_model=ModelList, tags=["server"])
async def list_models(request: Request) -> dict[str, Any]:
    """Every served model: its name (used in URLs), task, labels, metrics and endpoints."""
    return {"models": [served.info() for served in request.app.state.models.values()]}


_NO_MODEL = {404: {"model": ErrorBody, "description": "No such model."}}


@router.get("/v1/models/{name}", response_model=ModelDetail, tags=["server"], responses=_NO_MODEL)
async def model_detail(name: str, request: Request) -> dict[str, Any]:
    """One model, with what a client needs to call it: each endpoint's request JSON Schema, a
    working example body, whether it takes uploads, and which endpoint explains it."""
    served = _served(request, name)
    return {**served.info(), "endpoint_specs": [_spec(e) for e in served.endpoints],
            "report": f"/v1/models/{name}/report", "drift_monitor": served.monitor is not None}


# No response_class=HTMLResponse: it would document the JSON 404 as text/html (schemathesis).
@router.get("/v1/models/{name}/report", tags=["server"], response_model=None,
            responses={**_NO_MODEL, 200: {"content": {"text/html": {}},
                                          "description": "The bundle's report.html."}})
async def model_report(name: str, request: Request) -> HTMLResponse:
    """The bundle's self-contained HTML report (metrics, plots, explained examples)."""
    served = _served(request, name)
    if served.report_html is None:
        plain = served.directory / "report.html"
        if plain.is_file() and not (served.manifest.protection or {}).get("encrypted"):
            served.report_html = plain.read_text(encoding="utf-8")
        else:  # encrypted bundle (its report.html is ciphertext): rebuilt from the loaded model
            from featureship.evaluation.report import bundle_report

            served.report_html = await _call(
                served, "report", lambda model: bundle_report(model, served.manifest, served.name))
    return HTMLResponse(served.report_html)


@router.get("/v1/live", response_model=Live, tags=["server"])
async def live(request: Request,
               window: float = Query(300.0, ge=10, le=600, description="Seconds to cover."),
               step: float = Query(5.0, ge=1, le=60, description="Seconds per point.")) -> Any:
    """Each model's traffic over the last minutes: requests/s, p50/p99 latency, batch size."""
    return request.app.state.metrics.live.series(window, step)


def _served(request: Request, name: str) -> ServedModel:
    models: dict[str, ServedModel] = request.app.state.models
    served = models.get(name)
    if served is None:
        available = ", ".join(sorted(models)) or "(none)"
        raise HTTPException(404, f"No model named '{name}'. Available models: {available}.")
    return served


def _spec(endpoint: Endpoint) -> dict[str, Any]:
    uploads = endpoint.uploads
    return {"name": endpoint.name, "summary": endpoint.summary,
            "request_schema": endpoint.request.model_json_schema(), "example": endpoint.example,
            "batch": endpoint.batch[0] if endpoint.batch else None,
            "uploads": {"field": uploads[0], "item": uploads[1]} if uploads else None,
            "explained_by": endpoint.explained_by}


def add_model_routes(app: FastAPI, models: dict[str, ServedModel]) -> None:
    """One POST route per declared endpoint, then a fallback naming what does exist."""
    for served in models.values():
        add_routes_of(app, served)
    app.add_api_route("/v1/models/{name}/{endpoint}", _no_such_route, methods=["POST"],
                      include_in_schema=False)


def add_routes_of(app: FastAPI, served: ServedModel) -> None:
    """`served`'s routes; on a running app (a model trained in the console) they go before the
    fallback route, which would otherwise answer them."""
    before = len(app.router.routes)
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
    added = app.router.routes[before:]
    fallback = next((i for i, r in enumerate(app.router.routes[:before])
                     if getattr(r, "endpoint", None) is _no_such_route), None)
    if fallback is not None:
        del app.router.routes[before:]
        app.router.routes[fallback:fallback] = added
    app.openapi_schema = None  # rebuilt with the new routes on the next /openapi.json


@router.get("/v1/models/{name}/drift", response_model=DriftVerdict, tags=["server"],
            responses={404: {"model": ErrorBody, "description": "No such model, or it has no "
                             "drift monitor."},
                       503: _ERRORS[503]})
async def drift(name: str, request: Request) -> Any:
    """Whether this model's recent inputs drift from its training data: the monitor's verdict
    on its sliding window of live inputs (profiles, never raw inputs)."""
    models: dict[str, ServedModel] = request.app.state.models
    served = models.get(name)
    if served is None:
        available = ", ".join(sorted(models)) or "(none)"
        raise HTTPException(404, f"No model named '{name}'. Available models: {available}.")
    if served.monitor is None:
        raise HTTPException(404, f"Model '{name}' has no drift monitor: its bundle holds no "
                            "reference profile of its training inputs (bundles trained with a "
                            "featureship that records one have it), or monitoring is not "
                            "installed.")
    # On the worker thread, so the verdict never races the monitor's observe() calls.
    return await _call(served, "drift", lambda model: served.worker.refresh_verdict())


def _model_route(served: ServedModel, endpoint: Endpoint) -> Callable[..., Any]:
    async def route(request: Request, body: BaseModel) -> Any:
        model = served.model
        if model is None:  # only between create_app and the end of the lifespan's loading
            raise HTTPException(503, f"Model '{served.name}' is still loading; retry shortly.",
                                headers={"Retry-After": str(RETRY_AFTER_S)})
        if endpoint.batch:
            inputs_field, outputs_field = endpoint.batch
            result = await _call(served, endpoint.name, None, getattr(body, inputs_field))
            return {outputs_field: result}
        handler, arguments = endpoint.handler, body.model_dump(exclude_unset=True)
        return await _call(served, endpoint.name,
                           lambda model: getattr(model, handler)(**arguments))

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


async def _call(served: ServedModel, endpoint: str, fn: Callable[[Any], Any] | None,
                inputs: list[Any] | None = None) -> Any:
    """Through the model's worker: `fn(model)` alone, or (fn None) the endpoint's handler on
    `inputs`, batched with concurrent requests. User errors pass through, crashes become a
    500 whose details (never the request's content) go to the log."""
    try:
        if fn is None:
            spec = next(e for e in served.endpoints if e.name == endpoint)
            return await served.worker.predict(spec.handler, inputs or [])
        return await served.worker.call(fn)
    except FeatureshipError:
        raise  # answered by handlers._model_error (422, or the error's status_code)
    except QueueFull:
        raise HTTPException(
            503, f"{served.worker.max_queue} requests are already waiting for model "
            f"'{served.name}' (server flag --max-queue); retry in {RETRY_AFTER_S} s.",
            headers={"Retry-After": str(RETRY_AFTER_S)}) from None
    except NotRunning:
        raise HTTPException(503, f"Model '{served.name}' is not running (the server is starting "
                            "or shutting down); retry shortly.",
                            headers={"Retry-After": str(RETRY_AFTER_S)}) from None
    except Exception as exc:
        # Caught here, not left to a global handler, so the request is answered, counted and
        # logged once, and the server goes on serving.
        logger.error("model '%s' failed on /%s: %s", served.name, endpoint, describe_failure(exc))
        raise HTTPException(500, INTERNAL_ERROR) from None

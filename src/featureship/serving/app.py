"""`create_app(bundle_dirs, settings)`: the FastAPI app that serves model bundles.

    >>> app = create_app([Path("intent-model")], ServerSettings(max_batch=64))
    >>> uvicorn.run(app)   # or: featureship serve intent-model --max-batch 64

Each bundle's manifest is read here, and its task declares the endpoints to serve, so the
routes and OpenAPI schemas exist before anything heavy loads; the weights load in the
`lifespan` (at server start, never at import) and each model gets a worker thread that
batches concurrent requests. Models are named by their bundle folder:
`POST /v1/models/intent-model/predict`. OpenAPI docs at /docs (served offline).

Shutdown: uvicorn stops accepting connections on SIGTERM and lets in-flight requests finish;
then the lifespan marks the server not ready and lets each worker drain its queue.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from featureship import __version__
from featureship.serving import handlers
from featureship.serving.auth import ApiKeyMiddleware, declare_bearer
from featureship.serving.body_limit import BodyLimitMiddleware, max_body_bytes
from featureship.serving.console import add_console
from featureship.serving.docs import add_docs
from featureship.serving.metrics import Metrics, MetricsMiddleware
from featureship.serving.registry import declare_models, load_models, stop_models
from featureship.serving.routes import add_model_routes, router
from featureship.serving.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]

logger = logging.getLogger("featureship.serving")


def create_app(bundle_dirs: list[Path], settings: ServerSettings | None = None,
               training: bool = False, upload_limit: tuple[str, int] | None = None) -> FastAPI:
    """Build the app for `bundle_dirs`; the bundles' weights are loaded when the server starts.

    A missing bundle, two bundles with one folder name, or a folder name that cannot be a URL
    segment raise here, before anything loads.
    """
    settings = settings or ServerSettings()
    models = declare_models([Path(b) for b in bundle_dirs], settings.limits, settings.max_queue,
                            settings.max_batch_size, settings.max_latency_ms / 1000,
                            allow_none=training)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.stopping = False
        try:
            load_models(models, app.state.metrics, settings.torch_threads,
                        key=settings.bundle_key, redact_pii=settings.redact_pii,
                        replicas=settings.replicas)
        except Exception as exc:
            stop_models(models)
            logger.error("cannot start the server: %s", exc)
            raise
        if settings.api_keys:
            # the count only: keys are never logged
            logger.info("API keys on: %d key(s); /v1 routes and /metrics need "
                        "'Authorization: Bearer <key>'", len(settings.api_keys))
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready, app.state.stopping = False, True
            stop_models(models)

    app = FastAPI(
        title="featureship",
        version=__version__,
        description="AI features from featureship bundles. Models are named by their bundle "
        "folder; list them at GET /v1/models. Only the served models' routes are listed here.",
        lifespan=lifespan,
        docs_url=None,  # served from local assets by add_docs
        redoc_url=None,  # ReDoc has no offline bundle here; /docs covers it
    )
    app.state.settings = settings
    app.state.models = models
    app.state.ready = app.state.stopping = False
    routes = {(served.name, e.name) for served in models.values() for e in served.endpoints}
    app.state.metrics = Metrics(routes, {s.name: s.manifest.labels for s in models.values()})
    takes_images = any(e.uploads for served in models.values() for e in served.endpoints)
    app.add_middleware(BodyLimitMiddleware, limit=max_body_bytes(settings, takes_images),
                       upload=upload_limit)
    if settings.api_keys:
        app.add_middleware(ApiKeyMiddleware, keys=settings.api_keys)
        app.openapi = declare_bearer(app.openapi)  # type: ignore[method-assign]
    # Added last, so outermost: refused bodies are counted and timed too.
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    handlers.install(app)
    add_docs(app)
    app.include_router(router)
    add_console(app, training=training)
    add_model_routes(app, models)
    return app

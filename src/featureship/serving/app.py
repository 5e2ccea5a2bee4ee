"""`create_app(bundle_dirs, settings)`: the FastAPI app that serves model bundles.

    >>> app = create_app([Path("intent-model")], ServerSettings(max_batch=64))
    >>> uvicorn.run(app)   # or: featureship serve intent-model --max-batch 64

Each bundle's manifest is read here, and its task declares the endpoints to serve, so the
routes and OpenAPI schemas exist before anything heavy loads; the weights load in the
`lifespan` (at server start, never at import). Models are named by their bundle folder:
`POST /v1/models/intent-model/predict`. OpenAPI docs at /docs.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from featureship import __version__
from featureship.serving import handlers
from featureship.serving.body_limit import BodyLimitMiddleware, max_body_bytes
from featureship.serving.metrics import Metrics, MetricsMiddleware
from featureship.serving.registry import declare_models, load_models
from featureship.serving.routes import add_model_routes, router
from featureship.serving.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]

logger = logging.getLogger("featureship.serving")


def create_app(bundle_dirs: list[Path], settings: ServerSettings | None = None) -> FastAPI:
    """Build the app for `bundle_dirs`; the bundles' weights are loaded when the server starts.

    A missing bundle, two bundles with one folder name, or a folder name that cannot be a URL
    segment raise here, before anything loads.
    """
    settings = settings or ServerSettings()
    models = declare_models([Path(b) for b in bundle_dirs], settings.limits, settings.max_queue)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            load_models(models, key=settings.bundle_key, redact_pii=settings.redact_pii)
        except Exception as exc:
            logger.error("cannot start the server: %s", exc)
            raise
        yield
        for served in models.values():
            served.model = None

    app = FastAPI(
        title="featureship",
        version=__version__,
        description="AI features from featureship bundles. Models are named by their bundle "
        "folder; list them at GET /v1/models. Only the served models' routes are listed here.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.models = models
    routes = {(served.name, e.name) for served in models.values() for e in served.endpoints}
    app.state.metrics = Metrics(routes)
    app.add_middleware(BodyLimitMiddleware, limit=max_body_bytes(settings))
    # Added last, so outermost: refused bodies are counted and timed too.
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    handlers.install(app)
    app.include_router(router)
    add_model_routes(app, models)
    return app

"""`create_app(bundle_dirs, settings)`: the FastAPI app that serves model bundles.

    >>> app = create_app([Path("intent-model")], ServerSettings(max_batch=64))
    >>> uvicorn.run(app)   # or: featureship serve intent-model --max-batch 64

Models load in the `lifespan` (at server start, never at import) and are named by their
bundle folder: `POST /v1/models/intent-model/predict`. OpenAPI docs at /docs.
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
from featureship.serving.registry import bundle_names, load_models
from featureship.serving.routes import router
from featureship.serving.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]

logger = logging.getLogger("featureship.serving")


def create_app(bundle_dirs: list[Path], settings: ServerSettings | None = None) -> FastAPI:
    """Build the app for `bundle_dirs`; the bundles are loaded when the server starts.

    Two bundles with the same folder name raise `SettingsError` here, before anything loads.
    """
    settings = settings or ServerSettings()
    named = bundle_names(bundle_dirs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            app.state.models = load_models(named)
        except Exception as exc:
            logger.error("cannot start the server: %s", exc)
            raise
        yield
        app.state.models = {}

    app = FastAPI(
        title="featureship",
        version=__version__,
        description="Predictions and recommendations from featureship bundles. "
        "Models are named by their bundle folder; list them at GET /v1/models.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.models = {}
    app.state.metrics = Metrics(set(named))
    app.add_middleware(BodyLimitMiddleware, limit=max_body_bytes(settings))
    # Added last, so outermost: refused bodies are counted and timed too.
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    handlers.install(app)
    app.include_router(router)
    return app

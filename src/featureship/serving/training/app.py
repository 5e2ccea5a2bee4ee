"""The console app: `create_app` for the workdir's bundles, with the training routes on top."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from featureship.artifacts import is_bundle
from featureship.serving.app import create_app
from featureship.serving.settings import ServerSettings
from featureship.serving.training.routes import router
from featureship.serving.training.runs import Runs

DEFAULT_MAX_UPLOAD_MB = 200


def create_console_app(workdir: Path, settings: ServerSettings | None = None,
                       max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB) -> FastAPI:
    """Serve every bundle in `workdir`/models, and train new ones from the browser."""
    workdir = Path(workdir).resolve()
    for sub in ("uploads", "runs", "models"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    bundles = sorted(d for d in (workdir / "models").iterdir() if d.is_dir() and is_bundle(d))
    app = create_app(bundles, settings, training=True,
                     upload_limit=("/v1/console/uploads", max_upload_mb * 1_000_000))
    app.state.runs = Runs(workdir, max_upload_mb * 1_000_000)
    app.include_router(router)
    return app

"""The browser console at `/`: plain ES modules and CSS shipped in the package (no CDN, no build).

The page holds no data: it calls the server's own REST API (`/v1/models`, `/v1/models/NAME`,
`/v1/live`, the models' endpoints), so it needs a key exactly when the API does, and asks for
one then (kept in the tab's sessionStorage). `GET /console/config.json` tells the page whether
the training panel is on (`featureship console`) and whether keys are required.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/console"
STATIC = Path(str(files("featureship.serving") / "console_static"))


def add_console(app: FastAPI, training: bool = False) -> None:
    """GET / (the page), /console/* (its modules and styles), /console/config.json."""
    @app.get("/", include_in_schema=False)
    async def console_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html",
                            headers={"Cache-Control": "no-cache"})

    @app.get(f"{ASSETS}/config.json", include_in_schema=False)
    async def console_config(request: Request) -> JSONResponse:
        return JSONResponse({"training": training,
                             "api_key_required": bool(request.app.state.settings.api_keys)})

    # after the config route, which the mount would otherwise shadow
    app.mount(ASSETS, _Assets(directory=STATIC), name="console-assets")


class _Assets(StaticFiles):
    """Static files that browsers revalidate (a reinstalled package is picked up at once)."""

    async def get_response(self, path: str, scope):  # type: ignore[no-untyped-def]
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        return response

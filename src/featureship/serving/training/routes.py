"""The console's training routes, under /v1/console (API keys guard them like every /v1 route)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from featureship.errors import FeatureshipError
from featureship.serving.training.runs import TERMINAL, Runs, task_forms
from featureship.serving.training.uploads import (
    Upload,
    bundled_datasets,
    describe_table,
    describe_upload,
    new_upload_folder,
    safe_relative,
)

router = APIRouter(prefix="/v1/console", tags=["console"])
_CHUNK = 1 << 20
_MAX_FILES = 200_000  # an image folder is many parts; the byte limit is what bounds an upload


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str
    name: str = Field(description="The new model's name (its bundle folder and URL segment).")
    data: str = Field(description="The id of an upload (POST /v1/console/uploads).")
    settings: dict[str, Any] = Field(default_factory=dict, description="The task's settings.")


def _runs(request: Request) -> Runs:
    return request.app.state.runs


@router.get("/tasks")
async def tasks() -> list[dict[str, Any]]:
    """Each task, with the settings that name data columns and its other simple settings."""
    return task_forms()


@router.get("/datasets")
async def datasets() -> list[dict[str, str]]:
    """The data sets shipped with featureship, usable without uploading anything."""
    return [{"name": name} for name in bundled_datasets()]


@router.post("/uploads/bundled/{name}")
async def use_bundled(name: str, request: Request) -> dict[str, Any]:
    """Use a shipped data set as a run's data (read in place, nothing copied)."""
    path = bundled_datasets().get(name)
    if path is None:
        raise HTTPException(404, f"No bundled data set '{name}'; there are: "
                            f"{', '.join(bundled_datasets())}.")
    upload = describe_table(f"bundled-{path.stem}", path, name)
    _runs(request).uploads[upload.id] = upload
    return upload.describe()


@router.post("/uploads")
async def upload(request: Request) -> dict[str, Any]:
    """multipart/form-data: one table file, or a folder's files (names relative to it, e.g.
    'digits/3/a.png'). Written under the workdir only; refused above --max-upload-mb."""
    runs = _runs(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(422, "Send the data as multipart/form-data, one file part per file.")
    upload_id, folder = new_upload_folder(runs.workdir / "uploads")
    written = []
    try:
        async with request.form(max_files=_MAX_FILES, max_fields=100) as form:
            for _, value in form.multi_items():
                if not isinstance(value, UploadFile):
                    continue
                relative = safe_relative(value.filename or "")
                target = folder / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as sink:
                    while chunk := await value.read(_CHUNK):
                        sink.write(chunk)
                written.append(relative)
        if not written:
            raise HTTPException(422, "The upload holds no file; choose a table or a folder.")
        described = await asyncio.to_thread(describe_upload, upload_id, folder, written)
    except FeatureshipError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise HTTPException(422, str(exc)) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    runs.uploads[upload_id] = described
    return described.describe()


@router.post("/runs", status_code=202)
async def start_run(body: RunRequest, request: Request) -> dict[str, Any]:
    """Start training; follow it at GET /v1/console/runs/ID/events."""
    runs = _runs(request)
    try:
        data: Upload = runs.check(request.app, body.task, body.name, body.data)
    except FeatureshipError as exc:
        raise HTTPException(422, str(exc)) from None
    settings = {k: v for k, v in body.settings.items() if v not in (None, "", [])}
    run = runs.start(request.app, body.task, body.name, data, settings)
    return run.describe()


@router.get("/runs")
async def list_runs(request: Request) -> list[dict[str, Any]]:
    return [run.describe() for run in _runs(request).runs.values()]


@router.get("/runs/{run_id}/events")
async def run_events(run_id: str, request: Request) -> StreamingResponse:
    """The run's progress as server-sent events, from its start, until it is served or fails."""
    run = _runs(request).runs.get(run_id)
    if run is None:
        raise HTTPException(404, f"No run '{run_id}'.")

    async def stream() -> AsyncIterator[str]:
        sent = 0
        while True:
            # only whole lines: the job may be half-way through writing the last one
            lines = run.events.read_text(encoding="utf-8").split("\n")[:-1]
            for line in lines[sent:]:
                if line.strip():
                    yield f"data: {line}\n\n"
                    if json.loads(line).get("type") in TERMINAL:
                        return
            sent = len(lines)
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.25)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

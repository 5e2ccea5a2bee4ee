"""Training runs started from the console: child processes, their events, their bundles."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from featureship.errors import SettingsError
from featureship.serving.registry import _NAME, declare_models, load_models
from featureship.serving.training.uploads import Upload
from featureship.tasks import TASK_NAMES, get_task

logger = logging.getLogger("featureship.serving")
TERMINAL = ("served", "failed")


@dataclass
class Run:
    id: str
    task: str
    name: str
    folder: Path
    started: float = field(default_factory=time.time)
    state: str = "running"  # running → trained → served, or failed
    message: str | None = None

    @property
    def events(self) -> Path:
        return self.folder / "events.jsonl"

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "task": self.task, "name": self.name, "state": self.state,
                "message": self.message, "started": self.started}


class Runs:
    """The console's uploads and runs (in memory; their files live in the workdir)."""

    def __init__(self, workdir: Path, max_upload_bytes: int) -> None:
        self.workdir = workdir
        self.max_upload_bytes = max_upload_bytes
        self.uploads: dict[str, Upload] = {}
        self.runs: dict[str, Run] = {}

    # ---- starting ------------------------------------------------------------------------
    def check(self, app: FastAPI, task: str, name: str, upload_id: str) -> Upload:
        if task not in TASK_NAMES:
            raise SettingsError(f"Unknown task '{task}'. Known tasks: {', '.join(TASK_NAMES)}.")
        if not _NAME.match(name or ""):
            raise SettingsError(f"The model name '{name}' cannot be a URL segment; use letters, "
                                "digits, '.', '_' and '-' (it names the model: /v1/models/NAME).")
        taken = name in app.state.models or (self.workdir / "models" / name).exists() or any(
            r.name == name and r.state != "failed" for r in self.runs.values())
        if taken:
            raise SettingsError(f"A model named '{name}' exists already (or is being trained); "
                                "choose another name, so nothing is overwritten.")
        upload = self.uploads.get(upload_id)
        if upload is None:
            raise SettingsError(f"No uploaded data with id '{upload_id}'; upload the data "
                                "(or pick a bundled data set) first.")
        return upload

    def start(self, app: FastAPI, task: str, name: str, upload: Upload, settings: dict[str, Any]) -> Run:
        run_id = secrets.token_hex(6)
        folder = self.workdir / "runs" / run_id
        folder.mkdir(parents=True)
        spec = {"task": task, "data": str(upload.path), "settings": settings,
                "output": str(self.workdir / "models" / name)}
        (folder / "spec.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
        run = Run(run_id, task, name, folder)
        run.events.touch()
        log = (folder / "log.txt").open("wb")
        process = subprocess.Popen(  # noqa: S603 - our own module, arguments from our own spec
            [sys.executable, "-m", "featureship.serving.training.job", str(folder)],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        log.close()
        self.runs[run_id] = run
        asyncio.get_running_loop().create_task(self._watch(app, run, process))
        return run

    # ---- finishing -----------------------------------------------------------------------
    async def _watch(self, app: FastAPI, run: Run, process: subprocess.Popen[bytes]) -> None:
        code = await asyncio.to_thread(process.wait)
        last = _last_event(run.events)
        if code != 0 or last is None or last.get("type") != "trained":
            message = (last or {}).get("message") if (last or {}).get("type") == "failed" else None
            run.state, run.message = "failed", message or (
                f"The training process ended with exit code {code} before finishing; its "
                f"output is in {run.folder / 'log.txt'}.")
            if message is None:  # the job said nothing (it crashed): say it here
                _append(run.events, {"type": "failed", "message": run.message})
            return
        run.state = "trained"
        try:
            await asyncio.to_thread(self._serve, app, run)
        except Exception as exc:
            run.state, run.message = "failed", f"The model was trained but could not be served: {exc}"
            logger.error("console run %s: %s", run.id, run.message)
            _append(run.events, {"type": "failed", "message": run.message})
            return
        run.state = "served"
        _append(run.events, {"type": "served", "model": run.name, "url": f"/v1/models/{run.name}",
                             "bundle": str(self.workdir / "models" / run.name)})

    def _serve(self, app: FastAPI, run: Run) -> None:
        from featureship.serving.routes import add_routes_of

        settings = app.state.settings
        declared = declare_models([self.workdir / "models" / run.name], settings.limits,
                                  settings.max_queue, settings.max_batch_size,
                                  settings.max_latency_ms / 1000)
        metrics = app.state.metrics
        served = declared[run.name]
        metrics.add_model(run.name, [e.name for e in served.endpoints], served.manifest.labels)
        # one copy unless asked: the console adds models one by one, and each would get two
        load_models(declared, metrics, settings.torch_threads, key=settings.bundle_key,
                    redact_pii=settings.redact_pii, replicas=settings.replicas or 1)
        add_routes_of(app, served)
        app.state.models[run.name] = served


def task_forms() -> list[dict[str, Any]]:
    """What the page needs to offer each task: the settings naming data columns, and the rest."""
    forms = []
    for name in TASK_NAMES:
        task = get_task(name)
        schema = task.settings_class.model_json_schema()
        required = set(schema.get("required", []))
        columns, options = [], []
        for key, prop in schema["properties"].items():
            entry = {"setting": key, "title": prop.get("title", key),
                     "description": prop.get("description", ""), "required": key in required,
                     "default": prop.get("default")}
            if key in task.data_columns:
                columns.append({**entry, "multiple": _kind(prop) == "array"})
            elif (kind := _kind(prop)) in ("integer", "number", "boolean") or "enum" in prop:
                options.append({**entry, "type": kind, "enum": prop.get("enum")})
        forms.append({"task": name, "reads_folders": hasattr(task, "read_data"),
                      "columns": columns, "options": options})
    return forms


def _kind(prop: dict[str, Any]) -> str:
    kinds = [prop.get("type")] + [a.get("type") for a in prop.get("anyOf", [])]
    return next((k for k in kinds if k and k != "null"), "string")


def _last_event(path: Path) -> dict[str, Any] | None:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None


def _append(path: Path, event: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as sink:
        sink.write(json.dumps({**event, "time": time.time()}) + "\n")

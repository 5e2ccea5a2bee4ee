"""The console's server side without a browser: the page and its assets, the live window, the
model detail and report routes, and the training routes' refusals (the browser tests drive the
rest in tests/integration/test_console_browser.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from featureship.serving import ServerSettings, create_app
from featureship.serving.live import LiveWindow
from featureship.serving.training import create_console_app
from featureship.serving.training.uploads import safe_relative
from featureship.tasks import TASK_NAMES, get_task


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_live_window_buckets_requests_and_batches_by_step() -> None:
    clock = Clock()
    live = LiveWindow(["m"], clock=clock)
    for latency in (0.010, 0.020, 0.030, 0.040):  # four requests 50 s ago
        live.request("m", latency, 200)
    live.batch("m", 4)
    clock.now += 50
    live.request("m", 0.100, 500)  # one failed request now
    live.batch("m", 1)
    live.request("unknown", 1.0, 200)  # models it does not know are not counted
    series = live.series(window_s=60, step_s=10)["models"]
    assert set(series) == {"m"}
    m = series["m"]
    assert m["requests"] == 5 and m["requests_per_s"] == pytest.approx(5 / 60)
    assert m["batch_size"] == pytest.approx(2.5)
    points = m["points"]
    assert [p["t"] for p in points] == [-50, -40, -30, -20, -10, 0]
    # the first four fell 50 s before now: bucket [-60, -50)→ index 1 ends at -40
    assert points[1]["requests_per_s"] == pytest.approx(0.4) and points[1]["p50_ms"] == pytest.approx(25)
    assert points[-1]["errors_per_s"] == pytest.approx(0.1) and points[-1]["batch_size"] == 1
    assert points[0]["p99_ms"] is None and points[0]["batch_size"] is None


def test_the_live_window_forgets_what_is_older_than_its_horizon() -> None:
    clock = Clock()
    live = LiveWindow(["m"], clock=clock)
    live.request("m", 0.01, 200)
    clock.now += 601
    assert live.series(600, 60)["models"]["m"]["requests"] == 0
    assert not live._requests["m"]


def test_the_page_and_its_modules_are_served_and_need_no_key(text_bundle: Path) -> None:
    settings = ServerSettings(api_keys=("k" * 32,))
    with TestClient(create_app([text_bundle], settings)) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="/console/app.js">' in page.text
        for asset in ("app.js", "api.js", "form.js", "render.js", "charts.js", "train.js", "console.css"):
            assert client.get(f"/console/{asset}").status_code == 200, asset
        assert client.get("/console/config.json").json() == {"training": False, "api_key_required": True}
        # the data is behind the key, like every /v1 route
        assert client.get("/v1/live").status_code == 401
        assert client.get(f"/v1/models/{text_bundle.name}").status_code == 401


def test_model_detail_report_and_live_counts(text_bundle: Path) -> None:
    name = text_bundle.name
    with TestClient(create_app([text_bundle], ServerSettings())) as client:
        detail = client.get(f"/v1/models/{name}").json()
        specs = {s["name"]: s for s in detail["endpoint_specs"]}
        assert specs["predict"]["batch"] == "inputs" and specs["predict"]["explained_by"] == "explain"
        assert specs["predict"]["request_schema"]["properties"]["inputs"]["type"] == "array"
        assert detail["drift_monitor"] is True
        report = client.get(detail["report"])
        assert report.text == (text_bundle / "report.html").read_text(encoding="utf-8")
        for _ in range(3):
            assert client.post(f"/v1/models/{name}/predict", json={"inputs": ["card?"]}).status_code == 200
        client.post(f"/v1/models/{name}/predict", json={"inputs": [3]})  # a 422 counts too
        live = client.get("/v1/live", params={"window": 60, "step": 5}).json()["models"][name]
        assert live["requests"] == 4 and live["batch_size"] == 1
        assert sum(p["errors_per_s"] for p in live["points"]) * 5 == pytest.approx(1)
        assert client.get("/v1/models/nope").status_code == 404


@pytest.mark.parametrize("name", ["../x.csv", "/etc/passwd", "a/../../b.png", "", "a\\..\\..\\b.png"])
def test_upload_names_must_stay_inside_the_upload_folder(name: str) -> None:
    from featureship.errors import DataError

    with pytest.raises(DataError, match="not a plain relative path"):
        safe_relative(name)


def test_the_training_routes_refuse_bad_runs_with_their_reasons(tmp_path: Path) -> None:
    with TestClient(create_console_app(tmp_path / "work")) as client:
        assert client.get("/console/config.json").json()["training"] is True
        forms = {f["task"]: f for f in client.get("/v1/console/tasks").json()}
        assert set(forms) == set(TASK_NAMES)
        for task, form in forms.items():
            assert [c["setting"] for c in form["columns"]] == list(get_task(task).data_columns)
        assert forms["image-classification"]["reads_folders"] is True

        escaped = client.post("/v1/console/uploads", files=[("files", ("../up.csv", b"a,b\n1,2\n"))])
        assert escaped.status_code == 422 and "not a plain relative path" in escaped.json()["detail"]
        junk = client.post("/v1/console/uploads", files=[("files", ("a/notes.txt", b"hello")),
                                                         ("files", ("a/more.txt", b"hi"))])
        assert junk.status_code == 422 and "neither one table" in junk.json()["detail"]
        assert not any((tmp_path / "work" / "uploads").iterdir())  # nothing left behind

        table = client.post("/v1/console/uploads", files=[("files", ("t.csv", io.BytesIO(
            b"text,label\nhello,a\nbye,b\n")))]).json()
        assert table["kind"] == "table" and table["columns"] == ["text", "label"] and table["rows"] == 2
        bundled = client.post("/v1/console/uploads/bundled/banking77.csv").json()
        assert bundled["columns"] == ["text", "category"] and bundled["rows"] > 10_000

        def start(**body: object) -> tuple[int, str]:
            response = client.post("/v1/console/runs", json={
                "task": "text-classification", "name": "m", "data": table["id"], **body})
            return response.status_code, response.json()["detail"]

        assert start(task="nope")[0] == 422 and "Known tasks" in start(task="nope")[1]
        assert "cannot be a URL segment" in start(name="a b")[1]
        assert "upload the data" in start(data="missing")[1]
        (tmp_path / "work" / "models" / "m").mkdir()
        assert "exists already" in start()[1]


def test_a_folder_upload_keeps_its_class_folders(tmp_path: Path) -> None:
    from tests.unit.image.digits import write_digits_folder

    folder = write_digits_folder(tmp_path / "digits", per_class=2, classes=3)
    parts = [("files", (f"digits/{p.relative_to(folder).as_posix()}", p.read_bytes(), "image/png"))
             for p in sorted(folder.rglob("*.png"))]
    with TestClient(create_console_app(tmp_path / "work")) as client:
        described = client.post("/v1/console/uploads", files=parts).json()
    assert described["kind"] == "folder" and described["name"] == "digits"
    assert described["classes"] == ["0", "1", "2"] and described["rows"] == 6
    saved = tmp_path / "work" / "uploads" / described["id"] / "digits"
    assert sorted(p.name for p in saved.iterdir()) == ["0", "1", "2"]

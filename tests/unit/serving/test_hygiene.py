"""The served app around the models: batching through HTTP, readiness, offline docs, API keys,
the drift hook, and logs that never carry request content. In-process (TestClient)."""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from featureship.errors import SettingsError
from featureship.serving import ServerSettings, create_app
from featureship.serving.auth import read_api_keys
from tests.unit.serving.test_app import sample

PREDICT = "/v1/models/intent/predict"
KEYS = ("first-key-0123456789abcdef", "second-key-0123456789abcdef")


@pytest.fixture(scope="module")
def app(text_bundle: Path) -> FastAPI:
    # one copy of the model: the tests patch its predict to hold or count forward passes
    return create_app([text_bundle], ServerSettings(max_batch=8, max_batch_size=64, replicas=1))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


# ---- batching through the app ------------------------------------------------------------------


def test_concurrent_http_requests_share_forward_passes_and_keep_their_answers(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [["my card was declined"], ["how do I top up?", "exchange rate please"],
             ["where is my new card"], ["cancel my transfer"], ["I forgot my PIN"]]
    alone = [client.post(PREDICT, json={"inputs": t}).json()["predictions"] for t in texts]
    model = app.state.models["intent"].model
    real = model.predict
    calls: list[int] = []
    started, release = threading.Event(), threading.Event()

    def counted(rows: list[str]) -> list[dict]:
        calls.append(len(rows))
        started.set()
        release.wait(timeout=20)
        return real(rows)

    monkeypatch.setattr(model, "predict", counted)
    answers: dict[int, Any] = {}

    def send(i: int) -> None:
        answers[i] = client.post(PREDICT, json={"inputs": texts[i]})

    first = threading.Thread(target=send, args=(0,))
    first.start()
    assert started.wait(timeout=20)  # the first request holds the model ...
    others = [threading.Thread(target=send, args=(i,)) for i in range(1, len(texts))]
    for thread in others:
        thread.start()
    worker = app.state.models["intent"].worker
    deadline = time.monotonic() + 20
    while worker.waiting < len(others) and time.monotonic() < deadline:
        time.sleep(0.01)  # ... while the others queue behind it
    release.set()
    for thread in [first, *others]:
        thread.join(timeout=30)
    assert calls == [1, 5]  # five requests, two forward passes
    for i, expected in enumerate(alone):
        assert answers[i].status_code == 200
        got = answers[i].json()["predictions"]
        assert [p["label"] for p in got] == [p["label"] for p in expected]
        for a, b in zip(got, expected, strict=True):
            # bf16 kernels pad a batch differently from a lone text: 1.5e-3 apart on an AMX Xeon
            assert a["score"] == pytest.approx(b["score"], abs=5e-3)


def test_two_copies_of_a_model_answer_concurrent_requests_at_the_same_time(
    text_bundle: Path, caplog: pytest.LogCaptureFixture
) -> None:
    texts = ["my card was declined", "how do I top up?", "where is my new card", "cancel it"]
    with caplog.at_level(logging.INFO, logger="featureship.serving"), \
            TestClient(create_app([text_bundle], ServerSettings(replicas=2))) as client:
        served = client.app.state.models["intent"]
        alone = [client.post(PREDICT, json={"inputs": [t]}).json()["predictions"] for t in texts]
        copies = served.worker.copies
        assert len(copies) == 2 and copies[0] is not copies[1]  # loaded twice, nothing shared
        busy = [threading.Event(), threading.Event()]
        release = threading.Event()
        for copy, started in zip(copies, busy, strict=True):
            def held(rows: list[str], real=copy.predict, started=started) -> list[dict]:
                started.set()
                assert release.wait(timeout=20)
                return real(rows)
            copy.predict = held
        answers: dict[int, Any] = {}
        threads = [threading.Thread(target=lambda i=i: answers.__setitem__(
            i, client.post(PREDICT, json={"inputs": [texts[i]]}))) for i in range(len(texts))]
        for thread in threads:
            thread.start()
        both = all(started.wait(timeout=20) for started in busy)  # each copy inside a predict
        release.set()
        for thread in threads:
            thread.join(timeout=30)
        counts = served.monitor.counts
    assert both
    assert "2 copies of each" in caplog.text
    for i, expected in enumerate(alone):
        assert answers[i].status_code == 200
        assert answers[i].json()["predictions"][0]["label"] == expected[0]["label"]
    # the drift monitor read each batch's embeddings from the copy that computed them
    assert counts["features_recomputed"] == 0 and counts["observed"] == 2 * len(texts)


def test_a_failing_input_in_a_batch_fails_only_its_request(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = app.state.models["intent"].model
    real = model.predict
    started, release = threading.Event(), threading.Event()

    def picky(rows: list[str]) -> list[dict]:
        started.set()
        release.wait(timeout=20)
        if "poison" in rows:
            raise RuntimeError(f"cannot handle {rows!r}")
        return real(rows)

    monkeypatch.setattr(model, "predict", picky)
    bodies = [["first"], ["fine text"], ["poison"], ["another fine text"]]
    answers: dict[int, Any] = {}
    threads = [threading.Thread(target=lambda i=i: answers.__setitem__(
        i, client.post(PREDICT, json={"inputs": bodies[i]}))) for i in range(len(bodies))]
    threads[0].start()
    assert started.wait(timeout=20)
    for thread in threads[1:]:
        thread.start()
    worker = app.state.models["intent"].worker
    deadline = time.monotonic() + 20
    while worker.waiting < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert [answers[i].status_code for i in range(4)] == [200, 200, 500, 200]
    assert "Internal server error" in answers[2].json()["detail"]


# ---- readiness ---------------------------------------------------------------------------------


def test_readyz_is_503_until_the_models_load_and_200_after(text_bundle: Path) -> None:
    app = create_app([text_bundle], ServerSettings())
    before = TestClient(app)  # without `with`: the lifespan (loading) has not run
    not_ready = before.get("/readyz")
    assert not_ready.status_code == 503 and "loading" in not_ready.json()["detail"]
    assert not_ready.headers["Retry-After"]
    assert before.get("/healthz").json() == {"status": "ok", "models": 0}  # alive all the same
    with TestClient(app) as client:
        assert client.get("/readyz").json() == {"status": "ready", "models": 1}
    assert before.get("/readyz").status_code == 503  # after shutdown began


# ---- offline docs ------------------------------------------------------------------------------


def test_docs_render_from_local_assets_only(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(r"url: '([^']+)'", page.text)
    assert urls and not [u for u in urls if "//" in u]  # nothing from a CDN or any other host
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200 and len(response.content) > 100, url
    js = [u for u in urls if u.endswith(".js")]
    assert js and "SwaggerUIBundle" in client.get(js[0]).text
    assert client.get("/redoc").status_code == 404  # ReDoc would need a CDN: not served


# ---- API keys ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded(text_bundle: Path) -> Iterator[TestClient]:
    app = create_app([text_bundle], ServerSettings(api_keys=KEYS))
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize("path", ["/v1/models", "/metrics", "/v1/models/nope/predict"])
def test_guarded_routes_refuse_a_missing_or_wrong_key(guarded: TestClient, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-key"}, {"Authorization": f"Basic {KEYS[0]}"},
                    {"Authorization": "Bearer"}):
        response = guarded.request("POST" if "predict" in path else "GET", path, headers=headers,
                                   json={"inputs": ["hi"]} if "predict" in path else None)
        assert response.status_code == 401, (path, headers)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in response.json()["detail"]


def test_each_configured_key_is_accepted(guarded: TestClient) -> None:
    for key in KEYS:
        headers = {"Authorization": f"Bearer {key}"}
        assert guarded.post(PREDICT, json={"inputs": ["card lost"]}, headers=headers).status_code == 200
        assert guarded.get("/metrics", headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/docs", "/openapi.json"])
def test_probes_and_docs_stay_open(guarded: TestClient, path: str) -> None:
    assert guarded.get(path).status_code == 200


def test_openapi_declares_the_bearer_scheme_on_guarded_routes(guarded: TestClient) -> None:
    schema = guarded.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer",
        "description": "One of the keys in the server's --api-key-env variable."}
    assert schema["paths"][PREDICT]["post"]["security"] == [{"bearerAuth": []}]
    assert "401" in schema["paths"][PREDICT]["post"]["responses"]
    assert "security" not in schema["paths"]["/healthz"]["get"]


def test_api_keys_are_read_from_the_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FS_KEYS", f" {KEYS[0]} ,{KEYS[1]},")
    assert read_api_keys("FS_KEYS") == KEYS
    monkeypatch.setenv("FS_EMPTY", " , ")
    with pytest.raises(SettingsError, match="FS_EMPTY is empty"):
        read_api_keys("FS_EMPTY")
    monkeypatch.delenv("FS_MISSING", raising=False)
    with pytest.raises(SettingsError, match="FS_MISSING is not set"):
        read_api_keys("FS_MISSING")


def test_serve_with_a_missing_key_variable_stops_with_a_message(
    text_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from featureship.cli import app as cli

    monkeypatch.delenv("FS_MISSING", raising=False)
    result = CliRunner().invoke(cli, ["serve", str(text_bundle), "--api-key-env", "FS_MISSING"])
    assert result.exit_code == 2
    assert "FS_MISSING is not set" in result.output


def test_keys_never_reach_the_logs_or_the_settings_repr(
    text_bundle: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = ServerSettings(api_keys=KEYS)
    assert KEYS[0] not in repr(settings)
    with caplog.at_level(logging.DEBUG), TestClient(create_app([text_bundle], settings)) as client:
        client.get("/v1/models", headers={"Authorization": "Bearer wrong-but-logged?"})
        client.get("/v1/models", headers={"Authorization": f"Bearer {KEYS[1]}"})
    assert "API keys on: 2 key(s)" in caplog.text
    assert "torch intra-op thread(s) per copy" in caplog.text  # thread settings logged
    for secret in (*KEYS, "wrong-but-logged?"):
        assert secret not in caplog.text


# ---- the drift hook (the real monitor lands in featureship.monitoring) ------------------------


class FakeLiveMonitor:
    """Stands in for featureship.monitoring.live.LiveMonitor: counts what it observes."""

    instances: list[FakeLiveMonitor] = []

    def __init__(self) -> None:
        self.window: list[Any] = []
        FakeLiveMonitor.instances.append(self)

    @classmethod
    def for_model(cls, model: Any) -> FakeLiveMonitor | None:
        return cls()

    def observe(self, inputs: list, outputs: list[dict], model: Any = None) -> None:
        self.window += [(i, o["label"]) for i, o in zip(inputs, outputs, strict=True)]

    def verdict(self) -> dict[str, Any]:
        n = len(self.window)
        return {"drift": n >= 3, "statistic": n / 10, "threshold": 0.25, "window": n}


def _fake_monitoring(monkeypatch: pytest.MonkeyPatch, monitor_class: Any) -> None:
    live = types.ModuleType("featureship.monitoring.live")
    live.LiveMonitor = monitor_class  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "featureship.monitoring.live", live)


def test_drift_route_and_gauges_report_the_monitors_verdict(
    text_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_monitoring(monkeypatch, FakeLiveMonitor)
    with TestClient(create_app([text_bundle], ServerSettings())) as client:
        first = client.get("/v1/models/intent/drift")
        assert first.status_code == 200
        assert first.json() == {"drift": False, "statistic": 0.0, "threshold": 0.25, "window": 0}
        client.post(PREDICT, json={"inputs": ["card lost", "top up", "exchange rate"]})
        verdict = client.get("/v1/models/intent/drift").json()
        assert verdict == {"drift": True, "statistic": 0.3, "threshold": 0.25, "window": 3}
        metrics = client.get("/metrics").text
        assert sample(metrics, "featureship_drift", model="intent") == 1
        assert sample(metrics, "featureship_drift_statistic", model="intent") == pytest.approx(0.3)
        unknown = client.get("/v1/models/nope/drift")
        assert unknown.status_code == 404 and "Available models: intent" in unknown.json()["detail"]
    assert [text for text, _ in FakeLiveMonitor.instances[-1].window] == [
        "card lost", "top up", "exchange rate"]


@pytest.mark.parametrize("installed", [True, False])
def test_drift_is_404_when_the_model_has_no_monitor(
    text_bundle: Path, monkeypatch: pytest.MonkeyPatch, installed: bool
) -> None:
    class NoProfile(FakeLiveMonitor):
        @classmethod
        def for_model(cls, model: Any) -> None:
            return None

    if installed:
        _fake_monitoring(monkeypatch, NoProfile)
    else:  # featureship.monitoring not installed at all: import fails, serving goes on
        monkeypatch.setitem(sys.modules, "featureship.monitoring.live", None)
    with TestClient(create_app([text_bundle], ServerSettings())) as client:
        response = client.get("/v1/models/intent/drift")
        assert response.status_code == 404
        assert "no drift monitor" in response.json()["detail"]
        assert client.post(PREDICT, json={"inputs": ["card lost"]}).status_code == 200


def test_a_monitor_that_cannot_start_leaves_the_model_serving(
    text_bundle: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(FakeLiveMonitor):
        @classmethod
        def for_model(cls, model: Any) -> None:
            raise ValueError("profile unreadable")

    _fake_monitoring(monkeypatch, Broken)
    with caplog.at_level(logging.ERROR), TestClient(create_app([text_bundle])) as client:
        assert client.post(PREDICT, json={"inputs": ["card lost"]}).status_code == 200
        assert client.get("/v1/models/intent/drift").status_code == 404
    assert "drift monitor not started" in caplog.text


# ---- logs --------------------------------------------------------------------------------------


def test_a_model_crash_is_logged_without_the_request_content(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def crash(rows: list[str]) -> list[dict]:
        raise KeyError(rows[0])  # exception messages often quote the input

    monkeypatch.setattr(app.state.models["intent"].model, "predict", crash)
    with caplog.at_level(logging.DEBUG):
        response = client.post(PREDICT, json={"inputs": ["my IBAN is GB33BUKB20201555555555"]})
    assert response.status_code == 500
    assert "KeyError" in caplog.text and "message withheld" in caplog.text
    assert "GB33BUKB20201555555555" not in caplog.text

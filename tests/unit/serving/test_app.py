"""The REST contract, driven in-process through TestClient (its context runs the lifespan)."""

from __future__ import annotations

import json
import math
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from featureship.errors import BundleError, FeatureshipError, SettingsError
from featureship.serving import ServerSettings, create_app
from featureship.serving.routes import SERVER_PATHS

MAX_BATCH = 8
MAX_TEXT_CHARS = 300
PREDICT = "/v1/models/intent/predict"


@pytest.fixture(scope="module")
def app(text_bundle: Path) -> FastAPI:
    return create_app(
        [text_bundle], ServerSettings(max_batch=MAX_BATCH, max_text_chars=MAX_TEXT_CHARS,
                                      replicas=1),  # one copy: tests patch its methods
    )


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def assert_healthy(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "models": 1}


def assert_error(response, status: int, *phrases: str) -> str:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    for phrase in phrases:
        assert phrase in detail, detail
    return detail


# ---- happy paths ------------------------------------------------------------------------------


def test_healthz_counts_loaded_models(client: TestClient) -> None:
    assert_healthy(client)


def test_models_lists_name_task_labels_and_metrics(client: TestClient, text_bundle: Path) -> None:
    [info] = client.get("/v1/models").json()["models"]
    assert info["name"] == text_bundle.name == "intent"
    assert info["task"] == "text-classification"
    assert len(info["labels"]) == 15
    assert isinstance(info["metrics"], dict) and info["metrics"]
    assert info["endpoints"] == ["predict", "explain"]
    assert "validation" in info["metrics_on"]


def test_predict_returns_one_distribution_per_input(client: TestClient) -> None:
    labels = client.get("/v1/models").json()["models"][0]["labels"]
    texts = ["I still have not received my new card", "What is the exchange rate?", "hello"]
    response = client.post(PREDICT, json={"inputs": texts})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert len(predictions) == len(texts)
    for prediction in predictions:
        assert set(prediction) == {"label", "score", "scores"}
        assert set(prediction["scores"]) == set(labels)
        assert math.isclose(sum(prediction["scores"].values()), 1.0, abs_tol=1e-4)
        assert prediction["label"] == max(prediction["scores"], key=prediction["scores"].get)
        assert math.isclose(
            prediction["score"], prediction["scores"][prediction["label"]], abs_tol=1e-6
        )


def test_predict_is_consistent_between_a_batch_and_single_calls(client: TestClient) -> None:
    texts = ["my card got declined", "how do I top up by bank transfer?"]
    batch = client.post(PREDICT, json={"inputs": texts}).json()["predictions"]
    singles = [client.post(PREDICT, json={"inputs": [t]}).json()["predictions"][0] for t in texts]
    assert [p["label"] for p in batch] == [p["label"] for p in singles]


def test_responses_carry_process_time(client: TestClient) -> None:
    response = client.post(PREDICT, json={"inputs": ["card arrival"]})
    assert float(response.headers["X-Process-Time"]) >= 0


# ---- request errors: each answered with a sentence, and the server stays healthy -------------


def test_unknown_model_is_404_listing_available_models(client: TestClient) -> None:
    response = client.post("/v1/models/nope/predict", json={"inputs": ["hi"]})
    assert_error(response, 404, "'nope'", "Available models: intent")
    assert_healthy(client)


def test_malformed_json_is_422(client: TestClient) -> None:
    response = client.post(
        PREDICT, content=b'{"inputs": ["unclosed"', headers={"Content-Type": "application/json"}
    )
    assert_error(response, 422, "not valid JSON", '{"inputs": [')
    assert response.json()["errors"][0]["type"] == "json_invalid"
    assert_healthy(client)


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        ({"inputs": "one text"}, "'inputs' should be a valid list"),
        ({}, "'inputs' is required"),
        ({"texts": ["hi"]}, "'texts' is not a field"),
        ({"inputs": ["ok", 3]}, "'inputs[1]' should be a valid string"),
        (["hi"], "must be a JSON object"),
    ],
)
def test_wrong_schema_is_422_naming_the_field(
    client: TestClient, body: object, phrase: str
) -> None:
    response = client.post(PREDICT, json=body)
    assert_error(response, 422, phrase, "Expected a JSON body like")
    assert response.json()["errors"]
    assert_healthy(client)


def test_empty_inputs_is_422(client: TestClient) -> None:
    assert_error(client.post(PREDICT, json={"inputs": []}), 422, "'inputs'", "at least 1")
    assert_healthy(client)


def test_too_many_inputs_is_413_naming_the_flag(client: TestClient) -> None:
    response = client.post(PREDICT, json={"inputs": ["hi"] * (MAX_BATCH + 1)})
    assert_error(response, 413, f"at most {MAX_BATCH}", "--max-batch")
    assert_healthy(client)


def test_too_long_text_is_413_naming_the_flag(client: TestClient) -> None:
    response = client.post(PREDICT, json={"inputs": ["short", "x" * (MAX_TEXT_CHARS + 1)]})
    assert_error(response, 413, "inputs[1]", f"{MAX_TEXT_CHARS:,}", "--max-text-chars")
    assert_healthy(client)


def test_oversized_body_is_413_before_it_is_read(client: TestClient) -> None:
    response = client.post(
        PREDICT,
        content=b"x",
        headers={"Content-Type": "application/json", "Content-Length": "999999999"},
    )
    assert_error(response, 413, "999,999,999 bytes", "--max-batch")
    assert_healthy(client)


def test_oversized_chunked_body_is_413_while_it_arrives(app: FastAPI, client: TestClient) -> None:
    from featureship.serving.body_limit import max_body_bytes

    limit = max_body_bytes(app.state.settings)
    sent = 0

    def chunks():  # no Content-Length: the body is sent chunked
        nonlocal sent
        while sent <= limit + (1 << 20):
            sent += 1 << 20
            yield b" " * (1 << 20)

    response = client.post(PREDICT, content=chunks(), headers={"Content-Type": "application/json"})
    assert_error(response, 413, "passed", "--max-batch")
    assert_healthy(client)


def test_recommend_on_a_text_model_is_404_naming_its_endpoints(client: TestClient) -> None:
    response = client.post("/v1/models/intent/recommend", json={"user": 1, "k": 5})
    assert_error(response, 404, "text-classification", "/v1/models/intent/predict")
    assert_healthy(client)


def test_a_full_queue_answers_503_with_retry_after(text_bundle: Path) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(rows: list[str]) -> list[dict]:
        started.set()
        release.wait(timeout=10)
        return [{"label": "x", "score": 1.0, "scores": {"x": 1.0}} for _ in rows]

    # one copy of the model: the test holds that copy's predict
    app = create_app([text_bundle], ServerSettings(max_queue=1, replicas=1))
    with TestClient(app) as client:
        app.state.models["intent"].model.predict = slow
        answers: list[int] = []
        calls = [threading.Thread(target=lambda: answers.append(
            client.post(PREDICT, json={"inputs": ["hi"]}).status_code)) for _ in range(2)]
        calls[0].start()
        assert started.wait(timeout=10)
        calls[1].start()  # waits behind the first: the queue (1) is now full
        deadline = time.monotonic() + 10
        while app.state.models["intent"].worker.waiting < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        refused = client.post(PREDICT, json={"inputs": ["hi"]})
        release.set()
        for call in calls:
            call.join(timeout=10)
    assert_error(refused, 503, "--max-queue")
    assert refused.headers["Retry-After"] == "1"
    assert answers == [200, 200]


# ---- model failures ----------------------------------------------------------------------------


class _UnknownThing(FeatureshipError):
    status_code = 404


@pytest.mark.parametrize(
    ("error", "status", "phrase"),
    [
        (FeatureshipError("that text is not usable"), 422, "that text is not usable"),
        (_UnknownThing("no such thing"), 404, "no such thing"),
        (RuntimeError("secret internals"), 500, "Internal server error"),
    ],
)
def test_model_errors_map_to_status_and_server_recovers(
    app: FastAPI,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    status: int,
    phrase: str,
) -> None:
    def fail(rows: list[str]) -> list[dict]:
        raise error

    monkeypatch.setattr(app.state.models["intent"].model, "predict", fail)
    detail = assert_error(client.post(PREDICT, json={"inputs": ["hi"]}), status, phrase)
    assert "secret internals" not in detail  # internals stay in the log
    monkeypatch.undo()
    assert client.post(PREDICT, json={"inputs": ["hi"]}).status_code == 200
    assert_healthy(client)


def test_a_running_model_call_does_not_block_other_requests(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()
    order: list[str] = []

    def slow(rows: list[str]) -> list[dict]:
        started.set()
        release.wait(timeout=10)
        return [{"label": "x", "score": 1.0, "scores": {"x": 1.0}} for _ in rows]

    monkeypatch.setattr(app.state.models["intent"].model, "predict", slow)

    def call() -> None:
        client.post(PREDICT, json={"inputs": ["hi"]})
        order.append("predict")

    worker = threading.Thread(target=call)
    worker.start()
    try:
        assert started.wait(timeout=10)
        assert_healthy(client)  # answered while predict is still running in the threadpool
        order.append("healthz")
    finally:
        release.set()
        worker.join(timeout=10)
    assert order == ["healthz", "predict"]


# ---- monitoring and docs -----------------------------------------------------------------------


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 if none)."""
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        s.value for family in text_string_to_metric_families(text) for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


def test_metrics_count_requests_per_model(client: TestClient) -> None:
    route = {"model": "intent", "endpoint": "predict"}
    before = client.get("/metrics").text
    client.post(PREDICT, json={"inputs": ["card not working"]})
    client.post(PREDICT, json={"inputs": []})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    for name, labels in (("featureship_requests_total", {**route, "status": "200"}),
                         ("featureship_request_errors_total", {**route, "status": "422"}),
                         ("featureship_request_duration_seconds_count", route)):
        assert sample(after, name, **labels) == sample(before, name, **labels) + (
            2 if name.endswith("_count") else 1), name
    assert sample(after, "featureship_models_loaded") == 1


def test_openapi_documents_only_the_served_models_routes(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == SERVER_PATHS | {PREDICT, "/v1/models/intent/explain"}
    assert {"/readyz", "/v1/models/{name}/drift"} <= SERVER_PATHS
    predict = schema["paths"][PREDICT]["post"]
    assert "TextPredictRequest" in str(predict["requestBody"])
    assert "ClassificationResponse" in str(predict["responses"]["200"])
    assert {"413", "422", "503"} <= set(predict["responses"])
    components = schema["components"]["schemas"]
    assert "RecommendRequest" not in components and "SimilarRequest" not in components
    inputs = components["TextPredictRequest"]["properties"]["inputs"]
    assert inputs["maxItems"] == MAX_BATCH and inputs["items"]["maxLength"] == MAX_TEXT_CHARS


# ---- start-up ----------------------------------------------------------------------------------


def test_models_load_in_lifespan_not_in_create_app(text_bundle: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(text_bundle, damaged)
    listed = json.loads((damaged / "manifest.json").read_text())["files"]
    target = damaged / min(listed)
    target.write_bytes(target.read_bytes() + b"tampered")
    app = create_app([damaged], ServerSettings())  # only the manifest is read here
    with pytest.raises(BundleError, match="does not match its sha256"), TestClient(app):
        pass


def test_a_missing_bundle_is_refused_before_the_server_starts(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no such model folder"):
        create_app([tmp_path / "missing-model"], ServerSettings())


def test_a_folder_name_that_is_no_url_segment_is_refused(text_bundle: Path, tmp_path: Path) -> None:
    odd = tmp_path / "my model?"
    shutil.copytree(text_bundle, odd)
    with pytest.raises(SettingsError, match="cannot be a URL segment"):
        create_app([odd], ServerSettings())


def test_two_bundles_with_one_folder_name_are_refused(text_bundle: Path, tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / text_bundle.name
    shutil.copytree(text_bundle, copy)
    with pytest.raises(SettingsError, match=f"Two bundles are both named '{text_bundle.name}'"):
        create_app([text_bundle, copy], ServerSettings())


@pytest.mark.parametrize("field", ["max_batch", "max_text_chars", "max_queue"])
def test_settings_refuse_limits_below_one(field: str) -> None:
    with pytest.raises(SettingsError, match="at least 1"):
        ServerSettings(**{field: 0})


def test_a_model_answer_that_breaks_the_schema_is_500_and_server_recovers(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state.models["intent"].model, "predict", lambda rows: [{"oops": 1}])
    assert_error(client.post(PREDICT, json={"inputs": ["hi"]}), 500, "Internal server error")
    monkeypatch.undo()
    assert_healthy(client)


def test_a_body_that_is_not_utf8_is_422(client: TestClient) -> None:
    response = client.post(PREDICT, content=b'{"inputs": ["\xff"]}',
                           headers={"Content-Type": "application/json"})
    assert_error(response, 422, "not valid JSON: it is not UTF-8")
    assert_healthy(client)

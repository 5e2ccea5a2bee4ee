"""Every registered task through the same checks, in the spirit of scikit-learn's
`check_estimator`: fit → save → verify → load → predict → evaluate → serve → tamper → bad
input. A new task passes this suite or does not land.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from safetensors import safe_open

import featureship
from featureship.artifacts import MANIFEST, read_manifest
from featureship.config import build_settings
from featureship.data.readers import Table
from featureship.endpoints import Limits
from featureship.errors import BundleError, FeatureshipError
from featureship.manifest import Manifest
from featureship.progress import silent
from featureship.serving import ServerSettings, create_app
from featureship.serving.routes import SERVER_PATHS
from featureship.tasks import TASK_NAMES, get_task
from featureship.tasks.base import PREDICT_FLAGS, FittedModel
from tests.conformance.cases import CASES

# Pickle streams start with PROTO (0x80) and a protocol number; torch.save writes a zip.
_PICKLE_STARTS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"PK\x03\x04")
_TEXT_SUFFIXES = (".json", ".html", ".txt", ".csv", ".md")
# Binary formats that hold data only: parsed by their own loaders, never unpickled.
_DATA_SUFFIXES = (".safetensors", ".onnx", ".model")


class Fitted:
    """One task's in-memory model, its bundle, and the bundle loaded back."""

    def __init__(self, name: str, root: Path) -> None:
        case = CASES[name]
        task = get_task(name)
        self.name, self.case, self.task = name, case, task
        settings = build_settings(task.settings_class, case.settings)
        table = Table(case.data(), Path(f"{name}.csv"))
        self.memory: FittedModel = task.fit(table, settings, silent(), output=root / name)
        self.path = featureship.save(self.memory, root / name)
        self.loaded = featureship.load(self.path)


@pytest.fixture(scope="module", params=TASK_NAMES)
def fitted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Fitted:
    return Fitted(request.param, tmp_path_factory.mktemp("conformance"))


def test_every_registered_task_has_a_case() -> None:
    assert set(CASES) == set(TASK_NAMES)


def test_the_task_declares_its_parts(fitted: Fitted) -> None:
    task = fitted.task
    assert task.name == fitted.name
    assert issubclass(task.model_class, FittedModel)
    assert isinstance(fitted.memory, task.model_class) and isinstance(fitted.loaded, task.model_class)
    assert task.model_class.task == fitted.name
    assert task.model_class.predict_inputs <= set(PREDICT_FLAGS)
    assert task.model_class.candidate_columns, "the candidates table needs columns"


def test_the_manifest_has_the_one_shape(fitted: Fitted) -> None:
    raw = json.loads((fitted.path / MANIFEST).read_text())
    manifest = Manifest.model_validate(raw)
    assert manifest.task == fitted.name and manifest.format == "featureship-bundle"
    fitted.task.settings_class.model_validate(manifest.settings)  # settings round-trip
    assert manifest.metrics and all(isinstance(v, float) for v in manifest.metrics.values())
    assert manifest.metrics_on, "say what the metrics were computed on"
    assert manifest.chosen in {c.name for c in manifest.candidates}
    assert manifest.data.fingerprint and manifest.data.train_rows > 0
    assert {"python", "featureship", "numpy"} <= set(manifest.libraries)


def test_the_bundle_verifies_and_holds_no_pickle(fitted: Fitted) -> None:
    manifest = read_manifest(fitted.path)  # checks every file's sha256
    assert {"report.html", "metrics.json"} <= set(manifest.files)
    for name in manifest.files:
        path = fitted.path / name
        assert name.endswith(_TEXT_SUFFIXES + _DATA_SUFFIXES), f"{name}: not a known data format"
        assert not path.read_bytes()[:4].startswith(_PICKLE_STARTS), name
        if name.endswith(".json"):
            json.loads(path.read_text(encoding="utf-8"))
        elif name.endswith(".safetensors"):
            with safe_open(str(path), framework="numpy") as handle:
                assert list(handle.keys())
        elif name.endswith(_TEXT_SUFFIXES):
            path.read_text(encoding="utf-8")
    report = (fitted.path / "report.html").read_text()
    assert "<h2>Candidates</h2>" in report and not re.search(r"src=['\"]https?://", report)


def test_the_reloaded_model_predicts_exactly_what_the_fitted_one_did(fitted: Fitted) -> None:
    inputs = fitted.case.inputs
    assert fitted.loaded.predict(inputs) == fitted.memory.predict(inputs)
    assert len(fitted.loaded.predict(inputs)) == len(inputs)


def test_a_reloaded_and_saved_model_keeps_its_report_and_answers(fitted: Fitted, tmp_path: Path) -> None:
    again = featureship.save(fitted.loaded, tmp_path / "again")
    first = (fitted.path / "report.html").read_text()
    second = (again / "report.html").read_text()
    assert len(second) > 0.5 * len(first) and "<h2>Candidates</h2>" in second
    assert featureship.load(again).predict(fitted.case.inputs) == fitted.loaded.predict(fitted.case.inputs)


def test_evaluate_scores_held_out_data(fitted: Fitted) -> None:
    metrics = fitted.loaded.evaluate(fitted.case.held_out())
    numbers = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
    assert numbers, "evaluate returns flat numbers"
    assert isinstance(metrics.get("notes", []), list)
    for table in fitted.loaded.evaluation_tables(metrics):
        assert table.columns and all(len(row) == len(table.columns) for row in table.rows)


def test_predict_cli_answers_its_declared_inputs(fitted: Fitted) -> None:
    options = fitted.case.cli_options
    assert set(options) <= fitted.loaded.predict_inputs
    result = fitted.loaded.predict_cli(**options)
    assert isinstance(result, (list, pd.DataFrame)) and len(result) > 0


def test_bad_input_is_a_typed_error_naming_the_problem(fitted: Fitted) -> None:
    with pytest.raises(FeatureshipError, match=re.escape(fitted.case.bad_message)):
        fitted.loaded.predict(fitted.case.bad_inputs)


def test_a_tampered_file_is_refused_by_name(fitted: Fitted, tmp_path: Path) -> None:
    copy = tmp_path / "tampered"
    shutil.copytree(fitted.path, copy)
    target = copy / "weights.safetensors"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF  # one flipped byte
    target.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="weights.safetensors does not match its sha256"):
        featureship.load(copy)


def test_endpoints_are_declared_with_schemas_and_working_examples(fitted: Fitted) -> None:
    endpoints = fitted.task.model_class.endpoints(fitted.loaded.describe(), Limits())
    assert endpoints and len({e.name for e in endpoints}) == len(endpoints)
    for endpoint in endpoints:
        assert issubclass(endpoint.request, BaseModel) and issubclass(endpoint.response, BaseModel)
        endpoint.request.model_validate(endpoint.example)
        assert callable(getattr(fitted.loaded, endpoint.handler))


def assert_same_answer(served: Any, direct: Any, where: str = "") -> None:
    """Equal, except floats to 1e-5: the server's worker thread runs its own torch thread count,
    so gradient sums (integrated gradients) can add up in another order (seen: 1e-7 apart)."""
    if isinstance(direct, float) and isinstance(served, (int, float)):
        assert math.isclose(served, direct, rel_tol=1e-5, abs_tol=1e-6), f"{where}: {served} != {direct}"
    elif isinstance(direct, dict):
        assert isinstance(served, dict) and served.keys() == direct.keys(), where
        for key in direct:
            assert_same_answer(served[key], direct[key], f"{where}.{key}")
    elif isinstance(direct, list):
        assert isinstance(served, list) and len(served) == len(direct), where
        for i, (a, b) in enumerate(zip(served, direct, strict=True)):
            assert_same_answer(a, b, f"{where}[{i}]")
    else:
        assert served == direct, f"{where}: {served!r} != {direct!r}"


def test_the_server_answers_every_endpoint_as_the_model_does(fitted: Fitted) -> None:
    endpoints = fitted.task.model_class.endpoints(fitted.loaded.describe(), Limits())
    app = create_app([fitted.path], ServerSettings())
    with TestClient(app) as client:
        listed = client.get("/v1/models").json()["models"]
        assert [m["endpoints"] for m in listed] == [[e.name for e in endpoints]]
        for endpoint in endpoints:
            url = f"/v1/models/{fitted.path.name}/{endpoint.name}"
            response = client.post(url, json=endpoint.example)
            assert response.status_code == 200, response.text
            endpoint.response.model_validate(response.json())
            if endpoint.batch:
                inputs_field, outputs_field = endpoint.batch
                direct = getattr(fitted.loaded, endpoint.handler)(endpoint.example[inputs_field])
                assert_same_answer(response.json()[outputs_field], json.loads(json.dumps(direct)))
        paths = set(client.get("/openapi.json").json()["paths"])
        assert paths == SERVER_PATHS | {
            f"/v1/models/{fitted.path.name}/{e.name}" for e in endpoints}


def test_every_task_explains_each_input(fitted: Fitted) -> None:
    # What each explanation says is checked by the task's own tests; here: one JSON-ready
    # dict per input, in order, from the loaded bundle and the fitted model alike.
    inputs = fitted.case.inputs
    result: Any = fitted.loaded.explain(inputs)
    assert isinstance(result, list) and len(result) == len(inputs)
    assert all(isinstance(r, dict) and r for r in result)
    assert json.loads(json.dumps(result)) == result  # plain JSON: no numpy, no NaN objects
    assert fitted.memory.explain(inputs) == result


def test_every_task_declares_an_explain_endpoint(fitted: Fitted) -> None:
    # The server answers it in test_the_server_answers_every_endpoint_as_the_model_does.
    endpoints = {e.name: e for e in fitted.task.model_class.endpoints(fitted.loaded.describe(), Limits())}
    assert "explain" in endpoints, f"{fitted.name} declares no explain endpoint"


def test_explain_cli_answers_the_predict_options(fitted: Fitted) -> None:
    result = fitted.loaded.explain_cli(**fitted.case.cli_options)
    assert isinstance(result, (list, pd.DataFrame)) and len(result) > 0
    records = result.to_dict("records") if isinstance(result, pd.DataFrame) else result
    assert "<html" in fitted.loaded.explanation_html(records)


def test_the_console_can_build_every_request_and_explain_every_prediction(fitted: Fitted) -> None:
    # The console builds its forms from GET /v1/models/NAME: each endpoint's JSON Schema must
    # accept the endpoint's own example, and `explained_by` must name an endpoint of this
    # model that takes the same body, so the page can send it the request it just sent.
    from jsonschema import Draft202012Validator

    endpoints = {e.name: e for e in fitted.task.model_class.endpoints(fitted.loaded.describe(), Limits())}
    for endpoint in endpoints.values():
        Draft202012Validator(endpoint.request.model_json_schema()).validate(endpoint.example)
        if endpoint.explained_by is not None:
            explainer = endpoints[endpoint.explained_by]
            explainer.request.model_validate(endpoint.example)
    assert any(e.explained_by for e in endpoints.values()), "no endpoint names its explanation"
    with TestClient(create_app([fitted.path], ServerSettings())) as client:
        detail = client.get(f"/v1/models/{fitted.path.name}").json()
        assert [s["name"] for s in detail["endpoint_specs"]] == list(endpoints)
        assert client.get(detail["report"]).headers["content-type"].startswith("text/html")


def test_the_task_names_its_data_columns_among_its_settings(fitted: Fitted) -> None:
    fields = fitted.task.settings_class.model_fields
    assert fitted.task.data_columns and set(fitted.task.data_columns) <= set(fields)

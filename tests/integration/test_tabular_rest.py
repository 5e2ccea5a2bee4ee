"""A tabular model served by a real uvicorn: typed rows in, predictions and explanations out."""

from __future__ import annotations

import math
from pathlib import Path

import httpx
import pytest

import featureship
from tests.servers import served
from tests.unit.tabular.conftest import mixed_frame


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("served") / "churn"
    featureship.train("tabular", data=mixed_frame().iloc[:200], output=out, label_column="churn",
                      ignore_columns=["spend"], model="lightgbm", time_budget_minutes=0.05)
    return out


def test_rows_are_predicted_and_explained_over_http(bundle: Path, tmp_path: Path) -> None:
    row = {"age": 41, "plan": "pro", "member": True, "signup": "2024-03-01",
           "notes": "lovely soft fit and colour"}
    with served([bundle], tmp_path / "server.log") as (url, _), httpx.Client(base_url=url, timeout=60) as client:
        response = client.post("/v1/models/churn/predict", json={"inputs": [row, {**row, "age": None}]})
        assert response.status_code == 200, response.text
        predictions = response.json()["predictions"]
        assert len(predictions) == 2 and all(math.isclose(sum(p["scores"].values()), 1.0) for p in predictions)
        assert predictions == featureship.load(bundle).predict([row, {**row, "age": None}])

        wrong = client.post("/v1/models/churn/predict", json={"inputs": [row, {**row, "age": "forty"}]})
        assert wrong.status_code == 422
        assert "inputs[1].age" in wrong.json()["detail"] and "expected a number" in wrong.json()["detail"]

        missing = client.post("/v1/models/churn/predict", json={"inputs": [{"age": 3}]})
        assert missing.status_code == 422
        assert "missing column(s) 'plan', 'member', 'signup', 'notes'" in missing.json()["detail"]

        extra = client.post("/v1/models/churn/predict", json={"inputs": [{**row, "colour": "red"}]})
        assert extra.status_code == 200 and extra.json()["predictions"][0]["ignored_columns"] == ["colour"]

        explained = client.post("/v1/models/churn/explain", json={"inputs": [row]})
        assert explained.status_code == 200, explained.text
        explanation = explained.json()["explanations"][0]
        total = explanation["base_value"] + sum(c["contribution"] for c in explanation["contributions"])
        assert total == pytest.approx(explanation["output"], abs=1e-6)
        assert {c["column"] for c in explanation["contributions"]} == set(row)

        schema = client.get("/openapi.json").json()["components"]["schemas"]
        row_schema = schema["TabularRow"]["properties"]
        assert row_schema["age"]["type"] == ["number", "null"] and row_schema["notes"]["type"] == ["string", "null"]

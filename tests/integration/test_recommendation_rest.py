"""The REST contract for recommenders: /recommend, /similar, the model list, 404/422."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

import featureship
from featureship.serving.app import ServerSettings, create_app
from featureship.serving.routes import SERVER_PATHS


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("rest")
    rows = []
    for group in ("a", "b"):  # two disjoint groups of users and items
        for u in range(15):
            for step in range(6):
                rows.append({"user": f"{group}{u}", "item": f"{group}-item{(u + step) % 12}"})
    frame = pd.DataFrame(rows)
    items = root / "items.csv"
    pd.DataFrame({"item": sorted(frame["item"].unique())}).assign(
        name=lambda f: "Title of " + f["item"]).to_csv(items, index=False)
    featureship.train("recommendation", data=frame, output=root / "recs", user_column="user",
                    item_column="item", model="itemknn", items=str(items), item_title_column="name")
    with TestClient(create_app([Path(root / "recs")], ServerSettings())) as test_client:
        yield test_client


def test_models_list_includes_the_recommender(client):
    [info] = client.get("/v1/models").json()["models"]
    assert info["name"] == "recs" and info["task"] == "recommendation"
    assert info["endpoints"] == ["recommend", "similar", "explain"]


def test_openapi_has_only_the_recommenders_routes_and_one_of_user_or_history(client):
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == SERVER_PATHS | {"/v1/models/recs/recommend",
                                                   "/v1/models/recs/similar",
                                                   "/v1/models/recs/explain"}
    request = schema["components"]["schemas"]["RecommendRequest"]
    assert request["oneOf"] == [{"required": ["user"]}, {"required": ["history"]}]
    assert "null" not in str(request["properties"]["user"])


def test_recommend_for_a_known_user(client):
    response = client.post("/v1/models/recs/recommend", json={"user": "a3", "k": 4})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["fallback"] is False and len(body["items"]) == 4
    assert all(i["item"].startswith("a-") and i["title"] == "Title of " + i["item"] for i in body["items"])
    assert all(isinstance(i["score"], float) for i in body["items"])


def test_a_long_history_is_deduplicated_keeping_the_latest(client):
    history = ["a-item1", "a-item2"] * 4000 + ["nope"]
    body = client.post("/v1/models/recs/recommend", json={"history": history, "k": 3}).json()
    assert body["fallback"] is False and body["ignored_items"] == ["nope"]


def test_recommend_for_a_session_history_and_unknown_items(client):
    body = client.post("/v1/models/recs/recommend",
                       json={"history": ["b-item1", "b-item2", "nope"], "k": 3}).json()
    assert body["fallback"] is False and body["ignored_items"] == ["nope"]
    assert all(i["item"].startswith("b-") for i in body["items"])


def test_unknown_user_is_a_flagged_fallback(client):
    body = client.post("/v1/models/recs/recommend", json={"user": "stranger", "k": 2}).json()
    assert body["fallback"] is True and len(body["items"]) == 2


def test_similar(client):
    response = client.post("/v1/models/recs/similar", json={"item": "a-item5", "k": 3})
    assert response.status_code == 200, response.text
    items = [i["item"] for i in response.json()["items"]]
    assert len(items) == 3 and "a-item5" not in items and all(i.startswith("a-") for i in items)


def test_errors(client):
    assert client.post("/v1/models/nope/recommend", json={"user": "a1"}).status_code == 404
    unknown = client.post("/v1/models/recs/similar", json={"item": "missing", "k": 3})
    assert unknown.status_code == 404 and "missing" in unknown.json()["detail"]
    both = client.post("/v1/models/recs/recommend", json={"user": "a1", "history": ["a-item1"]})
    assert both.status_code == 422
    null = client.post("/v1/models/recs/recommend", json={"user": None, "history": ["a-item1"]})
    assert null.status_code == 422 and "must not be null" in null.json()["detail"]
    assert client.post("/v1/models/recs/predict", json={"inputs": ["x"]}).status_code == 404
    assert client.post("/v1/models/recs/recommend", json={"user": "a1", "k": 0}).status_code == 422


def test_explain_names_the_titles_of_the_history_items(client):
    response = client.post("/v1/models/recs/explain", json={"user": "a3", "k": 3})
    assert response.status_code == 200, response.text
    reasons = [r for e in response.json()["items"] for r in e["because"]]
    assert reasons and all(r["title"] == "Title of " + r["item"] for r in reasons)

"""Recommendation explanations: the history items behind each recommended item."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import featureship
from featureship.tasks.recommendation.data import Sequences

FAMILIES = ["popularity", "itemknn", "als", "bpr", "sasrec"]


@pytest.fixture(scope="module")
def bundles(family_bundles: dict[str, Path]) -> dict[str, Path]:
    return family_bundles  # trained once per session, shared with test_models.py


@pytest.mark.parametrize("name", ["itemknn", "als", "bpr", "sasrec"])
def test_reasons_are_the_users_own_history_items(bundles: dict[str, Path], frame: pd.DataFrame, name: str) -> None:
    model = featureship.load(bundles[name])
    answer = model.explain_recommendation(user="a-user3", k=5)
    seen = set(frame.loc[frame.user == "a-user3", "item"])
    assert [e["item"] for e in answer["items"]] == [e["item"] for e in model.recommend(user="a-user3", k=5)["items"]]
    assert answer["method"] != "none" and answer["note"]
    reasons = [r for e in answer["items"] for r in e["because"]]
    assert reasons, "a personal model must name history items"
    for entry in answer["items"]:
        weights = [r["weight"] for r in entry["because"]]
        assert weights == sorted(weights, reverse=True) and all(w > 0 for w in weights)
        assert {r["item"] for r in entry["because"]} <= seen  # only the user's own history


@pytest.mark.parametrize("name", ["itemknn", "als"])
def test_factor_and_similarity_shares_add_up_to_the_score(bundles: dict[str, Path], name: str) -> None:
    model = featureship.load(bundles[name])
    history = model.history[model.user_index["b-user2"]]
    targets = np.arange(len(model.items))
    shares = model.recommender.contributions(history, targets)
    scores = model.recommender.score(Sequences.from_lists([history]))[0]
    np.testing.assert_allclose(shares.sum(0), scores, rtol=1e-4, atol=1e-4)


def test_bpr_shares_add_up_to_the_score_less_the_item_bias(bundles: dict[str, Path]) -> None:
    model = featureship.load(bundles["bpr"])
    history = model.history[model.user_index["a-user1"]]
    targets = np.arange(len(model.items))
    shares = model.recommender.contributions(history, targets)
    scores = model.recommender.score(Sequences.from_lists([history]))[0]
    bias = model.recommender.item_factors[:, -1]
    np.testing.assert_allclose(shares.sum(0) + bias, scores, rtol=1e-4, atol=1e-4)


def test_sasrec_shares_are_leave_one_out_differences(bundles: dict[str, Path]) -> None:
    model = featureship.load(bundles["sasrec"])
    history = model.history[model.user_index["a-user5"]]
    target = np.array([0, 5])
    shares = model.recommender.contributions(history, target)
    full = model.recommender.score(Sequences.from_lists([history]))[0, target]
    without_last = model.recommender.score(Sequences.from_lists([history[:-1]]))[0, target]
    np.testing.assert_allclose(shares[-1], full - without_last, rtol=1e-5, atol=1e-5)


def test_popularity_and_cold_users_say_there_is_no_personal_reason(bundles: dict[str, Path]) -> None:
    popular = featureship.load(bundles["popularity"]).explain_recommendation(user="a-user3", k=3)
    assert popular["method"] == "none" and all(e["because"] == [] for e in popular["items"])
    assert "same items to everyone" in popular["note"]
    cold = featureship.load(bundles["itemknn"]).explain_recommendation(user="stranger", k=3)
    assert cold["fallback"] and "no personal reason" in cold["note"]


def test_an_anonymous_history_is_explained_from_that_history(bundles: dict[str, Path]) -> None:
    answer = featureship.load(bundles["itemknn"]).explain_recommendation(history=["b3", "b4", "zz"], k=3)
    assert answer["ignored_items"] == ["zz"]
    assert {r["item"] for e in answer["items"] for r in e["because"]} <= {"b3", "b4"}


def test_cli_and_rest_explain_a_recommender(bundles: dict[str, Path]) -> None:
    import json

    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from featureship.cli import app
    from featureship.serving import ServerSettings, create_app

    out = CliRunner().invoke(app, ["explain", str(bundles["itemknn"]), "--users", "a-user3,stranger", "--k", "2"])
    assert out.exit_code == 0, out.output
    records = json.loads(out.stdout)["explanations"]  # no word weights: printed as JSON
    assert [r["user"] for r in records] == ["a-user3", "stranger"] and records[1]["fallback"]
    with TestClient(create_app([bundles["itemknn"]], ServerSettings())) as client:
        response = client.post("/v1/models/itemknn/explain", json={"history": ["a1", "a2"], "k": 2})
        assert response.status_code == 200, response.text
        assert {r["item"] for e in response.json()["items"] for r in e["because"]} <= {"a1", "a2"}
        assert client.post("/v1/models/itemknn/explain", json={"k": 2}).status_code == 422

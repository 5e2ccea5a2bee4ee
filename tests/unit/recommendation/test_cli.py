"""The CLI contract: train recommendation, recommend --user/--history, predict --users, evaluate."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from featureship.cli import app


@pytest.fixture(scope="module")
def trained(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("cli")
    data = root / "clicks.csv"
    frame.to_csv(data, index=False)
    result = CliRunner().invoke(app, [
        "train", "recommendation", "--data", str(data), "--user-column", "user",
        "--item-column", "item", "--time-column", "ts", "--model", "itemknn",
        "--output", str(root / "model")])
    assert result.exit_code == 0, result.output
    assert "itemknn" in result.output and "popularity" in result.output
    return root


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_recommend_user_and_history(trained):
    out = run("recommend", str(trained / "model"), "--user", "a-user1", "--k", "3")
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    assert len(body["items"]) == 3 and body["fallback"] is False
    out = run("recommend", str(trained / "model"), "--history", "b1,b2,zzz", "--k", "2")
    body = json.loads(out.stdout)
    assert body["ignored_items"] == ["zzz"] and all(i["item"].startswith("b") for i in body["items"])


def test_predict_all_users_to_csv(trained):
    out = run("predict", str(trained / "model"), "--users", "all", "--k", "4",
              "--output", str(trained / "recs.csv"))
    assert out.exit_code == 0, out.output
    recs = pd.read_csv(trained / "recs.csv", dtype={"user": str, "item": str})
    assert list(recs.columns) == ["user", "rank", "item", "score"]
    assert len(recs) == 80 * 4 and recs.groupby("user")["rank"].max().eq(4).all()


def test_evaluate_json(trained, frame):
    held = frame.groupby("user").tail(1).assign(item=lambda f: f["item"].str[0] + "19")
    held = held[[i not in set(frame.loc[frame.user == u, "item"]) for u, i in zip(held.user, held.item, strict=False)]]
    held.to_csv(trained / "held.csv", index=False)
    out = run("evaluate", str(trained / "model"), "--data", str(trained / "held.csv"), "--json")
    assert out.exit_code == 0, out.output
    metrics = json.loads(out.stdout)
    assert {"hr@10", "ndcg@10", "mrr@10", "coverage@10"} <= set(metrics)


def test_user_mistakes_exit_2_with_a_message(trained):
    out = run("train", "recommendation", "--data", str(trained / "clicks.csv"), "--user-column",
              "customer", "--item-column", "item", "--output", str(trained / "other"))
    assert out.exit_code == 2 and "'customer' is not in clicks.csv" in out.output
    out = run("recommend", str(trained / "model"))
    assert out.exit_code == 2 and "--user" in out.output and "--history" in out.output


def test_wrong_task_options_are_refused(trained):
    out = run("predict", str(trained / "model"), "--text", "hello")
    assert out.exit_code == 2 and "--text does not apply to model, a recommendation model" in out.output
    assert "--users, --k" in out.output

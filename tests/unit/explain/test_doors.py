"""The explain doors for a text model: CLI (terminal, --json, --output HTML), Python, REST."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import featureship
from featureship.cli import app
from featureship.serving import ServerSettings, create_app


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_cli_json_matches_the_python_api(text_bundle: Path) -> None:
    out = run("explain", str(text_bundle), "--text", "I lost my card", "--json")
    assert out.exit_code == 0, out.output
    [record] = json.loads(out.stdout)["explanations"]
    [direct] = featureship.load(text_bundle).explain(["I lost my card"])
    assert record == {"text": "I lost my card", **direct}
    assert [a["token"] for a in record["attributions"]] == ["I", "lost", "my", "card"]


def test_cli_prints_the_words_with_the_label(text_bundle: Path) -> None:
    out = run("explain", str(text_bundle), "--text", "my card has not arrived")
    assert out.exit_code == 0, out.output
    label = featureship.load(text_bundle).predict(["my card has not arrived"])[0]["label"]
    assert label in out.stdout and "arrived" in out.stdout


def test_cli_batch_writes_a_self_contained_html_page(text_bundle: Path, tmp_path: Path) -> None:
    data = tmp_path / "queries.csv"
    pd.DataFrame({"text": ["where is my card?", "", "what rate <b>do</b> you use"]}).to_csv(data, index=False)
    page = tmp_path / "why.html"
    out = run("explain", str(text_bundle), "--data", str(data), "--output", str(page))
    assert out.exit_code == 0, out.output
    html = page.read_text(encoding="utf-8")
    assert html.count("class='fs-expl'") == 2  # the empty row is skipped, as predict does
    assert "row 3" in html and "&lt;" in html and "<b>do" not in html  # the text is escaped
    assert "background:rgba(" in html and "<script" not in html and "http" not in html
    again = run("explain", str(text_bundle), "--data", str(data), "--output", str(page))
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_cli_refuses_flags_of_other_tasks_and_odd_outputs(text_bundle: Path, tmp_path: Path) -> None:
    out = run("explain", str(text_bundle), "--users", "1")
    assert out.exit_code == 2 and "--users does not apply" in out.output
    out = run("explain", str(text_bundle), "--text", "hi", "--output", str(tmp_path / "x.csv"))
    assert out.exit_code == 2 and ".html" in out.output


def test_rest_explain_answers_the_predict_body(text_bundle: Path) -> None:
    with TestClient(create_app([text_bundle], ServerSettings())) as client:
        url = f"/v1/models/{text_bundle.name}/explain"
        response = client.post(url, json={"inputs": ["I lost my card", "exchange rate?"]})
        assert response.status_code == 200, response.text
        body = response.json()["explanations"]
        assert [e["label"] for e in body] == [p["label"] for p in featureship.load(text_bundle).predict(
            ["I lost my card", "exchange rate?"])]
        assert [a["token"] for a in body[1]["attributions"]] == ["exchange", "rate", "?"]
        assert client.post(url, json={"inputs": [3]}).status_code == 422
        assert client.post(url, json={"text": "x"}).status_code == 422


@pytest.mark.parametrize("bad", [[42], [None]])
def test_python_explain_refuses_non_texts(text_bundle: Path, bad: list) -> None:
    from featureship.errors import FeatureshipError

    with pytest.raises(FeatureshipError, match="Inputs must be texts"):
        featureship.load(text_bundle).explain(bad)

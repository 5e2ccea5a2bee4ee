"""The doors: train, ask, predict, evaluate and kb update from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from featureship.cli import app

runner = CliRunner()


def _train(kb_csv: Path, questions_csv: Path, out: Path) -> None:
    result = runner.invoke(app, [
        "train", "answer-retrieval", "--knowledge-base", str(kb_csv), "--id-column", "id",
        "--answer-column", "answer", "--title-column", "title", "--questions", str(questions_csv),
        "--question-column", "text", "--answer-id-column", "category", "--mode", "bm25",
        "--target-precision", "0.9", "--output", str(out)])
    assert result.exit_code == 0, result.output


def test_train_ask_predict_evaluate_and_update(kb_csv: Path, questions_csv: Path,
                                               held_out_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "assistant"
    _train(kb_csv, questions_csv, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["calibration"]["target_precision"] == 0.9

    asked = runner.invoke(app, ["ask", str(out), "What is the exchange rate?", "--k", "2", "--json"])
    assert asked.exit_code == 0, asked.output
    result = json.loads(asked.stdout)["results"][0]
    assert result["answers"][0]["id"] == "exchange_rate" and len(result["answers"]) == 2
    assert isinstance(result["handoff"], bool)

    predictions = tmp_path / "predictions.csv"
    done = runner.invoke(app, ["predict", str(out), "--data", str(held_out_csv), "--output", str(predictions)])
    assert done.exit_code == 0, done.output
    frame = pd.read_csv(predictions)
    assert list(frame.columns) == ["text", "category", "prediction", "answer", "score", "handoff"]
    assert (frame["prediction"] == frame["category"]).mean() > 0.4

    evaluated = runner.invoke(app, ["evaluate", str(out), "--data", str(held_out_csv), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads(evaluated.stdout)
    assert {"accuracy", "recall_at_3", "mrr", "coverage", "answered_precision"} <= set(metrics)
    assert metrics["recall_at_3"] >= metrics["accuracy"]

    edit = tmp_path / "edit.csv"
    pd.DataFrame([{"id": "exchange_rate", "answer": "Our rate is the interbank rate, always."}]).to_csv(edit, index=False)
    updated = runner.invoke(app, ["kb", "update", str(out), "--knowledge-base", str(edit)])
    assert updated.exit_code == 0, updated.output
    assert json.loads(updated.stdout)["updated"] == 1
    asked = runner.invoke(app, ["ask", str(out), "What is the exchange rate?", "--json"])
    assert json.loads(asked.stdout)["results"][0]["answers"][0]["answer"] == "Our rate is the interbank rate, always."


def test_unknown_answer_ids_are_listed_on_the_command_line(kb_csv: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.csv"
    pd.DataFrame({"text": ["hi", "bye"], "category": ["greeting", "farewell"]}).to_csv(questions, index=False)
    result = runner.invoke(app, [
        "train", "answer-retrieval", "--knowledge-base", str(kb_csv), "--id-column", "id",
        "--answer-column", "answer", "--questions", str(questions), "--question-column", "text",
        "--answer-id-column", "category", "--output", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "not in the knowledge base: farewell, greeting" in " ".join(result.output.split())


def test_ask_refuses_a_model_without_an_answer_endpoint(text_bundle: Path) -> None:
    result = runner.invoke(app, ["ask", str(text_bundle), "hello"])
    assert result.exit_code == 2 and "needs a model that answers /answer" in " ".join(result.output.split())

"""Text classification end to end on real data, through the CLI and the Python API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import featureship
from featureship.cli import app
from featureship.data import Table
from featureship.errors import BundleError
from tests.data_sets import banking_subset, shared_dataset

runner = CliRunner()


def test_evaluate_json_on_held_out_rows(text_bundle, tmp_path):
    held_out = banking_subset(15, 10, skip=40)  # rows after the 40 per intent the model saw
    held_out.to_csv(tmp_path / "holdout.csv", index=False)
    result = runner.invoke(app, ["evaluate", str(text_bundle), "--data", str(tmp_path / "holdout.csv"), "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    # the baseline: TF-IDF + logistic regression fitted on the same 600 training rows
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    seen = banking_subset(15, 40)
    baseline = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                             LogisticRegression(C=10, max_iter=2000))
    baseline.fit(seen["text"], seen["category"])
    baseline_accuracy = float((baseline.predict(held_out["text"]) == held_out["category"]).mean())
    assert metrics["accuracy"] > baseline_accuracy
    assert metrics["n"] == len(held_out) > 100
    # banking77 repeats a few queries: those held-out rows are counted as seen in training
    def norm(t: str) -> str:
        return " ".join(t.lower().split())

    repeated = held_out["text"].map(norm).isin(set(seen["text"].map(norm)))
    assert metrics["overlap_rows"] == int(repeated.sum())
    assert set(metrics["per_class"]) == set(featureship.load(text_bundle).labels)


def test_evaluate_says_when_the_data_overlaps_training(text_bundle):
    seen = banking_subset(15, 40).head(30)
    fresh = banking_subset(15, 4, skip=60)
    fresh = fresh[~fresh["text"].isin(banking_subset(15, 40)["text"])].head(30)
    metrics = featureship.load(text_bundle).evaluate(pd.concat([seen, fresh], ignore_index=True))
    assert metrics["overlap_rows"] == 30
    assert any("30 of 60 evaluated rows (50%) also occur in the training data" in n
               for n in metrics["notes"])


def test_evaluate_reports_unseen_labels_and_scores_the_rest(text_bundle):
    model = featureship.load(text_bundle)
    known = banking_subset(15, 5, skip=40)
    unseen = banking_subset(20, 3, skip=0)
    unseen = unseen[~unseen["category"].isin(model.labels)]
    assert len(unseen) > 0 and set(known["category"]) <= set(model.labels)
    metrics = model.evaluate(pd.concat([known, unseen], ignore_index=True))
    assert metrics["n"] == len(known)
    assert sorted(metrics["unseen_labels"]) == sorted(unseen["category"].unique())
    assert any("never saw in training" in note for note in metrics["notes"])


def test_predict_csv_keeps_every_column(text_bundle, tmp_path):
    frame = banking_subset(15, 2, skip=40)
    frame["ticket_id"] = range(len(frame))
    frame.loc[3, "text"] = None  # a row without text stays, with an empty prediction
    source = tmp_path / "tickets.csv"
    frame.to_csv(source, index=False)
    out = tmp_path / "scored.csv"
    result = runner.invoke(app, ["predict", str(text_bundle), "--data", str(source), "--output", str(out)])
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert list(scored.columns) == ["text", "category", "ticket_id", "prediction", "score"]
    assert scored["ticket_id"].tolist() == list(range(len(frame)))
    assert pd.isna(scored.loc[3, "prediction"])
    assert scored.drop(index=3)["prediction"].notna().all()
    # the input is never overwritten, an existing output only with --overwrite
    again = runner.invoke(app, ["predict", str(text_bundle), "--data", str(source), "--output", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output
    same = runner.invoke(app, ["predict", str(text_bundle), "--data", str(source), "--output", str(source)])
    assert same.exit_code == 2 and "is the input file" in same.output


def test_predict_never_overwrites_a_users_prediction_column(text_bundle):
    frame = banking_subset(2, 2, skip=40).assign(prediction="mine", score=1)
    out = featureship.load(text_bundle).predict_table(Table(frame, Path("t.csv")))
    assert out["prediction"].tolist() == ["mine"] * len(frame)
    assert out["featureship_prediction"].notna().all() and "featureship_score" in out


def test_predict_text_prints_json(text_bundle):
    result = runner.invoke(app, ["predict", str(text_bundle), "--text", "my card still has not arrived"])
    assert result.exit_code == 0, result.output
    prediction = json.loads(result.stdout)["predictions"][0]
    assert prediction["label"] in prediction["scores"]
    assert abs(sum(prediction["scores"].values()) - 1) < 1e-4
    assert prediction["score"] == max(prediction["scores"].values())


def test_bundle_round_trip_and_tamper(text_bundle, tmp_path):
    import shutil

    texts = ["I lost my card", "how long does a transfer take", "my top up failed"]
    first = featureship.load(text_bundle).predict(texts)
    copy = tmp_path / "copy"
    shutil.copytree(text_bundle, copy)
    assert featureship.load(copy).predict(texts) == first
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["format"] == "featureship-bundle" and manifest["format_version"] == 2
    assert manifest["task"] == "text-classification" and manifest["seed"] == 0
    assert manifest["model"]["encoder"]["sha256"] == "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    assert {"weights.safetensors", "report.html", "metrics.json"} <= set(manifest["files"])
    report = (copy / "report.html").read_text()
    assert "data:image/png;base64," in report and "Confusion matrix" in report
    with open(copy / "weights.safetensors", "r+b") as handle:
        handle.seek(-4, os.SEEK_END)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(BundleError, match="weights.safetensors does not match its sha256"):
        featureship.load(copy)


def test_cli_train_errors_are_messages_not_tracebacks(tmp_path):
    frame = banking_subset(3, 5)
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = runner.invoke(app, ["train", "text-classification", "--data", str(tmp_path / "t.csv"),
                                 "--text-column", "txt", "--label-column", "category",
                                 "--output", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "--text-column 'txt' is not in t.csv" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "m").exists()


def test_reviews_subset_with_empty_texts(tmp_path):
    from sklearn.metrics import f1_score

    raw = pd.read_csv(shared_dataset("womens-clothing-reviews/reviews.csv")).head(1200)
    model = featureship.train("text-classification", data=raw, output=tmp_path / "reviews",
                              text_column="Review Text", label_column="Recommended IND", mode="head")
    assert set(model.labels) == {"0", "1"}
    notes = model.manifest.data.notes
    empty = int(raw["Review Text"].isna().sum())
    assert empty > 0 and any(f"skipped {empty} row(s) with an empty 'Review Text'" in n for n in notes)
    assert model.manifest.data.skipped_rows == empty
    # most reviews recommend the item: always answering the majority class is the baseline
    truth = raw.dropna(subset=["Review Text"])["Recommended IND"].astype(str)
    majority = truth.mode()[0]
    baseline_f1 = f1_score(truth, [majority] * len(truth), average="macro")
    assert model.metrics["macro_f1"] > baseline_f1 + 0.1
    assert model.manifest.chosen in {"frozen embedding", "tfidf", "frozen hybrid"}


def _featureship_cli() -> list[str]:
    return [str(Path(sys.executable).parent / "featureship")]


@pytest.mark.slow
def test_finetune_resumes_after_a_kill(tmp_path):
    """Kill a fine-tuning run after its first checkpoint; --resume continues from epoch 2."""
    banking_subset(4, 24).to_csv(tmp_path / "train.csv", index=False)
    output = tmp_path / "tuned"
    command = _featureship_cli() + [
        "train", "text-classification", "--data", str(tmp_path / "train.csv"), "--text-column", "text",
        "--label-column", "category", "--output", str(output), "--mode", "finetune", "--epochs", "6",
        "--max-length", "32", "--batch-size", "16",
    ]
    checkpoint = tmp_path / "tuned.run" / "checkpoints" / "last.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not checkpoint.is_file() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        assert checkpoint.is_file(), "no checkpoint appeared"
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    done = json.loads(checkpoint.read_text())["epoch"]
    assert not (output / "manifest.json").exists()  # the killed run left no half bundle

    resumed = subprocess.run(command + ["--resume", "--epochs", "6"], capture_output=True, text=True,
                             env=env, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resumed from the checkpoint after epoch {done}" in resumed.stderr
    model = featureship.load(output)
    history = model.manifest.training["history"]
    assert [h["epoch"] for h in history][:done + 1] == list(range(1, done + 2))
    assert model.manifest.training["resumed_from_epoch"] == done
    assert model.manifest.model["encoder"]["finetuned"] is True
    assert (output / "encoder" / "tokenizer.json").is_file()
    prediction = model.predict(["I am still waiting on my card"])[0]
    assert prediction["label"] in model.labels


def test_same_seed_same_model_and_local_encoder_folder(tmp_path):
    """A local Hugging Face folder works as --encoder, and a seed reproduces the run exactly."""
    import shutil

    from featureship.nn.encoder import resolve_encoder

    local = tmp_path / "my-encoder"
    shutil.copytree(resolve_encoder(None).path, local)
    frame = banking_subset(5, 12)
    texts = ["I lost my card", "the ATM kept my card"]
    runs = []
    for name in ("a", "b"):
        model = featureship.train("text-classification", data=frame, output=tmp_path / name, mode="head",
                                text_column="text", label_column="category", encoder=str(local), seed=3)
        runs.append(model.predict(texts))
        assert model.manifest.model["encoder"]["name"] == str(local)
        assert model.manifest.seed == 3
    assert runs[0] == runs[1]


def test_evaluate_names_the_trained_column_not_a_flag(text_bundle, tmp_path):
    pd.DataFrame({"message": ["lost card"], "category": ["card_arrival"]}).to_csv(tmp_path / "h.csv", index=False)
    result = runner.invoke(app, ["evaluate", str(text_bundle), "--data", str(tmp_path / "h.csv")])
    assert result.exit_code == 2
    assert "h.csv has no column 'text', the text column the model was trained with" in result.output
    assert "its columns are: message, category" in result.output

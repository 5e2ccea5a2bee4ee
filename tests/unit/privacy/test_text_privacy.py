"""Privacy in the text task: a --redact-pii bundle holds no raw PII anywhere (vocabulary and
embedding cache included) and redacts at inference; DP-SGD spends at most the ε asked for."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import featureship
from featureship.cli import app
from featureship.errors import SettingsError
from featureship.tasks.text_classification import features as feat
from tests.data_sets import banking_subset

PII = ["jo.smith@example.co.uk", "+44 20 7946 0958", "4111 1111 1111 1111", "DE89370400440532013000",
       "203.0.113.42", "https://bob:s3cr3t@files.example.com/x", "536-22-8741"]
# pieces a tokenizer or vocabulary might keep of them
FRAGMENTS = ["jo.smith", "example.co.uk", "7946", "4111", "de89370400440532013000", "0532",
             "203.0.113", "s3cr3t", "536-22", "8741"]


def _with_pii(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for i in range(len(frame)):  # every value several times, so min_df would keep its tokens
        frame.loc[i, "text"] = f"{frame.loc[i, 'text']} contact {PII[i % len(PII)]}"
    return frame


@pytest.fixture(scope="module")
def redacted_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    seen: dict[str, list[str]] = {"tfidf": []}
    original = feat.fit_tfidf

    def spy(texts):
        seen["tfidf"] += list(texts)
        return original(texts)

    out = tmp_path_factory.mktemp("pii") / "intent"
    data = tmp_path_factory.mktemp("data") / "train.csv"
    _with_pii(banking_subset(3, 20)).to_csv(data, index=False)
    feat.fit_tfidf = spy
    try:
        result = CliRunner().invoke(app, ["train", "text-classification", "--data", str(data),
                                          "--text-column", "text", "--label-column", "category",
                                          "--output", str(out), "--mode", "head", "--redact-pii"])
    finally:
        feat.fit_tfidf = original
    assert result.exit_code == 0, result.output
    return out, {"tfidf": seen["tfidf"], "output": result.output}


@pytest.mark.slow
def test_no_raw_pii_in_any_file_of_the_bundle_or_its_cache(redacted_bundle):
    out, seen = redacted_bundle
    files = [p for p in out.rglob("*") if p.is_file()]
    cache = [p for p in out.with_name(out.name + ".run").rglob("*") if p.is_file()]
    assert any("embeddings-" in p.name for p in cache)  # the cache exists and is checked
    for path in files + cache:
        content = path.read_bytes().decode("utf-8", "ignore").lower()
        for value in PII + FRAGMENTS:
            assert value.lower() not in content, f"{value!r} found in {path}"
    assert seen["tfidf"] and all("<" in t for t in seen["tfidf"])  # the vocabulary saw placeholders
    assert not any(v in t for t in seen["tfidf"] for v in PII)
    for value in PII:
        assert value not in seen["output"]  # nor the log / run summary


@pytest.mark.slow
def test_manifest_records_redaction_and_inference_redacts(redacted_bundle):
    out, seen = redacted_bundle
    manifest = json.loads((out / "manifest.json").read_text())
    counts = manifest["privacy"]["pii_redaction"]["counts"]
    assert manifest["settings"]["redact_pii"] is True
    assert sum(counts.values()) == 60 and counts["EMAIL"] == 9 and counts["URL"] == 8
    assert "redacted EMAIL" in seen["output"]  # the run summary shows the counts
    model = featureship.load(out)
    with_pii = model.predict(["I lost my card, write to anna@example.org"])
    assert with_pii == model.predict(["I lost my card, write to <EMAIL>"])


@pytest.mark.slow
def test_predict_and_serve_redact_a_plain_bundle_when_asked(text_bundle: Path):
    from fastapi.testclient import TestClient

    from featureship.serving.app import ServerSettings, create_app

    text, placeholder = "refund to DE89 3704 0044 0532 0130 00 please", "refund to <IBAN> please"
    model = featureship.load(text_bundle)
    assert not model.redacts
    plain = model.predict([text])
    model.redact_pii = True
    assert model.predict([text]) == model.predict([placeholder]) != plain
    api = create_app([text_bundle], ServerSettings(redact_pii=True))
    with TestClient(api) as client:
        answer = client.post(f"/v1/models/{text_bundle.name}/predict", json={"inputs": [text]}).json()
    assert answer["predictions"][0]["scores"] == pytest.approx(model.predict([placeholder])[0]["scores"])


@pytest.mark.slow
def test_dp_head_spends_at_most_the_epsilon_asked(tmp_path: Path):
    data = banking_subset(3, 30)
    model = featureship.train("text-classification", data=data, output=tmp_path / "dp",
                              text_column="text", label_column="category", mode="auto",
                              dp_epsilon=4.0, dp_epochs=10)
    privacy = model.describe().privacy
    assert privacy["mechanism"] == "dp-sgd"
    assert 0 < privacy["epsilon"] <= 4.0
    assert privacy["delta"] == min(1e-5, 1 / (10 * model.describe().data.train_rows))
    assert privacy["noise_multiplier"] > 0 and privacy["max_grad_norm"] == 1.0
    assert "validation split" in privacy["covers"] and "Not covered" in privacy["covers"]
    assert [c.name for c in model.describe().candidates] == ["frozen embedding (DP-SGD)"]
    assert model.tfidf is None and model.train_hashes is None
    assert not (tmp_path / "dp" / "tfidf_vocabulary.json").exists()
    assert 0 <= model.metrics["accuracy"] <= 1  # recorded, on validation
    held_out = model.evaluate(banking_subset(3, 5, skip=40))
    assert held_out["accuracy"] > 1 / 3  # better than chance on rows it never saw


def test_dp_refuses_finetuning_clearly(tmp_path: Path):
    with pytest.raises(SettingsError, match="fine-tuning the encoder under differential privacy is not "
                                            "supported. Use --mode head"):
        featureship.train("text-classification", data=banking_subset(2, 5), output=tmp_path / "x",
                          text_column="text", label_column="category", mode="finetune", dp_epsilon=3.0)


def test_dp_settings_are_validated(tmp_path: Path):
    with pytest.raises(SettingsError, match="dp_epsilon"):
        featureship.train("text-classification", data=banking_subset(2, 5), output=tmp_path / "x",
                          text_column="text", label_column="category", dp_epsilon=-1.0)

"""`featureship export` on a real banking77 intent model: round trip, serving, refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import featureship
from featureship.artifacts import read_manifest
from featureship.cli import app
from featureship.errors import SettingsError
from featureship.export import export_bundle
from featureship.export import onnx_encoder as onnx_module
from featureship.export.bundle import ExportRefused
from featureship.export.onnx_encoder import OnnxTextEncoder
from featureship.serving import ServerSettings, create_app
from tests.data_sets import banking_subset

# One more error in the 150 held-out rows moves macro-F1 by ~0.7 points, so the round trips
# allow a drop of 1.5 (int8 changes a prediction or two, depending on the trained head); the
# 0.5-point default is measured on banking77 in benchmarks/export.py, and a refusal is pinned
# below with a damaged graph.
ALLOWED_DROP = 1.5


@pytest.fixture(scope="module")
def held_out() -> pd.DataFrame:
    return banking_subset(15, 10, skip=40)  # rows the session bundle never saw


@pytest.fixture(scope="module")
def exported(text_bundle: Path, held_out: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "intent-int8"
    export_bundle(text_bundle, out, fmt="onnx", quantize="int8", data=held_out, max_drop=ALLOWED_DROP)
    return out


@pytest.fixture
def fast_exporter(exported: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reuse the module's graph instead of tracing the encoder again (the slow part)."""
    def copy_graph(model, tokenizer, target: Path, quantize) -> None:
        shutil.copyfile(exported / "encoder" / "encoder.onnx", target)

    monkeypatch.setattr(onnx_module, "export_encoder", copy_graph)


def test_the_export_round_trips_and_predicts_like_its_source(exported: Path, text_bundle: Path,
                                                          held_out: pd.DataFrame, tmp_path: Path) -> None:
    manifest = read_manifest(exported)  # every checksum, the graph's included
    assert "encoder/encoder.onnx" in manifest.files
    export = manifest.model_extra["export"]
    assert export["quantize"] == "int8" and export["rows"] == len(held_out)
    assert -export["change_points"] <= ALLOWED_DROP and manifest.metrics["macro_f1"] == export["exported_metrics"]["macro_f1"]
    assert manifest.model["encoder"]["runtime"] == "onnx"
    model, source = featureship.load(exported), featureship.load(text_bundle)
    assert isinstance(model.encoder, OnnxTextEncoder)
    texts = held_out["text"].tolist()
    cosine = (model.features(texts) * source.features(texts)).sum(1)
    assert cosine.min() > 0.95  # int8 moves embeddings a little, not far
    same = np.mean([a["label"] == b["label"] for a, b in zip(model.predict(texts), source.predict(texts), strict=True)])
    assert same >= 0.95
    assert "<h2>Export</h2>" in (exported / "report.html").read_text()
    assert model.reference_profile is not None and "held-out data given to export" in model.reference_profile.source
    again = featureship.save(model, tmp_path / "again")  # a reloaded export saves and loads again
    assert featureship.load(again).predict(texts[:5]) == model.predict(texts[:5])


def test_the_export_serves_through_the_normal_server(exported: Path) -> None:
    model = featureship.load(exported)
    inputs = ["my card has not arrived", "I lost my card"]
    with TestClient(create_app([exported], ServerSettings())) as client:
        response = client.post(f"/v1/models/{exported.name}/predict", json={"inputs": inputs})
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == json.loads(json.dumps(model.predict(inputs)))


def test_an_export_that_loses_more_than_max_drop_is_refused(
        text_bundle: Path, held_out: pd.DataFrame, tmp_path: Path, fast_exporter: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    real_embed = OnnxTextEncoder.embed

    def damaged(self, texts, batch_size=32, on_batch=None):  # a broken graph: noisy embeddings
        clean = real_embed(self, texts, batch_size, on_batch)
        noisy = clean + np.random.default_rng(0).normal(scale=0.08, size=clean.shape)
        return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)

    monkeypatch.setattr(OnnxTextEncoder, "embed", damaged)
    out = tmp_path / "refused"
    with pytest.raises(ExportRefused, match=r"a drop of [0-9.]+ points, more than --max-drop 0.1. Nothing was written"):
        export_bundle(text_bundle, out, quantize="int8", data=held_out, max_drop=0.1)
    assert not out.exists()


def test_export_needs_held_out_data_and_a_known_format(text_bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="Give --data: held-out labelled data"):
        export_bundle(text_bundle, tmp_path / "x", quantize="int8")
    with pytest.raises(SettingsError, match="--format tflite is not supported"):
        export_bundle(text_bundle, tmp_path / "x", fmt="tflite", data=banking_subset(2, 2))
    assert not (tmp_path / "x").exists()


def test_export_cli_writes_the_bundle_and_prints_the_change(
        text_bundle: Path, held_out: pd.DataFrame, tmp_path: Path, fast_exporter: None) -> None:
    data = tmp_path / "holdout.csv"
    held_out.to_csv(data, index=False)
    out = tmp_path / "cli-int8"
    result = CliRunner().invoke(app, ["export", str(text_bundle), "--format", "onnx", "--quantize", "int8",
                                      "--output", str(out), "--data", str(data), "--max-drop", str(ALLOWED_DROP),
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["evaluated_on"] == "holdout.csv"
    assert featureship.load(out).predict(["I lost my card"])[0]["label"]
    refused = CliRunner().invoke(app, ["export", str(text_bundle), "--output", str(out), "--data", str(data)])
    assert refused.exit_code == 2 and "already holds a model bundle" in refused.output

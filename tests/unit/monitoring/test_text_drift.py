"""Drift verdicts of a real banking77 intent model on the three streams of issue 10 (small)."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import featureship
from featureship.cli import app
from featureship.monitoring.live import LiveMonitor
from featureship.monitoring.profile import PROFILE_ARRAYS, PROFILE_META, ReferenceProfile
from featureship.tasks.base import FittedModel
from tests.data_sets import banking_subset, shared_dataset

LEGACY = Path(__file__).parents[2] / "fixtures" / "legacy"


@pytest.fixture(scope="module")
def model(text_bundle: Path) -> FittedModel:
    return featureship.load(text_bundle)


@pytest.fixture(scope="module")
def held_out() -> pd.DataFrame:
    # the session bundle trained on the first 40 rows of each of 15 intents
    return banking_subset(15, 60, skip=40).sample(frac=1.0, random_state=0).reset_index(drop=True)


def _stream(model: FittedModel, texts: list[str], batch: int = 5) -> LiveMonitor:
    monitor = LiveMonitor.for_model(model)
    assert monitor is not None
    for start in range(0, len(texts), batch):
        chunk = texts[start : start + batch]
        monitor.observe(chunk, model.predict(chunk))
    return monitor


def test_the_bundle_keeps_a_profile_of_features_never_texts(model: FittedModel, text_bundle: Path) -> None:
    profile = model.reference_profile
    assert profile is not None and profile.kind == "embedding"
    assert profile.features.shape == (profile.rows, 384) and profile.rows > 50
    assert profile.label_counts.sum() > profile.rows and len(profile.labels) == 15
    assert "validation split" in profile.source
    meta = (text_bundle / PROFILE_META).read_text()
    train_texts = banking_subset(15, 40)["text"]
    assert not any(text in meta for text in train_texts)
    assert {PROFILE_ARRAYS, PROFILE_META} <= set(model.manifest.files)


def test_bundles_without_a_profile_load_and_are_not_monitored(tmp_path: Path) -> None:
    legacy = featureship.load(LEGACY / "text-v1")
    assert legacy.reference_profile is None and LiveMonitor.for_model(legacy) is None
    assert ReferenceProfile.load(tmp_path) is None


def test_held_out_banking_queries_in_20_windows_raise_at_most_one_alarm(
        model: FittedModel, held_out: pd.DataFrame) -> None:
    texts = held_out["text"].tolist()
    size = len(texts) // 20
    verdicts = [_stream(model, texts[w * size : (w + 1) * size]).verdict() for w in range(20)]
    assert all(v["window"] == size and v["tests"] for v in verdicts)
    assert sum(v["drift"] for v in verdicts) <= 1, [v["p_value"] for v in verdicts]


def test_five_intents_only_flag_label_drift(model: FittedModel, held_out: pd.DataFrame) -> None:
    five = held_out[held_out["category"].isin(held_out["category"].unique()[:5])]["text"].tolist()[:60]
    verdict = _stream(model, five).verdict()
    assert verdict["drift"] and verdict["tests"]["predicted_labels"]["drift"]
    assert {"drift", "statistic", "p_value", "window", "tests"} <= set(verdict)


def test_reviews_streamed_one_per_request_are_flagged_within_200(model: FittedModel) -> None:
    reviews = pd.read_csv(shared_dataset("womens-clothing-reviews/reviews.csv"))["Review Text"]
    monitor = LiveMonitor.for_model(model)
    flagged_at = None
    for i, text in enumerate(reviews.dropna().tolist()[:200], start=1):
        monitor.observe([text], model.predict([text]))
        if i % 10 == 0 and monitor.verdict()["drift"]:
            flagged_at = i
            break
    assert flagged_at is not None and flagged_at <= 200
    assert monitor.counts["features_cached"] == flagged_at  # no second encoder pass


def test_observe_is_thread_safe_and_recomputes_only_some_misses(model: FittedModel,
                                                              held_out: pd.DataFrame) -> None:
    texts = held_out["text"].tolist()[:128]
    outputs = model.predict(texts)
    monitor = LiveMonitor.for_model(model, window=1000)
    threads = [threading.Thread(target=lambda k=k: [monitor.observe([texts[i]], [outputs[i]])
                                                    for i in range(k, 128, 4)]) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert monitor.counts["observed"] == 128
    # these single texts were never predicted alone, so the cache misses: 1 in 4 is embedded again
    assert monitor.counts["features_recomputed"] == 32 and monitor.counts["features_skipped"] == 96
    verdict = monitor.verdict()
    assert verdict["tests"]["inputs"]["n_window"] == 32 and verdict["window"] == 128
    assert monitor.verdict() is verdict  # reused until new observations arrive


def test_monitor_cli_gives_the_verdict_and_a_self_contained_report(
        text_bundle: Path, held_out: pd.DataFrame, tmp_path: Path) -> None:
    data = tmp_path / "new.csv"
    five = held_out[held_out["category"].isin(held_out["category"].unique()[:3])]
    five[["text"]].to_csv(data, index=False)
    report = tmp_path / "drift.html"
    result = CliRunner().invoke(app, ["monitor", str(text_bundle), "--data", str(data),
                                      "--output", str(report), "--json"])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["drift"] is True and verdict["window"] == len(five)
    page = report.read_text()
    assert "data:image/png;base64" in page and not re.search(r"src=['\"]https?://", page)
    assert "Predicted labels that moved most" in page


def test_monitor_cli_names_a_missing_text_column(text_bundle: Path, tmp_path: Path) -> None:
    data = tmp_path / "other.csv"
    pd.DataFrame({"body": ["hello"]}).to_csv(data, index=False)
    result = CliRunner().invoke(app, ["monitor", str(text_bundle), "--data", str(data)])
    assert result.exit_code == 2 and "text" in result.output


def test_the_server_reports_drift_from_the_requests_it_served(text_bundle: Path) -> None:
    # The real monitor wired into the real server (serving tests use a fake one): reviews sent
    # to an intent model through /predict turn /drift and the Prometheus gauge to drift.
    from fastapi.testclient import TestClient

    from featureship.serving import ServerSettings, create_app

    reviews = pd.read_csv(shared_dataset("womens-clothing-reviews/reviews.csv"))["Review Text"]
    texts = reviews.dropna().tolist()[:120]
    with TestClient(create_app([text_bundle], ServerSettings())) as client:
        name = text_bundle.name
        for start in range(0, len(texts), 8):
            response = client.post(f"/v1/models/{name}/predict", json={"inputs": texts[start:start + 8]})
            assert response.status_code == 200
        verdict = client.get(f"/v1/models/{name}/drift")
        assert verdict.status_code == 200, verdict.text
        body = verdict.json()
        assert body["drift"] is True and body["window"] >= 100
        assert re.search(rf'featureship_drift\{{model="{name}"\}} 1(\.0)?', client.get("/metrics").text)

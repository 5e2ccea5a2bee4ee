"""--backend ray and --track on a real local Ray cluster (loopback, started once for the module).

Training runs on 300 banking77 rows with short texts, so the module stays within minutes.
"""

from __future__ import annotations

import contextlib
import glob
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import featureship
from featureship.backends import Backend
from featureship.backends.ray_predict import predict_on_ray
from featureship.progress import silent
from tests.data_sets import banking_subset, shared_dataset

FINETUNE = dict(text_column="text", label_column="category", mode="finetune", epochs=2, max_length=32,
                batch_size=16, seed=0)


@pytest.fixture(scope="module")
def ray_cluster():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def subset() -> pd.DataFrame:
    return banking_subset(10, 30)


@pytest.mark.slow
def test_two_ray_workers_train_like_one_local_process(ray_cluster, subset, tmp_path):
    local = featureship.train("text-classification", data=subset, output=tmp_path / "local", **FINETUNE)
    runs = f"sqlite:///{tmp_path / 'runs.db'}"
    remote = featureship.train("text-classification", data=subset, output=tmp_path / "ray", backend="ray",
                               workers=2, track=runs, **FINETUNE)
    ray_training, local_training = remote.describe().training, local.describe().training
    assert ray_training["backend"] == "ray" and ray_training["workers"] == 2
    # the same batches, steps and schedule, gradients averaged over 2 workers: the same curve up to
    # dropout draws and float summation order (60 validation rows: 3 rows = 5 points)
    for mine, theirs in zip(ray_training["history"], local_training["history"], strict=True):
        assert abs(mine["val_accuracy"] - theirs["val_accuracy"]) <= 0.05
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=0.05)
    held_out = banking_subset(10, 5, skip=30)
    assert remote.evaluate(held_out)["accuracy"] >= local.evaluate(held_out)["accuracy"] - 0.06
    loaded = featureship.load(tmp_path / "ray")  # the driver wrote an ordinary bundle
    agree = [a["label"] == b["label"] for a, b in zip(loaded.predict(list(held_out["text"])),
                                                      local.predict(list(held_out["text"])), strict=True)]
    assert sum(agree) / len(agree) >= 0.9
    assert not list((tmp_path / "ray.run" / "ray").glob("*/checkpoint_*"))  # scratch removed

    import mlflow

    client = mlflow.tracking.MlflowClient(tracking_uri=runs)
    run = client.get_run(remote.tracking_run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["mode"] == "finetune" and run.data.tags["featureship.backend"] == "ray"
    assert run.data.metrics["accuracy"] == pytest.approx(remote.metrics["accuracy"])
    epochs = client.get_metric_history(run.info.run_id, "val_accuracy")
    assert [m.step for m in epochs] == [1, 2]
    assert [m.value for m in epochs] == pytest.approx([r["val_accuracy"] for r in ray_training["history"]])


# The residual CNN from scratch on scikit-learn's digit scans (real 8x8 scans, 10 classes).
IMAGE = dict(image_column="image", label_column="digit", mode="scratch", image_size=16, flip=False,
             epochs=8, widths=[16, 32, 64], batch_size=32, patience=10, seed=0)


@pytest.mark.slow
def test_two_ray_workers_train_the_image_cnn_like_one_local_process(ray_cluster, tmp_path):
    from tests.unit.image.digits import digits_frame

    data = digits_frame(30)
    local = featureship.train("image-classification", data=data, output=tmp_path / "local", **IMAGE)
    remote = featureship.train("image-classification", data=data, output=tmp_path / "ray", backend="ray",
                               workers=2, **IMAGE)
    ray_training = remote.describe().training["scratch"]
    local_training = local.describe().training["scratch"]
    assert ray_training["backend"] == "ray" and ray_training["workers"] == 2
    assert len(ray_training["history"]) == len(local_training["history"]) == 8
    # the same batches and augmentation, gradients averaged over 2 workers; batch norm sees each
    # worker's half of a batch, so the curves are close, not equal (60 validation scans: 3 = 5 points)
    for mine, theirs in zip(ray_training["history"], local_training["history"], strict=True):
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=0.1)
    held_out = digits_frame(20, skip=40)
    local_acc, ray_acc = local.evaluate(held_out)["accuracy"], remote.evaluate(held_out)["accuracy"]
    assert local_acc > 0.7 and ray_acc >= local_acc - 0.06, (ray_acc, local_acc)
    loaded = featureship.load(tmp_path / "ray")  # the driver wrote an ordinary bundle
    assert [p["label"] for p in loaded.predict(list(held_out["image"]))] == \
        [p["label"] for p in remote.predict(list(held_out["image"]))]


@contextlib.contextmanager
def killing_a_worker(snapshots: str) -> Iterator[list[int]]:
    """SIGKILL one Ray Train worker (no cleanup, like a lost machine) once a checkpoint of the
    run matching `snapshots` is registered; yields the killed pids (one, once it happened)."""
    import psutil

    killed: list[int] = []

    def kill_after_first_checkpoint() -> None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not killed:
            # the snapshot is written once Ray Train has registered a reported checkpoint
            if glob.glob(snapshots):
                for proc in psutil.process_iter(["pid", "cmdline"]):
                    if (proc.info["cmdline"] or [""])[0].startswith("ray::RayTrainWorker"):
                        proc.kill()
                        killed.append(proc.info["pid"])
                        return
            time.sleep(0.1)

    watcher = threading.Thread(target=kill_after_first_checkpoint, daemon=True)
    watcher.start()
    yield killed
    watcher.join(timeout=5)
    assert killed, "no training worker was found to kill"


@pytest.mark.slow
def test_a_killed_worker_is_survived_from_its_last_checkpoint(ray_cluster, subset, tmp_path):
    out = tmp_path / "model"
    with killing_a_worker(str(out) + ".run/ray/*/checkpoint_manager_snapshot.json"):
        model = featureship.train("text-classification", data=subset, output=out, backend="ray", workers=2,
                                  **{**FINETUNE, "epochs": 3})
    training = model.describe().training
    assert training["resumed_from_epoch"] >= 1  # continued after a reported epoch, not from zero
    assert [row["epoch"] for row in training["history"]] == [1, 2, 3]
    assert model.evaluate(banking_subset(10, 5, skip=30))["accuracy"] > 0.5


# LightGBM on the numeric and categorical columns of real product reviews (no free text).
TABULAR = dict(label_column="Recommended IND", model="lightgbm", seed=0)


def _review_rows(rows: int, skip: int = 0) -> pd.DataFrame:
    frame = pd.read_csv(shared_dataset("womens-clothing-reviews/reviews.csv"))
    return frame.drop(columns=["Title", "Review Text"]).iloc[skip:skip + rows].reset_index(drop=True)


@pytest.mark.slow
def test_two_ray_workers_train_lightgbm_like_one_local_process(ray_cluster, tmp_path):
    data = _review_rows(6000)
    local = featureship.train("tabular", data=data, output=tmp_path / "local", **TABULAR)
    remote = featureship.train("tabular", data=data, output=tmp_path / "ray", backend="ray", workers=2, **TABULAR)
    training = remote.describe().training
    assert training["backend"] == "ray" and training["workers"] == 2 and training["ray_seconds_refit"] > 0
    # the same settings, early-stopped on the same validation rows; each worker bins its own
    # half of the rows, so the trees are close to local ones, not equal
    mine = remote.describe().candidates[0].details["trials"]
    theirs = local.describe().candidates[0].details["trials"]
    assert [t["num_leaves"] for t in mine] == [t["num_leaves"] for t in theirs]
    for a, b in zip(mine, theirs, strict=True):
        assert a["validation_loss"] == pytest.approx(b["validation_loss"], rel=0.05)
    held_out = _review_rows(3000, skip=6000)
    local_acc, ray_acc = local.evaluate(held_out)["accuracy"], remote.evaluate(held_out)["accuracy"]
    assert local_acc > 0.9 and ray_acc >= local_acc - 0.01, (ray_acc, local_acc)
    loaded = featureship.load(tmp_path / "ray")  # the driver wrote an ordinary bundle
    rows = held_out.drop(columns=["Recommended IND"]).head(200).to_dict("records")
    assert loaded.predict(rows) == remote.predict(rows)
    assert "machines" not in (tmp_path / "ray" / "lightgbm.model.txt").read_text()  # no cluster addresses


@pytest.mark.slow
def test_a_killed_lightgbm_worker_resumes_after_the_finished_settings(ray_cluster, tmp_path):
    out = tmp_path / "model"
    with killing_a_worker(str(out) + ".run/ray/lightgbm-search-*/checkpoint_manager_snapshot.json"):
        model = featureship.train("tabular", data=_review_rows(6000), output=out, backend="ray", workers=2,
                                  refit=False, **TABULAR)
    training = model.describe().training
    assert training["settings_resumed"] >= 1  # the settings finished before the loss were kept
    assert len(model.describe().candidates[0].details["trials"]) == 5
    assert model.evaluate(_review_rows(3000, skip=6000))["accuracy"] > 0.9


def test_ray_data_prediction_equals_local_row_for_row(ray_cluster, text_bundle, tmp_path):
    rows = banking_subset(15, 30, skip=40)
    rows.insert(0, "ticket", [f"{i:05d}" for i in range(len(rows))])  # kept as written: zeros stay
    rows.loc[5, "text"] = None  # a blank row stays, without a prediction
    rows.to_csv(tmp_path / "in.csv", index=False)
    local = featureship.load(text_bundle).predict_cli(data=tmp_path / "in.csv")
    summary = predict_on_ray(text_bundle, tmp_path / "in.csv", tmp_path / "out", Backend("ray", workers=2),
                             silent(), batch_size=64)
    shards = sorted((tmp_path / "out").glob("part-*.parquet"))
    assert summary["rows"] == len(rows) and shards
    remote = pd.concat([pd.read_parquet(p) for p in shards], ignore_index=True)
    assert remote["row_id"].tolist() == list(range(len(rows)))
    assert list(remote.columns) == [*local.columns, "row_id"]
    def cells(frame: pd.DataFrame, column: str) -> list:  # missing is missing (None, NaN or null)
        return [None if pd.isna(v) else v for v in frame[column]]

    for column in ["ticket", "text", "category", "prediction"]:
        assert cells(remote, column) == cells(local, column), column
    assert cells(remote, "prediction")[5] is None
    # bf16 on CPUs that have it: a text's score moves in the third decimal with what it is
    # batched (padded) with, locally too; the labels above do not
    assert remote["score"].tolist() == pytest.approx(local["score"].tolist(), abs=5e-3, nan_ok=True)


def test_ray_reads_csv_cells_with_line_breaks_across_blocks(ray_cluster, tmp_path):
    from featureship.backends.ray_predict import _read
    from tests.data_sets import shared_dataset

    reviews = pd.read_csv(shared_dataset("womens-clothing-reviews/reviews.csv"), dtype=str)
    texts = reviews[["Review Text"]].dropna().rename(columns={"Review Text": "text"})
    table = pd.concat([texts] * 5, ignore_index=True)  # ~35 MB: many of Arrow's read blocks
    assert table["text"].str.contains("\n").any()  # line breaks inside quoted cells
    table.to_csv(tmp_path / "reviews.csv", index=False)
    read = _read(ray_cluster, [str(tmp_path / "reviews.csv")], "csv", None).to_pandas()
    assert read["text"].tolist() == table["text"].tolist()


def test_track_writes_a_run_that_search_runs_finds(text_bundle, tmp_path):
    import mlflow
    from typer.testing import CliRunner

    from featureship.cli import app

    banking_subset(5, 20).to_csv(tmp_path / "train.csv", index=False)
    folder = tmp_path / "mlruns"
    result = CliRunner().invoke(app, ["train", "text-classification", "--data", str(tmp_path / "train.csv"),
                                      "--text-column", "text", "--label-column", "category", "--mode", "head",
                                      "--output", str(tmp_path / "m"), "--track", str(folder)])
    assert result.exit_code == 0, result.output
    run_id = result.output.split("MLflow run id:")[1].split()[0]
    mlflow.set_tracking_uri(folder.as_uri())
    try:
        runs = mlflow.search_runs(experiment_names=["featureship"])
    finally:
        mlflow.set_tracking_uri(None)
    assert runs["run_id"].tolist() == [run_id]
    row = runs.iloc[0]
    assert row["status"] == "FINISHED" and row["params.mode"] == "head"
    assert row["metrics.macro_f1"] == pytest.approx(featureship.load(tmp_path / "m").metrics["macro_f1"])
    client = mlflow.tracking.MlflowClient(tracking_uri=folder.as_uri())
    bundle = {Path(f.path).name for f in client.list_artifacts(run_id, "bundle")}
    assert {"manifest.json", "report.html"} <= bundle
    assert "report.html" in {f.path for f in client.list_artifacts(run_id)}

"""Image classification end to end: the CLI (train, evaluate --json, predict), REST uploads as
JSON and multipart through a real uvicorn (413 over --max-image-bytes, 422 for non-images),
and --resume after a run killed past its first checkpoint."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from featureship.artifacts import run_folder
from tests.servers import served
from tests.unit.image.digits import write_digits_folder

FAST = ["--mode", "scratch", "--epochs", "2", "--image-size", "16", "--no-flip"]
MAX_IMAGE_BYTES = 2_000


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "featureship", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"}, timeout=600)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("image-cli")
    folder = write_digits_folder(root / "train", per_class=8)
    done = _cli("train", "image-classification", "--data", str(folder), "--output", str(root / "digits"), *FAST)
    assert done.returncode == 0, done.stderr
    assert "residual CNN from scratch" in done.stderr + done.stdout
    yield root / "digits", root


def test_evaluate_json_and_predict_a_folder_and_a_table(bundle: tuple[Path, Path]) -> None:
    model, root = bundle
    test = write_digits_folder(root / "test", per_class=4, skip=10)
    done = _cli("evaluate", str(model), "--data", str(test), "--json")
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)
    assert 0 <= metrics["accuracy"] <= 1 and 0 <= metrics["macro_f1"] <= 1 and metrics["n"] == 12
    out = root / "folder.csv"
    done = _cli("predict", str(model), "--data", str(test), "--output", str(out))
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["path", "prediction", "score"] and len(frame) == 12
    table = pd.DataFrame({"img": [str(Path(p).relative_to(root)) for p in frame["path"]], "id": range(12)})
    table.to_csv(root / "rows.csv", index=False)
    wrong_column = _cli("predict", str(model), "--data", str(root / "rows.csv"), "--output", str(root / "t.csv"))
    assert wrong_column.returncode == 2 and "'path', the image column" in wrong_column.stderr


def test_rest_json_and_multipart_uploads_and_their_limits(bundle: tuple[Path, Path], tmp_path: Path) -> None:
    model, root = bundle
    image = (root / "train" / "1" / "0.png").read_bytes()
    assert len(image) < MAX_IMAGE_BYTES
    with served([model], tmp_path / "log", "--max-image-bytes", str(MAX_IMAGE_BYTES)) as (url, _):
        with httpx.Client(base_url=url, timeout=120.0) as client:
            as_json = client.post("/v1/models/digits/predict",
                                  json={"inputs": [{"image_base64": base64.b64encode(image).decode()}]})
            assert as_json.status_code == 200, as_json.text
            files = [("files", ("a.png", image, "image/png")), ("files", ("b.png", image, "image/png"))]
            multipart = client.post("/v1/models/digits/predict", files=files)
            assert multipart.status_code == 200, multipart.text
            answers = multipart.json()["predictions"]
            assert len(answers) == 2 and answers[0] == as_json.json()["predictions"][0]

            big = os.urandom(MAX_IMAGE_BYTES + 3)  # JSON checks the base64 length: 3-byte steps
            over = client.post("/v1/models/digits/predict", files=[("files", ("big.png", big, "image/png"))])
            assert over.status_code == 413 and "--max-image-bytes" in over.json()["detail"]
            over_json = client.post("/v1/models/digits/predict",
                                    json={"inputs": [{"image_base64": base64.b64encode(big).decode()}]})
            assert over_json.status_code == 413 and "--max-image-bytes" in over_json.json()["detail"]

            not_image = client.post("/v1/models/digits/predict", json={"inputs": [
                {"image_base64": base64.b64encode(image).decode()},
                {"image_base64": base64.b64encode(b"plain text, not a picture").decode()}]})
            assert not_image.status_code == 422 and "inputs[1]" in not_image.json()["detail"]

            explained = client.post("/v1/models/digits/explain", files=[("files", ("a.png", image, "image/png"))])
            assert explained.status_code == 200, explained.text
            item = explained.json()["explanations"][0]
            assert item["label"] == answers[0]["label"] and item["saliency_png_base64"]
            spec = client.get("/openapi.json").json()["paths"]["/v1/models/digits/predict"]["post"]
            assert {"application/json", "multipart/form-data"} <= set(spec["requestBody"]["content"])


@pytest.mark.slow
def test_resume_after_a_killed_run(tmp_path: Path) -> None:
    folder = write_digits_folder(tmp_path / "train", per_class=12)
    output = tmp_path / "model"
    args = ["train", "image-classification", "--data", str(folder), "--output", str(output),
            "--mode", "scratch", "--epochs", "8", "--image-size", "24", "--no-flip"]
    checkpoint = run_folder(output) / "checkpoints" / "scratch" / "last.json"
    process = subprocess.Popen([sys.executable, "-m", "featureship", *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not checkpoint.is_file() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert process.poll() is None, "the run ended before it could be killed"
        assert checkpoint.is_file(), "no checkpoint after the first epoch"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    epoch_killed = json.loads(checkpoint.read_text())["epoch"]
    assert not (output / "manifest.json").exists()
    done = _cli(*args, "--resume")
    assert done.returncode == 0, done.stderr
    training = json.loads((output / "manifest.json").read_text())["training"]["scratch"]
    assert training["resumed_from_epoch"] >= epoch_killed >= 1
    assert training["history"][0]["epoch"] == 1  # the killed run's epochs are kept


@pytest.mark.slow
def test_digits_from_scratch_scores_well_on_held_out_scans(tmp_path: Path) -> None:
    import featureship
    from tests.unit.image.digits import digits_frame

    model = featureship.train("image-classification", data=digits_frame(50), output=tmp_path / "m",
                              image_column="image", label_column="digit", mode="scratch",
                              image_size=16, flip=False, epochs=15, widths=[16, 32, 64])
    metrics = model.evaluate(digits_frame(25, skip=60))  # other scans of the same classes
    assert metrics["n"] == 250 and metrics["accuracy"] >= 0.9, metrics["accuracy"]

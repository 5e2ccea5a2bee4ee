"""`featureship serve` as a real process: uvicorn on a free port, real HTTP, clean shutdown."""

from __future__ import annotations

import math
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import served

MAX_BATCH = 16


@pytest.fixture
def server(text_bundle: Path, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    log = tmp_path / "server.log"
    with served([text_bundle], log, "--max-batch", str(MAX_BATCH)) as (url, process):
        yield url, process, log


def test_serve_answers_real_http_and_shuts_down_cleanly(
    server: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    url, process, log = server
    with httpx.Client(base_url=url, timeout=60.0) as client:
        assert client.get("/healthz").json() == {"status": "ok", "models": 1}

        response = client.post(
            "/v1/models/intent/predict",
            json={"inputs": ["my new card has not arrived yet", "what exchange rate do you use?"]},
        )
        assert response.status_code == 200, response.text
        assert float(response.headers["x-process-time"]) >= 0
        predictions = response.json()["predictions"]
        assert len(predictions) == 2
        for prediction in predictions:
            assert math.isclose(sum(prediction["scores"].values()), 1.0, abs_tol=1e-4)

        too_many = client.post(
            "/v1/models/intent/predict", json={"inputs": ["hi"] * (MAX_BATCH + 1)}
        )
        assert too_many.status_code == 413 and "--max-batch" in too_many.json()["detail"]
        assert client.get("/healthz").status_code == 200
        assert 'endpoint="predict",model="intent",status="200"} 1.0' in client.get("/metrics").text

    process.terminate()
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells the truth.
    assert process.wait(timeout=20) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in log.read_text()

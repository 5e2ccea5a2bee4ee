"""`featureship serve` as a real process: uvicorn on a free port, real HTTP, clean shutdown."""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

START_DEADLINE_S = 120.0  # loading the encoder on a busy 2-core machine can take a while
MAX_BATCH = 16


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.1)
    pytest.fail(f"server not healthy after {START_DEADLINE_S:.0f} s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def server(
    text_bundle: Path, tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    port = _free_port()
    log = tmp_path / "server.log"
    command = [
        sys.executable, "-m", "featureship", "serve", str(text_bundle),
        "--host", "127.0.0.1", "--port", str(port), "--max-batch", str(MAX_BATCH),
    ]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_healthy(url, process, log)
            yield url, process, log
        finally:
            _stop(process)


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
        assert 'model="intent",endpoint="predict",status="200"} 1' in client.get("/metrics").text

    process.terminate()
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells the truth.
    assert process.wait(timeout=20) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in log.read_text()

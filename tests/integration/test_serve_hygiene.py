"""`featureship serve` as a real uvicorn process: API keys, chunked bodies, graceful SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import served
from tests.unit.serving.test_app import sample

KEY = "integration-key-7f3a9c1e5b2d4f60"
AUTH = {"Authorization": f"Bearer {KEY}"}
MAX_BATCH = 16
PREDICT = "/v1/models/intent/predict"


@pytest.fixture
def server(text_bundle: Path, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    log = tmp_path / "server.log"
    with served([text_bundle], log, "--max-batch", str(MAX_BATCH), "--max-batch-size", "16",
                "--api-key-env", "FS_TEST_KEYS", env={"FS_TEST_KEYS": f"other-key-0000000000,{KEY}"}
                ) as (url, process):
        yield url, process, log


def test_keys_chunked_bodies_and_sigterm_with_requests_in_flight(
    server: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    url, process, log = server
    with httpx.Client(base_url=url, timeout=60.0) as client:
        # API keys: 401 without or with a wrong key, 200 with one; probes stay open
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        for headers in ({}, {"Authorization": "Bearer not-the-key"}):
            refused = client.post(PREDICT, json={"inputs": ["hi"]}, headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")
        assert client.get("/metrics").status_code == 401
        assert client.post(PREDICT, json={"inputs": ["card lost"]}, headers=AUTH).status_code == 200

        # a chunked body (no Content-Length) past the limit is refused while it arrives
        limit = MAX_BATCH * 20_000 * 6 + (1 << 20)  # body_limit.max_body_bytes for these flags
        chunk = b" " * (1 << 16)

        def body() -> Iterator[bytes]:
            for _ in range(limit // len(chunk) + 64):
                yield chunk

        too_big = client.post(PREDICT, content=body(),
                              headers={**AUTH, "Content-Type": "application/json"})
        assert too_big.status_code == 413
        assert "passed" in too_big.json()["detail"]

    # SIGTERM while requests are in flight: every one of them is still answered
    texts = [" ".join(["my card payment was declined at the shop again"] * 12)] * MAX_BATCH
    results: list[tuple[int, float]] = []

    def call() -> None:
        with httpx.Client(base_url=url, timeout=120.0) as own:
            response = own.post(PREDICT, json={"inputs": texts}, headers=AUTH)
            results.append((response.status_code, time.monotonic()))

    callers = [threading.Thread(target=call) for _ in range(6)]
    for caller in callers:
        caller.start()
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=url, timeout=10.0, headers=AUTH) as client:
        while time.monotonic() < deadline:
            in_flight = sample(client.get("/metrics").text, "featureship_requests_in_flight",
                               model="intent", endpoint="predict")
            if in_flight + len(results) >= len(callers):
                break
            time.sleep(0.02)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    for caller in callers:
        caller.join(timeout=120)
    assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    assert [status for status, _ in results] == [200] * len(callers)
    assert any(done > signalled for _, done in results), "no request was in flight at SIGTERM"
    text = log.read_text()
    assert "Application shutdown complete" in text
    assert KEY not in text  # keys are never logged

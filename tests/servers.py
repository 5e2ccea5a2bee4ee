"""`featureship serve` as a real process for tests: a free loopback port, started and stopped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

START_DEADLINE_S = 120.0  # loading an encoder on a busy 2-core machine can take a while


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path, models: int) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            response = httpx.get(f"{url}/healthz", timeout=1.0)
            if response.status_code == 200 and response.json()["models"] == models:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.1)
    pytest.fail(f"server not healthy after {START_DEADLINE_S:.0f} s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def served(bundles: list[Path], log: Path, *flags: str,
           env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run `featureship serve BUNDLES --port FREE FLAGS` until the block ends; yields (url, process)."""
    with running(["serve", *map(str, bundles)], len(bundles), log, *flags, env=env) as started:
        yield started


@contextmanager
def running(arguments: list[str], models: int, log: Path, *flags: str,
            env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`featureship ARGUMENTS --port FREE FLAGS` (serve or console) until the block ends."""
    port = free_port()
    command = [sys.executable, "-m", "featureship", *arguments,
               "--host", "127.0.0.1", "--port", str(port), *flags]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_healthy(url, process, log, models=models)
            yield url, process
        finally:
            stop(process)

"""Serving throughput and latency: the naive server vs `featureship serve`, in one run.

    .venv/bin/python benchmarks/serving.py                        # naive, before, now at c=1,8,32
    .venv/bin/python benchmarks/serving.py --soak-seconds 600     # + reliability at saturation
    .venv/bin/python benchmarks/serving.py --int8                 # + the int8 ONNX export
    .venv/bin/python benchmarks/serving.py --before-src /work/main/src   # the pre-change server

What runs: a text-classification bundle (head mode: MiniLM embeddings + a linear head) is
trained on banking77 (40 queries per intent, the package's copy) into a temporary folder;
then, side by side on free loopback ports, (a) the naive server (benchmarks/naive_server.py:
FastAPI + sentence-transformers fp32 + a linear head, one forward per request), (b)
optionally the server of another source tree (`--before-src`, e.g. main before this change,
run with PYTHONPATH set to it) and (c) `featureship serve` from this tree. Each is loaded by
the same closed-loop client (asyncio + httpx: C callers, each sending its next request when
the last is answered) at each concurrency, bounded by `--seconds` and `--max-requests`, cut
into `--rounds` slices that the servers take in turn (only one is loaded at a time, and a
shared machine's changing load falls on all alike), with one review text
(womens-clothing-reviews, Review Text) per request. Prints req/s, p50 and p99
per server and concurrency, and the ratios to the naive server (and to --before-src).

`--soak-seconds N` then loads `featureship serve` at saturation (concurrency 32) for N
seconds, counting 5xx and transport errors and sampling the server's resident memory; the
growth is measured from the end of a warm-up (the first fifth, at most 60 s) to the end.

The machine is shared and small: compare ratios within one run, not absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REVIEWS = ROOT.parent / "shared" / "datasets" / "womens-clothing-reviews" / "reviews.csv"
sys.path.insert(0, str(ROOT / "src"))


@dataclass
class Run:
    server: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train_bundle(folder: Path) -> Path:
    from featureship.api import train

    # 40 queries of each of the 77 intents: serving speed does not depend on the training
    # size, and the full 10k rows take minutes to embed on a shared 2-core machine.
    frame = pd.read_csv(Path(__import__("featureship").__file__).parent / "datasets" / "banking77.csv")
    data = frame.groupby("category", sort=False).head(40).reset_index(drop=True)
    out = folder / "intent"
    started = time.perf_counter()
    train("text-classification", data=data, output=out, text_column="text",
          label_column="category", mode="head", seed=0)
    print(f"trained {out} (head mode, {len(data)} banking77 rows) in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return out


def export_int8(bundle: Path, folder: Path) -> Path:
    """`featureship export --quantize int8` of the bundle, checked on banking77 rows it never saw."""
    frame = pd.read_csv(Path(__import__("featureship").__file__).parent / "datasets" / "banking77.csv")
    held_out = frame.drop(frame.groupby("category", sort=False).head(40).index)
    data = folder / "held_out.csv"
    held_out.sample(min(1500, len(held_out)), random_state=0).to_csv(data, index=False)
    out = folder / "int8" / "intent"  # the served name stays `intent`
    subprocess.run([sys.executable, "-m", "featureship", "export", str(bundle), "--output", str(out),
                    "--data", str(data), "--quantize", "int8"], check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    return out


def review_texts(limit: int = 2000) -> list[str]:
    frame = pd.read_csv(REVIEWS, usecols=["Review Text"]).dropna()
    texts = [t for t in frame["Review Text"].astype(str) if t.strip()]
    random.Random(0).shuffle(texts)
    return texts[:limit]


def start(kind: str, bundle: Path, log: Path, source: Path | None = None,
          flags: tuple[str, ...] = ()) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
    if kind == "naive":
        command = [sys.executable, str(ROOT / "benchmarks" / "naive_server.py"), str(bundle),
                   "--port", str(port)]
    else:
        env["PYTHONPATH"] = str(source or ROOT / "src")
        command = [sys.executable, "-m", "featureship", "serve", str(bundle), "--port",
                   str(port), *flags]
    sink = log.open("wb")
    process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{kind} server exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).json().get("models") == 1:
                return process, url
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{kind} server did not start:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def closed_loop(url: str, texts: list[str], concurrency: int, seconds: float,
                      max_requests: int, run: Run, on_tick=None) -> None:
    """C callers; each sends one review per request and the next when it is answered."""
    path = "/v1/models/intent/predict"
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    sent = 0
    async with httpx.AsyncClient(base_url=url, timeout=60.0, limits=limits) as client:
        deadline = time.perf_counter() + seconds

        async def caller(offset: int) -> None:
            nonlocal sent
            i = offset
            while time.perf_counter() < deadline and sent < max_requests:
                sent += 1
                text = texts[i % len(texts)]
                i += concurrency
                began = time.perf_counter()
                try:
                    response = await client.post(path, json={"inputs": [text]})
                    status = response.status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                if status == 200:
                    run.latencies.append(time.perf_counter() - began)
                else:
                    run.errors[str(status)] = run.errors.get(str(status), 0) + 1

        async def ticker() -> None:
            while time.perf_counter() < deadline and sent < max_requests:
                await asyncio.sleep(5)
                on_tick()

        began = time.perf_counter()
        tasks = [caller(k) for k in range(concurrency)]
        if on_tick is not None:
            tasks.append(ticker())
        await asyncio.gather(*tasks)
        run.seconds = time.perf_counter() - began


def measure(urls: dict[str, str], texts: list[str], levels: list[int], seconds: float,
            max_requests: int, rounds: int) -> dict[str, list[Run]]:
    """Every server at every level, interleaved: each level is cut into `rounds` slices and the
    servers take turns slice by slice, so the load other users put on a shared machine falls
    on all of them alike (all servers stay up; the idle ones use no CPU)."""
    for url in urls.values():  # warm-up, not counted
        asyncio.run(closed_loop(url, texts[-50:], 2, 30, 20, Run("warm-up", 2)))
    results: dict[str, list[Run]] = {name: [] for name in urls}
    for c in levels:
        runs = {name: Run(name, c) for name in urls}
        for _ in range(rounds):
            for name, url in urls.items():
                part = Run(name, c)
                asyncio.run(closed_loop(url, texts, c, seconds / rounds, max_requests // rounds,
                                        part))
                runs[name].latencies += part.latencies
                runs[name].seconds += part.seconds
                for status, n in part.errors.items():
                    runs[name].errors[status] = runs[name].errors.get(status, 0) + n
        for name, run in runs.items():
            results[name].append(run)
            print(f"  {name:>8} c={c:<3} {run.rps:7.1f} req/s  p50 {run.pct(0.5):7.1f} ms  "
                  f"p99 {run.pct(0.99):7.1f} ms  n={len(run.latencies)} errors={run.errors or 0}",
                  flush=True)
    return results


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def soak(bundle: Path, texts: list[str], seconds: float, folder: Path, flags: tuple[str, ...]) -> dict:
    process, url = start("featureship", bundle, folder / "soak.log", flags=flags)
    samples: list[tuple[float, int]] = []
    began = time.perf_counter()

    def tick() -> None:
        samples.append((time.perf_counter() - began, rss_bytes(process.pid)))

    run = Run("soak", 32)
    try:
        tick()
        asyncio.run(closed_loop(url, texts, 32, seconds, 10**9, run, on_tick=tick))
        tick()
    finally:
        stop(process)
    warm_up = min(60.0, seconds / 5)
    after = [rss for t, rss in samples if t >= warm_up] or [samples[-1][1]]
    growth = (after[-1] - after[0]) / after[0] if after[0] else float("nan")
    five_xx = sum(n for status, n in run.errors.items() if status.startswith("5"))
    return {"seconds": round(run.seconds, 1), "requests": len(run.latencies),
            "req_per_s": round(run.rps, 1), "p50_ms": round(run.pct(0.5), 1),
            "p99_ms": round(run.pct(0.99), 1), "errors": run.errors, "5xx": five_xx,
            "rss_after_warmup_mb": round(after[0] / 2**20, 1),
            "rss_end_mb": round(after[-1] / 2**20, 1),
            "rss_growth_pct": round(100 * growth, 2), "warm_up_s": warm_up}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=20.0, help="per server and concurrency")
    parser.add_argument("--max-requests", type=int, default=3000, help="per server and concurrency")
    parser.add_argument("--rounds", type=int, default=3,
                        help="slices per level; the servers take turns slice by slice")
    parser.add_argument("--before-src", type=Path, default=None,
                        help="a source tree whose `featureship serve` is measured too (e.g. main)")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--int8", action="store_true",
                        help="also serve the bundle's `featureship export --quantize int8`")
    parser.add_argument("--soak-seconds", type=float, default=0.0)
    parser.add_argument("--bundle", type=Path, default=None, help="reuse a trained bundle")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    texts = review_texts()
    flags: tuple[str, ...] = ()
    with tempfile.TemporaryDirectory(prefix="fs-serving-bench-") as tmp:
        folder = Path(tmp)
        bundle = args.bundle or train_bundle(folder)
        servers: list[tuple[str, str, Path | None]] = []
        if not args.skip_naive:
            servers.append(("naive", "naive", None))
        if args.before_src:
            servers.append(("before", "featureship", args.before_src))
        servers.append(("now", "featureship", None))
        bundles = {name: bundle for name, _, _ in servers}
        if args.int8:
            servers.append(("int8", "featureship", None))
            bundles["int8"] = export_int8(bundle, folder)
        processes, urls = [], {}
        try:
            for name, kind, source in servers:
                process, url = start(kind, bundles[name], folder / f"{name}.log", source, flags)
                processes.append(process)
                urls[name] = url
                print(f"{name}: {url} (pid {process.pid})", flush=True)
            results = measure(urls, texts, levels, args.seconds, args.max_requests, args.rounds)
        finally:
            for process in processes:
                stop(process)
        print("\nserver    c     req/s    p50 ms    p99 ms   errors")
        for runs in results.values():
            for run in runs:
                print(f"{run.server:<8} {run.concurrency:>3} {run.rps:9.1f} {run.pct(0.5):9.1f} "
                      f"{run.pct(0.99):9.1f}   {sum(run.errors.values())}")
        ratios = {}
        pairs = [(server, base) for base in ("naive", "before") for server in ("now", "int8")
                 if base in results and server in results]
        for server, base in pairs:
            for now, then in zip(results[server], results[base], strict=True):
                ratios[f"{server}/{base} c={now.concurrency}"] = {
                    "req_per_s": round(now.rps / then.rps, 2) if then.rps else None,
                    "p50": round(now.pct(0.5) / then.pct(0.5), 2),
                    "p99": round(now.pct(0.99) / then.pct(0.99), 2)}
        for key, value in ratios.items():
            print(f"{key:<18} req/s x{value['req_per_s']}  p50 x{value['p50']}  p99 x{value['p99']}")
        report = {"runs": [{"server": r.server, "concurrency": r.concurrency, "req_per_s":
                            round(r.rps, 1), "p50_ms": round(r.pct(0.5), 1), "p99_ms":
                            round(r.pct(0.99), 1), "requests": len(r.latencies),
                            "errors": r.errors} for rs in results.values() for r in rs],
                  "ratios": ratios}
        if args.soak_seconds > 0:
            print(f"\nsoak: featureship serve at concurrency 32 for {args.soak_seconds:.0f} s",
                  flush=True)
            report["soak"] = soak(bundle, texts, args.soak_seconds, folder, flags)
            print(json.dumps(report["soak"], indent=2))
        if args.json:
            args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

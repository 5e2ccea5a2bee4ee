"""Drift monitoring at full scale: a banking77 intent model and the three streams of issue 10.

    .venv/bin/python benchmarks/drift.py [--out /tmp/drift-bench]

banking77 train.csv (../shared/datasets) is split stratified, seed 0: 60% trains a `head`
model (its validation split, 20% of that, gives the drift reference), 40% is held out. Streams,
each through `LiveMonitor` exactly as the server calls it (predict, then observe):
  (a) held-out queries, shuffled, in 20 disjoint windows of 200: alarms raised (target ≤ 1);
  (b) womens-clothing reviews, one per request, verdict every 10 requests: first flagged
      request (target ≤ 200);
  (c) held-out queries of 5 intents only, 200 of them: is label drift flagged?
Also what observing costs: predict per batch, observe with the predict cache (the default
path) and a second encoder pass (what a cache miss would cost), and one verdict.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
sys.path.insert(0, str(ROOT / "src"))

import featureship  # noqa: E402
from featureship.data.splits import stratified_split  # noqa: E402
from featureship.monitoring.live import LiveMonitor  # noqa: E402
from featureship.progress import Reporter  # noqa: E402


def stream(model, texts: list[str], batch: int = 1, every: int | None = None) -> tuple[LiveMonitor, int | None]:
    monitor = LiveMonitor.for_model(model)
    for start in range(0, len(texts), batch):
        chunk = texts[start : start + batch]
        monitor.observe(chunk, model.predict(chunk))
        done = start + len(chunk)
        if every and done >= 30 and done % every == 0 and monitor.verdict()["drift"]:
            return monitor, done
    return monitor, None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("/tmp/featureship-drift-bench"))
    args = parser.parse_args()
    frame = pd.read_csv(DATASETS / "banking77" / "train.csv")
    train, held = stratified_split(frame, "category", 0.4, seed=0)
    held = held.sample(frac=1.0, random_state=0).reset_index(drop=True)
    t0 = time.perf_counter()
    model = featureship.train("text-classification", data=train.reset_index(drop=True), output=args.out / "banking",
                              text_column="text", label_column="category", mode="head", seed=0,
                              overwrite=True, progress=Reporter())
    print(f"trained {model.describe().chosen} on {len(train)} rows in {time.perf_counter() - t0:.0f} s; "
          f"reference: {model.reference_profile.source}")
    results: dict = {"train_rows": len(train), "held_out_rows": len(held)}

    texts = held["text"].tolist()
    windows = []
    for w in range(20):
        monitor, _ = stream(model, texts[w * 200 : (w + 1) * 200], batch=8)
        v = monitor.verdict()
        windows.append({"drift": v["drift"], "p_value": v["p_value"],
                        **{f"p_{k}": t["p_value"] for k, t in v["tests"].items()}})
    results["held_out_windows"] = {"alarms": sum(w["drift"] for w in windows),
                                   "min_p": min(w["p_value"] for w in windows), "windows": windows}
    print(f"(a) held-out banking77, 20 windows of 200: {results['held_out_windows']['alarms']} alarm(s); "
          f"smallest corrected p {results['held_out_windows']['min_p']:.3f}")

    raw = pd.read_csv(DATASETS / "womens-clothing-reviews" / "reviews.csv")
    reviews = raw["Review Text"].dropna().sample(frac=1.0, random_state=0).tolist()[:400]
    monitor, flagged = stream(model, reviews, batch=1, every=10)
    v = monitor.verdict()
    results["reviews"] = {"flagged_at_request": flagged, "p_value": v["p_value"], "test": v.get("test")}
    print(f"(b) reviews one per request: flagged at request {flagged} (p {v['p_value']:.4f}, {v.get('test')})")

    intents = held["category"].drop_duplicates().tolist()[:5]
    five = held[held["category"].isin(intents)]["text"].tolist()[:200]
    monitor, _ = stream(model, five, batch=8)
    v = monitor.verdict()
    results["five_intents"] = {"rows": len(five), "drift": v["drift"],
                               "label_drift": v["tests"]["predicted_labels"]["drift"],
                               "p_labels": v["tests"]["predicted_labels"]["p_value"],
                               "p_inputs": v["tests"]["inputs"]["p_value"]}
    print(f"(c) 5 intents only ({len(five)} queries): label drift {results['five_intents']['label_drift']} "
          f"(p {results['five_intents']['p_labels']:.4f}); inputs p {results['five_intents']['p_inputs']:.4f}")

    cost = {}
    for batch in (1, 32):
        chunk = texts[:batch]
        model.predict(chunk)
        reps = 20 if batch == 1 else 5
        t = time.perf_counter()
        for _ in range(reps):
            out = model.predict(chunk)
        predict_s = (time.perf_counter() - t) / reps
        monitor = LiveMonitor.for_model(model)
        t = time.perf_counter()
        for _ in range(reps):
            monitor.observe(chunk, out)
        cached_s = (time.perf_counter() - t) / reps
        t = time.perf_counter()
        for _ in range(reps):
            model.encoder.embed(chunk)
        second_s = (time.perf_counter() - t) / reps
        cost[batch] = {"predict_ms": 1000 * predict_s, "observe_cached_ms": 1000 * cached_s,
                       "second_pass_ms": 1000 * second_s}
        print(f"batch {batch}: predict {1000 * predict_s:.1f} ms, observe (cache) {1000 * cached_s:.3f} ms "
              f"= {cached_s / predict_s:.2%} of predict; a second encoder pass {1000 * second_s:.1f} ms "
              f"= {second_s / predict_s:.0%}")
    monitor, _ = stream(model, texts[:200], batch=8)
    t = time.perf_counter()
    monitor.verdict()
    cost["verdict_ms_window_200"] = 1000 * (time.perf_counter() - t)
    print(f"one verdict (window 200, reference {model.reference_profile.rows}): {cost['verdict_ms_window_200']:.0f} ms")
    results["cost"] = cost
    (args.out / "drift-results.json").write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()

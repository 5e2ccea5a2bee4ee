"""Scale out on Ray: the local backend vs `--backend ray`, measured side by side in one run.

    PYTHONPATH=src .venv/bin/python benchmarks/scale.py                  # defaults (~35 min, 2 cores)
    PYTHONPATH=src .venv/bin/python benchmarks/scale.py --sizes 2000,8000 --skip-train --texts banking77
    PYTHONPATH=src .venv/bin/python benchmarks/scale.py --skip-train --skip-predict   # LightGBM only (~3 min)
    PYTHONPATH=src .venv/bin/python benchmarks/scale.py --workers 2 --json benchmarks/out/scale.json

What runs, on one local Ray cluster started here (127.0.0.1, `--workers` CPUs, no dashboard):

1. Training (skipped with --skip-train). `featureship.train("text-classification", mode="finetune")`
   on a banking77 subset (20 intents x 30 rows; the task keeps 20% of it for validation), 2 epochs,
   max_length 128 (banking77's texts are short; batches pad to their longest), once with backend="local" (one process, torch on every core) and once with
   backend="ray", workers=N (Ray Train, DDP over gloo, one CPU and one torch thread per worker).
   Reported: wall time of train() (frozen-encoder probe on the driver + fine-tuning), the
   fine-tuning time alone (what the backend changes; on Ray it includes starting the worker
   group and shipping the model through the object store), a no-op TorchTrainer with the same
   workers (Ray Train's fixed start-up/tear-down cost), samples/s overall and per worker, and
   accuracy of both bundles on held-out rows (the next 20 rows of each intent, never trained on)
   plus how often their predictions agree.
2. Tabular boosting (skipped with --skip-tabular): `featureship.train("tabular", model="lightgbm")`
   on womens-clothing-reviews' numeric and categorical columns (label: Recommended IND; free
   text left out), a seeded stratified 80/20 split of the whole table: 80% to train() (which
   keeps 20% of it for validation, searches LightGBM's settings with early stopping and refits
   on all of it), 20% held out. backend="local" (LightGBM's threads) vs backend="ray",
   workers=N (Ray Train's LightGBMTrainer, rows split over the workers, data-parallel trees).
   Reported: wall time, the Ray Train seconds of the search and the refit, validation log-loss
   of every setting, held-out accuracy / log-loss / ROC-AUC, and prediction agreement.
3. Batch prediction at each of --sizes (review texts of womens-clothing-reviews, ~60 words,
   cycled; or banking77's with --texts banking77), text + category passenger column:
   `featureship predict BUNDLE --data in.csv --output out.csv` vs the same with
   `--backend ray --workers N --ray-address <this cluster>`, each as a fresh CLI process (so
   both pay interpreter start, imports and bundle loading; Ray also pays actor start-up).
   Reported: wall time, rows/s, the marginal rows/s between the smallest and largest size
   (fixed costs cancel), the ratio Ray/local, peak RSS of the local process and of each Ray
   prediction actor (psutil, sampled every 0.2 s in a thread), and whether the predictions
   agree row for row (and the largest score difference; bf16 scores move in the 3rd decimal
   with batching).

The machine is small and shared: compare the ratios within one run, not absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from featureship.backends.cluster import _QUIET_ENV  # noqa: E402  (Ray offline, Train v2, as the CLI)
from featureship.demo import banking77  # noqa: E402  (the copy the package ships)

for _key, _value in _QUIET_ENV.items():
    os.environ.setdefault(_key, _value)


# ----- data -------------------------------------------------------------------------------------
def banking_subset(frame: pd.DataFrame, intents: int, per_intent: int, skip: int = 0) -> pd.DataFrame:
    """`per_intent` rows of each of the first `intents` intents after `skip` of each (as tests/data_sets.py)."""
    keep = list(dict.fromkeys(frame["category"]))[:intents]
    grouped = frame[frame["category"].isin(keep)].groupby("category", sort=False)
    return grouped.nth(list(range(skip, skip + per_intent))).reset_index(drop=True)


REVIEWS = ROOT.parent / "shared" / "datasets" / "womens-clothing-reviews" / "reviews.csv"


def review_texts() -> pd.DataFrame:
    """Review-length texts (womens-clothing-reviews, ~60 words each) as a `text` column, with the
    product class kept as a passenger column that the output must carry through unchanged."""
    if not REVIEWS.exists():
        raise SystemExit(f"{REVIEWS} is missing (the shared datasets folder beside the checkout); "
                         "pass --texts banking77 to predict on banking77's short texts instead.")
    raw = pd.read_csv(REVIEWS).dropna(subset=["Review Text"])
    return pd.DataFrame({"text": raw["Review Text"].astype(str), "category": raw["Class Name"].fillna("")})


def prediction_input(frame: pd.DataFrame, rows: int, path: Path) -> Path:
    """`rows` rows of `frame` (cycled when more are asked for than it has), with a ticket id."""
    reps = -(-rows // len(frame))
    table = pd.concat([frame] * reps, ignore_index=True).iloc[:rows][["text", "category"]]
    table.insert(0, "ticket", [f"{i:06d}" for i in range(rows)])
    table.to_csv(path, index=False)
    return path


# ----- memory sampling --------------------------------------------------------------------------
class RssSampler:
    """Peak RSS, sampled every `interval` s, of a local process tree or of Ray prediction actors."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.root_pid: int | None = None
        self.peaks: dict[int, int] = {}
        self.titles: dict[int, str] = {}
        self.tree: set[int] = set()  # every pid seen in root_pid's tree
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            tree: set[int] = set()
            if self.root_pid is not None:
                try:
                    root = psutil.Process(self.root_pid)
                    tree = {root.pid, *(c.pid for c in root.children(recursive=True))}
                    self.tree |= tree
                except psutil.Error:
                    pass
            for proc in psutil.process_iter(["pid", "cmdline"]):
                try:
                    title = " ".join(proc.info["cmdline"] or [])
                    if proc.pid in tree or title.startswith("ray::"):
                        rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                else:
                    if proc.pid in tree or title.startswith("ray::"):
                        self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0), rss)
                        if title.startswith("ray::") and "IDLE" not in title:
                            self.titles[proc.pid] = title
            self._stop.wait(self.interval)

    def tree_peak(self) -> int:
        """Sum over the local tree of each process's peak (one process for `featureship predict`)."""
        return sum(self.peaks.get(p, 0) for p in self.tree)

    def actor_peaks(self) -> list[int]:
        """Peak RSS of every process that was a Ray Data prediction actor while sampled."""
        return [self.peaks[p] for p, t in self.titles.items() if "MapWorker" in t or "BundlePredictor" in t]


def mib(n: float) -> float:
    return round(n / 2**20, 1)


# ----- training ---------------------------------------------------------------------------------
def noop_trainer_seconds(workers: int, storage: Path) -> float:
    """Ray Train's fixed cost: a TorchTrainer (gloo) whose workers only report once."""
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    def noop(config: dict) -> None:
        import ray.train

        ray.train.report({"done": 1.0})

    started = time.monotonic()
    TorchTrainer(noop, torch_config=TorchConfig(backend="gloo"),
                 scaling_config=ScalingConfig(num_workers=workers, use_gpu=False, resources_per_worker={"CPU": 1}),
                 run_config=RunConfig(name="noop", storage_path=str(storage))).fit()
    return time.monotonic() - started


def bench_training(args: argparse.Namespace, frame: pd.DataFrame, work: Path) -> tuple[dict[str, Any], Path]:
    import featureship

    train_rows = banking_subset(frame, args.intents, args.per_intent)
    held_out = banking_subset(frame, args.intents, args.held_out, skip=args.per_intent)
    assert not set(held_out["text"]) & set(train_rows["text"]), "held-out rows overlap the training rows"
    settings = dict(text_column="text", label_column="category", mode="finetune", epochs=args.epochs,
                    max_length=args.max_length, batch_size=16, seed=0)
    runs: dict[str, Any] = {}
    models = {}
    for name, extra in [("local", {"backend": "local"}), ("ray", {"backend": "ray", "workers": args.workers})]:
        print(f"[train] {name} ...", flush=True)
        started = time.monotonic()
        model = featureship.train("text-classification", data=train_rows, output=work / f"bundle-{name}",
                                  **extra, **settings)
        wall = time.monotonic() - started
        manifest = model.describe()
        training, fitted_rows = manifest.training, manifest.data.train_rows
        finetune_s = float(training["seconds"])
        samples = fitted_rows * len(training["history"])
        workers = args.workers if name == "ray" else 1
        runs[name] = {
            "wall_s": round(wall, 1), "finetune_s": round(finetune_s, 1),
            "ray_train_s": training.get("ray_seconds"), "workers": workers,
            "threads_per_worker": 1 if name == "ray" else _torch_threads(),
            "train_rows": fitted_rows, "epochs": len(training["history"]),
            "samples_per_s": round(samples / finetune_s, 2),
            "samples_per_s_per_worker": round(samples / finetune_s / workers, 2),
            "val_accuracy": training["history"][-1]["val_accuracy"],
            "held_out_accuracy": round(model.evaluate(held_out)["accuracy"], 4),
        }
        models[name] = model
        print(f"[train] {name}: {json.dumps(runs[name])}", flush=True)
    print("[train] no-op TorchTrainer ...", flush=True)
    noop_s = noop_trainer_seconds(args.workers, work / "noop")
    ray_run = runs["ray"]
    steady = max(ray_run["finetune_s"] - noop_s, 1e-9)
    ray_run["noop_trainer_s"] = round(noop_s, 1)
    ray_run["samples_per_s_per_worker_after_startup"] = round(
        ray_run["train_rows"] * ray_run["epochs"] / steady / args.workers, 2)
    texts = list(held_out["text"])
    agree = [a["label"] == b["label"] for a, b in zip(models["local"].predict(texts), models["ray"].predict(texts),
                                                      strict=True)]
    result = {
        "local": runs["local"], "ray": ray_run, "held_out_rows": len(held_out),
        "wall_ratio_ray_over_local": round(ray_run["wall_s"] / runs["local"]["wall_s"], 2),
        "finetune_ratio_ray_over_local": round(ray_run["finetune_s"] / runs["local"]["finetune_s"], 2),
        "held_out_accuracy_gap_points": round(100 * (ray_run["held_out_accuracy"] -
                                                     runs["local"]["held_out_accuracy"]), 1),
        "held_out_prediction_agreement": round(sum(agree) / len(agree), 4),
        "settings": settings,
    }
    return result, work / "bundle-local"


def bench_tabular(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from sklearn.model_selection import train_test_split

    import featureship

    frame = pd.read_csv(ROOT.parent / "shared" / "datasets" / "womens-clothing-reviews" / "reviews.csv")
    frame = frame.drop(columns=["Title", "Review Text"])
    label = "Recommended IND"
    fit_rows, held_out = train_test_split(frame, test_size=0.2, stratify=frame[label], random_state=0)
    settings = dict(label_column=label, model="lightgbm", seed=0)
    runs: dict[str, Any] = {}
    models = {}
    for name, extra in [("local", {"backend": "local"}), ("ray", {"backend": "ray", "workers": args.workers})]:
        print(f"[tabular] {name} ...", flush=True)
        started = time.monotonic()
        model = featureship.train("tabular", data=fit_rows, output=work / f"tabular-{name}", **extra, **settings)
        wall = time.monotonic() - started
        manifest = model.describe()
        scores = model.evaluate(held_out)
        candidate = manifest.candidates[0].details
        runs[name] = {"wall_s": round(wall, 1), "train_rows": manifest.data.train_rows,
                      "validation_rows": manifest.data.validation_rows,
                      "ray_search_s": manifest.training.get("ray_seconds_search"),
                      "ray_refit_s": manifest.training.get("ray_seconds_refit"),
                      "chosen_settings": candidate["params"], "rounds": candidate["rounds"],
                      "trials": candidate["trials"],
                      "held_out": {k: round(float(scores[k]), 4) for k in ("accuracy", "macro_f1", "roc_auc", "log_loss")}}
        models[name] = model
        print(f"[tabular] {name}: {json.dumps(runs[name])}", flush=True)
    rows = held_out.drop(columns=[label]).to_dict("records")
    agree = [a["prediction"] == b["prediction"] for a, b in zip(models["local"].predict(rows),
                                                                models["ray"].predict(rows), strict=True)]
    return {"local": runs["local"], "ray": runs["ray"], "held_out_rows": len(held_out),
            "wall_ratio_ray_over_local": round(runs["ray"]["wall_s"] / runs["local"]["wall_s"], 2),
            "held_out_accuracy_gap_points": round(100 * (runs["ray"]["held_out"]["accuracy"]
                                                         - runs["local"]["held_out"]["accuracy"]), 2),
            "held_out_prediction_agreement": round(sum(agree) / len(agree), 4), "settings": settings}


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def head_bundle(frame: pd.DataFrame, args: argparse.Namespace, work: Path) -> Path:
    """--skip-train without --bundle: a quick head-mode bundle to predict with."""
    import featureship

    out = work / "bundle-head"
    featureship.train("text-classification", data=banking_subset(frame, args.intents, args.per_intent),
                      output=out, text_column="text", label_column="category", mode="head",
                      max_length=args.max_length, seed=0)
    return out


# ----- batch prediction -------------------------------------------------------------------------
def run_cli(cli: list[str], log: Path, sampler: RssSampler) -> float:
    """Wall seconds of `python -m featureship CLI...` (a fresh process), its RSS sampled meanwhile."""
    started = time.monotonic()
    with open(log, "w") as handle:
        proc = subprocess.Popen([sys.executable, "-m", "featureship", *cli], stdout=handle, stderr=subprocess.STDOUT)
        sampler.root_pid = proc.pid
        proc.wait()
    wall = time.monotonic() - started
    sampler.root_pid = None
    if proc.returncode != 0:
        raise RuntimeError(f"featureship {' '.join(cli)} failed ({proc.returncode}); see {log}:\n"
                           + log.read_text()[-3000:])
    return wall


def compare(local_csv: Path, ray_dir: Path) -> dict[str, Any]:
    local = pd.read_csv(local_csv, dtype={"ticket": str})
    shards = sorted(ray_dir.glob("part-*.parquet"))
    remote = pd.concat([pd.read_parquet(p) for p in shards], ignore_index=True)
    in_order = remote["row_id"].tolist() == list(range(len(local)))
    same_tickets = remote["ticket"].tolist() == local["ticket"].tolist()
    lp = [None if pd.isna(v) else v for v in local["prediction"]]
    rp = [None if pd.isna(v) else v for v in remote["prediction"]]
    equal = sum(a == b for a, b in zip(lp, rp, strict=True))
    diff = (remote["score"].astype(float) - local["score"].astype(float)).abs().max()
    differ = [i for i, (a, b) in enumerate(zip(lp, rp, strict=True)) if a != b]
    examples = [{"row": i, "text": local["text"][i], "local": [lp[i], float(local["score"][i])],
                 "ray": [rp[i], float(remote["score"][i])]} for i in differ[:5]]
    return {"rows_local": len(local), "rows_ray": len(remote), "shards": len(shards), "in_order": in_order,
            "tickets_match": same_tickets, "predictions_equal": equal,
            "predictions_equal_fraction": round(equal / len(local), 5), "max_score_diff": float(diff),
            "differing_rows": examples}


def bench_prediction(args: argparse.Namespace, frame: pd.DataFrame, bundle: Path, work: Path,
                     address: str) -> dict[str, Any]:
    rows_out = []
    words = frame["text"].str.split().str.len()
    print(f"[predict] {args.texts} texts: {len(frame):,} distinct, {words.mean():.0f} words on average", flush=True)
    for size in args.sizes:
        data = prediction_input(frame, size, work / f"in-{size}.csv")
        row: dict[str, Any] = {"rows": size}
        with RssSampler() as sampler:
            wall = run_cli(["predict", str(bundle), "--data", str(data), "--output",
                                  str(work / f"out-{size}.csv")], work / f"local-{size}.log", sampler)
        row["local"] = {"wall_s": round(wall, 2), "rows_per_s": round(size / wall, 1),
                        "peak_rss_mib": mib(sampler.tree_peak())}
        print(f"[predict] {size} local: {json.dumps(row['local'])}", flush=True)
        with RssSampler() as sampler:
            wall = run_cli(["predict", str(bundle), "--data", str(data), "--output",
                                  str(work / f"out-{size}-ray"), "--backend", "ray",
                                  "--workers", str(args.workers), "--ray-address", address],
                                 work / f"ray-{size}.log", sampler)
        actors = sampler.actor_peaks()
        row["ray"] = {"wall_s": round(wall, 2), "rows_per_s": round(size / wall, 1),
                      "rows_per_s_per_worker": round(size / wall / args.workers, 1),
                      "actors_seen": len(actors),
                      "peak_rss_per_actor_mib": [mib(a) for a in sorted(actors, reverse=True)],
                      "driver_peak_rss_mib": mib(sampler.tree_peak())}
        row["ratio_rows_per_s_ray_over_local"] = round(row["ray"]["rows_per_s"] / row["local"]["rows_per_s"], 2)
        row["agreement"] = compare(work / f"out-{size}.csv", work / f"out-{size}-ray")
        print(f"[predict] {size} ray: {json.dumps(row['ray'])}; {json.dumps(row['agreement'])}", flush=True)
        rows_out.append(row)
    result: dict[str, Any] = {"bundle": bundle.name, "texts": args.texts, "distinct_texts": len(frame),
                              "mean_words": round(float(words.mean()), 1), "sizes": rows_out}
    if len(rows_out) >= 2:  # fixed costs (start-up, loading) cancel in the difference
        small, big = rows_out[0], rows_out[-1]
        extra = big["rows"] - small["rows"]
        gaps = {k: big[k]["wall_s"] - small[k]["wall_s"] for k in ("local", "ray")}
        if extra > 0 and min(gaps.values()) > 0:  # else the sizes are too close for the noise
            marginal = {k: round(extra / gaps[k], 1) for k in gaps}
            fixed = {k: round(small[k]["wall_s"] - small["rows"] / marginal[k], 1) for k in gaps}
            result["marginal_rows_per_s"] = marginal
            result["marginal_rows_per_s_per_ray_worker"] = round(marginal["ray"] / args.workers, 1)
            result["marginal_ratio_ray_over_local"] = round(marginal["ray"] / marginal["local"], 2)
            result["fixed_cost_s"] = fixed
    return result


# ----- report -----------------------------------------------------------------------------------
def summary(results: dict[str, Any], workers: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 150))  # a wide table, also when piped to a log
    train = results.get("training")
    if train:
        table = Table(title=f"Fine-tuning: local vs Ray ({workers} workers), {train['local']['train_rows']} "
                            f"training rows x {train['local']['epochs']} epoch(s)")
        for col in ("backend", "train() wall s", "fine-tune s", "samples/s", "samples/s/worker",
                    "held-out acc"):
            table.add_column(col, justify="right")
        for name in ("local", "ray"):
            r = train[name]
            label = (f"local (1 proc, {r['threads_per_worker']} threads)" if name == "local"
                     else f"ray ({r['workers']} x 1 thread)")
            table.add_row(label, f"{r['wall_s']:.1f}", f"{r['finetune_s']:.1f}", f"{r['samples_per_s']:.2f}",
                          f"{r['samples_per_s_per_worker']:.2f}", f"{r['held_out_accuracy']:.3f}")
        table.add_row("ratio ray/local", f"{train['wall_ratio_ray_over_local']:.2f}",
                      f"{train['finetune_ratio_ray_over_local']:.2f}", "", "",
                      f"{train['held_out_accuracy_gap_points']:+.1f} pts")
        console.print(table)
        ray = train["ray"]
        console.print(f"no-op TorchTrainer ({workers} workers): {ray['noop_trainer_s']:.1f} s; per Ray worker "
                      f"after that start-up: {ray['samples_per_s_per_worker_after_startup']:.2f} samples/s; "
                      f"held-out predictions agree on {100 * train['held_out_prediction_agreement']:.1f}% "
                      f"of {train['held_out_rows']} rows")
    tab = results.get("tabular")
    if tab:
        table = Table(title=f"LightGBM: local vs Ray ({workers} workers), {tab['local']['train_rows']:,} training "
                            f"rows, {tab['held_out_rows']:,} held out")
        for col in ("backend", "train() wall s", "Ray search s", "Ray refit s", "settings (leaves) / rounds",
                    "validation loss per setting", "held-out acc", "held-out log-loss", "ROC-AUC"):
            table.add_column(col, justify="right")
        for name in ("local", "ray"):
            r = tab[name]
            table.add_row(name, f"{r['wall_s']:.1f}", str(r["ray_search_s"] or "–"), str(r["ray_refit_s"] or "–"),
                          f"{r['chosen_settings']['num_leaves']} / {r['rounds']}",
                          " ".join(f"{t['validation_loss']:.4f}" for t in r["trials"]),
                          f"{r['held_out']['accuracy']:.4f}", f"{r['held_out']['log_loss']:.4f}",
                          f"{r['held_out']['roc_auc']:.4f}")
        table.add_row("ray - local", f"x{tab['wall_ratio_ray_over_local']:.2f}", "", "", "", "",
                      f"{tab['held_out_accuracy_gap_points']:+.2f} pts", "", "")
        console.print(table)
        console.print(f"held-out predictions agree on {100 * tab['held_out_prediction_agreement']:.2f}% "
                      f"of {tab['held_out_rows']:,} rows")
    pred = results.get("prediction")
    if pred:
        table = Table(title=f"Batch prediction: `featureship predict` local vs --backend ray --workers {workers}")
        for col in ("rows", "local s", "local rows/s", "ray s", "ray rows/s", "ray/local", "local RSS MiB",
                    "RSS per actor MiB", "predictions equal"):
            table.add_column(col, justify="right")
        for row in pred["sizes"]:
            agree = row["agreement"]
            table.add_row(f"{row['rows']:,}", f"{row['local']['wall_s']:.1f}", f"{row['local']['rows_per_s']:.0f}",
                          f"{row['ray']['wall_s']:.1f}", f"{row['ray']['rows_per_s']:.0f}",
                          f"{row['ratio_rows_per_s_ray_over_local']:.2f}", f"{row['local']['peak_rss_mib']:.0f}",
                          ", ".join(f"{m:.0f}" for m in row["ray"]["peak_rss_per_actor_mib"]),
                          f"{agree['predictions_equal']}/{agree['rows_local']}")
        if "marginal_rows_per_s" in pred:
            m = pred["marginal_rows_per_s"]
            table.add_row("marginal", "", f"{m['local']:.0f}", "", f"{m['ray']:.0f}",
                          f"{pred['marginal_ratio_ray_over_local']:.2f}", "", "", "")
        console.print(table)
        if "fixed_cost_s" in pred:
            console.print(f"fixed cost per command (start, imports, loading; from the line through the sizes): "
                          f"local {pred['fixed_cost_s']['local']:.1f} s, ray {pred['fixed_cost_s']['ray']:.1f} s; "
                          f"marginal rows/s per Ray actor {pred['marginal_rows_per_s_per_ray_worker']:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,30000,100000", help="prediction input sizes, comma-separated rows")
    parser.add_argument("--workers", type=int, default=2, help="Ray training workers and prediction actors")
    parser.add_argument("--skip-train", action="store_true", help="no fine-tuning part")
    parser.add_argument("--skip-tabular", action="store_true", help="no LightGBM part")
    parser.add_argument("--skip-predict", action="store_true", help="no batch-prediction part")
    parser.add_argument("--bundle", type=Path, help="with --skip-train: predict with this bundle")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / "scale.json")
    parser.add_argument("--intents", type=int, default=20)
    parser.add_argument("--per-intent", type=int, default=30, help="training rows per intent")
    parser.add_argument("--held-out", type=int, default=20, help="held-out rows per intent (after the training rows)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=128, help="tokens per text, training and prediction")
    parser.add_argument("--texts", choices=("reviews", "banking77"), default="reviews",
                        help="what batch prediction scores: review-length texts, or banking77's short ones")
    parser.add_argument("--keep", type=Path, help="keep bundles, inputs and outputs in this (new) folder")
    args = parser.parse_args()
    args.sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())

    import ray
    import torch

    work = args.keep or Path(tempfile.mkdtemp(prefix="featureship-scale-"))
    work.mkdir(parents=True, exist_ok=args.keep is None)
    frame = banking77()
    started = time.monotonic()
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "torch": torch.__version__, "ray": ray.__version__, "torch_threads_local": torch.get_num_threads()},
        "workers": args.workers, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": " ".join(["benchmarks/scale.py", *sys.argv[1:]]),
    }
    ray.init(num_cpus=args.workers, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        address = ray.get_runtime_context().gcs_address
        if not args.skip_train:
            results["training"], bundle = bench_training(args, frame, work)
        if not args.skip_tabular:
            results["tabular"] = bench_tabular(args, work)
        if not args.skip_predict:
            if args.skip_train:
                bundle = args.bundle or head_bundle(frame, args, work)
            texts = review_texts() if args.texts == "reviews" else frame
            results["prediction"] = bench_prediction(args, texts, bundle, work, address)
    finally:
        ray.shutdown()
        if args.keep is None:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    results["total_s"] = round(time.monotonic() - started, 1)
    summary(results, args.workers)
    print(f"total {results['total_s']:.0f} s", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

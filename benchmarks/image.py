"""Image benchmark: featureship vs an SVC baseline (scikit-learn) on the same split, in one run.

    PYTHONPATH=src python benchmarks/image.py [--full] [--threads 1]

- digits (scikit-learn, 1,797 8x8 scans): stratified 80/20 split, seed 0; target ≥ 98.5 %.
- Fashion-MNIST, 4,000 training images (stratified sample of the official train set), scored
  on the official 10,000-image test set; target ≥ 85 % trained in ≤ 3 minutes.
- Fashion-MNIST, all 60,000 (`--full`), official test set; target ≥ 93 % in ≤ 15 minutes.
- 10 images per class (Fashion-MNIST): pretrained EfficientNet-Lite0 head vs the CNN from
  scratch; the backbone should win.
Timings on a shared machine are noisy: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

import featureship

VERBOSE = False
FASHION = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "fashion-mnist"


def _idx(path: Path) -> np.ndarray:
    raw = gzip.open(path).read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion(split: str) -> tuple[np.ndarray, np.ndarray]:
    prefix = "train" if split == "train" else "t10k"
    return _idx(FASHION / f"{prefix}-images-idx3-ubyte.gz"), _idx(FASHION / f"{prefix}-labels-idx1-ubyte.gz")


def _frame(images: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"image": list(images), "label": [str(v) for v in labels]})


def _svc(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> dict:
    t0 = time.monotonic()
    model = SVC(C=10, gamma="scale").fit(x_train.reshape(len(x_train), -1) / 255.0, y_train)
    seconds = time.monotonic() - t0
    t0 = time.monotonic()
    accuracy = float((model.predict(x_test.reshape(len(x_test), -1) / 255.0) == y_test).mean())
    return {"accuracy": accuracy, "train_s": seconds, "images_per_s": len(x_test) / (time.monotonic() - t0)}


def _featureship(x_train, y_train, x_test, y_test, out: Path, **settings) -> dict:
    t0 = time.monotonic()
    from featureship.progress import Reporter

    model = featureship.train("image-classification", data=_frame(x_train, y_train), output=out,
                              image_column="image", label_column="label", overwrite=True,
                              progress=Reporter() if VERBOSE else None, **settings)
    seconds = time.monotonic() - t0
    t0 = time.monotonic()
    metrics = model.evaluate(_frame(x_test, y_test))
    manifest = model.describe()
    trained = [v for v in manifest.training.values() if isinstance(v, dict) and "planned_epochs" in v]
    network = trained[-1] if trained else {}
    return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "train_s": seconds,
            "images_per_s": len(x_test) / (time.monotonic() - t0), "chosen": manifest.chosen,
            "training": {k: network[k] for k in ("planned_epochs", "best_epoch", "stopped", "precision")
                         if k in network}}


def _row(name: str, ours: dict, svc: dict | None, target: str, **extra) -> dict:
    row = {"benchmark": name, "featureship_accuracy": round(ours["accuracy"], 4),
           "featureship_train_s": round(ours["train_s"], 1),
           "featureship_images_per_s": round(ours["images_per_s"], 1), "chosen": ours.get("chosen"),
           "training": ours.get("training"),
           "target": target, **extra}
    if svc is not None:
        row.update({"svc_accuracy": round(svc["accuracy"], 4), "svc_train_s": round(svc["train_s"], 1),
                    "svc_images_per_s": round(svc["images_per_s"], 1),
                    "accuracy_ratio": round(ours["accuracy"] / svc["accuracy"], 4),
                    "train_time_ratio": round(ours["train_s"] / max(svc["train_s"], 1e-6), 2)})
    print(json.dumps(row), flush=True)
    return row


def digits(root: Path) -> dict:
    from sklearn.datasets import load_digits

    d = load_digits()
    images = (d.images * (255 / 16)).round().clip(0, 255).astype(np.uint8)
    tr, te = train_test_split(np.arange(len(images)), test_size=0.2, stratify=d.target, random_state=0)
    ours = _featureship(images[tr], d.target[tr], images[te], d.target[te], root / "digits",
                        mode="scratch", image_size=16, flip=False, epochs=40, patience=8,
                        rotation_degrees=8.0)
    svc = _svc(images[tr], d.target[tr], images[te], d.target[te])
    return _row("digits (80/20, seed 0)", ours, svc, "≥ 0.985")


def fashion_subset(root: Path, n: int = 4000) -> dict:
    x, y = fashion("train")
    xt, yt = fashion("test")
    keep, _ = train_test_split(np.arange(len(x)), train_size=n, stratify=y, random_state=0)
    ours = _featureship(x[keep], y[keep], xt, yt, root / "fashion4k", mode="scratch", image_size=28,
                        widths=[16, 32, 64], epochs=25, time_budget_minutes=2.5, patience=6,
                        crop_scale=0.9, rotation_degrees=5.0)
    svc = _svc(x[keep], y[keep], xt, yt)
    return _row(f"Fashion-MNIST {n:,} train → official test", ours, svc, "≥ 0.85 in ≤ 180 s")


def fashion_full(root: Path) -> dict:
    x, y = fashion("train")
    xt, yt = fashion("test")
    ours = _featureship(x, y, xt, yt, root / "fashion60k", mode="scratch", image_size=28,
                        widths=[32, 64, 128], epochs=30, time_budget_minutes=14.0, batch_size=128,
                        crop_scale=0.9, rotation_degrees=5.0, validation_fraction=0.1)
    return _row("Fashion-MNIST 60,000 train → official test", ours, None, "≥ 0.93 in ≤ 900 s")


def few_shot(root: Path, per_class: int = 10) -> dict:
    x, y = fashion("train")
    xt, yt = fashion("test")
    keep = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(10)])
    test = np.concatenate([np.flatnonzero(yt == c)[:100] for c in range(10)])
    pretrained = _featureship(x[keep], y[keep], xt[test], yt[test], root / "few-head", mode="head",
                              image_size=96, validation_fraction=0.2)
    scratch = _featureship(x[keep], y[keep], xt[test], yt[test], root / "few-cnn", mode="scratch",
                           image_size=28, epochs=60, patience=15)
    row = _row(f"{per_class} images per class (Fashion-MNIST, 1,000 test)", pretrained, None,
               "pretrained beats scratch", scratch_accuracy=round(scratch["accuracy"], 4),
               scratch_train_s=round(scratch["train_s"], 1),
               pretrained_over_scratch=round(pretrained["accuracy"] / max(scratch["accuracy"], 1e-9), 3))
    return row


def run(full: bool = False, threads: int | None = None, only: list[str] | None = None) -> list[dict]:
    """Every image benchmark row (dicts, also printed as JSON lines)."""
    if threads:
        torch.set_num_threads(threads)
    steps = {"digits": digits, "fashion4k": fashion_subset, "fewshot": few_shot}
    if full:
        steps["fashion60k"] = fashion_full
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, step in steps.items():
            if only and name not in only:
                continue
            rows.append(step(Path(tmp)))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="Also train on all 60,000 Fashion-MNIST images.")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (1 on a crowded machine).")
    parser.add_argument("--only", nargs="*", help="digits fashion4k fewshot fashion60k")
    parser.add_argument("--verbose", action="store_true", help="Show training progress on stderr.")
    args = parser.parse_args()
    VERBOSE = args.verbose
    results = run(args.full or bool(args.only and "fashion60k" in args.only), args.threads, args.only)
    json.dump(results, sys.stdout, indent=2)
    print()

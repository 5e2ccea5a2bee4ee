"""Faithfulness of featureship's text explanations: ERASER-style deletion on banking77.

    .venv/bin/python benchmarks/explain.py --modes head,finetune --finetune-epochs 1
    .venv/bin/python benchmarks/explain.py --modes auto            # the default (may fine-tune)

Data: the banking77 copy the package ships, cut stratified with seed 0 into 64% train, 16%
validation (featureship's --validation) and 20% test, as benchmarks/text_classification.py
does. Each model is trained on train, then explains `--texts` test queries (seeded sample,
queries of at least 4 words). For k = 1, 2, 3 it deletes the k highest-attributed words, and
k random words (5 draws), and reports the mean drop of the predicted class's probability for
both, their ratio (target: >= 2 at k = 2), sufficiency (keep only those k words) and ERASER's
AOPC comprehensiveness and sufficiency. Baseline (random deletion) and explainer are scored
in the same run on the same texts; only ratios and probability drops are compared.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import featureship  # noqa: E402
from featureship.data.splits import stratified_split  # noqa: E402
from featureship.explain.faithfulness import Attributed, deletion_scores  # noqa: E402
from featureship.progress import Reporter  # noqa: E402
from featureship.tasks.text_classification.explanations import explain_words  # noqa: E402

BANKING77 = ROOT / "src" / "featureship" / "datasets" / "banking77.csv"


def split() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(BANKING77)
    rest, test = stratified_split(frame, "category", 0.2, seed=0)
    train, valid = stratified_split(rest.reset_index(drop=True), "category", 0.2, seed=0)
    return train.reset_index(drop=True), valid.reset_index(drop=True), test.reset_index(drop=True)


def bundle(mode: str, epochs: int | None, folder: Path, train: pd.DataFrame, valid: pd.DataFrame) -> tuple[Path, float]:
    name = (mode if epochs is None else f"{mode}-{epochs}ep") + (f"-{len(train)}rows" if len(train) < 6402 else "")
    out = folder / name
    if (out / "manifest.json").is_file():  # reuse a bundle of an earlier run of this script
        return out, 0.0
    settings = {"text_column": "text", "label_column": "category", "mode": mode, "seed": 0}
    if epochs is not None:
        settings["epochs"] = epochs
    t0 = time.monotonic()
    featureship.train("text-classification", data=train, validation=valid, output=out,
                      progress=Reporter(), overwrite=True, **settings)
    return out, time.monotonic() - t0


def measure(path: Path, texts: list[str], labels: list[str], draws: int) -> dict:
    model = featureship.load(path)
    t0 = time.monotonic()
    explained = explain_words(model, texts)
    seconds = time.monotonic() - t0
    items = [Attributed(e.text, e.words, e.weights, e.target, e.probability) for e in explained]
    scores = deletion_scores(model.probabilities, items, ks=(1, 2, 3), random_draws=draws, seed=0)
    # completeness error of integrated gradients relative to the score change it explains
    relative = [abs(e.ig_delta) / max(abs(e.weights.sum()), 1e-6) for e in explained]
    accuracy = float(np.mean([model.classes[e.target] == t for e, t in zip(explained, labels, strict=True)]))
    return {"model": model.describe().chosen, "kind": model.kind, "accuracy_on_sample": accuracy,
            "explain_s_per_text": seconds / len(texts), "ig_relative_delta_max": float(max(relative)),
            **scores}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modes", default="head,auto")
    parser.add_argument("--finetune-epochs", type=int, default=None,
                        help="epochs for --modes finetune (default: featureship's)")
    parser.add_argument("--texts", type=int, default=200, help="test queries explained")
    parser.add_argument("--draws", type=int, default=5, help="random deletions per text and k")
    parser.add_argument("--train-per-class", type=int, default=None,
                        help="train on at most this many rows per intent (validation: a quarter)")
    parser.add_argument("--bundles", type=Path, default=ROOT / "benchmarks" / "out" / "explain-bundles")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / "explain.json")
    args = parser.parse_args()
    train, valid, test = split()
    if args.train_per_class:  # a smaller model when the machine cannot fine-tune on all of it
        train = train.groupby("category").head(args.train_per_class).reset_index(drop=True)
        valid = valid.groupby("category").head(max(args.train_per_class // 4, 2)).reset_index(drop=True)
    long_enough = test[test["text"].str.split().str.len() >= 4]
    sample = long_enough.sample(n=min(args.texts, len(long_enough)), random_state=0)
    texts = sample["text"].tolist()
    console = Console()
    results = {}
    for mode in args.modes.split(","):
        epochs = args.finetune_epochs if mode == "finetune" else None
        path, train_s = bundle(mode, epochs, args.bundles, train, valid)
        result = measure(path, texts, sample["category"].tolist(), args.draws)
        result["train_s"] = train_s
        result["train_rows"] = len(train)
        results[mode if epochs is None else f"{mode} ({epochs} epochs)"] = result
        console.print(f"{mode}: {json.dumps(result, indent=1)}")
    table = Table(title=f"banking77: deletion faithfulness on {len(texts)} held-out queries")
    for column in ("model", "k", "top-k drop", "random-k drop", "ratio", "sufficiency top-k",
                   "sufficiency random-k"):
        table.add_column(column)
    for name, r in results.items():
        for k in (1, 2, 3):
            table.add_row(f"{name}: {r['model']}", str(k), f"{r[f'top{k}_drop']:.4f}",
                          f"{r[f'random{k}_drop']:.4f}", f"{r[f'top{k}_over_random']:.2f}x",
                          f"{r[f'top{k}_sufficiency']:.4f}", f"{r[f'random{k}_sufficiency']:.4f}")
    console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""Text classification: TF-IDF + logistic regression baseline vs featureship, in one process.

    .venv/bin/python benchmarks/text_classification.py                      # everything
    .venv/bin/python benchmarks/text_classification.py --datasets banking77 --modes baseline,finetune

Data (../shared/datasets): (a) banking77 train.csv; (b) womens-clothing-reviews, label
`Recommended IND`, text = Title + Review Text. Each is cut three ways, stratified, seed 0:
64% train, 16% validation, 20% test. featureship trains on train and gets the validation
part as --validation (it chooses the candidate, the epoch and the blend weight there); the
baseline, TF-IDF + logistic regression, fits on train and has its C chosen on the same
validation part. Both are scored once, on test, which no choice ever saw. Prints accuracy,
macro-F1, training wall time, prediction throughput (texts/s), and ratios to the baseline;
also the machine's measured bf16/fp32 matmul peak and the encoder's ceiling.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
from rich.console import Console
from rich.table import Table
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
sys.path.insert(0, str(ROOT / "src"))

import featureship  # noqa: E402
from featureship.data.splits import stratified_split  # noqa: E402
from featureship.progress import Reporter  # noqa: E402

MINILM_GFLOP_PER_80_TOKENS = 1.8  # forward cost of one 80-token text (from the profile)


BASELINE_C = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)  # tried on validation


def load(name: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    if name == "banking77":
        frame = pd.read_csv(DATASETS / "banking77" / "train.csv")
    else:
        raw = pd.read_csv(DATASETS / "womens-clothing-reviews" / "reviews.csv")
        text = (raw["Title"].fillna("") + ". " + raw["Review Text"].fillna("")).str.strip(" .")
        frame = pd.DataFrame({"text": text, "category": raw["Recommended IND"].astype(str)})
        frame = frame[frame["text"].str.len() > 0].reset_index(drop=True)
    rest, test = stratified_split(frame, "category", 0.2, seed=0)
    rest = rest.reset_index(drop=True)
    train, valid = stratified_split(rest, "category", 0.2, seed=0)
    return (train.reset_index(drop=True), valid.reset_index(drop=True),
            test.reset_index(drop=True))


def baseline(train: pd.DataFrame, valid: pd.DataFrame, test: pd.DataFrame) -> dict:
    """TF-IDF + LR with C chosen on validation macro-F1, scored on test."""
    t0 = time.perf_counter()
    best = None
    for c in BASELINE_C:
        pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                             LogisticRegression(C=c, max_iter=3000))
        pipe.fit(train["text"], train["category"])
        score = f1_score(valid["category"], pipe.predict(valid["text"]), average="macro")
        if best is None or score > best[0]:
            best = (score, c, pipe)
    seconds = time.perf_counter() - t0
    _, c, pipe = best
    t0 = time.perf_counter()
    pred = pipe.predict(test["text"])
    rate = len(test) / (time.perf_counter() - t0)
    return {"accuracy": accuracy_score(test["category"], pred),
            "macro_f1": f1_score(test["category"], pred, average="macro"),
            "train_s": seconds, "texts_per_s": rate, "chosen": f"C={c}",
            "valid_macro_f1": best[0]}


def run_featureship(train: pd.DataFrame, valid: pd.DataFrame, test: pd.DataFrame, mode: str,
                    workdir: Path, epochs: int | None) -> dict:
    out = workdir / f"model-{mode}"
    t0 = time.perf_counter()
    featureship.train("text-classification", data=train, validation=valid, output=out,
                            progress=Reporter(), text_column="text", label_column="category",
                            mode=mode, seed=0, epochs=epochs)
    seconds = time.perf_counter() - t0
    loaded = featureship.load(out)  # measure the served path: a bundle loaded from disk
    texts = test["text"].tolist()
    loaded.predict(texts[:64])  # warm-up
    t0 = time.perf_counter()
    predictions = loaded.predict(texts)
    rate = len(texts) / (time.perf_counter() - t0)
    pred = [p["label"] for p in predictions]
    manifest = loaded.manifest
    return {"accuracy": accuracy_score(test["category"], pred),
            "macro_f1": f1_score(test["category"], pred, average="macro"),
            "train_s": seconds, "texts_per_s": rate, "chosen": manifest.chosen,
            "valid_macro_f1": manifest.metrics["macro_f1"],
            "stopped": manifest.training.get("stopped")}


def matmul_peak(dtype: torch.dtype, n: int = 2048, repeat: int = 5, trials: int = 5) -> float:
    """Best of `trials` timings of square matmuls, in TFLOP/s (best-of filters out noise)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = 0.0
    for _ in range(trials):
        t0 = time.perf_counter()
        for _ in range(repeat):
            a @ b
        best = max(best, 2 * n**3 * repeat / (time.perf_counter() - t0) / 1e12)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", default="banking77,reviews")
    parser.add_argument("--modes", default="baseline,head,finetune")
    parser.add_argument("--epochs", type=int, default=None, help="fine-tuning epochs (default: featureship's)")
    parser.add_argument("--reviews-epochs", type=int, default=2)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / "text_classification.json")
    args = parser.parse_args()
    console = Console(width=150)
    torch.set_num_threads(torch.get_num_threads())
    peak = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    ceiling = peak["bf16"] * 1e3 / MINILM_GFLOP_PER_80_TOKENS
    console.print(f"matmul peak: fp32 {peak['fp32']:.2f} TFLOP/s, bf16 {peak['bf16']:.2f} TFLOP/s "
                  f"→ MiniLM bf16 ceiling ≈ {ceiling:.0f} 80-token texts/s ({torch.get_num_threads()} threads)")
    results = {"peak_tflops": peak, "bf16_ceiling_texts_per_s": ceiling, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets.split(","):
            train, valid, test = load(name)
            console.rule(f"{name}: {len(train):,} train / {len(valid):,} validation / "
                         f"{len(test):,} test")
            rows = {}
            for mode in args.modes.split(","):
                if mode == "baseline":
                    rows[mode] = baseline(train, valid, test)
                else:
                    epochs = args.reviews_epochs if (name == "reviews" and mode == "finetune") else args.epochs
                    rows[mode] = run_featureship(train, valid, test, mode, Path(tmp) / name, epochs)
                console.print(f"{mode}: {rows[mode]}")
            results["runs"][name] = rows
            base = rows.get("baseline")
            table = Table(title=f"{name}: test split (20%, never used for a choice), seed 0",
                          header_style="bold")
            for column in ("system", "accuracy", "macro-F1", "valid F1", "train s", "texts/s",
                           "acc ×", "F1 ×", "speed ×", "chose"):
                table.add_column(column, justify="left" if column in ("system", "note") else "right")
            for mode, r in rows.items():
                def ratio(key: str, r: dict = r, base: dict | None = base) -> str:
                    return f"{r[key] / base[key]:.3f}" if base else "-"

                table.add_row("TF-IDF+LR" if mode == "baseline" else f"featureship {mode}",
                              f"{r['accuracy']:.4f}", f"{r['macro_f1']:.4f}",
                              f"{r['valid_macro_f1']:.4f}", f"{r['train_s']:.1f}",
                              f"{r['texts_per_s']:.0f}", ratio("accuracy"), ratio("macro_f1"),
                              ratio("texts_per_s"), str(r.get("chosen") or ""))
            console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=float))
    console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
